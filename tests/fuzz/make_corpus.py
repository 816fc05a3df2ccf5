#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ (the project's own inputs, no third-party data).

Targets whose first byte picks a parser get one seed per parser. Re-run after changing a target;
inputs found by fuzzing are added beside these as regression-<what> files and never regenerated.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
D64 = "sha256:" + "ab" * 32


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sel(i, text):
    return bytes([i]) + (text.encode() if isinstance(text, str) else text)


pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
       "spec": {"containers": [{"name": "web", "image": "harbor.example.com/shop/web:1.4"}],
                "initContainers": [{"name": "init", "image": "busybox@" + D64}]}}
deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
          "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "nginx"}]}}}}
for i, (obj, op, kind, res) in enumerate([(pod, "CREATE", "Pod", "pods"),
                                          (deploy, "UPDATE", "Deployment", "deployments")]):
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": "u-%d" % i, "kind": {"group": "", "version": "v1", "kind": kind},
                          "resource": {"group": "", "version": "v1", "resource": res},
                          "namespace": "shop", "operation": op, "object": obj,
                          "oldObject": obj if op == "UPDATE" else None,
                          "userInfo": {"username": "alice"}, "dryRun": False}}
    write("admission", "review-%d.json" % i, json.dumps(review))

for i, ref in enumerate(["nginx", "nginx:1.25", "docker.io/a.b/c", "localhost:5000/app@" + D64,
                         "[::1]:5000/x/y:z", "harbor.example.com/shop/web:1.4@" + D64,
                         "docker.io/localhost/x:1", "a" * 250]):
    write("imageref", "ref-%d" % i, ref)

write("policy_yaml", "full.yaml", """apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: production}
spec:
  mode: Enforce
  match: {namespaces: ["shop", "prod-*"], images: ["harbor.example.com/**"]}
  exclude: {images: ["harbor.example.com/ops/**"]}
  registries: ["harbor.example.com"]
  digest: Require
  onUpdate: CheckAllImages
  vulnerabilities: {maxSeverity: High, notScanned: Deny, allowlist: [CVE-2024-0001]}
  exceptions:
    - images: ["harbor.example.com/shop/tool"]
      checks: [digest]
      expires: "2027-06-30T00:00:00Z"
      reason: "batch tools"
---
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: warn}
spec: {mode: Warn, digest: Optional}
---
""")
write("policy_yaml", "identities.yaml", """apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: keyless, namespace: tenant}
spec:
  digest: "Off"
  match: {images: ["HARBOR.example.com:443/tenant/**"]}
  signatures:
    attestors:
      - name: gha
        keyless:
          trustedRoot: /nonexistent/trusted_root.json
          identities:
            - {issuer: "https://token.actions.githubusercontent.com", subjectRegExp: '^https://github\\.com/acme/.*$'}
            - {issuer: "https://accounts.google.com", subjectRegExp: '(?i)^(.*)*(.*)*@acme\\.example$'}
            - {issuer: "https://accounts.google.com", subjectRegExp: "acme"}
---
apiVersion: harbormaster.io/v1alpha1
kind: ImageException
metadata: {name: e, namespace: tenant}
spec: {policies: [keyless], images: ["**"], checks: [signatures], expiresAt: "2027-01-01T00:00:00Z", reason: r}
""")
write("policy_yaml", "regression-stray-comma.yaml",
      "apiVersion: harbormaster.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: a}\n"
      "spec: {mode: Enforce}\n---\n,\n")
write("policy_yaml", "resources.yaml", """apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: production}
spec:
  match:
    namespaces: ["shop"]
    namespaceSelector:
      matchLabels: {env: prod}
      matchExpressions: [{key: tier, operator: NotIn, values: [test]}]
  exceptionPolicy: {allowed: true, maxDuration: 1h30m, namespaceSelector: {matchLabels: {x: y}}}
  vulnerabilities: {severity: High}
---
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: strict, namespace: shop}
spec: {registries: [harbor.example.com]}
---
apiVersion: harbormaster.io/v1alpha1
kind: ImageException
metadata: {name: cve, namespace: shop}
spec:
  policies: [production, strict]
  images: ["harbor.example.com/shop/**", "%s"]
  checks: [vulnerabilities, registry]
  cves: [CVE-2026-1]
  expiresAt: "2026-12-10T00:00:00Z"
  reason: vendor fix pending
  owner: team-shop
""" % D64)
# The same kinds as the API server hands them over (JSON: parseObject).
write("policy_yaml", "object.json", json.dumps({
    "apiVersion": "harbormaster.io/v1alpha1", "kind": "ImageException",
    "metadata": {"name": "tags", "namespace": "shop", "generation": 2,
                 "creationTimestamp": "2026-12-01T00:00:00Z", "managedFields": [{}]},
    "spec": {"policies": ["production"], "checks": ["digest"],
             "expiresAt": "2026-12-10T00:00:00Z", "reason": "r"},
    "status": {"state": "Active"}}))
write("policy_yaml", "anchors.yaml", "a: &x [1, 2]\nb: *x\n---\n- !tag {k: v}\n...\n")

artifact = {"digest": D64, "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "scan_overview": {"application/vnd.security.vulnerability.report; version=1.1": {
                "scan_status": "Success", "severity": "High",
                "summary": {"total": 2, "summary": {"High": 1, "Low": 1}}}},
            "references": [{"child_digest": D64, "platform": {"os": "linux"}}]}
harbor = [
    {"project_id": 3, "name": "shop", "metadata": {"auto_scan": "true", "public": "false"},
     "cve_allowlist": {"items": [{"cve_id": "CVE-2024-1"}], "expires_at": 0}},
    [{"id": 1, "ref": {"id": 3}, "hard": {"storage": 1024}, "used": {"storage": 5}}],
    {"id": 7, "name": "robot$shop+puller", "secret": "x", "expires_at": 1800000000,
     "permissions": [{"kind": "project", "namespace": "shop",
                      "access": [{"resource": "repository", "action": "pull"}]}]},
    [{"id": 7, "name": "robot$shop+puller", "disable": False}],
    artifact,
    {"items": [{"cve_id": "CVE-2024-1"}], "expires_at": None},
    {"harbor_version": "v2.11.0", "with_notary": False},
    {"application/vnd.security.vulnerability.report; version=1.1": {
        "severity": "High", "vulnerabilities": [
            {"id": "CVE-2024-1", "package": "openssl", "version": "3.0.1",
             "fix_version": "3.0.9", "severity": "High"}]}},
    {"errors": [{"code": "NOT_FOUND", "message": "artifact not found"}]},
    {"type": "SCANNING_COMPLETED", "occur_at": 1, "operator": "auto",
     "event_data": {"resources": [{"digest": D64, "resource_url": "h/shop/web@" + D64}],
                    "repository": {"name": "web", "namespace": "shop"}}},
]
for i, doc in enumerate(harbor):
    write("harbor", "model-%d" % i, sel(i, json.dumps(doc)))
write("harbor", "event-cloud", sel(9, json.dumps(
    {"specversion": "1.0", "type": "harbor.scan.completed",
     "data": {"resources": [{"digest": D64}]}})))
write("harbor", "link", sel(10, '</api/v2.0/robots?page=2&page_size=100>; rel="next" , '
                                '</api/v2.0/robots?page=1>; rel="prev first"'))
write("harbor", "immutable-rules", sel(11, json.dumps(
    [{"id": 3, "disabled": False, "action": "immutable", "template": "immutable_template",
      "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
      "scope_selectors": {"repository": [{"kind": "doublestar", "decoration": "repoMatches",
                                          "pattern": "**"}]}}])))
write("harbor", "members", sel(12, json.dumps(
    [{"id": 1, "project_id": 2, "entity_name": "admin", "role_name": "projectAdmin",
      "role_id": 1, "entity_id": 1, "entity_type": "u"}])))
write("harbor", "retention", sel(13, json.dumps(
    {"id": 4, "algorithm": "or", "scope": {"level": "project", "ref": 2},
     "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 2 * * *"}},
     "rules": [{"disabled": False, "action": "retain", "template": "latestPushedK",
                "params": {"latestPushedK": 10},
                "tag_selectors": [{"kind": "doublestar", "decoration": "matches",
                                   "pattern": "release-*", "extras": '{"untagged":true}'}],
                "scope_selectors": {"repository": [{"kind": "doublestar",
                                                    "decoration": "repoMatches",
                                                    "pattern": "**"}]}}]})))

manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": D64,
                       "size": 10},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": D64, "size": 100, "annotations": {"a": "b"}}],
            "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": D64, "size": 5}}
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": D64, "size": 5, "artifactType": "x",
                        "platform": {"os": "linux", "architecture": "amd64"}}]}
write("registry", "manifest", sel(0, json.dumps(manifest)))
write("registry", "index", sel(1, json.dumps(index)))
write("registry", "docker-v2", sel(2, json.dumps(manifest)))
write("registry", "challenge", sel(5, 'Bearer realm="https://h.example/service/token",'
                                      'service="harbor-registry",scope="repository:a/b:pull"'))
write("registry", "challenge-basic", sel(5, 'Basic realm="harbor"'))

b64 = "QUJD"
root = {"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{"baseUrl": "https://rekor.example", "hashAlgorithm": "SHA2_256",
                   "publicKey": {"rawBytes": b64, "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                                 "validFor": {"start": "2021-01-01T00:00:00Z", "end": None}},
                   "logId": {"keyId": b64}}],
        "certificateAuthorities": [{"subject": {"organization": "x"}, "uri": "https://ca",
                                    "certChain": {"certificates": [{"rawBytes": b64}]},
                                    "validFor": {"start": "2021-01-01T00:00:00Z"}}],
        "ctlogs": [], "timestampAuthorities": None}
write("sigstore", "trusted-root", sel(0, json.dumps(root)))
bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
          "verificationMaterial": {"publicKey": {"hint": "k"},
                                   "tlogEntries": [{"logIndex": "1", "logId": {"keyId": b64},
                                                    "kindVersion": {"kind": "hashedrekord",
                                                                    "version": "0.0.1"},
                                                    "integratedTime": "1700000000",
                                                    "canonicalizedBody": b64}]},
          "messageSignature": {"messageDigest": {"algorithm": "SHA2_256", "digest": b64},
                               "signature": b64}}
write("sigstore", "bundle-key", sel(1, json.dumps(bundle)))
dsse = dict(bundle)
del dsse["messageSignature"]
dsse["dsseEnvelope"] = {"payload": b64, "payloadType": "application/vnd.in-toto+json",
                        "signatures": [{"sig": b64, "keyid": ""}]}
dsse["verificationMaterial"] = {"certificate": {"rawBytes": b64}, "tlogEntries": []}
write("sigstore", "bundle-dsse-cert", sel(2, json.dumps(dsse)))
write("sigstore", "pem", sel(3, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
write("sigstore", "rekor", sel(4, json.dumps(
    {"apiVersion": "0.0.1", "kind": "hashedrekord",
     "spec": {"data": {"hash": {"algorithm": "sha256", "value": "ab" * 32}},
              "signature": {"content": b64, "publicKey": {"content": b64}}}})))
payload = json.dumps({"critical": {"identity": {"docker-reference": "h/a"},
                                   "image": {"docker-manifest-digest": "sha256:" + "a" * 64},
                                   "type": "cosign container image signature"},
                      "optional": None})
rekor_bundle = json.dumps({"SignedEntryTimestamp": b64,
                           "Payload": {"body": b64, "integratedTime": 1700000000,
                                       "logIndex": 1, "logID": "ab" * 32}})
write("sigstore", "legacy", sel(5, payload + "\n" + rekor_bundle + "\n"))

write("kubeconfig", "kubeconfig.yaml", """apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: QUJD}
users:
- name: dev
  user:
    token: abc
    exec: {command: aws, args: [eks, get-token], apiVersion: client.authentication.k8s.io/v1}
contexts:
- name: dev
  context: {cluster: dev, user: dev, namespace: shop}
""")

write("operator_spec", "quantity", sel(0, "20Gi"))
write("operator_spec", "duration", sel(1, "1h30m0.5s"))
write("operator_spec", "project", sel(2, json.dumps(
    {"apiVersion": "harbormaster.io/v1alpha1", "kind": "HarborProject",
     "metadata": {"name": "shop", "generation": 2, "uid": "u"},
     "spec": {"preventVulnerable": {"enabled": True, "severity": "critical"}, "autoScan": True,
              "storageQuota": "20Gi", "adoptExisting": True, "deletionPolicy": "Retain"}})))
write("operator_spec", "robot", sel(3, json.dumps(
    {"apiVersion": "harbormaster.io/v1alpha1", "kind": "RobotAccount",
     "metadata": {"name": "shop-puller", "namespace": "harbormaster"},
     "spec": {"project": "shop", "duration": 30, "rotateBefore": "168h",
              "pullSecret": {"name": "harbor-pull",
                             "namespaceSelector": {"matchLabels": {"team": "shop"},
                                                   "matchExpressions": [
                                                       {"key": "env", "operator": "In",
                                                        "values": ["prod"]}]},
                             "serviceAccounts": ["default"]}}})))
write("operator_spec", "credential", sel(4, json.dumps(
    {"version": 2, "active": "b",
     "slots": {"a": {"id": 7, "username": "robot$t+p", "password": "Hm1a", "expiresAt": -1,
                     "createdAt": 1, "checkedGeneration": 1, "retireAt": 5},
               "b": {"id": 8, "username": "robot$t+p.b", "password": "Hm1b", "pending": "Hm1c",
                     "expiresAt": 1900000000, "createdAt": 2, "checkedGeneration": 1}},
     "lastRotation": "2027-01-15T08:00:00Z", "rotateRequest": "r1"})))
write("manifest", "helm-template", """---
# Source: shop/templates/service.yaml
apiVersion: v1
kind: Service
metadata: {name: web}
---
# Source: shop/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      initContainers: [{name: migrate, image: "harbor.example.com/shop/migrate:2"}]
      containers: [{name: web, image: "harbor.example.com/shop/web@%s"}]
---
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {env: production}}
""" % D64)
write("manifest", "json-list", json.dumps(
    {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"generateName": "nightly-"},
         "spec": {"jobTemplate": {"spec": {"template": {"spec": {
             "containers": [{"name": "job", "image": "busybox:1"}]}}}}}},
        pod]}))
write("manifest", "aliases", "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\nkind: Pod\napiVersion: v1\n")
