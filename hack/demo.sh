#!/usr/bin/env bash
# The README's first command: builds Harbormaster, starts the webhook over TLS with a
# self-signed certificate and examples/policy.yaml, sends it AdmissionReviews as a real
# kube-apiserver sends them, and prints the decisions.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
samples="$root/../shared/admission-samples"

hack/install-deps.sh >/dev/null
echo "==> Building (build/)"
cmake -S . -B build -G Ninja >/dev/null
cmake --build build --parallel "$(nproc)" --target harbormaster harbor-sim >/dev/null
bin="$root/build/bin/harbormaster"

# shellcheck source=hack/lib.sh
source hack/lib.sh
work=$HM_WORK

echo "==> Creating a self-signed serving certificate"
hm_make_cert

echo "==> Starting: harbormaster webhook --listen 127.0.0.1:0 --policy examples/policy.yaml"
hm_start_webhook "$bin" examples/policy.yaml --namespace harbormaster
port=$HM_PORT

if [ -t 1 ]; then green=$'\033[32m'; red=$'\033[31m'; plain=$'\033[0m'; else green=; red=; plain=; fi

review() {  # review FILE-or-JSON LABEL
  local body=$1 label=$2
  local res
  res=$(curl -s --cacert "$work/tls.crt" -H 'Content-Type: application/json' \
    --data-binary "$body" "https://127.0.0.1:$port/validate?timeout=10s")
  local allowed msg
  allowed=$(jq -r '.response.allowed' <<<"$res")
  if [ "$allowed" = "true" ]; then
    printf '\n  %sALLOWED%s  %s\n' "$green" "$plain" "$label"
  else
    printf '\n  %sDENIED%s   %s\n' "$red" "$plain" "$label"
    msg=$(jq -r '.response.status.message' <<<"$res")
    printf '           %s\n' "$msg" | fold -s -w 110 | sed '2,$s/^/           /'
  fi
  jq -r '.response.warnings[]? | "           warning: " + .' <<<"$res"
}

echo
echo "==> AdmissionReviews from a real kube-apiserver (namespace shop)"
review @"$samples/01-Pod-CREATE.json"        "kubectl run web --image=harbor.example.com/shop/web:1.4"
review @"$samples/02-Deployment-CREATE.json" "kubectl create deployment api --image=harbor.example.com/shop/api@sha256:abab…"
review @"$samples/03-Deployment-UPDATE.json" "kubectl set image deployment/api api=harbor.example.com/shop/api:2.0"
scaled=$(jq -c '.request.oldObject.spec.template.spec.containers[0].image = "harbor.example.com/shop/api:2.0"
                | .request.object.spec.replicas = 5' "$samples/03-Deployment-UPDATE.json")
review "$scaled" "kubectl scale (UPDATE, images unchanged) of a Deployment already running :2.0"
review @"$samples/04-Job-CREATE.json"        "kubectl create job once (covered by exception BATCH-7)"
review @"$samples/05-CronJob-CREATE.json"    "kubectl create cronjob nightly (covered by exception BATCH-7)"
review @"$samples/06-Deployment-CREATE.json" "kubectl create deployment dry --image=nginx:1.25 --dry-run=server"
review @"$samples/07-StatefulSet-CREATE.json" "StatefulSet db with init container busybox:1.36"
review @"$samples/08-DaemonSet-CREATE.json"  "DaemonSet agent (its exception OPS-123 expired)"
review @"$samples/09-Pod-UPDATE-ephemeralcontainers.json" "kubectl debug web --image=busybox:1.36"
prod=$(jq -c '.request.namespace = "prod-eu" | .request.object.metadata.namespace = "prod-eu"
              | .request.object.spec.template.spec.containers[0].image = "quay.io/acme/api:2.0"' \
       "$samples/02-Deployment-CREATE.json")
review "$prod" "Deployment in prod-eu with quay.io/acme/api:2.0 (registry not trusted)"

echo
echo "==> A malformed body gets HTTP 400 and the server stays up"
printf '  '; curl -s --cacert "$work/tls.crt" --data-binary '{"kind":"nope"}' \
  -w '  (HTTP %{http_code})\n' "https://127.0.0.1:$port/validate"

echo
echo "==> The same engine from a shell: harbormaster check"
set +e
"$bin" check --policy examples/policy.yaml --namespace shop \
  "harbor.example.com/shop/web:1.4" \
  "harbor.example.com/shop/web@sha256:$(printf 'ab%.0s' $(seq 32))" | sed 's/^/  /'
echo "  (exit status $?)"
set -e

echo
echo "==> Harbor: a real registry behind harbor-sim, an image pushed with skopeo"
sim_port=$(hm_free_port)
reg_port=$(hm_free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=harbor-token-issuer -keyout "$work/token.key" -out "$work/token.crt" 2>/dev/null
cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}}
http: {addr: 127.0.0.1:$reg_port}
auth:
  token:
    realm: http://127.0.0.1:$sim_port/service/token
    service: harbor-registry
    issuer: harbor-token-issuer
    rootcertbundle: $work/token.crt
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
HM_EXTRA_PIDS+=($!)
build/bin/harbor-sim --listen "127.0.0.1:$sim_port" --admin-password Harbor12345 \
  --registry "http://127.0.0.1:$reg_port" --token-cert "$work/token.crt" \
  --token-key "$work/token.key" >"$work/sim.log" 2>&1 &
HM_EXTRA_PIDS+=($!)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$sim_port/api/v2.0/ping" >/dev/null 2>&1 && break
  sleep 0.1
done
harbor="127.0.0.1:$sim_port"
curl -sf -u admin:Harbor12345 -H 'Content-Type: application/json' \
  -d '{"project_name":"shop","metadata":{"public":"false"}}' "http://$harbor/api/v2.0/projects"
# An OCI layout made by hand: one tar layer, a config, a manifest.
layout="$work/layout"
mkdir -p "$layout/blobs/sha256" "$work/rootfs"
echo "hello from the demo" >"$work/rootfs/hello.txt"
tar -C "$work/rootfs" -cf "$work/layer.tar" hello.txt
blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$layout/blobs/sha256/$d"; echo "$d"; }
layer=$(blob "$work/layer.tar")
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' \
  "$layer" >"$work/config.json"
config=$(blob "$work/config.json")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
  "$config" "$(stat -c%s "$work/config.json")" "$layer" "$(stat -c%s "$work/layer.tar")" >"$work/manifest.json"
manifest=$(blob "$work/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"1.4"}}]}' \
  "$manifest" "$(stat -c%s "$work/manifest.json")" >"$layout/index.json"
skopeo copy --quiet --dest-tls-verify=false --preserve-digests --dest-creds admin:Harbor12345 \
  "oci:$layout:1.4" "docker://$harbor/shop/web:1.4"
echo "  pushed $harbor/shop/web:1.4 (sha256:$manifest)"
curl -sf -o /dev/null -H 'Content-Type: application/json' "http://$harbor/sim/scan" -d \
  "{\"repository\":\"shop/web\",\"digest\":\"sha256:$manifest\",\"status\":\"Success\",\"vulnerabilities\":[{\"id\":\"CVE-2024-0001\",\"package\":\"openssl\",\"version\":\"3.0.1\",\"fix_version\":\"3.0.9\",\"severity\":\"High\"}]}"
echo "  harbor-sim holds a scan report for it (one High finding)"
echo
echo "==> harbormaster check --harbor-url http://$harbor: digest resolved, scan overview read"
set +e
HARBOR_USERNAME=admin HARBOR_PASSWORD=Harbor12345 "$bin" check --policy hack/bench/policy-digest.yaml \
  --namespace shop --harbor-url "http://$harbor" "$harbor/shop/web:1.4" | sed 's/^/  /'
set -e

echo
echo "==> Metrics (GET /metrics)"
curl -s --cacert "$work/tls.crt" "https://127.0.0.1:$port/metrics" \
  | grep -E '^harbormaster_admission_requests_total' | sed 's/^/  /'

echo
echo "==> One decision as logged (JSON, one line per decision)"
grep -m1 '"decision":"denied"' "$work/webhook.log" | sed 's/^/  /'
echo
echo "Done. Stopping the webhook (SIGTERM: it drains connections and exits)."
