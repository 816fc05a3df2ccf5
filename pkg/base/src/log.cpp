#include "harbormaster/base/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "harbormaster/base/time.h"

namespace hm::log {
namespace {

std::atomic<Level> g_minimum{Level::kInfo};

spdlog::logger& logger() {
  // Built on first use so that tests and tools that never configure logging still get lines.
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("harbormaster", sink);
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *instance;
}

std::string_view levelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

void configure(Level minimum) {
  g_minimum = minimum;
}

bool enabled(Level level) {
  return level >= g_minimum.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message, const nlohmann::json& fields) {
  if (!enabled(level)) {
    return;
  }
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = formatRfc3339(std::chrono::system_clock::now(), /*millis=*/true);
  line["level"] = levelName(level);
  line["msg"] = message;
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      line[key] = value;
    }
  }
  // replace: a log line never fails because a field held invalid UTF-8 from untrusted input.
  logger().info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace hm::log
