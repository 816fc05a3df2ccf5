// HTTPS client on Boost.Beast for calls to Harbor, registries and the Kubernetes API.
//
//   auto client = hm::net::HttpClient::create(ioc.get_executor(), {.caFile =
//   "/etc/harbor/ca.crt"}); ClientRequest req{.method = "GET", .url =
//   "https://harbor.example.com/api/v2.0/health"}; req.deadline = std::chrono::steady_clock::now()
//   + std::chrono::seconds(2); StatusOr<ClientResponse> res = co_await
//   (*client)->send(std::move(req));
//
// What it guarantees: TLS verified against the system store or a given CA bundle, with SNI and
// host-name (or IP) verification; keep-alive connections pooled per scheme/host/port; one
// deadline per call covering every attempt; retries with jittered exponential backoff only for
// idempotent calls and only on connection errors, 429, 502, 503 and 504 (honouring a short
// Retry-After); a cap on response size; no proxy and no cookie jar (Harbor turns on CSRF checks
// for a request that carries its `sid` cookie).
//
// A response with any HTTP status is a value; Status errors are for what prevented one
// (connection, TLS, deadline, size). statusFromHttp() maps a status code to a Status code in one
// place, for callers that treat non-2xx answers as errors.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>: every header
// that may bring it in includes <utility> first, so include order never matters.
#include <utility>

#include "harbormaster/net/server.h"

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"

namespace hm::net {

struct Url {
  std::string scheme;  // "https" or "http"
  std::string host;    // without brackets for IPv6
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"

  // "host:port" as used for pooling and the Host header ("[::1]:5000" for IPv6).
  std::string authority() const;
};

// Parses absolute http(s) URLs; rejects user-info, fragments and anything else unexpected.
StatusOr<Url> parseUrl(std::string_view text);

struct RetryPolicy {
  int maxAttempts = 3;  // including the first
  std::chrono::milliseconds initialBackoff{100};
  std::chrono::milliseconds maxBackoff{2'000};
};

struct ClientOptions {
  std::optional<std::string> caFile;  // PEM bundle; when absent, the system trust store
  // With caFile or caPem: trust the system store as well (a client that reaches Harbor with a
  // private CA and public registries too).
  bool alsoSystemTrust = false;
  std::optional<std::string>
      caPem;  // PEM bundle given inline (kubeconfig certificate-authority-data)
  // A client certificate chain and its key, PEM (mutual TLS, e.g. kubeconfig client-certificate).
  std::optional<std::string> clientCertPem;
  std::optional<std::string> clientKeyPem;
  bool insecureSkipVerify = false;  // development only; logged loudly at creation
  // The name sent as SNI and verified in the server certificate instead of the URL's host
  // (kubeconfig tls-server-name: reaching an API server by IP or through a tunnel).
  std::optional<std::string> serverName;
  std::chrono::milliseconds defaultTimeout{10'000};  // for requests without a deadline
  std::chrono::milliseconds idleTimeout{30'000};     // drop pooled connections idle this long
  size_t maxIdlePerHost = 16;
  // Hosts whose idle connections are kept, least recently used closed first.
  size_t maxIdleHosts = 64;
  size_t maxResponseBytes = 16 * 1024 * 1024;
  RetryPolicy retry;
  std::string userAgent = "harbormaster";
};

enum class TargetRule {
  kAny,
  kNoLinkLocal,  // not 169.254.0.0/16 or fe80::/10
  kNoLocal,      // neither link-local nor loopback (127.0.0.0/8, ::1, 0.0.0.0, ::)
};

enum class AddressClass { kLoopback, kLinkLocal, kOther };
// An IP address literal's class (IPv4-mapped IPv6 addresses as their IPv4 address); kOther for
// anything that is not an address.
AddressClass classifyAddress(std::string_view literal);
bool targetAllowed(TargetRule rule, AddressClass address);

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<Header> headers;
  std::string body;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  // Defaults to GET, HEAD, PUT, DELETE and OPTIONS; set to true for a POST that is safe to repeat.
  std::optional<bool> idempotent;
  // Overrides ClientOptions::maxResponseBytes for this call (a manifest is capped lower).
  std::optional<size_t> maxResponseBytes;
  // Where the host may resolve to. For URLs a remote party chose (a registry's blob redirect):
  // never the node's own services or a cloud metadata endpoint. Refused addresses are dropped
  // after DNS resolution (a name that resolves to 127.0.0.1 is refused too); none left:
  // PermissionDenied, and no connection is opened. Such a request never reuses a pooled one.
  TargetRule targets = TargetRule::kAny;
  // A streamed 2xx body (a watch) is handed over piece by piece as it arrives, not kept and not
  // capped; return false to stop reading. The connection is not reused afterwards. Error
  // answers are read whole as usual. Mark such requests non-idempotent: a retry would replay.
  std::function<bool(std::string_view)> onBodyData;
};

struct ClientResponse {
  int status = 0;
  std::vector<Header> headers;
  std::string body;
  int attempts = 1;  // how many tries it took

  std::string_view header(std::string_view name) const;  // case-insensitive; empty if absent
};

class HttpClient {
 public:
  static StatusOr<std::unique_ptr<HttpClient>> create(boost::asio::any_io_executor executor,
                                                      ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  boost::asio::awaitable<StatusOr<ClientResponse>> send(ClientRequest request);

  // Connections opened so far (for tests and metrics: reuse keeps this low).
  size_t connectionsOpened() const;
  // Hosts with idle connections in the pool (at most ClientOptions::maxIdleHosts).
  size_t idleHosts() const;

  struct State;

 private:
  explicit HttpClient(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// The one HTTP status → Status table (the Harbor, registry and Kubernetes clients build on it):
// 400/415/422 InvalidArgument, 401 Unauthenticated, 403 PermissionDenied, 404 NotFound,
// 408 DeadlineExceeded, 409 Conflict, 410 Gone, 412 FailedPrecondition, 429 ResourceExhausted,
// 500 Internal, 501 Unimplemented, other 5xx Unavailable, other codes Internal.
Status statusFromHttp(int httpStatus, std::string message);

}  // namespace hm::net
