// The running set: which digest a Pod's images run, which workload owns it, what the informer
// keeps of a Pod, and Pods grouped into one subject per workload. Pure; no processes.
#include "harbormaster/compliance/running.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace hm::compliance {
namespace {

using nlohmann::json;

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

json owner(const std::string& apiVersion, const std::string& kind, const std::string& name,
           bool controller = true) {
  return {{"apiVersion", apiVersion},
          {"kind", kind},
          {"name", name},
          {"uid", name + "-uid"},
          {"controller", controller}};
}

// A Pod as the API server returns it, with the kubelet's statuses.
json pod(const std::string& name, json owners, json statuses = json::array(),
         std::string phase = "Running") {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name},
            {"namespace", "shop"},
            {"uid", name + "-uid"},
            {"resourceVersion", "42"},
            {"labels", {{"app", "web"}}},
            {"annotations", {{"big", std::string(1000, 'x')}}},
            {"ownerReferences", std::move(owners)}}},
          {"spec",
           {{"initContainers", {{{"name", "migrate"}, {"image", "harbor.example.com/shop/db:1"}}}},
            {"containers",
             {{{"name", "web"},
               {"image", "harbor.example.com/shop/web:1.0"},
               {"env", {{{"name", "X"}, {"value", "y"}}}}},
              {{"name", "proxy"}, {"image", "harbor.example.com/shop/proxy@" + kC}}}},
            {"nodeName", "n1"}}},
          {"status",
           {{"phase", std::move(phase)},
            {"podIP", "10.0.0.1"},
            {"initContainerStatuses",
             {{{"name", "migrate"},
               {"imageID", "docker-pullable://harbor.example.com/shop/db@" + kB}}}},
            {"containerStatuses", std::move(statuses)}}}};
}

OwnerLookup owners(std::map<std::string, ObjectRef> known) {
  return [known](std::string_view kind, std::string_view ns,
                 std::string_view name) -> std::optional<ObjectRef> {
    auto it = known.find(std::string(kind) + "/" + std::string(ns) + "/" + std::string(name));
    return it == known.end() ? std::nullopt : std::optional<ObjectRef>(it->second);
  };
}

TEST(DigestOfImageIdTest, RepositoryDigestsOnly) {
  EXPECT_EQ(digestOfImageId("docker-pullable://harbor.example.com/shop/web@" + kA), kA);
  EXPECT_EQ(digestOfImageId("harbor.example.com/shop/web@" + kA), kA);
  EXPECT_EQ(digestOfImageId("docker.io/library/nginx@" + kA), kA);
  // A config id is no manifest digest: no registry serves it.
  EXPECT_EQ(digestOfImageId(kA), "");
  EXPECT_EQ(digestOfImageId("docker://" + kA), "");
  EXPECT_EQ(digestOfImageId(""), "");
  EXPECT_EQ(digestOfImageId("web@sha256:short"), "");
  EXPECT_EQ(digestOfImageId("web@sha256:" + std::string(64, 'G')), "");
  EXPECT_EQ(digestOfImageId("web@sha512:" + std::string(128, 'f')),
            "sha512:" + std::string(128, 'f'));
}

TEST(WorkloadOfTest, ReplicaSetsAndJobsLeadToTheirControllersWhenKnown) {
  auto known = owners(
      {{"ReplicaSet/shop/web-5d4f", ObjectRef{"apps/v1", "Deployment", "", "web", "web-uid"}},
       {"Job/shop/report-2890", ObjectRef{"batch/v1", "CronJob", "", "report", "report-uid"}}});
  EXPECT_EQ(workloadOf(pod("a", {owner("apps/v1", "ReplicaSet", "web-5d4f")}), known),
            (ObjectRef{"apps/v1", "Deployment", "shop", "web", "web-uid"}));
  EXPECT_EQ(workloadOf(pod("b", {owner("batch/v1", "Job", "report-2890")}), known),
            (ObjectRef{"batch/v1", "CronJob", "shop", "report", "report-uid"}));
  // Not known (yet), or a ReplicaSet nothing controls: the ReplicaSet itself, never a name guess.
  EXPECT_EQ(workloadOf(pod("c", {owner("apps/v1", "ReplicaSet", "web-other")}), known),
            (ObjectRef{"apps/v1", "ReplicaSet", "shop", "web-other", "web-other-uid"}));
  // StatefulSets and DaemonSets own their Pods directly.
  EXPECT_EQ(workloadOf(pod("d", {owner("apps/v1", "StatefulSet", "db")}), known).kind,
            "StatefulSet");
  // Only the controller counts; a bare Pod is its own workload.
  EXPECT_EQ(workloadOf(pod("e", {owner("v1", "ConfigMap", "x", false)}), known),
            (ObjectRef{"v1", "Pod", "shop", "e", "e-uid"}));
  EXPECT_EQ(workloadOf(pod("f", json::array()), nullptr).kind, "Pod");
  EXPECT_EQ(workloadOf(pod("g", {owner("apps/v1", "ReplicaSet", "web-5d4f")}), nullptr).kind,
            "ReplicaSet");
}

TEST(RunningPodTest, EveryContainerListWithTheDigestItRuns) {
  auto p = runningPod(pod("a", {owner("apps/v1", "ReplicaSet", "web-5d4f")},
                          {{{"name", "web"}, {"imageID", "harbor.example.com/shop/web@" + kA}},
                           {{"name", "proxy"}, {"imageID", kC}}}),
                      owners({}));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->pod, (ObjectRef{"v1", "Pod", "shop", "a", "a-uid"}));
  ASSERT_EQ(p->images.size(), 3u);
  EXPECT_EQ(p->images[0].use.container, "migrate");
  EXPECT_EQ(p->images[0].use.path, "spec.initContainers[0].image");
  EXPECT_EQ(p->images[0].digest, kB) << "the init container's status";
  EXPECT_EQ(p->images[1].use.image, "harbor.example.com/shop/web:1.0");
  EXPECT_EQ(p->images[1].digest, kA) << "the kubelet's imageID over the tag";
  EXPECT_EQ(p->images[2].digest, kC) << "a config id in the status: the spec's digest";
  EXPECT_TRUE(p->images[1].use.pod);

  // Before the kubelet reports: tags stay to be resolved.
  auto pending = runningPod(pod("b", json::array(), json::array(), "Pending"), nullptr);
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->images[1].digest, "");
  EXPECT_EQ(pending->images[2].digest, kC);

  EXPECT_FALSE(runningPod(pod("c", json::array(), json::array(), "Succeeded"), nullptr));
  EXPECT_FALSE(runningPod(pod("d", json::array(), json::array(), "Failed"), nullptr));
  EXPECT_FALSE(runningPod(json::array(), nullptr));
  EXPECT_FALSE(runningPod(json{{"kind", "Deployment"}}, nullptr));
}

TEST(StripPodTest, KeepsWhatTheRunningSetReadsAndNothingElse) {
  const json full =
      pod("a", {owner("apps/v1", "ReplicaSet", "web-5d4f"), owner("v1", "Thing", "x", false)},
          {{{"name", "web"},
            {"imageID", "harbor.example.com/shop/web@" + kA},
            {"ready", true},
            {"state", {{"running", {{"startedAt", "2026-12-01T00:00:00Z"}}}}}}});
  const json stripped = stripPod(full);
  EXPECT_LT(stripped.dump().size(), full.dump().size() / 2);
  EXPECT_FALSE(stripped["metadata"].contains("annotations"));
  EXPECT_FALSE(stripped["metadata"].contains("labels"));
  EXPECT_EQ(stripped["metadata"]["ownerReferences"].size(), 1u) << "only the controller";
  EXPECT_FALSE(stripped["spec"]["containers"][0].contains("env"));
  EXPECT_FALSE(stripped["status"].contains("podIP"));
  EXPECT_FALSE(stripped["status"]["containerStatuses"][0].contains("state"));
  // What it keeps gives the same answer as the whole Pod.
  auto known = owners(
      {{"ReplicaSet/shop/web-5d4f", ObjectRef{"apps/v1", "Deployment", "", "web", "web-uid"}}});
  auto a = runningPod(full, known);
  auto b = runningPod(stripped, known);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->workload, b->workload);
  ASSERT_EQ(a->images.size(), b->images.size());
  for (size_t i = 0; i < a->images.size(); ++i) {
    EXPECT_EQ(a->images[i].use.path, b->images[i].use.path);
    EXPECT_EQ(a->images[i].use.image, b->images[i].use.image);
    EXPECT_EQ(a->images[i].digest, b->images[i].digest);
  }
}

TEST(SubjectsTest, ReplicasAreOneSubjectAndARolloutKeepsBothImages) {
  auto known = owners(
      {{"ReplicaSet/shop/web-old", ObjectRef{"apps/v1", "Deployment", "", "web", "web-uid"}},
       {"ReplicaSet/shop/web-new", ObjectRef{"apps/v1", "Deployment", "", "web", "web-uid"}}});
  std::vector<RunningPod> pods;
  for (int i = 0; i < 50; ++i) {
    pods.push_back(
        *runningPod(pod("web-old-" + std::to_string(i), {owner("apps/v1", "ReplicaSet", "web-old")},
                        {{{"name", "web"}, {"imageID", "harbor.example.com/shop/web@" + kA}}}),
                    known));
  }
  pods.push_back(
      *runningPod(pod("web-new-0", {owner("apps/v1", "ReplicaSet", "web-new")},
                      {{{"name", "web"}, {"imageID", "harbor.example.com/shop/web@" + kB}}}),
                  known));
  pods.push_back(*runningPod(pod("bare", json::array()), known));
  const auto out = subjects(pods);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].workload.kind, "Deployment");
  EXPECT_EQ(out[0].pods, 51u);
  // migrate, web@A, proxy, and web@B from the new ReplicaSet.
  ASSERT_EQ(out[0].images.size(), 4u);
  EXPECT_EQ(out[0].images[3].digest, kB);
  EXPECT_EQ(out[1].workload.kind, "Pod");
  EXPECT_EQ(out[1].pods, 1u);
}

}  // namespace
}  // namespace hm::compliance
