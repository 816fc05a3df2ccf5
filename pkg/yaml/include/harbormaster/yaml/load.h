// YAML from users and the cluster, loaded with bounds. yaml-cpp 0.7 (Debian 12) loops forever,
// allocating, on some mistyped streams (jbeder/yaml-cpp#1040: a document that is a stray `,`),
// and a megabyte of flow sequence costs it a quarter of a gigabyte. Every YAML input goes
// through here: the text is first walked by the parser with a handler that keeps nothing and
// stops at the first document that makes no progress or past the node budget; only a text
// that passed is built into nodes. docs/architecture.md ("Untrusted YAML") says why.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"

namespace hm::yaml {

struct Limits {
  size_t maxBytes = 1024 * 1024;  // a ConfigMap's limit
  size_t maxNodes = 50000;        // about 25 MB of yaml-cpp nodes
  size_t maxDocuments = 1000;
};

struct Document {
  YAML::Node root;  // null for an empty document
  size_t number;    // 1-based, as in messages
  size_t line;      // 1-based line where the document starts
};

// Every document of a stream. Errors name `source`, the document and the line.
StatusOr<std::vector<Document>> loadAll(std::string_view text, std::string_view source,
                                        const Limits& limits = {});

// A stream that must hold one document (a kubeconfig); an empty stream is a null node.
StatusOr<YAML::Node> loadOne(std::string_view text, std::string_view source,
                             const Limits& limits = {});

}  // namespace hm::yaml
