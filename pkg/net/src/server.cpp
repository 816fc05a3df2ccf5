#include "harbormaster/net/server.h"

#include <sys/resource.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <unordered_set>

#include "harbormaster/base/log.h"
#include "harbormaster/net/task_group.h"
#include "tls.h"

namespace hm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
// After an error response we read and discard what the client still sends, briefly, so that
// closing the socket does not reset the connection before the client has read the response.
constexpr size_t kDrainLimit = 16 * 1024 * 1024;
constexpr auto kDrainTime = std::chrono::seconds(2);
constexpr auto kTlsShutdownTime = std::chrono::seconds(1);

constexpr size_t kFirstRead = 4 * 1024;
// Connections closed to make room may take a moment to go; past this many more, refuse.
constexpr size_t kEvictionSlack = 64;
constexpr auto kAcceptLogInterval = std::chrono::seconds(10);

using SteadyClock = std::chrono::steady_clock;

// One open connection. Its stream is touched only on its own strand; `idle` and `idleSince` are
// read by the acceptor choosing what to close.
struct Connection {
  beast::tcp_stream* stream = nullptr;
  std::string client;  // peer IP address
  // In its handshake, waiting for a request or reading a header: nothing is lost by closing it.
  std::atomic<bool> idle{true};
  std::atomic<int64_t> idleSince{0};  // steady-clock ticks
  bool evicting = false;              // guarded by State::mu

  void setIdle(bool v) {
    if (v) {
      idleSince = SteadyClock::now().time_since_epoch().count();
    }
    idle = v;
  }
};

}  // namespace

struct Server::State : std::enable_shared_from_this<Server::State> {
  State(asio::io_context& ctx, ServerOptions opts, Handler h)
      : ioc(ctx),
        options(std::move(opts)),
        handler(std::move(h)),
        acceptor(asio::make_strand(ctx)),
        certificateTimer(acceptor.get_executor()),
        shutdownTimer(acceptor.get_executor()) {}

  asio::io_context& ioc;
  ServerOptions options;
  Handler handler;
  tcp::acceptor acceptor;
  asio::steady_timer certificateTimer;
  asio::steady_timer shutdownTimer;
  std::unique_ptr<internal::CertificateStore> certificates;
  std::atomic<bool> stopping{false};
  uint16_t boundPort = 0;

  mutable std::mutex mu;
  std::unordered_map<std::shared_ptr<Connection>, asio::any_io_executor> connections;
  // Body bytes reserved, in total and per client address (guarded by mu).
  size_t buffered = 0;
  std::unordered_map<std::string, size_t> bufferedBy;
  // Accept errors, logged at most once per kAcceptLogInterval (acceptor strand only).
  SteadyClock::time_point acceptLogged{};
  uint64_t acceptErrorsSuppressed = 0;

  void report(ConnectionEvent e) const {
    if (options.onConnectionEvent) {
      options.onConnectionEvent(e);
    }
  }

  bool reserve(const std::string& client, size_t bytes) {
    std::lock_guard lock(mu);
    size_t& mine = bufferedBy[client];
    if (buffered + bytes > options.maxBufferedBytes ||
        mine + bytes > options.maxBufferedBytes / 2) {
      if (mine == 0) {
        bufferedBy.erase(client);
      }
      return false;
    }
    buffered += bytes;
    mine += bytes;
    return true;
  }
  void release(const std::string& client, size_t bytes) {
    std::lock_guard lock(mu);
    buffered -= bytes;
    auto it = bufferedBy.find(client);
    if (it != bufferedBy.end() && (it->second -= bytes) == 0) {
      bufferedBy.erase(it);
    }
  }

  // Makes room for one more connection: true when there is room, or when the connection idle
  // longest is being closed for it.
  bool admitOne() {
    std::lock_guard lock(mu);
    size_t evicting = 0;
    std::shared_ptr<Connection> oldest;
    asio::any_io_executor oldestEx;
    for (const auto& [conn, ex] : connections) {
      if (conn->evicting) {
        ++evicting;
      } else if (conn->idle && (!oldest || conn->idleSince < oldest->idleSince)) {
        oldest = conn;
        oldestEx = ex;
      }
    }
    if (connections.size() - evicting < options.maxConnections) {
      return true;
    }
    if (!oldest || evicting >= kEvictionSlack) {
      return false;
    }
    oldest->evicting = true;
    asio::post(oldestEx, [self = shared_from_this(), oldest] {
      if (oldest->stream != nullptr && oldest->idle) {
        oldest->stream->close();
        return;
      }
      // It started a request meanwhile: it stays, and may be chosen again once idle.
      std::lock_guard lock(self->mu);
      oldest->evicting = false;
    });
    report(ConnectionEvent::kEvicted);
    return true;
  }

  void track(const std::shared_ptr<Connection>& c, asio::any_io_executor ex) {
    std::lock_guard lock(mu);
    connections.emplace(c, std::move(ex));
  }
  void untrack(const std::shared_ptr<Connection>& c) {
    std::lock_guard lock(mu);
    connections.erase(c);
  }
  // Cancels the I/O of every connection (only idle ones unless `all`), each on its own strand.
  void cancelConnections(bool all) {
    std::lock_guard lock(mu);
    for (const auto& [conn, ex] : connections) {
      asio::post(ex, [conn = conn, all] {
        if (conn->stream != nullptr && (all || conn->idle.load())) {
          conn->stream->cancel();
        }
      });
    }
  }
};

namespace {

using State = Server::State;

template <typename Stream>
awaitable<void> writeResponse(Stream& stream, http::response<http::string_body>& res,
                              beast::error_code& ec) {
  res.prepare_payload();
  co_await http::async_write(stream, res, redirect_error(use_awaitable, ec));
}

template <typename Stream>
class StreamChunkWriter final : public ChunkWriter {
 public:
  StreamChunkWriter(Stream& stream, const State& st) : stream_(stream), st_(st) {}
  awaitable<bool> write(std::string data) override {
    if (!open() || data.empty()) {
      co_return open();
    }
    beast::error_code ec;
    beast::get_lowest_layer(stream_).expires_after(kStreamWriteTimeout);
    co_await asio::async_write(stream_, http::make_chunk(asio::buffer(data)),
                               redirect_error(use_awaitable, ec));
    beast::get_lowest_layer(stream_).expires_never();
    failed_ = failed_ || ec;
    co_return open();
  }
  bool open() const override { return !failed_ && !st_.stopping; }

 private:
  static constexpr std::chrono::seconds kStreamWriteTimeout{30};
  Stream& stream_;
  const State& st_;
  bool failed_ = false;
};

// Writes the header of a chunked response, runs the producer, ends with the last chunk.
template <typename Stream>
awaitable<void> writeStreamed(Stream& stream, const State& st, HttpResponse& out,
                              unsigned version) {
  http::response<http::empty_body> res{static_cast<http::status>(out.status), version};
  res.set(http::field::server, "harbormaster");
  res.set(http::field::content_type, out.contentType);
  for (const auto& h : out.headers) {
    res.set(h.name, h.value);
  }
  res.chunked(true);
  res.keep_alive(false);
  http::response_serializer<http::empty_body> sr{res};
  beast::error_code ec;
  co_await http::async_write_header(stream, sr, redirect_error(use_awaitable, ec));
  if (ec) {
    co_return;
  }
  beast::get_lowest_layer(stream).expires_never();
  StreamChunkWriter<Stream> writer(stream, st);
  co_await out.stream(writer);
  if (writer.open() || !st.stopping) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await asio::async_write(stream, http::make_chunk_last(), redirect_error(use_awaitable, ec));
  }
}

http::response<http::string_body> simpleResponse(http::status status, std::string_view message) {
  http::response<http::string_body> res{status, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "harbormaster");
  res.keep_alive(false);
  res.body() = "{\"error\":\"" + std::string(message) + "\"}";
  return res;
}

template <typename Stream>
awaitable<void> drain(Stream& stream, beast::flat_buffer& buffer) {
  beast::get_lowest_layer(stream).expires_after(kDrainTime);
  size_t total = 0;
  beast::error_code ec;
  while (!ec && total < kDrainLimit) {
    buffer.consume(buffer.size());
    total += co_await stream.async_read_some(buffer.prepare(64 * 1024),
                                             redirect_error(use_awaitable, ec));
  }
}

template <typename Stream>
awaitable<void> refuse(Stream& stream, beast::flat_buffer& buffer, http::status status,
                       std::string_view message) {
  auto res = simpleResponse(status, message);
  beast::error_code ec;
  co_await writeResponse(stream, res, ec);
  if (!ec) {
    co_await drain(stream, buffer);
  }
}

bool isProtocolError(const beast::error_code& ec) {
  static const auto& httpCategory = make_error_code(http::error::bad_version).category();
  return ec.category() == httpCategory && ec != http::error::end_of_stream &&
         ec != http::error::partial_message;
}

struct Peer {
  std::string address;  // ip:port, for logs
  std::string client;   // ip, for per-client bounds
  internal::ClientIdentity identity;
};

// Body bytes held against the server's budget until the handler is done with the request.
class Reservation {
 public:
  Reservation() = default;
  Reservation(State* st, std::string client, size_t bytes)
      : st_(st), client_(std::move(client)), bytes_(bytes) {}
  Reservation(Reservation&& o) noexcept
      : st_(std::exchange(o.st_, nullptr)), client_(std::move(o.client_)), bytes_(o.bytes_) {}
  Reservation& operator=(Reservation&& o) noexcept {
    if (this != &o) {
      reset();
      st_ = std::exchange(o.st_, nullptr);
      client_ = std::move(o.client_);
      bytes_ = o.bytes_;
    }
    return *this;
  }
  ~Reservation() { reset(); }
  void reset() {
    if (st_ != nullptr) {
      st_->release(client_, bytes_);
      st_ = nullptr;
    }
  }

 private:
  State* st_ = nullptr;
  std::string client_;
  size_t bytes_ = 0;
};

bool timedOut(const beast::error_code& ec) {
  return ec == beast::error::timeout;
}

HttpRequest toRequest(http::request<http::string_body>&& msg, const Peer& peer,
                      std::chrono::steady_clock::time_point deadline) {
  HttpRequest req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& field : msg) {
    req.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  req.body = std::move(msg.body());
  req.remote = peer.address;
  req.clientCommonName = peer.identity.commonName;
  req.clientOrganizations = peer.identity.organizations;
  req.deadline = deadline;
  return req;
}

template <typename Stream>
awaitable<void> serveHttp(std::shared_ptr<State> st, Stream& stream, Connection& conn,
                          const Peer& peer) {
  beast::flat_buffer buffer;
  auto& lowest = beast::get_lowest_layer(stream);
  const ServerOptions& opts = st->options;
  for (bool first = true;; first = false) {
    if (st->stopping) {
      co_return;
    }
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(opts.bodyLimit);
    beast::error_code ec;
    conn.setIdle(true);
    if (buffer.size() == 0) {
      // Waiting keeps no large read buffer (a body read grows it): thousands of idle
      // connections hold a few KiB each. Small ones are kept, so keep-alive requests do not
      // allocate one each.
      if (buffer.capacity() > 4 * kFirstRead) {
        buffer.shrink_to_fit();
      }
      lowest.expires_after(first ? opts.headerTimeout : opts.idleTimeout);
      size_t n = co_await stream.async_read_some(buffer.prepare(kFirstRead),
                                                 redirect_error(use_awaitable, ec));
      buffer.commit(n);
      if (ec) {
        if (timedOut(ec)) {
          st->report(first ? ConnectionEvent::kHeaderTimeout : ConnectionEvent::kIdleTimeout);
        }
        co_return;
      }
    }
    lowest.expires_after(opts.headerTimeout);
    co_await http::async_read_header(stream, buffer, parser, redirect_error(use_awaitable, ec));
    conn.setIdle(false);
    if (ec) {
      if (timedOut(ec)) {
        st->report(ConnectionEvent::kHeaderTimeout);
      }
      if (ec == http::error::body_limit) {  // Content-Length alone is over the limit
        co_await refuse(stream, buffer, http::status::payload_too_large,
                        "request body is larger than the limit");
      } else if (ec == http::error::header_limit) {
        co_await refuse(stream, buffer, http::status::request_header_fields_too_large,
                        "request headers are larger than 16 KiB");
      } else if (isProtocolError(ec)) {
        co_await refuse(stream, buffer, http::status::bad_request, "malformed HTTP request");
      }
      co_return;
    }
    // The body's bytes are reserved before any is read; chunked bodies reserve the limit.
    const auto length = parser.content_length();
    const size_t want = length ? static_cast<size_t>(*length) : opts.bodyLimit;
    Reservation reservation;
    if (want > 0 && !parser.is_done()) {
      if (!st->reserve(peer.client, want)) {
        st->report(ConnectionEvent::kBufferFull);
        co_await refuse(stream, buffer, http::status::service_unavailable,
                        "too many request bytes are buffered; retry shortly");
        co_return;
      }
      reservation = Reservation(st.get(), peer.client, want);
    }
    auto deadline = std::chrono::steady_clock::now() + opts.requestTimeout;
    lowest.expires_after(opts.requestTimeout);
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      // curl and some HTTP clients wait (about 1 s) for this before sending a large body.
      http::response<http::empty_body> proceed{http::status::continue_, 11};
      co_await http::async_write(stream, proceed, redirect_error(use_awaitable, ec));
      if (ec) {
        co_return;
      }
    }
    co_await http::async_read(stream, buffer, parser, redirect_error(use_awaitable, ec));
    if (timedOut(ec)) {
      st->report(ConnectionEvent::kRequestTimeout);
    }
    if (ec == http::error::body_limit) {
      co_await refuse(stream, buffer, http::status::payload_too_large,
                      "request body is larger than the limit");
      co_return;
    }
    if (ec) {
      if (isProtocolError(ec)) {
        co_await refuse(stream, buffer, http::status::bad_request, "malformed HTTP request");
      }
      co_return;
    }
    http::request<http::string_body> msg = parser.release();
    const bool keepAlive = msg.keep_alive();
    const bool head = msg.method() == http::verb::head;
    const unsigned version = msg.version();
    HttpResponse out;
    try {
      out = co_await st->handler(toRequest(std::move(msg), peer, deadline));
    } catch (const std::exception& e) {
      log::error("Handler failed", {{"error", e.what()}, {"remote", peer.address}});
      out = HttpResponse{500, "application/json", "{\"error\":\"internal error\"}", {}};
    }
    reservation.reset();  // the handler is done with the body
    if (out.stream && !head) {
      co_await writeStreamed(stream, *st, out, version);
      co_return;
    }
    http::response<http::string_body> res{static_cast<http::status>(out.status), version};
    res.set(http::field::server, "harbormaster");
    res.set(http::field::content_type, out.contentType);
    for (const auto& h : out.headers) {
      res.set(h.name, h.value);
    }
    // A request that arrives during shutdown is answered, then its connection closed.
    const bool again = keepAlive && !st->stopping;
    if (head) {
      // The headers of the GET it stands for, with that Content-Length, and no body.
      if (res.find(http::field::content_length) == res.end()) {
        res.content_length(out.body.size());
      }
      res.keep_alive(again);
      co_await http::async_write(stream, res, redirect_error(use_awaitable, ec));
    } else {
      res.body() = std::move(out.body);
      res.keep_alive(again);
      co_await writeResponse(stream, res, ec);
    }
    if (timedOut(ec)) {
      st->report(ConnectionEvent::kRequestTimeout);
    }
    if (ec || !again) {
      co_return;
    }
  }
}

// Keeps a connection in the server's set for as long as its coroutine runs.
struct Tracked {
  Tracked(std::shared_ptr<State> s, asio::any_io_executor ex, beast::tcp_stream& stream,
          std::string client)
      : state(std::move(s)), conn(std::make_shared<Connection>()) {
    conn->stream = &stream;
    conn->client = std::move(client);
    conn->setIdle(true);
    state->track(conn, std::move(ex));
  }
  ~Tracked() {
    conn->stream = nullptr;
    state->untrack(conn);
  }
  std::shared_ptr<State> state;
  std::shared_ptr<Connection> conn;
};

Peer peerOf(const tcp::socket& socket) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  Peer peer;
  peer.client = ec ? std::string("unknown") : ep.address().to_string();
  peer.address = ec ? peer.client : peer.client + ":" + std::to_string(ep.port());
  return peer;
}

awaitable<void> tlsSession(std::shared_ptr<State> st, tcp::socket socket) {
  auto ex = socket.get_executor();
  Peer peer = peerOf(socket);
  // The context is shared: a reload replaces it for new connections only.
  std::shared_ptr<asio::ssl::context> ctx = st->certificates->current();
  beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *ctx);
  Tracked tracked(st, ex, beast::get_lowest_layer(stream), peer.client);
  beast::error_code ec;
  beast::get_lowest_layer(stream).expires_after(st->options.handshakeTimeout);
  co_await stream.async_handshake(asio::ssl::stream_base::server,
                                  redirect_error(use_awaitable, ec));
  if (ec) {
    if (timedOut(ec)) {
      st->report(ConnectionEvent::kHandshakeTimeout);
    }
    log::debug("TLS handshake failed", {{"remote", peer.address}, {"error", ec.message()}});
    co_return;
  }
  peer.identity = internal::verifiedClientIdentity(stream.native_handle());
  co_await serveHttp(st, stream, *tracked.conn, peer);
  beast::get_lowest_layer(stream).expires_after(kTlsShutdownTime);
  co_await stream.async_shutdown(redirect_error(use_awaitable, ec));
}

awaitable<void> plainSession(std::shared_ptr<State> st, tcp::socket socket) {
  auto ex = socket.get_executor();
  Peer peer = peerOf(socket);  // named: GCC 12 mishandles temporaries in a co_await'ed call
  beast::tcp_stream stream(std::move(socket));
  Tracked tracked(st, ex, stream, peer.client);
  co_await serveHttp(st, stream, *tracked.conn, peer);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

awaitable<void> acceptLoop(std::shared_ptr<State> st) {
  for (;;) {
    beast::error_code ec;
    auto socket = co_await st->acceptor.async_accept(asio::make_strand(st->ioc),
                                                     redirect_error(use_awaitable, ec));
    if (st->stopping || ec == asio::error::operation_aborted) {
      co_return;
    }
    if (ec) {
      // Out of file descriptors and the like: back off instead of spinning, and say so once
      // per interval with the count, not once per attempt.
      const auto now = SteadyClock::now();
      if (now - st->acceptLogged >= kAcceptLogInterval) {
        log::warn("Accept failed", {{"error", ec.message()},
                                    {"suppressed_since_last_report", st->acceptErrorsSuppressed}});
        st->acceptLogged = now;
        st->acceptErrorsSuppressed = 0;
      } else {
        ++st->acceptErrorsSuppressed;
      }
      asio::steady_timer pause(st->acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    tcp::socket s(std::move(socket));
    if (!st->admitOne()) {
      st->report(ConnectionEvent::kRefused);
      s.close(ec);
      continue;
    }
    // A TLS response spans several records; without this, Nagle's algorithm holds the last
    // one back until the client's delayed ACK (40 ms) arrives.
    s.set_option(tcp::no_delay(true), ec);
    auto ex = s.get_executor();
    if (st->certificates) {
      asio::co_spawn(ex, tlsSession(st, std::move(s)), LogFailure{"connection"});
    } else {
      asio::co_spawn(ex, plainSession(st, std::move(s)), LogFailure{"connection"});
    }
  }
}

awaitable<void> certificateLoop(std::shared_ptr<State> st) {
  for (;;) {
    beast::error_code ec;
    st->certificateTimer.expires_after(st->options.certificateCheckInterval);
    co_await st->certificateTimer.async_wait(redirect_error(use_awaitable, ec));
    if (ec || st->stopping) {
      co_return;
    }
    if (auto status = st->certificates->reloadIfChanged()) {
      if (status->ok()) {
        log::info("Reloaded serving certificate", {{"cert", st->options.tls->certFile}});
      } else {
        log::error("Rejected new serving certificate; keeping the previous one",
                   {{"error", status->message()}});
      }
      if (st->options.onCertificateReload) {
        st->options.onCertificateReload(*status);
      }
    }
  }
}

}  // namespace

std::string_view connectionEventName(ConnectionEvent e) {
  switch (e) {
    case ConnectionEvent::kRefused:
      return "refused";
    case ConnectionEvent::kEvicted:
      return "evicted";
    case ConnectionEvent::kBufferFull:
      return "buffer_full";
    case ConnectionEvent::kHandshakeTimeout:
      return "handshake_timeout";
    case ConnectionEvent::kHeaderTimeout:
      return "header_timeout";
    case ConnectionEvent::kIdleTimeout:
      return "idle_timeout";
    case ConnectionEvent::kRequestTimeout:
      return "request_timeout";
  }
  return "unknown";
}

Server::Server(std::shared_ptr<State> state) : state_(std::move(state)) {}

Server::~Server() {
  // Nothing may outlive the io_context's run: the owner shuts down or stops it first.
  beast::error_code ec;
  state_->acceptor.close(ec);
}

StatusOr<std::unique_ptr<Server>> Server::create(asio::io_context& ioc, ServerOptions options,
                                                 Handler handler) {
  auto st = std::make_shared<State>(ioc, std::move(options), std::move(handler));
  if (st->options.tls) {
    auto store = internal::CertificateStore::create(*st->options.tls);
    if (!store.ok()) {
      return store.status();
    }
    st->certificates = std::move(*store);
  }
  beast::error_code ec;
  auto address = asio::ip::make_address(st->options.address, ec);
  if (ec) {
    return invalidArgument("listen address \"" + st->options.address + "\" is not an IP address");
  }
  tcp::endpoint endpoint(address, st->options.port);
  st->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    st->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  }
  if (!ec) {
    st->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return unavailable("cannot listen on " + st->options.address + ":" +
                       std::to_string(st->options.port) + ": " + ec.message());
  }
  st->boundPort = st->acceptor.local_endpoint().port();
  // Leave descriptors for the clients to Harbor and the registries, files and the listener:
  // running out of them stalls accept() for everyone.
  if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    const size_t room = lim.rlim_cur > 256 ? static_cast<size_t>(lim.rlim_cur) - 128 : 64;
    if (st->options.maxConnections > room) {
      log::warn("Lowering the connection limit to fit the file-descriptor limit",
                {{"max_connections", room}, {"nofile", static_cast<uint64_t>(lim.rlim_cur)}});
      st->options.maxConnections = room;
    }
  }
  return std::unique_ptr<Server>(new Server(std::move(st)));
}

uint16_t Server::port() const {
  return state_->boundPort;
}

void Server::start() {
  asio::co_spawn(state_->acceptor.get_executor(), acceptLoop(state_), LogFailure{"accept loop"});
  if (state_->certificates) {
    asio::co_spawn(state_->acceptor.get_executor(), certificateLoop(state_),
                   LogFailure{"certificate reload"});
  }
}

size_t Server::connections() const {
  std::lock_guard lock(state_->mu);
  return state_->connections.size();
}

void Server::shutdown(std::chrono::milliseconds grace, std::function<void()> done) {
  auto st = state_;
  asio::post(st->acceptor.get_executor(), [st, grace, done = std::move(done)]() mutable {
    st->stopping = true;
    beast::error_code ec;
    st->acceptor.close(ec);
    st->certificateTimer.cancel();
    st->cancelConnections(/*all=*/false);
    auto deadline = std::chrono::steady_clock::now() + grace;
    // Poll rather than signal: connections end on many strands, and 20 ms is far below any
    // grace period that matters.
    auto wait = std::make_shared<std::function<void(bool)>>();
    *wait = [st, deadline, done = std::move(done), wait](bool cut) mutable {
      bool empty;
      {
        std::lock_guard lock(st->mu);
        empty = st->connections.empty();
      }
      if (empty || (cut && std::chrono::steady_clock::now() > deadline + kTlsShutdownTime)) {
        auto finish = std::move(done);
        *wait = nullptr;  // break the self-reference
        if (finish) {
          finish();
        }
        return;
      }
      if (!cut && std::chrono::steady_clock::now() > deadline) {
        log::warn("Grace period ended; closing the remaining connections");
        st->cancelConnections(/*all=*/true);
        cut = true;
      } else {
        // Connections that were busy when shutdown began may have gone idle since.
        st->cancelConnections(/*all=*/false);
      }
      st->shutdownTimer.expires_after(std::chrono::milliseconds(20));
      st->shutdownTimer.async_wait([wait, cut](const beast::error_code&) {
        if (*wait) {
          (*wait)(cut);
        }
      });
    };
    (*wait)(false);
  });
}

}  // namespace hm::net
