// A fact source module as the engine and cmd/ see it: its flags, its metrics and a factory over
// the clients every source shares. The engine, its options and cmd/ name no concrete source;
// cmd/harbormaster/sources.cpp lists the modules, one line each.
//
//   class ThingModule final : public facts::SourceModule {
//     std::string_view name() const override { return "thing"; }
//     std::vector<SourceFlag> flags() override {
//       return {durationFlag("thing-cache-ttl", "how long a thing is reused (default 1m)",
//                            &options_.ttl)};
//     }
//     StatusOr<std::shared_ptr<Source>> create(const SharedClients& c) override {
//       // register metric families on *c.metrics (when set), build the source on c.registry
//     }
//   };
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/clock.h"
#include "harbormaster/base/time.h"
#include "harbormaster/facts/source.h"
#include "harbormaster/policy/section.h"

namespace prometheus {
class Registry;
}
namespace hm::harbor {
class Client;
}
namespace hm::registry {
class Client;
}

namespace hm::facts {

// One connection (HTTP client, credentials, CA, token cache) serves every source.
struct SharedClients {
  // Every registry: Harbor's with Harbor's credentials and CA, others anonymously.
  std::shared_ptr<registry::Client> registry;
  std::shared_ptr<harbor::Client> harbor;  // null without a Harbor URL
  std::string harborUrl;
  std::vector<std::string> harborHosts;  // registry hosts Harbor serves (normalised)
  const Clock* clock = &Clock::system();
  // Where a module registers its metric families; null where nothing is exposed (check).
  std::shared_ptr<prometheus::Registry> metrics;
};

// A flag the module reads (without "--"). `set` gets the value as given; an error says what is
// wrong and the caller names the flag.
struct SourceFlag {
  std::string name;
  std::string help;
  std::function<Status(const std::string& value)> set;
};

class SourceModule {
 public:
  virtual ~SourceModule() = default;
  virtual std::string_view name() const = 0;
  // Its flags; their values are set before create().
  virtual std::vector<SourceFlag> flags() = 0;
  // The source on the shared clients, or null when it has nothing to do here (a Harbor source
  // without Harbor).
  virtual StatusOr<std::shared_ptr<Source>> create(const SharedClients& clients) = 0;
  // The policy sections its facts are judged by (policy/section.h): spec.<key> and a check
  // each, registered by cmd/ at start-up. Stateless: the registered instances serve every
  // module instance. None by default (the built-in scan and signature rules are the loader's).
  virtual std::vector<std::shared_ptr<const policy::Section>> sections() { return {}; }
};

// A duration flag in Go's grammar ("10s", "1h30m"), kept in whole seconds; zero is allowed.
inline SourceFlag durationFlag(std::string name, std::string help, std::chrono::seconds* target) {
  return {std::move(name), std::move(help), [target](const std::string& value) -> Status {
            auto d = parseGoDuration(value);
            if (!d.ok()) {
              return d.status();
            }
            *target = std::chrono::duration_cast<std::chrono::seconds>(*d);
            return okStatus();
          }};
}

}  // namespace hm::facts
