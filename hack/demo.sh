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
cmake --build build --parallel "$(nproc)" --target harbormaster >/dev/null
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
echo "==> Metrics (GET /metrics)"
curl -s --cacert "$work/tls.crt" "https://127.0.0.1:$port/metrics" \
  | grep -E '^harbormaster_admission_requests_total' | sed 's/^/  /'

echo
echo "==> One decision as logged (JSON, one line per decision)"
grep -m1 '"decision":"denied"' "$work/webhook.log" | sed 's/^/  /'
echo
echo "Done. Stopping the webhook (SIGTERM: it drains connections and exits)."
