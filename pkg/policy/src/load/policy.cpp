// The ClusterImagePolicy / ImagePolicy spec: selection, mode, checks, and the sections the other
// grammars read.
#include <yaml-cpp/yaml.h>

#include "harbormaster/policy/section.h"
#include "reader.h"

namespace hm::policy::load {

StatusOr<ImagePolicy> readPolicy(const Ctx& ctx, const YAML::Node& spec, PolicyScope scope) {
  ImagePolicy p;
  p.scope = scope;
  if (!spec || spec.IsNull()) {
    return ctx.error("spec", "is required");
  }
  const std::vector<const Section*> sections = registeredSections();
  std::vector<std::string_view> fields = {
      "mode",     "match",      "exclude",         "registries",      "digest",
      "onUpdate", "exceptions", "exceptionPolicy", "vulnerabilities", "signatures"};
  for (const Section* section : sections) {
    fields.push_back(section->key());
  }
  HM_RETURN_IF_ERROR(requireMap(ctx, spec, "spec", fields));
  if (spec["mode"]) {
    auto m = readEnum<Mode>(
        ctx, spec["mode"], "spec.mode",
        {{"Enforce", Mode::kEnforce}, {"Warn", Mode::kWarn}, {"Audit", Mode::kAudit}});
    if (!m.ok()) {
      return m.status();
    }
    p.mode = *m;
  }
  // A namespaced policy judges its own namespace only: it names no others.
  const bool cluster = scope == PolicyScope::kCluster;
  auto match = readSelector(ctx, spec["match"], "spec.match", cluster, cluster);
  if (!match.ok()) {
    return match.status();
  }
  auto exclude = readSelector(ctx, spec["exclude"], "spec.exclude", cluster, false);
  if (!exclude.ok()) {
    return exclude.status();
  }
  if (spec["match"] && spec["match"].IsMap() && spec["match"]["namespaceSelector"]) {
    auto sel =
        readLabelSelector(ctx, spec["match"]["namespaceSelector"], "spec.match.namespaceSelector");
    if (!sel.ok()) {
      return sel.status();
    }
    p.namespaceSelector = std::move(*sel);
  }
  // Closed by default for cluster policies: a tenant's ImageException waives a platform
  // team's policy only where that policy says so. An ImagePolicy is the namespace's own, and
  // only exceptions of that namespace can name it.
  p.exceptionPolicy.allowed = scope == PolicyScope::kNamespace;
  if (spec["exceptionPolicy"] && !spec["exceptionPolicy"].IsNull()) {
    auto ep = readExceptionPolicy(ctx, spec["exceptionPolicy"], p.exceptionPolicy);
    if (!ep.ok()) {
      return ep.status();
    }
    p.exceptionPolicy = std::move(*ep);
  }
  auto registries = readRegistries(ctx, spec["registries"]);
  if (!registries.ok()) {
    return registries.status();
  }
  if (spec["digest"]) {
    const YAML::Node d = spec["digest"];
    if (d.IsScalar() && d.Scalar() == "Off") {
      p.digest = DigestRule::kOptional;  // the old name, kept as an alias
    } else if (d.IsScalar() && (d.Scalar() == "false" || d.Scalar() == "False")) {
      // YAML 1.1 readers (kubectl, Argo CD, kustomize) turn a bare Off into false.
      return ctx.error("spec.digest",
                       "must be one of Require, Pin, Optional, got false (a YAML 1.1 reader "
                       "turned an unquoted Off into false: write Optional)");
    } else {
      auto rule = readEnum<DigestRule>(ctx, d, "spec.digest",
                                       {{"Require", DigestRule::kRequire},
                                        {"Pin", DigestRule::kPin},
                                        {"Optional", DigestRule::kOptional}});
      if (!rule.ok()) {
        return rule.status();
      }
      p.digest = *rule;
    }
  }
  if (spec["onUpdate"]) {
    auto u = readEnum<UpdateRule>(ctx, spec["onUpdate"], "spec.onUpdate",
                                  {{"SkipUnchangedImages", UpdateRule::kSkipUnchanged},
                                   {"CheckAllImages", UpdateRule::kCheckAll}});
    if (!u.ok()) {
      return u.status();
    }
    p.onUpdate = *u;
  }
  const YAML::Node exceptions = spec["exceptions"];
  if (exceptions && !exceptions.IsNull()) {
    if (!exceptions.IsSequence()) {
      return ctx.error("spec.exceptions", "must be a list");
    }
    for (size_t i = 0; i < exceptions.size(); ++i) {
      auto ex = readException(ctx, exceptions[i], "spec.exceptions[" + std::to_string(i) + "]");
      if (!ex.ok()) {
        return ex.status();
      }
      p.exceptions.push_back(std::move(*ex));
    }
  }
  if (spec["vulnerabilities"] && !spec["vulnerabilities"].IsNull()) {
    auto rule = readVulnerabilities(ctx, spec["vulnerabilities"]);
    if (!rule.ok()) {
      return rule.status();
    }
    p.vulnerabilities = std::move(*rule);
  }
  if (spec["signatures"] && !spec["signatures"].IsNull()) {
    auto rule = readSignatures(ctx, spec["signatures"]);
    if (!rule.ok()) {
      return rule.status();
    }
    p.signatures = std::move(*rule);
  }
  for (size_t i = 0; i < sections.size(); ++i) {
    const std::string key(sections[i]->key());
    if (!spec[key] || spec[key].IsNull()) {
      continue;
    }
    // A module's grammar is not ours: whatever it throws is an error about its field, never a
    // loader that stops.
    StatusOr<std::shared_ptr<const SectionRule>> rule = internalError("not read");
    try {
      rule = sections[i]->read(SectionReader(ctx, spec[key], "spec." + key));
    } catch (const std::exception& e) {
      return ctx.error("spec." + key, std::string("could not be read (") + e.what() + ")");
    }
    if (!rule.ok()) {
      return rule.status();
    }
    if (*rule == nullptr) {
      return ctx.error("spec." + key,
                       "was read as nothing (the section's reader returned no rule)");
    }
    std::string where = factKey(*sections[i], **rule);
    p.sections.push_back(
        SectionUse{sections[i], static_cast<Check>(static_cast<size_t>(Check::kFirstSection) + i),
                   std::move(*rule), std::move(where)});
  }
  p.match = std::move(*match);
  p.exclude = std::move(*exclude);
  p.registries = std::move(*registries);
  return p;
}

}  // namespace hm::policy::load
