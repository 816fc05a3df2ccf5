// Finds every image in a Pod or a pod template, with the JSON path a user can look up.
#include <nlohmann/json.hpp>

#include "internal.h"

namespace hm::admission::internal {
namespace {

using nlohmann::json;

const json* child(const json& node, std::string_view key) {
  if (!node.is_object()) {
    return nullptr;
  }
  auto it = node.find(key);
  return it == node.end() ? nullptr : &*it;
}

void collectList(const json& podSpec, std::string_view field, const std::string& prefix,
                 std::vector<policy::ImageUse>& out) {
  const json* list = child(podSpec, field);
  if (list == nullptr || !list->is_array()) {
    return;
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const json& c = (*list)[i];
    const json* image = child(c, "image");
    if (image == nullptr || !image->is_string()) {
      continue;  // the API server rejects a container without an image itself
    }
    const json* name = child(c, "name");
    policy::ImageUse use;
    use.container = name != nullptr && name->is_string() ? name->get<std::string>() : "";
    use.path = prefix + "." + std::string(field) + "[" + std::to_string(i) + "].image";
    use.image = image->get<std::string>();
    out.push_back(std::move(use));
  }
}

}  // namespace

std::optional<std::string_view> podSpecPath(std::string_view group, std::string_view kind) {
  if (group.empty() && kind == "Pod") {
    return "spec";
  }
  if ((group.empty() && kind == "ReplicationController") ||
      ((group == "apps" || group == "extensions") &&
       (kind == "Deployment" || kind == "ReplicaSet" || kind == "DaemonSet")) ||
      (group == "apps" && kind == "StatefulSet") || (group == "batch" && kind == "Job")) {
    return "spec.template.spec";
  }
  if (group == "batch" && kind == "CronJob") {
    return "spec.jobTemplate.spec.template.spec";
  }
  return std::nullopt;
}

std::vector<policy::ImageUse> collectImages(const json& object, std::string_view specPath) {
  std::vector<policy::ImageUse> out;
  const json* node = &object;
  size_t start = 0;
  while (node != nullptr && start <= specPath.size()) {
    size_t dot = specPath.find('.', start);
    std::string_view key =
        specPath.substr(start, dot == std::string_view::npos ? dot : dot - start);
    node = child(*node, key);
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  if (node == nullptr || !node->is_object()) {
    return out;
  }
  const std::string prefix(specPath);
  for (std::string_view field : {"initContainers", "containers", "ephemeralContainers"}) {
    collectList(*node, field, prefix, out);
  }
  for (auto& use : out) {
    use.pod = specPath == "spec";  // a Pod's own spec, not a template
  }
  return out;
}

}  // namespace hm::admission::internal

namespace hm::admission {

std::optional<std::vector<policy::ImageUse>> imagesOf(const nlohmann::json& object,
                                                      std::string_view group,
                                                      std::string_view kind) {
  auto path = internal::podSpecPath(group, kind);
  if (!path) {
    return std::nullopt;
  }
  return internal::collectImages(object, *path);
}

}  // namespace hm::admission
