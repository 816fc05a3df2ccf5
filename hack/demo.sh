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
cmake --build build --parallel "$(nproc)" --target harbormaster harbor-sim kube-sim >/dev/null
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
echo "==> Harbor: a real registry behind harbor-sim, images pushed with skopeo"
first_port=$port
first_log=$HM_LOG
hm_start_harbor build/bin/harbor-sim
harbor=$HM_HARBOR
hm_harbor_project shop
clean=$(hm_push_image shop/web 1.4 "web 1.4")
vulnerable=$(hm_push_image shop/api 2.0 "api 2.0")
pending=$(hm_push_image shop/worker 3.1 "worker 3.1")
unscanned=$(hm_push_image shop/cron 1.0 "cron 1.0")
hm_set_scan "$clean" Success '[{"id":"CVE-2024-0003","package":"zlib","version":"1.2.13","fix_version":"","severity":"Low"}]'
hm_set_scan "$vulnerable" Success '[{"id":"CVE-2024-0001","package":"openssl","version":"3.0.1","fix_version":"3.0.9","severity":"High"},{"id":"CVE-2024-0002","package":"curl","version":"8.0.1","fix_version":"8.4.0","severity":"Critical"}]'
hm_set_scan "$pending" Running
echo "  $harbor/shop/web:1.4     $clean  scanned: 1 Low"
echo "  $harbor/shop/api:2.0     $vulnerable  scanned: 1 High, 1 Critical"
echo "  $harbor/shop/worker:3.1  $pending  scan running"
echo "  $harbor/shop/cron:1.0    $unscanned  never scanned"

echo
echo "==> harbormaster check --harbor-url http://$harbor (digest resolved, scan read)"
cat >"$work/scan-policy.yaml" <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: scanned}
spec:
  match: {namespaces: [shop]}
  digest: Optional
  vulnerabilities:
    severity: High
    notScanned: ScanAndDeny
    pending: Deny
    harborUnreachable: Deny
YAML
echo "admin:Harbor12345" >"$work/harbor-credentials"
set +e
"$bin" check --policy "$work/scan-policy.yaml" --namespace shop --harbor-url "http://$harbor" \
  --harbor-credentials-file "$work/harbor-credentials" "$harbor/shop/web:1.4" "$harbor/shop/api:2.0" \
  | sed 's/^/  /'

echo
echo "==> harbormaster check in a CI job: manifests on stdin, Harbor from GitLab's HARBOR_* variables,"
echo "    a JUnit report (docs/ci.md)"
cat >"$work/rendered.yaml" <<YAML
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: [{name: web, image: "$harbor/shop/web:1.4"}, {name: api, image: "$harbor/shop/api:2.0"}]
YAML
HARBOR_URL="http://$harbor" HARBOR_HOST="$harbor" HARBOR_USERNAME=admin HARBOR_PASSWORD=Harbor12345 \
  "$bin" check --policy "$work/scan-policy.yaml" --namespace shop -f - --output junit \
  <"$work/rendered.yaml" >"$work/report.xml"
echo "  (exit status $?; report.xml:)"
grep -E '<testcase|<failure' "$work/report.xml" \
  | sed -E 's/^ +/  /; s/(message="[^"]{110})[^"]+"/\1…"/; s/(<failure[^>]*>).*/\1/'
set -e

echo
echo "==> The scan gate in the webhook: severity High, unscanned images are sent for scanning"
hm_start_webhook "$bin" "$work/scan-policy.yaml" --harbor-url "http://$harbor" \
  --harbor-credentials-file "$work/harbor-credentials"
port=$HM_PORT
pod() { jq -c --arg image "$1" '.request.object.spec.containers[0].image = $image' "$samples/01-Pod-CREATE.json"; }
review "$(pod "$harbor/shop/web:1.4")"    "kubectl run web --image=$harbor/shop/web:1.4"
review "$(pod "$harbor/shop/api:2.0")"    "kubectl run api --image=$harbor/shop/api:2.0"
review "$(pod "$harbor/shop/worker:3.1")" "kubectl run worker --image=$harbor/shop/worker:3.1"
review "$(pod "$harbor/shop/cron:1.0")"   "kubectl run cron --image=$harbor/shop/cron:1.0"
port=$first_port

echo
echo "==> Cosign signatures: a key made with openssl, one image signed in cosign's layout, one not"
hm_signing_key release
hm_signing_key stranger
signed=$(hm_push_image shop/payments 1.0 "payments 1.0")
unsigned=$(hm_push_image shop/ledger 1.0 "ledger 1.0")
foreign=$(hm_push_image shop/reports 1.0 "reports 1.0")
hm_cosign_sign shop/payments "$signed" release
hm_cosign_sign shop/reports "$foreign" stranger
echo "  $harbor/shop/payments:1.0  signed with release.pub (cosign .sig layout)"
echo "  $harbor/shop/ledger:1.0    not signed"
echo "  $harbor/shop/reports:1.0   signed with another key"
cat >"$work/signature-policy.yaml" <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: signed}
spec:
  match: {namespaces: [shop]}
  digest: Optional
  signatures:
    tlog: Skip            # signed without Rekor (cosign sign --tlog-upload=false)
    attestors:
      - {name: release, keys: [$work/release.pub]}
YAML
hm_start_webhook "$bin" "$work/signature-policy.yaml" --harbor-url "http://$harbor" \
  --harbor-credentials-file "$work/harbor-credentials"
port=$HM_PORT
review "$(pod "$harbor/shop/payments:1.0")" "kubectl run payments --image=$harbor/shop/payments:1.0"
review "$(pod "$harbor/shop/ledger:1.0")"   "kubectl run ledger --image=$harbor/shop/ledger:1.0"
review "$(pod "$harbor/shop/reports:1.0")"  "kubectl run reports --image=$harbor/shop/reports:1.0"
port=$first_port

echo
echo "==> digest: Pin: Pods run the digest judged; Deployments keep their tags (POST /mutate)"
cat >"$work/pin-policy.yaml" <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: pinned}
spec:
  match: {namespaces: [shop]}
  digest: Pin
  vulnerabilities: {severity: High}
YAML
hm_start_webhook "$bin" "$work/pin-policy.yaml" --harbor-url "http://$harbor" \
  --harbor-credentials-file "$work/harbor-credentials"
port=$HM_PORT
mutate() {  # mutate BODY: the patch (decoded) or the denial
  curl -s --cacert "$work/tls.crt" -H 'Content-Type: application/json' --data-binary "$1" \
    "https://127.0.0.1:$port/mutate?timeout=10s"
}
web_pod=$(pod "$harbor/shop/web:1.4")
res=$(mutate "$web_pod")
echo "  kubectl run web --image=$harbor/shop/web:1.4 → the mutating webhook answers a JSONPatch:"
jq -r '.response.patch' <<<"$res" | base64 -d | jq -c '.[]' | sed 's/^/    /'
patched=$(jq -c --argjson patch "$(jq -r '.response.patch' <<<"$res" | base64 -d)" \
  '.request.object.spec.containers[0].image = ($patch[0].value)' <<<"$web_pod")
review "$patched" "the pinned Pod, as the validating webhook then sees it"
review "$web_pod" "the same Pod had it not been pinned (mutating webhook skipped)"
deploy=$(jq -c --arg image "$harbor/shop/web:1.4" '.request.namespace = "shop"
  | .request.object.spec.template.spec.containers[0].image = $image' "$samples/02-Deployment-CREATE.json")
echo "  kubectl create deployment web --image=$harbor/shop/web:1.4 → /mutate patch: $(mutate "$deploy" | jq -r '.response.patch // "none (controllers are never mutated)"')"
review "$deploy" "the Deployment keeps its tag under Pin"
echo "  harbormaster check:"
set +e
"$bin" check --policy "$work/pin-policy.yaml" --namespace shop --harbor-url "http://$harbor" \
  --harbor-credentials-file "$work/harbor-credentials" "$harbor/shop/web:1.4" | sed 's/^/    /'
set -e
port=$first_port

echo
echo "==> The operator: a HarborProject and a RobotAccount applied with kubectl (to kube-sim)"
hm_start_kube build/bin/kube-sim
kc() { KUBECONFIG="$HM_KUBECONFIG" kubectl "$@"; }
kc apply -f crds/ | sed 's/^/  /'
# The PolicyReport CRDs, as the chart installs them with operator.compliance.installCrds=true.
helm template hm deploy/helm/harbormaster --set operator.compliance.installCrds=true \
  --show-only templates/policyreport-crds.yaml | kc apply -f - | sed 's/^/  /'
kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: harbormaster}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop-dev, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop-prod, labels: {team: shop}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: shop-dev}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: shop-prod}
YAML
# What exists in Harbor before the project is declared: the team's OIDC group (Harbor onboards
# it at a member's first login) and the release bot's user.
curl -sf -u admin:Harbor12345 -H 'Content-Type: application/json' -X POST \
  -d '{"group_name":"shop-team","group_type":3}' "http://$harbor/api/v2.0/usergroups" >/dev/null
curl -sf -u admin:Harbor12345 -H 'Content-Type: application/json' -X POST \
  -d '{"username":"shop-release-bot","password":"Release-Bot-1"}' "http://$harbor/api/v2.0/users" >/dev/null
kc apply -f examples/operator.yaml | sed 's/^/  /'
# Harbor's notifications reach the operator at an address it must know before it starts (it
# writes it into Harbor's webhook policy).
HM_OP_LISTEN=127.0.0.1:$(hm_free_port)
events_url="http://$HM_OP_LISTEN/harbor-events"
echo "Bearer demo-events-secret" >"$work/events-secret"
echo "  harbormaster operator --kubeconfig … --harbor-url http://$harbor --namespace harbormaster \\"
echo "    --compliance --harbor-events-secret-file … --notifications-url $events_url"
hm_start_operator "$bin" "http://$harbor" --compliance --harbor-events-secret-file \
  "$work/events-secret" --notifications-url "$events_url"
for _ in $(seq 100); do
  ready=$(kc get robotaccount shop-puller -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
  [ "$ready" = "True" ] && break
  sleep 0.2
done
echo
kc get harborprojects -o custom-columns='HARBORPROJECT:.metadata.name,ID:.status.projectID,ADOPTED:.status.adopted,READY:.status.conditions[?(@.type=="Ready")].reason' | sed 's/^/  /'
kc get robotaccounts -o custom-columns='ROBOTACCOUNT:.metadata.name,ROBOT:.status.robotName,EXPIRES:.status.expiresAt,NAMESPACES:.status.secretNamespaces,READY:.status.conditions[?(@.type=="Ready")].reason' | sed 's/^/  /'
echo
echo "  Pull secrets that appeared by themselves:"
for ns in shop-dev shop-prod; do
  config=$(kc get secret -n "$ns" harbor-pull -o jsonpath='{.data.\.dockerconfigjson}' | base64 -d)
  user=$(jq -r --arg h "$harbor" '.auths[$h].username' <<<"$config")
  pass=$(jq -r --arg h "$harbor" '.auths[$h].password' <<<"$config")
  sa=$(kc get serviceaccount -n "$ns" default -o jsonpath='{.imagePullSecrets[*].name}')
  digest=$(skopeo inspect --tls-verify=false --creds "$user:$pass" --format '{{.Digest}}' \
    "docker://$harbor/shop/web:1.4" 2>&1 || true)
  echo "  $ns/harbor-pull  type kubernetes.io/dockerconfigjson  user $user  (ServiceAccount default: $sa)"
  echo "      skopeo inspect with it: shop/web:1.4 → $digest"
done
kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: shop-staging, labels: {team: shop}}
YAML
for _ in $(seq 50); do
  kc get secret -n shop-staging harbor-pull >/dev/null 2>&1 && break
  sleep 0.1
done
echo
echo "  Project shop as declared (examples/operator.yaml), read back from Harbor:"
for _ in $(seq 100); do
  [ "$(kc get harborproject shop -o jsonpath='{.status.conditions[?(@.type=="Retention")].status}')" = True ] && break
  sleep 0.1
done
kc get harborproject shop -o json | jq -r '.status.conditions[] | select(.type == "Retention" or
  .type == "ImmutableTags" or .type == "Members") | "    \(.type): \(.status) — \(.message)"'
retention_id=$(curl -s -u admin:Harbor12345 "http://$harbor/api/v2.0/projects/shop" | jq -r '.metadata.retention_id')
curl -s -u admin:Harbor12345 "http://$harbor/api/v2.0/retentions/$retention_id" | jq -r '
  "    retention \(.id), cron \(.trigger.settings.cron):",
  (.rules[] | "      \(.template) \(.params[.template] // "") tags \(.tag_selectors[0].decoration) \(.tag_selectors[0].pattern)")'
curl -s -u admin:Harbor12345 "http://$harbor/api/v2.0/projects/shop/immutabletagrules" | jq -r '
  .[] | "    immutable: tags \(.tag_selectors[0].decoration) \(.tag_selectors[0].pattern) in \(.scope_selectors.repository[0].pattern)"'
curl -s -u admin:Harbor12345 "http://$harbor/api/v2.0/projects/shop/members" | jq -r '
  .[] | "    member: \(if .entity_type == "g" then "group" else "user" end) \(.entity_name) as \(.role_name)"'
echo "  A namespace labelled team=shop later gets it too: $(kc get secret -n shop-staging harbor-pull -o name 2>&1)"
kc annotate robotaccount shop-puller harbormaster.io/rotate=demo >/dev/null
for _ in $(seq 100); do
  [ "$(kc get robotaccount shop-puller -o jsonpath='{.status.robotName}')" = 'robot$shop+shop-puller.b' ] && break
  sleep 0.1
done
echo "  Rotated on request (annotation harbormaster.io/rotate): pull secrets now use $(kc get robotaccount shop-puller -o jsonpath='{.status.robotName}')"
for _ in $(seq 100); do
  kc get secret -n ci harbor-ci >/dev/null 2>&1 && break
  sleep 0.1
done
ci_user=$(kc get secret -n ci harbor-ci -o jsonpath='{.data.username}' | base64 -d)
ci_pass=$(kc get secret -n ci harbor-ci -o jsonpath='{.data.password}' | base64 -d)
echo "  CI robot shop-ci (level System, projects shop-staging and shop): Secret ci/harbor-ci holds $ci_user"
for project in shop-staging shop; do
  if skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false \
    --src-creds "$ci_user:$ci_pass" --dest-creds "$ci_user:$ci_pass" \
    "docker://$harbor/shop/web:1.4" "docker://$harbor/$project/web:ci" >/dev/null 2>&1; then
    echo "      skopeo copy shop/web:1.4 → $project/web:ci with it: pushed"
  else
    echo "      skopeo copy shop/web:1.4 → $project/web:ci with it: refused"
  fi
done

echo
echo "==> Policies and exceptions as cluster resources (kubectl apply; the operator writes status)"
kc apply -f - <<YAML | sed 's/^/  /'
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: shop-pinned}
spec:
  mode: Enforce
  match:
    namespaceSelector: {matchLabels: {team: shop}}
  digest: Require
  exceptionPolicy: {allowed: true, maxDuration: 168h}
YAML
cip_columns='CLUSTERIMAGEPOLICY:.metadata.name,MODE:.spec.mode,CHECKS:.status.checks,READY:.status.conditions[?(@.type=="Ready")].status,MESSAGE:.status.conditions[?(@.type=="Ready")].message'
iex_columns='IMAGEEXCEPTION:.metadata.name,POLICIES:.spec.policies,EXPIRES:.spec.expiresAt,ACTIVE:.status.state,WHY:.status.conditions[?(@.type=="Ready")].message'
wait_for() {  # wait_for COMMAND... : until it succeeds, 10 s at most
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}
cip_ready() { [ "$(kc get cip shop-pinned -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = "$1" ]; }
wait_for cip_ready True
kc get cip -o custom-columns="$cip_columns" | sed 's/^/  /'
echo "  harbormaster webhook --cluster-policies=true --kubeconfig … (reads them through informers)"
hm_start_webhook "$bin" "" --cluster-policies=true --kubeconfig "$HM_KUBECONFIG" \
  --namespace harbormaster
port=$HM_PORT
in_ns() { jq -c --arg ns "$1" '.request.namespace = $ns | .request.object.metadata.namespace = $ns' "$samples/01-Pod-CREATE.json"; }
review "$(in_ns shop-dev)" "kubectl -n shop-dev run web --image=harbor.example.com/shop/web:1.4"
review "$(in_ns default)"  "kubectl -n default run web --image=harbor.example.com/shop/web:1.4 (no team=shop label)"
ends=$(date -u -d '+8 seconds' +%Y-%m-%dT%H:%M:%SZ)
long=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
kc apply -f - <<YAML | sed 's/^/  /'
apiVersion: harbormaster.io/v1alpha1
kind: ImageException
metadata: {name: web-tags, namespace: shop-dev}
spec:
  policies: [shop-pinned]
  images: ["harbor.example.com/shop/web"]
  checks: [digest]
  expiresAt: "$ends"
  reason: "SHOP-12: the dev pipeline pins digests from next sprint"
  owner: team-shop
---
apiVersion: harbormaster.io/v1alpha1
kind: ImageException
metadata: {name: forever, namespace: shop-dev}
spec:
  policies: [shop-pinned]
  images: ["**"]
  checks: [digest]
  expiresAt: "$long"
  reason: "longer than the policy allows"
YAML
iex_state() { [ "$(kc get iex -n shop-dev "$1" -o jsonpath='{.status.state}')" = "$2" ]; }
wait_for iex_state web-tags Active && wait_for iex_state forever Rejected
kc get iex -n shop-dev -o custom-columns="$iex_columns" | sed 's/^/  /'
review "$(in_ns shop-dev)" "kubectl -n shop-dev run web --image=harbor.example.com/shop/web:1.4 (exception web-tags)"
echo "  Waiting for web-tags to end at $ends, with nobody touching it …"
for _ in $(seq 150); do
  [ "$(curl -s --cacert "$work/tls.crt" -H 'Content-Type: application/json' --data-binary "$(in_ns shop-dev)" \
    "https://127.0.0.1:$port/validate?timeout=10s" | jq -r .response.allowed)" = false ] && break
  sleep 0.1
done
review "$(in_ns shop-dev)" "the same Pod after $ends"
wait_for iex_state web-tags Expired
kc get iex -n shop-dev web-tags -o custom-columns="$iex_columns" | sed 's/^/  /'
echo "  A typo the API server cannot see (a bad regular expression) keeps the last valid generation:"
kc apply -f - >/dev/null <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: shop-pinned}
spec:
  mode: Warn
  match:
    namespaceSelector: {matchLabels: {team: shop}}
  signatures:
    attestors:
      - {name: ci, keyless: {trustedRoot: /etc/roots/trusted_root.json, identities: [{issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github.com/acme/(.*"}]}}
YAML
wait_for cip_ready False
kc get cip -o custom-columns="$cip_columns" | sed 's/^/  /'
review "$(in_ns shop-dev)" "kubectl -n shop-dev run web (still judged by the last valid generation: Enforce)"
port=$first_port

echo
echo "==> Continuous compliance: what already runs, judged again when Harbor learns more"
echo "  The operator keeps a Harbor webhook policy on project shop (HarborProject status):"
kc get harborproject shop -o custom-columns='HARBORPROJECT:.metadata.name,WEBHOOKPOLICY:.status.webhookPolicyID,NOTIFICATIONS:.status.conditions[?(@.type=="Notifications")].message' | sed 's/^/    /'
curl -s -u admin:Harbor12345 "http://$harbor/api/v2.0/projects/shop/webhook/policies" |
  jq -r '.[] | "    Harbor: policy \(.name), events \(.event_types | join(",")) → \(.targets[0].address)"'
kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: shop-live}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: running-scans}
spec:
  match: {namespaces: [shop-live]}
  digest: Optional
  vulnerabilities: {severity: High}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7c9f
  namespace: shop-live
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: web-uid, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: $harbor/shop/web:1.4}]}
YAML
for i in 1 2 3; do
  kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: web-7c9f-$i
  namespace: shop-live
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7c9f, uid: rs-uid, controller: true}]
spec: {containers: [{name: web, image: $harbor/shop/web:1.4}]}
YAML
  kc patch pod "web-7c9f-$i" -n shop-live --subresource=status --type=merge -p \
    "{\"status\":{\"phase\":\"Running\",\"containerStatuses\":[{\"name\":\"web\",\"imageID\":\"$harbor/shop/web@$clean\"}]}}" >/dev/null
done
echo "  Deployment web in shop-live runs $harbor/shop/web:1.4 (3 Pods; the kubelet reports $clean)"
report() {
  kc get policyreports.v1alpha2.wgpolicyk8s.io harbormaster -n shop-live -o json 2>/dev/null |
    jq -r '.results[]? | select(.rule == "vulnerabilities") | .result' | head -1
}
for _ in $(seq 100); do [ "$(report)" = "pass" ] && break; sleep 0.1; done
echo "  kubectl get policyreport -A (the Pass/Fail columns a real API server prints from the CRD):"
kc get policyreports.v1alpha2.wgpolicyk8s.io -A -o custom-columns='NAMESPACE:.metadata.namespace,NAME:.metadata.name,PASS:.summary.pass,FAIL:.summary.fail,WARN:.summary.warn,ERROR:.summary.error' | sed 's/^/    /'
echo "  Harbor rescans web:1.4 and finds a Critical CVE; Harbor posts SCANNING_COMPLETED to the operator:"
hm_set_scan "$clean" Success '[{"id":"CVE-2026-0042","package":"openssl","version":"3.0.1","fix_version":"3.0.15","severity":"Critical"}]'
rescanned=$(date +%s.%N)
for _ in $(seq 100); do [ "$(report)" = "fail" ] && break; sleep 0.05; done
echo "    the report said fail $(awk -v s="$rescanned" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }') s after the scan finished:"
kc get policyreports.v1alpha2.wgpolicyk8s.io harbormaster -n shop-live -o json |
  jq -r '.results[] | select(.rule == "vulnerabilities") | "    \(.resources[0].kind)/\(.resources[0].name): \(.result) (\(.severity)) \(.message)"'
for _ in $(seq 50); do
  kc get events.v1.events.k8s.io -n shop-live -o json | jq -e '.items[] | select(.reason == "ImageNonCompliant")' >/dev/null 2>&1 && break
  sleep 0.1
done
kc get events.v1.events.k8s.io -n shop-live -o json |
  jq -r '.items[] | select(.reason == "ImageNonCompliant") | "    Event \(.type) \(.reason) on \(.involvedObject.kind // .regarding.kind)/\(.involvedObject.name // .regarding.name): \(.message // .note)"' | head -1

echo
echo "==> The Helm chart: helm template deploy/helm/harbormaster, applied to kube-sim with kubectl"
helm template hm deploy/helm/harbormaster --namespace hm-system >"$work/chart.yaml"
echo "  Rendered: $(grep '^kind:' "$work/chart.yaml" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $3; sep=", "}')"
kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: hm-system}
YAML
kc apply --validate=false -f "$work/chart.yaml" | sed 's/^/  /'
echo "  Starting one webhook replica as the Deployment does (self-managed certificates, policies"
echo "  from the cluster: the chart's ClusterImagePolicy digest-pinning and the ones above):"
mkdir -p "$work/chart-tls"
"$bin" webhook --listen 127.0.0.1:0 --ports-file "$work/chart-webhook.ports" --cluster-policies=true \
  --tls-cert "$work/chart-tls/tls.crt" --tls-key "$work/chart-tls/tls.key" --namespace hm-system \
  --cert-secret hm-harbormaster-webhook-tls --cert-service hm-harbormaster-webhook \
  --cert-webhook-configuration hm-harbormaster-webhook --kubeconfig "$HM_KUBECONFIG" \
  >"$work/chart-webhook.log" 2>&1 &
HM_EXTRA_PIDS+=($!)
chart_port=$(hm_port "$work/chart-webhook.ports")
bundle=
for _ in $(seq 100); do
  bundle=$(kc get validatingwebhookconfiguration hm-harbormaster-webhook \
    -o jsonpath='{.webhooks[0].clientConfig.caBundle}' 2>/dev/null || true)
  [ -n "$bundle" ] && break
  sleep 0.2
done
base64 -d <<<"$bundle" >"$work/chart-bundle.pem"
echo "  Secret hm-system/hm-harbormaster-webhook-tls: $(kc get secret -n hm-system hm-harbormaster-webhook-tls -o json | jq -r '"\(.type), keys: \(.data | keys | join(" "))"')"
echo "  caBundle injected: $(openssl x509 -in "$work/chart-bundle.pem" -noout -subject -enddate | tr '\n' ' ')"
svc=hm-harbormaster-webhook.hm-system.svc
res=$(curl -s --cacert "$work/chart-bundle.pem" --resolve "$svc:$chart_port:127.0.0.1" \
  -H 'Content-Type: application/json' --data-binary @"$samples/01-Pod-CREATE.json" \
  "https://$svc:$chart_port/validate?timeout=10s")
echo "  A review over TLS verified as the API server does (https://$svc, that caBundle):"
echo "    allowed: $(jq -r .response.allowed <<<"$res")  warning: $(jq -r '.response.warnings[0] // "none"' <<<"$res")"

echo
echo "==> Metrics (GET /metrics)"
curl -s --cacert "$work/tls.crt" "https://127.0.0.1:$port/metrics" \
  | grep -E '^harbormaster_admission_requests_total' | sed 's/^/  /'

echo
echo "==> One decision as logged (JSON, one line per decision)"
grep -m1 '"decision":"denied"' "$first_log" | sed 's/^/  /'
echo
echo "Done. Stopping the webhook (SIGTERM: it drains connections and exits)."
