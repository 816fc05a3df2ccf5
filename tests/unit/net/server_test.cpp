#include "harbormaster/net/server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/ssl.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <future>
#include <thread>

#include "support/certs.h"
#include "support/process.h"
#include "support/temp_dir.h"
#include "support/tls_client.h"

namespace hm::net {
namespace {

namespace asio = boost::asio;
using hm::testing::Client;
using hm::testing::eventually;
using ::testing::HasSubstr;

// An echo handler: "/slow" waits 300 ms first (an in-flight request), "/throw" throws.
asio::awaitable<HttpResponse> echo(HttpRequest req) {
  if (req.path() == "/slow") {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
    co_await t.async_wait(asio::use_awaitable);
  }
  if (req.path() == "/throw") {
    throw std::runtime_error("handler bug");
  }
  co_return HttpResponse{200, "text/plain", req.method + " " + req.target + " " + req.body, {}};
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hm::testing::makeSelfSignedCert(dir_.file("tls.crt"), dir_.file("tls.key"), "first");
  }
  void TearDown() override { stop(); }

  void start(ServerOptions opts = {}) {
    opts.address = "127.0.0.1";
    opts.port = 0;
    if (!plain_) {
      opts.tls = TlsFiles{dir_.file("tls.crt"), dir_.file("tls.key")};
    }
    opts.certificateCheckInterval = std::chrono::milliseconds(50);
    opts.onCertificateReload = [this](const Status& s) {
      std::lock_guard lock(mu_);
      reloads_.push_back(s);
    };
    auto s = Server::create(ioc_, opts, echo);
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
    server_->start();
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void stop() {
    if (server_ && !stopped_) {
      std::promise<void> done;
      server_->shutdown(std::chrono::seconds(5), [&] { done.set_value(); });
      done.get_future().wait();
      stopped_ = true;
    }
    ioc_.stop();
    for (auto& t : threads_) {
      t.join();
    }
    threads_.clear();
  }

  std::vector<Status> reloads() {
    std::lock_guard lock(mu_);
    return reloads_;
  }

  hm::testing::TempDir dir_;
  asio::io_context ioc_;
  std::unique_ptr<Server> server_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<Status> reloads_;
  bool plain_ = false;
  bool stopped_ = false;
};

TEST_F(ServerTest, ServesManyRequestsOnOneKeepAliveConnection) {
  start();
  Client c(server_->port());
  for (int i = 0; i < 5; ++i) {
    auto r = c.post("/validate?timeout=10s", "body" + std::to_string(i));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "POST /validate?timeout=10s body" + std::to_string(i));
    EXPECT_TRUE(r.keepAlive);
  }
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(ServerTest, NegotiatesTls13AndRefusesTls11) {
  start();
  EXPECT_EQ(Client(server_->port()).tlsVersion(), "TLSv1.3");
  EXPECT_EQ(Client(server_->port(), true, TLS1_2_VERSION).tlsVersion(), "TLSv1.2");
  EXPECT_THROW(Client(server_->port(), true, TLS1_1_VERSION), std::exception);
  EXPECT_EQ(Client(server_->port()).get("/x").status, 200) << "the server stays up";
}

TEST_F(ServerTest, PlainHttpWhenNoCertificateIsGiven) {
  plain_ = true;
  start();
  Client c(server_->port(), /*tls=*/false);
  EXPECT_EQ(c.get("/metrics").body, "GET /metrics ");
}

TEST_F(ServerTest, OversizedBodyGets413AndTheServerStaysUp) {
  ServerOptions opts;
  opts.bodyLimit = 1024;
  start(opts);
  {
    Client c(server_->port());
    auto r = c.post("/validate", std::string(4096, 'x'));
    EXPECT_EQ(r.status, 413);
    EXPECT_FALSE(r.keepAlive);
  }
  {
    // Chunked, so the limit is found while reading, not from Content-Length.
    Client c(server_->port());
    std::string chunk(800, 'y');
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", chunk.size());
    std::string raw = "POST /validate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 2; ++i) {
      raw += std::string(size) + "\r\n" + chunk + "\r\n";
    }
    raw += "0\r\n\r\n";
    c.writeRaw(raw);
    EXPECT_EQ(c.readReply().status, 413);
  }
  Client again(server_->port());
  EXPECT_EQ(again.post("/validate", "small").status, 200);
}

TEST_F(ServerTest, MalformedHttpGets400) {
  start();
  Client c(server_->port());
  c.writeRaw("THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(c.readReply().status, 400);
  Client big(server_->port());
  big.writeRaw("GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(big.readReply().status, 431);
  Client again(server_->port());
  EXPECT_EQ(again.get("/x").status, 200);
}

TEST_F(ServerTest, AnswersExpectContinueBeforeTheBody) {
  start();
  Client c(server_->port());
  c.writeRaw(
      "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Expect: 100-continue\r\n\r\n");
  EXPECT_EQ(c.readReply().status, 100);
  c.writeRaw("hello");
  auto r = c.readReply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "POST /validate hello");
}

TEST_F(ServerTest, HandlerExceptionGives500AndTheConnectionLives) {
  start();
  Client c(server_->port());
  EXPECT_EQ(c.get("/throw").status, 500);
  EXPECT_EQ(c.get("/ok").status, 200);
}

TEST_F(ServerTest, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  ServerOptions opts;
  opts.idleTimeout = std::chrono::milliseconds(200);
  start(opts);
  Client c(server_->port());
  EXPECT_EQ(c.get("/x").status, 200);
  EXPECT_TRUE(c.closedByPeer());
  EXPECT_TRUE(eventually(5, [&] { return server_->connections() == 0; }));
}

TEST_F(ServerTest, ReloadsTheCertificateWithoutDroppingConnections) {
  start();
  Client old(server_->port());
  EXPECT_EQ(old.peerCommonName(), "first");

  // Kubernetes swaps the files under a mounted Secret; write new ones and rename over.
  hm::testing::makeSelfSignedCert(dir_.file("new.crt"), dir_.file("new.key"), "second");
  std::rename(dir_.file("new.key").c_str(), dir_.file("tls.key").c_str());
  std::rename(dir_.file("new.crt").c_str(), dir_.file("tls.crt").c_str());
  ASSERT_TRUE(eventually(10, [&] { return Client(server_->port()).peerCommonName() == "second"; }));
  EXPECT_EQ(old.get("/still-here").status, 200) << "established connections keep working";
  auto r = reloads();
  ASSERT_FALSE(r.empty());
  EXPECT_TRUE(r.back().ok());
}

// The layout the kubelet gives a mounted Secret: tls.crt -> ..data/tls.crt, ..data -> a
// timestamped directory, and an update swaps the ..data symlink atomically.
TEST(ServerSecretVolumeTest, FollowsTheKubeletsSymlinkSwap) {
  hm::testing::TempDir dir;
  std::filesystem::create_directory(dir.file("v1"));
  hm::testing::makeSelfSignedCert(dir.file("v1/tls.crt"), dir.file("v1/tls.key"), "v1");
  std::filesystem::create_directory_symlink("v1", dir.file("..data"));
  std::filesystem::create_symlink("..data/tls.crt", dir.file("tls.crt"));
  std::filesystem::create_symlink("..data/tls.key", dir.file("tls.key"));

  asio::io_context ioc;
  ServerOptions opts;
  opts.address = "127.0.0.1";
  opts.port = 0;
  opts.tls = TlsFiles{dir.file("tls.crt"), dir.file("tls.key")};
  opts.certificateCheckInterval = std::chrono::milliseconds(50);
  auto server = Server::create(ioc, opts, echo);
  ASSERT_TRUE(server.ok()) << server.status().message();
  (*server)->start();
  std::thread io([&] { ioc.run(); });
  EXPECT_EQ(Client((*server)->port()).peerCommonName(), "v1");

  std::filesystem::create_directory(dir.file("v2"));
  hm::testing::makeSelfSignedCert(dir.file("v2/tls.crt"), dir.file("v2/tls.key"), "v2");
  std::filesystem::create_directory_symlink("v2", dir.file("..data_tmp"));
  std::filesystem::rename(dir.file("..data_tmp"), dir.file("..data"));
  EXPECT_TRUE(eventually(10, [&] { return Client((*server)->port()).peerCommonName() == "v2"; }));

  std::promise<void> done;
  (*server)->shutdown(std::chrono::seconds(2), [&] { done.set_value(); });
  done.get_future().wait();
  ioc.stop();
  io.join();
}

TEST_F(ServerTest, AnInvalidNewCertificateKeepsTheOldOne) {
  start();
  hm::testing::TempDir other;
  hm::testing::makeSelfSignedCert(other.file("c.crt"), other.file("c.key"), "mismatch");
  // A certificate whose key is not the one on disk.
  std::rename(other.file("c.crt").c_str(), dir_.file("tls.crt").c_str());
  ASSERT_TRUE(eventually(10, [&] { return !reloads().empty(); }));
  EXPECT_FALSE(reloads().back().ok());
  EXPECT_THAT(reloads().back().message(), HasSubstr("does not belong"));
  Client c(server_->port());
  EXPECT_EQ(c.peerCommonName(), "first");
}

TEST_F(ServerTest, ShutdownClosesIdleConnectionsAndFinishesInFlightRequests) {
  start();
  Client idle(server_->port());
  EXPECT_EQ(idle.get("/x").status, 200);
  Client busy(server_->port());
  busy.writeRaw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually(5, [&] { return server_->connections() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let /slow start

  std::promise<void> done;
  server_->shutdown(std::chrono::seconds(5), [&] { done.set_value(); });
  stopped_ = true;
  auto r = busy.readReply();
  EXPECT_EQ(r.status, 200) << "the in-flight request is answered";
  EXPECT_EQ(r.body, "GET /slow ");
  EXPECT_FALSE(r.keepAlive) << "and its connection closed after";
  EXPECT_TRUE(idle.closedByPeer());
  EXPECT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_THROW(Client(server_->port()), std::exception) << "no longer accepting";
}

TEST(ServerCreateTest, ExplainsWhyItCannotStart) {
  asio::io_context ioc;
  hm::testing::TempDir dir;
  ServerOptions opts;
  opts.address = "127.0.0.1";
  opts.port = 0;
  opts.tls = TlsFiles{dir.file("missing.crt"), dir.file("missing.key")};
  auto missing = Server::create(ioc, opts, echo);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("missing.crt"));

  dir.write("junk.crt", "not a certificate");
  dir.write("junk.key", "not a key");
  opts.tls = TlsFiles{dir.file("junk.crt"), dir.file("junk.key")};
  auto junk = Server::create(ioc, opts, echo);
  ASSERT_FALSE(junk.ok());
  EXPECT_THAT(junk.status().message(), HasSubstr("not a valid PEM certificate"));

  opts.tls.reset();
  auto first = Server::create(ioc, opts, echo);
  ASSERT_TRUE(first.ok());
  opts.port = (*first)->port();
  auto second = Server::create(ioc, opts, echo);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen on 127.0.0.1"));
}

TEST(ListenAddressTest, Parses) {
  EXPECT_EQ(*parseListenAddress(":8443"), std::make_pair(std::string("0.0.0.0"), uint16_t{8443}));
  EXPECT_EQ(*parseListenAddress("127.0.0.1:0"),
            std::make_pair(std::string("127.0.0.1"), uint16_t{0}));
  EXPECT_EQ(*parseListenAddress("[::]:9090"), std::make_pair(std::string("::"), uint16_t{9090}));
  EXPECT_FALSE(parseListenAddress("8443").ok());
  EXPECT_FALSE(parseListenAddress("localhost:8443").ok());
  EXPECT_FALSE(parseListenAddress(":99999").ok());
  EXPECT_FALSE(parseListenAddress(":").ok());
}

}  // namespace
}  // namespace hm::net
