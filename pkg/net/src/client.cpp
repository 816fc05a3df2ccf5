#include "harbormaster/net/client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "harbormaster/base/log.h"
#include "harbormaster/base/lru.h"

namespace hm::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

namespace {

// One pooled connection: plain or TLS, with the read buffer that belongs to it.
struct Connection {
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::unique_ptr<beast::tcp_stream> plain;
  beast::flat_buffer buffer;
  Clock::time_point lastUsed;
  bool reused = false;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

bool isIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// A pooled connection the server has closed (or that has unexpected bytes waiting) is useless;
// peeking without blocking tells us before we write a request into it.
bool stillOpen(Connection& c) {
  char byte;
  ssize_t n = ::recv(c.lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool idempotentMethod(const std::string& m) {
  return m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS";
}

bool retryableStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

// Rounded up: a stream timer that fired a fraction of a millisecond before the deadline made a
// call cut by its deadline look like a connection failure (Unavailable, "Operation canceled").
std::chrono::milliseconds remaining(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

// Retry-After in seconds (the HTTP-date form is rare from the servers we talk to and ignored).
std::optional<std::chrono::milliseconds> retryAfter(const ClientResponse& r) {
  std::string_view v = r.header("Retry-After");
  if (v.empty() || v.size() > 6 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::chrono::seconds(std::stoi(std::string(v)));
}

}  // namespace

struct HttpClient::State {
  asio::any_io_executor executor;
  ClientOptions options;
  std::shared_ptr<asio::ssl::context> tls;
  std::atomic<size_t> opened{0};

  std::mutex mu;
  // Idle connections per scheme://host:port, for at most maxIdleHosts hosts: the hosts a
  // registry lookup reaches are named by requests, so the least recently used host's
  // connections are closed first rather than kept for every host ever named.
  LruMap<std::string, std::vector<std::unique_ptr<Connection>>> idle{1};  // sized by create()
  std::mt19937_64 rng{std::random_device{}()};

  std::unique_ptr<Connection> takeIdle(const std::string& key) {
    std::lock_guard lock(mu);
    auto* list = idle.find(key);
    if (list == nullptr) {
      return nullptr;
    }
    std::unique_ptr<Connection> found;
    while (!list->empty() && !found) {
      std::unique_ptr<Connection> c = std::move(list->back());
      list->pop_back();
      if (Clock::now() - c->lastUsed < options.idleTimeout && stillOpen(*c)) {
        c->reused = true;
        found = std::move(c);
      }
    }
    if (list->empty()) {
      idle.erase(key);
    }
    return found;
  }

  void putIdle(const std::string& key, std::unique_ptr<Connection> c) {
    c->lastUsed = Clock::now();
    std::lock_guard lock(mu);
    auto* list = idle.find(key);
    if (list == nullptr) {
      list = &idle.put(key, {});
    }
    if (list->size() < options.maxIdlePerHost) {
      list->push_back(std::move(c));
    }
  }

  size_t idleHosts() {
    std::lock_guard lock(mu);
    return idle.size();
  }

  // Exponential backoff with "equal jitter": half fixed, half random, so retries from many
  // callers spread out but never collapse to zero.
  std::chrono::milliseconds backoff(int attempt) {
    auto base = options.retry.initialBackoff * (1LL << std::min(attempt - 1, 16));
    auto capped = std::min<std::chrono::milliseconds>(base, options.retry.maxBackoff);
    std::lock_guard lock(mu);
    std::uniform_int_distribution<long long> dist(0, capped.count() / 2);
    return std::chrono::milliseconds(capped.count() / 2 + dist(rng));
  }
};

namespace {

using State = HttpClient::State;

Status ioError(const Url& url, std::string_view step, const beast::error_code& ec) {
  std::string msg = std::string(step) + " " + url.authority() + " failed: " + ec.message();
  if (ec == beast::error::timeout) {
    return deadlineExceeded(msg);
  }
  return unavailable(msg);
}

awaitable<StatusOr<std::unique_ptr<Connection>>> connect(State& st, const Url& url,
                                                         Clock::time_point deadline,
                                                         TargetRule targets) {
  beast::error_code ec;
  tcp::resolver resolver(st.executor);
  auto resolved = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                  redirect_error(use_awaitable, ec));
  if (ec) {
    co_return unavailable("cannot resolve " + url.host + ": " + ec.message());
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : resolved) {
    if (targetAllowed(targets, classifyAddress(entry.endpoint().address().to_string()))) {
      endpoints.push_back(entry.endpoint());
    }
  }
  if (endpoints.empty()) {
    co_return permissionDenied("refused to connect to " + url.authority() +
                               ": it resolves only to loopback or link-local addresses");
  }
  auto conn = std::make_unique<Connection>();
  if (url.scheme == "https") {
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(st.executor, *st.tls);
    SSL* ssl = conn->tls->native_handle();
    const std::string& name = st.options.serverName ? *st.options.serverName : url.host;
    const bool ip = isIpLiteral(name);
    if (!ip) {
      SSL_set_tlsext_host_name(ssl, name.c_str());  // SNI is for names only (RFC 6066)
    }
    if (!st.options.insecureSkipVerify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                  : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      if (ok != 1) {
        co_return internalError("cannot set TLS host verification for " + name);
      }
      SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    }
  } else {
    conn->plain = std::make_unique<beast::tcp_stream>(st.executor);
  }
  auto& lowest = conn->lowest();
  lowest.expires_after(remaining(deadline));
  co_await lowest.async_connect(endpoints, redirect_error(use_awaitable, ec));
  if (ec) {
    co_return ioError(url, "connecting to", ec);
  }
  lowest.socket().set_option(tcp::no_delay(true), ec);
  if (conn->tls) {
    co_await conn->tls->async_handshake(asio::ssl::stream_base::client,
                                        redirect_error(use_awaitable, ec));
    if (ec) {
      long verify = SSL_get_verify_result(conn->tls->native_handle());
      if (verify != X509_V_OK) {
        co_return failedPrecondition("TLS verification of " + url.authority() + " failed (" +
                                     X509_verify_cert_error_string(verify) +
                                     "); give the CA bundle that signed its certificate");
      }
      co_return ioError(url, "TLS handshake with", ec);
    }
  }
  ++st.opened;
  co_return conn;
}

http::request<http::string_body> buildRequest(const State& st, const Url& url,
                                              const ClientRequest& req) {
  http::request<http::string_body> msg;
  http::verb verb = http::string_to_verb(req.method);
  if (verb == http::verb::unknown) {
    msg.method_string(req.method);
  } else {
    msg.method(verb);
  }
  msg.target(url.target);
  msg.version(11);
  msg.set(http::field::host, url.authority());
  msg.set(http::field::user_agent, st.options.userAgent);
  // The first occurrence of a name replaces a default (Host, User-Agent); repeats are added, so
  // a proxy can pass on several Accept lines.
  std::set<std::string> seen;
  for (const auto& h : req.headers) {
    std::string lower = h.name;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (seen.insert(lower).second) {
      msg.set(h.name, h.value);
    } else {
      msg.insert(h.name, h.value);
    }
  }
  msg.body() = req.body;
  msg.keep_alive(true);
  msg.prepare_payload();
  return msg;
}

template <typename Stream>
awaitable<StatusOr<ClientResponse>> exchange(Stream& stream, Connection& conn, const Url& url,
                                             http::request<http::string_body>& msg, size_t maxBytes,
                                             bool& keepAlive,
                                             const std::function<bool(std::string_view)>& onData) {
  beast::error_code ec;
  co_await http::async_write(stream, msg, redirect_error(use_awaitable, ec));
  if (ec) {
    co_return ioError(url, "sending a request to", ec);
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(maxBytes);

  if (msg.method() == http::verb::head) {
    parser.skip(true);
  }
  auto tooLarge = [&] {
    return failedPrecondition("response from " + url.authority() + " is larger than " +
                              std::to_string(maxBytes) + " bytes");
  };
  // The header first, so a declared size over the cap is refused before any body is read; the
  // parser's own body limit did not hold for every response shape in Boost 1.74, so the size is
  // checked here and again after reading.
  co_await http::async_read_header(stream, conn.buffer, parser, redirect_error(use_awaitable, ec));
  if (ec == http::error::body_limit) {
    co_return tooLarge();
  }
  if (ec) {
    co_return ioError(url, "reading the response from", ec);
  }
  const int code = static_cast<int>(parser.get().result_int());
  const bool streamed = onData && code >= 200 && code < 300;
  bool stopped = false;
  // The parser keeps a reference: the callback lives in this frame for the whole read.
  auto onChunk = [&](std::uint64_t, beast::string_view data, beast::error_code& cbEc) {
    if (!stopped && !onData(std::string_view(data.data(), data.size()))) {
      stopped = true;
      cbEc = asio::error::operation_aborted;
    }
    return data.size();
  };
  if (streamed) {
    // Chunks go to the caller as they arrive instead of into the body.
    parser.body_limit(boost::none);
    parser.on_chunk_body(onChunk);
  } else if (auto declared = parser.content_length(); declared && *declared > maxBytes) {
    co_return tooLarge();
  }
  co_await http::async_read(stream, conn.buffer, parser, redirect_error(use_awaitable, ec));
  if (streamed) {
    keepAlive = false;
    if (ec && !stopped) {
      co_return ioError(url, "reading a streamed response from", ec);
    }
    ClientResponse out;
    out.status = code;
    for (const auto& f : parser.get()) {
      out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    }
    if (!parser.get().body().empty()) {
      onData(parser.get().body());  // a stream that was not chunked
    }
    co_return out;
  }
  if (ec == http::error::body_limit) {
    co_return tooLarge();
  }
  if (ec) {
    co_return ioError(url, "reading the response from", ec);
  }
  auto& res = parser.get();
  if (res.body().size() > maxBytes) {
    co_return tooLarge();
  }
  ClientResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  }
  out.body = std::move(res.body());
  keepAlive = res.keep_alive();
  co_return out;
}

awaitable<StatusOr<ClientResponse>> attemptOnce(std::shared_ptr<State> st, const Url& url,
                                                const ClientRequest& req,
                                                Clock::time_point deadline) {
  const std::string key = url.scheme + "://" + url.authority();
  // A pooled connection was opened without this request's address rule.
  std::unique_ptr<Connection> conn = req.targets == TargetRule::kAny ? st->takeIdle(key) : nullptr;
  if (!conn) {
    auto fresh = co_await connect(*st, url, deadline, req.targets);
    if (!fresh.ok()) {
      co_return fresh.status();
    }
    conn = std::move(*fresh);
  }
  auto msg = buildRequest(*st, url, req);
  const size_t maxBytes = req.maxResponseBytes.value_or(st->options.maxResponseBytes);
  conn->lowest().expires_after(remaining(deadline));
  bool keepAlive = false;
  // Two statements, not a conditional expression: GCC 12 mishandles temporaries of a co_await
  // inside ?: and frees the response body early.
  StatusOr<ClientResponse> res = internalError("no attempt made");
  if (conn->tls) {
    res = co_await exchange(*conn->tls, *conn, url, msg, maxBytes, keepAlive, req.onBodyData);
  } else {
    res = co_await exchange(*conn->plain, *conn, url, msg, maxBytes, keepAlive, req.onBodyData);
  }
  if (res.ok() && keepAlive && req.targets == TargetRule::kAny) {
    conn->lowest().expires_never();
    st->putIdle(key, std::move(conn));
  }
  co_return res;
}

}  // namespace

std::string_view ClientResponse::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (beast::iequals(h.name, name)) {
      return h.value;
    }
  }
  return {};
}

HttpClient::HttpClient(std::shared_ptr<State> state) : state_(std::move(state)) {}
HttpClient::~HttpClient() = default;

StatusOr<std::unique_ptr<HttpClient>> HttpClient::create(asio::any_io_executor executor,
                                                         ClientOptions options) {
  auto st = std::make_shared<State>();
  st->executor = std::move(executor);
  st->tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(st->tls->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  if (options.insecureSkipVerify) {
    log::warn(
        "TLS verification is OFF for outgoing calls: anyone on the network path can read "
        "and change them. Use this only for development.");
    st->tls->set_verify_mode(asio::ssl::verify_none);
  } else if (options.caFile) {
    st->tls->load_verify_file(*options.caFile, ec);
    if (ec) {
      return invalidArgument("CA bundle " + *options.caFile + " cannot be loaded: " + ec.message());
    }
  } else if (options.caPem) {
    st->tls->add_certificate_authority(asio::buffer(*options.caPem), ec);
    if (ec) {
      return invalidArgument("the inline CA bundle cannot be loaded: " + ec.message());
    }
  }
  if (!options.insecureSkipVerify &&
      (options.alsoSystemTrust || (!options.caFile && !options.caPem))) {
    st->tls->set_default_verify_paths(ec);
    if (ec) {
      return unavailable("the system trust store cannot be loaded: " + ec.message());
    }
  }
  if (options.clientCertPem.has_value() != options.clientKeyPem.has_value()) {
    return invalidArgument("a client certificate needs its key, and a key its certificate");
  }
  if (options.clientCertPem) {
    st->tls->use_certificate_chain(asio::buffer(*options.clientCertPem), ec);
    if (!ec) {
      st->tls->use_private_key(asio::buffer(*options.clientKeyPem), asio::ssl::context::pem, ec);
    }
    if (ec) {
      // Never the PEM itself: the key is a secret.
      return invalidArgument("the client certificate or key cannot be loaded: " + ec.message());
    }
  }
  if (options.retry.maxAttempts < 1) {
    options.retry.maxAttempts = 1;
  }
  st->idle = decltype(st->idle)(options.maxIdleHosts);
  st->options = std::move(options);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(st)));
}

size_t HttpClient::connectionsOpened() const {
  return state_->opened.load();
}

size_t HttpClient::idleHosts() const {
  return state_->idleHosts();
}

AddressClass classifyAddress(std::string_view literal) {
  beast::error_code ec;
  asio::ip::address a = asio::ip::make_address(std::string(literal), ec);
  if (ec) {
    return AddressClass::kOther;
  }
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  if (a.is_loopback() || a.is_unspecified()) {
    return AddressClass::kLoopback;  // 0.0.0.0 and :: reach this host too
  }
  if (a.is_v4()) {
    const auto bytes = a.to_v4().to_bytes();
    return bytes[0] == 169 && bytes[1] == 254 ? AddressClass::kLinkLocal : AddressClass::kOther;
  }
  return a.to_v6().is_link_local() ? AddressClass::kLinkLocal : AddressClass::kOther;
}

bool targetAllowed(TargetRule rule, AddressClass address) {
  switch (rule) {
    case TargetRule::kAny:
      return true;
    case TargetRule::kNoLinkLocal:
      return address != AddressClass::kLinkLocal;
    case TargetRule::kNoLocal:
      return address == AddressClass::kOther;
  }
  return false;
}

awaitable<StatusOr<ClientResponse>> HttpClient::send(ClientRequest req) {
  std::shared_ptr<State> st = state_;
  auto url = parseUrl(req.url);
  if (!url.ok()) {
    co_return url.status();
  }
  const auto deadline = req.deadline.value_or(Clock::now() + st->options.defaultTimeout);
  const bool idempotent = req.idempotent.value_or(idempotentMethod(req.method));
  const int maxAttempts = idempotent ? st->options.retry.maxAttempts : 1;
  for (int attempt = 1;; ++attempt) {
    if (Clock::now() >= deadline) {
      co_return deadlineExceeded(req.method + " " + url->authority() + url->target.substr(0, 100) +
                                 " ran out of time after " + std::to_string(attempt - 1) +
                                 " attempt(s)");
    }
    StatusOr<ClientResponse> res = co_await attemptOnce(st, *url, req, deadline);
    if (!res.ok() && Clock::now() >= deadline) {
      // The stream's timer fired; what the TLS layer reports then varies, the cause does not.
      co_return deadlineExceeded(res.status().message() + " (deadline reached)");
    }
    bool retry = attempt < maxAttempts &&
                 (res.ok() ? retryableStatus(res->status) : isUnavailable(res.status()));
    if (!retry) {
      if (res.ok()) {
        res->attempts = attempt;
      }
      co_return res;
    }
    auto wait = st->backoff(attempt);
    if (res.ok()) {
      if (auto after = retryAfter(*res)) {
        wait = std::max(wait, *after);
      }
    }
    if (Clock::now() + wait >= deadline) {
      // No time left to wait and try again: the answer we have is the honest one.
      if (res.ok()) {
        res->attempts = attempt;
      }
      co_return res;
    }
    asio::steady_timer timer(co_await asio::this_coro::executor, wait);
    beast::error_code ec;
    co_await timer.async_wait(redirect_error(use_awaitable, ec));
  }
}

Status statusFromHttp(int httpStatus, std::string message) {
  switch (httpStatus) {
    case 400:
    case 415:
    case 422:
      return invalidArgument(std::move(message));
    case 401:
      return unauthenticated(std::move(message));
    case 403:
      return permissionDenied(std::move(message));
    case 404:
      return notFound(std::move(message));
    case 408:
      return deadlineExceeded(std::move(message));
    case 409:
      return conflict(std::move(message));
    case 410:
      return gone(std::move(message));
    case 412:
      return failedPrecondition(std::move(message));
    case 429:
      return resourceExhausted(std::move(message));
    case 500:
      return internalError(std::move(message));
    case 501:
      return unimplemented(std::move(message));
    default:
      break;
  }
  if (httpStatus >= 200 && httpStatus < 300) {
    return okStatus();
  }
  if (httpStatus >= 500) {
    return unavailable(std::move(message));  // 502, 503, 504: a peer or proxy is down
  }
  return internalError(std::move(message));
}

}  // namespace hm::net
