// kubeconfig and in-cluster loading, token files and exec credential plugins.
#include "harbormaster/kube/config.h"
#include "harbormaster/kube/credentials.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harbormaster/base/encoding.h"
#include "support/async.h"
#include "support/temp_dir.h"

namespace hm::kube {
namespace {

using ::testing::HasSubstr;

const WallTime kNow = std::chrono::system_clock::now();

// The header as a call would get it: on an I/O thread, with a call's deadline.
StatusOr<std::string> authorize(Credentials& creds, WallTime at) {
  static hm::testing::IoThreads io;
  return hm::testing::runOn(io.ioc(), creds.authorization(at, std::chrono::steady_clock::now() +
                                                                  std::chrono::seconds(40)));
}

std::string header(Credentials& creds, WallTime at) {
  auto h = authorize(creds, at);
  return h.ok() ? *h : "error: " + h.status().message();
}

class KubeConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    dir_.write(name, text);
    return dir_.file(name);
  }
  LoadOptions isolated() {
    LoadOptions o;
    o.kubeconfigEnv = "";
    o.serviceHost = "";
    o.servicePort = "";
    o.home = dir_.file("no-home");
    o.serviceAccountDir = dir_.file("sa");
    return o;
  }
  hm::testing::TempDir dir_;
};

TEST_F(KubeConfigTest, ReadsEveryFieldOfAContext) {
  write("ca.crt", "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
  write("token", "file-token\n");
  std::string cert = base64Encode("CERT PEM");
  std::string key = base64Encode("KEY PEM");
  auto path = write("config", R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://10.1.2.3:6443
    certificate-authority: ca.crt
    tls-server-name: api.dev
- name: insecure
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: dev-user
  user:
    tokenFile: token
    client-certificate-data: )" + cert +
                                  R"(
    client-key-data: )" + key + R"(
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: shop}
- name: other
  context: {cluster: insecure}
)");
  auto c = loadKubeconfig({path}, "");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.1.2.3:6443");
  EXPECT_THAT(c->caPem, HasSubstr("BEGIN CERTIFICATE")) << "relative to the kubeconfig";
  EXPECT_EQ(c->tlsServerName, "api.dev");
  EXPECT_EQ(c->tokenFile, dir_.file("token"));
  EXPECT_EQ(c->clientCertPem, "CERT PEM");
  EXPECT_EQ(c->clientKeyPem, "KEY PEM");
  EXPECT_EQ(c->nameSpace, "shop");
  EXPECT_THAT(c->source, HasSubstr("(context dev)"));
  auto other = loadKubeconfig({path}, "other");
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_TRUE(other->insecureSkipTlsVerify);
  EXPECT_EQ(other->nameSpace, "default");
  EXPECT_TRUE(other->token.empty() && other->tokenFile.empty()) << "no user: anonymous";
}

TEST_F(KubeConfigTest, MergesKubeconfigListsFirstDefinitionWins) {
  auto a = write("a", R"(current-context: a
clusters: [{name: c, cluster: {server: "https://a:6443"}}]
users: [{name: u, user: {token: from-a}}]
contexts: [{name: a, context: {cluster: c, user: u}}]
)");
  auto b = write("b", R"(current-context: b
clusters: [{name: c, cluster: {server: "https://b:6443"}}, {name: d, cluster: {server: "https://d:6443"}}]
users: [{name: u, user: {token: from-b}}]
contexts: [{name: b, context: {cluster: d, user: u}}]
)");
  LoadOptions o = isolated();
  o.kubeconfigEnv = a + ":" + dir_.file("missing") + ":" + b;
  auto c = loadConfig(o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://a:6443");
  EXPECT_EQ(c->token, "from-a");
  o.context = "b";
  auto fromB = loadConfig(o);
  ASSERT_TRUE(fromB.ok()) << fromB.status().message();
  EXPECT_EQ(fromB->server, "https://d:6443") << "a context and cluster only b defines";
  EXPECT_EQ(fromB->token, "from-a") << "user u: the first file's definition wins";
}

TEST_F(KubeConfigTest, ErrorsNameTheFileAndTheProblem) {
  struct Case {
    std::string yaml;
    std::string context;
    std::string mentions;
  };
  for (const Case& c : std::vector<Case>{
           {"clusters: []\n", "", "no current-context"},
           {"current-context: x\n", "", "context \"x\" is not defined"},
           {"current-context: x\ncontexts: [{name: x, context: {cluster: nope}}]\n", "",
            "cluster \"nope\" is not defined"},
           {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
            "clusters: [{name: c, cluster: {certificate-authority-data: '!!'}}]\n",
            "", "has no server"},
           {"current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n"
            "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: "
            "'!!'}}]\n",
            "", "certificate-authority-data is not base64"},
           {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
            "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
            "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n",
            "", "auth-provider"},
           {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
            "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
            "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, "
            "command: x}}}]\n",
            "", "exec.apiVersion must be"},
           {"[not, a, map]\n", "", "is not a mapping"},
           {"{{{", "", "not valid YAML"},
       }) {
    auto path = write("bad", c.yaml);
    auto r = loadKubeconfig({path}, c.context);
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_THAT(r.status().message(), HasSubstr(c.mentions)) << c.yaml;
  }
}

TEST_F(KubeConfigTest, InClusterConfigAndTheLoadingOrder) {
  // The layout the kubelet mounts at /var/run/secrets/kubernetes.io/serviceaccount.
  std::filesystem::create_directories(dir_.file("sa"));
  for (auto [name, text] : {std::pair<const char*, const char*>{"token", "sa-token"},
                            {"ca.crt", "CA"},
                            {"namespace", "harbormaster\n"}}) {
    std::ofstream(dir_.file("sa") + "/" + name) << text;
  }
  LoadOptions o = isolated();
  EXPECT_EQ(loadConfig(o).status().code(), StatusCode::kNotFound);
  o.serviceHost = "10.96.0.1";
  o.servicePort = "443";
  auto c = loadConfig(o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->nameSpace, "harbormaster");
  EXPECT_EQ(c->tokenFile, dir_.file("sa/token"));
  EXPECT_EQ(c->caPem, "CA");
  o.serviceHost = "fd00::1";
  EXPECT_EQ(loadConfig(o)->server, "https://[fd00::1]:443");

  auto kc = write("kc",
                  "current-context: k\ncontexts: [{name: k, context: {cluster: c}}]\n"
                  "clusters: [{name: c, cluster: {server: 'https://from-env'}}]\n");
  o.kubeconfigEnv = kc;
  EXPECT_EQ(loadConfig(o)->server, "https://from-env") << "KUBECONFIG before in-cluster";
  auto flag = write("flag",
                    "current-context: k\ncontexts: [{name: k, context: {cluster: c}}]\n"
                    "clusters: [{name: c, cluster: {server: 'https://from-flag'}}]\n");
  o.kubeconfig = flag;
  EXPECT_EQ(loadConfig(o)->server, "https://from-flag") << "--kubeconfig before everything";
}

TEST_F(KubeConfigTest, TokenFilesAreReReadAsTheKubeletRotatesThem) {
  write("token", "first\n");
  ClusterConfig c;
  c.tokenFile = dir_.file("token");
  Credentials creds(c);
  EXPECT_EQ(header(creds, kNow), "Bearer first");
  write("token", "second\n");
  EXPECT_EQ(header(creds, kNow), "Bearer first") << "cached for a minute";
  EXPECT_EQ(header(creds, kNow + std::chrono::seconds(61)), "Bearer second");
  write("token", "third\n");
  creds.invalidate();
  EXPECT_EQ(header(creds, kNow), "Bearer third") << "after a 401";
}

}  // namespace
}  // namespace hm::kube
