// The operator end to end: the real binary against kube-sim (driven with the real kubectl) and
// harbor-sim in front of the real registry. Assertions read Harbor's state through its API and
// check pull secrets by authenticating with them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "harbormaster/base/encoding.h"
#include "support/kube_rig.h"
#include "support/process.h"
#include "support/registry_rig.h"
#include "support/temp_dir.h"
#include "support/webhook_rig.h"

namespace hm {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

class OperatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", std::string(HM_SOURCE_DIR) + "/crds"}, out), 0) << out;
    apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: harbormaster}\n");
    dir_.write("harbor-creds", "admin:" + harbor_.adminPassword() + "\n");
  }

  std::unique_ptr<testing::Process> startOperator(const std::string& log,
                                                  const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {HM_BINARY,
                                     "operator",
                                     "--kubeconfig",
                                     kube_.kubeconfig(),
                                     "--harbor-url",
                                     harbor_.url(),
                                     "--harbor-credentials-file",
                                     dir_.file("harbor-creds"),
                                     "--namespace",
                                     "harbormaster",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--ports-file",
                                     dir_.file(log + ".ports"),
                                     "--resync",
                                     "2s",
                                     "--rotation-grace",
                                     "1s"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::filesystem::remove(dir_.file(log + ".ports"));
    auto p = std::make_unique<testing::Process>(argv, dir_.file(log));
    ports_[log] = testing::waitForPorts(dir_.file(log + ".ports"), *p)["listen"];
    return p;
  }

  void apply(const std::string& yaml) {
    dir_.write("apply.yaml", yaml);
    std::string out;
    ASSERT_EQ(kube_.kubectl({"apply", "-f", dir_.file("apply.yaml")}, out), 0) << out;
  }

  json get(const std::vector<std::string>& what) { return kube_.get(what); }

  std::string condition(const json& object, const std::string& type, const char* field) {
    if (!object.is_object()) {
      return "";
    }
    for (const auto& c :
         object.value("status", json::object()).value("conditions", json::array())) {
      if (c.value("type", "") == type) {
        return c.value(field, "");
      }
    }
    return "";
  }

  bool waitReady(const std::vector<std::string>& what, const std::string& reason = "Synced",
                 double seconds = 30) {
    return testing::eventually(seconds,
                               [&] { return condition(get(what), "Ready", "reason") == reason; });
  }

  json harborGet(const std::string& path) {
    std::string body;
    if (harbor_.curl("GET", path, "", body) != 200) {
      return nullptr;
    }
    return json::parse(body, nullptr, false);
  }

  // The robot credential in a pull secret, and whether Harbor accepts it.
  std::pair<std::string, std::string> pullCredential(const std::string& ns,
                                                     const std::string& name) {
    json s = get({"secret", "-n", ns, name});
    if (!s.is_object() || s.value("type", "") != "kubernetes.io/dockerconfigjson") {
      return {};
    }
    auto config = base64Decode(s["data"].value(".dockerconfigjson", ""));
    json auths = json::parse(config.value_or(""), nullptr, false).value("auths", json::object());
    if (!auths.contains(harbor_.host())) {
      return {};
    }
    return {auths[harbor_.host()].value("username", ""),
            auths[harbor_.host()].value("password", "")};
  }

  // The credential in a RobotAccount's credentials Secret (username, password, registry).
  std::pair<std::string, std::string> ciCredential(const std::string& ns, const std::string& name) {
    json s = get({"secret", "-n", ns, name});
    if (!s.is_object() || s.value("type", "") != "Opaque") {
      return {};
    }
    const json data = s.value("data", json::object());
    return {base64Decode(data.value("username", "")).value_or(""),
            base64Decode(data.value("password", "")).value_or("")};
  }

  bool harborAccepts(const std::pair<std::string, std::string>& cred) {
    std::string body;
    return !cred.first.empty() && harbor_.curl("GET", "/api/v2.0/system/CVEAllowlist", "", body,
                                               cred.first + ":" + cred.second) == 200;
  }

  // skopeo reads the image through the real registry with these credentials.
  bool canPull(const std::pair<std::string, std::string>& cred, const std::string& image) {
    std::string out;
    return testing::runCommand(
               {"/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false", "--creds",
                cred.first + ":" + cred.second, "docker://" + harbor_.host() + "/" + image},
               out) == 0;
  }

  std::vector<std::string> pullSecretsOf(const std::string& ns, const std::string& sa) {
    std::vector<std::string> out;
    json j = get({"serviceaccount", "-n", ns, sa});
    if (j.is_object()) {
      for (const auto& e : j.value("imagePullSecrets", json::array())) {
        out.push_back(e.value("name", ""));
      }
    }
    return out;
  }

  json robotsInHarbor() {
    int64_t id = get({"harborproject", "team-a"})["status"].value("projectID", int64_t{0});
    return harborGet("/api/v2.0/robots?q=Level%3Dproject%2CProjectID%3D" + std::to_string(id));
  }

  // GET on the health/metrics port of the operator started with this log file.
  std::string opsGet(const std::string& log, const std::string& path) {
    std::string out;
    testing::runCommand(
        {"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(ports_[log]) + path}, out);
    return out;
  }

  int64_t harborCalls(const std::string& key) {
    json stats = json::parse(harbor_.control("GET", "/sim/stats"), nullptr, false);
    return stats.is_object() ? stats["requests"].value(key, int64_t{0}) : 0;
  }

  std::map<std::string, uint16_t> ports_;
  testing::HarborRig harbor_;
  testing::KubeSimRig kube_;
  testing::TempDir dir_;
};

constexpr const char* kProject = R"(apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: team-a}
spec:
  preventVulnerable: {enabled: true, severity: critical}
  cveAllowlist: {items: [CVE-2024-0001]}
  reuseSystemAllowlist: false
)";

// A cluster upgraded without the policy CRDs still gets its projects and robots reconciled:
// policy status never holds up the Harbor controllers.
TEST_F(OperatorTest, HarborControllersRunWithoutThePolicyCrds) {
  std::string out;
  ASSERT_EQ(kube_.kubectl({"delete", "crd", "clusterimagepolicies.harbormaster.io",
                           "imagepolicies.harbormaster.io", "imageexceptions.harbormaster.io"},
                          out),
            0)
      << out;
  auto op = startOperator("operator.log");
  apply(kProject);
  EXPECT_TRUE(waitReady({"harborproject", "team-a"})) << op->output();
}

TEST_F(OperatorTest, HarborProjectIsCreatedUpdatedRepairedAndRetained) {
  auto op = startOperator("operator.log");
  apply(kProject);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"})) << op->output();
  json hp = get({"harborproject", "team-a"});
  EXPECT_EQ(hp["status"]["projectName"], "team-a");
  EXPECT_GT(hp["status"].value("projectID", 0), 0);
  EXPECT_EQ(hp["status"]["observedGeneration"], hp["metadata"]["generation"]);
  EXPECT_THAT(hp["metadata"]["finalizers"].dump(), HasSubstr("harbormaster.io/cleanup"));
  json project = harborGet("/api/v2.0/projects/team-a");
  ASSERT_TRUE(project.is_object());
  EXPECT_EQ(project["metadata"]["prevent_vul"], "true");
  EXPECT_EQ(project["metadata"]["severity"], "critical");
  EXPECT_EQ(project["metadata"]["public"], "false");
  EXPECT_EQ(project["metadata"]["reuse_sys_cve_allowlist"], "false");
  EXPECT_EQ(project["cve_allowlist"]["items"][0]["cve_id"], "CVE-2024-0001");
  const std::string transition = condition(hp, "Ready", "lastTransitionTime");

  // A spec change reaches Harbor.
  std::string out;
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "team-a", "--type=merge", "-p",
                           R"({"spec":{"public":true}})"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    json p = harborGet("/api/v2.0/projects/team-a");
    return p.is_object() && p["metadata"].value("public", "") == "true";
  }));

  // The storage quota goes through Harbor's quota API.
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "team-a", "--type=merge", "-p",
                           R"({"spec":{"storageQuota":"1Gi"}})"},
                          out),
            0)
      << out;
  const std::string quotaPath = "/api/v2.0/quotas?reference=project&reference_id=" +
                                std::to_string(hp["status"]["projectID"].get<int64_t>());
  ASSERT_TRUE(testing::eventually(20, [&] {
    json q = harborGet(quotaPath);
    return q.is_array() && q.size() == 1 && q[0]["hard"].value("storage", 0) == 1073741824;
  })) << op->output();

  // A change made in Harbor's UI is put back at the next resync, with a Warning Event.
  ASSERT_EQ(harbor_.curl("PUT", "/api/v2.0/projects/team-a",
                         R"({"metadata":{"prevent_vul":"false","auto_scan":"false"}})", out),
            200)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    json p = harborGet("/api/v2.0/projects/team-a");
    return p.is_object() && p["metadata"].value("prevent_vul", "") == "true" &&
           p["metadata"].value("auto_scan", "") == "true";
  })) << op->output();
  ASSERT_TRUE(testing::eventually(10, [&] {
    return get({"events.events.k8s.io", "-A"}).dump().find("DriftRepaired") != std::string::npos;
  }));
  EXPECT_EQ(condition(get({"harborproject", "team-a"}), "Ready", "lastTransitionTime"), transition)
      << "Ready stayed True throughout: its transition time does not move";

  // deletionPolicy Retain (the default): the CR goes, the Harbor project stays.
  ASSERT_EQ(kube_.kubectl({"delete", "harborproject", "team-a", "--wait=false"}, out), 0) << out;
  ASSERT_TRUE(testing::eventually(20, [&] { return get({"harborproject", "team-a"}).is_null(); }));
  EXPECT_TRUE(harborGet("/api/v2.0/projects/team-a").is_object());
}

// spec.immutableTags, kept exactly as declared: created, changed with the spec, repaired after
// changes made in Harbor (a rule disabled, one added, one deleted) with a DriftRepaired Event, and
// an empty list removes them, and without the field Harbor's rules are left alone.
TEST_F(OperatorTest, ImmutableTagRulesAreKeptExactlyAsDeclared) {
  auto op = startOperator("operator.log");
  apply(std::string(kProject) +
        "  immutableTags:\n"
        "  - tags: {matches: [\"v*\"]}\n"
        "  - repositories: {matches: [\"release/**\"]}\n"
        "    tags: {excludes: [latest, dev-*]}\n");
  const std::string rules = "/api/v2.0/projects/team-a/immutabletagrules";
  // What Harbor holds, as "decoration pattern / decoration pattern (disabled)" lines.
  auto held = [&] {
    std::vector<std::string> out;
    json list = harborGet(rules);
    for (const auto& r : list.is_array() ? list : json::array()) {
      out.push_back(r["scope_selectors"]["repository"][0].value("decoration", "") + " " +
                    r["scope_selectors"]["repository"][0].value("pattern", "") + " / " +
                    r["tag_selectors"][0].value("decoration", "") + " " +
                    r["tag_selectors"][0].value("pattern", "") +
                    (r.value("disabled", false) ? " (disabled)" : ""));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const std::vector<std::string> declared = {"repoMatches ** / matches v*",
                                             "repoMatches release/** / excludes {latest,dev-*}"};
  ASSERT_TRUE(testing::eventually(30, [&] { return held() == declared; })) << op->output();
  ASSERT_TRUE(testing::eventually(10, [&] {
    return condition(get({"harborproject", "team-a"}), "ImmutableTags", "status") == "True";
  }));

  json list = harborGet(rules);
  ASSERT_TRUE(list.is_array() && list.size() == 2);
  const int64_t first = list[0].value("id", int64_t{0});
  const int64_t second = list[1].value("id", int64_t{0});
  std::string out;
  // In Harbor's UI: one rule disabled, one deleted, one added.
  json disabled = list[0];
  disabled["disabled"] = true;
  ASSERT_EQ(harbor_.curl("PUT", rules + "/" + std::to_string(first), disabled.dump(), out), 200)
      << out;
  ASSERT_EQ(harbor_.curl("DELETE", rules + "/" + std::to_string(second), "", out), 200) << out;
  ASSERT_EQ(
      harbor_.curl(
          "POST", rules,
          R"({"action":"immutable","template":"immutable_template","tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"**"}],"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}})",
          out),
      201)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] { return held() == declared; })) << op->output();
  ASSERT_TRUE(testing::eventually(10, [&] {
    const std::string events = get({"events.events.k8s.io", "-A"}).dump();
    return events.find("DriftRepaired") != std::string::npos &&
           events.find(
               "immutable tag rules of Harbor project team-a had been changed outside "
               "Harbormaster") != std::string::npos;
  }));

  // A spec change: the rules follow, with a Normal Event.
  ASSERT_EQ(
      kube_.kubectl({"patch", "harborproject", "team-a", "--type=merge", "-p",
                     R"({"spec":{"immutableTags":[{"tags":{"matches":["v*","release-*"]}}]}})"},
                    out),
      0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return held() == std::vector<std::string>{"repoMatches ** / matches {v*,release-*}"};
  })) << op->output();
  EXPECT_TRUE(testing::eventually(10, [&] {
    return get({"events.events.k8s.io", "-A"}).dump().find("ImmutableTagRulesUpdated") !=
           std::string::npos;
  }));

  // Steady state: a list call a resync (two resyncs awaited), no writes.
  harbor_.control("DELETE", "/sim/stats");
  int64_t writes = 0, lists = 0;
  auto count = [&] {
    writes = lists = 0;
    json stats = json::parse(harbor_.control("GET", "/sim/stats"), nullptr, false);
    for (const auto& [key, n] : stats["requests"].items()) {
      if (key.find("immutabletagrules") != std::string::npos) {
        (key.rfind("GET", 0) == 0 ? lists : writes) += n.get<int64_t>();
      }
    }
    return lists >= 2;
  };
  ASSERT_TRUE(testing::eventually(15, count));
  EXPECT_EQ(writes, 0) << "no Harbor write while the rules match";

  // An empty list removes every rule; without the field Harbor's rules are left alone.
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "team-a", "--type=merge", "-p",
                           R"({"spec":{"immutableTags":[]}})"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] { return held().empty(); })) << op->output();
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "team-a", "--type=json", "-p",
                           R"([{"op":"remove","path":"/spec/immutableTags"}])"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(10, [&] {
    return condition(get({"harborproject", "team-a"}), "ImmutableTags", "status").empty();
  })) << "the condition goes with the section";
  ASSERT_EQ(
      harbor_.curl(
          "POST", rules,
          R"({"action":"immutable","template":"immutable_template","tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"keep"}],"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}})",
          out),
      201)
      << out;
  // Two resyncs later (each reads the project once) the rule made in Harbor is still there.
  harbor_.control("DELETE", "/sim/stats");
  ASSERT_TRUE(testing::eventually(15, [&] {
    json stats = json::parse(harbor_.control("GET", "/sim/stats"), nullptr, false);
    return stats["requests"].value("GET /api/v2.0/projects/team-a", int64_t{0}) >= 2;
  }));
  EXPECT_EQ(held(), std::vector<std::string>{"repoMatches ** / matches keep"});
}

// spec.members: users and groups added with their roles, a group Harbor does not know reported
// on the Members condition while the other members and immutable tags sync, a role changed in
// Harbor put back (DriftRepaired), and Exclusive removing who the spec does not name — never the
// operator's own account.
TEST_F(OperatorTest, MembersAreAddedRepairedAndUnderExclusiveOnlyTheDeclaredStay) {
  std::string out;
  for (const char* user : {"alice", "bob"}) {
    ASSERT_EQ(
        harbor_.curl("POST", "/api/v2.0/users",
                     std::string(R"({"username":")") + user + R"(","password":"Passw0rd!"})", out),
        201)
        << out;
  }
  ASSERT_EQ(harbor_.curl("POST", "/api/v2.0/usergroups",
                         R"({"group_name":"platform","group_type":3})", out),
            201)
      << out;
  auto op = startOperator("operator.log");
  apply(std::string(kProject) +
        "  immutableTags: [{tags: {matches: [\"v*\"]}}]\n"
        "  retention: {schedule: \"0 0 2 * * *\", rules: [{latestPushedK: 10}]}\n"
        "  members:\n"
        "  - {user: alice, role: maintainer}\n"
        "  - {group: platform, type: oidc, role: developer}\n"
        "  - {group: nobody-logged-in, type: oidc, role: guest}\n");
  // Harbor's members as "u alice maintainer" lines.
  auto members = [&] {
    std::vector<std::string> lines;
    json list = harborGet("/api/v2.0/projects/team-a/members");
    for (const auto& m : list.is_array() ? list : json::array()) {
      lines.push_back(m.value("entity_type", "") + " " + m.value("entity_name", "") + " " +
                      m.value("role_name", ""));
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  ASSERT_TRUE(testing::eventually(30, [&] {
    return condition(get({"harborproject", "team-a"}), "Members", "status") == "False";
  })) << op->output();
  json hp = get({"harborproject", "team-a"});
  EXPECT_THAT(condition(hp, "Members", "message"),
              AllOf(HasSubstr("group nobody-logged-in"), HasSubstr("The group does not exist")));
  EXPECT_EQ(condition(hp, "Ready", "status"), "True") << "a refused member holds back nothing";
  EXPECT_TRUE(testing::eventually(10, [&] {
    json now = get({"harborproject", "team-a"});
    return condition(now, "ImmutableTags", "status") == "True" &&
           condition(now, "Retention", "status") == "True";
  })) << "the other sections sync while a member is refused";
  EXPECT_EQ(members(), (std::vector<std::string>{"g platform developer", "u admin projectAdmin",
                                                 "u alice maintainer"}))
      << condition(get({"harborproject", "team-a"}), "Members", "message");

  // The spec drops the unknown group: the condition clears.
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "team-a", "--type=json", "-p",
                           R"([{"op":"remove","path":"/spec/members/2"}])"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return condition(get({"harborproject", "team-a"}), "Members", "status") == "True";
  })) << op->output();

  // In Harbor's UI: alice demoted, bob added. Additive: alice restored, bob stays.
  json list = harborGet("/api/v2.0/projects/team-a/members?entityname=alice");
  ASSERT_TRUE(list.is_array() && list.size() == 1) << list;
  ASSERT_EQ(harbor_.curl("PUT",
                         "/api/v2.0/projects/team-a/members/" +
                             std::to_string(list[0].value("id", int64_t{0})),
                         R"({"role_id":3})", out),
            200)
      << out;
  ASSERT_EQ(harbor_.curl("POST", "/api/v2.0/projects/team-a/members",
                         R"({"role_id":2,"member_user":{"username":"bob"}})", out),
            201)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    const auto m = members();
    return std::find(m.begin(), m.end(), "u alice maintainer") != m.end();
  })) << op->output();
  EXPECT_TRUE(testing::eventually(10, [&] {
    const std::string events = get({"events.events.k8s.io", "-A"}).dump();
    return events.find(
               "members of Harbor project team-a had been changed outside "
               "Harbormaster; user alice guest → maintainer") != std::string::npos;
  }));
  EXPECT_EQ(members(), (std::vector<std::string>{"g platform developer", "u admin projectAdmin",
                                                 "u alice maintainer", "u bob developer"}));

  // Exclusive: bob goes; admin (the operator's own account) stays.
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "team-a", "--type=merge", "-p",
                           R"({"spec":{"membersPolicy":"Exclusive"}})"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return members() == std::vector<std::string>{"g platform developer", "u admin projectAdmin",
                                                 "u alice maintainer"};
  })) << op->output();
}

// spec.retention: the policy created and bound to the project, a change made in Harbor put back
// in place (DriftRepaired), and a policy deleted through the API (which leaves the project's
// retention_id behind) created again.
TEST_F(OperatorTest, RetentionPolicyIsCreatedRepairedAndRecreated) {
  auto op = startOperator("operator.log");
  apply(std::string(kProject) +
        "  retention:\n"
        "    schedule: \"0 0 2 * * *\"\n"
        "    rules:\n"
        "    - {tags: {matches: [\"release-*\"]}, latestPushedK: 10}\n"
        "    - {repositories: {excludes: [\"sandbox/**\"]}, nDaysSinceLastPull: 30}\n");
  auto bound = [&] {
    json p = harborGet("/api/v2.0/projects/team-a");
    return p.is_object() ? p["metadata"].value("retention_id", "") : "";
  };
  // What Harbor holds, as "cron | template param tag-pattern repo-pattern, …".
  auto held = [&] {
    const std::string id = bound();
    json policy = id.empty() ? json() : harborGet("/api/v2.0/retentions/" + id);
    if (!policy.is_object()) {
      return std::string();
    }
    std::string out = policy["trigger"]["settings"].value("cron", "") + " |";
    for (const auto& r : policy["rules"]) {
      const std::string templ = r.value("template", "");
      out += " " + templ + " " + r["params"].value(templ, json(0)).dump() + " " +
             r["tag_selectors"][0].value("pattern", "") + " " +
             r["scope_selectors"]["repository"][0].value("decoration", "") + " " +
             r["scope_selectors"]["repository"][0].value("pattern", "") + ",";
    }
    return out;
  };
  const std::string declared =
      "0 0 2 * * * | latestPushedK 10 release-* repoMatches **, nDaysSinceLastPull 30 ** "
      "repoExcludes sandbox/**,";
  ASSERT_TRUE(testing::eventually(30, [&] { return held() == declared; })) << op->output();
  ASSERT_TRUE(testing::eventually(10, [&] {
    json hp = get({"harborproject", "team-a"});
    return condition(hp, "Retention", "status") == "True" &&
           std::to_string(hp["status"].value("retentionPolicyID", int64_t{0})) == bound();
  }));

  // In Harbor's UI: fewer tags kept, no schedule. Put back in place, with a Warning.
  const std::string id = bound();
  json edited = harborGet("/api/v2.0/retentions/" + id);
  edited["rules"][0]["params"]["latestPushedK"] = 3;
  edited["trigger"]["settings"]["cron"] = "";
  std::string out;
  ASSERT_EQ(harbor_.curl("PUT", "/api/v2.0/retentions/" + id, edited.dump(), out), 200) << out;
  ASSERT_TRUE(testing::eventually(20, [&] { return held() == declared; })) << op->output();
  EXPECT_EQ(bound(), id) << "updated in place";
  EXPECT_TRUE(testing::eventually(10, [&] {
    return get({"events.events.k8s.io", "-A"})
               .dump()
               .find(
                   "retention policy of Harbor project team-a had been changed outside "
                   "Harbormaster; schedule none → 0 0 2 * * *") != std::string::npos;
  }));

  // Deleted through the API: Harbor keeps retention_id and refuses a new policy until it goes.
  ASSERT_EQ(harbor_.curl("DELETE", "/api/v2.0/retentions/" + id, "", out), 200) << out;
  EXPECT_EQ(bound(), id);
  ASSERT_TRUE(testing::eventually(20, [&] { return held() == declared && bound() != id; }))
      << op->output();
}

TEST_F(OperatorTest, ExistingProjectsAreAdoptedOnlyWhenAskedAndDeletionWaitsForRepositories) {
  harbor_.createProject("legacy");
  auto op = startOperator("operator.log");
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: legacy}
spec: {deletionPolicy: Delete}
)");
  ASSERT_TRUE(waitReady({"harborproject", "legacy"}, "AlreadyExists")) << op->output();
  EXPECT_THAT(condition(get({"harborproject", "legacy"}), "Ready", "message"),
              HasSubstr("adoptExisting"));
  std::string out;
  ASSERT_EQ(kube_.kubectl({"patch", "harborproject", "legacy", "--type=merge", "-p",
                           R"({"spec":{"adoptExisting":true}})"},
                          out),
            0);
  ASSERT_TRUE(waitReady({"harborproject", "legacy"}));
  EXPECT_EQ(get({"harborproject", "legacy"})["status"]["adopted"], true);

  // A project that still holds repositories is not deleted, and the condition says why.
  testing::OciLayout layout;
  layout.addImage("v1", "legacy");
  layout.push("v1", harbor_.host() + "/legacy/app:v1", false, "admin:" + harbor_.adminPassword());
  ASSERT_EQ(kube_.kubectl({"delete", "harborproject", "legacy", "--wait=false"}, out), 0) << out;
  ASSERT_TRUE(waitReady({"harborproject", "legacy"}, "DeletionBlocked")) << op->output();
  EXPECT_TRUE(harborGet("/api/v2.0/projects/legacy").is_object());
  ASSERT_EQ(harbor_.curl("DELETE", "/api/v2.0/projects/legacy/repositories/app", "", out), 200)
      << out;
  ASSERT_TRUE(testing::eventually(60, [&] {
    return get({"harborproject", "legacy"}).is_null();
  })) << op->output();
  EXPECT_TRUE(harborGet("/api/v2.0/projects/legacy").is_null()) << "deletionPolicy: Delete";
}

TEST_F(OperatorTest, InvalidSpecsAndAnUnreachableHarborAreConditionsNotHalfAppliedState) {
  harbor_.control("POST", "/sim/faults",
                  R"({"path_prefix":"/api/v2.0/projects","status":503,"count":-1})");
  auto op = startOperator("operator.log");
  apply(kProject);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"}, "HarborError")) << op->output();
  harbor_.control("DELETE", "/sim/faults");
  ASSERT_TRUE(waitReady({"harborproject", "team-a"}, "Synced", 60)) << "recovers with backoff";

  // The CRD lets a RobotAccount with an impossible rotation through; the operator says why.
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: RobotAccount
metadata: {name: odd}
spec: {project: team-a, duration: 1, rotateBefore: 48h}
)");
  ASSERT_TRUE(waitReady({"robotaccount", "odd"}, "InvalidSpec")) << op->output();
  EXPECT_THAT(condition(get({"robotaccount", "odd"}), "Ready", "message"),
              HasSubstr("rotateBefore"));
  json robots = harborGet(
      "/api/v2.0/robots?q=Level%3Dproject%2CProjectID%3D" +
      std::to_string(get({"harborproject", "team-a"})["status"]["projectID"].get<int64_t>()));
  EXPECT_TRUE(robots.is_array() && robots.empty()) << "nothing created in Harbor: " << robots;
}

constexpr const char* kNamespaces = R"(apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns-a, labels: {team: a}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns-b, labels: {team: b}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: apps}
imagePullSecrets: [{name: other}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: builder, namespace: ns-a}
)";

constexpr const char* kRobot = R"(apiVersion: harbormaster.io/v1alpha1
kind: RobotAccount
metadata: {name: puller}
spec:
  project: team-a
  pullSecret:
    name: harbor-pull
    namespaces: [apps]
    namespaceSelector: {matchLabels: {team: a}}
    serviceAccounts: ["*"]
)";

TEST_F(OperatorTest, RobotPullSecretsFollowNamespacesServiceAccountsAndTheResourceLifetime) {
  auto op = startOperator("operator.log");
  apply(kProject);
  apply(kNamespaces);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"})) << op->output();
  testing::OciLayout layout;
  layout.addImage("v1", "team-a-app");
  layout.push("v1", harbor_.host() + "/team-a/app:v1", false, "admin:" + harbor_.adminPassword());
  apply(kRobot);
  ASSERT_TRUE(waitReady({"robotaccount", "puller"})) << op->output();
  json ra = get({"robotaccount", "puller"});
  EXPECT_EQ(ra["status"]["robotName"], "robot$team-a+puller");
  EXPECT_EQ(ra["status"]["secretNamespaces"], 2);
  EXPECT_FALSE(ra["status"].value("expiresAt", "").empty()) << "30 days by default";

  for (const char* ns : {"apps", "ns-a"}) {
    json secret = get({"secret", "-n", ns, "harbor-pull"});
    ASSERT_TRUE(secret.is_object()) << ns;
    EXPECT_EQ(secret["metadata"]["labels"]["app.kubernetes.io/managed-by"], "harbormaster");
    EXPECT_EQ(secret["metadata"]["annotations"]["harbormaster.io/robot-account"], "puller");
    auto cred = pullCredential(ns, "harbor-pull");
    EXPECT_EQ(cred.first, "robot$team-a+puller");
    EXPECT_TRUE(canPull(cred, "team-a/app:v1")) << "the robot pulls the private image";
  }
  EXPECT_TRUE(get({"secret", "-n", "ns-b", "harbor-pull"}).is_null());
  EXPECT_EQ(pullSecretsOf("apps", "default"), (std::vector<std::string>{"other", "harbor-pull"}));
  EXPECT_EQ(pullSecretsOf("ns-a", "builder"), (std::vector<std::string>{"harbor-pull"}));

  // A namespace created later, with its ServiceAccount, is covered within seconds.
  apply(R"(apiVersion: v1
kind: Namespace
metadata: {name: ns-c, labels: {team: a}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: ns-c}
)");
  ASSERT_TRUE(testing::eventually(10, [&] {
    return harborAccepts(pullCredential("ns-c", "harbor-pull")) &&
           pullSecretsOf("ns-c", "default") == std::vector<std::string>{"harbor-pull"};
  })) << op->output();

  // A namespace that stops matching loses the Secret and the ServiceAccount entry.
  std::string out;
  ASSERT_EQ(kube_.kubectl({"patch", "namespace", "ns-a", "--type=merge", "-p",
                           R"({"metadata":{"labels":{"team":"b"}}})"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(10, [&] {
    return get({"secret", "-n", "ns-a", "harbor-pull"}).is_null() &&
           pullSecretsOf("ns-a", "builder").empty();
  }));

  // A Secret of the same name that is not ours is never overwritten.
  apply(R"(apiVersion: v1
kind: Namespace
metadata: {name: ns-d, labels: {team: a}}
---
apiVersion: v1
kind: Secret
metadata: {name: harbor-pull, namespace: ns-d}
type: Opaque
data: {token: bWluZQ==}
)");
  ASSERT_TRUE(waitReady({"robotaccount", "puller"}, "SecretConflict"));
  EXPECT_THAT(condition(get({"robotaccount", "puller"}), "Ready", "message"),
              HasSubstr("ns-d/harbor-pull"));
  EXPECT_EQ(get({"secret", "-n", "ns-d", "harbor-pull"})["data"]["token"], "bWluZQ==");
  EXPECT_THAT(get({"events.events.k8s.io", "-A"}).dump(), HasSubstr("SecretConflict"));

  // Deleting the RobotAccount removes everything it wrote, and its robot.
  ASSERT_EQ(kube_.kubectl({"delete", "robotaccount", "puller", "--wait=false"}, out), 0) << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return get({"robotaccount", "puller"}).is_null();
  })) << op->output();
  for (const char* ns : {"apps", "ns-c"}) {
    EXPECT_TRUE(get({"secret", "-n", ns, "harbor-pull"}).is_null()) << ns;
  }
  EXPECT_EQ(pullSecretsOf("apps", "default"), (std::vector<std::string>{"other"}));
  EXPECT_TRUE(pullSecretsOf("ns-c", "default").empty());
  EXPECT_TRUE(get({"secret", "-n", "ns-d", "harbor-pull"}).is_object()) << "not ours: kept";
  EXPECT_TRUE(get({"secret", "-n", "harbormaster", "harbormaster-robot-puller"}).is_null());
  EXPECT_EQ(robotsInHarbor(), json::array());
}

// A CI robot spanning projects: one system robot pushes to staging and production (what a
// promotion pipeline needs) and to nothing else, and follows its spec's grants.
TEST_F(OperatorTest, ASystemRobotPushesToTheProjectsItNamesAndNoOthers) {
  auto op = startOperator("operator.log");
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: staging}
---
apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: production}
---
apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: other}
---
apiVersion: v1
kind: Namespace
metadata: {name: ci}
---
apiVersion: harbormaster.io/v1alpha1
kind: RobotAccount
metadata: {name: ci-pusher}
spec:
  level: System
  permissions:
    - {resource: repository, action: push}
    - {resource: repository, action: pull}
  projects:
    - project: staging
    - project: production
  credentialsSecret: {name: harbor-ci, namespace: ci}
)");
  // Applied together: the robot waits for its projects instead of meeting Harbor's 404.
  ASSERT_TRUE(waitReady({"robotaccount", "ci-pusher"})) << op->output();
  json ra = get({"robotaccount", "ci-pusher"});
  EXPECT_EQ(ra["status"]["robotName"], "robot$ci-pusher") << "a system robot has no project prefix";
  const int64_t id = ra["status"].value("robotID", int64_t{0});
  json robot = harborGet("/api/v2.0/robots/" + std::to_string(id));
  ASSERT_TRUE(robot.is_object());
  EXPECT_EQ(robot["level"], "system");
  std::set<std::string> granted;
  for (const auto& p : robot["permissions"]) {
    granted.insert(p.value("namespace", ""));
  }
  EXPECT_EQ(granted, (std::set<std::string>{"staging", "production"}));

  auto cred = ciCredential("ci", "harbor-ci");
  ASSERT_EQ(cred.first, "robot$ci-pusher");
  const std::string creds = cred.first + ":" + cred.second;
  testing::OciLayout layout;
  layout.addImage("v1", "ci-app");
  auto pushes = [&](const std::string& project) {
    try {
      layout.push("v1", harbor_.host() + "/" + project + "/app:v1", false, creds);
      return true;
    } catch (const std::runtime_error&) {
      return false;
    }
  };
  EXPECT_TRUE(pushes("staging"));
  EXPECT_TRUE(pushes("production"));
  EXPECT_FALSE(pushes("other")) << "a project the spec does not name";
  EXPECT_TRUE(canPull(cred, "production/app:v1"));

  // Production dropped from the spec: Harbor's robot loses it, the credential stays the same.
  std::string out;
  ASSERT_EQ(kube_.kubectl({"patch", "robotaccount", "ci-pusher", "--type=merge", "-p",
                           R"({"spec":{"projects":[{"project":"staging"}]}})"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(15, [&] {
    json r = harborGet("/api/v2.0/robots/" + std::to_string(id));
    return r.is_object() && r["permissions"].size() == 1 &&
           r["permissions"][0].value("namespace", "") == "staging";
  })) << op->output();
  EXPECT_FALSE(pushes("production"));
  EXPECT_TRUE(pushes("staging"));
  EXPECT_EQ(ciCredential("ci", "harbor-ci"), cred);

  // Deleted: the system robot goes from Harbor, the credentials Secret from the cluster.
  ASSERT_EQ(kube_.kubectl({"delete", "robotaccount", "ci-pusher", "--wait=false"}, out), 0) << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return get({"robotaccount", "ci-pusher"}).is_null();
  })) << op->output();
  EXPECT_EQ(harborGet("/api/v2.0/robots?q=Level%3Dsystem"), json::array());
  EXPECT_TRUE(get({"secret", "-n", "ci", "harbor-ci"}).is_null());
  EXPECT_FALSE(harborAccepts(cred));
}

// The chart's webhook.harbor.provisionRobot: the operator keeps the webhook's read-only system
// robot in the webhook's Secret; the webhook, reading the mounted Secret, follows a rotation
// without a restart and without a failed review.
TEST_F(OperatorTest, TheWebhooksOwnRobotRotatesUnderReviewsWithoutAFailure) {
  // The grace outlasts the kubelet's copy (here: below) plus the webhook's file check.
  auto op = startOperator("operator.log", {"--rotation-grace", "4s"});
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: shop}
---
apiVersion: harbormaster.io/v1alpha1
kind: RobotAccount
metadata: {name: harbormaster-webhook}
spec:
  level: System
  name: harbormaster-webhook
  projects:
    - project: "*"
      permissions:
        - {resource: project, action: read}
        - {resource: repository, action: pull}
        - {resource: artifact, action: read}
        - {resource: artifact-addition, action: read}
        - {resource: accessory, action: list}
  credentialsSecret: {name: harbormaster-webhook-harbor, namespace: harbormaster}
)");
  ASSERT_TRUE(waitReady({"harborproject", "shop"})) << op->output();
  testing::OciLayout layout;
  auto img = layout.addImage("v1", "shop-app");
  layout.push("v1", harbor_.host() + "/shop/app:v1", false, "admin:" + harbor_.adminPassword());
  harbor_.setScan(R"({"digest":")" + img.digest + R"(","status":"Success","vulnerabilities":[]})");
  const std::string image = harbor_.host() + "/shop/app@" + img.digest;

  // The kubelet's part: the Secret copied into a volume the way a Secret volume changes.
  testing::SecretVolume volume(dir_, "webhook-harbor");
  std::atomic<bool> stop{false};
  std::thread kubelet([&] {
    std::map<std::string, std::string> last;
    while (!stop) {
      json s = get({"secret", "-n", "harbormaster", "harbormaster-webhook-harbor"});
      std::map<std::string, std::string> data;
      if (s.is_object()) {
        const json fields = s.value("data", json::object());  // items() of a temporary dangles
        for (const auto& [k, v] : fields.items()) {
          if (v.is_string()) {
            data[k] = base64Decode(v.get<std::string>()).value_or("");
          }
        }
      }
      if (!data.empty() && data != last) {
        volume.write(data);
        last = data;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  ASSERT_TRUE(waitReady({"robotaccount", "harbormaster-webhook"})) << op->output();
  ASSERT_TRUE(testing::eventually(
      10, [&] { return std::filesystem::exists(volume.path() + "/password"); }));
  dir_.write("policy.yaml", R"(apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: scans}
spec:
  match: {namespaces: [shop]}
  vulnerabilities: {severity: High}
)");
  testing::TempDir webhookDir;
  auto webhook = testing::startWebhook(
      webhookDir, {"--policy", dir_.file("policy.yaml"), "--harbor-url", harbor_.url(),
                   "--harbor-credentials-file", volume.path(), "--policy-check-interval", "100ms",
                   "--scan-cache-ttl", "1ms", "--scan-negative-ttl", "1ms"});
  ASSERT_TRUE(webhook.ready) << webhook.process->output();

  // Reviews all along; each asks Harbor with whatever credential the webhook holds.
  std::atomic<int> reviews{0}, failed{0};
  std::string lastFailure;
  std::thread reviewer([&] {
    while (!stop) {
      json res = testing::reviewResponse(webhook.port, testing::podReview(image, "shop"));
      ++reviews;
      if (!res.is_object() || res.value("allowed", false) != true) {
        ++failed;
        lastFailure = res.dump();
      }
    }
  });
  ASSERT_TRUE(testing::eventually(10, [&] { return reviews > 3; }));
  auto before = ciCredential("harbormaster", "harbormaster-webhook-harbor");
  std::string out;
  ASSERT_EQ(
      kube_.kubectl(
          {"annotate", "robotaccount", "harbormaster-webhook", "harbormaster.io/rotate=1"}, out),
      0)
      << out;
  // Rotated, and the old robot deleted after its grace: from then on only the new one works.
  const bool retired = testing::eventually(30, [&] {
    json robots = harborGet("/api/v2.0/robots?q=Level%3Dsystem");
    return robots.is_array() && robots.size() == 1 &&
           robots[0].value("name", "") == "robot$harbormaster-webhook.b";
  });
  const int atRetirement = reviews;
  const bool continued = testing::eventually(10, [&] { return reviews > atRetirement + 5; });
  stop = true;
  reviewer.join();
  kubelet.join();
  ASSERT_TRUE(retired) << op->output();
  ASSERT_TRUE(continued);
  EXPECT_FALSE(harborAccepts(before)) << "the old robot is gone";
  EXPECT_EQ(failed, 0) << reviews << " reviews; last failure: " << lastFailure << "\n"
                       << webhook.process->output();
  EXPECT_THAT(webhook.process->output(), HasSubstr("Reloaded Harbor credentials"));
  EXPECT_THAT(webhook.process->output(), HasSubstr("robot$harbormaster-webhook.b"));
  EXPECT_THAT(webhook.process->output(), ::testing::Not(HasSubstr(before.second)))
      << "never log a secret";
}

TEST_F(OperatorTest, LostRejectedDeletedOrDisabledCredentialsAreReplaced) {
  auto op = startOperator("operator.log");
  apply(kProject);
  apply(kNamespaces);
  apply(kRobot);
  ASSERT_TRUE(waitReady({"robotaccount", "puller"})) << op->output();
  auto first = pullCredential("apps", "harbor-pull");
  ASSERT_TRUE(harborAccepts(first));

  // The master credential Secret is lost: a new secret is set (write-ahead) and fanned out.
  std::string out;
  ASSERT_EQ(
      kube_.kubectl({"delete", "secret", "-n", "harbormaster", "harbormaster-robot-puller"}, out),
      0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    auto now = pullCredential("apps", "harbor-pull");
    return now.second != first.second && harborAccepts(now);
  })) << op->output();
  EXPECT_FALSE(harborAccepts(first));
  EXPECT_EQ(robotsInHarbor().size(), 1u) << "the same robot, not a second one";

  // Someone resets the secret in Harbor's UI: the stored one is rejected, a new one is set.
  int64_t id = get({"robotaccount", "puller"})["status"]["robotID"];
  auto second = pullCredential("apps", "harbor-pull");
  ASSERT_EQ(harbor_.curl("PATCH", "/api/v2.0/robots/" + std::to_string(id), "{}", out), 200) << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    auto now = pullCredential("apps", "harbor-pull");
    return now.second != second.second && harborAccepts(now);
  })) << op->output();

  // Someone disables the robot: it is enabled again.
  json robot = harborGet("/api/v2.0/robots/" + std::to_string(id));
  robot["disable"] = true;
  ASSERT_EQ(harbor_.curl("PUT", "/api/v2.0/robots/" + std::to_string(id), robot.dump(), out), 200)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    json r = harborGet("/api/v2.0/robots/" + std::to_string(id));
    return r.is_object() && r.value("disable", true) == false &&
           harborAccepts(pullCredential("apps", "harbor-pull"));
  })) << op->output();

  // Someone deletes the robot: it is made again, and the pull secrets follow.
  ASSERT_EQ(harbor_.curl("DELETE", "/api/v2.0/robots/" + std::to_string(id), "", out), 200) << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    json ra = get({"robotaccount", "puller"});
    return ra["status"].value("robotID", id) != id &&
           harborAccepts(pullCredential("apps", "harbor-pull"));
  })) << op->output();
  EXPECT_THAT(get({"events.events.k8s.io", "-A"}).dump(), HasSubstr("RobotRecreated"));
}

// The pull secrets and the CI credentials Secret (spec.credentialsSecret) alike.
TEST_F(OperatorTest, RotationPutsTheNewCredentialEverywhereBeforeTheOldOneStops) {
  auto op = startOperator("operator.log");
  apply(kProject);
  apply(kNamespaces);
  apply(std::string(kRobot) + "  credentialsSecret: {name: team-a-ci, namespace: apps}\n");
  ASSERT_TRUE(waitReady({"robotaccount", "puller"})) << op->output();
  auto before = pullCredential("apps", "harbor-pull");
  ASSERT_TRUE(testing::eventually(10, [&] { return ciCredential("apps", "team-a-ci") == before; }))
      << "the CI Secret holds the pull secrets' credential";
  json ci = get({"secret", "-n", "apps", "team-a-ci"});
  EXPECT_EQ(base64Decode(ci["data"].value("registry", "")).value_or(""), harbor_.host());
  EXPECT_TRUE(harborAccepts(before));

  // Watch both target Secrets while rotating: a credential Harbor refuses must never still be
  // what a Secret holds.
  std::atomic<bool> done{false};
  std::atomic<int> dead{0}, checks{0};
  std::thread watcher([&] {
    while (!done) {
      for (const char* ns : {"apps", "ns-a"}) {
        auto cred = pullCredential(ns, "harbor-pull");
        ++checks;
        if (!harborAccepts(cred) && pullCredential(ns, "harbor-pull") == cred) {
          ++dead;
        }
      }
      auto ciCred = ciCredential("apps", "team-a-ci");
      ++checks;
      if (!harborAccepts(ciCred) && ciCredential("apps", "team-a-ci") == ciCred) {
        ++dead;
      }
    }
  });
  // Slow Harbor's robot calls down so the rotation spans many of the watcher's samples.
  harbor_.control("POST", "/sim/faults",
                  R"({"path_prefix":"/api/v2.0/robots","status":0,"count":-1,"latency_ms":400})");
  std::string out;
  ASSERT_EQ(kube_.kubectl({"annotate", "robotaccount", "puller", "harbormaster.io/rotate=1"}, out),
            0)
      << out;
  bool rotated = testing::eventually(20, [&] {
    return get({"robotaccount", "puller"})["status"].value("robotName", "") ==
           "robot$team-a+puller.b";
  });
  // Past the grace period: the old robot is gone from Harbor.
  bool retired = rotated && testing::eventually(20, [&] {
                   json robots = robotsInHarbor();
                   return robots.is_array() && robots.size() == 1 &&
                          robots[0].value("name", "") == "robot$team-a+puller.b";
                 });
  done = true;
  watcher.join();
  harbor_.control("DELETE", "/sim/faults");
  ASSERT_TRUE(rotated) << op->output();
  ASSERT_TRUE(retired) << robotsInHarbor();
  EXPECT_EQ(dead, 0) << "a target Secret held a dead credential (" << checks << " checks)";
  EXPECT_GT(checks, 4);
  for (const char* ns : {"apps", "ns-a"}) {
    auto now = pullCredential(ns, "harbor-pull");
    EXPECT_EQ(now.first, "robot$team-a+puller.b");
    EXPECT_TRUE(harborAccepts(now));
  }
  EXPECT_EQ(ciCredential("apps", "team-a-ci").first, "robot$team-a+puller.b");
  EXPECT_TRUE(harborAccepts(ciCredential("apps", "team-a-ci")));
  EXPECT_FALSE(harborAccepts(before));
  EXPECT_FALSE(get({"robotaccount", "puller"})["status"].value("lastRotation", "").empty());

  // The same annotation value does nothing more; a new one rotates back.
  ASSERT_EQ(
      kube_.kubectl(
          {"annotate", "--overwrite", "robotaccount", "puller", "harbormaster.io/rotate=2"}, out),
      0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return get({"robotaccount", "puller"})["status"].value("robotName", "") ==
           "robot$team-a+puller";
  }));

  // On a schedule, without being asked.
  ASSERT_EQ(kube_.kubectl({"patch", "robotaccount", "puller", "--type=merge", "-p",
                           R"({"spec":{"rotateEvery":"3s"}})"},
                          out),
            0)
      << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return get({"robotaccount", "puller"})["status"].value("robotName", "") ==
           "robot$team-a+puller.b";
  })) << op->output();
  EXPECT_TRUE(harborAccepts(pullCredential("apps", "harbor-pull")));
  EXPECT_TRUE(testing::eventually(10, [&] {
    return harborAccepts(ciCredential("apps", "team-a-ci"));
  })) << "the CI Secret follows scheduled rotations too";

  // Without credentialsSecret the CI Secret goes; the pull secrets stay.
  ASSERT_EQ(kube_.kubectl({"patch", "robotaccount", "puller", "--type=json", "-p",
                           R"([{"op":"remove","path":"/spec/credentialsSecret"}])"},
                          out),
            0)
      << out;
  EXPECT_TRUE(testing::eventually(10, [&] {
    return get({"secret", "-n", "apps", "team-a-ci"}).is_null();
  }));
  EXPECT_FALSE(get({"secret", "-n", "apps", "harbor-pull"}).is_null());
}

TEST_F(OperatorTest, ARetainedRobotOutlivesItsResourceWithItsCredential) {
  auto op = startOperator("operator.log");
  apply(kProject);
  apply(kNamespaces);
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: RobotAccount
metadata: {name: keeper}
spec:
  project: team-a
  deletionPolicy: Retain
  pullSecret: {name: keeper-pull, namespaces: [apps]}
)");
  ASSERT_TRUE(waitReady({"robotaccount", "keeper"})) << op->output();
  auto cred = pullCredential("apps", "keeper-pull");
  ASSERT_TRUE(harborAccepts(cred));
  std::string out;
  ASSERT_EQ(kube_.kubectl({"delete", "robotaccount", "keeper", "--wait=false"}, out), 0) << out;
  ASSERT_TRUE(testing::eventually(20, [&] {
    return get({"robotaccount", "keeper"}).is_null();
  })) << op->output();
  EXPECT_TRUE(get({"secret", "-n", "apps", "keeper-pull"}).is_null()) << "pull secrets go";
  EXPECT_TRUE(harborAccepts(cred)) << "the robot stays in Harbor";
  json master = get({"secret", "-n", "harbormaster", "harbormaster-robot-keeper"});
  ASSERT_TRUE(master.is_object()) << "and so does its only copy of the secret";
  EXPECT_EQ(base64Decode(master["data"].value("password", "")).value_or(""), cred.second);
}

TEST_F(OperatorTest, SteadyStateIsOneHarborReadPerObjectPerResyncAndNoWrites) {
  auto op = startOperator("operator.log");
  // Every section declared, a project robot and a system robot.
  apply(std::string(kProject) +
        "  immutableTags: [{tags: {matches: [\"v*\"]}}]\n"
        "  members: [{user: admin, role: projectAdmin}]\n"
        "  retention: {schedule: \"0 0 2 * * *\", rules: [{latestPushedK: 10}]}\n");
  apply(kNamespaces);
  apply(kRobot);
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: RobotAccount
metadata: {name: ci}
spec:
  level: System
  projects: [{project: team-a}]
)");
  ASSERT_TRUE(waitReady({"robotaccount", "puller"})) << op->output();
  ASSERT_TRUE(waitReady({"robotaccount", "ci"})) << op->output();
  ASSERT_TRUE(waitReady({"harborproject", "team-a"})) << op->output();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // let the last status writes land
  harbor_.control("DELETE", "/sim/stats");
  kube_.control("DELETE", "/sim/stats");
  auto started = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(7));  // three or four resyncs of 2 s
  const double periods =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 2.0;
  json harbor = json::parse(harbor_.control("GET", "/sim/stats"))["requests"];
  json kube = json::parse(kube_.control("GET", "/sim/stats"))["requests"];
  // Reads by what they read: the project, each section, and the robots' credential probes.
  std::map<std::string, int64_t> reads;
  for (const auto& [key, count] : harbor.items()) {
    EXPECT_EQ(key.rfind("GET ", 0), 0u) << "a Harbor write at steady state: " << key;
    const std::string what = key == "GET /api/v2.0/projects/team-a"                ? "project"
                             : key.find("/immutabletagrules") != std::string::npos ? "immutable"
                             : key.find("/members") != std::string::npos           ? "members"
                             : key.find("/retentions/") != std::string::npos       ? "retention"
                                                                                   : "robots";
    reads[what] += count.get<int64_t>();
  }
  const auto perResync = static_cast<int64_t>(periods) + 1;
  EXPECT_GE(reads["project"], 2);
  for (const char* section : {"project", "immutable", "members", "retention"}) {
    EXPECT_GE(reads[section], 1) << section << " is read at resync: " << harbor;
    EXPECT_LE(reads[section], perResync) << section << ": " << harbor;
  }
  EXPECT_LE(reads["robots"], 2 * perResync) << "one probe per robot per resync: " << harbor;
  for (const auto& [key, count] : kube.items()) {
    const bool write = key.rfind("GET ", 0) != 0;
    const bool lease = key.find("/leases/") != std::string::npos;
    EXPECT_TRUE(!write || lease) << "a Kubernetes write at steady state: " << key;
  }
}

TEST_F(OperatorTest, AnOperatorKilledMidCreateLeavesNothingLostOrDuplicated) {
  auto first = startOperator("first.log", {"--leader-elect=false"});
  apply(kProject);
  apply(kNamespaces);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"})) << first->output();
  // Harbor takes its time with robots; the operator dies while Harbor is creating one, so the
  // secret Harbor returns is never seen.
  harbor_.control("POST", "/sim/faults",
                  R"({"path_prefix":"/api/v2.0/robots","status":0,"count":-1,"latency_ms":2000})");
  harbor_.control("DELETE", "/sim/stats");
  apply(kRobot);
  ASSERT_TRUE(testing::eventually(20, [&] { return harborCalls("POST /api/v2.0/robots") >= 1; }))
      << first->output();
  first->signal(SIGKILL);
  first->wait(5);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // Harbor finishes the create
  harbor_.control("DELETE", "/sim/faults");
  ASSERT_EQ(robotsInHarbor().size(), 1u);

  auto second = startOperator("second.log", {"--leader-elect=false"});
  ASSERT_TRUE(waitReady({"robotaccount", "puller"})) << second->output();
  json robots = robotsInHarbor();
  ASSERT_EQ(robots.size(), 1u) << "adopted, not created twice: " << robots;
  EXPECT_EQ(robots[0]["name"], "robot$team-a+puller");
  for (const char* ns : {"apps", "ns-a"}) {
    EXPECT_TRUE(harborAccepts(pullCredential(ns, "harbor-pull"))) << ns;
  }
  EXPECT_EQ(harborCalls("POST /api/v2.0/robots"), 1) << "no second robot was created";
}

// Dashboards built for controller-runtime operators read these names; each is on /metrics
// for every controller from the start.
// --log-level is honoured (it was accepted and ignored): at warn, a healthy start that
// reconciles a project logs nothing at info.
TEST_F(OperatorTest, LogLevelIsHonoured) {
  auto op = startOperator("quiet.log", {"--identity", "op-quiet", "--log-level", "warn"});
  apply(kProject);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"})) << op->output();
  EXPECT_THAT(op->output(), Not(HasSubstr("\"level\":\"info\""))) << op->output();
}

TEST_F(OperatorTest, MetricsCarryControllerRuntimesNames) {
  auto op = startOperator("metrics.log", {"--identity", "op-metrics"});
  apply(kProject);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"})) << op->output();
  const std::string metrics = opsGet("metrics.log", "/metrics");
  for (const char* name :
       {"controller_runtime_reconcile_total", "controller_runtime_reconcile_errors_total",
        "controller_runtime_terminal_reconcile_errors_total",
        "controller_runtime_reconcile_time_seconds_bucket", "controller_runtime_active_workers",
        "controller_runtime_max_concurrent_reconciles", "workqueue_depth", "workqueue_adds_total",
        "workqueue_queue_duration_seconds_bucket", "workqueue_work_duration_seconds_bucket",
        "workqueue_retries_total", "workqueue_unfinished_work_seconds",
        "workqueue_longest_running_processor_seconds"}) {
    for (const char* controller : {"harborproject", "robotaccount", "policystatus"}) {
      const std::string label =
          std::string(name).starts_with("workqueue") ? "name=\"" : "controller=\"";
      EXPECT_THAT(metrics, HasSubstr(std::string(name) + "{" + label + controller + "\""))
          << name << " for " << controller;
    }
  }
  EXPECT_THAT(metrics,
              HasSubstr("leader_election_master_status{name=\"harbormaster-operator\"} 1"));
  EXPECT_THAT(
      metrics,
      HasSubstr("controller_runtime_max_concurrent_reconciles{controller=\"robotaccount\"} 4"));
  EXPECT_THAT(
      metrics,
      HasSubstr(
          "controller_runtime_reconcile_total{controller=\"harborproject\",result=\"success\"}"));
}

TEST_F(OperatorTest, AStandbyTakesOverWhenTheLeaderDiesOrStepsDown) {
  // Short Lease timings (the defaults are kube-controller-manager's 15 s / 10 s / 2 s): the
  // handover logic is the same, the wait for a dead leader's Lease to run out is not 15 s.
  // Margins stay wide enough for ASan on two busy cores: a renewal that took 4 s would lose it.
  const std::vector<std::string> lease = {"--leader-elect-lease-duration", "6s",
                                          "--leader-elect-renew-deadline", "4s",
                                          "--leader-elect-retry-period",   "1s"};
  auto with = [&](std::vector<std::string> flags) {
    flags.insert(flags.end(), lease.begin(), lease.end());
    return flags;
  };
  auto one = startOperator("one.log", with({"--identity", "op-1"}));
  apply(kProject);
  ASSERT_TRUE(waitReady({"harborproject", "team-a"})) << one->output();
  auto two = startOperator("two.log", with({"--identity", "op-2"}));
  auto holder = [&] {
    json lease = get({"lease", "-n", "harbormaster", "harbormaster-operator"});
    return lease.is_object() ? lease["spec"].value("holderIdentity", "") : std::string();
  };
  ASSERT_EQ(holder(), "op-1");
  EXPECT_THAT(opsGet("one.log", "/metrics"), HasSubstr("controller_runtime_reconcile_total"))
      << one->output();

  // Deadlines below are generous: CI runs this under ASan on two busy cores (a 40 s wait once
  // ran out there). They bound a hang; they measure nothing.
  // The leader dies without a word: the standby leads once the lease runs out (6 s here).
  one->signal(SIGKILL);
  one->wait(5);
  apply(kNamespaces);
  apply(kRobot);
  ASSERT_TRUE(waitReady({"robotaccount", "puller"}, "Synced", 90)) << two->output();
  EXPECT_EQ(holder(), "op-2");
  EXPECT_THAT(opsGet("two.log", "/metrics"),
              HasSubstr("harbormaster_robot_days_to_expiry{robot_account=\"puller\"}"));

  // A leader that is told to stop hands the lease over at once.
  auto three = startOperator("three.log", with({"--identity", "op-3"}));
  ASSERT_TRUE(testing::eventually(30, [&] { return opsGet("three.log", "/readyz") == "ok"; }));
  two->signal(SIGTERM);
  EXPECT_EQ(two->wait(30), 0) << two->output();
  ASSERT_TRUE(testing::eventually(30, [&] { return holder() == "op-3"; })) << three->output();
  apply(R"(apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: team-b}
)");
  ASSERT_TRUE(waitReady({"harborproject", "team-b"}, "Synced", 45)) << three->output();
}

TEST(OperatorCommandTest, BadFlagsAndConfigurationAreClearErrors) {
  testing::TempDir dir;
  dir.write("kubeconfig", "this is not a kubeconfig: [");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      // Without Harbor only the policy status controller runs; the cluster is still needed.
      {{"--kubeconfig", dir.file("kubeconfig")}, "Failed to load the Kubernetes configuration"},
      {{"--harbor-url", "https://h", "--leader-elect=maybe"},
       "--leader-elect must be true or false"},
      {{"--harbor-url", "https://h", "--resync", "0s"}, "--resync must be at least 1s"},
      {{"--harbor-url", "https://h", "--leader-elect-lease-duration", "5s",
        "--leader-elect-renew-deadline", "5s"},
       "--leader-elect-lease-duration must exceed --leader-elect-renew-deadline"},
      {{"--harbor-url", "https://h", "--workers", "0"}, "--workers must be between 1 and 64"},
      {{"--harbor-url", "https://h", "--log-level", "loud"},
       "--log-level must be debug, info, warn or error"},
      {{"--harbor-url", "https://h", "--shutdown-grace", "15"},
       "--shutdown-grace: \"15\" is not a duration like"},
      {{"--harbor-url", "https://h", "--bogus", "1"}, "bogus"},
      {{"--harbor-url", "https://h", "--kubeconfig", dir.file("kubeconfig")},
       "Failed to load the Kubernetes configuration"}};
  for (const auto& [args, want] : cases) {
    std::vector<std::string> argv = {HM_BINARY, "operator"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    EXPECT_EQ(testing::runCommand(argv, out), 2) << out;
    EXPECT_THAT(out, HasSubstr(want));
  }
}

}  // namespace
}  // namespace hm
