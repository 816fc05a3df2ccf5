// Exceptions: a policy's own spec.exceptions, its spec.exceptionPolicy (which ImageExceptions it
// accepts), and the ImageException resource's spec.
#include <yaml-cpp/yaml.h>

#include "reader.h"

#include <algorithm>

namespace hm::policy::load {

StatusOr<PolicyException> readException(const Ctx& ctx, const YAML::Node& node,
                                        const std::string& field) {
  HM_RETURN_IF_ERROR(
      requireMap(ctx, node, field, {"images", "namespaces", "checks", "expires", "reason"}));
  PolicyException ex;
  auto images = readStringList(ctx, node["images"], field + ".images");
  if (!images.ok()) {
    return images.status();
  }
  auto ns = readStringList(ctx, node["namespaces"], field + ".namespaces");
  if (!ns.ok()) {
    return ns.status();
  }
  auto checks = readChecks(ctx, node["checks"], field + ".checks");
  if (!checks.ok()) {
    return checks.status();
  }
  if (!node["reason"] || !node["reason"].IsScalar() || node["reason"].Scalar().empty()) {
    return ctx.error(field + ".reason",
                     "is required: say why the exception exists (a ticket, an owner)");
  }
  auto expires = readExpiry(ctx, node["expires"], field + ".expires");
  if (!expires.ok()) {
    return expires.status();
  }
  ex.expires = *expires;
  ex.images = normaliseImagePatterns(std::move(*images));
  ex.namespaces = std::move(*ns);
  ex.checks = std::move(*checks);
  ex.reason = node["reason"].Scalar();
  return ex;
}

StatusOr<ExceptionPolicy> readExceptionPolicy(const Ctx& ctx, const YAML::Node& node,
                                              ExceptionPolicy ep) {
  const std::string f = "spec.exceptionPolicy";
  HM_RETURN_IF_ERROR(requireMap(ctx, node, f, {"allowed", "namespaceSelector", "maxDuration"}));
  if (node["allowed"]) {
    auto b = readBool(ctx, node["allowed"], f + ".allowed");
    if (!b.ok()) {
      return b.status();
    }
    ep.allowed = *b;
  }
  if (node["namespaceSelector"]) {
    auto sel = readLabelSelector(ctx, node["namespaceSelector"], f + ".namespaceSelector");
    if (!sel.ok()) {
      return sel.status();
    }
    ep.namespaceSelector = std::move(*sel);
  }
  if (node["maxDuration"]) {
    auto d = readDuration(ctx, node["maxDuration"], f + ".maxDuration");
    if (!d.ok()) {
      return d.status();
    }
    ep.maxDuration = *d;
  }
  return ep;
}

StatusOr<ImageException> readImageException(const Ctx& ctx, const YAML::Node& spec) {
  if (!spec || spec.IsNull()) {
    return ctx.error("spec", "is required");
  }
  HM_RETURN_IF_ERROR(requireMap(
      ctx, spec, "spec",
      {"policies", "images", "checks", "cves", "expiresAt", "reason", "owner", "ticket"}));
  ImageException ex;
  auto policies = readStringList(ctx, spec["policies"], "spec.policies");
  if (!policies.ok()) {
    return policies.status();
  }
  if (policies->empty()) {
    return ctx.error("spec.policies",
                     "must name at least one ClusterImagePolicy or ImagePolicy it applies to");
  }
  auto images = readStringList(ctx, spec["images"], "spec.images");
  if (!images.ok()) {
    return images.status();
  }
  if (images->empty()) {
    // An exception covers named images, never "everything": "**" says so explicitly.
    return ctx.error("spec.images",
                     "must name at least one image glob or digest it applies to (\"**\" for "
                     "every image the policies select)");
  }
  auto checks = readChecks(ctx, spec["checks"], "spec.checks");
  if (!checks.ok()) {
    return checks.status();
  }
  auto cves = readStringList(ctx, spec["cves"], "spec.cves");
  if (!cves.ok()) {
    return cves.status();
  }
  if (!cves->empty() &&
      std::find(checks->begin(), checks->end(), Check::kVulnerabilities) == checks->end()) {
    return ctx.error("spec.cves", "needs vulnerabilities in spec.checks");
  }
  if (!spec["expiresAt"] || spec["expiresAt"].IsNull()) {
    return ctx.error("spec.expiresAt", "is required: every exception ends (RFC 3339)");
  }
  auto expires = readExpiry(ctx, spec["expiresAt"], "spec.expiresAt");
  if (!expires.ok()) {
    return expires.status();
  }
  if (!spec["reason"] || !spec["reason"].IsScalar() || spec["reason"].Scalar().empty()) {
    return ctx.error("spec.reason", "is required: say why the exception exists");
  }
  for (auto [key, out] :
       {std::pair<const char*, std::string*>{"owner", &ex.owner}, {"ticket", &ex.ticket}}) {
    if (spec[key]) {
      auto v = readString(ctx, spec[key], std::string("spec.") + key);
      if (!v.ok()) {
        return v.status();
      }
      *out = *v;
    }
  }
  ex.policies = std::move(*policies);
  ex.images = normaliseImagePatterns(std::move(*images));
  ex.checks = std::move(*checks);
  ex.cves = std::move(*cves);
  ex.expiresAt = **expires;
  ex.reason = spec["reason"].Scalar();
  return ex;
}

}  // namespace hm::policy::load
