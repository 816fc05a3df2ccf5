// The controller shape every Harbormaster controller has, after controller-runtime's: a
// Reconciler brings one object (by key) to its spec and says what the loop should do next.
// The shared loop (pkg/operator/manager) owns the informers, the work queues, leader election
// and the metrics; a controller is one folder under pkg/operator/ with its reconciler, its pure
// decisions and their tests.
//
//   class ThingReconciler final : public Reconciler {
//     awaitable<Result> reconcile(std::string key) override {
//       if (invalid) co_return Result::terminal(invalidArgument(…));  // until the object changes
//       if (failed) co_return Result::retry(status);                  // with backoff
//       co_return Result::after(std::chrono::minutes(5));             // or Result::done()
//     }
//   };
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "harbormaster/base/status.h"

namespace hm::op {

struct Result {
  Status error;           // non-OK: logged and counted as an error …
  bool terminal = false;  // … and, when terminal, not retried until the object changes
  std::optional<std::chrono::milliseconds> requeueAfter;  // on success: look again then

  static Result done() { return {}; }
  static Result after(std::chrono::milliseconds delay) {
    Result r;
    r.requeueAfter = delay;
    return r;
  }
  static Result retry(Status error) {
    Result r;
    r.error = std::move(error);
    return r;
  }
  static Result terminalError(Status error) {
    Result r;
    r.error = std::move(error);
    r.terminal = true;
    return r;
  }
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // `key` is "name" (cluster-scoped) or "namespace/name". The loop bounds its time, catches
  // what it throws (counted, retried) and never runs two reconciles of one key at once.
  virtual boost::asio::awaitable<Result> reconcile(std::string key) = 0;
};

}  // namespace hm::op
