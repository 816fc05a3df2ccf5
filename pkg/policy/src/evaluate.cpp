#include "harbormaster/policy/evaluate.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "harbormaster/base/encoding.h"
#include "harbormaster/imageref/reference.h"
#include "internal.h"

namespace hm::policy {
namespace {

bool anyGlob(const std::vector<std::string>& patterns, std::string_view text) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return globMatch(p, text); });
}

// An image pattern matches the normalised name ("docker.io/library/nginx"), the normalised
// reference with tag/digest, or the text as written.
struct ImageNames {
  std::string written;
  std::string name;
  std::string normalized;
};

bool imageMatches(const std::vector<std::string>& patterns, const ImageNames& n) {
  if (patterns.empty()) {
    return true;
  }
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
    return globMatch(p, n.name) || globMatch(p, n.normalized) || globMatch(p, n.written);
  });
}

// The review's namespace and what the policies ask of it, worked out once per review.
struct NamespaceView {
  const PolicySet& set;
  std::string_view ns;
  mutable std::optional<Labels> labels;  // only when some selector asks

  const Labels& get() const {
    if (!labels) {
      labels = labelsOf(set, ns);
    }
    return *labels;
  }
  const std::vector<ImageException>* exceptions() const {
    auto it = set.exceptions.find(std::string(ns));
    return it == set.exceptions.end() ? nullptr : &it->second;
  }
};

bool namespaceSelected(const ImagePolicy& policy, const NamespaceView& view) {
  const std::string_view ns = view.ns;
  if (policy.scope == PolicyScope::kNamespace) {
    return policy.nameSpace == ns;
  }
  const auto& excluded = view.set.defaultExcludedNamespaces;
  if (std::find(excluded.begin(), excluded.end(), ns) != excluded.end()) {
    // Only a literal mention opts a protected namespace in; "*" or a selector never does.
    return std::find(policy.match.namespaces.begin(), policy.match.namespaces.end(), ns) !=
           policy.match.namespaces.end();
  }
  if (!policy.match.namespaces.empty() && !anyGlob(policy.match.namespaces, ns)) {
    return false;
  }
  // Names and selector combine as in a webhook configuration: both must select.
  if (policy.namespaceSelector && !selectorMatches(*policy.namespaceSelector, view.get())) {
    return false;
  }
  return !anyGlob(policy.exclude.namespaces, ns);
}

// An ImageException's images: globs as in policies, or an exact digest, which matches the
// digest the image names or the tag resolved to.
bool exceptionImageMatches(const ImageException& ex, const ImageNames& names, const ImageUse& use,
                           const PlannedImage& parsed) {
  if (ex.images.empty()) {
    return true;
  }
  const std::string digest =
      parsed.ref.ok() && parsed.ref->isPinned() ? parsed.ref->digest : use.resolvedDigest;
  return std::any_of(ex.images.begin(), ex.images.end(), [&](const std::string& p) {
    if (p.rfind("sha256:", 0) == 0 || p.rfind("sha512:", 0) == 0) {
      return !digest.empty() && p == digest;
    }
    return globMatch(p, names.name) || globMatch(p, names.normalized) ||
           globMatch(p, names.written);
  });
}

// Whether `ex` takes effect for `policy` on this image now; otherwise, why not (into `note`).
bool exceptionInForce(const ImagePolicy& policy, const ImageException& ex, Check check,
                      const NamespaceView& view, const ImageNames& names, const ImageUse& use,
                      const PlannedImage& parsed, WallTime now, std::string* note) {
  if (!exceptionNames(policy, ex) ||
      std::find(ex.checks.begin(), ex.checks.end(), check) == ex.checks.end() ||
      !exceptionImageMatches(ex, names, use, parsed)) {
    return false;
  }
  const std::string who = "ImageException " + ex.nameSpace + "/" + ex.name;
  if (now >= ex.expiresAt) {
    *note = who + " expired " + formatRfc3339(ex.expiresAt);
    return false;
  }
  if (std::string refusal = exceptionRefusal(policy, ex, view.get()); !refusal.empty()) {
    *note = who + " does not apply: " + refusal;
    return false;
  }
  return true;
}

// CVE ids that ImageExceptions accept for this policy and image: they join the policy's own
// allowlist, so the rest of the scan still counts.
std::vector<std::string> exceptedCves(const ImagePolicy& policy, const NamespaceView& view,
                                      const ImageNames& names, const ImageUse& use,
                                      const PlannedImage& parsed, WallTime now) {
  std::vector<std::string> out;
  const auto* list = view.exceptions();
  if (list == nullptr) {
    return out;
  }
  std::string ignored;
  for (const ImageException& ex : *list) {
    if (!ex.cves.empty() && exceptionInForce(policy, ex, Check::kVulnerabilities, view, names, use,
                                             parsed, now, &ignored)) {
      out.insert(out.end(), ex.cves.begin(), ex.cves.end());
    }
  }
  return out;
}

std::vector<Finding> checkImage(const ImagePolicy& policy, const ImageUse& use,
                                const PlannedImage& parsed, const NamespaceView& view,
                                WallTime now) {
  std::vector<Finding> out;
  auto add = [&](Check check, std::string problem, std::string fix, bool unchecked = false) {
    out.push_back(Finding{
        policy.name, policy.mode, check, use, std::move(problem), std::move(fix), {}, unchecked});
  };
  if (!parsed.ref.ok()) {
    add(Check::kReference, "is not a valid image reference (" + parsed.ref.status().message() + ")",
        "write the image as registry/repository@sha256:<digest>");
    return out;
  }
  const imageref::Reference& ref = *parsed.ref;
  if (!policy.registries.empty() && std::find(policy.registries.begin(), policy.registries.end(),
                                              ref.registry) == policy.registries.end()) {
    std::string allowed;
    for (const auto& r : policy.registries) {
      allowed += (allowed.empty() ? "" : " or ") + r;
    }
    add(Check::kRegistry, "comes from registry " + ref.registry + ", which is not allowed",
        "use an image from " + allowed);
  }
  const std::string digest = use.resolvedDigest.empty() ? "sha256:<digest>" : use.resolvedDigest;
  if (policy.digest == DigestRule::kRequire && !ref.isPinned()) {
    add(Check::kDigest, "is not pinned by digest", "use " + ref.withDigest(digest));
  } else if (policy.digest == DigestRule::kPin && use.pod && !ref.isPinned()) {
    // The mutating webhook pins Pods before validation; an unpinned Pod here means it did not
    // run (not installed, failurePolicy Ignore) or could not resolve the tag.
    add(Check::kDigest, "is not pinned by digest",
        "use " + ref.withDigest(digest) + " (policy \"" + policy.name +
            "\" pins Pods to the digest judged; the mutating webhook did not pin this one: is "
            "it installed and did it resolve the tag?)");
  }
  // Warn-only problems (a state the rule allows with a warning, required: false) never deny.
  auto addProblems = [&](Check check, const std::string& prefix, std::vector<Problem> found) {
    for (Problem& p : found) {
      add(check, prefix + p.problem, std::move(p.fix), p.unchecked);
      if (p.warnOnly && out.back().mode == Mode::kEnforce) {
        out.back().mode = Mode::kWarn;
      }
    }
  };
  if (policy.vulnerabilities && !use.scan) {
    add(Check::kVulnerabilities,
        "cannot be checked for vulnerabilities: Harbormaster has no Harbor for " + ref.registry,
        "start Harbormaster with --harbor-url (and --registry-host for other names of it)", true);
  } else if (policy.vulnerabilities) {
    // A tag names no content: say which digest was judged.
    const std::string judged =
        !ref.isPinned() && !use.scan->digest.empty() ? "(" + use.scan->digest + ") " : "";
    const ImageNames names{parsed.image, parsed.name, parsed.normalized};
    std::vector<std::string> cves = exceptedCves(policy, view, names, use, parsed, now);
    if (cves.empty()) {
      addProblems(Check::kVulnerabilities, judged,
                  judgeScan(*policy.vulnerabilities, *use.scan, now));
    } else {
      VulnerabilityRule rule = *policy.vulnerabilities;
      for (std::string& id : cves) {
        rule.allowlist.push_back(AllowedCve{std::move(id), std::nullopt, "ImageException"});
      }
      addProblems(Check::kVulnerabilities, judged, judgeScan(rule, *use.scan, now));
    }
  }
  if (!policy.unenforceable.empty()) {
    // Never a silent pass: the signature rule cannot be applied, so the image is judged as not
    // checked, under the policy's mode. No lookup was made for it (signatureRules()).
    add(Check::kSignatures,
        "is not checked: policy \"" + policy.name + "\" " + policy.unenforceable,
        "make the file readable where Harbormaster runs (the chart mounts signature sources into "
        "the webhook and the operator: signatureSources in values.yaml)",
        true);
  } else if (policy.signatures) {
    auto it = use.signatures.find(policy.signatures->fingerprint);
    if (it == use.signatures.end() || !it->second) {
      add(Check::kSignatures, "cannot be checked for signatures: they were not looked up",
          "run the check with registry access", true);
    } else {
      addProblems(Check::kSignatures, "", judgeSignatures(*policy.signatures, *it->second));
    }
  }
  for (const SectionUse& section : policy.sections) {
    auto it = use.facts.find(section.factKey);
    const Fact* fact = it == use.facts.end() ? nullptr : it->second.get();
    addProblems(section.check, "", section.rule->judge(fact, now));
  }
  return out;
}

// Applies the policy's exceptions: an active one removes the finding; an expired one leaves it
// and says so, so the reader knows why yesterday's deploy passed and today's does not.
bool excepted(const ImagePolicy& policy, const NamespaceView& view, const ImageNames& names,
              const PlannedImage& parsed, Finding& finding, WallTime now) {
  if (finding.check == Check::kReference) {
    return false;
  }
  const std::string_view ns = view.ns;
  if (const auto* list = view.exceptions()) {
    for (const ImageException& ex : *list) {
      // CVE exceptions took part in the scan judgement; they never pass a whole scan.
      const bool cveOnly = finding.check == Check::kVulnerabilities && !ex.cves.empty();
      if (!cveOnly && exceptionInForce(policy, ex, finding.check, view, names, finding.use, parsed,
                                       now, &finding.note)) {
        return true;
      }
    }
  }
  for (const PolicyException& ex : policy.exceptions) {
    if (std::find(ex.checks.begin(), ex.checks.end(), finding.check) == ex.checks.end()) {
      continue;
    }
    if (!ex.namespaces.empty() && !anyGlob(ex.namespaces, ns)) {
      continue;
    }
    if (!imageMatches(ex.images, names)) {
      continue;
    }
    if (ex.expires && now >= *ex.expires) {
      finding.note = "exception \"" + ex.reason + "\" expired " + formatRfc3339(*ex.expires);
      continue;
    }
    return true;
  }
  return false;
}

}  // namespace

bool PlannedImage::wantsDigest() const {
  return ref.ok() && !ref->isPinned() &&
         std::any_of(judging.begin(), judging.end(), [](const ImagePolicy* p) {
           return p->digest == DigestRule::kRequire || p->digest == DigestRule::kPin;
         });
}

bool PlannedImage::wantsPin() const {
  return pod && ref.ok() && !ref->isPinned() && !unchanged &&
         std::any_of(judging.begin(), judging.end(),
                     [](const ImagePolicy* p) { return p->digest == DigestRule::kPin; });
}

ReviewPlan planReview(const PolicySet& policies, std::string_view ns,
                      const std::vector<ImageUse>& images) {
  ReviewPlan plan;
  std::vector<bool> selected;  // per policy: the namespace is selected (once per review)
  const NamespaceView view{policies, ns, std::nullopt};
  for (const ImagePolicy& policy : policies.policies) {
    selected.push_back(namespaceSelected(policy, view));
  }
  // A Pod often repeats one image (sidecars, init containers): one entry per distinct text.
  std::unordered_map<std::string, size_t> index;
  for (size_t u = 0; u < images.size(); ++u) {
    const ImageUse& use = images[u];
    const std::string key = (use.unchanged ? "1" : "0") + use.image;
    auto [it, added] = index.emplace(key, plan.images.size());
    plan.imageOfUse.push_back(it->second);
    if (!added) {
      plan.images[it->second].uses.push_back(u);
      continue;
    }
    PlannedImage& p = plan.images.emplace_back();
    p.image = use.image;
    p.unchanged = use.unchanged;
    p.pod = use.pod;
    p.uses.push_back(u);
    p.ref = imageref::parse(use.image);
    p.name = p.ref.ok() ? p.ref->name() : use.image;
    p.normalized = p.ref.ok() ? p.ref->normalized() : use.image;
    const ImageNames names{p.image, p.name, p.normalized};
    for (size_t i = 0; i < policies.policies.size(); ++i) {
      const ImagePolicy& policy = policies.policies[i];
      const bool match =
          selected[i] && imageMatches(policy.match.images, names) &&
          (policy.exclude.images.empty() || !imageMatches(policy.exclude.images, names));
      const bool judge = match && !(use.unchanged && policy.onUpdate == UpdateRule::kSkipUnchanged);
      p.matches.push_back(match);
      p.judges.push_back(judge);
      if (judge) {
        p.judging.push_back(&policy);
      }
    }
  }
  return plan;
}

ScanNeed scanNeed(const PlannedImage& image) {
  ScanNeed need;
  if (!image.ref.ok()) {
    return need;  // evaluate() reports an unparseable reference itself
  }
  for (const ImagePolicy* policy : image.judging) {
    if (!policy->vulnerabilities) {
      continue;
    }
    need.needed = true;
    need.triggerScan =
        need.triggerScan || policy->vulnerabilities->notScanned == ScanStateAction::kScanAndDeny;
  }
  return need;
}

std::vector<const SignatureRule*> signatureRules(const PlannedImage& image) {
  std::vector<const SignatureRule*> out;
  if (!image.ref.ok()) {
    return out;
  }
  for (const ImagePolicy* p : image.judging) {
    if (p->signatures && p->unenforceable.empty() &&
        std::none_of(out.begin(), out.end(), [&](const SignatureRule* r) {
          return r->fingerprint == p->signatures->fingerprint;
        })) {
      out.push_back(&*p->signatures);
    }
  }
  return out;
}

std::vector<PlannedRule> sectionRules(const PlannedImage& image, std::string_view key) {
  std::vector<PlannedRule> out;
  if (!image.ref.ok()) {
    return out;  // evaluate() reports an unparseable reference itself
  }
  for (const ImagePolicy* p : image.judging) {
    for (const SectionUse& s : p->sections) {
      if (s.section->key() != key) {
        continue;
      }
      if (std::none_of(out.begin(), out.end(),
                       [&](const PlannedRule& r) { return r.factKey == s.factKey; })) {
        out.push_back(PlannedRule{s.section, s.rule.get(), s.factKey});
      }
    }
  }
  return out;
}

std::vector<Check> checksOf(const ImagePolicy& p) {
  std::vector<Check> out;
  if (!p.registries.empty()) {
    out.push_back(Check::kRegistry);
  }
  if (p.digest != DigestRule::kOptional) {
    out.push_back(Check::kDigest);
  }
  if (p.vulnerabilities) {
    out.push_back(Check::kVulnerabilities);
  }
  if (p.signatures || !p.unenforceable.empty()) {
    out.push_back(Check::kSignatures);
  }
  for (const SectionUse& s : p.sections) {
    out.push_back(s.check);
  }
  return out;
}

bool Evaluation::denied() const {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.mode == Mode::kEnforce; });
}

Verdict verdictOf(const Evaluation& evaluation) {
  if (evaluation.denied()) {
    return Verdict::kDenied;
  }
  return std::any_of(evaluation.findings.begin(), evaluation.findings.end(),
                     [](const Finding& f) { return f.mode == Mode::kWarn; })
             ? Verdict::kWarned
             : Verdict::kAllowed;
}

std::string_view verdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kAllowed:
      return "allowed";
    case Verdict::kWarned:
      return "warned";
    case Verdict::kDenied:
      return "denied";
  }
  return "denied";
}

PinJudgement judgePin(const PlannedImage& image, const ImageUse& use) {
  PinJudgement out;
  if (!image.wantsPin()) {
    return out;
  }
  if (!use.resolvedDigest.empty()) {
    out.pinned = use.image + "@" + use.resolvedDigest;
    return out;
  }
  const std::string why = use.unresolved.empty()
                              ? "the registry did not answer within the review deadline"
                              : use.unresolved;
  for (const ImagePolicy* p : image.judging) {
    if (p->digest == DigestRule::kPin) {
      out.findings.push_back(Finding{
          p->name, p->mode, Check::kDigest, use, "cannot be pinned to a digest (" + why + ")",
          "push the tag to its registry or name the image by digest", "", true});
    }
  }
  return out;
}

Evaluation evaluate(const PolicySet& policies, std::string_view ns,
                    const std::vector<ImageUse>& images, const ReviewPlan& plan, WallTime now) {
  Evaluation result;
  const NamespaceView view{policies, ns, std::nullopt};
  for (size_t i = 0; i < policies.policies.size(); ++i) {
    const ImagePolicy& policy = policies.policies[i];
    bool matched = false;
    for (size_t u = 0; u < images.size(); ++u) {
      const PlannedImage& p = plan.images[plan.imageOfUse[u]];
      if (!p.matches[i]) {
        continue;
      }
      matched = true;
      if (!p.judges[i]) {
        continue;
      }
      const ImageNames names{p.image, p.name, p.normalized};
      for (Finding& f : checkImage(policy, images[u], p, view, now)) {
        if (excepted(policy, view, names, p, f, now)) {
          result.excepted.push_back(std::move(f));
        } else {
          result.findings.push_back(std::move(f));
        }
      }
    }
    if (matched) {
      result.matchedPolicies.push_back(policy.name);
    }
  }
  return result;
}

Evaluation evaluate(const PolicySet& policies, std::string_view ns,
                    const std::vector<ImageUse>& images, WallTime now) {
  return evaluate(policies, ns, images, planReview(policies, ns, images), now);
}

constexpr size_t kMaxEchoedName = 128;
constexpr size_t kMaxEchoedImage = 300;

std::string describe(const Finding& f) {
  std::string out;
  // The image, container and path come from the request: a message repeats a bounded part.
  if (!f.use.container.empty()) {
    out += "container \"" + clip(f.use.container, kMaxEchoedName) + "\" ";
  }
  if (!f.use.path.empty()) {
    out += "(" + clip(f.use.path, kMaxEchoedName) + ") ";
  }
  out += clip(f.use.image, kMaxEchoedImage) + " " + f.problem + " — " + f.fix;
  if (!f.note.empty()) {
    out += " (" + f.note + ")";
  }
  return out;
}

}  // namespace hm::policy
