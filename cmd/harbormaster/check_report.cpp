#include "check_report.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace hm::cli {
namespace {

using nlohmann::json;

int rank(std::string_view result) {
  if (result == "fail") {
    return 3;
  }
  if (result == "warn") {
    return 2;
  }
  return result == "audit" ? 1 : 0;
}

std::string_view resultOf(const policy::Finding& f) {
  switch (f.mode) {
    case policy::Mode::kEnforce:
      return "fail";
    case policy::Mode::kWarn:
      return "warn";
    case policy::Mode::kAudit:
      return "audit";
  }
  return "fail";
}

// The digest the image was judged at: the scan's (what Harbor answered for the tag) or the
// resolved one.
std::string digestOf(const CheckedImage& image) {
  const policy::ImageUse& use = image.use;
  return use.scan && !use.scan->digest.empty() ? use.scan->digest : use.resolvedDigest;
}

std::string subjectOf(const CheckedImage& image) {
  return image.nameSpace + "/" + image.kind + "/" + image.name;
}

std::string whereOf(const CheckedImage& image) {
  std::string out = image.source + ", document " + std::to_string(image.document);
  if (!image.listItem.empty()) {
    out += ", " + image.listItem;
  }
  if (!image.origin.empty()) {
    out += "; " + image.origin;
  }
  return out;
}

void printFacts(std::ostream& out, const policy::ScanFacts& facts) {
  using Source = policy::ScanFacts::Source;
  if (facts.source != Source::kHarbor) {
    out << "  harbor: " << facts.error << (facts.stale ? " (showing cached facts)" : "") << "\n";
    if (!facts.stale) {
      return;
    }
  }
  for (const policy::ArtifactScan& a : facts.artifacts) {
    out << "  scan" << (a.platform.empty() ? "" : " " + a.platform) << ": " << a.status;
    if (a.state == policy::ScanState::kSuccess) {
      out << ", " << a.total << " findings";
      for (const auto& [severity, n] : a.counts) {
        out << "; " << severity << " " << n;
      }
    }
    out << "\n";
  }
  if (!facts.uiLink.empty()) {
    out << "  harbor: " << facts.uiLink << "\n";
  }
}

json scanJson(const policy::ScanFacts& facts) {
  using Source = policy::ScanFacts::Source;
  json out = {{"lookedUp", facts.source == Source::kHarbor}};
  if (facts.source != Source::kHarbor) {
    out["error"] = facts.error;
    out["stale"] = facts.stale;
  }
  json artifacts = json::array();
  for (const policy::ArtifactScan& a : facts.artifacts) {
    artifacts.push_back({{"digest", a.digest},
                         {"platform", a.platform},
                         {"status", a.status},
                         {"total", a.total},
                         {"counts", a.counts}});
  }
  out["artifacts"] = std::move(artifacts);
  if (!facts.uiLink.empty()) {
    out["link"] = facts.uiLink;
  }
  return out;
}

json findingJson(const policy::Finding& f) {
  return {{"message", policy::describe(f)},
          {"problem", f.problem},
          {"fix", f.fix},
          {"note", f.note},
          {"unchecked", f.unchecked}};
}

// The denial in the webhook's words: one line per finding that decides the verdict.
std::vector<std::string> decidingLines(const CheckedImage& image, bool enforceWarn) {
  std::vector<std::string> out;
  for (const policy::Finding& f : image.verdict.evaluation.findings) {
    if (f.mode == policy::Mode::kEnforce || (enforceWarn && f.mode == policy::Mode::kWarn)) {
      out.push_back(std::string(policy::modeName(f.mode)) + " policy \"" + f.policy + "\" (" +
                    std::string(policy::checkName(f.check)) + "): " + policy::describe(f));
    }
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

std::vector<PolicyOutcome> outcomesOf(const policy::PolicySet& policies,
                                      const CheckedImage& image) {
  const policy::Evaluation& ev = image.verdict.evaluation;
  // Selected policies, and any other a finding names (a Pin denial stops before validation).
  std::vector<std::string> names = ev.matchedPolicies;
  for (const auto* list : {&ev.findings, &ev.excepted}) {
    for (const policy::Finding& f : *list) {
      if (std::find(names.begin(), names.end(), f.policy) == names.end()) {
        names.push_back(f.policy);
      }
    }
  }
  std::vector<PolicyOutcome> out;
  for (const std::string& name : names) {
    auto p = std::find_if(policies.policies.begin(), policies.policies.end(),
                          [&](const policy::ImagePolicy& x) { return x.name == name; });
    PolicyOutcome& po = out.emplace_back();
    po.policy = name;
    std::vector<policy::Check> checks;
    if (p != policies.policies.end()) {
      po.mode = std::string(policy::modeName(p->mode));
      checks = policy::checksOf(*p);
    }
    for (const auto* list : {&ev.findings, &ev.excepted}) {
      for (const policy::Finding& f : *list) {
        if (f.policy == name && std::find(checks.begin(), checks.end(), f.check) == checks.end()) {
          checks.push_back(f.check);  // the reference, or a check the policy no longer lists
        }
      }
    }
    for (policy::Check check : checks) {
      CheckOutcome& co = po.checks.emplace_back();
      co.check = std::string(policy::checkName(check));
      co.result = "pass";
      for (const policy::Finding& f : ev.findings) {
        if (f.policy == name && f.check == check) {
          co.findings.push_back(f);
          if (rank(resultOf(f)) > rank(co.result)) {
            co.result = std::string(resultOf(f));
          }
        }
      }
      if (co.findings.empty()) {
        for (const policy::Finding& f : ev.excepted) {
          if (f.policy == name && f.check == check) {
            co.findings.push_back(f);
            co.result = "excepted";
          }
        }
      }
    }
  }
  return out;
}

bool fails(const CheckRun& run, const CheckedImage& image) {
  return image.verdict.verdict == policy::Verdict::kDenied ||
         (run.enforceWarn && image.verdict.verdict == policy::Verdict::kWarned);
}

int exitCodeOf(const CheckRun& run) {
  return std::any_of(run.images.begin(), run.images.end(),
                     [&](const CheckedImage& i) { return fails(run, i); })
             ? 1
             : 0;
}

std::string summaryLine(const CheckRun& run) {
  size_t allowed = 0, warned = 0, denied = 0;
  for (const CheckedImage& i : run.images) {
    switch (i.verdict.verdict) {
      case policy::Verdict::kAllowed:
        ++allowed;
        break;
      case policy::Verdict::kWarned:
        ++warned;
        break;
      case policy::Verdict::kDenied:
        ++denied;
        break;
    }
  }
  auto plural = [](size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  std::string out = "check: " + plural(run.images.size(), "image");
  if (run.workloads > 0) {
    out += " in " + plural(run.workloads, "workload");
  }
  out += ": " + std::to_string(allowed) + " allowed, " + std::to_string(warned) + " warned" +
         (run.enforceWarn && warned > 0 ? " (failing: --enforce-warn)" : "") + ", " +
         std::to_string(denied) + " denied";
  size_t skipped = 0;
  std::string kinds;
  for (const auto& [kind, n] : run.skipped) {
    skipped += n;
    kinds += (kinds.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  }
  if (skipped > 0) {
    out += "; skipped " + plural(skipped, "object") + " of other kinds (" + kinds + ")";
  }
  return out;
}

std::string renderText(const policy::PolicySet& policies, const CheckRun& run) {
  (void)policies;
  std::ostringstream out;
  std::string heading;
  for (const CheckedImage& image : run.images) {
    if (!image.kind.empty() && subjectOf(image) + whereOf(image) != heading) {
      heading = subjectOf(image) + whereOf(image);
      out << subjectOf(image) << " (" << whereOf(image) << ")\n";
    }
    const policy::ImageUse& use = image.use;
    const admission::ImageVerdict& v = image.verdict;
    std::string verdict = upper(policy::verdictName(v.verdict));
    verdict.resize(7, ' ');
    out << verdict << "  " << use.image;
    if (!use.container.empty()) {
      out << "  (container \"" << use.container << "\", " << use.path << ")";
    }
    out << "\n";
    if (const std::string digest = digestOf(image); !digest.empty()) {
      out << "  digest: " << digest << "\n";
    }
    // What a Pod would run under a digest: Pin policy (the mutating webhook's rewrite).
    if (!v.pinned.empty()) {
      out << "  pinned: " << v.pinned << "\n";
    }
    if (use.scan) {
      printFacts(out, *use.scan);
    }
    for (const auto& [_, sig] : use.signatures) {
      for (const auto& a : sig->attestors) {
        if (a.verified) {
          out << "  signature: attestor \"" << a.attestor << "\" verified " << sig->digest << " ("
              << a.signer << ")\n";
        }
      }
    }
    for (const auto& f : v.evaluation.findings) {
      out << "  " << policy::modeName(f.mode) << " policy \"" << f.policy << "\" ("
          << policy::checkName(f.check) << "): " << policy::describe(f) << "\n";
    }
    if (v.evaluation.matchedPolicies.empty() && v.evaluation.findings.empty()) {
      out << "  no policy applies to this image in namespace " << image.nameSpace << "\n";
    }
  }
  out << summaryLine(run) << "\n";
  return out.str();
}

json renderJson(const policy::PolicySet& policies, const CheckRun& run) {
  json results = json::array();
  policy::Verdict worst = policy::Verdict::kAllowed;
  json counts = {{"allowed", 0}, {"warned", 0}, {"denied", 0}};
  for (const CheckedImage& image : run.images) {
    const admission::ImageVerdict& v = image.verdict;
    worst = std::max(worst, v.verdict);
    counts[std::string(policy::verdictName(v.verdict))] =
        counts[std::string(policy::verdictName(v.verdict))].get<int>() + 1;
    json r;
    if (image.kind.empty()) {
      r["source"] = nullptr;
    } else {
      r["source"] = {{"file", image.source},
                     {"document", image.document},
                     {"item", image.listItem},
                     {"template", image.origin}};
    }
    r["namespace"] = image.nameSpace;
    r["apiVersion"] = image.apiVersion;
    r["kind"] = image.kind;
    r["name"] = image.name;
    r["container"] = image.use.container;
    r["path"] = image.use.path;
    r["image"] = image.use.image;
    const std::string digest = digestOf(image);
    r["digest"] = digest.empty() ? json(nullptr) : json(digest);
    r["pinned"] = v.pinned.empty() ? json(nullptr) : json(v.pinned);
    r["verdict"] = policy::verdictName(v.verdict);
    r["fails"] = fails(run, image);
    r["scan"] = image.use.scan ? scanJson(*image.use.scan) : json(nullptr);
    json signatures = json::array();
    for (const auto& [_, sig] : image.use.signatures) {
      for (const auto& a : sig->attestors) {
        if (a.verified) {
          signatures.push_back(
              {{"attestor", a.attestor}, {"signer", a.signer}, {"digest", sig->digest}});
        }
      }
    }
    r["signatures"] = std::move(signatures);
    json ps = json::array();
    for (const PolicyOutcome& po : outcomesOf(policies, image)) {
      json checks = json::array();
      for (const CheckOutcome& co : po.checks) {
        json findings = json::array();
        std::string message;
        for (const policy::Finding& f : co.findings) {
          findings.push_back(findingJson(f));
          message += (message.empty() ? "" : "; ") + policy::describe(f);
        }
        checks.push_back({{"check", co.check},
                          {"result", co.result},
                          {"message", message},
                          {"fix", co.findings.empty() ? "" : co.findings.front().fix},
                          {"findings", std::move(findings)}});
      }
      ps.push_back({{"name", po.policy}, {"mode", po.mode}, {"checks", std::move(checks)}});
    }
    r["policies"] = std::move(ps);
    results.push_back(std::move(r));
  }
  size_t skipped = 0;
  for (const auto& [_, n] : run.skipped) {
    skipped += n;
  }
  return {{"apiVersion", "harbormaster.io/v1alpha1"},
          {"kind", "CheckReport"},
          {"verdict", policy::verdictName(worst)},
          {"exitCode", exitCodeOf(run)},
          {"enforceWarn", run.enforceWarn},
          {"summary",
           {{"workloads", run.workloads},
            {"images", run.images.size()},
            {"allowed", counts["allowed"]},
            {"warned", counts["warned"]},
            {"denied", counts["denied"]},
            {"skipped", skipped},
            {"skippedKinds", run.skipped}}},
          {"results", std::move(results)}};
}

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&apos;";
          break;
        default:
          if (c < 0x20 && c != '\t' && c != '\n') {
            out += kReplacement;  // XML 1.0 has no way to write these (\r would be folded)
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence (no overlongs, surrogates or values past U+10FFFF) is kept.
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    bool ok = len > 0 && c <= 0xF4 && i + len <= text.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len >= 3) {
      const auto c1 = static_cast<unsigned char>(text[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0) && !(c == 0xF0 && c1 < 0x90) &&
           !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

std::string renderJunit(const policy::PolicySet& policies, const CheckRun& run) {
  (void)policies;
  // One test suite per namespace, one test case per workload image: GitLab's test report and
  // GitHub's summaries list failures by class (the workload) and name (container and image).
  std::map<std::string, std::vector<const CheckedImage*>> byNamespace;
  size_t failures = 0;
  for (const CheckedImage& image : run.images) {
    byNamespace[image.nameSpace].push_back(&image);
    failures += fails(run, image) ? 1 : 0;
  }
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out << "<testsuites name=\"harbormaster check\" tests=\"" << run.images.size() << "\" failures=\""
      << failures << "\" errors=\"0\" skipped=\"0\" time=\"0\">\n";
  for (const auto& [ns, images] : byNamespace) {
    size_t suiteFailures = 0;
    for (const CheckedImage* i : images) {
      suiteFailures += fails(run, *i) ? 1 : 0;
    }
    out << "  <testsuite name=\"" << xmlEscape("namespace " + ns) << "\" tests=\"" << images.size()
        << "\" failures=\"" << suiteFailures << "\" errors=\"0\" skipped=\"0\" time=\"0\">\n";
    for (const CheckedImage* i : images) {
      const std::string classname = i->kind.empty() ? "image" : subjectOf(*i);
      const std::string name =
          (i->use.container.empty() ? "" : "container " + i->use.container + ": ") + i->use.image;
      out << "    <testcase classname=\"" << xmlEscape(classname) << "\" name=\"" << xmlEscape(name)
          << "\"";
      if (!i->source.empty()) {
        out << " file=\"" << xmlEscape(i->origin.empty() ? i->source : i->origin) << "\"";
      }
      out << " time=\"0\">\n";
      if (fails(run, *i)) {
        const std::vector<std::string> lines = decidingLines(*i, run.enforceWarn);
        const std::string first = lines.empty() ? "denied" : lines.front();
        std::string body;
        for (const std::string& l : lines) {
          body += l + "\n";
        }
        out << "      <failure type=\"" << policy::verdictName(i->verdict.verdict)
            << "\" message=\"" << xmlEscape(first) << "\">" << xmlEscape(body) << "</failure>\n";
      }
      std::string details;
      if (!i->source.empty()) {
        details += "from " + whereOf(*i) + "\n";
      }
      if (const std::string digest = digestOf(*i); !digest.empty()) {
        details += "digest: " + digest + "\n";
      }
      for (const policy::Finding& f : i->verdict.evaluation.findings) {
        if (f.mode != policy::Mode::kEnforce) {
          details += std::string(policy::modeName(f.mode)) + " policy \"" + f.policy + "\" (" +
                     std::string(policy::checkName(f.check)) + "): " + policy::describe(f) + "\n";
        }
      }
      out << "      <system-out>" << xmlEscape(details) << "</system-out>\n";
      out << "    </testcase>\n";
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
  return out.str();
}

}  // namespace hm::cli
