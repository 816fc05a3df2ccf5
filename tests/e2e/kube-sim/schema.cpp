#include "schema.h"

#include <algorithm>

namespace kubesim {
namespace {

using nlohmann::json;

bool flag(const json& schema, const char* name) {
  return schema.is_object() && schema.value(name, false);
}

std::string typeOf(const json& v) {
  if (v.is_string()) {
    return "string";
  }
  if (v.is_boolean()) {
    return "boolean";
  }
  if (v.is_number_integer() || v.is_number_unsigned()) {
    return "integer";
  }
  if (v.is_number()) {
    return "number";
  }
  if (v.is_array()) {
    return "array";
  }
  if (v.is_object()) {
    return "object";
  }
  return "null";
}

bool typeMatches(const json& schema, const json& v) {
  if (flag(schema, "x-kubernetes-int-or-string")) {
    return v.is_string() || v.is_number_integer() || v.is_number_unsigned();
  }
  std::string want = schema.value("type", "");
  if (want.empty()) {
    return true;
  }
  std::string have = typeOf(v);
  return have == want || (want == "number" && have == "integer");
}

class Walker {
 public:
  explicit Walker(SchemaOutcome& out) : out_(out) {}

  void walk(const json& schema, json& v, const std::string& path) {
    if (!schema.is_object()) {
      return;
    }
    if (v.is_null() && flag(schema, "nullable")) {
      return;
    }
    if (!typeMatches(schema, v)) {
      std::string want = flag(schema, "x-kubernetes-int-or-string") ? "integer or string"
                                                                    : schema.value("type", "");
      out_.invalid.push_back(
          {path, "FieldValueTypeInvalid",
           path + " in body must be of type " + want + ": \"" + typeOf(v) + "\""});
      return;
    }
    if (schema.contains("enum") && schema["enum"].is_array()) {
      const json& allowed = schema["enum"];
      if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
        out_.invalid.push_back(
            {path, "FieldValueNotSupported",
             path + ": Unsupported value: " + v.dump() + ": supported values: " + allowed.dump()});
      }
    }
    if (v.is_object()) {
      object(schema, v, path);
    } else if (v.is_array() && schema.contains("items")) {
      for (size_t i = 0; i < v.size(); ++i) {
        walk(schema["items"], v[i], path + "[" + std::to_string(i) + "]");
      }
    }
  }

  // At the root (empty path), apiVersion, kind and metadata belong to the API server.
  void object(const json& schema, json& v, const std::string& path) {
    json props = schema.value("properties", json::object());
    if (path.empty()) {
      for (const char* k : {"apiVersion", "kind", "metadata"}) {
        props.erase(k);
      }
    }
    const bool preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    const bool embedded = flag(schema, "x-kubernetes-embedded-resource");
    for (auto it = props.begin(); it != props.end(); ++it) {
      if (!v.contains(it.key()) && it.value().is_object() && it.value().contains("default")) {
        v[it.key()] = it.value()["default"];
      }
    }
    std::vector<std::string> drop;
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string child = path.empty() ? it.key() : path + "." + it.key();
      if (props.contains(it.key())) {
        walk(props[it.key()], it.value(), child);
      } else if (schema.contains("additionalProperties") &&
                 schema["additionalProperties"].is_object()) {
        walk(schema["additionalProperties"], it.value(), child);
      } else if ((embedded || path.empty()) &&
                 (it.key() == "apiVersion" || it.key() == "kind" || it.key() == "metadata")) {
        continue;
      } else if (!preserve && !(schema.value("additionalProperties", false) == true)) {
        drop.push_back(it.key());
        out_.unknownFields.push_back(child);
      }
    }
    for (const auto& k : drop) {
      v.erase(k);
    }
    for (const auto& r : schema.value("required", json::array())) {
      if (r.is_string() && !v.contains(r.get<std::string>())) {
        std::string child = path.empty() ? r.get<std::string>() : path + "." + r.get<std::string>();
        out_.invalid.push_back({child, "FieldValueRequired", "Required value"});
      }
    }
  }

 private:
  SchemaOutcome& out_;
};

}  // namespace

SchemaOutcome applySchema(const json& schema, json& object, const std::string& only) {
  SchemaOutcome out;
  if (!schema.is_object() || !object.is_object()) {
    return out;
  }
  Walker walker(out);
  if (only.empty()) {
    walker.object(schema, object, "");
  } else if (object.contains(only)) {
    const json props = schema.value("properties", json::object());
    if (props.contains(only)) {
      walker.walk(props[only], object[only], only);
    }
  }
  return out;
}

}  // namespace kubesim
