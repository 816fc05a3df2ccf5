// The Kubernetes REST client against kube-sim, and kubectl against kube-sim.
#include "harbormaster/kube/client.h"
#include "harbormaster/kube/events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <future>
#include <mutex>

#include "harbormaster/base/encoding.h"
#include "support/async.h"
#include "support/certs.h"
#include "support/kube_rig.h"
#include "support/temp_dir.h"

namespace hm::kube {
namespace {

using hm::testing::runOn;
using nlohmann::json;
using ::testing::HasSubstr;

Deadline soon() {
  return std::chrono::steady_clock::now() + std::chrono::seconds(10);
}

const Resource kSecrets{"", "v1", "secrets"};
const Resource kConfigMaps{"", "v1", "configmaps"};
const Resource kNamespaces{"", "v1", "namespaces", false};
const Resource kCrds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
const Resource kWidgets{"example.com", "v1", "widgets"};

class KubeClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { rig_ = new hm::testing::KubeSimRig(); }
  static void TearDownTestSuite() { delete rig_; }

  void SetUp() override {
    auto config = loadKubeconfig({rig_->kubeconfig()}, "");
    ASSERT_TRUE(config.ok()) << config.status().message();
    auto c = Client::create(io_.ioc().get_executor(), *config);
    ASSERT_TRUE(c.ok()) << c.status().message();
    kube_ = std::move(*c);
  }

  json secret(const std::string& name) {
    return {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", name}}},
            {"type", "Opaque"},
            {"data", {{"k", "dg=="}}}};
  }

  void defineWidgets() {
    json crd =
        json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
      "metadata":{"name":"widgets.example.com"},
      "spec":{"group":"example.com","scope":"Namespaced",
        "names":{"plural":"widgets","singular":"widget","kind":"Widget"},
        "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
          "schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})");
    auto r = runOn(io_.ioc(), kube_->create(kCrds, "", crd, soon()));
    ASSERT_TRUE(r.ok() || r.status().code() == StatusCode::kAlreadyExists) << r.status().message();
  }

  static hm::testing::KubeSimRig* rig_;
  hm::testing::IoThreads io_;
  std::unique_ptr<Client> kube_;
};

hm::testing::KubeSimRig* KubeClientTest::rig_ = nullptr;

TEST_F(KubeClientTest, CreateGetUpdateDeleteWithTypedErrors) {
  auto created = runOn(io_.ioc(), kube_->create(kSecrets, "default", secret("s1"), soon()));
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_FALSE((*created)["metadata"].value("uid", "").empty());
  std::string rv = (*created)["metadata"]["resourceVersion"];

  auto dup = runOn(io_.ioc(), kube_->create(kSecrets, "default", secret("s1"), soon()));
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(dup.status().message(), HasSubstr("secrets \"s1\" already exists"));

  json changed = *created;
  changed["data"]["k"] = "dzI=";
  auto updated = runOn(io_.ioc(), kube_->update(kSecrets, "default", changed, soon()));
  ASSERT_TRUE(updated.ok()) << updated.status().message();
  EXPECT_NE((*updated)["metadata"]["resourceVersion"], rv);
  auto stale = runOn(io_.ioc(), kube_->update(kSecrets, "default", changed, soon()));
  EXPECT_EQ(stale.status().code(), StatusCode::kConflict) << "the same resourceVersion again";
  EXPECT_THAT(stale.status().message(), HasSubstr("the object has been modified"));

  auto wrongUid =
      runOn(io_.ioc(), kube_->remove(kSecrets, "default", "s1", {"", "not-the-uid", ""}, soon()));
  EXPECT_EQ(wrongUid.status().code(), StatusCode::kConflict);
  ASSERT_TRUE(runOn(io_.ioc(), kube_->remove(kSecrets, "default", "s1", {}, soon())).ok());
  auto gone = runOn(io_.ioc(), kube_->get(kSecrets, "default", "s1", soon()));
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);

  auto invalid = runOn(io_.ioc(), kube_->create(kSecrets, "default", secret("Bad_Name"), soon()));
  EXPECT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  auto noNs = runOn(io_.ioc(), kube_->create(kSecrets, "nowhere", secret("s2"), soon()));
  EXPECT_EQ(noNs.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(noNs.status().message(), HasSubstr("namespaces \"nowhere\" not found"));
}

TEST_F(KubeClientTest, ListsEveryPageAndFiltersByLabel) {
  for (int i = 0; i < 7; ++i) {
    json cm = {
        {"metadata",
         {{"name", "page-" + std::to_string(i)}, {"labels", {{"app", i % 2 ? "odd" : "even"}}}}},
        {"data", {{"i", std::to_string(i)}}}};
    ASSERT_TRUE(runOn(io_.ioc(), kube_->create(kConfigMaps, "default", cm, soon())).ok());
  }
  rig_->control("DELETE", "/sim/stats");
  auto all = runOn(io_.ioc(), kube_->list(kConfigMaps, "default", {"", "", 3, {}}, soon()));
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ((*all)["items"].size(), 7u);
  EXPECT_FALSE((*all)["metadata"].contains("continue"));
  auto stats = json::parse(rig_->control("GET", "/sim/stats"))["requests"];
  EXPECT_EQ(stats.value("GET /api/v1/namespaces/default/configmaps", 0), 3) << "pages of 3";
  auto odd =
      runOn(io_.ioc(), kube_->list(kConfigMaps, "default", {"app=odd", "", 500, {}}, soon()));
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ((*odd)["items"].size(), 3u);
  auto set = runOn(io_.ioc(), kube_->list(kConfigMaps, "default",
                                          {"app in (odd,even),app!=even", "", 2, {}}, soon()));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ((*set)["items"].size(), 3u);
  auto byName = runOn(io_.ioc(), kube_->list(kConfigMaps, "default",
                                             {"", "metadata.name=page-4", 500, {}}, soon()));
  ASSERT_TRUE(byName.ok());
  ASSERT_EQ((*byName)["items"].size(), 1u);
  // A transform is applied to every item of every page as it arrives.
  auto names =
      runOn(io_.ioc(),
            kube_->list(kConfigMaps, "default",
                        {"", "", 3,
                         [](const nlohmann::json& item) {
                           return nlohmann::json{{"metadata", item["metadata"]}, {"kept", true}};
                         }},
                        soon()));
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ((*names)["items"].size(), 7u) << "every page";
  for (const auto& item : (*names)["items"]) {
    EXPECT_TRUE(item.value("kept", false));
    EXPECT_FALSE(item.contains("data")) << "only what the transform kept";
  }
}

TEST_F(KubeClientTest, PatchTypes) {
  json cm = {{"metadata", {{"name", "patched"}}}, {"data", {{"a", "1"}, {"b", "2"}}}};
  ASSERT_TRUE(runOn(io_.ioc(), kube_->create(kConfigMaps, "default", cm, soon())).ok());
  auto merged = runOn(io_.ioc(), kube_->patch(kConfigMaps, "default", "patched", PatchType::kMerge,
                                              {{"data", {{"a", nullptr}, {"c", "3"}}}}, soon()));
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  EXPECT_EQ((*merged)["data"], (json{{"b", "2"}, {"c", "3"}}));
  auto strategic =
      runOn(io_.ioc(), kube_->patch(kConfigMaps, "default", "patched", PatchType::kStrategicMerge,
                                    {{"metadata", {{"labels", {{"x", "y"}}}}}}, soon()));
  ASSERT_TRUE(strategic.ok()) << strategic.status().message();
  EXPECT_EQ((*strategic)["metadata"]["labels"]["x"], "y");
  auto jp =
      runOn(io_.ioc(),
            kube_->patch(kConfigMaps, "default", "patched", PatchType::kJsonPatch,
                         json::array({{{"op", "replace"}, {"path", "/data/b"}, {"value", "9"}}}),
                         soon()));
  ASSERT_TRUE(jp.ok()) << jp.status().message();
  EXPECT_EQ((*jp)["data"]["b"], "9");
  auto bad = runOn(io_.ioc(),
                   kube_->patch(kConfigMaps, "default", "patched", PatchType::kJsonPatch,
                                json::array({{{"op", "remove"}, {"path", "/nope/x"}}}), soon()));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(KubeClientTest, CustomResourcesGenerationStatusAndFinalizers) {
  defineWidgets();
  json w = {{"apiVersion", "example.com/v1"},
            {"kind", "Widget"},
            {"metadata", {{"name", "w1"}, {"finalizers", {"example.com/cleanup"}}}},
            {"spec", {{"size", 1}}},
            {"status", {{"ignored", true}}}};
  auto created = runOn(io_.ioc(), kube_->create(kWidgets, "default", w, soon()));
  ASSERT_TRUE(created.ok()) << created.status().message();
  EXPECT_EQ((*created)["metadata"]["generation"], 1);
  EXPECT_FALSE(created->contains("status")) << "status is written through /status only";

  json next = *created;
  next["metadata"]["labels"] = {{"only", "metadata"}};
  auto relabeled = runOn(io_.ioc(), kube_->update(kWidgets, "default", next, soon()));
  ASSERT_TRUE(relabeled.ok());
  EXPECT_EQ((*relabeled)["metadata"]["generation"], 1) << "metadata changes keep generation";
  next = *relabeled;
  next["spec"]["size"] = 2;
  auto resized = runOn(io_.ioc(), kube_->update(kWidgets, "default", next, soon()));
  ASSERT_TRUE(resized.ok());
  EXPECT_EQ((*resized)["metadata"]["generation"], 2);
  next = *resized;
  next["status"] = {{"observedGeneration", 2}};
  auto withStatus = runOn(io_.ioc(), kube_->updateStatus(kWidgets, "default", next, soon()));
  ASSERT_TRUE(withStatus.ok()) << withStatus.status().message();
  EXPECT_EQ((*withStatus)["status"]["observedGeneration"], 2);
  EXPECT_EQ((*withStatus)["metadata"]["generation"], 2) << "status writes keep generation";

  auto deleting = runOn(io_.ioc(), kube_->remove(kWidgets, "default", "w1", {}, soon()));
  ASSERT_TRUE(deleting.ok());
  EXPECT_TRUE((*deleting)["metadata"].contains("deletionTimestamp"));
  auto still = runOn(io_.ioc(), kube_->get(kWidgets, "default", "w1", soon()));
  ASSERT_TRUE(still.ok()) << "a finalizer holds the object";
  auto released = runOn(io_.ioc(), kube_->patch(kWidgets, "default", "w1", PatchType::kMerge,
                                                {{"metadata", {{"finalizers", nullptr}}}}, soon()));
  ASSERT_TRUE(released.ok()) << released.status().message();
  EXPECT_EQ(runOn(io_.ioc(), kube_->get(kWidgets, "default", "w1", soon())).status().code(),
            StatusCode::kNotFound);
}

TEST_F(KubeClientTest, StructuralSchemasPruneDefaultAndValidateAsTheApiServerDoes) {
  const Resource sprockets{"example.com", "v1", "sprockets", false};
  json crd =
      json::parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"sprockets.example.com"},
    "spec":{"group":"example.com","scope":"Cluster",
      "names":{"plural":"sprockets","singular":"sprocket","kind":"Sprocket"},
      "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
        "schema":{"openAPIV3Schema":{"type":"object","properties":{
          "spec":{"type":"object","properties":{
            "teeth":{"type":"integer","default":12},
            "policy":{"type":"string","enum":["Retain","Delete"]},
            "labels":{"type":"object","additionalProperties":{"type":"string"}},
            "extra":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}},
          "status":{"type":"object","properties":{"ready":{"type":"boolean"}}}}}}}]}})");
  ASSERT_TRUE(runOn(io_.ioc(), kube_->create(kCrds, "", crd, soon())).ok());
  json s = {
      {"apiVersion", "example.com/v1"},
      {"kind", "Sprocket"},
      {"metadata", {{"name", "s1"}}},
      {"spec",
       {{"colour", "red"}, {"labels", {{"a", "b"}}}, {"extra", {{"anything", {{"goes", 1}}}}}}}};
  auto created = runOn(io_.ioc(), kube_->create(sprockets, "", s, soon()));
  ASSERT_TRUE(created.ok()) << created.status().message();
  const json& spec = (*created)["spec"];
  EXPECT_FALSE(spec.contains("colour")) << "undeclared fields are pruned";
  EXPECT_EQ(spec["teeth"], 12) << "defaults are applied";
  EXPECT_EQ(spec["labels"]["a"], "b");
  EXPECT_EQ(spec["extra"]["anything"]["goes"], 1);

  // A status field the schema does not declare is dropped: an operator must declare what it
  // writes, or a real API server silently loses it.
  json st = *created;
  st["status"] = {{"ready", true}, {"robotSecret", "x"}};
  auto withStatus = runOn(io_.ioc(), kube_->updateStatus(sprockets, "", st, soon()));
  ASSERT_TRUE(withStatus.ok()) << withStatus.status().message();
  EXPECT_EQ((*withStatus)["status"], json({{"ready", true}}));

  json bad = *withStatus;
  bad["spec"]["policy"] = "Keep";
  bad["spec"]["teeth"] = "many";
  auto invalid = runOn(io_.ioc(), kube_->update(sprockets, "", bad, soon()));
  ASSERT_EQ(invalid.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.status().message(), HasSubstr("spec.policy"));
  EXPECT_THAT(invalid.status().message(), HasSubstr("spec.teeth"));
}

TEST_F(KubeClientTest, DeletingANamespaceDeletesItsContent) {
  ASSERT_TRUE(
      runOn(io_.ioc(), kube_->create(kNamespaces, "", {{"metadata", {{"name", "tmp"}}}}, soon()))
          .ok());
  ASSERT_TRUE(runOn(io_.ioc(), kube_->create(kSecrets, "tmp", secret("inside"), soon())).ok());
  ASSERT_TRUE(runOn(io_.ioc(), kube_->remove(kNamespaces, "", "tmp", {}, soon())).ok());
  EXPECT_EQ(runOn(io_.ioc(), kube_->get(kSecrets, "tmp", "inside", soon())).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(runOn(io_.ioc(), kube_->get(kNamespaces, "", "tmp", soon())).status().code(),
            StatusCode::kNotFound);
}

TEST_F(KubeClientTest, ThrottlingOutagesAndBadCredentials) {
  rig_->control("POST", "/sim/faults", R"({"status":429,"count":1})");
  auto throttled = runOn(io_.ioc(), kube_->get(kNamespaces, "", "default", soon()));
  EXPECT_TRUE(throttled.ok()) << "a GET is retried after Retry-After: "
                              << throttled.status().message();
  rig_->control("POST", "/sim/faults", R"({"status":429,"count":1})");
  auto post = runOn(io_.ioc(), kube_->create(kSecrets, "default", secret("throttled"), soon()));
  EXPECT_EQ(post.status().code(), StatusCode::kResourceExhausted) << "a POST is not repeated";
  rig_->control("POST", "/sim/faults", R"({"status":503,"count":-1})");
  auto down = runOn(io_.ioc(), kube_->get(kNamespaces, "", "default", soon()));
  rig_->control("DELETE", "/sim/faults");
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);

  ClusterConfig wrong = *loadKubeconfig({rig_->kubeconfig()}, "");
  wrong.token = "not-the-token";
  auto c = Client::create(io_.ioc().get_executor(), wrong);
  ASSERT_TRUE(c.ok());
  auto refused = runOn(io_.ioc(), (*c)->get(kNamespaces, "", "default", soon()));
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(refused.status().message(), ::testing::Not(HasSubstr("not-the-token")));
}

// kubeconfig's user and cluster settings, written as kubectl users write them, against kube-sim.
class KubeClientAuthTest : public KubeClientTest {
 protected:
  StatusOr<json> getDefaultNamespace(const std::string& cluster, const std::string& user) {
    auto base = loadKubeconfig({rig_->kubeconfig()}, "");
    std::string path = dir_.file("config-" + std::to_string(++n_));
    {
      std::ofstream out(path);
      out << "current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
          << "clusters:\n- name: c\n  cluster:\n    server: " << base->server
          << "\n    certificate-authority-data: " << hm::base64Encode(base->caPem) << "\n"
          << cluster << "users:\n- name: u\n  user:\n"
          << user;
    }
    auto config = loadKubeconfig({path}, "");
    if (!config.ok()) {
      return config.status();
    }
    auto c = Client::create(io_.ioc().get_executor(), *config);
    if (!c.ok()) {
      return c.status();
    }
    return runOn(io_.ioc(), (*c)->get(kNamespaces, "", "default", soon()));
  }

  hm::testing::TempDir dir_;
  int n_ = 0;
};

TEST_F(KubeClientAuthTest, ClientCertificatesFromFilesDataAndExecPlugins) {
  auto byFile = getDefaultNamespace("", "    client-certificate: " + rig_->clientCert("admin") +
                                            "\n    client-key: " + rig_->clientKey("admin") + "\n");
  ASSERT_TRUE(byFile.ok()) << byFile.status().message();
  EXPECT_EQ((*byFile)["metadata"]["name"], "default");

  auto data = [](const std::string& file) { return hm::base64Encode(hm::testing::readText(file)); };
  auto byData = getDefaultNamespace(
      "", "    client-certificate-data: " + data(rig_->clientCert("admin")) +
              "\n    client-key-data: " + data(rig_->clientKey("admin")) + "\n");
  EXPECT_TRUE(byData.ok()) << byData.status().message();

  // A verified certificate outside system:masters is authenticated but not authorised.
  auto nobody =
      getDefaultNamespace("", "    client-certificate: " + rig_->clientCert("nobody") +
                                  "\n    client-key: " + rig_->clientKey("nobody") + "\n");
  EXPECT_EQ(nobody.status().code(), StatusCode::kPermissionDenied) << nobody.status().message();
  // One that does not chain to the server's client CA is refused at the handshake, whatever
  // groups it claims.
  hm::testing::makeClientCert(dir_.file("m.crt"), dir_.file("m.key"), "/O=system:masters/CN=m");
  auto forged = getDefaultNamespace("", "    client-certificate: " + dir_.file("m.crt") +
                                            "\n    client-key: " + dir_.file("m.key") + "\n");
  EXPECT_FALSE(forged.ok());

  // An exec plugin that hands out a certificate instead of a token (as some cloud plugins do).
  dir_.write("cert-plugin.sh",
             "#!/bin/sh\n"
             "j() { awk '{printf \"%s\\\\n\", $0}' \"$1\"; }\n"
             "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
             "\"ExecCredential\",\"status\":{\"clientCertificateData\":\"%s\","
             "\"clientKeyData\":\"%s\"}}' \"$(j " +
                 rig_->clientCert("admin") + ")\" \"$(j " + rig_->clientKey("admin") + ")\"\n");
  chmod(dir_.file("cert-plugin.sh").c_str(), 0755);
  auto byExec = getDefaultNamespace("",
                                    "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                                    "      command: " +
                                        dir_.file("cert-plugin.sh") + "\n");
  EXPECT_TRUE(byExec.ok()) << byExec.status().message();
}

TEST_F(KubeClientAuthTest, TlsServerNameIsWhatTheCertificateIsCheckedAgainst) {
  // kube-sim's certificate names localhost and 127.0.0.1; the server URL uses 127.0.0.1.
  const std::string token = "    token: " + rig_->token() + "\n";
  auto asLocalhost = getDefaultNamespace("    tls-server-name: localhost\n", token);
  EXPECT_TRUE(asLocalhost.ok()) << asLocalhost.status().message();
  auto asOther = getDefaultNamespace("    tls-server-name: kubernetes.default.svc\n", token);
  EXPECT_EQ(asOther.status().code(), StatusCode::kFailedPrecondition) << asOther.status().message();
}

TEST_F(KubeClientTest, EventsAreAggregatedPerObjectAndReason) {
  json cm = {{"metadata", {{"name", "flapping"}}}, {"data", {{"a", "1"}}}};
  auto object = runOn(io_.ioc(), kube_->create(kConfigMaps, "default", cm, soon()));
  ASSERT_TRUE(object.ok());
  auto kube = std::shared_ptr<Client>(std::move(kube_));
  EventRecorder recorder(kube, "harbormaster-operator", "pod-a");
  for (int i = 0; i < 5; ++i) {
    Status s =
        runOn(io_.ioc(),
              recorder.record(*object, {"Warning", "SyncFailed", "Sync", "Harbor is unreachable"},
                              soon()));
    ASSERT_TRUE(s.ok()) << s.message();
  }
  ASSERT_TRUE(
      runOn(io_.ioc(), recorder.record(*object, {"Normal", "Synced", "Sync", "in sync"}, soon()))
          .ok());
  const Resource events{"events.k8s.io", "v1", "events"};
  auto list = runOn(io_.ioc(), kube->list(events, "default", {}, soon()));
  ASSERT_TRUE(list.ok()) << list.status().message();
  std::map<std::string, json> byReason;
  for (const auto& e : (*list)["items"]) {
    if (e["regarding"]["name"] == "flapping") {
      byReason[e["reason"]] = e;
    }
  }
  ASSERT_EQ(byReason.size(), 2u) << list->dump();
  EXPECT_EQ(byReason["SyncFailed"]["series"]["count"], 5) << "five reports, one Event";
  EXPECT_EQ(byReason["SyncFailed"]["type"], "Warning");
  EXPECT_EQ(byReason["SyncFailed"]["regarding"]["uid"], (*object)["metadata"]["uid"]);
  EXPECT_EQ(byReason["SyncFailed"]["reportingController"], "harbormaster-operator");
  EXPECT_FALSE(byReason["Synced"].contains("series"));
}

TEST_F(KubeClientTest, WatchesDeliverChangesInOrderFromAListsVersion) {
  ASSERT_TRUE(
      runOn(io_.ioc(), kube_->create(kNamespaces, "", {{"metadata", {{"name", "w"}}}}, soon()))
          .ok());
  json before = {{"metadata", {{"name", "existing"}}}};
  ASSERT_TRUE(runOn(io_.ioc(), kube_->create(kConfigMaps, "w", before, soon())).ok());
  auto list = runOn(io_.ioc(), kube_->list(kConfigMaps, "w", {}, soon()));
  ASSERT_TRUE(list.ok());
  std::string rv = (*list)["metadata"]["resourceVersion"];

  std::mutex mu;
  std::vector<std::string> seen;
  auto watching = std::async(std::launch::async, [&] {
    WatchOptions o;
    o.resourceVersion = rv;
    o.bookmarks = false;
    return runOn(io_.ioc(),
                 kube_->watch(
                     kConfigMaps, "w", o,
                     [&](const WatchEvent& e) {
                       std::lock_guard lock(mu);
                       seen.push_back(e.type + " " + e.object["metadata"].value("name", ""));
                       return e.type != "DELETED";
                     },
                     soon()));
  });
  json x = {{"metadata", {{"name", "x"}}}, {"data", {{"v", "1"}}}};
  auto created = runOn(io_.ioc(), kube_->create(kConfigMaps, "w", x, soon()));
  ASSERT_TRUE(created.ok());
  (*created)["data"]["v"] = "2";
  ASSERT_TRUE(runOn(io_.ioc(), kube_->update(kConfigMaps, "w", *created, soon())).ok());
  ASSERT_TRUE(runOn(io_.ioc(), kube_->remove(kConfigMaps, "w", "x", {}, soon())).ok());
  Status s = watching.get();
  ASSERT_TRUE(s.ok()) << s.message();
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED x", "MODIFIED x", "DELETED x"}))
      << "nothing from before the list's version, nothing missed after it";
}

TEST_F(KubeClientTest, WatchStartsWithCurrentObjectsSendsBookmarksAndEndsWhenDropped) {
  json cm = {{"metadata", {{"name", "bookmarked"}}}};
  ASSERT_TRUE(runOn(io_.ioc(), kube_->create(kConfigMaps, "default", cm, soon())).ok());
  std::vector<WatchEvent> events;
  std::mutex mu;
  auto watching = std::async(std::launch::async, [&] {
    WatchOptions o;  // no resourceVersion: the current objects first
    o.fieldSelector = "metadata.name=bookmarked";
    return runOn(io_.ioc(), kube_->watch(
                                kConfigMaps, "default", o,
                                [&](const WatchEvent& e) {
                                  std::lock_guard lock(mu);
                                  events.push_back(e);
                                  return true;
                                },
                                soon()));
  });
  ASSERT_TRUE(hm::testing::eventually(5, [&] {
    std::lock_guard lock(mu);
    return std::any_of(events.begin(), events.end(),
                       [](const WatchEvent& e) { return e.type == "BOOKMARK"; });
  }));
  rig_->control("POST", "/sim/drop-watches");
  Status s = watching.get();
  EXPECT_TRUE(s.ok()) << "a dropped watch ends cleanly; the caller resumes: " << s.message();
  std::lock_guard lock(mu);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].type, "ADDED");
  auto mark = std::find_if(events.begin(), events.end(),
                           [](const WatchEvent& e) { return e.type == "BOOKMARK"; });
  EXPECT_FALSE(mark->object["metadata"].value("resourceVersion", "").empty());
}

TEST_F(KubeClientTest, AWatchFromAVersionTooOldIsGone) {
  WatchOptions o;
  o.resourceVersion = "5";
  Status s = runOn(io_.ioc(),
                   kube_->watch(
                       kConfigMaps, "default", o, [](const WatchEvent&) { return true; }, soon()));
  EXPECT_EQ(s.code(), StatusCode::kGone) << s.message();
  EXPECT_THAT(s.message(), HasSubstr("too old resource version"));
}

TEST(KubectlSmokeTest, KubectlWorksAgainstKubeSim) {
  hm::testing::KubeSimRig rig;
  hm::testing::TempDir dir;
  std::string out;
  ASSERT_EQ(rig.kubectl({"get", "namespaces"}, out), 0) << out;
  EXPECT_THAT(out, HasSubstr("kube-system"));
  dir.write("cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo, labels: {app: web}}\n"
            "data: {a: b}\n");
  // kubectl validates by default: it reads OpenAPI v3 and asks for fieldValidation=Strict.
  ASSERT_EQ(rig.kubectl({"create", "-f", dir.file("cm.yaml")}, out), 0) << out;
  ASSERT_EQ(rig.kubectl({"patch", "configmap", "demo", "-p", R"({"data":{"c":"d"}})"}, out), 0)
      << out;
  ASSERT_EQ(
      rig.kubectl({"get", "configmap", "-l", "app=web", "-o", "jsonpath={.items[0].data.c}"}, out),
      0)
      << out;
  EXPECT_EQ(out, "d");
  dir.write("crd.yaml", R"(apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Cluster
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer}
              colour: {type: string, enum: [red, blue], default: red}
)");
  ASSERT_EQ(rig.kubectl({"apply", "-f", dir.file("crd.yaml")}, out), 0) << out;
  dir.write("g.yaml",
            "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\n"
            "spec: {size: 1, shape: round}\n");
  EXPECT_NE(rig.kubectl({"apply", "-f", dir.file("g.yaml")}, out), 0);
  EXPECT_THAT(out, HasSubstr(R"(unknown field "spec.shape")"));
  ASSERT_EQ(rig.kubectl({"apply", "--validate=false", "-f", dir.file("g.yaml")}, out), 0) << out;
  dir.write("g.yaml",
            "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g1}\n"
            "spec: {size: 2}\n");
  ASSERT_EQ(rig.kubectl({"apply", "-f", dir.file("g.yaml")}, out), 0) << out;
  EXPECT_THAT(out, HasSubstr("configured"));
  ASSERT_EQ(rig.kubectl({"get", "gd", "g1", "-o",
                         "jsonpath={.spec.size}/{.spec.colour}/{.spec.shape}/"
                         "{.metadata.generation}"},
                        out),
            0);
  EXPECT_EQ(out, "2/red//2") << "defaulted, unknown field pruned, generation bumped";
  EXPECT_NE(
      rig.kubectl({"patch", "gd", "g1", "--type=merge", "-p", R"({"spec":{"size":"x"}})"}, out), 0);
  EXPECT_THAT(out, HasSubstr("spec.size in body must be of type integer"));
  ASSERT_EQ(rig.kubectl({"delete", "-f", dir.file("g.yaml")}, out), 0) << out;
  EXPECT_NE(rig.kubectl({"get", "gadget", "g1"}, out), 0);
  EXPECT_THAT(out, HasSubstr("NotFound"));
}

// The kube client's errors: net::statusFromHttp's table, with the Status body's reason on top.
TEST(KubeErrorTest, TheStatusReasonRefinesTheSharedHttpTable) {
  const std::string exists =
      R"({"kind":"Status","status":"Failure","reason":"AlreadyExists","message":"taken","code":409})";
  EXPECT_EQ(errorFromResponse(409, exists, "create").code(), StatusCode::kAlreadyExists);
  const std::string stale =
      R"({"kind":"Status","status":"Failure","reason":"Conflict","message":"stale","code":409})";
  EXPECT_EQ(errorFromResponse(409, stale, "update").code(), StatusCode::kConflict);
  const std::string expired = R"({"kind":"Status","reason":"Expired","message":"too old"})";
  EXPECT_EQ(errorFromResponse(200, expired, "watch").code(), StatusCode::kGone);
  const std::string invalid = R"({"kind":"Status","reason":"Invalid","message":"bad",
    "details":{"causes":[{"field":"spec.x","message":"must be set"}]},"code":422})";
  Status bad = errorFromResponse(422, invalid, "create x");
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "create x: bad; spec.x: must be set");
  for (int code : {400, 401, 403, 404, 408, 410, 412, 415, 429, 500, 503}) {
    EXPECT_EQ(errorFromResponse(code, "not json", "get").code(),
              net::statusFromHttp(code, "").code())
        << code;
  }
  EXPECT_EQ(errorFromResponse(500, "", "get").message(), "get: HTTP 500");
}

}  // namespace
}  // namespace hm::kube
