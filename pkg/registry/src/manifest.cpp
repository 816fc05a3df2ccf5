#include <nlohmann/json.hpp>

#include "harbormaster/imageref/reference.h"
#include "harbormaster/registry/types.h"

namespace hm::registry {
namespace {

using nlohmann::json;

Status bad(const std::string& field, const std::string& problem) {
  return invalidArgument("malformed manifest: " + field + " " + problem);
}

Status readString(const json& obj, const char* key, const std::string& field, std::string& out,
                  bool required) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    return required ? bad(field + "." + key, "is required") : okStatus();
  }
  if (!it->is_string()) {
    return bad(field + "." + key, "must be a string");
  }
  out = it->get<std::string>();
  return okStatus();
}

Status readAnnotations(const json& obj, const std::string& field,
                       std::map<std::string, std::string>& out) {
  auto it = obj.find("annotations");
  if (it == obj.end() || it->is_null()) {
    return okStatus();
  }
  if (!it->is_object()) {
    return bad(field + ".annotations", "must be an object");
  }
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return bad(field + ".annotations." + k, "must be a string");
    }
    out[k] = v.get<std::string>();
  }
  return okStatus();
}

StatusOr<Descriptor> readDescriptor(const json& j, const std::string& field) {
  if (!j.is_object()) {
    return bad(field, "must be an object");
  }
  Descriptor d;
  HM_RETURN_IF_ERROR(readString(j, "mediaType", field, d.mediaType, true));
  HM_RETURN_IF_ERROR(readString(j, "digest", field, d.digest, true));
  if (Status s = imageref::validateDigest(d.digest); !s.ok()) {
    return bad(field + ".digest", s.message());
  }
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return bad(field + ".size", "must be a non-negative integer");
  }
  d.size = size->get<int64_t>();
  HM_RETURN_IF_ERROR(readString(j, "artifactType", field, d.artifactType, false));
  HM_RETURN_IF_ERROR(readAnnotations(j, field, d.annotations));
  if (auto p = j.find("platform"); p != j.end() && !p->is_null()) {
    if (!p->is_object()) {
      return bad(field + ".platform", "must be an object");
    }
    Platform platform;
    HM_RETURN_IF_ERROR(readString(*p, "os", field + ".platform", platform.os, false));
    HM_RETURN_IF_ERROR(
        readString(*p, "architecture", field + ".platform", platform.architecture, false));
    HM_RETURN_IF_ERROR(readString(*p, "variant", field + ".platform", platform.variant, false));
    d.platform = platform;
  }
  return d;
}

Status readDescriptors(const json& doc, const char* key, std::vector<Descriptor>& out) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) {
    return okStatus();
  }
  if (!it->is_array()) {
    return bad(key, "must be an array");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    auto d = readDescriptor((*it)[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (!d.ok()) {
      return d.status();
    }
    out.push_back(std::move(*d));
  }
  return okStatus();
}

std::string_view baseMediaType(std::string_view contentType) {
  std::string_view t = contentType.substr(0, contentType.find(';'));
  while (!t.empty() && t.back() == ' ') {
    t.remove_suffix(1);
  }
  return t;
}

}  // namespace

StatusOr<Manifest> parseManifest(std::string_view body, std::string_view contentType) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return invalidArgument("malformed manifest: not a JSON object");
  }
  Manifest m;
  m.body = std::string(body);
  auto version = doc.find("schemaVersion");
  if (version == doc.end() || !version->is_number_integer() || version->get<int>() != 2) {
    return bad("schemaVersion", "must be 2");
  }
  HM_RETURN_IF_ERROR(readString(doc, "mediaType", "", m.mediaType, false));
  if (m.mediaType.empty()) {
    m.mediaType = std::string(baseMediaType(contentType));
  }
  HM_RETURN_IF_ERROR(readString(doc, "artifactType", "", m.artifactType, false));
  HM_RETURN_IF_ERROR(readAnnotations(doc, "", m.annotations));
  m.isIndex = m.mediaType == kOciIndex || m.mediaType == kDockerManifestList ||
              (m.mediaType.empty() && doc.contains("manifests"));
  if (m.isIndex) {
    HM_RETURN_IF_ERROR(readDescriptors(doc, "manifests", m.manifests));
  } else if (m.mediaType == kOciManifest || m.mediaType == kDockerManifest || m.mediaType.empty()) {
    auto config = doc.find("config");
    if (config == doc.end()) {
      return bad("config", "is required in an image manifest");
    }
    auto c = readDescriptor(*config, "config");
    if (!c.ok()) {
      return c.status();
    }
    m.config = std::move(*c);
    HM_RETURN_IF_ERROR(readDescriptors(doc, "layers", m.layers));
  } else {
    return bad("mediaType", "\"" + m.mediaType.substr(0, 100) + "\" is not a manifest or index");
  }
  if (auto s = doc.find("subject"); s != doc.end() && !s->is_null()) {
    auto d = readDescriptor(*s, "subject");
    if (!d.ok()) {
      return d.status();
    }
    m.subject = std::move(*d);
  }
  return m;
}

}  // namespace hm::registry
