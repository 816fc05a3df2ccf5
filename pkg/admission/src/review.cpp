// Decoding and validating an AdmissionReview request.
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "harbormaster/admission/review.h"
#include "internal.h"

namespace hm::admission {
namespace {

using nlohmann::json;

// nlohmann parses iteratively, but a review nested thousands of levels deep is never real;
// refusing it before parsing keeps every later recursive walk safe.
constexpr int kMaxDepth = 200;

bool nestedTooDeep(std::string_view body) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (inString) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxDepth) {
        return true;
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

Status fieldError(std::string_view field, std::string_view problem) {
  return invalidArgument("not a valid AdmissionReview: " + std::string(field) + " " +
                         std::string(problem));
}

// Reads an optional string field; a present non-string value is an error.
Status optionalString(const json& obj, std::string_view key, std::string_view field,
                      std::string& out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return okStatus();
  }
  if (!it->is_string()) {
    return fieldError(field, "must be a string");
  }
  out = it->get<std::string>();
  return okStatus();
}

Status requiredString(const json& obj, std::string_view key, std::string_view field,
                      std::string& out) {
  HM_RETURN_IF_ERROR(optionalString(obj, key, field, out));
  if (out.empty()) {
    return fieldError(field, "is required");
  }
  return okStatus();
}

std::string objectName(const json& request, const json* object) {
  std::string name;
  if (auto it = request.find("name"); it != request.end() && it->is_string()) {
    name = it->get<std::string>();
  }
  if (name.empty() && object != nullptr && object->is_object()) {
    auto meta = object->find("metadata");
    if (meta != object->end() && meta->is_object()) {
      auto gen = meta->find("generateName");
      if (gen != meta->end() && gen->is_string()) {
        name = gen->get<std::string>() + "*";
      }
    }
  }
  return name;
}

}  // namespace

StatusOr<Request> decode(std::string_view body) {
  if (nestedTooDeep(body)) {
    return invalidArgument("not a valid AdmissionReview: JSON nested deeper than " +
                           std::to_string(kMaxDepth) + " levels");
  }
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return invalidArgument("not a valid AdmissionReview: body is not valid JSON");
  }
  if (!doc.is_object()) {
    return invalidArgument("not a valid AdmissionReview: body must be a JSON object");
  }
  Request r;
  HM_RETURN_IF_ERROR(requiredString(doc, "apiVersion", "apiVersion", r.apiVersion));
  if (r.apiVersion != "admission.k8s.io/v1" && r.apiVersion != "admission.k8s.io/v1beta1") {
    return fieldError("apiVersion", "must be admission.k8s.io/v1, got \"" + r.apiVersion + "\"");
  }
  std::string kind;
  HM_RETURN_IF_ERROR(requiredString(doc, "kind", "kind", kind));
  if (kind != "AdmissionReview") {
    return fieldError("kind", "must be AdmissionReview");
  }
  auto reqIt = doc.find("request");
  if (reqIt == doc.end() || !reqIt->is_object()) {
    return fieldError("request", "is required and must be an object");
  }
  const json& req = *reqIt;
  HM_RETURN_IF_ERROR(requiredString(req, "uid", "request.uid", r.uid));
  HM_RETURN_IF_ERROR(requiredString(req, "operation", "request.operation", r.operation));
  auto kindIt = req.find("kind");
  if (kindIt == req.end() || !kindIt->is_object()) {
    return fieldError("request.kind", "is required and must be an object");
  }
  HM_RETURN_IF_ERROR(optionalString(*kindIt, "group", "request.kind.group", r.group));
  HM_RETURN_IF_ERROR(requiredString(*kindIt, "kind", "request.kind.kind", r.kind));
  HM_RETURN_IF_ERROR(optionalString(req, "subResource", "request.subResource", r.subResource));
  HM_RETURN_IF_ERROR(optionalString(req, "namespace", "request.namespace", r.ns));
  if (auto it = req.find("dryRun"); it != req.end() && it->is_boolean()) {
    r.dryRun = it->get<bool>();
  }

  const json* object = nullptr;
  if (auto it = req.find("object"); it != req.end() && !it->is_null()) {
    object = &*it;
  }
  r.name = objectName(req, object);

  auto specPath = internal::podSpecPath(r.group, r.kind);
  bool judgedSubresource =
      r.subResource.empty() || (r.kind == "Pod" && r.subResource == "ephemeralcontainers");
  r.handled = specPath.has_value() && judgedSubresource &&
              (r.operation == "CREATE" || r.operation == "UPDATE");
  if (!r.handled) {
    return r;
  }
  if (object == nullptr || !object->is_object()) {
    return fieldError("request.object", "must be an object for " + r.operation + " of " + r.kind);
  }
  r.images = internal::collectImages(*object, *specPath);
  r.pod = r.group.empty() && r.kind == "Pod";
  if (auto meta = object->find("metadata"); meta != object->end() && meta->is_object()) {
    r.hasMetadata = true;
    if (auto ann = meta->find("annotations"); ann != meta->end() && ann->is_object()) {
      r.hasAnnotations = true;
      auto pinned = ann->find(kPinnedImagesAnnotation);
      if (pinned != ann->end() && pinned->is_string()) {
        r.pinnedAnnotation = pinned->get<std::string>();
      }
    }
  }
  if (r.operation == "UPDATE") {
    auto oldIt = req.find("oldObject");
    if (oldIt != req.end() && oldIt->is_object()) {
      std::unordered_set<std::string> before;
      for (auto& use : internal::collectImages(*oldIt, *specPath)) {
        before.insert(std::move(use.image));
      }
      for (auto& use : r.images) {
        use.unchanged = before.count(use.image) > 0;
      }
    }
  }
  return r;
}

}  // namespace hm::admission
