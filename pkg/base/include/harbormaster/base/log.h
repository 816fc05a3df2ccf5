// Structured JSON logs, one object per line on stdout.
//
//   hm::log::info("Admission decided", {{"uid", uid}, {"decision", "denied"}});
//
// Messages follow Kubernetes log style: capital first letter, past tense, key-value fields.
// Never pass a secret in a field.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace hm::log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Sets the minimum level; lines go to stdout. Call once at start.
void configure(Level minimum);
bool enabled(Level level);

void write(Level level, std::string_view message, const nlohmann::json& fields);

inline void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kDebug, m, f);
}
inline void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kInfo, m, f);
}
inline void warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kWarn, m, f);
}
inline void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(Level::kError, m, f);
}

}  // namespace hm::log
