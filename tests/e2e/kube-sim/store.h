// kube-sim's object store: Kubernetes API semantics over JSON documents.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema.h"

namespace kubesim {

struct ResourceType {
  std::string group;  // "" for core
  std::string version;
  std::string resource;  // plural
  std::string kind;
  std::string singular;
  std::vector<std::string> shortNames;
  bool namespaced = true;
  bool hasStatus = false;
  bool custom = false;  // defined by a CRD: no strategic merge patch, stricter updates
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
};

// A metav1.Status failure: HTTP code, reason and message.
struct ApiError {
  int code = 500;
  std::string reason;
  std::string message;
  std::vector<FieldError> causes = {};  // details.causes of a 422 Invalid
};

// The fieldValidation query parameter: what to do about fields a schema does not declare.
enum class FieldValidation { kIgnore, kWarn, kStrict };

template <typename T>
struct Result {
  std::optional<T> value;
  ApiError error;
  std::vector<std::string> warnings = {};  // Warning headers
  bool ok() const { return value.has_value(); }
};

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  int64_t limit = 0;
  std::string continueToken;
};

struct WatchEvent {
  int64_t resourceVersion = 0;
  std::string type;  // ADDED, MODIFIED, DELETED
  nlohmann::json object;
};

class Store {
 public:
  Store();

  std::vector<ResourceType> types() const;
  std::optional<ResourceType> type(const std::string& group, const std::string& version,
                                   const std::string& resource) const;

  Result<nlohmann::json> get(const ResourceType& t, const std::string& ns, const std::string& name);
  Result<nlohmann::json> list(const ResourceType& t, const std::string& ns,
                              const ListOptions& options);
  // Custom resources are pruned, defaulted and validated against their CRD's schema.
  Result<nlohmann::json> create(const ResourceType& t, const std::string& ns, nlohmann::json obj,
                                FieldValidation validation = FieldValidation::kWarn);
  // PUT: the main resource (status ignored) or, with `status`, only .status.
  Result<nlohmann::json> update(const ResourceType& t, const std::string& ns,
                                const std::string& name, nlohmann::json obj, bool status,
                                FieldValidation validation = FieldValidation::kWarn);
  // The openAPIV3Schema of a custom resource's version (null for built-in types).
  nlohmann::json schema(const ResourceType& t) const;
  // A custom resource's names.categories (kubectl get <category>).
  std::vector<std::string> categories(const ResourceType& t) const;
  Result<nlohmann::json> remove(const ResourceType& t, const std::string& ns,
                                const std::string& name, const nlohmann::json& options);
  // Events of this type (and namespace, unless empty) after resourceVersion `since`; false when
  // `since` is older than the history kept (the watcher must re-list: 410 Expired).
  bool eventsSince(const ResourceType& t, const std::string& ns, int64_t since,
                   std::vector<WatchEvent>& out) const;
  int64_t currentVersion() const;

 private:
  std::string key(const ResourceType& t, const std::string& ns, const std::string& name) const;
  void addType(ResourceType t);
  void onCrdChange(const nlohmann::json& crd, bool deleted);
  // Applies the schema (if any) to a write; fills `warnings` or returns the error.
  std::optional<ApiError> checkSchema(const ResourceType& t, nlohmann::json& obj,
                                      const std::string& name, bool status,
                                      FieldValidation validation,
                                      std::vector<std::string>& warnings) const;
  std::string nextVersion();
  void finalizeDeletion(const std::string& key);
  void record(const std::string& type, const nlohmann::json& object);

  mutable std::mutex mu_;
  int64_t resourceVersion_ = 100;
  int64_t uid_ = 1;
  std::vector<ResourceType> types_;
  std::map<std::string, nlohmann::json> objects_;               // by group/resource/ns/name
  std::map<std::string, nlohmann::json> schemas_;               // by group/version/resource
  std::map<std::string, std::vector<std::string>> categories_;  // by group/version/resource
  std::set<std::string> custom_;    // group/version/resource of types a CRD defines
  std::deque<WatchEvent> history_;  // the newest kHistory events, oldest first
  int64_t compacted_ = 100;         // events up to this version are no longer kept
};

// metav1.Status JSON for an error.
nlohmann::json statusJson(const ApiError& e);
// A label selector ("app=web,tier!=db,env in (a,b),!legacy,has") against labels.
bool labelsMatch(const std::string& selector, const nlohmann::json& labels);
// A field selector (metadata.name=…, metadata.namespace=…, comma-joined) against metadata.
bool fieldsMatch(const std::string& selector, const nlohmann::json& metadata);
// RFC 7386 JSON merge patch.
nlohmann::json mergePatch(nlohmann::json target, const nlohmann::json& patch);
// RFC 6902 JSON patch; nullopt with `error` set when an operation fails.
std::optional<nlohmann::json> jsonPatch(const nlohmann::json& target, const nlohmann::json& ops,
                                        std::string& error);

}  // namespace kubesim
