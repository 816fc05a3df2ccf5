#include "flags.h"

#include <chrono>

#include "harbormaster/base/files.h"
#include "harbormaster/base/log.h"
#include "harbormaster/base/time.h"

namespace hm::cli {

std::string Flags::get(const std::string& name, const std::string& fallback) const {
  auto it = values.find(name);
  if (it != values.end() && !it->second.empty()) {
    return it->second.back();
  }
  auto d = defaults.find(name);
  return d == defaults.end() ? fallback : d->second;
}

const Flag* FlagSpec::find(std::string_view name) const {
  for (const FlagGroup& g : groups) {
    for (const Flag& f : g.flags) {
      if (f.name == name) {
        return &f;
      }
    }
  }
  return nullptr;
}

const Flag* FlagSpec::findShorthand(std::string_view shorthand) const {
  for (const FlagGroup& g : groups) {
    for (const Flag& f : g.flags) {
      if (!f.shorthand.empty() && f.shorthand == shorthand) {
        return &f;
      }
    }
  }
  return nullptr;
}

std::set<std::string> FlagSpec::names() const {
  std::set<std::string> out;
  for (const FlagGroup& g : groups) {
    for (const Flag& f : g.flags) {
      out.insert(f.name);
    }
  }
  return out;
}

FlagSpec& FlagSpec::add(std::string title, std::vector<Flag> flags) {
  groups.push_back(FlagGroup{std::move(title), std::move(flags)});
  return *this;
}

StatusOr<Flags> parseFlags(const std::vector<std::string>& args, const FlagSpec& spec) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      flags.positional.insert(flags.positional.end(), args.begin() + i + 1, args.end());
      break;
    }
    const bool longFlag = arg.size() >= 3 && arg.rfind("--", 0) == 0;
    const bool shortFlag = !longFlag && arg.size() == 2 && arg[0] == '-' && arg[1] != '-';
    if (!longFlag && !shortFlag) {
      flags.positional.push_back(arg);  // "-" too: stdin, where a command takes it
      continue;
    }
    const Flag* flag = nullptr;
    std::string value;
    bool inlineValue = false;
    if (shortFlag) {
      flag = spec.findShorthand(arg.substr(1));
      if (flag == nullptr) {
        return invalidArgument("unknown flag " + arg);
      }
    } else {
      std::string name = arg.substr(2);
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        inlineValue = true;
      }
      flag = spec.find(name);
      if (flag == nullptr) {
        return invalidArgument("unknown flag --" + name);
      }
    }
    const std::string& name = flag->name;
    if (flag->arg.empty()) {
      if (inlineValue) {
        return invalidArgument("flag --" + name + " takes no value");
      }
      flags.set.insert(name);
      continue;
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
  for (const FlagGroup& g : spec.groups) {
    for (const Flag& f : g.flags) {
      if (!f.defaultValue.empty()) {
        flags.defaults[f.name] = f.defaultValue;
      }
    }
  }
  return flags;
}

bool helpRequested(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") {
      return false;
    }
    if (a == "-h" || a == "--help") {
      return true;
    }
  }
  return false;
}

namespace {

constexpr size_t kHelpColumn = 38;
constexpr size_t kHelpWidth = 100;

// Words onto lines of at most kHelpWidth columns, continuation lines under the help column;
// each of `units` stays on one line ("(default 20s)").
std::string wrap(const std::string& text, const std::vector<std::string>& units) {
  std::vector<std::string> words;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find(' ', start);
    end = end == std::string::npos ? text.size() : end;
    words.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  words.insert(words.end(), units.begin(), units.end());
  std::string out;
  size_t column = kHelpColumn;
  for (const std::string& word : words) {
    if (column > kHelpColumn && column + 1 + word.size() > kHelpWidth) {
      out += "\n" + std::string(kHelpColumn, ' ');
      column = kHelpColumn;
    } else if (column > kHelpColumn) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
  }
  return out;
}

}  // namespace

std::string helpText(const FlagSpec& spec) {
  std::string out = "Usage:\n  harbormaster " + spec.synopsis + "\n";
  if (!spec.description.empty()) {
    out += "\n" + spec.description;
    if (out.back() != '\n') {
      out += "\n";
    }
  }
  for (const FlagGroup& g : spec.groups) {
    if (g.flags.empty()) {
      continue;
    }
    out += "\n" + g.title + ":\n";
    for (const Flag& f : g.flags) {
      std::string head = "  ";
      head += f.shorthand.empty() ? "    " : "-" + f.shorthand + ", ";
      head += "--" + f.name + (f.arg.empty() ? "" : " " + f.arg);
      std::vector<std::string> units;
      if (!f.defaultValue.empty()) {
        units.push_back("(default " + f.defaultValue + ")");
      }
      if (f.repeatable) {
        units.push_back("[repeatable]");
      }
      out += head + (head.size() < kHelpColumn ? std::string(kHelpColumn - head.size(), ' ')
                                               : "\n" + std::string(kHelpColumn, ' '));
      out += wrap(f.help, units) + "\n";
    }
  }
  out += "\n  -h, --help                          this help\n";
  return out;
}

std::string formatDuration(std::chrono::milliseconds d) {
  using namespace std::chrono;
  if (d.count() % 1000 != 0) {
    return std::to_string(d.count()) + "ms";
  }
  int64_t s = duration_cast<seconds>(d).count();
  std::string out;
  if (s >= 3600) {
    out += std::to_string(s / 3600) + "h";
    s %= 3600;
  }
  if (s >= 60) {
    out += std::to_string(s / 60) + "m";
    s %= 60;
  }
  if (s > 0 || out.empty()) {
    out += std::to_string(s) + "s";
  }
  return out;
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

namespace {

std::string formatBytes(size_t bytes) {
  for (auto [unit, size] :
       {std::pair{"Gi", size_t{1} << 30}, {"Mi", size_t{1} << 20}, {"Ki", size_t{1} << 10}}) {
    if (bytes >= size && bytes % size == 0) {
      return std::to_string(bytes / size) + unit;
    }
  }
  return std::to_string(bytes);
}

}  // namespace

std::vector<Flag> serverFlags(const net::ServerOptions& d) {
  return {
      {"max-connections", "N",
       "connections open at once; past it an idle one is closed for a new one, else the new one is "
       "refused",
       std::to_string(d.maxConnections)},
      {"max-buffered-bytes", "BYTES",
       "request bytes buffered across all connections (64Ki, 32Mi); one client may buffer half",
       formatBytes(d.maxBufferedBytes)},
      {"request-timeout", "DURATION", "time to read a whole request and answer it",
       formatDuration(d.requestTimeout)},
      {"idle-timeout", "DURATION", "how long a kept-alive connection may wait for its next request",
       formatDuration(d.idleTimeout)},
      {"header-timeout", "DURATION", "time to read a request's headers",
       formatDuration(d.headerTimeout)},
      {"handshake-timeout", "DURATION", "time for a client's TLS handshake",
       formatDuration(d.handshakeTimeout)},
  };
}

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

const Flag kLogLevelFlag{"log-level", "LEVEL", "debug, info, warn or error", "info"};

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
