// One verdict: the webhook (a Pod through /mutate, the patch applied as the API server applies
// it, then /validate) and `harbormaster check` (admission::judgeAsAdmitted, what check prints)
// over the same inputs give the same verdict and the same findings in the same words, Audit-only
// findings allowed by both.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harbormaster/admission/review.h"
#include "harbormaster/base/encoding.h"

namespace hm::admission {
namespace {

using nlohmann::json;
using policy::Verdict;

const std::string kDigest = "sha256:" + std::string(64, 'd');

struct Case {
  std::string name;
  policy::Mode mode;
  policy::DigestRule digest;
  std::vector<std::string> registries;
  std::string image;
  bool resolves;  // the registry knows the tag
  Verdict expected;
};

policy::PolicySet policies(const Case& c) {
  policy::ImagePolicy p;
  p.name = "gate";
  p.resourceName = "gate";
  p.mode = c.mode;
  p.digest = c.digest;
  p.registries = c.registries;
  policy::PolicySet set;
  set.policies.push_back(p);
  set.defaultExcludedNamespaces = {"kube-system"};
  return set;
}

json podReview(const std::string& image) {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "web"}, {"namespace", "shop"}}},
              {"spec", {{"containers", {{{"name", "web"}, {"image", image}}}}}}};
  return {{"apiVersion", "admission.k8s.io/v1"},
          {"kind", "AdmissionReview"},
          {"request",
           {{"uid", "u-1"},
            {"kind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
            {"operation", "CREATE"},
            {"namespace", "shop"},
            {"name", "web"},
            {"object", pod}}}};
}

// What gather() attaches: the tag's digest, or why it is unknown.
Request decoded(const json& body, const Case& c) {
  auto r = decode(body.dump());
  EXPECT_TRUE(r.ok()) << r.status().message();
  for (auto& use : r->images) {
    if (c.resolves) {
      use.resolvedDigest = kDigest;
    } else {
      use.unresolved = "resolving " + use.image + ": manifest unknown";
    }
  }
  return std::move(r).value();
}

struct Answer {
  Verdict verdict = Verdict::kAllowed;
  std::vector<std::string> findings;  // mode, policy and describe(), in order
};

void note(Answer& a, const policy::Evaluation& ev) {
  for (const auto& f : ev.findings) {
    a.findings.push_back(std::string(policy::modeName(f.mode)) + " " + f.policy + ": " +
                         policy::describe(f));
  }
}

Answer webhook(const Case& c, const policy::PolicySet& set, WallTime now) {
  Answer a;
  json body = podReview(c.image);
  Request req = decoded(body, c);
  Outcome mutated = mutate(req, policy::planReview(set, req.ns, req.images));
  note(a, mutated.evaluation);
  if (mutated.decision == Decision::kDenied) {
    a.verdict = Verdict::kDenied;
    return a;
  }
  json response = json::parse(mutated.body)["response"];
  if (response.contains("patch")) {
    json object = body["request"]["object"];
    body["request"]["object"] =
        object.patch(json::parse(*base64Decode(response["patch"].get<std::string>())));
  }
  Request validated = decoded(body, c);
  auto plan = policy::planReview(set, validated.ns, validated.images);
  Outcome out = respond(validated, set, plan, now);
  note(a, out.evaluation);
  a.verdict = out.decision == Decision::kDenied ? Verdict::kDenied
              : out.decision == Decision::kWarned || mutated.decision == Decision::kWarned
                  ? Verdict::kWarned
                  : Verdict::kAllowed;
  return a;
}

Answer check(const Case& c, const policy::PolicySet& set, WallTime now) {
  Request req = decoded(podReview(c.image), c);
  auto verdicts =
      judgeAsAdmitted(set, req.ns, req.images, policy::planReview(set, req.ns, req.images), now);
  EXPECT_EQ(verdicts.size(), 1u);
  Answer a;
  a.verdict = verdicts[0].verdict;
  note(a, verdicts[0].evaluation);
  return a;
}

TEST(OneVerdictTest, CheckAndTheWebhookAgreeOnEveryVerdictAndWord) {
  using policy::DigestRule;
  using policy::Mode;
  const std::string tag = "harbor.example.com/shop/web:1.4";
  const std::vector<Case> cases = {
      {"audit only", Mode::kAudit, DigestRule::kRequire, {}, tag, true, Verdict::kAllowed},
      {"warn", Mode::kWarn, DigestRule::kRequire, {}, tag, true, Verdict::kWarned},
      {"enforce", Mode::kEnforce, DigestRule::kRequire, {}, tag, true, Verdict::kDenied},
      {"pinned by digest",
       Mode::kEnforce,
       DigestRule::kRequire,
       {},
       tag + "@" + kDigest,
       true,
       Verdict::kAllowed},
      {"pin resolved", Mode::kEnforce, DigestRule::kPin, {}, tag, true, Verdict::kAllowed},
      {"pin unresolved", Mode::kEnforce, DigestRule::kPin, {}, tag, false, Verdict::kDenied},
      {"pin unresolved, warn", Mode::kWarn, DigestRule::kPin, {}, tag, false, Verdict::kWarned},
      {"pin unresolved, audit", Mode::kAudit, DigestRule::kPin, {}, tag, false, Verdict::kAllowed},
      {"registry",
       Mode::kEnforce,
       DigestRule::kOptional,
       {"harbor.example.com"},
       "docker.io/library/nginx:1.25",
       true,
       Verdict::kDenied},
      {"registry, audit",
       Mode::kAudit,
       DigestRule::kOptional,
       {"harbor.example.com"},
       "docker.io/library/nginx:1.25",
       true,
       Verdict::kAllowed},
      {"registry allowed, pin",
       Mode::kEnforce,
       DigestRule::kPin,
       {"harbor.example.com"},
       tag,
       true,
       Verdict::kAllowed},
  };
  const WallTime now = std::chrono::system_clock::now();
  for (const Case& c : cases) {
    const auto set = policies(c);
    Answer w = webhook(c, set, now);
    Answer k = check(c, set, now);
    EXPECT_EQ(w.verdict, c.expected) << c.name;
    EXPECT_EQ(k.verdict, w.verdict) << c.name;
    EXPECT_EQ(k.findings, w.findings) << c.name;
    if (c.mode == Mode::kAudit) {
      EXPECT_FALSE(w.findings.empty()) << c.name << ": a finding, recorded but allowed";
    }
  }
}

}  // namespace
}  // namespace hm::admission
