// spec.vulnerabilities: the scan gate's grammar.
#include <yaml-cpp/yaml.h>

#include "reader.h"

namespace hm::policy::load {
namespace {

// Severity names a policy may use, with Harbor's comparison codes.
const std::initializer_list<std::pair<std::string_view, int>> kSeverities = {
    {"None", 0}, {"Low", 2}, {"Medium", 3}, {"High", 4}, {"Critical", 5}};

StatusOr<AllowedCve> readAllowedCve(const Ctx& ctx, const YAML::Node& node,
                                    const std::string& field) {
  HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"id", "expires", "reason"}));
  AllowedCve cve;
  if (!node["id"] || !node["id"].IsScalar() || node["id"].Scalar().empty()) {
    return ctx.error(field + ".id", "is required (e.g. CVE-2024-0001)");
  }
  cve.id = node["id"].Scalar();
  if (!node["reason"] || !node["reason"].IsScalar() || node["reason"].Scalar().empty()) {
    return ctx.error(field + ".reason",
                     "is required: say why the finding is accepted (a ticket, an owner)");
  }
  cve.reason = node["reason"].Scalar();
  auto expires = readExpiry(ctx, node["expires"], field + ".expires");
  if (!expires.ok()) {
    return expires.status();
  }
  cve.expires = *expires;
  return cve;
}

}  // namespace

StatusOr<VulnerabilityRule> readVulnerabilities(const Ctx& ctx, const YAML::Node& node) {
  const std::string f = "spec.vulnerabilities";
  HM_RETURN_IF_ERROR(requireMap(
      ctx, node, f,
      {"severity", "maxCounts", "fixableOnly", "notScanned", "pending", "failed", "unsupported",
       "allowlist", "harborAllowlists", "projectPolicy", "harborUnreachable"}));
  VulnerabilityRule rule;
  if (node["severity"]) {
    auto sev = readEnum<int>(ctx, node["severity"], f + ".severity", kSeverities);
    if (!sev.ok()) {
      return sev.status();
    }
    rule.severity = *sev;
  }
  if (const YAML::Node caps = node["maxCounts"]; caps && !caps.IsNull()) {
    HM_RETURN_IF_ERROR(
        requireMap(ctx, caps, f + ".maxCounts", {"Critical", "High", "Medium", "Low", "Unknown"}));
    for (const auto& kv : caps) {
      std::string where = f + ".maxCounts." + kv.first.Scalar();
      int64_t n = -1;
      if (kv.second.IsScalar()) {
        try {
          n = kv.second.as<int64_t>();
        } catch (const YAML::Exception&) {
        }
      }
      if (n < 0) {
        return ctx.error(where, "must be a whole number of findings, 0 or more");
      }
      rule.maxCounts[kv.first.Scalar()] = n;
    }
  }
  if (!rule.severity && rule.maxCounts.empty()) {
    return ctx.error(f, "set severity (None, Low, Medium, High or Critical), maxCounts, or both");
  }
  auto action = [&](const char* key, ScanStateAction& out, bool scanAllowed) -> Status {
    if (!node[key]) {
      return okStatus();
    }
    std::initializer_list<std::pair<std::string_view, ScanStateAction>> all = {
        {"Deny", ScanStateAction::kDeny},
        {"Warn", ScanStateAction::kWarn},
        {"Allow", ScanStateAction::kAllow},
        {"ScanAndDeny", ScanStateAction::kScanAndDeny}};
    std::initializer_list<std::pair<std::string_view, ScanStateAction>> some = {
        {"Deny", ScanStateAction::kDeny},
        {"Warn", ScanStateAction::kWarn},
        {"Allow", ScanStateAction::kAllow}};
    auto a = readEnum<ScanStateAction>(ctx, node[key], f + "." + key, scanAllowed ? all : some);
    if (!a.ok()) {
      return a.status();
    }
    out = *a;
    return okStatus();
  };
  HM_RETURN_IF_ERROR(action("notScanned", rule.notScanned, true));
  HM_RETURN_IF_ERROR(action("pending", rule.pending, false));
  HM_RETURN_IF_ERROR(action("failed", rule.failed, false));
  HM_RETURN_IF_ERROR(action("unsupported", rule.unsupported, false));
  for (auto [key, out] : {std::pair<const char*, bool*>{"fixableOnly", &rule.fixableOnly},
                          {"harborAllowlists", &rule.harborAllowlists},
                          {"projectPolicy", &rule.projectPolicy}}) {
    if (node[key]) {
      auto b = readBool(ctx, node[key], f + "." + key);
      if (!b.ok()) {
        return b.status();
      }
      *out = *b;
    }
  }
  if (node["harborUnreachable"]) {
    auto u = readEnum<UnreachableAction>(ctx, node["harborUnreachable"], f + ".harborUnreachable",
                                         {{"Deny", UnreachableAction::kDeny},
                                          {"Allow", UnreachableAction::kAllow},
                                          {"AllowIfCached", UnreachableAction::kAllowIfCached}});
    if (!u.ok()) {
      return u.status();
    }
    rule.harborUnreachable = *u;
  }
  if (const YAML::Node list = node["allowlist"]; list && !list.IsNull()) {
    if (!list.IsSequence()) {
      return ctx.error(f + ".allowlist", "must be a list of {id, expires, reason}");
    }
    for (size_t i = 0; i < list.size(); ++i) {
      auto cve = readAllowedCve(ctx, list[i], f + ".allowlist[" + std::to_string(i) + "]");
      if (!cve.ok()) {
        return cve.status();
      }
      rule.allowlist.push_back(std::move(*cve));
    }
  }
  return rule;
}

}  // namespace hm::policy::load
