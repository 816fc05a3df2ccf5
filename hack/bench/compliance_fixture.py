#!/usr/bin/env python3
"""The compliance benchmark's fixture (hack/bench/compliance.sh).

  compliance_fixture.py push HARBOR DIGESTS OUT.json
      pushes DIGESTS distinct images (one shared layer, manifests that differ by an
      annotation) to bench/app through harbor-sim's registry API as admin, gives each a Success
      scan (every tenth with a High finding), and writes their digests to OUT.json.
  compliance_fixture.py objects HARBOR DIGESTS.json PODS NAMESPACES OUT.yaml
      writes NAMESPACES namespaces, ten ReplicaSets each (owned by a Deployment) and PODS Pods
      spread over them, each Pod pinned to one of the digests (ReplicaSet i runs digest i mod N),
      plus the ClusterImagePolicy that judges their scans.
"""
import base64
import hashlib
import json
import sys
import urllib.request

AUTH = "Basic " + base64.b64encode(b"admin:Harbor12345").decode()


def call(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as r:
        return r.status, dict(r.headers), r.read()


def push(harbor, count, out):
    base = f"http://{harbor}"
    call("POST", f"{base}/api/v2.0/projects",
         json.dumps({"project_name": "bench", "metadata": {"public": "false"}}).encode(),
         {"Authorization": AUTH, "Content-Type": "application/json"})
    _, _, body = call("GET", f"{base}/service/token?service=harbor-registry"
                      "&scope=repository:bench/app:pull,push", headers={"Authorization": AUTH})
    bearer = {"Authorization": "Bearer " + json.loads(body)["token"]}

    def blob(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        # The registry API's two steps: open an upload, then PUT the bytes to its Location.
        _, headers, _ = call("POST", f"{base}/v2/bench/app/blobs/uploads/", b"", bearer)
        location = headers["Location"]
        if location.startswith("/"):
            location = base + location
        sep = "&" if "?" in location else "?"
        call("PUT", f"{location}{sep}digest={digest}", data,
             dict(bearer, **{"Content-Type": "application/octet-stream"}))
        return {"mediaType": "", "digest": digest, "size": len(data)}

    config = blob(json.dumps({"architecture": "amd64", "os": "linux",
                              "rootfs": {"type": "layers", "diff_ids": []}}).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    layer = blob(b"compliance bench layer")
    layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar"
    digests = []
    for i in range(count):
        manifest = json.dumps({"schemaVersion": 2,
                               "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": config, "layers": [layer],
                               "annotations": {"bench.index": str(i)}}).encode()
        _, headers, _ = call("PUT", f"{base}/v2/bench/app/manifests/v{i}", manifest,
                             dict(bearer, **{"Content-Type":
                                             "application/vnd.oci.image.manifest.v1+json"}))
        digest = headers.get("Docker-Content-Digest")
        digests.append(digest)
        vulns = [] if i % 10 else [{"id": f"CVE-2026-{i}", "package": "zlib", "version": "1",
                                    "fix_version": "2", "severity": "High"}]
        call("POST", f"{base}/sim/scan",
             json.dumps({"repository": "bench/app", "digest": digest, "status": "Success",
                         "vulnerabilities": vulns}).encode(), {"Content-Type": "application/json"})
    with open(out, "w") as f:
        json.dump(digests, f)


def objects(harbor, digests_file, pods, namespaces, out):
    digests = json.load(open(digests_file))
    docs = [{"apiVersion": "harbormaster.io/v1alpha1", "kind": "ClusterImagePolicy",
             "metadata": {"name": "bench-scans"},
             "spec": {"match": {"namespaces": ["bench-*"]}, "digest": "Optional",
                      "vulnerabilities": {"severity": "High"}}}]
    per_ns = pods // namespaces
    rs_per_ns = 10
    for n in range(namespaces):
        ns = f"bench-{n}"
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for r in range(rs_per_ns):
            index = n * rs_per_ns + r
            image = f"{harbor}/bench/app@{digests[index % len(digests)]}"
            rs = f"app-{r}-5d4f"
            docs.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                         "metadata": {"name": rs, "namespace": ns, "ownerReferences": [
                             {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"app-{r}",
                              "uid": f"{ns}-app-{r}", "controller": True}]},
                         "spec": {"selector": {"matchLabels": {"app": f"app-{r}"}},
                                  "template": {"metadata": {"labels": {"app": f"app-{r}"}},
                                               "spec": {"containers": [{"name": "app",
                                                                        "image": image}]}}}})
            for p in range(per_ns // rs_per_ns):
                docs.append({"apiVersion": "v1", "kind": "Pod",
                             "metadata": {"name": f"{rs}-{p}", "namespace": ns,
                                          "labels": {"app": f"app-{r}"},
                                          "ownerReferences": [
                                              {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                               "name": rs, "uid": f"{ns}-{rs}",
                                               "controller": True}]},
                             "spec": {"containers": [{"name": "app", "image": image}]}})
    with open(out, "w") as f:
        for d in docs:
            f.write("---\n" + json.dumps(d) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "push":
        push(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        objects(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
