// What the API server does with a custom resource's structural schema on every write: drop
// fields the schema does not declare (pruning), fill in defaults, and validate types, enums and
// required fields. CEL rules (x-kubernetes-validations) are not evaluated.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kubesim {

struct FieldError {
  std::string field;   // "spec.replicas"
  std::string reason;  // FieldValueTypeInvalid, FieldValueNotSupported, FieldValueRequired
  std::string message;
};

struct SchemaOutcome {
  std::vector<std::string> unknownFields;  // pruned: "spec.colour"
  std::vector<FieldError> invalid;
};

// `schema` is a CRD version's openAPIV3Schema; `object` the whole object. apiVersion, kind and
// metadata are left alone. With `only` set ("status"), only that top-level field is processed.
SchemaOutcome applySchema(const nlohmann::json& schema, nlohmann::json& object,
                          const std::string& only = "");

}  // namespace kubesim
