#include "harbormaster/policy/scan.h"

#include "harbormaster/base/encoding.h"

#include <algorithm>
#include <set>

namespace hm::policy {
namespace {

int64_t unixSeconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

std::string shortDigest(const std::string& digest) {
  return digest.size() > 19 ? digest.substr(0, 19) + "…" : digest;
}

// "platform linux/arm64 (sha256:…) " for index children, "" for single images.
std::string subject(const ScanFacts& facts, const ArtifactScan& a) {
  if (!facts.isIndex) {
    return "";
  }
  return "platform " + (a.platform.empty() ? std::string("?") : a.platform) + " (" +
         shortDigest(a.digest) + ") ";
}

// What Harbormaster did about an unscanned image under notScanned: ScanAndDeny.
std::string scanRequestNote(const ScanFacts& facts) {
  if (facts.scanTriggered) {
    return "; Harbormaster asked Harbor to scan it, retry in about 60 s";
  }
  if (facts.scanWouldBeRequested) {
    return "; a scan would be requested (this is a dry run, which asks Harbor for nothing)";
  }
  return "";
}

std::string seeHarbor(const ScanFacts& facts) {
  return facts.uiLink.empty() ? "" : "; details: " + facts.uiLink;
}

// The CVE ids Harbor's pull-time check ignores: the system list when the project reuses it
// (the default), else the project's; an expired list counts as empty.
std::set<std::string> harborAllowlist(const ScanFacts& facts, WallTime now) {
  const HarborCveAllowlist& list =
      facts.project.reuseSystemAllowlist ? facts.systemAllowlist : facts.project.allowlist;
  if (list.expiresAt && *list.expiresAt <= unixSeconds(now)) {
    return {};
  }
  return {list.items.begin(), list.items.end()};
}

// "3 High, 1 Critical findings" over the given findings, highest severity first.
std::string countText(const std::vector<const ScanFinding*>& findings) {
  std::map<int, std::pair<std::string, int>, std::greater<>> bySeverity;
  for (const ScanFinding* f : findings) {
    auto& slot = bySeverity[severityCode(f->severity)];
    slot.first = f->severity;
    ++slot.second;
  }
  std::string out;
  for (const auto& [_, nameCount] : bySeverity) {
    out += (out.empty() ? "" : ", ") + std::to_string(nameCount.second) + " " + nameCount.first;
  }
  return out + (findings.size() == 1 ? " finding" : " findings");
}

// The five worst, e.g. "CVE-2024-0001 High in openssl 3.0.1 (fixed in 3.0.9)".
std::string topFindings(std::vector<const ScanFinding*> findings) {
  std::stable_sort(findings.begin(), findings.end(), [](const auto* a, const auto* b) {
    return severityCode(a->severity) > severityCode(b->severity);
  });
  std::string out;
  for (size_t i = 0; i < findings.size() && i < 5; ++i) {
    const ScanFinding& f = *findings[i];
    // Harbor's words, repeated within bounds.
    out += (i ? "; " : "") + clip(f.id, 64) + " " + clip(f.severity, 16) + " in " +
           clip(f.package, 96) + " " + clip(f.version, 64) +
           (f.fixVersion.empty() ? " (no fix yet)" : " (fixed in " + clip(f.fixVersion, 64) + ")");
  }
  if (findings.size() > 5) {
    out += "; and " + std::to_string(findings.size() - 5) + " more";
  }
  return out;
}

// What a threshold admits, in the words of the severity just below it.
std::string allowance(int threshold) {
  switch (threshold) {
    case 0:
      return "policy allows no findings";
    case 1:
    case 2:
      return "policy allows only findings of unknown severity";
    case 3:
      return "policy allows up to Low";
    case 4:
      return "policy allows up to Medium";
    default:
      return "policy allows up to High";
  }
}

// A scan that is no result yet: the policy's action for that state.
void stateProblem(ScanStateAction action, const std::string& what, const std::string& fix,
                  std::vector<Problem>& out) {
  if (action == ScanStateAction::kAllow) {
    return;
  }
  out.push_back({action == ScanStateAction::kWarn, what, fix, true});
}

void judgeFindings(const VulnerabilityRule& rule, const ScanFacts& facts, const ArtifactScan& a,
                   WallTime now, std::vector<Problem>& out) {
  std::set<std::string> allowed;
  for (const AllowedCve& cve : rule.allowlist) {
    if (!cve.expires || now < *cve.expires) {
      allowed.insert(cve.id);
    }
  }
  if (rule.harborAllowlists) {
    auto harbor = harborAllowlist(facts, now);
    allowed.insert(harbor.begin(), harbor.end());
  }
  std::vector<const ScanFinding*> remaining;
  for (const ScanFinding& f : a.findings) {
    if (!allowed.count(f.id) && (!rule.fixableOnly || !f.fixVersion.empty())) {
      remaining.push_back(&f);
    }
  }
  std::vector<const ScanFinding*> over;
  if (rule.severity) {
    for (const ScanFinding* f : remaining) {
      if (severityCode(f->severity) >= *rule.severity) {
        over.push_back(f);
      }
    }
  }
  const std::string fix =
      "update the affected packages and rebuild, or add a reasoned, expiring "
      "entry to spec.vulnerabilities.allowlist" +
      seeHarbor(facts);
  if (!over.empty()) {
    out.push_back({false,
                   subject(facts, a) + "has " + countText(over) + "; " + allowance(*rule.severity) +
                       ": " + topFindings(over),
                   fix});
    return;
  }
  for (const auto& [severity, cap] : rule.maxCounts) {
    std::vector<const ScanFinding*> at;
    for (const ScanFinding* f : remaining) {
      if (severityCode(f->severity) == severityCode(severity)) {
        at.push_back(f);
      }
    }
    if (static_cast<int64_t>(at.size()) > cap) {
      out.push_back({false,
                     subject(facts, a) + "has " + countText(at) + "; policy allows at most " +
                         std::to_string(cap) + " " + severity + ": " + topFindings(at),
                     fix});
      return;
    }
  }
}

// Harbor's pull-time rule (API-NOTES §6) for a project with prevent_vul: what Harbor itself
// would refuse at pull time, so we refuse it at deploy time instead.
void judgeProjectFloor(const ScanFacts& facts, const ArtifactScan& a, WallTime now,
                       std::vector<Problem>& out) {
  const ProjectScanPolicy& p = facts.project;
  const std::string who = "Harbor project " + p.name + " prevents vulnerable images (prevent_vul)";
  switch (a.state) {
    case ScanState::kUnsupported:
      return;
    case ScanState::kNotScanned:
      out.push_back({false,
                     subject(facts, a) + "has no scan and " + who + ", so the pull would fail",
                     "scan the image in Harbor first" + seeHarbor(facts)});
      return;
    case ScanState::kPending:
    case ScanState::kFailed:
      out.push_back({false,
                     subject(facts, a) + "has a " + a.status + " scan and " + who +
                         ", so the pull would fail",
                     "wait for (or re-run) the scan in Harbor" + seeHarbor(facts)});
      return;
    case ScanState::kSuccess:
      break;
  }
  // A missing or unrecognised project severity parses as Unknown (0): every finding blocks.
  int threshold = severityCode(p.severity);
  threshold = threshold == 99 ? 0 : threshold;
  auto allowed = harborAllowlist(facts, now);
  std::vector<const ScanFinding*> blocking;
  for (const ScanFinding& f : a.findings) {
    if (!allowed.count(f.id) && severityCode(f.severity) >= threshold) {
      blocking.push_back(&f);
    }
  }
  if (!blocking.empty()) {
    out.push_back({false,
                   subject(facts, a) + "has " + countText(blocking) + " at or above " +
                       (p.severity.empty() ? std::string("any severity") : p.severity) + ", and " +
                       who + ", so the pull would fail: " + topFindings(blocking),
                   "update the affected packages and rebuild, or ask a Harbor admin for a CVE "
                   "allowlist entry on the project" +
                       seeHarbor(facts)});
  }
}

std::vector<Problem> judgeUnavailable(const VulnerabilityRule& rule, const ScanFacts& facts) {
  const bool credentials = facts.source == ScanFacts::Source::kCredentials;
  const std::string what =
      credentials ? "could not be checked: Harbor refused Harbormaster's "
                    "credentials (" +
                        facts.error + ")"
                  : "could not be checked: Harbor is unreachable (" + facts.error + ")";
  const std::string fix = credentials
                              ? "fix the Harbor credentials Harbormaster uses (HARBOR_USERNAME / "
                                "--harbor-credentials-file) and retry"
                              : "retry when Harbor is reachable";
  switch (rule.harborUnreachable) {
    case UnreachableAction::kAllow:
      return {{true, what + "; admitted because harborUnreachable is Allow", fix, true}};
    case UnreachableAction::kAllowIfCached:
      return {{false, what + " and no earlier scan of this digest is cached", fix, true}};
    case UnreachableAction::kDeny:
      break;
  }
  return {{false, what, fix, true}};
}

}  // namespace

int severityCode(std::string_view severity) {
  std::string s(severity);
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  static const std::map<std::string, int> codes = {
      {"none", 0},   {"unknown", 0}, {"negligible", 1}, {"low", 2},
      {"medium", 3}, {"high", 4},    {"critical", 5}};
  auto it = codes.find(s);
  return it == codes.end() ? 99 : it->second;
}

std::vector<Problem> judgeScan(const VulnerabilityRule& rule, const ScanFacts& facts,
                               WallTime now) {
  using Source = ScanFacts::Source;
  switch (facts.source) {
    case Source::kNotHarbor:
      return {{false, "cannot be checked for vulnerabilities: " + facts.error,
               "use an image from the Harbor Harbormaster checks, or exclude it from this policy",
               true}};
    case Source::kNotFound:
      return {{false, "is not in Harbor (" + facts.error + ")", "push the image to Harbor first",
               true}};
    case Source::kUnreachable:
    case Source::kCredentials:
      if (!(facts.stale && rule.harborUnreachable == UnreachableAction::kAllowIfCached)) {
        return judgeUnavailable(rule, facts);
      }
      break;  // judge the cached facts
    case Source::kHarbor:
      break;
  }
  std::vector<Problem> out;
  for (const ArtifactScan& a : facts.artifacts) {
    const std::string who = subject(facts, a);
    const size_t before = out.size();
    switch (a.state) {
      case ScanState::kNotScanned:
        stateProblem(rule.notScanned == ScanStateAction::kScanAndDeny ? ScanStateAction::kDeny
                                                                      : rule.notScanned,
                     who + "has not been scanned by Harbor" + scanRequestNote(facts),
                     facts.scanTriggered ? "wait for the scan and retry"
                                         : "scan it in Harbor, or enable automatic scanning on "
                                           "push for the project" +
                                               seeHarbor(facts),
                     out);
        break;
      case ScanState::kPending:
        stateProblem(rule.pending, who + "is still being scanned (Harbor says " + a.status + ")",
                     "retry when the scan has finished" + seeHarbor(facts), out);
        break;
      case ScanState::kFailed:
        stateProblem(rule.failed, who + "has a failed scan (Harbor says " + a.status + ")",
                     "re-run the scan in Harbor" + seeHarbor(facts), out);
        break;
      case ScanState::kUnsupported:
        stateProblem(rule.unsupported, who + "cannot be scanned by Harbor's scanner",
                     "check the artifact type, or set unsupported: Allow", out);
        break;
      case ScanState::kSuccess:
        judgeFindings(rule, facts, a, now, out);
        break;
    }
    // Only when the policy itself passed this artifact: the project floor is then stricter.
    const bool passed = std::all_of(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                                    [](const Problem& p) { return p.warnOnly; });
    if (passed && rule.projectPolicy && facts.project.preventVulnerable) {
      judgeProjectFloor(facts, a, now, out);
    }
  }
  if (facts.stale && !out.empty()) {
    for (Problem& p : out) {
      p.problem += " (from the last scan seen; Harbor is unreachable: " + facts.error + ")";
    }
  }
  return out;
}

}  // namespace hm::policy
