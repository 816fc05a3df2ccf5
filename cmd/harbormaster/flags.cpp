#include "flags.h"

#include <chrono>

#include "harbormaster/base/files.h"
#include "harbormaster/base/log.h"
#include "harbormaster/base/time.h"

namespace hm::cli {

std::string Flags::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

StatusOr<Flags> parseFlags(const std::vector<std::string>& args, const FlagSpec& spec) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      flags.positional.insert(flags.positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 3 || arg.rfind("--", 0) != 0) {
      flags.positional.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    bool inlineValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inlineValue = true;
    }
    if (spec.boolean.count(name)) {
      if (inlineValue) {
        return invalidArgument("flag --" + name + " takes no value");
      }
      flags.set.insert(name);
      continue;
    }
    if (!spec.valued.count(name)) {
      return invalidArgument("unknown flag --" + name);
    }
    if (!inlineValue) {
      if (i + 1 >= args.size()) {
        return invalidArgument("flag --" + name + " needs a value");
      }
      value = args[++i];
    }
    flags.values[name].push_back(value);
    flags.set.insert(name);
  }
  return flags;
}

StatusOr<std::chrono::milliseconds> parseDuration(const std::string& flag,
                                                  const std::string& text) {
  // The CRDs' grammar (Go's time.ParseDuration, as Kubernetes' own flags): "--resync 1h30m"
  // reads here as it does in a RobotAccount.
  auto d = parseGoDuration(text);
  if (!d.ok()) {
    return d.status().withContext("--" + flag);
  }
  return d;
}

StatusOr<size_t> parseByteSize(const std::string& flag, const std::string& text) {
  size_t pos = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    ++pos;
  }
  const std::string unit = text.substr(pos);
  const std::map<std::string, size_t> units{
      {"", 1}, {"Ki", 1024}, {"Mi", 1024 * 1024}, {"Gi", 1024 * 1024 * 1024}};
  auto it = units.find(unit);
  if (pos == 0 || pos > 12 || it == units.end()) {
    return invalidArgument("--" + flag + " \"" + text +
                           "\" must be a byte count such as 65536, 64Ki or 64Mi");
  }
  return static_cast<size_t>(std::stoull(text.substr(0, pos))) * it->second;
}

StatusOr<size_t> parseCount(const std::string& flag, const std::string& text, size_t max) {
  const bool digits = !text.empty() && text.size() < 10 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoul(text) < 1 || std::stoul(text) > max) {
    return invalidArgument("--" + flag + " must be a whole number from 1 to " +
                           std::to_string(max));
  }
  return static_cast<size_t>(std::stoul(text));
}

const std::set<std::string> kServerFlags = {"max-connections", "max-buffered-bytes",
                                            "request-timeout", "idle-timeout",
                                            "header-timeout",  "handshake-timeout"};

Status applyServerFlags(const Flags& flags, net::ServerOptions& options) {
  if (flags.has("max-connections")) {
    auto n = parseCount("max-connections", flags.get("max-connections"), 9'999'999);
    if (!n.ok()) {
      return n.status();
    }
    options.maxConnections = *n;
  }
  if (flags.has("max-buffered-bytes")) {
    auto bytes = parseByteSize("max-buffered-bytes", flags.get("max-buffered-bytes"));
    if (!bytes.ok()) {
      return bytes.status();
    }
    if (*bytes < 2 * options.bodyLimit) {
      return invalidArgument("--max-buffered-bytes must be at least twice the body limit (" +
                             std::to_string(2 * options.bodyLimit) +
                             " bytes): one client may buffer half of it");
    }
    options.maxBufferedBytes = *bytes;
  }
  for (auto [name, target] : {std::pair<const char*, std::chrono::milliseconds*>{
                                  "request-timeout", &options.requestTimeout},
                              {"idle-timeout", &options.idleTimeout},
                              {"header-timeout", &options.headerTimeout},
                              {"handshake-timeout", &options.handshakeTimeout}}) {
    if (flags.has(name)) {
      auto d = parseDuration(name, flags.get(name));
      if (!d.ok()) {
        return d.status();
      }
      if (d->count() <= 0) {
        return invalidArgument(std::string("--") + name + " must be more than zero");
      }
      *target = *d;
    }
  }
  return okStatus();
}

StatusOr<std::string> readSecretFlag(const Flags& flags, const std::string& flag) {
  auto text = readFile(flags.get(flag), 4096);
  if (!text.ok()) {
    return text.status().withContext("--" + flag);
  }
  std::string secret = text->substr(0, text->find_first_of("\r\n"));
  if (secret.empty()) {
    return invalidArgument("--" + flag + " is empty");
  }
  return secret;
}

Status applyLogLevel(const Flags& flags) {
  const std::string level = flags.get("log-level", "info");
  for (auto [name, value] : {std::pair{"debug", log::Level::kDebug},
                             {"info", log::Level::kInfo},
                             {"warn", log::Level::kWarn},
                             {"error", log::Level::kError}}) {
    if (level == name) {
      log::configure(value);
      return okStatus();
    }
  }
  return invalidArgument("--log-level must be debug, info, warn or error");
}

}  // namespace hm::cli
