// HTTPS (or plain HTTP) server on Boost.Beast with C++20 coroutines.
//
//   auto server = hm::net::Server::create(ioc, options, [](HttpRequest req)
//       -> boost::asio::awaitable<HttpResponse> { co_return HttpResponse{.body = "ok"}; });
//   (*server)->start();
//   ... ioc.run() on N threads ...
//   (*server)->shutdown(std::chrono::seconds(20), [&] { ioc.stop(); });
//
// What it guarantees: TLS 1.2+ with modern AEAD ciphers (1.3 preferred), HTTP/1.1 keep-alive,
// a body limit (413 above it), bounds on open connections and buffered body bytes (see
// ServerOptions), a deadline for each handshake, request header, request and idle connection,
// per-connection read buffers released while idle, certificate
// and key hot reload (new connections get the new pair, established ones keep theirs), and a
// bounded graceful shutdown: stop accepting, close idle connections, let in-flight requests
// finish, then close whatever is left when the grace period ends.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harbormaster/base/status.h"

namespace hm::net {

struct Header {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string body;
  std::vector<Header> headers;
  std::string remote;  // peer address, for logs
  // A client certificate the server verified against TlsFiles::clientCaFile: its subject CN and
  // O values (Kubernetes reads these as user and groups). Empty when none was presented.
  std::string clientCommonName;
  std::vector<std::string> clientOrganizations;
  // When the response must be written by; handlers give their own calls a deadline before it.
  std::chrono::steady_clock::time_point deadline;

  // Case-insensitive; empty when absent.
  std::string_view header(std::string_view name) const;
  // The target without its query string.
  std::string_view path() const;
  // The query string's parameters, each decoded once ('+' is a space), repeats kept.
  std::multimap<std::string, std::string> query() const;
};

// Where a streamed response writes its body, one chunk at a time (Transfer-Encoding: chunked).
class ChunkWriter {
 public:
  virtual ~ChunkWriter() = default;
  // False once the client is gone or the server is stopping: the producer should return.
  virtual boost::asio::awaitable<bool> write(std::string data) = 0;
  virtual bool open() const = 0;
};

struct HttpResponse {
  HttpResponse() = default;
  HttpResponse(int status, std::string contentType, std::string body,
               std::vector<Header> headers = {})
      : status(status),
        contentType(std::move(contentType)),
        body(std::move(body)),
        headers(std::move(headers)) {}

  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<Header> headers;
  // When set, the body is produced by this coroutine instead (a watch): the request deadline no
  // longer applies, each write has its own, and the connection closes when it returns.
  std::function<boost::asio::awaitable<void>(ChunkWriter&)> stream;
};

using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

struct TlsFiles {
  TlsFiles() = default;
  TlsFiles(std::string certFile, std::string keyFile, std::string clientCaFile = "")
      : certFile(std::move(certFile)),
        keyFile(std::move(keyFile)),
        clientCaFile(std::move(clientCaFile)) {}

  std::string certFile;  // PEM chain, leaf first
  std::string keyFile;   // PEM private key
  // When set, clients may present a certificate; one that does not chain to this bundle fails
  // the handshake. Clients without one are still served (bearer tokens).
  std::string clientCaFile;
};

// What the server tells its owner about connections it refused, closed early or timed out.
enum class ConnectionEvent {
  kRefused,           // at maxConnections with none idle to close: the new one is closed
  kEvicted,           // an idle connection closed to make room for a new one
  kBufferFull,        // a request body over the buffered-bytes budget: 503
  kHandshakeTimeout,  // no TLS handshake within handshakeTimeout
  kHeaderTimeout,     // no complete request header within headerTimeout
  kIdleTimeout,       // no next request within idleTimeout
  kRequestTimeout,    // body, handling and response not done within requestTimeout
};
std::string_view connectionEventName(ConnectionEvent e);

struct ServerOptions {
  std::string address = "0.0.0.0";
  uint16_t port = 8443;         // 0 picks a free port; port() tells which
  std::optional<TlsFiles> tls;  // absent: plain HTTP (only for a separate metrics/health port)
  size_t bodyLimit = 7 * 1024 * 1024;
  // Connections open at once (lowered to fit the file-descriptor limit). At the limit the
  // connection idle longest (in its handshake, waiting for or reading a request header) is
  // closed to make room; a new one is refused only when every connection is busy.
  size_t maxConnections = 1000;
  // Request bodies buffered at once over all connections, reserved from Content-Length (the
  // body limit for chunked bodies) before the body is read and held until the handler returns
  // (decoding costs a multiple of the body). One client address gets at most half, so a flood
  // from one peer cannot starve the others. A body that does not fit gets a 503.
  size_t maxBufferedBytes = 32 * 1024 * 1024;
  std::chrono::milliseconds requestTimeout{10'000};  // reading a body, handling, writing
  std::chrono::milliseconds idleTimeout{30'000};     // waiting for the next request
  std::chrono::milliseconds headerTimeout{10'000};   // a new connection's first request header
  std::chrono::milliseconds handshakeTimeout{5'000};
  std::chrono::milliseconds certificateCheckInterval{2'000};
  // Called after every attempt to load a changed certificate/key pair.
  std::function<void(const Status&)> onCertificateReload;
  // Called (from any thread) for every refused, evicted or timed-out connection.
  std::function<void(ConnectionEvent)> onConnectionEvent;
};

class Server {
 public:
  // Loads the certificate (if any) and binds; fails with a message a user can act on.
  static StatusOr<std::unique_ptr<Server>> create(boost::asio::io_context& ioc,
                                                  ServerOptions options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  void start();
  // Safe to call from any thread, once. `done` runs on the io_context when the last
  // connection has closed, or when `grace` has passed and the rest were cut.
  void shutdown(std::chrono::milliseconds grace, std::function<void()> done);
  // Open connections, for tests and metrics.
  size_t connections() const;

  struct State;

 private:
  explicit Server(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// Parses "--listen" values: ":8443", "0.0.0.0:8443", "127.0.0.1:0", "[::]:8443".
StatusOr<std::pair<std::string, uint16_t>> parseListenAddress(std::string_view text);

}  // namespace hm::net
