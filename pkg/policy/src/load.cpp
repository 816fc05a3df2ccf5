#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/files.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/policy.h"
#include "harbormaster/sigstore/keys.h"
#include "harbormaster/sigstore/trust.h"
#include "harbormaster/yaml/load.h"

namespace hm::policy {
namespace {

constexpr std::string_view kApiVersion = "harbormaster.io/v1alpha1";
constexpr std::string_view kNamespacedKind = "ImagePolicy";
constexpr std::string_view kClusterKind = "ClusterImagePolicy";
constexpr std::string_view kExceptionKind = "ImageException";

// Carries where we are in the document so every error names the document, field and problem.
struct Ctx {
  std::string document;  // "policy.yaml, document 2 (ImagePolicy \"production\")"
  std::map<std::string, std::string>* files;  // read so far: PolicySet::files
  bool readFiles = true;
  // What the document being read warns about, and why it cannot be enforced (a file it names
  // does not load); null while nothing collects them.
  std::vector<std::string>* warnings = nullptr;
  std::vector<std::string>* unenforceable = nullptr;

  Status error(const std::string& field, const std::string& problem) const {
    return invalidArgument((document.empty() ? "" : document + ": ") +
                           (field.empty() ? "" : field + ": ") + problem);
  }
  // A referenced file that does not load is no spec error: the spec is right and the policy
  // stands, but it is not in force until the file loads (ImagePolicy::unenforceable).
  void cannotEnforce(const std::string& field, const std::string& problem) const {
    if (unenforceable != nullptr) {
      unenforceable->push_back(field + ": " + problem);
    }
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

// Image globs compare with normalised names, so their registry host is normalised the same way
// (imageref::normalizeHost): "HARBOR.example.com:443/p/*" selects harbor.example.com/p/x.
std::vector<std::string> normaliseImagePatterns(std::vector<std::string> patterns) {
  for (std::string& p : patterns) {
    p = imageref::normalizeLeadingHost(p);
  }
  return patterns;
}

StatusOr<Selector> readSelector(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                                bool withNamespaces, bool withSelector) {
  Selector sel;
  if (!node || node.IsNull()) {
    return sel;
  }
  if (withSelector) {
    HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"namespaces", "namespaceSelector", "images"}));
  } else if (withNamespaces) {
    HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"namespaces", "images"}));
  } else {
    HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"images"}));
  }
  auto ns = readStringList(ctx, node["namespaces"], field + ".namespaces");
  if (!ns.ok()) {
    return ns.status();
  }
  auto images = readStringList(ctx, node["images"], field + ".images");
  if (!images.ok()) {
    return images.status();
  }
  sel.namespaces = std::move(*ns);
  sel.images = normaliseImagePatterns(std::move(*images));
  return sel;
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
    host = imageref::normalizeHost(host);
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
    return ctx.error(
        field, "must name at least one check (registry, digest, vulnerabilities, signatures)");
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
    } else if (n == "signatures") {
      checks.push_back(Check::kSignatures);
    } else {
      return ctx.error(field + "[" + std::to_string(i) + "]",
                       "unknown check \"" + n +
                           "\" (known checks: registry, digest, vulnerabilities, signatures)");
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
  ex.images = normaliseImagePatterns(std::move(*images));
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

// A key or trusted root given as a file path: read now, remembered so a change reloads.
constexpr char kUnreadableMarker = '\0';

// A referenced file's content; nullopt when it does not load (recorded as why the policy cannot
// be enforced, and remembered in `files` so that its appearance reloads the policy).
StatusOr<std::optional<std::string>> readReferencedFile(const Ctx& ctx, const std::string& path,
                                                        const std::string& field, size_t maxBytes) {
  if (path.empty() || path.front() != '/') {
    return ctx.error(field, "\"" + path + "\" must be an absolute file path");
  }
  std::string text = snapshotReferencedFile(path);
  (*ctx.files)[path] = text;
  if (!text.empty() && text.front() == kUnreadableMarker) {
    ctx.cannotEnforce(field, text.substr(1));
    return std::optional<std::string>();
  }
  if (text.size() > maxBytes) {
    ctx.cannotEnforce(field, path + " is larger than " + std::to_string(maxBytes) + " bytes");
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(text));
}

StatusOr<std::vector<std::string>> readKeys(const Ctx& ctx, const YAML::Node& node,
                                            const std::string& field) {
  auto list = readStringList(ctx, node, field);
  if (!list.ok()) {
    return list.status();
  }
  if (list->empty()) {
    return ctx.error(field, "must list at least one public key (PEM text or a file path)");
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string where = field + "[" + std::to_string(i) + "]";
    std::string& key = (*list)[i];
    if (key.rfind("-----BEGIN", 0) != 0) {
      if (key.front() != '/') {
        return ctx.error(where,
                         "must be a PEM public key (-----BEGIN PUBLIC KEY-----…) or an "
                         "absolute path to a file holding one");
      }
      if (!ctx.readFiles) {
        continue;
      }
      auto text = readReferencedFile(ctx, key, where, 64 * 1024);
      if (!text.ok()) {
        return text.status();
      }
      if (!*text) {
        continue;  // recorded: the policy is not in force until the file loads
      }
      const std::string path = key;
      key = std::move(**text);
      if (auto k = sigstore::PublicKey::fromPem(key); !k.ok()) {
        ctx.cannotEnforce(where, path + " is not a usable public key: " + k.status().message());
      }
      continue;
    }
    if (auto k = sigstore::PublicKey::fromPem(key); !k.ok()) {
      return ctx.error(where, "is not a usable public key: " + k.status().message());
    }
  }
  return list;
}

StatusOr<std::string> readTrustedRoot(const Ctx& ctx, const YAML::Node& node,
                                      const std::string& field) {
  auto path = readString(ctx, node, field);
  if (!path.ok()) {
    return path.status();
  }
  if (!ctx.readFiles) {
    if (path->empty() || path->front() != '/') {
      return ctx.error(field, "\"" + *path + "\" must be an absolute file path");
    }
    return path;
  }
  auto text = readReferencedFile(ctx, *path, field, 4 * 1024 * 1024);
  if (!text.ok()) {
    return text.status();
  }
  if (!*text) {
    return std::string();  // recorded: the policy is not in force until the file loads
  }
  if (auto root = sigstore::TrustedRoot::parse(**text); !root.ok()) {
    ctx.cannotEnforce(field,
                      *path + " is not a usable Sigstore trusted root: " + root.status().message());
    return std::string();
  }
  return std::move(**text);
}

StatusOr<KeylessIdentity> readIdentity(const Ctx& ctx, const YAML::Node& node,
                                       const std::string& field) {
  HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"issuer", "subject", "subjectRegExp"}));
  KeylessIdentity id;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"issuer", &id.issuer},
                          {"subject", &id.subject},
                          {"subjectRegExp", &id.subjectRegExp}}) {
    if (node[key]) {
      auto v = readString(ctx, node[key], field + "." + key);
      if (!v.ok()) {
        return v.status();
      }
      *out = *v;
    }
  }
  if (id.issuer.empty()) {
    return ctx.error(
        field + ".issuer",
        "is required (the OIDC issuer, e.g. https://token.actions.githubusercontent.com)");
  }
  if (id.subject.empty() == id.subjectRegExp.empty()) {
    return ctx.error(field, "set exactly one of subject and subjectRegExp");
  }
  if (!id.subjectRegExp.empty()) {
    // Compiled once here and kept with the policy: every signature check reuses it.
    auto re = regexp::RegExp::compile(id.subjectRegExp);
    if (!re.ok()) {
      return ctx.error(field + ".subjectRegExp", re.status().message());
    }
    if (!re->anchored() && ctx.warnings != nullptr) {
      ctx.warnings->push_back(
          field + ".subjectRegExp: \"" + id.subjectRegExp +
          "\" is not anchored with ^…$: it matches anywhere in a certificate's identity, so an "
          "identity that merely contains it (another repository, another issuer's e-mail "
          "domain) is trusted too");
    }
    id.subjectPattern = std::move(*re);
  }
  return id;
}

StatusOr<Attestor> readAttestor(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                                TlogRule tlog) {
  HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"name", "keys", "trustedRoot", "keyless"}));
  Attestor a;
  if (!node["name"] || !node["name"].IsScalar() || node["name"].Scalar().empty()) {
    return ctx.error(field + ".name", "is required: messages name the attestor");
  }
  a.name = node["name"].Scalar();
  const bool hasKeys = node["keys"] && !node["keys"].IsNull();
  const bool hasKeyless = node["keyless"] && !node["keyless"].IsNull();
  if (hasKeys == hasKeyless) {
    return ctx.error(field, "set exactly one of keys and keyless");
  }
  if (hasKeys) {
    auto keys = readKeys(ctx, node["keys"], field + ".keys");
    if (!keys.ok()) {
      return keys.status();
    }
    a.keys = std::move(*keys);
    if (node["trustedRoot"]) {
      auto root = readTrustedRoot(ctx, node["trustedRoot"], field + ".trustedRoot");
      if (!root.ok()) {
        return root.status();
      }
      a.trustedRoot = std::move(*root);
      a.trustedRootFile = node["trustedRoot"].Scalar();
    } else if (tlog == TlogRule::kRequire) {
      return ctx.error(field + ".trustedRoot",
                       "is required with tlog: Require: a trusted_root.json whose Rekor keys "
                       "vouch for the key signatures (or set spec.signatures.tlog: Skip)");
    }
    return a;
  }
  if (node["trustedRoot"]) {
    return ctx.error(field + ".trustedRoot", "belongs under keyless for keyless attestors");
  }
  const YAML::Node keyless = node["keyless"];
  const std::string kf = field + ".keyless";
  HM_RETURN_IF_ERROR(requireMap(ctx, keyless, kf, {"trustedRoot", "identities"}));
  if (!keyless["trustedRoot"]) {
    return ctx.error(kf + ".trustedRoot",
                     "is required: the trusted_root.json of the Sigstore instance (public-good "
                     "or private) that issued the certificates");
  }
  auto root = readTrustedRoot(ctx, keyless["trustedRoot"], kf + ".trustedRoot");
  if (!root.ok()) {
    return root.status();
  }
  a.trustedRoot = std::move(*root);
  a.trustedRootFile = keyless["trustedRoot"].Scalar();
  const YAML::Node ids = keyless["identities"];
  if (!ids || !ids.IsSequence() || ids.size() == 0) {
    return ctx.error(kf + ".identities",
                     "must list at least one {issuer, subject or subjectRegExp}");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    auto id = readIdentity(ctx, ids[i], kf + ".identities[" + std::to_string(i) + "]");
    if (!id.ok()) {
      return id.status();
    }
    a.identities.push_back(std::move(*id));
  }
  return a;
}

// Length-prefixed, so no two different rules serialise alike.
void addField(std::string& out, std::string_view field) {
  out += std::to_string(field.size()) + ":" + std::string(field);
}

std::string fingerprintOf(const SignatureRule& rule) {
  std::string s;
  addField(s, std::to_string(rule.count));
  addField(s, rule.tlog == TlogRule::kRequire ? "tlog" : "notlog");
  addField(s, rule.repository);
  for (const auto& t : rule.predicateTypes) {
    addField(s, "predicate:" + t);
  }
  for (const Attestor& a : rule.attestors) {
    addField(s, "attestor:" + a.name);
    for (const auto& k : a.keys) {
      addField(s, k);
    }
    addField(s, a.trustedRoot);
    for (const auto& id : a.identities) {
      addField(s, id.issuer);
      addField(s, id.subject);
      addField(s, id.subjectRegExp);
    }
  }
  return hexEncode(sigstore::sha256(s)).substr(0, 32);
}

StatusOr<SignatureRule> readSignatures(const Ctx& ctx, const YAML::Node& node) {
  const std::string f = "spec.signatures";
  HM_RETURN_IF_ERROR(requireMap(
      ctx, node, f, {"required", "attestors", "count", "predicateTypes", "tlog", "repository"}));
  SignatureRule rule;
  if (node["required"]) {
    auto b = readBool(ctx, node["required"], f + ".required");
    if (!b.ok()) {
      return b.status();
    }
    rule.required = *b;
  }
  if (node["tlog"]) {
    auto t = readEnum<TlogRule>(ctx, node["tlog"], f + ".tlog",
                                {{"Require", TlogRule::kRequire}, {"Skip", TlogRule::kSkip}});
    if (!t.ok()) {
      return t.status();
    }
    rule.tlog = *t;
  }
  const YAML::Node attestors = node["attestors"];
  if (!attestors || !attestors.IsSequence() || attestors.size() == 0) {
    return ctx.error(f + ".attestors", "must list at least one attestor (keys or keyless)");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < attestors.size(); ++i) {
    const std::string where = f + ".attestors[" + std::to_string(i) + "]";
    auto a = readAttestor(ctx, attestors[i], where, rule.tlog);
    if (!a.ok()) {
      return a.status();
    }
    if (!names.insert(a->name).second) {
      return ctx.error(where + ".name", "attestor \"" + a->name + "\" is defined twice");
    }
    rule.attestors.push_back(std::move(*a));
  }
  if (node["count"]) {
    int n = 0;
    if (node["count"].IsScalar()) {
      try {
        n = node["count"].as<int>();
      } catch (const YAML::Exception&) {
      }
    }
    if (n < 1 || static_cast<size_t>(n) > rule.attestors.size()) {
      return ctx.error(f + ".count", "must be a whole number from 1 to the number of attestors (" +
                                         std::to_string(rule.attestors.size()) + ")");
    }
    rule.count = n;
  }
  if (node["predicateTypes"]) {
    auto types = readStringList(ctx, node["predicateTypes"], f + ".predicateTypes");
    if (!types.ok()) {
      return types.status();
    }
    if (types->empty()) {
      return ctx.error(f + ".predicateTypes",
                       "must list at least one predicate type (the default is " +
                           std::string(kCosignSignPredicate) + ")");
    }
    rule.predicateTypes = std::move(*types);
  }
  if (node["repository"]) {
    auto repo = readString(ctx, node["repository"], f + ".repository");
    if (!repo.ok()) {
      return repo.status();
    }
    auto parsed = imageref::parse(*repo);
    if (repo->empty() || !parsed.ok() || !parsed->tagImplied) {
      return ctx.error(f + ".repository",
                       "\"" + *repo +
                           "\" must be a repository without tag or digest, such as "
                           "harbor.example.com/signatures/app");
    }
    *repo = parsed->name();
    rule.repository = std::move(*repo);
  }
  rule.fingerprint = fingerprintOf(rule);
  return rule;
}

StatusOr<LabelSelector> readLabelSelector(const Ctx& ctx, const YAML::Node& node,
                                          const std::string& field) {
  LabelSelector sel;
  if (node.IsNull()) {
    return sel;
  }
  HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"matchLabels", "matchExpressions"}));
  if (const YAML::Node labels = node["matchLabels"]; labels && !labels.IsNull()) {
    if (!labels.IsMap()) {
      return ctx.error(field + ".matchLabels", "must be a mapping of label keys to values");
    }
    for (const auto& kv : labels) {
      if (!kv.second.IsScalar()) {
        return ctx.error(field + ".matchLabels." + kv.first.Scalar(), "must be a string");
      }
      sel.matchLabels[kv.first.Scalar()] = kv.second.Scalar();
    }
  }
  const YAML::Node exprs = node["matchExpressions"];
  if (!exprs || exprs.IsNull()) {
    return sel;
  }
  if (!exprs.IsSequence()) {
    return ctx.error(field + ".matchExpressions", "must be a list");
  }
  for (size_t i = 0; i < exprs.size(); ++i) {
    const std::string f = field + ".matchExpressions[" + std::to_string(i) + "]";
    HM_RETURN_IF_ERROR(requireMap(ctx, exprs[i], f, {"key", "operator", "values"}));
    LabelRequirement req;
    if (!exprs[i]["key"] || !exprs[i]["key"].IsScalar() || exprs[i]["key"].Scalar().empty()) {
      return ctx.error(f + ".key", "is required");
    }
    req.key = exprs[i]["key"].Scalar();
    auto op =
        readEnum<LabelRequirement::Op>(ctx, exprs[i]["operator"], f + ".operator",
                                       {{"In", LabelRequirement::Op::kIn},
                                        {"NotIn", LabelRequirement::Op::kNotIn},
                                        {"Exists", LabelRequirement::Op::kExists},
                                        {"DoesNotExist", LabelRequirement::Op::kDoesNotExist}});
    if (!op.ok()) {
      return op.status();
    }
    req.op = *op;
    auto values = readStringList(ctx, exprs[i]["values"], f + ".values");
    if (!values.ok()) {
      return values.status();
    }
    req.values = std::move(*values);
    // As metav1.LabelSelector validation: In/NotIn need values, Exists/DoesNotExist take none.
    const bool set = req.op == LabelRequirement::Op::kIn || req.op == LabelRequirement::Op::kNotIn;
    if (set == req.values.empty()) {
      return ctx.error(f + ".values", set ? "must not be empty for In and NotIn"
                                          : "must be empty for Exists and DoesNotExist");
    }
    sel.matchExpressions.push_back(std::move(req));
  }
  return sel;
}

StatusOr<std::chrono::seconds> readDuration(const Ctx& ctx, const YAML::Node& node,
                                            const std::string& field) {
  auto text = readString(ctx, node, field);
  if (!text.ok()) {
    return text.status();
  }
  auto d = parseGoDuration(*text);
  if (!d.ok()) {
    return ctx.error(field, "\"" + *text + "\" must be a duration such as 720h, 168h or 1h30m");
  }
  if (*d < std::chrono::seconds(1)) {
    return ctx.error(field, "must be at least 1s");
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
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

StatusOr<ImagePolicy> readPolicy(const Ctx& ctx, const YAML::Node& spec, PolicyScope scope) {
  ImagePolicy p;
  p.scope = scope;
  if (!spec || spec.IsNull()) {
    return ctx.error("spec", "is required");
  }
  HM_RETURN_IF_ERROR(
      requireMap(ctx, spec, "spec",
                 {"mode", "match", "exclude", "registries", "digest", "onUpdate", "exceptions",
                  "exceptionPolicy", "vulnerabilities", "signatures"}));
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

struct Meta {
  std::string name;
  std::string nameSpace;
  std::optional<WallTime> created;
};

StatusOr<Meta> readMeta(Ctx& ctx, const YAML::Node& doc, std::string_view kind) {
  const YAML::Node meta = doc["metadata"];
  if (!meta || !meta.IsMap() || !meta["name"] || !meta["name"].IsScalar()) {
    return ctx.error("metadata.name", "is required");
  }
  Meta m;
  m.name = meta["name"].Scalar();
  if (!validObjectName(m.name)) {
    return ctx.error("metadata.name", "\"" + m.name +
                                          "\" must be lower-case letters, digits, '-' and '.', "
                                          "starting and ending with a letter or digit");
  }
  if (meta["namespace"] && meta["namespace"].IsScalar()) {
    m.nameSpace = meta["namespace"].Scalar();
  }
  if (meta["creationTimestamp"] && meta["creationTimestamp"].IsScalar()) {
    if (auto t = parseRfc3339(meta["creationTimestamp"].Scalar()); t.ok()) {
      m.created = *t;
    }
  }
  const std::string qualified = m.nameSpace.empty() ? m.name : m.nameSpace + "/" + m.name;
  // A file's document gets the object in brackets; a cluster object is named by it alone.
  const std::string object = std::string(kind) + " \"" + qualified + "\"";
  ctx.document = ctx.document.empty() ? object : ctx.document + " (" + object + ")";
  return m;
}

// One document or object: a policy or an exception.
StatusOr<ParsedObject> readDocument(Ctx& ctx, const std::string& source, const YAML::Node& doc) {
  HM_RETURN_IF_ERROR(
      requireMap(ctx, doc, "", {"apiVersion", "kind", "metadata", "spec", "status"}));
  if (!doc["apiVersion"] || !doc["apiVersion"].IsScalar() ||
      doc["apiVersion"].Scalar() != kApiVersion) {
    return ctx.error("apiVersion", "must be " + std::string(kApiVersion));
  }
  const std::string kind = doc["kind"] && doc["kind"].IsScalar() ? doc["kind"].Scalar() : "";
  if (kind != kNamespacedKind && kind != kClusterKind && kind != kExceptionKind) {
    return ctx.error("kind", "must be " + std::string(kClusterKind) + ", " +
                                 std::string(kNamespacedKind) + " or " +
                                 std::string(kExceptionKind));
  }
  auto meta = readMeta(ctx, doc, kind);
  if (!meta.ok()) {
    return meta.status();
  }
  ParsedObject out;
  if (kind == kExceptionKind) {
    if (meta->nameSpace.empty()) {
      return ctx.error("metadata.namespace",
                       "is required: an ImageException applies in its own namespace");
    }
    auto ex = readImageException(ctx, doc["spec"]);
    if (!ex.ok()) {
      return ex.status();
    }
    ex->nameSpace = meta->nameSpace;
    ex->name = meta->name;
    ex->created = meta->created;
    out.exception = std::move(*ex);
    return out;
  }
  if (kind == kClusterKind && !meta->nameSpace.empty()) {
    return ctx.error("metadata.namespace",
                     "must be empty: a ClusterImagePolicy is cluster-scoped (use an ImagePolicy "
                     "for one namespace)");
  }
  // A policy file's ImagePolicy without a namespace is cluster-wide, as it always was.
  const PolicyScope scope =
      meta->nameSpace.empty() ? PolicyScope::kCluster : PolicyScope::kNamespace;
  std::vector<std::string> warnings, unenforceable;
  ctx.warnings = &warnings;
  ctx.unenforceable = &unenforceable;
  auto policy = readPolicy(ctx, doc["spec"], scope);
  ctx.warnings = ctx.unenforceable = nullptr;
  if (!policy.ok()) {
    return policy.status();
  }
  policy->warnings = std::move(warnings);
  if (!unenforceable.empty()) {
    policy->unenforceable = "cannot be enforced: " + unenforceable.front();
  }
  policy->resourceName = meta->name;
  policy->nameSpace = meta->nameSpace;
  policy->name = meta->nameSpace.empty() ? meta->name : meta->nameSpace + "/" + meta->name;
  policy->source = source;
  out.policy = std::move(*policy);
  return out;
}

// A JSON value as the YAML node the file loader reads (JSON is YAML's flow style).
YAML::Node toYaml(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      YAML::Node n(YAML::NodeType::Map);
      for (const auto& [k, v] : j.items()) {
        n[k] = toYaml(v);
      }
      return n;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node n(YAML::NodeType::Sequence);
      for (const auto& v : j) {
        n.push_back(toYaml(v));
      }
      return n;
    }
    case nlohmann::json::value_t::null:
      return YAML::Node(YAML::NodeType::Null);
    case nlohmann::json::value_t::string:
      return YAML::Node(j.get<std::string>());
    default:
      return YAML::Node(j.dump());  // numbers and booleans, as YAML scalars
  }
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
    case Check::kSignatures:
      return "signatures";
  }
  return "unknown";
}

std::string snapshotReferencedFile(const std::string& path) {
  // One limit for every kind of file, so that a reloader's snapshot equals the loader's; the
  // loader applies each kind's own limit to the content.
  auto text = readFile(path, 4 * 1024 * 1024);
  return text.ok() ? std::move(*text) : std::string(1, kUnreadableMarker) + text.status().message();
}

StatusOr<PolicySet> parsePolicies(std::string_view yaml, std::string_view sourceName,
                                  const LoadOptions& options) {
  std::string source(sourceName);
  auto docs = yaml::loadAll(yaml, source);
  if (!docs.ok()) {
    return docs.status();
  }
  PolicySet set;
  set.defaultExcludedNamespaces.push_back("kube-system");
  if (!options.ownNamespace.empty() && options.ownNamespace != "kube-system") {
    set.defaultExcludedNamespaces.push_back(options.ownNamespace);
  }
  std::set<std::string> names;
  try {
    for (const yaml::Document& doc : *docs) {
      if (!doc.root || doc.root.IsNull()) {
        continue;  // an empty document, e.g. after a trailing "---"
      }
      const std::string where = source + ", document " + std::to_string(doc.number);
      Ctx ctx{where, &set.files, options.readFiles};
      auto parsed = readDocument(ctx, where, doc.root);
      if (!parsed.ok()) {
        return parsed.status();
      }
      // Policies share one set of names (messages and exceptions name them); exceptions have
      // their own per namespace.
      const std::string name = parsed->policy
                                   ? parsed->policy->name
                                   : parsed->exception->nameSpace + "/" + parsed->exception->name;
      if (!names.insert((parsed->policy ? "p:" : "e:") + name).second) {
        return invalidArgument(where + ": metadata.name: " + doc.root["kind"].Scalar() + " \"" +
                               name + "\" is defined twice");
      }
      if (parsed->policy) {
        set.policies.push_back(std::move(*parsed->policy));
      } else {
        set.exceptions[parsed->exception->nameSpace].push_back(std::move(*parsed->exception));
      }
    }
  } catch (const YAML::Exception& e) {
    return invalidArgument(source + ": " + e.what());
  }
  return set;
}

StatusOr<ParsedObject> parseObject(const nlohmann::json& object, const LoadOptions& options) {
  if (!object.is_object()) {
    return invalidArgument("a policy resource must be a JSON object");
  }
  // Fields of the wrong JSON type read as absent (value() would throw); the loader then says
  // what is missing.
  auto text = [](const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const auto m = object.find("metadata");
  const nlohmann::json meta = m != object.end() && m->is_object() ? *m : nlohmann::json::object();
  std::string kind = text(object, "kind");
  std::string name = text(meta, "name");
  std::string ns = text(meta, "namespace");
  const std::string source = kind + " " + (ns.empty() ? name : ns + "/" + name);
  // Only what the loader reads: server-set metadata (managedFields, labels, …) is not policy.
  nlohmann::json doc = {{"apiVersion", text(object, "apiVersion")}, {"kind", kind}};
  doc["metadata"] = {{"name", name}};
  for (const char* key : {"namespace", "creationTimestamp"}) {
    if (meta.contains(key)) {
      doc["metadata"][key] = meta[key];
    }
  }
  if (object.contains("spec")) {
    doc["spec"] = object["spec"];
  }
  ParsedObject out;
  try {
    Ctx ctx{"", &out.files, options.readFiles};
    auto parsed = readDocument(ctx, source, toYaml(doc));
    if (!parsed.ok()) {
      return parsed.status();
    }
    parsed->files = std::move(out.files);
    return parsed;
  } catch (const YAML::Exception& e) {
    return invalidArgument(source + ": " + e.what());
  }
}

StatusOr<PolicySet> loadPolicyFile(const std::string& path, const LoadOptions& options) {
  auto text = readFile(path, 4 * 1024 * 1024);
  if (!text.ok()) {
    return text.status().withContext("policy file");
  }
  return parsePolicies(*text, path, options);
}

}  // namespace hm::policy
