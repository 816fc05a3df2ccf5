// The Authorization header for calls to the API server, from a ClusterConfig (config.h):
//
//   hm::kube::Credentials creds(*config);
//   auto header = co_await creds.authorization(wallNow, deadline);  // "Bearer …" or ""
//
// Apart from config.h so that the kubeconfig parser (and its fuzz target) needs no coroutines.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "harbormaster/base/status.h"
#include "harbormaster/base/time.h"
#include "harbormaster/kube/config.h"

namespace hm::kube {

// The Authorization header for a call, refreshed as needed: a token file is re-read at most
// once a minute (and after invalidate()); an exec plugin's credential is reused until 10 s
// before its expirationTimestamp. Thread-safe.
//
// An exec plugin runs on a thread of its own, never on the caller's (an I/O thread): it forks,
// waits for the plugin's output for up to 30 s and reaps it. Concurrent callers share one run
// (a single flight), each waiting until its own call's deadline; no lock is held meanwhile.
class Credentials {
 public:
  using Deadline = std::chrono::steady_clock::time_point;

  explicit Credentials(ClusterConfig config);
  boost::asio::awaitable<StatusOr<std::string>> authorization(WallTime now, Deadline deadline);
  // A 401 means the credential went stale early: forget it so the next call fetches anew.
  void invalidate();
  // Client certificate and key an exec plugin returned (clientCertificateData), if any.
  std::optional<std::pair<std::string, std::string>> execClientCertificate() const;

  struct State;

 private:
  // Shared with a plugin run still going when the Credentials go.
  std::shared_ptr<State> state_;
};

}  // namespace hm::kube
