#include "harbormaster/compliance/running.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "harbormaster/admission/review.h"
#include "harbormaster/imageref/reference.h"

namespace hm::compliance {
namespace {

using nlohmann::json;

std::string stringAt(const json& node, std::string_view key) {
  if (!node.is_object()) {
    return "";
  }
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& childAt(const json& node, std::string_view key) {
  static const json kNull;
  if (!node.is_object()) {
    return kNull;
  }
  auto it = node.find(key);
  return it == node.end() ? kNull : *it;
}

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The container statuses that belong to the list an image path names.
std::string_view statusListOf(std::string_view path) {
  if (path.find(".initContainers[") != std::string_view::npos) {
    return "initContainerStatuses";
  }
  if (path.find(".ephemeralContainers[") != std::string_view::npos) {
    return "ephemeralContainerStatuses";
  }
  return "containerStatuses";
}

// The metadata fields the running set and the owner lookup read.
json stripMetadata(const json& metadata) {
  json out = json::object();
  for (const char* key : {"name", "namespace", "uid", "resourceVersion"}) {
    if (auto v = stringAt(metadata, key); !v.empty()) {
      out[key] = v;
    }
  }
  const json& owners = childAt(metadata, "ownerReferences");
  if (owners.is_array()) {
    json kept = json::array();
    for (const json& o : owners) {
      if (o.is_object() && o.value("controller", false) == true) {
        kept.push_back({{"apiVersion", stringAt(o, "apiVersion")},
                        {"kind", stringAt(o, "kind")},
                        {"name", stringAt(o, "name")},
                        {"uid", stringAt(o, "uid")},
                        {"controller", true}});
      }
    }
    out["ownerReferences"] = std::move(kept);
  }
  return out;
}

json stripList(const json& list, std::initializer_list<const char*> keys) {
  json out = json::array();
  if (!list.is_array()) {
    return out;
  }
  for (const json& item : list) {
    json kept = json::object();
    for (const char* key : keys) {
      if (auto v = stringAt(item, key); !v.empty()) {
        kept[key] = v;
      }
    }
    out.push_back(std::move(kept));
  }
  return out;
}

}  // namespace

bool operator<(const ObjectRef& a, const ObjectRef& b) {
  return std::tie(a.nameSpace, a.kind, a.name) < std::tie(b.nameSpace, b.kind, b.name);
}

bool operator==(const ObjectRef& a, const ObjectRef& b) {
  return std::tie(a.apiVersion, a.kind, a.nameSpace, a.name, a.uid) ==
         std::tie(b.apiVersion, b.kind, b.nameSpace, b.name, b.uid);
}

std::optional<ObjectRef> controllerOf(const json& object) {
  const json& metadata = childAt(object, "metadata");
  const json& owners = childAt(metadata, "ownerReferences");
  if (!owners.is_array()) {
    return std::nullopt;
  }
  for (const json& o : owners) {
    if (o.is_object() && o.value("controller", false) == true && !stringAt(o, "kind").empty() &&
        !stringAt(o, "name").empty()) {
      return ObjectRef{stringAt(o, "apiVersion"), stringAt(o, "kind"),
                       stringAt(metadata, "namespace"), stringAt(o, "name"), stringAt(o, "uid")};
    }
  }
  return std::nullopt;
}

ObjectRef workloadOf(const json& pod, const OwnerLookup& owners) {
  const json& metadata = childAt(pod, "metadata");
  auto controller = controllerOf(pod);
  if (!controller) {
    return ObjectRef{"v1", "Pod", stringAt(metadata, "namespace"), stringAt(metadata, "name"),
                     stringAt(metadata, "uid")};
  }
  // Deployments own ReplicaSets (and Argo Rollouts do too), CronJobs own Jobs: one step up.
  const bool replicaSet =
      controller->kind == "ReplicaSet" && controller->apiVersion.rfind("apps/", 0) == 0;
  const bool job = controller->kind == "Job" && controller->apiVersion.rfind("batch/", 0) == 0;
  if ((replicaSet || job) && owners) {
    if (auto up = owners(controller->kind, controller->nameSpace, controller->name)) {
      up->nameSpace = controller->nameSpace;
      return *up;
    }
  }
  return *controller;
}

std::string digestOfImageId(std::string_view imageId) {
  if (auto scheme = imageId.find("://"); scheme != std::string_view::npos) {
    imageId.remove_prefix(scheme + 3);
  }
  const auto at = imageId.rfind('@');
  if (at == std::string_view::npos || at == 0) {
    return "";
  }
  const std::string_view digest = imageId.substr(at + 1);
  if ((digest.size() == 71 && digest.rfind("sha256:", 0) == 0 && isHex(digest.substr(7))) ||
      (digest.size() == 135 && digest.rfind("sha512:", 0) == 0 && isHex(digest.substr(7)))) {
    return std::string(digest);
  }
  return "";
}

std::optional<RunningPod> runningPod(const json& pod, const OwnerLookup& owners) {
  if (!pod.is_object() || (pod.contains("kind") && stringAt(pod, "kind") != "Pod")) {
    return std::nullopt;
  }
  const json& status = childAt(pod, "status");
  const std::string phase = stringAt(status, "phase");
  if (phase == "Succeeded" || phase == "Failed") {
    return std::nullopt;
  }
  const json& metadata = childAt(pod, "metadata");
  RunningPod out;
  out.pod = ObjectRef{"v1", "Pod", stringAt(metadata, "namespace"), stringAt(metadata, "name"),
                      stringAt(metadata, "uid")};
  out.workload = workloadOf(pod, owners);
  auto uses = admission::imagesOf(pod, "", "Pod");
  for (policy::ImageUse& use : uses.value_or(std::vector<policy::ImageUse>{})) {
    RunningImage image;
    const json& statuses = childAt(status, statusListOf(use.path));
    if (statuses.is_array()) {
      for (const json& s : statuses) {
        if (stringAt(s, "name") == use.container) {
          image.digest = digestOfImageId(stringAt(s, "imageID"));
          break;
        }
      }
    }
    if (image.digest.empty()) {
      auto ref = imageref::parse(use.image);
      if (ref.ok() && ref->isPinned()) {
        image.digest = ref->digest;
      }
    }
    image.use = std::move(use);
    out.images.push_back(std::move(image));
  }
  return out;
}

json stripPod(const json& pod) {
  if (!pod.is_object()) {
    return nullptr;  // no Pod: runningPod() says so of both
  }
  // apiVersion and kind as they were (list items carry none): runningPod() reads the kind.
  json out = json::object();
  for (const char* key : {"apiVersion", "kind"}) {
    if (auto it = pod.find(key); it != pod.end()) {
      out[key] = *it;
    }
  }
  out["metadata"] = stripMetadata(childAt(pod, "metadata"));
  const json& spec = childAt(pod, "spec");
  json keptSpec = json::object();
  for (const char* list : {"initContainers", "containers", "ephemeralContainers"}) {
    if (childAt(spec, list).is_array()) {
      keptSpec[list] = stripList(childAt(spec, list), {"name", "image"});
    }
  }
  out["spec"] = std::move(keptSpec);
  const json& status = childAt(pod, "status");
  json keptStatus = json::object();
  if (auto phase = stringAt(status, "phase"); !phase.empty()) {
    keptStatus["phase"] = phase;
  }
  for (const char* list :
       {"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"}) {
    if (childAt(status, list).is_array()) {
      keptStatus[list] = stripList(childAt(status, list), {"name", "imageID"});
    }
  }
  out["status"] = std::move(keptStatus);
  return out;
}

std::vector<Subject> subjects(const std::vector<RunningPod>& pods) {
  std::map<ObjectRef, Subject> byWorkload;
  for (const RunningPod& pod : pods) {
    Subject& s = byWorkload[pod.workload];
    s.workload = pod.workload;
    ++s.pods;
    for (const RunningImage& image : pod.images) {
      const bool seen = std::any_of(s.images.begin(), s.images.end(), [&](const RunningImage& i) {
        return i.use.path == image.use.path && i.use.image == image.use.image &&
               i.digest == image.digest;
      });
      if (!seen) {
        s.images.push_back(image);
      }
    }
  }
  std::vector<Subject> out;
  out.reserve(byWorkload.size());
  for (auto& [_, s] : byWorkload) {
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace hm::compliance
