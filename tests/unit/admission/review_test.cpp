#include "harbormaster/admission/review.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace hm::admission {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

json sample(const std::string& name) {
  return json::parse(hm::testing::readText(hm::testing::sharedFile("admission-samples/" + name)));
}

policy::PolicySet policies(const std::string& yaml) {
  auto set = policy::parsePolicies(yaml, "test.yaml", {.ownNamespace = "harbormaster"});
  EXPECT_TRUE(set.ok()) << set.status().message();
  return set.ok() ? *set : policy::PolicySet{};
}

const char* kDigestPolicy = R"(
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: production}
spec:
  mode: Enforce
  digest: Require
)";

WallTime now() {
  return *parseRfc3339("2026-11-23T00:00:00Z");
}

json reviewJson(const json& body, const policy::PolicySet& set, Outcome* out = nullptr) {
  Outcome o = review(body.dump(), set, now());
  EXPECT_EQ(o.httpStatus, 200) << o.body;
  if (out != nullptr) {
    *out = o;
  }
  return json::parse(o.body);
}

std::vector<std::string> paths(const Request& r) {
  std::vector<std::string> out;
  for (const auto& u : r.images) {
    out.push_back(u.path + "=" + u.image + (u.unchanged ? " (unchanged)" : ""));
  }
  return out;
}

TEST(DecodeTest, FindsEveryImageInEveryWorkloadKind) {
  struct Case {
    std::string file;
    std::vector<std::string> images;
  };
  std::vector<Case> cases = {
      {"01-Pod-CREATE.json", {"spec.containers[0].image=harbor.example.com/shop/web:1.4"}},
      {"04-Job-CREATE.json",
       {"spec.template.spec.containers[0].image=harbor.example.com/shop/tool:1"}},
      {"05-CronJob-CREATE.json",
       {"spec.jobTemplate.spec.template.spec.containers[0].image=harbor.example.com/shop/tool:1"}},
      {"06-Deployment-CREATE.json", {"spec.template.spec.containers[0].image=nginx:1.25"}},
      {"07-StatefulSet-CREATE.json",
       {"spec.template.spec.initContainers[0].image=busybox:1.36",
        "spec.template.spec.containers[0].image=harbor.example.com/shop/db:15"}},
      {"08-DaemonSet-CREATE.json",
       {"spec.template.spec.containers[0].image=harbor.example.com/ops/agent:3"}},
      {"09-Pod-UPDATE-ephemeralcontainers.json",
       {"spec.containers[0].image=harbor.example.com/shop/web:1.4 (unchanged)",
        "spec.ephemeralContainers[0].image=busybox:1.36"}},
  };
  for (const auto& c : cases) {
    auto r = decode(sample(c.file).dump());
    ASSERT_TRUE(r.ok()) << c.file << ": " << r.status().message();
    EXPECT_TRUE(r->handled) << c.file;
    EXPECT_EQ(paths(*r), c.images) << c.file;
    EXPECT_EQ(r->ns, "shop");
  }
}

TEST(DecodeTest, ReadsRequestMetadata) {
  auto r = decode(sample("06-Deployment-CREATE.json").dump());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->apiVersion, "admission.k8s.io/v1");
  EXPECT_EQ(r->kind, "Deployment");
  EXPECT_EQ(r->group, "apps");
  EXPECT_EQ(r->operation, "CREATE");
  EXPECT_EQ(r->name, "dry");
  EXPECT_TRUE(r->dryRun);
  auto e = decode(sample("09-Pod-UPDATE-ephemeralcontainers.json").dump());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->subResource, "ephemeralcontainers");
}

TEST(ReviewTest, DeniesAnUnpinnedPodWithTheFix) {
  json res = reviewJson(sample("01-Pod-CREATE.json"), policies(kDigestPolicy));
  EXPECT_EQ(res["apiVersion"], "admission.k8s.io/v1");
  EXPECT_EQ(res["kind"], "AdmissionReview");
  EXPECT_EQ(res["response"]["uid"], "88f54f46-2bd8-4006-a290-cd779abae429");
  EXPECT_EQ(res["response"]["allowed"], false);
  EXPECT_EQ(res["response"]["status"]["code"], 403);
  EXPECT_EQ(res["response"]["status"]["message"],
            "harbormaster: Pod shop/web denied by policy \"production\": container \"web\" "
            "(spec.containers[0].image) harbor.example.com/shop/web:1.4 is not pinned by digest — "
            "use harbor.example.com/shop/web@sha256:<digest>");
  EXPECT_EQ(res["response"]["auditAnnotations"]["decision"], "denied");
  EXPECT_FALSE(res["response"].contains("warnings"));
}

TEST(ReviewTest, DeniesEveryWorkloadKindByItsTemplatePath) {
  auto set = policies(kDigestPolicy);
  for (const char* file :
       {"04-Job-CREATE.json", "05-CronJob-CREATE.json", "06-Deployment-CREATE.json",
        "07-StatefulSet-CREATE.json", "08-DaemonSet-CREATE.json"}) {
    json res = reviewJson(sample(file), set);
    EXPECT_EQ(res["response"]["allowed"], false) << file;
    EXPECT_THAT(res["response"]["status"]["message"].get<std::string>(), HasSubstr("spec."))
        << file;
  }
  json sts = reviewJson(sample("07-StatefulSet-CREATE.json"), set);
  EXPECT_THAT(sts["response"]["status"]["message"].get<std::string>(),
              HasSubstr("harbormaster: StatefulSet shop/db denied by policy \"production\": "
                        "container \"init\" (spec.template.spec.initContainers[0].image) "
                        "busybox:1.36 is not pinned by digest — use "
                        "docker.io/library/busybox@sha256:<digest>; container \"db\""));
}

TEST(ReviewTest, AllowsAPinnedDeployment) {
  json res = reviewJson(sample("02-Deployment-CREATE.json"), policies(kDigestPolicy));
  EXPECT_EQ(res["response"]["allowed"], true);
  EXPECT_FALSE(res["response"].contains("status"));
  EXPECT_EQ(res["response"]["auditAnnotations"]["decision"], "allowed");
  EXPECT_EQ(res["response"]["auditAnnotations"]["policies"], "production");
}

TEST(ReviewTest, UpdateJudgesOnlyChangedImages) {
  auto set = policies(kDigestPolicy);
  // kubectl set image: a new tag replaces the pinned digest, and is judged.
  json changed = reviewJson(sample("03-Deployment-UPDATE.json"), set);
  EXPECT_EQ(changed["response"]["allowed"], false);

  // A scale or label change with an old unpinned image must not be blocked.
  json body = sample("03-Deployment-UPDATE.json");
  body["request"]["oldObject"]["spec"]["template"]["spec"]["containers"][0]["image"] =
      "harbor.example.com/shop/api:2.0";
  json same = reviewJson(body, set);
  EXPECT_EQ(same["response"]["allowed"], true);

  // ... unless the policy asks to re-check all images.
  auto strict = policies(std::string(kDigestPolicy) + "  onUpdate: CheckAllImages\n");
  EXPECT_EQ(reviewJson(body, strict)["response"]["allowed"], false);
}

TEST(ReviewTest, EphemeralContainerIsJudgedAloneOnItsSubresource) {
  Outcome out;
  json res =
      reviewJson(sample("09-Pod-UPDATE-ephemeralcontainers.json"), policies(kDigestPolicy), &out);
  EXPECT_EQ(res["response"]["allowed"], false);
  std::string msg = res["response"]["status"]["message"];
  EXPECT_THAT(msg, HasSubstr("spec.ephemeralContainers[0].image) busybox:1.36"));
  EXPECT_THAT(msg, ::testing::Not(HasSubstr("spec.containers[0]")));
}

TEST(ReviewTest, WarnModeAllowsWithShortWarnings) {
  auto set = policies(R"(
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: heads-up}
spec: {mode: Warn}
)");
  Outcome out;
  json res = reviewJson(sample("07-StatefulSet-CREATE.json"), set, &out);
  EXPECT_EQ(res["response"]["allowed"], true);
  EXPECT_EQ(out.decision, Decision::kWarned);
  ASSERT_EQ(res["response"]["warnings"].size(), 2u);
  for (const auto& w : res["response"]["warnings"]) {
    EXPECT_LE(w.get<std::string>().size(), 256u);
    EXPECT_THAT(w.get<std::string>(), HasSubstr("policy \"heads-up\""));
  }
  EXPECT_EQ(res["response"]["auditAnnotations"]["decision"], "warned");
}

TEST(ReviewTest, LongWarningsAreCut) {
  auto set = policies(R"(
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: heads-up}
spec: {mode: Warn}
)");
  json body = sample("01-Pod-CREATE.json");
  body["request"]["object"]["spec"]["containers"][0]["image"] =
      "harbor.example.com/" + std::string(200, 'a') + ":1";
  json res = reviewJson(body, set);
  ASSERT_EQ(res["response"]["warnings"].size(), 1u);
  EXPECT_EQ(res["response"]["warnings"][0].get<std::string>().size(), 256u);
}

TEST(ReviewTest, AuditModeOnlyAnnotates) {
  auto set = policies(R"(
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: observe}
spec: {mode: Audit}
)");
  json res = reviewJson(sample("01-Pod-CREATE.json"), set);
  EXPECT_EQ(res["response"]["allowed"], true);
  EXPECT_FALSE(res["response"].contains("warnings"));
  EXPECT_EQ(res["response"]["auditAnnotations"]["violations"],
            "observe/digest spec.containers[0].image");
}

TEST(ReviewTest, OtherOperationsKindsAndSubresourcesPassUntouched) {
  auto set = policies(kDigestPolicy);
  json del = sample("01-Pod-CREATE.json");
  del["request"]["operation"] = "DELETE";
  del["request"]["oldObject"] = del["request"]["object"];
  del["request"]["object"] = nullptr;
  Outcome out;
  EXPECT_EQ(reviewJson(del, set, &out)["response"]["allowed"], true);
  EXPECT_EQ(out.decision, Decision::kSkipped);

  json svc = sample("01-Pod-CREATE.json");
  svc["request"]["kind"] = {{"group", ""}, {"version", "v1"}, {"kind", "Service"}};
  EXPECT_EQ(reviewJson(svc, set, &out)["response"]["allowed"], true);
  EXPECT_EQ(out.decision, Decision::kSkipped);

  json status = sample("01-Pod-CREATE.json");
  status["request"]["subResource"] = "status";
  status["request"]["operation"] = "UPDATE";
  EXPECT_EQ(reviewJson(status, set, &out)["response"]["allowed"], true);
  EXPECT_EQ(out.decision, Decision::kSkipped);
}

TEST(ReviewTest, ProtectedNamespacesAreNotJudged) {
  json body = sample("01-Pod-CREATE.json");
  for (const char* ns : {"kube-system", "harbormaster"}) {
    body["request"]["namespace"] = ns;
    EXPECT_EQ(reviewJson(body, policies(kDigestPolicy))["response"]["allowed"], true) << ns;
  }
}

TEST(ReviewTest, UnnamedObjectsAreLabelledByGenerateName) {
  json body = sample("01-Pod-CREATE.json");
  body["request"]["name"] = "";
  body["request"]["object"]["metadata"].erase("name");
  body["request"]["object"]["metadata"]["generateName"] = "web-5d8c4f-";
  json res = reviewJson(body, policies(kDigestPolicy));
  EXPECT_THAT(res["response"]["status"]["message"].get<std::string>(),
              HasSubstr("Pod shop/web-5d8c4f-* denied"));
}

TEST(ReviewTest, EchoesV1beta1) {
  json body = sample("01-Pod-CREATE.json");
  body["apiVersion"] = "admission.k8s.io/v1beta1";
  EXPECT_EQ(reviewJson(body, policies(kDigestPolicy))["apiVersion"], "admission.k8s.io/v1beta1");
}

TEST(ReviewTest, HostileImageTextStillGivesValidJson) {
  json body = sample("01-Pod-CREATE.json");
  std::string dumped = body.dump();
  // Invalid UTF-8 inside the image string, as raw bytes on the wire.
  std::string needle = "harbor.example.com/shop/web:1.4";
  dumped.replace(dumped.find(needle), needle.size(), "bad\xff\xfeimage");
  Outcome out = review(dumped, policies(kDigestPolicy), now());
  if (out.httpStatus == 200) {
    json res = json::parse(out.body);
    EXPECT_EQ(res["response"]["allowed"], false);
  } else {
    EXPECT_EQ(out.httpStatus, 400);
  }
}

// A denial repeats a bounded part of what it was sent: a 6 MiB image string and 5,000
// containers give a message of a few kilobytes, still naming the first image and the count.
TEST(ReviewTest, TheDenialMessageCapsWhatItRepeats) {
  json body = sample("01-Pod-CREATE.json");
  json& containers = body["request"]["object"]["spec"]["containers"];
  json first = containers[0];
  containers[0]["image"] = "harbor.example.com/shop/" + std::string(6 * 1024 * 1024, 'w') + ":1";
  containers[0]["name"] = std::string(100000, 'c');
  for (int i = 0; i < 5000; ++i) {
    json c = first;
    c["name"] = "c" + std::to_string(i);
    c["image"] = "harbor.example.com/shop/web" + std::to_string(i) + ":1";
    containers.push_back(c);
  }
  json res = reviewJson(body, policies(kDigestPolicy));
  EXPECT_EQ(res["response"]["allowed"], false);
  std::string message = res["response"]["status"]["message"];
  EXPECT_LT(message.size(), 16u * 1024);
  EXPECT_THAT(message, HasSubstr("harbor.example.com/shop/www"));
  EXPECT_THAT(message, HasSubstr("more"));
}

// Every byte of every real sample, flipped to a few values, must give either a 200 with a
// well-formed AdmissionReview or a 400 with a JSON error: never a crash (ASan/UBSan in CI).
TEST(ReviewTest, SurvivesByteMutationsOfRealSamples) {
  auto set = policies(kDigestPolicy);
  for (const char* file :
       {"01-Pod-CREATE.json", "05-CronJob-CREATE.json", "09-Pod-UPDATE-ephemeralcontainers.json"}) {
    const std::string body = sample(file).dump();
    for (size_t i = 0; i < body.size(); i += 5) {
      for (char b : {'\0', '"', '{', ']', '\xff', 'x'}) {
        std::string mutated = body;
        mutated[i] = b;
        Outcome out = review(mutated, set, now());
        ASSERT_TRUE(out.httpStatus == 200 || out.httpStatus == 400) << file << " @" << i;
        json parsed = json::parse(out.body, nullptr, false);
        ASSERT_FALSE(parsed.is_discarded()) << file << " @" << i;
        if (out.httpStatus == 200) {
          ASSERT_TRUE(parsed["response"]["allowed"].is_boolean());
        }
      }
    }
  }
}

struct Malformed {
  std::string name;
  std::string body;
  std::string mentions;
};

class MalformedTest : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedTest, IsRejectedWith400AndAJsonError) {
  const auto& c = GetParam();
  Outcome out = review(c.body, policies(kDigestPolicy), now());
  EXPECT_EQ(out.httpStatus, 400);
  EXPECT_EQ(out.decision, Decision::kInvalid);
  json err = json::parse(out.body);
  EXPECT_THAT(err["error"].get<std::string>(), HasSubstr(c.mentions)) << c.name;
}

std::string withRequest(const std::string& request) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":)" + request +
         "}";
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, MalformedTest,
    ::testing::Values(
        Malformed{"empty", "", "not valid JSON"}, Malformed{"garbage", "{{{", "not valid JSON"},
        Malformed{"array", "[]", "must be a JSON object"},
        Malformed{"no-apiVersion", R"({"kind":"AdmissionReview"})", "apiVersion"},
        Malformed{"wrong-apiVersion", R"({"apiVersion":"v1","kind":"AdmissionReview"})",
                  "apiVersion"},
        Malformed{"wrong-kind", R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod"})", "kind"},
        Malformed{"no-request", R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})",
                  "request"},
        Malformed{"no-uid", withRequest(R"({"kind":{"kind":"Pod"},"operation":"CREATE"})"),
                  "request.uid"},
        Malformed{"uid-type",
                  withRequest(R"({"uid":7,"kind":{"kind":"Pod"},"operation":"CREATE"})"),
                  "request.uid must be a string"},
        Malformed{"no-kind", withRequest(R"({"uid":"u","operation":"CREATE"})"), "request.kind"},
        Malformed{"no-operation", withRequest(R"({"uid":"u","kind":{"kind":"Pod"}})"),
                  "request.operation"},
        Malformed{
            "no-object",
            withRequest(R"({"uid":"u","kind":{"group":"","kind":"Pod"},"operation":"CREATE"})"),
            "request.object"},
        Malformed{"deep", std::string(100000, '[') + std::string(100000, ']'), "nested deeper"},
        Malformed{"deep-inside",
                  withRequest(R"({"uid":"u","x":)" + std::string(5000, '[') +
                              std::string(5000, ']') + "}"),
                  "nested deeper"}));

}  // namespace
}  // namespace hm::admission
