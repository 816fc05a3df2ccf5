// spec.signatures: attestors (keys, keyless identities, trusted roots), the files they name, and
// the rule's fingerprint (signature verdicts are cached per rule).
#include <yaml-cpp/yaml.h>

#include "reader.h"

#include "harbormaster/base/encoding.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/sigstore/keys.h"
#include "harbormaster/sigstore/trust.h"

namespace hm::policy::load {
namespace {

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

}  // namespace

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

}  // namespace hm::policy::load
