#!/usr/bin/env python3
"""Writes the CRDs of ClusterImagePolicy, ImagePolicy and ImageException into crds/.

The two policy kinds share one spec schema; generating them keeps it one definition. Run
`hack/crdgen/policy_crds.py` after changing this file, then copy crds/ into the chart
(tests/deploy checks both copies are identical, and that crds/ is what this writes).
`--out DIR` writes into DIR instead; `--pkg DIR` looks for policy sections there (tests).
Only the standard library is used.
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Go's time.ParseDuration grammar, without a sign: the one grammar hm::parseGoDuration reads
# (pkg/base/src/time.cpp), so the API server and the loader refuse the same strings.
GO_DURATION = r"^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$"
ARGS = argparse.ArgumentParser(description="Writes the policy CRDs.")
ARGS.add_argument("--out", default=os.path.join(ROOT, "crds"), help="where to write (crds/)")
ARGS.add_argument("--pkg", default=os.path.join(ROOT, "pkg"),
                  help="where module folders with crd/policy-section.json are found (pkg/)")
OPTIONS = ARGS.parse_args()
OUT = OPTIONS.out


def s(desc, **kw):
    return {"type": "string", "description": desc, **kw}


def strings(desc, item_desc=None, **kw):
    item = {"type": "string", "minLength": 1}
    if item_desc:
        item["description"] = item_desc
    return {"type": "array", "description": desc, "items": item, **kw}


def enum(desc, values):
    return {"type": "string", "description": desc, "enum": values}


def boolean(desc):
    return {"type": "boolean", "description": desc}


LABEL_SELECTOR = {
    "type": "object",
    "description": "A label selector (metav1.LabelSelector): every matchLabels pair and every "
    "expression must hold; empty selects everything.",
    "properties": {
        "matchLabels": {
            "type": "object",
            "description": "Labels the namespace must carry with exactly these values.",
            "additionalProperties": {"type": "string"},
        },
        "matchExpressions": {
            "type": "array",
            "maxItems": 32,
            "description": "Label requirements, all of which must hold.",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": s("The label key.", minLength=1),
                    "operator": enum("How the label relates to values.",
                                     ["In", "NotIn", "Exists", "DoesNotExist"]),
                    "values": strings("For In and NotIn: the values (not empty); for Exists "
                                      "and DoesNotExist: none.", maxItems=64),
                },
                "x-kubernetes-validations": [{
                    "rule": "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
                    "message": "In and NotIn need values; Exists and DoesNotExist take none",
                }],
            },
        },
    },
}



def sections():
    """The policy sections fact source modules register (pkg/policy/.../section.h): each module
    folder with a policy section holds crd/policy-section.json, {"key": spec field, "check":
    check name, "schema": OpenAPI schema of spec.<key>}, so a new section touches its own folder
    only. Sorted by folder, so the output is stable."""
    out = []
    pkg = OPTIONS.pkg
    for name in sorted(os.listdir(pkg)):
        path = os.path.join(pkg, name, "crd", "policy-section.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                section = json.load(f)
            if set(section) != {"key", "check", "schema"}:
                sys.exit(f"{path}: must hold exactly key, check and schema")
            out.append(section)
    return out


SECTIONS = sections()
CHECKS = ["registry", "digest", "vulnerabilities", "signatures"] + [s["check"] for s in SECTIONS]
DATE = {"type": "string", "format": "date-time"}
SCAN_ACTIONS = ["Deny", "Warn", "Allow"]


def policy_spec(cluster):
    image_globs = strings("Image globs: '*' and '?' stay within a '/' segment, '**' crosses "
                          "segments; tried against the normalised name (docker.io/library/nginx), "
                          "the normalised reference and the text as written. Empty: every image.")
    match_props = {"images": image_globs}
    exclude_props = {"images": strings("Image globs this policy never judges.")}
    if cluster:
        match_props["namespaces"] = strings(
            "Namespace globs. Empty: every namespace except kube-system and Harbormaster's own, "
            "which only a literal name opts in.")
        match_props["namespaceSelector"] = dict(
            LABEL_SELECTOR,
            description="Namespaces by label (metav1.LabelSelector). With namespaces, both must "
            "select, as in a webhook configuration. Never selects kube-system or Harbormaster's "
            "own namespace.")
        exclude_props["namespaces"] = strings("Namespace globs this policy never judges.")
    spec = {
        "type": "object",
        "description": "What the policy checks and where." + (
            "" if cluster else " A namespaced ImagePolicy judges only workloads in its own "
            "namespace and can add checks, never remove those of a ClusterImagePolicy."),
        "properties": {
            "mode": enum("Enforce denies; Warn admits with a warning kubectl shows; Audit only "
                         "annotates. Default Enforce.", ["Enforce", "Warn", "Audit"]),
            "match": {"type": "object", "description": "What the policy selects.",
                      "properties": match_props},
            "exclude": {"type": "object", "description": "What it leaves alone.",
                        "properties": exclude_props},
            "registries": strings("Allowed registry hosts (harbor.example.com or host:port); "
                                  "empty allows any registry."),
            "digest": enum("Require: images must be pinned by digest (default). Pin: tags are "
                           "allowed in workload templates, and each Pod's images are rewritten "
                           "to the digest judged by the mutating webhook (a Pod that reaches "
                           "validation unpinned is denied). Optional: tags are allowed. \"Off\" "
                           "is Optional's old name (quote it: YAML 1.1 reads a bare Off as "
                           "false).", ["Require", "Pin", "Optional", "Off"]),
            "onUpdate": enum("On UPDATE, whether images already in the old object are judged "
                             "again. Default SkipUnchangedImages.",
                             ["SkipUnchangedImages", "CheckAllImages"]),
            "exceptions": {
                "type": "array",
                "description": "Inline exceptions (prefer ImageException resources, which have "
                "owners, status and a maximum lifetime).",
                "items": {
                    "type": "object",
                    "required": ["checks", "reason"],
                    "properties": {
                        "images": strings("Image globs; empty: every image the policy selects."),
                        "namespaces": strings("Namespace globs; empty: every namespace."),
                        "checks": {"type": "array", "minItems": 1, "maxItems": 4,
                                   "description": "The checks excepted.",
                                   "items": {"type": "string", "enum": CHECKS}},
                        "expires": dict(DATE, description="RFC 3339; after it the exception "
                                        "no longer applies."),
                        "reason": s("Why the exception exists (a ticket, an owner).",
                                    minLength=1),
                    },
                },
            },
            "exceptionPolicy": {
                "type": "object",
                "description": "Whether namespaced ImageExceptions may apply to this policy, from "
                "which namespaces, and for how long at most. Default: " + (
                    "none applies (allowed: false)." if cluster else
                    "this namespace's ImageExceptions apply, for at most 720h (30 days)."),
                "properties": {
                    "allowed": boolean("true: ImageExceptions may apply; false: none does. "
                                       "Default " + ("false." if cluster else "true.")),
                    "namespaceSelector": dict(LABEL_SELECTOR, description="Namespaces whose "
                                              "ImageExceptions may apply; absent: any."),
                    "maxDuration": s("The longest an exception may run, from its creation to "
                                     "expiresAt: a Go duration "
                                     "(720h, 168h, 1h30m). Default 720h.",
                                     pattern=GO_DURATION),
                },
            },
            "vulnerabilities": {
                "type": "object",
                "description": "The Harbor scan gate: the image's scan by Harbor must pass.",
                "x-kubernetes-validations": [{
                    "rule": "has(self.severity) || has(self.maxCounts)",
                    "message": "set severity, maxCounts, or both",
                }],
                "properties": {
                    "severity": enum("Deny when a remaining finding is at or above this "
                                     "(Harbor's order; None fails any finding).",
                                     ["None", "Low", "Medium", "High", "Critical"]),
                    "maxCounts": {
                        "type": "object",
                        "description": "Deny when there are more remaining findings of a "
                        "severity than this.",
                        "properties": {k: {"type": "integer", "minimum": 0,
                                           "description": f"At most this many {k} findings."}
                                       for k in ["Critical", "High", "Medium", "Low", "Unknown"]},
                    },
                    "fixableOnly": boolean("Only findings with a fixed version count."),
                    "notScanned": enum("Harbor has no report. ScanAndDeny also asks Harbor to "
                                       "scan.", SCAN_ACTIONS + ["ScanAndDeny"]),
                    "pending": enum("The scan is pending or running.", SCAN_ACTIONS),
                    "failed": enum("The scan failed or was stopped.", SCAN_ACTIONS),
                    "unsupported": enum("Harbor's scanner cannot scan the artifact.",
                                        SCAN_ACTIONS),
                    "allowlist": {
                        "type": "array",
                        "description": "CVEs this policy accepts.",
                        "items": {
                            "type": "object",
                            "required": ["id", "reason"],
                            "properties": {
                                "id": s("The CVE id, exact (CVE-2024-0001).", minLength=1),
                                "expires": dict(DATE, description="RFC 3339; optional."),
                                "reason": s("Why it is accepted.", minLength=1),
                            },
                        },
                    },
                    "harborAllowlists": boolean("Harbor's system or project CVE allowlist "
                                                "counts too. Default true."),
                    "projectPolicy": boolean("Apply the Harbor project's own pull-time rule "
                                             "(prevent_vul). Default true."),
                    "harborUnreachable": enum("When Harbor cannot be asked.",
                                              ["Deny", "Allow", "AllowIfCached"]),
                },
            },
            "signatures": {
                "type": "object",
                "description": "cosign signatures, verified offline against the attestors.",
                "properties": {
                    "required": boolean("false: failures only warn. Default true."),
                    "attestors": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 16,
                        "description": "Who may sign.",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "x-kubernetes-validations": [{
                                "rule": "has(self.keys) != has(self.keyless)",
                                "message": "set exactly one of keys and keyless",
                            }],
                            "properties": {
                                "name": s("Messages name the attestor by it.", minLength=1),
                                "keys": strings("Public keys: PEM text, or absolute paths of PEM "
                                                "files mounted into the webhook."),
                                "trustedRoot": s("For key attestors with tlog: Require: the "
                                                 "absolute path of a Sigstore trusted_root.json."),
                                "keyless": {
                                    "type": "object",
                                    "description": "Keyless signers: certificates from a Sigstore "
                                    "instance's CA, for the listed OIDC identities.",
                                    "required": ["trustedRoot", "identities"],
                                    "properties": {
                                        "trustedRoot": s("Absolute path of the Sigstore "
                                                         "trusted_root.json that issued the "
                                                         "certificates."),
                                        "identities": {
                                            "type": "array",
                                            "description": "Who may sign: an issuer and a subject "
                                            "each.",
                                            "minItems": 1,
                                            "maxItems": 32,
                                            "items": {
                                                "type": "object",
                                                "required": ["issuer"],
                                                "x-kubernetes-validations": [{
                                                    "rule": "has(self.subject) != has(self.subjectRegExp)",
                                                    "message": "set exactly one of subject and subjectRegExp",
                                                }],
                                                "properties": {
                                                    "issuer": s("The OIDC issuer, exact."),
                                                    "subject": s("The certificate subject, exact."),
                                                    "subjectRegExp": s("The certificate subject as "
                                                                       "a regular expression in "
                                                                       "Go's (RE2) syntax, as "
                                                                       "cosign's --certificate-"
                                                                       "identity-regexp: searched, "
                                                                       "so anchor it with ^...$.",
                                                                       minLength=1,
                                                                       maxLength=1024),
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    },
                    "count": {"type": "integer", "minimum": 1,
                              "description": "How many distinct attestors must verify. Default 1."},
                    "predicateTypes": strings("In-toto predicate types that count as signed."),
                    "tlog": enum("Require a Rekor entry (default) or Skip.", ["Require", "Skip"]),
                    "repository": s("registry/path holding the signatures when not beside the "
                                    "image (COSIGN_REPOSITORY)."),
                },
            },
        },
    }
    for section in SECTIONS:
        spec["properties"][section["key"]] = section["schema"]
    return spec


CONDITIONS = {
    "type": "array",
    "description": "Ready: whether the policy is valid and in force, or the exception applies.",
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["type"],
    "items": {
        "type": "object",
        "required": ["type", "status", "lastTransitionTime", "reason", "message"],
        "properties": {
            "type": {"type": "string", "description": "Ready."},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"],
                       "description": "True, False or Unknown."},
            "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0,
                                   "description": "The generation the condition was set for."},
            "lastTransitionTime": {"type": "string", "format": "date-time",
                                   "description": "When the status last changed."},
            "reason": {"type": "string", "description": "CamelCase, for programs: Valid, "
                       "InvalidSpec, CannotBeEnforced, Active, Expired, NotAllowed, ExceedsMaxDuration, "
                       "PolicyNotFound."},
            "message": {"type": "string", "description": "For people: what is wrong and where."},
        },
    },
}


def crd(kind, plural, short, scope, description, spec, status, columns, required):
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.harbormaster.io"},
        "spec": {
            "group": "harbormaster.io",
            "scope": scope,
            "names": {"kind": kind, "listKind": kind + "List", "plural": plural,
                      "singular": kind.lower(), "shortNames": [short],
                      "categories": ["harbormaster"]},
            "versions": [{
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": description,
                    "required": required,
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": spec,
                        "status": status,
                    },
                }},
            }],
        },
    }


POLICY_STATUS = {
    "type": "object",
    "description": "Written by the operator.",
    "properties": {
        "observedGeneration": {"type": "integer", "format": "int64",
                               "description": "The generation the operator last looked at."},
        "enforcedGeneration": {"type": "integer", "format": "int64",
                               "description": "The generation the webhook enforces: the newest "
                               "valid one."},
        "checks": {"type": "string", "description": "The checks the policy makes, for kubectl get."},
        "warnings": strings("What loads but deserves a look, e.g. a subjectRegExp without ^...$ "
                            "anchors."),
        "conditions": CONDITIONS,
    },
}

POLICY_COLUMNS = [
    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
    {"name": "Checks", "type": "string", "jsonPath": ".status.checks"},
    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]

EXCEPTION_SPEC = {
    "type": "object",
    "required": ["policies", "images", "checks", "expiresAt", "reason"],
    "description": "Which policies' checks pass for which images of this namespace, until when, "
    "and why.",
    "x-kubernetes-validations": [{
        "rule": "!has(self.cves) || size(self.cves) == 0 || 'vulnerabilities' in self.checks",
        "message": "cves need vulnerabilities in checks",
    }],
    "properties": {
        "policies": strings("Names of the ClusterImagePolicies and of this namespace's "
                            "ImagePolicies it applies to.", minItems=1, maxItems=64),
        "images": strings("Image globs (as in policies) or exact digests (sha256:…); at "
                          "least one (\"**\" for every image the policies select).",
                          minItems=1),
        "checks": {"type": "array", "minItems": 1, "maxItems": 4,
                   "description": "The checks excepted.",
                   "items": {"type": "string", "enum": CHECKS}},
        "cves": strings("With vulnerabilities: only these CVE ids are excepted (exact, as in "
                        "Harbor); the rest of the scan still counts. Empty: the whole scan "
                        "check.", "A CVE id, e.g. CVE-2024-0001.", maxItems=256),
        "expiresAt": dict(DATE, description="When the exception ends (RFC 3339). At most the "
                          "policy's exceptionPolicy.maxDuration after creation."),
        "reason": s("Why the exception exists.", minLength=1),
        "owner": s("Who answers for it (a team or person)."),
        "ticket": s("Where it is tracked."),
    },
}

EXCEPTION_STATUS = {
    "type": "object",
    "description": "Written by the operator.",
    "properties": {
        "observedGeneration": {"type": "integer", "format": "int64",
                               "description": "The generation the operator last looked at."},
        "state": {"type": "string", "enum": ["Active", "Expired", "Rejected"],
                  "description": "Active: applies. Expired: past expiresAt. Rejected: a policy's "
                  "exceptionPolicy does not allow it, a named policy does not exist, or the spec "
                  "is invalid (the Ready condition says which)."},
        "conditions": CONDITIONS,
    },
}

EXCEPTION_COLUMNS = [
    {"name": "Policies", "type": "string", "jsonPath": ".spec.policies"},
    {"name": "Expires", "type": "string", "jsonPath": ".spec.expiresAt"},
    {"name": "Active", "type": "string", "jsonPath": ".status.state"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def write(name, header, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        f.write(header)
        f.write("# Generated by hack/crdgen/policy_crds.py; edit that, not this file.\n")
        # JSON is YAML: one document, stable key order, readable diffs.
        f.write(json.dumps(obj, indent=2) + "\n")


write("clusterimagepolicies.harbormaster.io.yaml",
      "# ClusterImagePolicy: an image policy for the whole cluster (or the namespaces it selects).\n",
      crd("ClusterImagePolicy", "clusterimagepolicies", "cip", "Cluster",
          "An image policy for the cluster: which images may run in which namespaces (digest "
          "pinning, registries, Harbor's scan, cosign signatures). Every matching policy must "
          "pass. See docs/policy.md.",
          policy_spec(True), POLICY_STATUS, POLICY_COLUMNS, ["spec"]))
write("imagepolicies.harbormaster.io.yaml",
      "# ImagePolicy: a tenant's image policy for its own namespace.\n",
      crd("ImagePolicy", "imagepolicies", "ip", "Namespaced",
          "An image policy for the workloads of its own namespace. It adds checks; it cannot "
          "weaken a ClusterImagePolicy (every matching policy must pass). See docs/policy.md.",
          policy_spec(False), POLICY_STATUS, POLICY_COLUMNS, ["spec"]))
write("imageexceptions.harbormaster.io.yaml",
      "# ImageException: an owned, expiring exception to policies for images of one namespace.\n",
      crd("ImageException", "imageexceptions", "iex", "Namespaced",
          "An exception to named policies for images of its own namespace, until expiresAt, "
          "where the policies' exceptionPolicy allows it. See docs/policy.md.",
          EXCEPTION_SPEC, EXCEPTION_STATUS, EXCEPTION_COLUMNS, ["spec"]))
