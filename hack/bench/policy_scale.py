#!/usr/bin/env python3
"""Writes the benchmark's policy resources at scale (hack/bench/run.sh): 300 ClusterImagePolicies
and 300 ImagePolicies for other namespaces, 3,000 ImageExceptions (ten per other namespace and a
few in shop that name other images), and last a probe exception whose effect shows that the
webhook's informers have caught up.

  policy_scale.py OUT.yaml EXPIRES   (EXPIRES: RFC 3339, within the policies' maxDuration)
"""
import json
import sys

out, expires = sys.argv[1], sys.argv[2]
docs = []
N = 300
for i in range(N):
    docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"tenant-{i}"}})
for i in range(N):
    docs.append({"apiVersion": "harbormaster.io/v1alpha1", "kind": "ClusterImagePolicy",
                 "metadata": {"name": f"scale-{i}"},
                 "spec": {"match": {"namespaces": [f"tenant-{i}"]}, "digest": "Require",
                          "exceptionPolicy": {"allowed": True}}})
    docs.append({"apiVersion": "harbormaster.io/v1alpha1", "kind": "ImagePolicy",
                 "metadata": {"name": "registries", "namespace": f"tenant-{i}"},
                 "spec": {"registries": ["harbor.example.com"], "digest": "Optional"}})
for i in range(N):
    for j in range(10 if i else 5):
        docs.append({"apiVersion": "harbormaster.io/v1alpha1", "kind": "ImageException",
                     "metadata": {"name": f"app-{j}", "namespace": f"tenant-{i}"},
                     "spec": {"policies": [f"scale-{i}"], "checks": ["digest"],
                              "images": [f"harbor.example.com/tenant-{i}/app-{j}"],
                              "expiresAt": expires, "reason": "benchmark"}})
for j in range(5):
    docs.append({"apiVersion": "harbormaster.io/v1alpha1", "kind": "ImageException",
                 "metadata": {"name": f"other-{j}", "namespace": "shop"},
                 "spec": {"policies": ["production"], "checks": ["digest"],
                          "images": [f"harbor.example.com/shop/other-{j}"],
                          "expiresAt": expires, "reason": "benchmark"}})
docs.append({"apiVersion": "harbormaster.io/v1alpha1", "kind": "ImageException",
             "metadata": {"name": "probe", "namespace": "tenant-0"},
             "spec": {"policies": ["scale-0"], "checks": ["digest"],
                      "images": ["harbor.example.com/shop/web"],
                      "expiresAt": expires, "reason": "the last object: caught up"}})
# One v1 List: kubectl creates its items in order.
with open(out, "w") as f:
    json.dump({"apiVersion": "v1", "kind": "List", "items": docs}, f)
