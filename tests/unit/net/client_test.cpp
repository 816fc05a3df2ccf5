#include "harbormaster/net/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <thread>

#include "support/async.h"
#include "support/certs.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::net {
namespace {

namespace asio = boost::asio;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

ClientRequest req(std::string method, std::string url, std::string body = "",
                  std::optional<Clock::time_point> deadline = std::nullopt) {
  ClientRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.body = std::move(body);
  r.deadline = deadline;
  return r;
}

using hm::testing::deliver;

// A peer built on our own server, with routes that misbehave on demand.
class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hm::testing::makeSelfSignedCert(dir_.file("tls.crt"), dir_.file("tls.key"), "peer");
    ServerOptions opts;
    opts.address = "127.0.0.1";
    opts.port = 0;
    opts.tls = TlsFiles{dir_.file("tls.crt"), dir_.file("tls.key")};
    opts.idleTimeout = std::chrono::milliseconds(idleTimeoutMs_);
    auto s = Server::create(ioc_, opts, [this](HttpRequest r) { return handle(std::move(r)); });
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
    server_->start();
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void TearDown() override {
    std::promise<void> done;
    server_->shutdown(std::chrono::seconds(2), [&] { done.set_value(); });
    done.get_future().wait();
    ioc_.stop();
    for (auto& t : threads_) {
      t.join();
    }
  }

  asio::awaitable<HttpResponse> handle(HttpRequest req) {
    std::string path(req.path());
    ++calls_[path];
    if (path == "/flaky" && failuresLeft_-- > 0) {
      co_return HttpResponse{503, "application/json", "{}", {}};
    }
    if (path == "/throttle" && calls_[path] == 1) {
      co_return HttpResponse{429, "application/json", "{}", {{"Retry-After", retryAfter_}}};
    }
    if (path == "/slow") {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(500));
      co_await t.async_wait(asio::use_awaitable);
    }
    if (path == "/big") {
      co_return HttpResponse{200, "text/plain", std::string(2 * 1024 * 1024, 'x'), {}};
    }
    if (path == "/stream") {
      HttpResponse r{200, "application/json", ""};
      r.stream = [this](ChunkWriter& w) -> asio::awaitable<void> {
        for (int i = 0; i < 20 && w.open(); ++i) {
          if (!co_await w.write("{\"n\":" + std::to_string(i) + "}\n")) {
            break;
          }
          asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
          co_await t.async_wait(asio::use_awaitable);
        }
        streamEnded_ = true;
      };
      co_return r;
    }
    if (path == "/login") {
      co_return HttpResponse{200, "text/plain", "ok", {{"Set-Cookie", "sid=secret; Path=/"}}};
    }
    std::string cookie(req.header("Cookie"));
    co_return HttpResponse{200,
                           "text/plain",
                           req.method + " " + req.target +
                               " host=" + std::string(req.header("Host")) + " cookie=" + cookie +
                               " body=" + req.body,
                           {}};
  }

  std::unique_ptr<HttpClient> client(ClientOptions opts = {}) {
    if (!opts.caFile && !opts.insecureSkipVerify) {
      opts.caFile = dir_.file("tls.crt");
    }
    opts.retry.initialBackoff = std::chrono::milliseconds(10);
    auto c = HttpClient::create(ioc_.get_executor(), opts);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }

  StatusOr<ClientResponse> send(HttpClient& c, ClientRequest req) {
    std::promise<StatusOr<ClientResponse>> result;
    auto future = result.get_future();
    asio::co_spawn(ioc_, deliver(c.send(std::move(req)), &result), asio::detached);
    return future.get();
  }

  std::string url(const std::string& path, const std::string& host = "127.0.0.1") {
    return "https://" + host + ":" + std::to_string(server_->port()) + path;
  }

  int idleTimeoutMs_ = 90'000;
  hm::testing::TempDir dir_;
  asio::io_context ioc_;
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;
  std::map<std::string, int> calls_;  // touched only by the handler, read after the calls
  int failuresLeft_ = 0;
  std::string retryAfter_ = "0";
  std::atomic<bool> streamEnded_{false};
};

TEST_F(ClientTest, VerifiesTheServerAgainstTheGivenCa) {
  auto c = client();
  auto byIp = send(*c, req("GET", url("/ok")));
  ASSERT_TRUE(byIp.ok()) << byIp.status().message();
  EXPECT_EQ(byIp->status, 200);
  EXPECT_THAT(byIp->body, HasSubstr("GET /ok host=127.0.0.1:"));
  auto byName = send(*c, req("GET", url("/ok", "localhost")));
  ASSERT_TRUE(byName.ok()) << byName.status().message();
  EXPECT_EQ(byName->status, 200);
}

TEST_F(ClientTest, TrustsAnInlineCaAndLoadsAClientCertificate) {
  ClientOptions opts;
  opts.caPem = hm::testing::readText(dir_.file("tls.crt"));
  hm::testing::TempDir mine;
  hm::testing::makeSelfSignedCert(mine.file("client.crt"), mine.file("client.key"), "client");
  opts.clientCertPem = hm::testing::readText(mine.file("client.crt"));
  opts.clientKeyPem = hm::testing::readText(mine.file("client.key"));
  auto c = HttpClient::create(ioc_.get_executor(), opts);
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto r = send(**c, req("GET", url("/ok")));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);

  // A key that is not the certificate's is refused at creation, without echoing either.
  hm::testing::makeSelfSignedCert(mine.file("other.crt"), mine.file("other.key"), "other");
  opts.clientKeyPem = hm::testing::readText(mine.file("other.key"));
  auto mismatched = HttpClient::create(ioc_.get_executor(), opts);
  ASSERT_FALSE(mismatched.ok());
  EXPECT_THAT(mismatched.status().message(), HasSubstr("client certificate or key"));
  EXPECT_THAT(mismatched.status().message(), ::testing::Not(HasSubstr("PRIVATE KEY")));
  opts.clientKeyPem.reset();
  EXPECT_FALSE(HttpClient::create(ioc_.get_executor(), opts).ok()) << "a certificate needs a key";
}

TEST_F(ClientTest, StreamsChunkedBodiesAsTheyArrive) {
  auto c = client();
  std::vector<std::string> pieces;
  auto r = req("GET", url("/stream"));
  r.idempotent = false;
  r.onBodyData = [&](std::string_view data) {
    pieces.emplace_back(data);
    return true;
  };
  auto res = send(*c, r);
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(res->body.empty()) << "streamed data is not kept";
  std::string all;
  for (const auto& p : pieces) {
    all += p;
  }
  EXPECT_EQ(all.substr(0, 15), "{\"n\":0}\n{\"n\":1}");
  EXPECT_GE(pieces.size(), 10u) << "handed over chunk by chunk, not at the end";

  // Stopping early closes the stream; the producer sees its writes fail and ends.
  streamEnded_ = false;
  int seen = 0;
  r.onBodyData = [&](std::string_view) { return ++seen < 3; };
  auto stopped = send(*c, r);
  ASSERT_TRUE(stopped.ok()) << stopped.status().message();
  EXPECT_EQ(seen, 3);
  EXPECT_TRUE(hm::testing::eventually(5, [&] { return streamEnded_.load(); }));
}

TEST_F(ClientTest, RejectsAnUntrustedCertificate) {
  hm::testing::TempDir other;
  hm::testing::makeSelfSignedCert(other.file("ca.crt"), other.file("ca.key"), "someone-else");
  ClientOptions opts;
  opts.caFile = other.file("ca.crt");
  auto c = client(opts);
  auto r = send(*c, req("GET", url("/ok")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("TLS verification of 127.0.0.1:"));
}

TEST_F(ClientTest, RejectsACertificateForAnotherHost) {
  // A certificate the client trusts, presented for a name it does not carry.
  hm::testing::makeSelfSignedCert(dir_.file("other.crt"), dir_.file("other.key"), "other",
                                  "DNS:other.example.com");
  std::rename(dir_.file("other.key").c_str(), dir_.file("tls.key").c_str());
  std::rename(dir_.file("other.crt").c_str(), dir_.file("tls.crt").c_str());
  ClientOptions opts;
  opts.caFile = dir_.file("tls.crt");
  auto c = client(opts);
  ASSERT_TRUE(hm::testing::eventually(10, [&] {
    auto r = send(*c, req("GET", url("/ok")));
    return !r.ok() && r.status().code() == StatusCode::kFailedPrecondition;
  })) << "the server reloads the new certificate; the client must then refuse 127.0.0.1";
}

TEST_F(ClientTest, ServerNameOverridesTheNameVerifiedAndSentAsSni) {
  hm::testing::makeSelfSignedCert(dir_.file("other.crt"), dir_.file("other.key"), "other",
                                  "DNS:api.internal.example");
  std::rename(dir_.file("other.key").c_str(), dir_.file("tls.key").c_str());
  std::rename(dir_.file("other.crt").c_str(), dir_.file("tls.crt").c_str());
  ClientOptions named;
  named.caFile = dir_.file("tls.crt");
  named.serverName = "api.internal.example";
  auto c = client(named);
  ASSERT_TRUE(hm::testing::eventually(10, [&] {
    auto r = send(*c, req("GET", url("/ok")));
    return r.ok() && r->status == 200;
  })) << "127.0.0.1 is verified as api.internal.example once the server reloads";

  ClientOptions wrong = named;
  wrong.serverName = "elsewhere.example";
  auto refused = send(*client(wrong), req("GET", url("/ok")));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ClientTest, InsecureModeSkipsVerification) {
  ClientOptions opts;
  opts.insecureSkipVerify = true;
  auto c = client(opts);
  auto r = send(*c, req("GET", url("/ok")));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
}

TEST_F(ClientTest, ReusesKeepAliveConnections) {
  auto c = client();
  for (int i = 0; i < 5; ++i) {
    auto r = send(*c, req("POST", url("/echo"), "n" + std::to_string(i)));
    ASSERT_TRUE(r.ok());
    EXPECT_THAT(r->body, HasSubstr("body=n" + std::to_string(i)));
  }
  EXPECT_EQ(c->connectionsOpened(), 1u);
}

TEST_F(ClientTest, RetriesIdempotentCallsOn503) {
  failuresLeft_ = 2;
  auto c = client();
  auto r = send(*c, req("GET", url("/flaky")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 3);
}

TEST_F(ClientTest, DoesNotRetryAPost) {
  failuresLeft_ = 1;
  auto c = client();
  auto r = send(*c, req("POST", url("/flaky"), "{}"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(calls_["/flaky"], 1);
}

TEST_F(ClientTest, GivesUpAfterMaxAttempts) {
  failuresLeft_ = 10;
  auto c = client();
  auto r = send(*c, req("GET", url("/flaky")));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->attempts, 3);
}

TEST_F(ClientTest, HonoursRetryAfterWithinTheDeadline) {
  retryAfter_ = "1";
  auto c = client();
  auto r = send(*c, req("GET", url("/throttle"), "", Clock::now() + std::chrono::seconds(10)));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->attempts, 2);
}

TEST_F(ClientTest, ReturnsThe429WhenRetryAfterIsBeyondTheDeadline) {
  retryAfter_ = "60";
  auto c = client();
  auto r = send(*c, req("GET", url("/throttle"), "", Clock::now() + std::chrono::seconds(2)));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(calls_["/throttle"], 1);
}

TEST_F(ClientTest, EnforcesTheDeadline) {
  auto c = client();
  auto r = send(*c, req("GET", url("/slow"), "", Clock::now() + std::chrono::milliseconds(100)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
}

TEST_F(ClientTest, CapsTheResponseSize) {
  ClientOptions opts;
  opts.maxResponseBytes = 1024 * 1024;
  auto c = client(opts);
  auto r = send(*c, req("GET", url("/big")));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("is larger than 1048576 bytes"));
}

TEST_F(ClientTest, CapsTheResponseSizePerRequest) {
  auto c = client();
  ASSERT_TRUE(send(*c, req("GET", url("/first"))).ok()) << "the capped call reuses this connection";
  auto r0 = req("GET", url("/big"));
  r0.maxResponseBytes = 1000;
  auto r = send(*c, r0);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("is larger than 1000 bytes"));
}

TEST_F(ClientTest, KeepsNoCookies) {
  auto c = client();
  ASSERT_TRUE(send(*c, req("GET", url("/login"))).ok());
  auto r = send(*c, req("GET", url("/whoami")));
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->body, HasSubstr("cookie= body="));
}

TEST_F(ClientTest, ServesConcurrentCallers) {
  auto c = client();
  std::vector<std::promise<StatusOr<ClientResponse>>> results(20);
  std::vector<std::future<StatusOr<ClientResponse>>> futures;
  for (size_t i = 0; i < results.size(); ++i) {
    futures.push_back(results[i].get_future());
    asio::co_spawn(ioc_, deliver(c->send(req("GET", url("/n" + std::to_string(i)))), &results[i]),
                   asio::detached);
  }
  for (size_t i = 0; i < futures.size(); ++i) {
    auto r = futures[i].get();
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_THAT(r->body, HasSubstr("GET /n" + std::to_string(i) + " "));
  }
  EXPECT_LE(c->connectionsOpened(), 20u);
}

class StaleConnectionTest : public ClientTest {
 protected:
  StaleConnectionTest() { idleTimeoutMs_ = 100; }
};

TEST_F(StaleConnectionTest, ReplacesAConnectionTheServerClosed) {
  auto c = client();
  ASSERT_TRUE(send(*c, req("POST", url("/a"), "1")).ok());
  ASSERT_TRUE(hm::testing::eventually(5, [&] { return server_->connections() == 0; }));
  // Not idempotent, so no retry would save it: the pool must notice the closed connection.
  auto r = send(*c, req("POST", url("/b"), "2"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(c->connectionsOpened(), 2u);
}

TEST_F(ClientTest, KeepsIdleConnectionsForTheMostRecentlyUsedHostsOnly) {
  ClientOptions opts;
  opts.maxIdleHosts = 1;
  auto c = client(opts);
  for (const char* host : {"127.0.0.1", "localhost", "127.0.0.1"}) {
    auto r = send(*c, req("GET", url("/echo", host)));
    ASSERT_TRUE(r.ok()) << host << ": " << r.status().message();
    EXPECT_EQ(c->idleHosts(), 1u);
  }
  // localhost's connection pushed 127.0.0.1's out, so the third call opened a new one.
  EXPECT_EQ(c->connectionsOpened(), 3u);

  opts.maxIdleHosts = 2;
  auto wide = client(opts);
  for (const char* host : {"127.0.0.1", "localhost", "127.0.0.1"}) {
    ASSERT_TRUE(send(*wide, req("GET", url("/echo", host))).ok());
  }
  EXPECT_EQ(wide->connectionsOpened(), 2u);
  EXPECT_EQ(wide->idleHosts(), 2u);
}

TEST_F(ClientTest, RefusesLoopbackAndLinkLocalTargetsWhenAsked) {
  auto c = client();
  ClientRequest local = req("GET", url("/echo"));
  local.targets = TargetRule::kNoLocal;
  auto refused = send(*c, local);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("resolves only to loopback or link-local addresses"));
  ClientRequest byName = req("GET", url("/echo", "localhost"));
  byName.targets = TargetRule::kNoLocal;  // a name that resolves to loopback is refused too
  EXPECT_EQ(send(*c, byName).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(calls_["/echo"], 0);
  EXPECT_EQ(c->connectionsOpened(), 0u);

  // Loopback may be allowed on its own (a local development registry's redirects).
  ClientRequest allowed = req("GET", url("/echo"));
  allowed.targets = TargetRule::kNoLinkLocal;
  EXPECT_TRUE(send(*c, allowed).ok());
  // A cloud metadata address is refused before any packet is sent.
  ClientRequest metadata = req("GET", "http://169.254.169.254/latest/meta-data/");
  metadata.targets = TargetRule::kNoLinkLocal;
  auto m = send(*c, metadata);
  EXPECT_EQ(m.status().code(), StatusCode::kPermissionDenied) << m.status().message();
  EXPECT_EQ(c->connectionsOpened(), 1u);
}

TEST(AddressClassTest, ClassifiesLoopbackAndLinkLocal) {
  struct Case {
    const char* address;
    AddressClass want;
  };
  for (const Case& c :
       {Case{"127.0.0.1", AddressClass::kLoopback}, Case{"127.255.0.9", AddressClass::kLoopback},
        Case{"::1", AddressClass::kLoopback}, Case{"0.0.0.0", AddressClass::kLoopback},
        Case{"::", AddressClass::kLoopback}, Case{"::ffff:127.0.0.1", AddressClass::kLoopback},
        Case{"169.254.169.254", AddressClass::kLinkLocal},
        Case{"::ffff:169.254.1.1", AddressClass::kLinkLocal},
        Case{"fe80::1", AddressClass::kLinkLocal}, Case{"febf::1", AddressClass::kLinkLocal},
        Case{"fec0::1", AddressClass::kOther}, Case{"10.0.0.1", AddressClass::kOther},
        Case{"169.255.0.1", AddressClass::kOther}, Case{"2001:db8::1", AddressClass::kOther},
        Case{"harbor.example.com", AddressClass::kOther}}) {
    EXPECT_EQ(classifyAddress(c.address), c.want) << c.address;
  }
  EXPECT_TRUE(targetAllowed(TargetRule::kAny, AddressClass::kLinkLocal));
  EXPECT_TRUE(targetAllowed(TargetRule::kNoLinkLocal, AddressClass::kLoopback));
  EXPECT_FALSE(targetAllowed(TargetRule::kNoLinkLocal, AddressClass::kLinkLocal));
  EXPECT_FALSE(targetAllowed(TargetRule::kNoLocal, AddressClass::kLoopback));
  EXPECT_TRUE(targetAllowed(TargetRule::kNoLocal, AddressClass::kOther));
}

TEST(ClientErrorsTest, UnreachableHostIsUnavailable) {
  asio::io_context ioc;
  ClientOptions opts;
  opts.retry.maxAttempts = 2;
  opts.retry.initialBackoff = std::chrono::milliseconds(5);
  auto c = HttpClient::create(ioc.get_executor(), opts);
  ASSERT_TRUE(c.ok());
  std::promise<StatusOr<ClientResponse>> result;
  // Bound, never listening, held for the test: connections are refused, and no other test can
  // take the port meanwhile.
  asio::ip::tcp::acceptor bound(ioc);
  bound.open(asio::ip::tcp::v4());
  bound.bind({asio::ip::address_v4::loopback(), 0});
  const auto port = bound.local_endpoint().port();
  asio::co_spawn(
      ioc,
      deliver((*c)->send(req("GET", "http://127.0.0.1:" + std::to_string(port) + "/")), &result),
      asio::detached);
  ioc.run();
  auto r = result.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("connecting to 127.0.0.1:"));
}

TEST(ClientErrorsTest, BadCaFileIsAClearError) {
  asio::io_context ioc;
  ClientOptions opts;
  opts.caFile = "/nonexistent/ca.crt";
  auto c = HttpClient::create(ioc.get_executor(), opts);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("/nonexistent/ca.crt"));
}

TEST(UrlTest, ParsesWhatWeCallAndRejectsTheRest) {
  auto u = parseUrl("https://harbor.example.com/api/v2.0/projects?page=2");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "harbor.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/api/v2.0/projects?page=2");
  EXPECT_EQ(u->authority(), "harbor.example.com");
  auto v6 = parseUrl("http://[::1]:5000");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->target, "/");
  EXPECT_EQ(v6->authority(), "[::1]:5000");
  auto q = parseUrl("HTTP://h:8080?x=1");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->scheme, "http");
  EXPECT_EQ(q->target, "/?x=1");
  for (const char* bad :
       {"", "harbor.example.com", "ftp://h/", "https://", "https://:443/", "https://user:pw@h/",
        "https://h:0/", "https://h:65536/", "https://h:/", "https://h:x/", "https://[::1/",
        "https://[zz]/", "https://h/#frag", "https://h/a b", "https://h/\x01"}) {
    EXPECT_FALSE(parseUrl(bad).ok()) << bad;
  }
}

TEST(UrlTest, CredentialsNeverEchoInTheError) {
  auto u = parseUrl("https://admin:Harbor12345@h/");
  ASSERT_FALSE(u.ok());
  EXPECT_THAT(u.status().message(), HasSubstr("must not carry credentials"));
}

TEST(StatusFromHttpTest, MapsCodesOnce) {
  EXPECT_TRUE(statusFromHttp(204, "").ok());
  EXPECT_EQ(statusFromHttp(400, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(statusFromHttp(401, "").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(statusFromHttp(403, "").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(statusFromHttp(404, "").code(), StatusCode::kNotFound);
  EXPECT_EQ(statusFromHttp(409, "").code(), StatusCode::kConflict);
  EXPECT_EQ(statusFromHttp(412, "").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(statusFromHttp(408, "").code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(statusFromHttp(410, "").code(), StatusCode::kGone);
  EXPECT_EQ(statusFromHttp(415, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(statusFromHttp(422, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(statusFromHttp(429, "").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(statusFromHttp(500, "").code(), StatusCode::kInternal);
  EXPECT_EQ(statusFromHttp(501, "").code(), StatusCode::kUnimplemented);
  for (int code : {502, 503, 504, 599}) {
    EXPECT_EQ(statusFromHttp(code, "").code(), StatusCode::kUnavailable) << code;
  }
  EXPECT_EQ(statusFromHttp(418, "").code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace hm::net
