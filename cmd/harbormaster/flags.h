// A deliberately small command-line parser: "--name value", "--name=value", "-f value",
// repeatable flags, booleans, positionals. Unknown flags are errors so a typo never runs with a
// default. Each command declares its flags once, in a table (FlagSpec) with their help and
// defaults: the parser reads it and `--help` prints it, so the two cannot drift.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/net/server.h"

namespace hm::cli {

struct Flag {
  Flag(std::string name, std::string arg, std::string help, std::string defaultValue = "",
       std::string shorthand = "", bool repeatable = false)
      : name(std::move(name)),
        arg(std::move(arg)),
        help(std::move(help)),
        defaultValue(std::move(defaultValue)),
        shorthand(std::move(shorthand)),
        repeatable(repeatable) {}

  std::string name;  // without "--"
  // The value's placeholder in help ("FILE", "DURATION"); empty for a flag that takes no value.
  std::string arg;
  std::string help;
  // What an unset flag reads as (Flags::get) and what --help shows; empty: none.
  std::string defaultValue;
  std::string shorthand;  // "f" for -f; empty for none
  bool repeatable = false;
};

struct FlagGroup {
  std::string title;
  std::vector<Flag> flags;
};

struct FlagSpec {
  std::string command;      // "check"
  std::string synopsis;     // the usage line after the program name
  std::string description;  // what the command does, and anything beyond the flags
  std::vector<FlagGroup> groups;

  const Flag* find(std::string_view name) const;
  const Flag* findShorthand(std::string_view shorthand) const;
  std::set<std::string> names() const;
  // Appends a group (flags another module declares: Harbor, the listener, the fact sources).
  FlagSpec& add(std::string title, std::vector<Flag> flags);
};

struct Flags {
  std::map<std::string, std::vector<std::string>> values;
  std::set<std::string> set;
  std::vector<std::string> positional;
  std::map<std::string, std::string> defaults;  // the table's, for flags not given

  // The last value given; else the table's default; else `fallback`.
  std::string get(const std::string& name, const std::string& fallback = "") const;
  bool has(const std::string& name) const { return set.count(name) > 0; }
};

StatusOr<Flags> parseFlags(const std::vector<std::string>& args, const FlagSpec& spec);

// "-h" or "--help" among the flags (before a "--").
bool helpRequested(const std::vector<std::string>& args);
// The command's help: synopsis, description, then every flag by group with its value, default
// and whether it repeats. Generated from the table parseFlags reads.
std::string helpText(const FlagSpec& spec);

// A Go duration ("10s", "500ms", "1h30m", "2160h"), as Kubernetes' own flags and our CRDs.
StatusOr<std::chrono::milliseconds> parseDuration(const std::string& flag, const std::string& text);

// A whole number from 1 to `max` ("--flag must be a whole number from 1 to max" otherwise).
StatusOr<size_t> parseCount(const std::string& flag, const std::string& text, size_t max);

// "1024", "64Ki", "64Mi", "1Gi": a byte count.
StatusOr<size_t> parseByteSize(const std::string& flag, const std::string& text);

// The listener bounds both long-running commands take: --max-connections,
// --max-buffered-bytes, --request-timeout, --idle-timeout, --header-timeout, --handshake-timeout.
// Their defaults are each command's net::ServerOptions, so the table takes them.
std::vector<Flag> serverFlags(const net::ServerOptions& defaults);
Status applyServerFlags(const Flags& flags, net::ServerOptions& options);

// --log-level debug|info|warn|error (default info), for every long-running command.
extern const Flag kLogLevelFlag;
Status applyLogLevel(const Flags& flags);

// A duration as flags write it ("90s", "1m30s", "2h"): for the defaults a table shows.
std::string formatDuration(std::chrono::milliseconds d);

// The first line of the file a secret flag names (a mounted Secret's key): errors name the flag,
// an empty secret is one.
StatusOr<std::string> readSecretFlag(const Flags& flags, const std::string& flag);

}  // namespace hm::cli
