// Exec credential plugins (EKS, GKE, OIDC logins) run as client-go runs them: real scripts,
// started as processes, so these live with the e2e tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "harbormaster/kube/config.h"
#include "support/temp_dir.h"

namespace hm::kube {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const WallTime kNow = std::chrono::system_clock::now();

std::string header(Credentials& creds, WallTime at) {
  auto h = creds.authorization(at);
  return h.ok() ? *h : "error: " + h.status().message();
}

class ExecPluginTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    dir_.write(name, text);
    return dir_.file(name);
  }
  hm::testing::TempDir dir_;
};

TEST_F(ExecPluginTest, ExecPluginsRunWithExecInfoAndAreCachedUntilExpiry) {
  // A plugin as EKS/GKE ship them: reads KUBERNETES_EXEC_INFO, prints an ExecCredential.
  write("plugin.sh",
        "#!/bin/sh\n"
        "echo run >> \"$COUNT_FILE\"\n"
        "echo \"$KUBERNETES_EXEC_INFO\" > \"$INFO_FILE\"\n"
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\","
        "\"kind\":\"ExecCredential\",\"status\":{\"token\":\"tok-%s\","
        "\"expirationTimestamp\":\"%s\"}}' \"$1\" \"$EXPIRY\"\n");
  chmod(dir_.file("plugin.sh").c_str(), 0755);
  auto path = write(
      "config",
      "current-context: x\ncontexts: [{name: x, context: {cluster: c, "
      "user: u}}]\nclusters: [{name: c, cluster: {server: 'https://h'}}]\n"
      "users:\n- name: u\n  user:\n    exec:\n"
      "      apiVersion: client.authentication.k8s.io/v1\n"
      "      command: ./plugin.sh\n      args: [alpha]\n      env:\n"
      "      - {name: COUNT_FILE, value: " +
          dir_.file("count") + "}\n      - {name: INFO_FILE, value: " + dir_.file("info") +
          "}\n      - {name: EXPIRY, value: " + formatRfc3339(kNow + std::chrono::minutes(5)) +
          "}\n");
  auto c = loadKubeconfig({path}, "");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_TRUE(c->exec.has_value());
  Credentials creds(*c);
  auto auth = creds.authorization(kNow);
  ASSERT_TRUE(auth.ok()) << auth.status().message();
  EXPECT_EQ(*auth, "Bearer tok-alpha");
  EXPECT_THAT(hm::testing::readText(dir_.file("info")),
              HasSubstr(R"("apiVersion":"client.authentication.k8s.io/v1")"));
  EXPECT_EQ(header(creds, kNow + std::chrono::minutes(1)), "Bearer tok-alpha");
  EXPECT_EQ(hm::testing::readText(dir_.file("count")), "run\n") << "cached until expiry";
  header(creds, kNow + std::chrono::minutes(5));
  EXPECT_EQ(hm::testing::readText(dir_.file("count")), "run\nrun\n") << "refreshed at expiry";
}

TEST_F(ExecPluginTest, AFailingOrLyingPluginIsAnErrorWithoutItsOutput) {
  write("fail.sh", "#!/bin/sh\necho '{\"secret\":\"s3cr3t\"}'\nexit 3\n");
  write("wrong.sh", "#!/bin/sh\necho '{\"kind\":\"Other\",\"token\":\"s3cr3t\"}'\n");
  chmod(dir_.file("fail.sh").c_str(), 0755);
  chmod(dir_.file("wrong.sh").c_str(), 0755);
  for (const char* script : {"fail.sh", "wrong.sh", "missing.sh"}) {
    ClusterConfig c;
    c.exec = ExecPlugin{"client.authentication.k8s.io/v1", dir_.file(script), {}, {}, ""};
    Credentials creds(c);
    auto auth = creds.authorization(kNow);
    ASSERT_FALSE(auth.ok()) << script;
    EXPECT_EQ(auth.status().code(), StatusCode::kUnauthenticated);
    EXPECT_THAT(auth.status().message(), Not(HasSubstr("s3cr3t")));
  }
}

}  // namespace
}  // namespace hm::kube
