#include "store.h"

#include <algorithm>
#include <regex>
#include <set>

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/time.h"

namespace kubesim {

using nlohmann::json;

namespace {

// A Secret's stringData is write-only: the API server folds it into data (base64) and drops it.
void foldStringData(const ResourceType& t, json& obj) {
  if (!t.group.empty() || t.resource != "secrets" || !obj.contains("stringData")) {
    return;
  }
  if (obj["stringData"].is_object()) {
    for (auto& [k, v] : obj["stringData"].items()) {
      if (v.is_string()) {
        obj["data"][k] = hm::base64Encode(v.get<std::string>());
      }
    }
  }
  obj.erase("stringData");
}

std::string now() {
  return hm::formatRfc3339(std::chrono::system_clock::now());
}

std::string qualified(const ResourceType& t) {
  return t.group.empty() ? t.resource : t.resource + "." + t.group;
}

template <typename T>
Result<T> fail(int code, std::string reason, std::string message) {
  return Result<T>{std::nullopt, ApiError{code, std::move(reason), std::move(message)}};
}

Result<json> done(json v) {
  return Result<json>{std::move(v), {}};
}

std::string trim(std::string s) {
  while (!s.empty() && s.front() == ' ') {
    s.erase(s.begin());
  }
  while (!s.empty() && s.back() == ' ') {
    s.pop_back();
  }
  return s;
}

// Splits on commas outside parentheses.
std::vector<std::string> requirements(const std::string& selector) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (char c : selector) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    }
    if (c == ',' && depth == 0) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty()) {
    out.push_back(trim(cur));
  }
  return out;
}

std::set<std::string> valueSet(const std::string& text) {
  std::set<std::string> out;
  size_t open = text.find('('), close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) {
    return out;
  }
  std::string inner = text.substr(open + 1, close - open - 1);
  size_t start = 0;
  while (start <= inner.size()) {
    size_t comma = inner.find(',', start);
    out.insert(trim(inner.substr(start, comma == std::string::npos ? comma : comma - start)));
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  return out;
}

bool validName(const std::string& name) {
  static const std::regex rule("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$");
  return !name.empty() && name.size() <= 253 && std::regex_match(name, rule);
}

}  // namespace

bool labelsMatch(const std::string& selector, const json& labels) {
  auto label = [&](const std::string& k) -> std::optional<std::string> {
    if (labels.is_object() && labels.contains(k) && labels[k].is_string()) {
      return labels[k].get<std::string>();
    }
    return std::nullopt;
  };
  for (const std::string& req : requirements(selector)) {
    size_t sp = req.find(' ');
    std::string word = sp == std::string::npos ? "" : trim(req.substr(sp + 1));
    if (word.rfind("notin", 0) == 0) {
      auto v = label(trim(req.substr(0, sp)));
      if (v && valueSet(word).count(*v)) {
        return false;
      }
    } else if (word.rfind("in", 0) == 0) {
      auto v = label(trim(req.substr(0, sp)));
      if (!v || !valueSet(word).count(*v)) {
        return false;
      }
    } else if (size_t ne = req.find("!="); ne != std::string::npos) {
      auto v = label(trim(req.substr(0, ne)));
      if (v && *v == trim(req.substr(ne + 2))) {
        return false;
      }
    } else if (size_t eq = req.find('='); eq != std::string::npos) {
      size_t valueAt = req.compare(eq, 2, "==") == 0 ? eq + 2 : eq + 1;
      auto v = label(trim(req.substr(0, eq)));
      if (!v || *v != trim(req.substr(valueAt))) {
        return false;
      }
    } else if (!req.empty() && req[0] == '!') {
      if (label(trim(req.substr(1)))) {
        return false;
      }
    } else if (!label(req)) {
      return false;
    }
  }
  return true;
}

bool fieldsMatch(const std::string& selector, const json& meta) {
  for (const std::string& req : requirements(selector)) {
    size_t eq = req.find('=');
    if (eq == std::string::npos) {
      return false;
    }
    std::string field = req.substr(0, eq);
    size_t valueAt = req.find_first_not_of('=', eq);
    std::string want = valueAt == std::string::npos ? "" : req.substr(valueAt);
    std::string have = field == "metadata.name"        ? meta.value("name", "")
                       : field == "metadata.namespace" ? meta.value("namespace", "")
                                                       : "\x01";
    if (have != want) {
      return false;
    }
  }
  return true;
}

json mergePatch(json target, const json& patch) {
  if (!patch.is_object()) {
    return patch;
  }
  if (!target.is_object()) {
    target = json::object();
  }
  for (const auto& [k, v] : patch.items()) {
    if (v.is_null()) {
      target.erase(k);
    } else {
      target[k] = mergePatch(target.contains(k) ? target[k] : json(), v);
    }
  }
  return target;
}

std::optional<json> jsonPatch(const json& target, const json& ops, std::string& error) {
  if (!ops.is_array()) {
    error = "a JSON patch must be an array of operations";
    return std::nullopt;
  }
  try {
    return target.patch(ops);
  } catch (const json::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

json statusJson(const ApiError& e) {
  json out = {{"kind", "Status"},    {"apiVersion", "v1"},   {"metadata", json::object()},
              {"status", "Failure"}, {"message", e.message}, {"reason", e.reason},
              {"code", e.code}};
  if (!e.causes.empty()) {
    json causes = json::array();
    for (const auto& c : e.causes) {
      causes.push_back({{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
    }
    out["details"] = {{"causes", causes}};
  }
  return out;
}

std::vector<std::string> Store::categories(const ResourceType& t) const {
  std::lock_guard lock(mu_);
  auto it = categories_.find(t.group + "/" + t.version + "/" + t.resource);
  return it == categories_.end() ? std::vector<std::string>{} : it->second;
}

json Store::schema(const ResourceType& t) const {
  std::lock_guard lock(mu_);
  auto it = schemas_.find(t.group + "/" + t.version + "/" + t.resource);
  return it == schemas_.end() ? json() : it->second;
}

std::optional<ApiError> Store::checkSchema(const ResourceType& t, json& obj,
                                           const std::string& name, bool status,
                                           FieldValidation validation,
                                           std::vector<std::string>& warnings) const {
  auto found = schemas_.find(t.group + "/" + t.version + "/" + t.resource);  // mu_ is held
  if (found == schemas_.end()) {
    return std::nullopt;
  }
  const json& s = found->second;
  SchemaOutcome outcome = applySchema(s, obj, status ? "status" : "");
  if (!outcome.invalid.empty()) {
    std::string message = t.kind + "." + t.group + " \"" + name + "\" is invalid: ";
    for (size_t i = 0; i < outcome.invalid.size(); ++i) {
      message += (i ? ", " : "") + outcome.invalid[i].field + ": " + outcome.invalid[i].message;
    }
    return ApiError{422, "Invalid", message, outcome.invalid};
  }
  if (outcome.unknownFields.empty() || validation == FieldValidation::kIgnore) {
    return std::nullopt;
  }
  if (validation == FieldValidation::kStrict) {
    std::string message = t.kind + " in version \"" + t.version + "\" cannot be handled as a " +
                          t.kind + ": strict decoding error: ";
    for (size_t i = 0; i < outcome.unknownFields.size(); ++i) {
      message +=
          (i ? ", " : "") + std::string("unknown field \"") + outcome.unknownFields[i] + "\"";
    }
    return ApiError{400, "BadRequest", message};
  }
  for (const auto& f : outcome.unknownFields) {
    warnings.push_back("unknown field \"" + f + "\"");
  }
  return std::nullopt;
}

Store::Store() {
  addType({"", "v1", "namespaces", "Namespace", "namespace", {"ns"}, false, true});
  addType({"", "v1", "secrets", "Secret", "secret", {}, true, false});
  addType({"", "v1", "serviceaccounts", "ServiceAccount", "serviceaccount", {"sa"}, true, false});
  addType({"", "v1", "configmaps", "ConfigMap", "configmap", {"cm"}, true, false});
  addType({"", "v1", "events", "Event", "event", {"ev"}, true, false});
  addType({"coordination.k8s.io", "v1", "leases", "Lease", "lease", {}, true, false});
  addType({"events.k8s.io", "v1", "events", "Event", "event", {"ev"}, true, false});
  // What the Helm chart installs, stored as written (no controllers run them).
  addType({"", "v1", "services", "Service", "service", {"svc"}, true, true});
  addType({"apps", "v1", "deployments", "Deployment", "deployment", {"deploy"}, true, true});
  // What runs, as the controllers and the kubelet would write it (tests write their status
  // through the status subresource, as the kubelet does).
  addType({"", "v1", "pods", "Pod", "pod", {"po"}, true, true});
  addType({"apps", "v1", "replicasets", "ReplicaSet", "replicaset", {"rs"}, true, true});
  addType({"batch", "v1", "jobs", "Job", "job", {}, true, true});
  addType({"policy",
           "v1",
           "poddisruptionbudgets",
           "PodDisruptionBudget",
           "poddisruptionbudget",
           {"pdb"},
           true,
           true});
  addType({"networking.k8s.io",
           "v1",
           "networkpolicies",
           "NetworkPolicy",
           "networkpolicy",
           {"netpol"},
           true,
           false});
  addType({"rbac.authorization.k8s.io", "v1", "roles", "Role", "role", {}, true, false});
  addType({"rbac.authorization.k8s.io",
           "v1",
           "rolebindings",
           "RoleBinding",
           "rolebinding",
           {},
           true,
           false});
  addType({"rbac.authorization.k8s.io",
           "v1",
           "clusterroles",
           "ClusterRole",
           "clusterrole",
           {},
           false,
           false});
  addType({"rbac.authorization.k8s.io",
           "v1",
           "clusterrolebindings",
           "ClusterRoleBinding",
           "clusterrolebinding",
           {},
           false,
           false});
  addType({"admissionregistration.k8s.io",
           "v1",
           "validatingwebhookconfigurations",
           "ValidatingWebhookConfiguration",
           "validatingwebhookconfiguration",
           {},
           false,
           false});
  addType({"admissionregistration.k8s.io",
           "v1",
           "mutatingwebhookconfigurations",
           "MutatingWebhookConfiguration",
           "mutatingwebhookconfiguration",
           {},
           false,
           false});
  addType({"apiextensions.k8s.io",
           "v1",
           "customresourcedefinitions",
           "CustomResourceDefinition",
           "customresourcedefinition",
           {"crd", "crds"},
           false,
           true});
  for (const char* ns : {"default", "kube-system", "kube-public"}) {
    create(*type("", "v1", "namespaces"), "", json{{"metadata", {{"name", ns}}}});
  }
}

void Store::addType(ResourceType t) {
  types_.erase(std::remove_if(types_.begin(), types_.end(),
                              [&](const ResourceType& x) {
                                return x.group == t.group && x.version == t.version &&
                                       x.resource == t.resource;
                              }),
               types_.end());
  types_.push_back(std::move(t));
}

std::vector<ResourceType> Store::types() const {
  std::lock_guard lock(mu_);
  return types_;
}

std::optional<ResourceType> Store::type(const std::string& group, const std::string& version,
                                        const std::string& resource) const {
  for (const auto& t : types_) {
    if (t.group == group && t.version == version && t.resource == resource) {
      return t;
    }
  }
  return std::nullopt;
}

std::string Store::key(const ResourceType& t, const std::string& ns,
                       const std::string& name) const {
  // Versions of one group share objects, as the API server stores them once.
  return t.group + "/" + t.resource + "/" + (t.namespaced ? ns : "") + "/" + name;
}

std::string Store::nextVersion() {
  return std::to_string(++resourceVersion_);
}

Result<json> Store::get(const ResourceType& t, const std::string& ns, const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key(t, ns, name));
  if (it == objects_.end()) {
    return fail<json>(404, "NotFound", qualified(t) + " \"" + name + "\" not found");
  }
  json obj = it->second;
  obj["apiVersion"] = t.apiVersion();
  return done(obj);
}

Result<json> Store::list(const ResourceType& t, const std::string& ns, const ListOptions& o) {
  std::lock_guard lock(mu_);
  std::string prefix =
      t.group + "/" + t.resource + "/" + (t.namespaced && !ns.empty() ? ns + "/" : "");
  std::string after;
  if (!o.continueToken.empty()) {
    auto decoded = hm::base64Decode(o.continueToken);
    if (!decoded || decoded->rfind(prefix, 0) != 0) {
      return fail<json>(400, "BadRequest", "continue key is not valid");
    }
    after = *decoded;
  }
  json items = json::array();
  std::string lastKey;
  int64_t remaining = 0;
  for (auto it = objects_.lower_bound(prefix); it != objects_.end(); ++it) {
    if (it->first.rfind(prefix, 0) != 0) {
      break;
    }
    if (!after.empty() && it->first <= after) {
      continue;
    }
    const json& obj = it->second;
    const json& meta = obj["metadata"];
    if (!o.labelSelector.empty() &&
        !labelsMatch(o.labelSelector, meta.value("labels", json::object()))) {
      continue;
    }
    if (!fieldsMatch(o.fieldSelector, meta)) {
      continue;
    }
    if (o.limit > 0 && static_cast<int64_t>(items.size()) >= o.limit) {
      ++remaining;
      continue;
    }
    json item = obj;
    item["apiVersion"] = t.apiVersion();
    items.push_back(std::move(item));
    lastKey = it->first;
  }
  json listMeta = {{"resourceVersion", std::to_string(resourceVersion_)}};
  if (remaining > 0) {
    listMeta["continue"] = hm::base64Encode(lastKey);
    listMeta["remainingItemCount"] = remaining;
  }
  return done(json{{"kind", t.kind + "List"},
                   {"apiVersion", t.apiVersion()},
                   {"metadata", listMeta},
                   {"items", items}});
}

Result<json> Store::create(const ResourceType& t, const std::string& ns, json obj,
                           FieldValidation validation) {
  std::lock_guard lock(mu_);
  if (!obj.is_object()) {
    return fail<json>(400, "BadRequest", "the body must be a JSON object");
  }
  foldStringData(t, obj);
  json& meta = obj["metadata"];
  if (!meta.is_object()) {
    meta = json::object();
  }
  std::string name = meta.value("name", "");
  if (name.empty() && meta.contains("generateName") && meta["generateName"].is_string()) {
    name = meta["generateName"].get<std::string>() + std::to_string(10000 + uid_ % 90000);
  }
  if (!validName(name)) {
    return fail<json>(422, "Invalid",
                      t.kind + " \"" + name + "\" is invalid: metadata.name: Invalid value: \"" +
                          name +
                          "\": a lowercase RFC 1123 subdomain must consist of lower case "
                          "alphanumeric characters, '-' or '.'");
  }
  if (t.namespaced) {
    if (meta.contains("namespace") && meta["namespace"].is_string() &&
        !meta["namespace"].get<std::string>().empty() && meta["namespace"] != ns) {
      return fail<json>(400, "BadRequest",
                        "the namespace of the provided object does not match the namespace sent "
                        "on the request");
    }
    auto nsObj = objects_.find("/namespaces//" + ns);
    if (nsObj == objects_.end()) {
      return fail<json>(404, "NotFound", "namespaces \"" + ns + "\" not found");
    }
    if (nsObj->second["metadata"].contains("deletionTimestamp")) {
      return fail<json>(403, "Forbidden",
                        qualified(t) + " \"" + name +
                            "\" is forbidden: unable to create new "
                            "content in namespace " +
                            ns + " because it is being terminated");
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  std::string k = key(t, ns, name);
  if (objects_.count(k)) {
    return fail<json>(409, "AlreadyExists", qualified(t) + " \"" + name + "\" already exists");
  }
  if (t.hasStatus) {
    obj.erase("status");  // status is written through the status subresource
  }
  std::vector<std::string> warnings;
  if (auto bad = checkSchema(t, obj, name, false, validation, warnings)) {
    return Result<json>{std::nullopt, *bad};
  }
  meta["name"] = name;
  meta["uid"] = "00000000-0000-4000-8000-" + std::to_string(100000000000 + uid_++);
  meta["creationTimestamp"] = now();
  meta["resourceVersion"] = nextVersion();
  meta["generation"] = 1;
  meta.erase("deletionTimestamp");
  obj["kind"] = t.kind;
  obj["apiVersion"] = t.apiVersion();
  if (t.resource == "namespaces") {
    obj["status"] = {{"phase", "Active"}};
  }

  if (t.resource == "customresourcedefinitions") {
    obj["status"] = {{"conditions", json::array({{{"type", "NamesAccepted"}, {"status", "True"}},
                                                 {{"type", "Established"}, {"status", "True"}}})},
                     {"acceptedNames", obj["spec"].value("names", json::object())}};
    onCrdChange(obj, false);
  }
  objects_[k] = obj;
  record("ADDED", obj);
  Result<json> r = done(obj);
  r.warnings = std::move(warnings);
  return r;
}

Result<json> Store::update(const ResourceType& t, const std::string& ns, const std::string& name,
                           json obj, bool status, FieldValidation validation) {
  std::lock_guard lock(mu_);
  std::string k = key(t, ns, name);
  auto it = objects_.find(k);
  if (it == objects_.end()) {
    return fail<json>(404, "NotFound", qualified(t) + " \"" + name + "\" not found");
  }
  if (!obj.is_object() || !obj.contains("metadata") || !obj["metadata"].is_object()) {
    return fail<json>(400, "BadRequest", "the body must be an object with metadata");
  }
  foldStringData(t, obj);
  json& old = it->second;
  const json& meta = obj["metadata"];
  if (meta.value("name", name) != name) {
    return fail<json>(400, "BadRequest",
                      "the name of the object (" + meta.value("name", "") +
                          ") does not match the name on the URL (" + name + ")");
  }
  std::string rv = meta.value("resourceVersion", "");
  if (rv.empty() && custom_.count(t.group + "/" + t.version + "/" + t.resource)) {
    // Custom resources do not allow unconditional updates (AllowUnconditionalUpdate is false).
    return fail<json>(422, "Invalid",
                      t.kind + "." + t.group + " \"" + name +
                          "\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be "
                          "specified for an update");
  }
  if (!rv.empty() && rv != old["metadata"]["resourceVersion"]) {
    return fail<json>(409, "Conflict",
                      "Operation cannot be fulfilled on " + qualified(t) + " \"" + name +
                          "\": the object has been modified; please apply your changes to the "
                          "latest version and try again");
  }
  json next = old;
  std::vector<std::string> warnings;
  if (status) {
    next["status"] = obj.value("status", json::object());
    if (auto bad = checkSchema(t, next, name, true, validation, warnings)) {
      return Result<json>{std::nullopt, *bad};
    }
  } else {
    json keep = old["metadata"];
    next = obj;
    next["metadata"] = obj["metadata"];
    for (const char* field :
         {"uid", "creationTimestamp", "deletionTimestamp", "namespace", "generation"}) {
      if (keep.contains(field)) {
        next["metadata"][field] = keep[field];
      } else {
        next["metadata"].erase(field);
      }
    }
    next["metadata"]["name"] = name;
    if (t.hasStatus) {
      next.erase("status");
    }
    if (auto bad = checkSchema(t, next, name, false, validation, warnings)) {
      return Result<json>{std::nullopt, *bad};
    }
    if (t.hasStatus) {
      next["status"] = old.value("status", json::object());
    }
    // generation counts changes to what the object asks for, not to its metadata or status.
    json oldSpec = old, newSpec = next;
    for (json* j : {&oldSpec, &newSpec}) {
      j->erase("metadata");
      j->erase("status");
    }
    if (oldSpec != newSpec) {
      next["metadata"]["generation"] = keep.value("generation", 1) + 1;
    }
  }
  next["kind"] = t.kind;
  next["apiVersion"] = t.apiVersion();
  if (next == old) {
    return done(old);  // a no-op update keeps its resourceVersion
  }
  next["metadata"]["resourceVersion"] = nextVersion();
  old = next;
  record("MODIFIED", old);
  if (t.resource == "customresourcedefinitions") {
    onCrdChange(old, false);
  }
  json out = old;
  const bool finalized = out["metadata"].contains("deletionTimestamp") &&
                         out["metadata"].value("finalizers", json::array()).empty();
  if (finalized) {
    finalizeDeletion(k);
  }
  Result<json> r = done(out);
  r.warnings = std::move(warnings);
  return r;
}

Result<json> Store::remove(const ResourceType& t, const std::string& ns, const std::string& name,
                           const json& options) {
  std::lock_guard lock(mu_);
  std::string k = key(t, ns, name);
  auto it = objects_.find(k);
  if (it == objects_.end()) {
    return fail<json>(404, "NotFound", qualified(t) + " \"" + name + "\" not found");
  }
  json& obj = it->second;
  if (options.is_object() && options.contains("preconditions") &&
      options["preconditions"].is_object()) {
    const json& pre = options["preconditions"];
    for (const char* field : {"uid", "resourceVersion"}) {
      if (pre.contains(field) && pre[field].is_string() && pre[field] != obj["metadata"][field]) {
        return fail<json>(409, "Conflict",
                          std::string("Precondition failed: ") + field +
                              " in precondition: " + pre[field].get<std::string>() + ", " + field +
                              " in object meta: " + obj["metadata"][field].get<std::string>());
      }
    }
  }
  bool holds = !obj["metadata"].value("finalizers", json::array()).empty();
  if (t.resource == "namespaces") {
    // The namespace goes once its content is gone; content with finalizers waits for them.
    std::string prefixAt = "/" + name + "/";
    for (auto o = objects_.begin(); o != objects_.end();) {
      const bool inside = o->second["metadata"].value("namespace", "") == name &&
                          o->first.find(prefixAt) != std::string::npos;
      if (inside && o->second["metadata"].value("finalizers", json::array()).empty()) {
        json gone = o->second;
        gone["metadata"]["resourceVersion"] = nextVersion();
        record("DELETED", gone);
        o = objects_.erase(o);
        continue;
      }
      if (inside && !o->second["metadata"].contains("deletionTimestamp")) {
        o->second["metadata"]["deletionTimestamp"] = now();
        o->second["metadata"]["resourceVersion"] = nextVersion();
        record("MODIFIED", o->second);
        holds = true;
      } else if (inside) {
        holds = true;
      }
      ++o;
    }
    obj["status"]["phase"] = "Terminating";
  }
  if (holds) {
    if (!obj["metadata"].contains("deletionTimestamp")) {
      obj["metadata"]["deletionTimestamp"] = now();
      obj["metadata"]["resourceVersion"] = nextVersion();
      record("MODIFIED", obj);
    }
    return done(obj);
  }
  json out = obj;
  finalizeDeletion(k);
  return done(out);
}

// Removes an object whose deletion is complete, and what depends on it: a CRD's resources; a
// namespace left empty by its last finalized object.
void Store::finalizeDeletion(const std::string& k) {
  auto it = objects_.find(k);
  if (it == objects_.end()) {
    return;
  }
  json obj = it->second;
  objects_.erase(it);
  obj["metadata"]["resourceVersion"] = nextVersion();
  record("DELETED", obj);
  if (obj.value("kind", "") == "CustomResourceDefinition") {
    onCrdChange(obj, true);
  }
  std::string ns = obj["metadata"].value("namespace", "");
  if (ns.empty()) {
    return;
  }
  auto nsIt = objects_.find("/namespaces//" + ns);
  if (nsIt == objects_.end() || !nsIt->second["metadata"].contains("deletionTimestamp") ||
      !nsIt->second["metadata"].value("finalizers", json::array()).empty()) {
    return;
  }
  for (const auto& [key, o] : objects_) {
    if (o["metadata"].value("namespace", "") == ns) {
      return;
    }
  }
  json gone = nsIt->second;
  gone["metadata"]["resourceVersion"] = nextVersion();
  record("DELETED", gone);
  objects_.erase(nsIt);
}

void Store::record(const std::string& type, const json& object) {
  constexpr size_t kHistory = 1000;
  history_.push_back(
      {std::stoll(object["metadata"]["resourceVersion"].get<std::string>()), type, object});
  while (history_.size() > kHistory) {
    compacted_ = history_.front().resourceVersion;
    history_.pop_front();
  }
}

bool Store::eventsSince(const ResourceType& t, const std::string& ns, int64_t since,
                        std::vector<WatchEvent>& out) const {
  std::lock_guard lock(mu_);
  if (since < compacted_) {
    return false;
  }
  for (const auto& e : history_) {
    const std::string apiVersion = e.object.value("apiVersion", "");
    const size_t slash = apiVersion.find('/');
    const std::string group = slash == std::string::npos ? "" : apiVersion.substr(0, slash);
    if (e.resourceVersion <= since || e.object.value("kind", "") != t.kind || group != t.group) {
      continue;
    }
    if (t.namespaced && !ns.empty() && e.object["metadata"].value("namespace", "") != ns) {
      continue;
    }
    WatchEvent copy = e;
    copy.object["apiVersion"] = t.apiVersion();
    out.push_back(std::move(copy));
  }
  return true;
}

int64_t Store::currentVersion() const {
  std::lock_guard lock(mu_);
  return resourceVersion_;
}

void Store::onCrdChange(const json& crd, bool deleted) {
  const json& spec = crd.value("spec", json::object());
  std::string group = spec.value("group", "");
  const json names = spec.value("names", json::object());
  std::string plural = names.value("plural", "");
  for (const auto& v : spec.value("versions", json::array())) {
    std::string version = v.value("name", "");
    types_.erase(std::remove_if(types_.begin(), types_.end(),
                                [&](const ResourceType& x) {
                                  return x.group == group && x.resource == plural &&
                                         x.version == version;
                                }),
                 types_.end());
    schemas_.erase(group + "/" + version + "/" + plural);
    custom_.insert(group + "/" + version + "/" + plural);
    categories_[group + "/" + version + "/" + plural] =
        names.value("categories", std::vector<std::string>{});
    if (deleted || !v.value("served", true)) {
      continue;
    }
    if (v.contains("schema") && v["schema"].is_object() &&
        v["schema"].contains("openAPIV3Schema")) {
      schemas_[group + "/" + version + "/" + plural] = v["schema"]["openAPIV3Schema"];
    }
    ResourceType t{group,
                   version,
                   plural,
                   names.value("kind", ""),
                   names.value("singular", ""),
                   names.value("shortNames", std::vector<std::string>{}),
                   spec.value("scope", "Namespaced") == "Namespaced",
                   v.contains("subresources") && v["subresources"].contains("status"),
                   true};
    types_.push_back(std::move(t));
  }
  if (deleted) {
    std::string prefix = group + "/" + plural + "/";
    for (auto it = objects_.lower_bound(prefix);
         it != objects_.end() && it->first.rfind(prefix, 0) == 0;) {
      it = objects_.erase(it);
    }
  }
}

}  // namespace kubesim
