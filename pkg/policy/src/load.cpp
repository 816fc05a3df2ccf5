// Policy documents and API objects: which kind, its metadata, then its grammar (load/); the
// public loading functions, and the JSON→YAML conversion objects from the API server go through.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/files.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/policy.h"
#include "harbormaster/policy/section.h"
#include "harbormaster/yaml/load.h"
#include "load/reader.h"

namespace hm::policy {
namespace {

using load::Ctx;
using load::kApiVersion;
using load::kClusterKind;
using load::kExceptionKind;
using load::kNamespacedKind;
using load::kUnreadableMarker;

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
    default:
      break;
  }
  const Section* section = sectionOf(check);
  return section != nullptr ? section->checkName() : "unknown";
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
