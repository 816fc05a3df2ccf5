#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "harbormaster/base/files.h"
#include "harbormaster/policy/policy.h"

namespace hm::policy {
namespace {

constexpr std::string_view kApiVersion = "harbormaster.io/v1alpha1";
constexpr std::string_view kKind = "ImagePolicy";

// Carries where we are in the document so every error names the document, field and problem.
struct Ctx {
  std::string document;  // "policy.yaml, document 2 (ImagePolicy \"production\")"

  Status error(const std::string& field, const std::string& problem) const {
    return invalidArgument(document + ": " + (field.empty() ? "" : field + ": ") + problem);
  }
};

Status requireMap(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                  std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) {
    return ctx.error(field,
                     field.empty() ? "a policy document must be a mapping" : "must be a mapping");
  }
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      std::string where = field.empty() ? key : field + "." + key;
      return ctx.error(where, "unknown field (known fields: " + list + ")");
    }
  }
  return okStatus();
}

StatusOr<std::string> readString(const Ctx& ctx, const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) {
    return ctx.error(field, "must be a string");
  }
  return node.Scalar();
}

StatusOr<std::vector<std::string>> readStringList(const Ctx& ctx, const YAML::Node& node,
                                                  const std::string& field) {
  std::vector<std::string> out;
  if (!node || node.IsNull()) {
    return out;
  }
  if (!node.IsSequence()) {
    return ctx.error(field, "must be a list of strings");
  }
  for (size_t i = 0; i < node.size(); ++i) {
    std::string where = field + "[" + std::to_string(i) + "]";
    if (!node[i].IsScalar() || node[i].Scalar().empty()) {
      return ctx.error(where, "must be a non-empty string");
    }
    out.push_back(node[i].Scalar());
  }
  return out;
}

template <typename E>
StatusOr<E> readEnum(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                     std::initializer_list<std::pair<std::string_view, E>> values) {
  auto s = readString(ctx, node, field);
  if (!s.ok()) {
    return s.status();
  }
  std::string names;
  for (const auto& [name, value] : values) {
    if (*s == name) {
      return value;
    }
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  return ctx.error(field, "must be one of " + names + ", got \"" + *s + "\"");
}

StatusOr<Selector> readSelector(const Ctx& ctx, const YAML::Node& node, const std::string& field) {
  Selector sel;
  if (!node || node.IsNull()) {
    return sel;
  }
  HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"namespaces", "images"}));
  auto ns = readStringList(ctx, node["namespaces"], field + ".namespaces");
  if (!ns.ok()) {
    return ns.status();
  }
  auto images = readStringList(ctx, node["images"], field + ".images");
  if (!images.ok()) {
    return images.status();
  }
  sel.namespaces = std::move(*ns);
  sel.images = std::move(*images);
  return sel;
}

std::string normaliseRegistry(std::string host) {
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (host == "index.docker.io" || host == "registry-1.docker.io") {
    return "docker.io";
  }
  return host;
}

StatusOr<std::vector<std::string>> readRegistries(const Ctx& ctx, const YAML::Node& node) {
  auto list = readStringList(ctx, node, "spec.registries");
  if (!list.ok()) {
    return list.status();
  }
  for (size_t i = 0; i < list->size(); ++i) {
    std::string& host = (*list)[i];
    if (host.find_first_of("/@ \t") != std::string::npos) {
      return ctx.error("spec.registries[" + std::to_string(i) + "]",
                       "\"" + host +
                           "\" must be a registry host such as harbor.example.com or "
                           "harbor.example.com:8443, without a path");
    }
    host = normaliseRegistry(host);
  }
  return list;
}

StatusOr<std::vector<Check>> readChecks(const Ctx& ctx, const YAML::Node& node,
                                        const std::string& field) {
  auto names = readStringList(ctx, node, field);
  if (!names.ok()) {
    return names.status();
  }
  if (names->empty()) {
    return ctx.error(field, "must name at least one check (registry, digest, vulnerabilities)");
  }
  std::vector<Check> checks;
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string& n = (*names)[i];
    if (n == "digest") {
      checks.push_back(Check::kDigest);
    } else if (n == "registry") {
      checks.push_back(Check::kRegistry);
    } else if (n == "vulnerabilities") {
      checks.push_back(Check::kVulnerabilities);
    } else {
      return ctx.error(
          field + "[" + std::to_string(i) + "]",
          "unknown check \"" + n + "\" (known checks: registry, digest, vulnerabilities)");
    }
  }
  return checks;
}

StatusOr<bool> readBool(const Ctx& ctx, const YAML::Node& node, const std::string& field) {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    return node.Scalar() == "true";
  }
  return ctx.error(field, "must be true or false");
}

StatusOr<std::optional<WallTime>> readExpiry(const Ctx& ctx, const YAML::Node& node,
                                             const std::string& field) {
  if (!node || node.IsNull()) {
    return std::optional<WallTime>();
  }
  auto text = readString(ctx, node, field);
  if (!text.ok()) {
    return text.status();
  }
  auto t = parseRfc3339(*text);
  if (!t.ok()) {
    return ctx.error(field, t.status().message());
  }
  return std::optional<WallTime>(*t);
}

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
  ex.images = std::move(*images);
  ex.namespaces = std::move(*ns);
  ex.checks = std::move(*checks);
  ex.reason = node["reason"].Scalar();
  return ex;
}

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

StatusOr<ImagePolicy> readPolicy(const Ctx& ctx, const YAML::Node& spec) {
  ImagePolicy p;
  if (!spec || spec.IsNull()) {
    return ctx.error("spec", "is required");
  }
  if (spec.IsMap()) {
    for (std::string_view later : {"signatures"}) {
      if (spec[std::string(later)]) {
        return ctx.error("spec." + std::string(later),
                         "is not supported by this version of Harbormaster");
      }
    }
  }
  HM_RETURN_IF_ERROR(requireMap(ctx, spec, "spec",
                                {"mode", "match", "exclude", "registries", "digest", "onUpdate",
                                 "exceptions", "vulnerabilities"}));
  if (spec["mode"]) {
    auto m = readEnum<Mode>(
        ctx, spec["mode"], "spec.mode",
        {{"Enforce", Mode::kEnforce}, {"Warn", Mode::kWarn}, {"Audit", Mode::kAudit}});
    if (!m.ok()) {
      return m.status();
    }
    p.mode = *m;
  }
  auto match = readSelector(ctx, spec["match"], "spec.match");
  if (!match.ok()) {
    return match.status();
  }
  auto exclude = readSelector(ctx, spec["exclude"], "spec.exclude");
  if (!exclude.ok()) {
    return exclude.status();
  }
  auto registries = readRegistries(ctx, spec["registries"]);
  if (!registries.ok()) {
    return registries.status();
  }
  if (spec["digest"]) {
    auto d = readEnum<DigestRule>(ctx, spec["digest"], "spec.digest",
                                  {{"Require", DigestRule::kRequire}, {"Off", DigestRule::kOff}});
    if (!d.ok()) {
      return d.status();
    }
    p.digest = *d;
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
  p.match = std::move(*match);
  p.exclude = std::move(*exclude);
  p.registries = std::move(*registries);
  return p;
}

// Kubernetes object names: DNS-1123 subdomain.
bool validObjectName(std::string_view name) {
  if (name.empty() || name.size() > 253) {
    return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

StatusOr<ImagePolicy> readDocument(const std::string& source, size_t index, const YAML::Node& doc) {
  Ctx ctx{source + ", document " + std::to_string(index)};
  HM_RETURN_IF_ERROR(requireMap(ctx, doc, "", {"apiVersion", "kind", "metadata", "spec"}));
  if (!doc["apiVersion"] || !doc["apiVersion"].IsScalar() ||
      doc["apiVersion"].Scalar() != kApiVersion) {
    return ctx.error("apiVersion", "must be " + std::string(kApiVersion));
  }
  if (!doc["kind"] || !doc["kind"].IsScalar() || doc["kind"].Scalar() != kKind) {
    return ctx.error("kind", "must be " + std::string(kKind));
  }
  const YAML::Node meta = doc["metadata"];
  if (!meta || !meta.IsMap() || !meta["name"] || !meta["name"].IsScalar()) {
    return ctx.error("metadata.name", "is required");
  }
  std::string name = meta["name"].Scalar();
  if (!validObjectName(name)) {
    return ctx.error("metadata.name", "\"" + name +
                                          "\" must be lower-case letters, digits, '-' and '.', "
                                          "starting and ending with a letter or digit");
  }
  ctx.document += " (ImagePolicy \"" + name + "\")";
  auto policy = readPolicy(ctx, doc["spec"]);
  if (!policy.ok()) {
    return policy.status();
  }
  policy->name = name;
  policy->source = source + ", document " + std::to_string(index);
  return policy;
}

}  // namespace

std::string_view modeName(Mode mode) {
  switch (mode) {
    case Mode::kEnforce:
      return "Enforce";
    case Mode::kWarn:
      return "Warn";
    case Mode::kAudit:
      return "Audit";
  }
  return "Enforce";
}

std::string_view checkName(Check check) {
  switch (check) {
    case Check::kReference:
      return "reference";
    case Check::kRegistry:
      return "registry";
    case Check::kDigest:
      return "digest";
    case Check::kVulnerabilities:
      return "vulnerabilities";
  }
  return "unknown";
}

StatusOr<PolicySet> parsePolicies(std::string_view yaml, std::string_view sourceName,
                                  const LoadOptions& options) {
  std::string source(sourceName);
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return invalidArgument(source + ": not valid YAML: " + e.what());
  }
  PolicySet set;
  set.defaultExcludedNamespaces.push_back("kube-system");
  if (!options.ownNamespace.empty() && options.ownNamespace != "kube-system") {
    set.defaultExcludedNamespaces.push_back(options.ownNamespace);
  }
  std::set<std::string> names;
  try {
    for (size_t i = 0; i < docs.size(); ++i) {
      if (!docs[i] || docs[i].IsNull()) {
        continue;  // an empty document, e.g. after a trailing "---"
      }
      auto p = readDocument(source, i + 1, docs[i]);
      if (!p.ok()) {
        return p.status();
      }
      if (!names.insert(p->name).second) {
        return invalidArgument(source + ", document " + std::to_string(i + 1) +
                               ": metadata.name: ImagePolicy \"" + p->name + "\" is defined twice");
      }
      set.policies.push_back(std::move(*p));
    }
  } catch (const YAML::Exception& e) {
    return invalidArgument(source + ": " + e.what());
  }
  return set;
}

StatusOr<PolicySet> loadPolicyFile(const std::string& path, const LoadOptions& options) {
  auto text = readFile(path, 4 * 1024 * 1024);
  if (!text.ok()) {
    return text.status().withContext("policy file");
  }
  return parsePolicies(*text, path, options);
}

}  // namespace hm::policy
