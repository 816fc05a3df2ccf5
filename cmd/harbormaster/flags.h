// A deliberately small command-line parser: "--name value", "--name=value", repeatable flags,
// booleans, positionals. Unknown flags are errors so a typo never runs with a default.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/net/server.h"

namespace hm::cli {

struct FlagSpec {
  std::set<std::string> valued;   // flags that take a value
  std::set<std::string> boolean;  // flags that take none
};

struct Flags {
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> set;
  std::vector<std::string> positional;

  std::string get(const std::string& name, const std::string& fallback = "") const;
  bool has(const std::string& name) const { return set.count(name) > 0; }
};

StatusOr<Flags> parseFlags(const std::vector<std::string>& args, const FlagSpec& spec);

// A Go duration ("10s", "500ms", "1h30m", "2160h"), as Kubernetes' own flags and our CRDs.
StatusOr<std::chrono::milliseconds> parseDuration(const std::string& flag, const std::string& text);

// A whole number from 1 to `max` ("--flag must be a whole number from 1 to max" otherwise).
StatusOr<size_t> parseCount(const std::string& flag, const std::string& text, size_t max);

// "1024", "64Ki", "64Mi", "1Gi": a byte count.
StatusOr<size_t> parseByteSize(const std::string& flag, const std::string& text);

// The listener bounds both commands take: --max-connections, --max-buffered-bytes,
// --request-timeout, --idle-timeout, --header-timeout, --handshake-timeout.
extern const std::set<std::string> kServerFlags;
Status applyServerFlags(const Flags& flags, net::ServerOptions& options);

// --log-level debug|info|warn|error (default info), for every long-running command.
Status applyLogLevel(const Flags& flags);

// The first line of the file a secret flag names (a mounted Secret's key): errors name the flag,
// an empty secret is one.
StatusOr<std::string> readSecretFlag(const Flags& flags, const std::string& flag);

}  // namespace hm::cli
