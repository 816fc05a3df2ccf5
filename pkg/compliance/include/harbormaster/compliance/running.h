// What runs, as the compliance pass sees it: Pods stripped to what it needs, the digest each
// image runs at, and Pods grouped by the workload that owns them, so a Deployment with 50
// replicas is one subject. Pure: the operator's Pod informer feeds it.
//
//   auto pod = compliance::runningPod(object, owners);   // nullopt: it runs nothing
//   auto subjects = compliance::subjects(pods);           // one per workload
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/policy/evaluate.h"

namespace hm::compliance {

// An object as reports and Events refer to it (a core/v1 ObjectReference).
struct ObjectRef {
  std::string apiVersion;  // apps/v1
  std::string kind;        // Deployment
  std::string nameSpace;
  std::string name;
  std::string uid;
};
// By namespace, kind and name: the order reports list workloads in.
bool operator<(const ObjectRef& a, const ObjectRef& b);
bool operator==(const ObjectRef& a, const ObjectRef& b);

// The ownerReference of `object` with controller: true, in the object's namespace.
std::optional<ObjectRef> controllerOf(const nlohmann::json& object);

// The controller of a ReplicaSet or Job, as the operator's owner cache knows it (kind, namespace,
// name); nullopt when it has none or is not known (yet).
using OwnerLookup = std::function<std::optional<ObjectRef>(
    std::string_view kind, std::string_view nameSpace, std::string_view name)>;

// The workload a Pod runs for: its controller, followed one step from a ReplicaSet to its
// Deployment and from a Job to its CronJob where `owners` knows them (never guessed from names);
// the Pod itself when nothing controls it.
ObjectRef workloadOf(const nlohmann::json& pod, const OwnerLookup& owners);

// The digest in a container status's imageID when it names a repository digest:
// "docker-pullable://repo@sha256:…" (dockershim), "repo@sha256:…" (containerd, CRI-O). Empty
// otherwise: a bare "sha256:…" is the image's config id, which no registry serves.
std::string digestOfImageId(std::string_view imageId);

struct RunningImage {
  policy::ImageUse use;  // container, path, image as written in the Pod
  // What it runs: the kubelet's imageID digest, else the digest the spec names; empty when the
  // tag must be resolved through the registry (as admission does).
  std::string digest;
};

struct RunningPod {
  ObjectRef pod;
  ObjectRef workload;
  std::vector<RunningImage> images;  // init, regular and ephemeral containers
};

// nullopt for what runs nothing: a finished Pod (Succeeded, Failed) or no Pod at all.
std::optional<RunningPod> runningPod(const nlohmann::json& pod, const OwnerLookup& owners);

// A Pod cut down to what runningPod() and the owner lookup read (metadata names, uid and owner
// references; each container's name and image; phase and container statuses' names and
// imageIDs): what the informer keeps of every Pod in the cluster.
nlohmann::json stripPod(const nlohmann::json& pod);

// A workload and every distinct image its Pods run (by container path, image and digest: during
// a rollout both templates' images are there).
struct Subject {
  ObjectRef workload;
  std::vector<RunningImage> images;
  size_t pods = 0;
};
// One subject per workload, in workload order.
std::vector<Subject> subjects(const std::vector<RunningPod>& pods);

}  // namespace hm::compliance
