#include "harbormaster/registry/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/async.h"
#include "support/certs.h"
#include "support/registry_rig.h"

namespace hm::registry {
namespace {

namespace asio = boost::asio;
using hm::testing::runOn;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

Deadline soon() {
  return Clock::now() + std::chrono::seconds(10);
}

imageref::Reference parseRef(const std::string& text) {
  auto r = imageref::parse(text);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return *r;
}

std::shared_ptr<net::HttpClient> httpClient(asio::io_context& ioc) {
  auto c = net::HttpClient::create(ioc.get_executor(), {});
  EXPECT_TRUE(c.ok());
  return std::shared_ptr<net::HttpClient>(std::move(*c));
}

// One real registry with images pushed by skopeo, shared by the tests of this suite.
class RealRegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rig_ = new hm::testing::RegistryRig();
    layout_ = new hm::testing::OciLayout();
    amd64_ = layout_->addImage("v1", "amd64 build", "amd64");
    arm64_ = layout_->addImage("v1-arm64", "arm64 build", "arm64");
    index_ = layout_->addIndex("multi", {amd64_, arm64_}, {"amd64", "arm64"});
    layout_->push("v1", rig_->host() + "/team/app:v1");
    layout_->push("multi", rig_->host() + "/team/app:multi", /*all=*/true);
    // A cosign-style referrer stored under the fallback tag schema.
    std::string sigTag = "sha256-" + amd64_.digest.substr(7);
    auto sig = layout_->addImage("sig", "signature payload");
    std::string referrers =
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
        R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
        sig.digest + R"(","size":)" + std::to_string(sig.manifest.size()) +
        R"(,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json"}]})";
    layout_->push("sig", rig_->host() + "/team/app:sig");
    // cosign writes the fallback index straight through the registry API; so do we.
    hm::testing::IoThreads io;
    net::ClientRequest put;
    put.method = "PUT";
    put.url = "http://" + rig_->host() + "/v2/team/app/manifests/" + sigTag;
    put.headers = {{"Content-Type", "application/vnd.oci.image.index.v1+json"}};
    put.body = referrers;
    auto res = runOn(io.ioc(), httpClient(io.ioc())->send(put));
    ASSERT_TRUE(res.ok() && res->status == 201) << (res.ok() ? res->body : res.status().message());
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete rig_;
  }

  void SetUp() override {
    RegistryOptions opts;
    opts.plainHttpHosts = {rig_->host()};
    client_ = Client::create(httpClient(io_.ioc()), opts);
  }

  std::string image(const std::string& suffix) { return rig_->host() + "/team/app" + suffix; }

  static hm::testing::RegistryRig* rig_;
  static hm::testing::OciLayout* layout_;
  static hm::testing::PushedImage amd64_, arm64_, index_;
  hm::testing::IoThreads io_;
  std::shared_ptr<Client> client_;
};

hm::testing::RegistryRig* RealRegistryTest::rig_ = nullptr;
hm::testing::OciLayout* RealRegistryTest::layout_ = nullptr;
hm::testing::PushedImage RealRegistryTest::amd64_, RealRegistryTest::arm64_,
    RealRegistryTest::index_;

TEST_F(RealRegistryTest, ResolvesATagToTheDigestOfTheBytesPushed) {
  auto d = runOn(io_.ioc(), client_->resolveDigest(parseRef(image(":v1")), soon()));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, amd64_.digest);
}

TEST_F(RealRegistryTest, FetchesAndVerifiesAManifestByDigest) {
  auto m = runOn(io_.ioc(), client_->getManifest(parseRef(image("@" + amd64_.digest)), soon()));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->isIndex);
  EXPECT_EQ(m->body, amd64_.manifest);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest, amd64_.layerDigest);
}

TEST_F(RealRegistryTest, FetchesAMultiArchIndex) {
  auto m = runOn(io_.ioc(), client_->getManifest(parseRef(image(":multi")), soon()));
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->isIndex);
  EXPECT_EQ(m->digest, index_.digest);
  ASSERT_EQ(m->manifests.size(), 2u);
  EXPECT_EQ(m->manifests[1].platform->architecture, "arm64");
  EXPECT_EQ(m->manifests[1].digest, arm64_.digest);
}

TEST_F(RealRegistryTest, FetchesAndVerifiesBlobs) {
  auto config =
      runOn(io_.ioc(), client_->getBlob(parseRef(image("")), amd64_.configDigest, soon()));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_THAT(*config, HasSubstr("\"architecture\":\"amd64\""));
  auto capped =
      runOn(io_.ioc(), client_->getBlob(parseRef(image("")), amd64_.layerDigest, soon(), 16));
  ASSERT_FALSE(capped.ok()) << capped->size() << " bytes: " << capped->substr(0, 200);
  EXPECT_THAT(capped.status().message(), HasSubstr("larger than 16 bytes"));
}

TEST_F(RealRegistryTest, MissingThingsAreNotFound) {
  auto tag = runOn(io_.ioc(), client_->getManifest(parseRef(image(":nope")), soon()));
  ASSERT_FALSE(tag.ok());
  EXPECT_EQ(tag.status().code(), StatusCode::kNotFound);
  auto repo =
      runOn(io_.ioc(), client_->getManifest(parseRef(rig_->host() + "/other/app:v1"), soon()));
  EXPECT_EQ(repo.status().code(), StatusCode::kNotFound);
  auto blob = runOn(
      io_.ioc(), client_->getBlob(parseRef(image("")), "sha256:" + std::string(64, '0'), soon()));
  EXPECT_EQ(blob.status().code(), StatusCode::kNotFound);
}

TEST_F(RealRegistryTest, FindsReferrersThroughTheTagSchemaFallback) {
  // distribution 2.8 has no referrers API; the client falls back to the sha256-<hex> tag.
  auto refs = runOn(io_.ioc(), client_->referrers(parseRef(image("")), amd64_.digest, soon()));
  ASSERT_TRUE(refs.ok()) << refs.status().message();
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].artifactType, "application/vnd.dev.sigstore.bundle.v0.3+json");
  auto none = runOn(io_.ioc(), client_->referrers(parseRef(image("")), arm64_.digest, soon()));
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->empty());
}

// A man in the middle that changes what the registry sends: the client must notice.
class TamperingProxyTest : public RealRegistryTest {
 protected:
  void SetUp() override {
    RealRegistryTest::SetUp();
    upstream_ = httpClient(io_.ioc());
    net::ServerOptions opts;
    opts.address = "127.0.0.1";
    opts.port = 0;
    auto s =
        net::Server::create(io_.ioc(), opts, [this](net::HttpRequest r) { return forward(r); });
    ASSERT_TRUE(s.ok());
    proxy_ = std::move(*s);
    proxy_->start();
    RegistryOptions ro;
    ro.plainHttpHosts = {proxyHost()};
    client_ = Client::create(httpClient(io_.ioc()), ro);
  }
  void TearDown() override {
    std::promise<void> done;
    proxy_->shutdown(std::chrono::seconds(2), [&] { done.set_value(); });
    done.get_future().wait();
  }

  asio::awaitable<net::HttpResponse> forward(net::HttpRequest r) {
    const bool blob = r.target.find("/blobs/") != std::string::npos;
    if (blob && mode_ == "redirect-metadata") {
      co_return net::HttpResponse{
          307, "text/plain", "", {{"Location", "http://169.254.169.254/latest/meta-data/"}}};
    }
    if (blob && mode_ == "redirect-upstream") {  // blob storage beside the registry
      co_return net::HttpResponse{
          307, "text/plain", "", {{"Location", "http://" + rig_->host() + r.target}}};
    }
    net::ClientRequest up;
    up.method = r.method;
    up.url = "http://" + rig_->host() + r.target;
    for (const auto& h : r.headers) {
      if (h.name == "Accept") {
        up.headers.push_back(h);
      }
    }
    auto res = co_await upstream_->send(up);
    net::HttpResponse out;
    out.status = res.ok() ? res->status : 502;
    if (res.ok()) {
      out.body = res->body;
      out.contentType = std::string(res->header("Content-Type"));
      if (auto d = res->header("Docker-Content-Digest"); !d.empty()) {
        out.headers.push_back({"Docker-Content-Digest", std::string(d)});
      }
    }
    if (mode_ == "flip" && out.status == 200 && !out.body.empty()) {
      out.body[out.body.size() / 2] ^= 0x01;
    } else if (mode_ == "huge" && out.status == 200) {
      out.body = std::string(5 * 1024 * 1024, ' ') + out.body;
    }
    co_return out;
  }

  std::string proxyHost() { return "127.0.0.1:" + std::to_string(proxy_->port()); }

  std::string mode_ = "flip";
  std::shared_ptr<net::HttpClient> upstream_;
  std::unique_ptr<net::Server> proxy_;
};

TEST_F(TamperingProxyTest, AChangedManifestIsAnErrorNeverAResult) {
  auto byDigest =
      runOn(io_.ioc(),
            client_->getManifest(parseRef(proxyHost() + "/team/app@" + amd64_.digest), soon()));
  ASSERT_FALSE(byDigest.ok());
  EXPECT_THAT(byDigest.status().message(), HasSubstr("does not match its digest"));
  auto byTag =
      runOn(io_.ioc(), client_->resolveDigest(parseRef(proxyHost() + "/team/app:v1"), soon()));
  ASSERT_FALSE(byTag.ok()) << "the reported digest must match the bytes";
  EXPECT_THAT(byTag.status().message(), HasSubstr("does not match its digest"));
  auto blob = runOn(io_.ioc(), client_->getBlob(parseRef(proxyHost() + "/team/app"),
                                                amd64_.configDigest, soon()));
  ASSERT_FALSE(blob.ok());
  EXPECT_THAT(blob.status().message(), HasSubstr("does not match its digest"));
}

// A registry chooses where a blob redirect leads: never a link-local address (a cloud metadata
// endpoint), and loopback only for a registry that is itself on loopback.
TEST_F(TamperingProxyTest, BlobRedirectsNeverLeadToLinkLocalAddresses) {
  mode_ = "redirect-metadata";
  auto refused = runOn(io_.ioc(), client_->getBlob(parseRef(proxyHost() + "/team/app"),
                                                   amd64_.configDigest, soon()));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("refused to connect to 169.254.169.254: it resolves only to loopback or "
                        "link-local addresses"));

  mode_ = "redirect-upstream";
  auto local = runOn(io_.ioc(), client_->getBlob(parseRef(proxyHost() + "/team/app"),
                                                 amd64_.configDigest, soon()));
  EXPECT_TRUE(local.ok()) << local.status().message();
}

TEST_F(TamperingProxyTest, AHugeManifestIsRefused) {
  mode_ = "huge";
  auto m = runOn(io_.ioc(), client_->getManifest(parseRef(proxyHost() + "/team/app:v1"), soon()));
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("larger than 4194304 bytes"));
}

// The bearer token flow against a registry that demands it (a small in-process peer; the
// Harbor simulator will front the real registry the same way).
class TokenFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net::ServerOptions opts;
    opts.address = "127.0.0.1";
    opts.port = 0;
    auto s = net::Server::create(io_.ioc(), opts, [this](net::HttpRequest r) { return serve(r); });
    ASSERT_TRUE(s.ok());
    server_ = std::move(*s);
    server_->start();
    host_ = "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    std::promise<void> done;
    server_->shutdown(std::chrono::seconds(2), [&] { done.set_value(); });
    done.get_future().wait();
  }

  asio::awaitable<net::HttpResponse> serve(net::HttpRequest r) {
    std::string path(r.path());
    if (path == "/service/token") {
      std::lock_guard lock(mu_);
      tokenQueries_.push_back(r.target.substr(r.target.find('?') + 1));
      // base64("robot$team+ci:s3cret")
      if (r.header("Authorization") != "Basic cm9ib3QkdGVhbStjaTpzM2NyZXQ=") {
        co_return net::HttpResponse{
            401, "application/json", R"({"errors":[{"code":"UNAUTHORIZED"}]})", {}};
      }
      co_return net::HttpResponse{
          200, "application/json", R"({"token":"t0k3n","expires_in":1800})", {}};
    }
    if (r.header("Authorization") != "Bearer t0k3n") {
      co_return net::HttpResponse{
          401,
          "application/json",
          R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
          {{"WWW-Authenticate",
            "Bearer realm=\"http://" + host_ +
                "/service/token\",service=\"harbor-registry\",scope=\"repository:team/"
                "app:pull\""}}};
    }
    co_return net::HttpResponse{200,
                                "application/vnd.oci.image.manifest.v1+json",
                                manifest_,
                                {{"Docker-Content-Digest", hm::testing::sha256Digest(manifest_)}}};
  }

  std::shared_ptr<Client> client(std::optional<Credentials> creds) {
    RegistryOptions opts;
    opts.plainHttpHosts = {host_};
    if (creds) {
      opts.credentials[host_] = *creds;
    }
    return Client::create(httpClient(io_.ioc()), opts);
  }

  hm::testing::IoThreads io_;
  std::unique_ptr<net::Server> server_;
  std::string host_;
  std::mutex mu_;
  std::vector<std::string> tokenQueries_;
  const std::string manifest_ =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
      std::string(64, 'a') + R"(","size":2},"layers":[]})";
};

TEST_F(TokenFlowTest, GetsATokenWithCredentialsAndCachesIt) {
  auto c = client(Credentials{"robot$team+ci", "s3cret"});
  for (int i = 0; i < 3; ++i) {
    auto d = runOn(io_.ioc(), c->resolveDigest(parseRef(host_ + "/team/app:v1"), soon()));
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(*d, hm::testing::sha256Digest(manifest_));
  }
  EXPECT_EQ(c->tokenRequests(), 1u);
  std::lock_guard lock(mu_);
  ASSERT_EQ(tokenQueries_.size(), 1u);
  EXPECT_EQ(tokenQueries_[0], "service=harbor-registry&scope=repository%3Ateam%2Fapp%3Apull");
}

TEST_F(TokenFlowTest, RejectedCredentialsSaySoWithoutTheSecret) {
  auto c = client(Credentials{"robot$team+ci", "wrong-secret"});
  auto d = runOn(io_.ioc(), c->resolveDigest(parseRef(host_ + "/team/app:v1"), soon()));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(d.status().message(), HasSubstr("rejected the configured credentials"));
  EXPECT_THAT(d.status().message(), ::testing::Not(HasSubstr("wrong-secret")));
}

TEST_F(TokenFlowTest, AnonymousAccessRefusedIsUnauthenticated) {
  auto c = client(std::nullopt);
  auto d = runOn(io_.ioc(), c->resolveDigest(parseRef(host_ + "/team/app:v1"), soon()));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(d.status().message(), HasSubstr("refused anonymous access"));
}

TEST(RegistryClientTest, RefusesToSendCredentialsToAPlainHttpRealm) {
  hm::testing::IoThreads io;
  hm::testing::TempDir dir;
  hm::testing::makeSelfSignedCert(dir.file("tls.crt"), dir.file("tls.key"), "registry");
  std::atomic<int> tokenCalls{0};
  auto start = [&](std::optional<net::TlsFiles> tls, net::Handler h) {
    net::ServerOptions opts;
    opts.address = "127.0.0.1";
    opts.port = 0;
    opts.tls = std::move(tls);
    auto s = net::Server::create(io.ioc(), opts, std::move(h));
    EXPECT_TRUE(s.ok());
    (*s)->start();
    return std::move(*s);
  };
  auto realm = start(std::nullopt, [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
    ++tokenCalls;
    co_return net::HttpResponse{200, "application/json", R"({"token":"t"})", {}};
  });
  std::string realmUrl = "http://127.0.0.1:" + std::to_string(realm->port()) + "/token";
  auto registry = start(net::TlsFiles{dir.file("tls.crt"), dir.file("tls.key")},
                        [&](net::HttpRequest) -> asio::awaitable<net::HttpResponse> {
                          co_return net::HttpResponse{
                              401,
                              "application/json",
                              "{}",
                              {{"WWW-Authenticate", "Bearer realm=\"" + realmUrl + "\""}}};
                        });
  std::string host = "127.0.0.1:" + std::to_string(registry->port());
  net::ClientOptions co;
  co.caFile = dir.file("tls.crt");
  auto http = net::HttpClient::create(io.ioc().get_executor(), co);
  ASSERT_TRUE(http.ok());
  RegistryOptions ro;
  ro.credentials[host] = Credentials{"robot$team+ci", "s3cret"};
  auto c = Client::create(std::shared_ptr<net::HttpClient>(std::move(*http)), ro);
  auto d = runOn(io.ioc(), c->resolveDigest(parseRef(host + "/team/app:v1"), soon()));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(d.status().message(), HasSubstr("refusing to send credentials there"));
  EXPECT_EQ(tokenCalls.load(), 0) << "the credentials never left for the plain-http realm";
  for (auto* s : {realm.get(), registry.get()}) {
    std::promise<void> done;
    s->shutdown(std::chrono::seconds(1), [&] { done.set_value(); });
    done.get_future().wait();
  }
}

}  // namespace
}  // namespace hm::registry

namespace hm::registry {
namespace {

// The real registry behind harbor-sim, with Harbor's token flow end to end.
class HarborRigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rig_ = new hm::testing::HarborRig();
    layout_ = new hm::testing::OciLayout();
    rig_->createProject("team");
    image_ = layout_->addImage("v1", "pushed through harbor-sim");
    layout_->push("v1", rig_->host() + "/team/app:v1", false, "admin:" + rig_->adminPassword());
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete rig_;
  }
  std::shared_ptr<Client> client(std::optional<Credentials> creds) {
    RegistryOptions opts;
    opts.plainHttpHosts = {rig_->host()};
    if (creds) {
      opts.credentials[rig_->host()] = *creds;
    }
    return Client::create(httpClient(io_.ioc()), opts);
  }

  static hm::testing::HarborRig* rig_;
  static hm::testing::OciLayout* layout_;
  static hm::testing::PushedImage image_;
  hm::testing::IoThreads io_;
};

hm::testing::HarborRig* HarborRigTest::rig_ = nullptr;
hm::testing::OciLayout* HarborRigTest::layout_ = nullptr;
hm::testing::PushedImage HarborRigTest::image_;

TEST_F(HarborRigTest, ResolvesThroughHarborsTokenService) {
  auto c = client(Credentials{"admin", rig_->adminPassword()});
  for (int i = 0; i < 2; ++i) {
    auto d = runOn(io_.ioc(), c->resolveDigest(parseRef(rig_->host() + "/team/app:v1"), soon()));
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_EQ(*d, image_.digest);
  }
  EXPECT_EQ(c->tokenRequests(), 1u) << "the token is cached for its scope";
  auto blob = runOn(io_.ioc(),
                    c->getBlob(parseRef(rig_->host() + "/team/app"), image_.configDigest, soon()));
  ASSERT_TRUE(blob.ok()) << blob.status().message();
}

TEST_F(HarborRigTest, WrongPasswordContinuesAsAnonymousAndIsRefused) {
  auto c = client(Credentials{"admin", "not-the-password"});
  auto d = runOn(io_.ioc(), c->resolveDigest(parseRef(rig_->host() + "/team/app:v1"), soon()));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(d.status().message(), HasSubstr("were rejected or lack pull access to team/app"));
  EXPECT_THAT(d.status().message(), ::testing::Not(HasSubstr("not-the-password")));
}

TEST_F(HarborRigTest, AnonymousHasNoAccessToAPrivateProject) {
  auto c = client(std::nullopt);
  auto d = runOn(io_.ioc(), c->resolveDigest(parseRef(rig_->host() + "/team/app:v1"), soon()));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(d.status().message(), HasSubstr("requires credentials for team/app"));
}

}  // namespace
}  // namespace hm::registry
