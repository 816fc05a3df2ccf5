#include "harbormaster/policy/evaluate.h"

#include <algorithm>
#include <unordered_map>

#include "harbormaster/imageref/reference.h"

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

bool namespaceSelected(const ImagePolicy& policy, const PolicySet& set, std::string_view ns) {
  bool defaultExcluded =
      std::find(set.defaultExcludedNamespaces.begin(), set.defaultExcludedNamespaces.end(), ns) !=
      set.defaultExcludedNamespaces.end();
  if (defaultExcluded) {
    // Only a literal mention opts a protected namespace in; "*" never does.
    return std::find(policy.match.namespaces.begin(), policy.match.namespaces.end(), ns) !=
           policy.match.namespaces.end();
  }
  if (!policy.match.namespaces.empty() && !anyGlob(policy.match.namespaces, ns)) {
    return false;
  }
  return !anyGlob(policy.exclude.namespaces, ns);
}

struct ParsedImage {
  ImageNames names;
  StatusOr<imageref::Reference> ref;
};

std::vector<Finding> checkImage(const ImagePolicy& policy, const ImageUse& use,
                                const ParsedImage& parsed, WallTime now) {
  std::vector<Finding> out;
  auto add = [&](Check check, std::string problem, std::string fix) {
    out.push_back(
        Finding{policy.name, policy.mode, check, use, std::move(problem), std::move(fix), {}});
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
  if (policy.digest == DigestRule::kRequire && !ref.isPinned()) {
    add(Check::kDigest, "is not pinned by digest",
        "use " +
            ref.withDigest(use.resolvedDigest.empty() ? "sha256:<digest>" : use.resolvedDigest));
  }
  // Warn-only problems (a state the rule allows with a warning, required: false) never deny.
  auto addProblems = [&](Check check, const std::string& prefix, std::vector<ScanProblem> found) {
    for (ScanProblem& p : found) {
      add(check, prefix + p.problem, std::move(p.fix));
      if (p.warnOnly && out.back().mode == Mode::kEnforce) {
        out.back().mode = Mode::kWarn;
      }
    }
  };
  if (policy.vulnerabilities && !use.scan) {
    add(Check::kVulnerabilities,
        "cannot be checked for vulnerabilities: Harbormaster has no Harbor for " + ref.registry,
        "start Harbormaster with --harbor-url (and --registry-host for other names of it)");
  } else if (policy.vulnerabilities) {
    // A tag names no content: say which digest was judged.
    const std::string judged =
        !ref.isPinned() && !use.scan->digest.empty() ? "(" + use.scan->digest + ") " : "";
    addProblems(Check::kVulnerabilities, judged,
                judgeScan(*policy.vulnerabilities, *use.scan, now));
  }
  if (policy.signatures) {
    auto it = use.signatures.find(policy.signatures->fingerprint);
    if (it == use.signatures.end() || !it->second) {
      add(Check::kSignatures, "cannot be checked for signatures: they were not looked up",
          "run the check with registry access");
    } else {
      addProblems(Check::kSignatures, "", judgeSignatures(*policy.signatures, *it->second));
    }
  }
  return out;
}

// Applies the policy's exceptions: an active one removes the finding; an expired one leaves it
// and says so, so the reader knows why yesterday's deploy passed and today's does not.
bool excepted(const ImagePolicy& policy, std::string_view ns, const ImageNames& names,
              Finding& finding, WallTime now) {
  if (finding.check == Check::kReference) {
    return false;
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

// The policies that judge this use of an image (selection, exclusion, onUpdate).
std::vector<const ImagePolicy*> judgingPolicies(const PolicySet& policies, std::string_view ns,
                                                const ImageUse& use) {
  std::vector<const ImagePolicy*> out;
  auto ref = imageref::parse(use.image);
  if (!ref.ok()) {
    return out;
  }
  ImageNames names{use.image, ref->name(), ref->normalized()};
  for (const ImagePolicy& policy : policies.policies) {
    if (namespaceSelected(policy, policies, ns) && imageMatches(policy.match.images, names) &&
        (policy.exclude.images.empty() || !imageMatches(policy.exclude.images, names)) &&
        !(use.unchanged && policy.onUpdate == UpdateRule::kSkipUnchanged)) {
      out.push_back(&policy);
    }
  }
  return out;
}

}  // namespace

ScanNeed scanNeed(const PolicySet& policies, std::string_view ns, const ImageUse& use) {
  ScanNeed need;
  for (const ImagePolicy* p : judgingPolicies(policies, ns, use)) {
    const ImagePolicy& policy = *p;
    if (!policy.vulnerabilities) {
      continue;
    }
    need.needed = true;
    need.triggerScan =
        need.triggerScan || policy.vulnerabilities->notScanned == ScanStateAction::kScanAndDeny;
  }
  return need;
}

std::vector<const SignatureRule*> signatureRules(const PolicySet& policies, std::string_view ns,
                                                 const ImageUse& use) {
  std::vector<const SignatureRule*> out;
  for (const ImagePolicy* p : judgingPolicies(policies, ns, use)) {
    if (p->signatures && std::none_of(out.begin(), out.end(), [&](const SignatureRule* r) {
          return r->fingerprint == p->signatures->fingerprint;
        })) {
      out.push_back(&*p->signatures);
    }
  }
  return out;
}

bool Evaluation::denied() const {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.mode == Mode::kEnforce; });
}

Evaluation evaluate(const PolicySet& policies, std::string_view ns,
                    const std::vector<ImageUse>& images, WallTime now) {
  Evaluation result;
  // A Pod often repeats one image (sidecars, init containers); parse each text once.
  std::unordered_map<std::string, ParsedImage> parsed;
  for (const ImageUse& use : images) {
    if (parsed.count(use.image) == 0) {
      auto ref = imageref::parse(use.image);
      ImageNames names{use.image, ref.ok() ? ref->name() : use.image,
                       ref.ok() ? ref->normalized() : use.image};
      parsed.emplace(use.image, ParsedImage{std::move(names), std::move(ref)});
    }
  }
  for (const ImagePolicy& policy : policies.policies) {
    if (!namespaceSelected(policy, policies, ns)) {
      continue;
    }
    bool matched = false;
    for (const ImageUse& use : images) {
      const ParsedImage& p = parsed.at(use.image);
      if (!imageMatches(policy.match.images, p.names) ||
          (!policy.exclude.images.empty() && imageMatches(policy.exclude.images, p.names))) {
        continue;
      }
      matched = true;
      if (use.unchanged && policy.onUpdate == UpdateRule::kSkipUnchanged) {
        continue;
      }
      for (Finding& f : checkImage(policy, use, p, now)) {
        if (excepted(policy, ns, p.names, f, now)) {
          ++result.exceptionsApplied;
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

std::string describe(const Finding& f) {
  std::string out;
  if (!f.use.container.empty()) {
    out += "container \"" + f.use.container + "\" ";
  }
  if (!f.use.path.empty()) {
    out += "(" + f.use.path + ") ";
  }
  out += f.use.image + " " + f.problem + " — " + f.fix;
  if (!f.note.empty()) {
    out += " (" + f.note + ")";
  }
  return out;
}

}  // namespace hm::policy
