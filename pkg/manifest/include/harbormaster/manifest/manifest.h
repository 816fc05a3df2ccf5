// Kubernetes manifests as a CI pipeline has them — `helm template`, `kustomize build`, a folder
// of YAML or JSON — read into objects, and the workloads among them with their images, found by
// the code admission uses (admission::imagesOf).
//
//   auto objects = manifest::parse(text, "deploy.yaml", {});   // every object, Lists expanded
//   auto found = manifest::workloads(*objects, "default");     // what `check -f` judges
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/policy/evaluate.h"

namespace hm::manifest {

// A manifest is the user's own input, but it may be a chart's whole rendering with its CRDs:
// larger than a policy, still bounded (docs/ci.md).
struct Limits {
  size_t maxBytes = 64 * 1024 * 1024;  // per file or stream
  size_t maxNodes = 2'000'000;         // YAML nodes per stream
  size_t maxDocuments = 100'000;
  size_t maxFiles = 10'000;  // per directory walk
};

// One object of a stream: where it came from, for messages and reports.
struct Object {
  nlohmann::json object;
  std::string source;    // the file name, or "stdin"
  size_t document = 0;   // 1-based document of the stream
  size_t line = 0;       // 1-based line where the document starts (0 for JSON)
  std::string origin;    // the template `helm template` names in "# Source: chart/templates/x"
  std::string listItem;  // "items[3]" for an item of a List, empty otherwise
};

// Every object of a stream of YAML documents or of one JSON value (an object, a List, or an
// array of objects). Empty documents (comments only, as `helm template` leaves) are skipped;
// `List` and any kind ending in "List" with `items` contribute their items. A document that is
// not YAML, not a mapping, or has no `kind` or `apiVersion` is an error naming `source`, the
// document (and item) and the field.
StatusOr<std::vector<Object>> parse(std::string_view text, std::string_view source,
                                    const Limits& limits = {});

// The objects of every path: "-" is stdin (read by the caller and passed as `stdinText`), a
// directory contributes its .yaml, .yml and .json files in name order (its subdirectories too
// with `recursive`), as `kubectl apply -f` reads them. Errors name the path.
StatusOr<std::vector<Object>> load(const std::vector<std::string>& paths, bool recursive,
                                   const std::string& stdinText, const Limits& limits = {});

// "apps/v1" → "apps"; "v1" → "" (the core group).
std::string groupOf(std::string_view apiVersion);

// A workload the webhook judges, with its images as admission finds them.
struct Workload {
  const Object* from = nullptr;
  std::string apiVersion;
  std::string kind;
  std::string name;  // metadata.name, or generateName + "*"
  std::string nameSpace;
  std::vector<policy::ImageUse> images;
};

struct Workloads {
  std::vector<Workload> workloads;
  // Objects of kinds the webhook does not judge, counted by kind ("Service" → 2).
  std::map<std::string, size_t> skipped;
  // Labels of the Namespaces the manifests create: what namespaceSelectors see once applied.
  std::map<std::string, std::map<std::string, std::string>> namespaceLabels;
};

// Each workload judged in its own namespace: metadata.namespace, else `defaultNamespace`.
// Pure; `objects` must outlive the result.
Workloads workloads(const std::vector<Object>& objects, const std::string& defaultNamespace);

}  // namespace hm::manifest
