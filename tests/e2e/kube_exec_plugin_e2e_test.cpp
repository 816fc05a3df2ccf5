// Exec credential plugins (EKS, GKE, OIDC logins) run as client-go runs them: real scripts,
// started as processes, so these live with the e2e tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <future>

#include "harbormaster/kube/config.h"
#include "harbormaster/kube/credentials.h"
#include "support/async.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::kube {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

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
  auto auth = authorize(creds, kNow);
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
    auto auth = authorize(creds, kNow);
    ASSERT_FALSE(auth.ok()) << script;
    EXPECT_EQ(auth.status().code(), StatusCode::kUnauthenticated);
    EXPECT_THAT(auth.status().message(), Not(HasSubstr("s3cr3t")));
  }
}

// A slow plugin (an OIDC login that waits for its token endpoint) runs off the I/O thread:
// the thread keeps serving while it runs, concurrent calls share one run, and a call whose
// deadline comes first fails alone with DeadlineExceeded.
TEST_F(ExecPluginTest, ASlowPluginRunsOnceOffTheIoThreadForEveryWaiter) {
  write("slow.sh",
        "#!/bin/sh\n"
        "echo run >> \"$COUNT_FILE\"\n"
        "while [ ! -e \"$GO_FILE\" ]; do sleep 0.02; done\n"
        "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
        "\"status\":{\"token\":\"slow\"}}'\n");
  chmod(dir_.file("slow.sh").c_str(), 0755);
  ClusterConfig c;
  c.exec = ExecPlugin{"client.authentication.k8s.io/v1",
                      dir_.file("slow.sh"),
                      {},
                      {{"COUNT_FILE", dir_.file("count")}, {"GO_FILE", dir_.file("go")}},
                      ""};
  Credentials creds(c);
  hm::testing::IoThreads io(1);  // one I/O thread: a blocking plugin would stall everything
  using Result = std::shared_ptr<std::promise<StatusOr<std::string>>>;
  std::vector<std::future<StatusOr<std::string>>> waiters;
  auto start = [&](std::chrono::steady_clock::duration within) {
    auto p = std::make_shared<std::promise<StatusOr<std::string>>>();
    waiters.push_back(p->get_future());
    boost::asio::co_spawn(
        io.ioc(),
        hm::testing::deliver(creds.authorization(kNow, std::chrono::steady_clock::now() + within),
                             Result(p)),
        boost::asio::detached);
  };
  for (int i = 0; i < 4; ++i) {
    start(std::chrono::seconds(40));
  }
  start(std::chrono::milliseconds(50));  // gives up before the plugin answers
  ASSERT_TRUE(hm::testing::eventually(10, [&] {
    return std::filesystem::exists(dir_.file("count")) &&
           hm::testing::readText(dir_.file("count")) == "run\n";
  }));
  auto impatient = std::move(waiters.back());
  waiters.pop_back();
  auto late = impatient.get();
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded) << late.status().message();
  // The I/O thread is free while the plugin runs.
  std::promise<bool> served;
  boost::asio::post(io.ioc(), [&] { served.set_value(true); });
  EXPECT_EQ(served.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  for (auto& w : waiters) {
    EXPECT_EQ(w.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
        << "nobody is answered before the plugin is";
  }
  dir_.write("go", "");
  for (auto& w : waiters) {
    auto h = w.get();
    ASSERT_TRUE(h.ok()) << h.status().message();
    EXPECT_EQ(*h, "Bearer slow");
  }
  EXPECT_EQ(hm::testing::readText(dir_.file("count")), "run\n") << "one run for every waiter";
  EXPECT_EQ(header(creds, kNow), "Bearer slow") << "and then cached";
}

}  // namespace
}  // namespace hm::kube
