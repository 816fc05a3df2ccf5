#include "flags.h"

#include <chrono>

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
  size_t pos = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    ++pos;
  }
  std::string unit = text.substr(pos);
  if (pos == 0 || pos > 9) {
    return invalidArgument("--" + flag + " \"" + text + "\" must be a duration such as 10s");
  }
  long long n = std::stoll(text.substr(0, pos));
  if (unit == "ms") {
    return std::chrono::milliseconds(n);
  }
  if (unit.empty() || unit == "s") {
    return std::chrono::milliseconds(n * 1000);
  }
  if (unit == "m") {
    return std::chrono::milliseconds(n * 60'000);
  }
  if (unit == "h") {
    return std::chrono::milliseconds(n * 3'600'000);
  }
  return invalidArgument("--" + flag + " \"" + text + "\" must be a duration such as 10s");
}

}  // namespace hm::cli
