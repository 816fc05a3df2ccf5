// The compliance controller: what already runs, judged again by the webhook's engine with the
// webhook's policies, into PolicyReports per namespace (pkg/compliance builds them), a
// ClusterPolicyReport summary and Events on the owning workloads when an image starts or stops
// complying. Keys are namespaces, and "*" for the cluster summary. Leader only (as every
// controller); set up only when the operator was given an engine (ComplianceOptions).
#pragma once

#include "manager.h"

namespace hm::op::compliance {

inline const kube::Resource kPods{"", "v1", "pods"};
inline const kube::Resource kReplicaSets{"apps", "v1", "replicasets"};
inline const kube::Resource kJobs{"batch", "v1", "jobs"};

// The key of the cluster summary.
inline constexpr std::string_view kClusterKey = "*";

// The report kinds for an apiVersion (wgpolicyk8s.io/v1alpha2 or openreports.io/v1alpha1).
kube::Resource namespaceReports(const std::string& apiVersion);
kube::Resource clusterReports(const std::string& apiVersion);

// What the Pod informer keeps: compliance::stripPod, with metadata.resourceVersion replaced by a
// digest of what was kept, so a readiness flip or a new condition reaches no handler.
nlohmann::json podForCompliance(const nlohmann::json& pod);

void setup(Manager& mgr);

}  // namespace hm::op::compliance
