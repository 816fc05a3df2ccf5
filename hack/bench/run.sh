#!/usr/bin/env bash
# Drives POST /validate over TLS with keep-alive at increasing concurrency (wrk, one thread per
# core) and writes requests/s and p50/p99/p99.9 latency to docs/benchmarks.md.
#   hack/bench/run.sh [seconds-per-step]
#   HM_BENCH_ONLY=latency HM_BENCH_BIN=/path/to/harbormaster hack/bench/run.sh 5
#       only the cold-path rows with a slow Harbor, printed (docs untouched): for comparing
#       another build (an older commit) on the same machine.
# The load generator shares the machine with the webhook; numbers are for the whole box.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
duration=${1:-10}
samples="$root/../shared/admission-samples"

hack/install-deps.sh >/dev/null
only=${HM_BENCH_ONLY:-}
bin=${HM_BENCH_BIN:-$root/build-bench/bin/harbormaster}
if [ -z "${HM_BENCH_BIN:-}" ]; then
  cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DHM_BUILD_TESTS=OFF >/dev/null
  cmake --build build-bench --parallel "$(nproc)" --target harbormaster >/dev/null
fi
# The simulators share the cores with the webhook: an optimised build of them, whatever build/
# holds (a Debug harbor-sim halves the cold rows).
cmake -S . -B build-bench-peers -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench-peers --parallel "$(nproc)" --target harbor-sim kube-sim >/dev/null

# shellcheck source=hack/lib.sh
source hack/lib.sh
hm_make_cert
hm_start_webhook "$bin" hack/bench/policy-digest.yaml
port=$HM_PORT

run() {  # run CONNECTIONS BODY-FILE [PATH]
  local threads
  threads=$(( $1 < $(nproc) ? $1 : $(nproc) ))
  HM_BENCH_PATH=${3:-/validate} HM_BENCH_BODY=$2 wrk -t "$threads" -c "$1" -d "${duration}s" --timeout 10s \
    -s hack/bench/review.lua "https://127.0.0.1:$port" | grep '^RESULT'
}

# Warm up connections, caches and the allocator.
run 8 "$samples/01-Pod-CREATE.json" >/dev/null

rows=""
[ "$only" = latency ] || for body in 01-Pod-CREATE 02-Deployment-CREATE; do
  for c in 1 8 32 64 128 256; do
    line=$(run "$c" "$samples/$body.json")
    echo "$body c=$c $line"
    eval "$(sed 's/^RESULT //' <<<"$line")"
    rows+="| $body | $c | $rps | $p50_ms | $p99_ms | $p999_ms | $errors |"$'\n'
  done
done

# The scan gate: a policy with spec.vulnerabilities, the image in harbor-sim (fronting a real
# registry). Cold: the cache is off (TTL 0), so every review asks Harbor; warm: the default TTL.
hm_start_harbor build-bench-peers/bin/harbor-sim
hm_harbor_project shop
digest=$(hm_push_image shop/web 1.4 "bench image")
hm_set_scan "$digest" Success '[{"id":"CVE-2024-0003","package":"zlib","version":"1.2.13","fix_version":"","severity":"Low"}]'
echo "admin:Harbor12345" >"$HM_WORK/harbor-credentials"
cat >"$HM_WORK/scan-policy.yaml" <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: scanned}
spec:
  match: {namespaces: [shop]}
  vulnerabilities: {severity: High}
YAML
jq -c --arg image "$HM_HARBOR/shop/web@$digest" '.request.object.spec.containers[0].image = $image' \
  "$samples/01-Pod-CREATE.json" >"$HM_WORK/scan-pod.json"
# gate_rows VAR LABEL POLICY BODY COLD-FLAGS -- WARM-FLAGS: for a cold and a warm webhook (each
# with Harbor's credentials), wrk at 1, 8 and 32 connections; appends table rows with harbor-sim's
# request count per review to VAR. Not run in a subshell, so the webhooks it starts are cleaned
# up. The first decision must be "allowed": a benchmark of denials by mistake would measure the
# wrong path.
gate_rows() {
  local -n rows=$1
  local label=$2 policy=$3 body=$4
  shift 4
  local cold=() warm=() mode c line calls per
  while [ "$1" != "--" ]; do cold+=("$1"); shift; done
  shift
  warm=("$@")
  for mode in cold warm; do
    local flags=("${warm[@]}")
    [ "$mode" = cold ] && flags=("${cold[@]}")
    hm_start_webhook "$bin" "$policy" --harbor-url "http://$HM_HARBOR" \
      --harbor-credentials-file "$HM_WORK/harbor-credentials" "${flags[@]}"
    port=$HM_PORT
    run 2 "$body" >/dev/null  # warm-up (and fills the cache when warm)
    if ! grep -q '"decision":"allowed"' "$HM_LOG"; then
      echo "$label: the image was not admitted; see $HM_LOG" >&2
      exit 1
    fi
    for c in 1 8 32; do
      curl -sf -X DELETE "http://$HM_HARBOR/sim/stats" >/dev/null
      line=$(run "$c" "$body")
      echo "$label-$mode c=$c $line"
      eval "$(sed 's/^RESULT //' <<<"$line")"
      calls=$(curl -sf "http://$HM_HARBOR/sim/stats" | jq '[.requests[]] | add // 0')
      per=$(awk -v a="$calls" -v b="$requests" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
      rows+="| $mode | $c | $rps | $p50_ms | $p99_ms | $p999_ms | $per | $errors |"$'\n'
    done
  done
}
scan_rows=""
[ "$only" = latency ] || gate_rows scan_rows scan "$HM_WORK/scan-policy.yaml" "$HM_WORK/scan-pod.json" \
  --scan-cache-ttl 0s --scan-negative-ttl 0s -- --scan-cache-ttl 60s --scan-negative-ttl 60s

# The signature gate: the same Pod, its image signed in cosign's .sig layout with a P-256 key
# (policy tlog: Skip). Cold: verdicts are not cached (TTL 0), so every review finds and verifies
# the signature again (two registry calls and one blob); warm: the default 24 h.
hm_signing_key bench-signer
signed=$(hm_push_image shop/signed 1.0 "bench signed image")
hm_cosign_sign shop/signed "$signed" bench-signer
cat >"$HM_WORK/signature-policy.yaml" <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: ImagePolicy
metadata: {name: signed}
spec:
  match: {namespaces: [shop]}
  signatures:
    tlog: Skip
    attestors: [{name: ci, keys: [$HM_WORK/bench-signer.pub]}]
YAML
jq -c --arg image "$HM_HARBOR/shop/signed@$signed" '.request.object.spec.containers[0].image = $image' \
  "$samples/01-Pod-CREATE.json" >"$HM_WORK/signed-pod.json"
sig_rows=""
[ "$only" = latency ] || gate_rows sig_rows signature "$HM_WORK/signature-policy.yaml" \
  "$HM_WORK/signed-pod.json" --signature-cache-ttl 0s --signature-negative-ttl 0s --

# digest: Pin, warm: the mutating webhook pins a Pod naming a tag (the tag's digest and the scan
# facts cached, as after the first Pod of a Deployment), beside the validating webhook judging
# the pinned Pod it returns.
pin_rows=""
if [ "$only" != latency ]; then
  cat >"$HM_WORK/pin-policy.yaml" <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: pinned}
spec:
  match: {namespaces: [shop]}
  digest: Pin
  vulnerabilities: {severity: High}
YAML
  saved_port=$port
  hm_start_webhook "$bin" "$HM_WORK/pin-policy.yaml" --harbor-url "http://$HM_HARBOR" \
    --harbor-credentials-file "$HM_WORK/harbor-credentials"
  port=$HM_PORT
  jq -c --arg image "$HM_HARBOR/shop/web:1.4" '.request.object.spec.containers[0].image = $image' \
    "$samples/01-Pod-CREATE.json" >"$HM_WORK/pin-tag-pod.json"
  jq -c --arg image "$HM_HARBOR/shop/web:1.4@$digest" '.request.object.spec.containers[0].image = $image' \
    "$samples/01-Pod-CREATE.json" >"$HM_WORK/pin-pinned-pod.json"
  for step in "/mutate pin-tag-pod" "/validate pin-pinned-pod"; do
    read -r path body <<<"$step"
    run 8 "$HM_WORK/$body.json" "$path" >/dev/null
    for c in 1 8 32; do
      line=$(run "$c" "$HM_WORK/$body.json" "$path")
      echo "pin $path c=$c $line"
      eval "$(sed 's/^RESULT //' <<<"$line")"
      pin_rows+="| $path | $c | $rps | $p50_ms | $p99_ms | $p999_ms | $errors |"$'\n'
    done
  done
  port=$saved_port
fi

# Policy resources at scale: the webhook reads its policies from kube-sim through informers
# (--cluster-policies=true). One ClusterImagePolicy judges the Pod in namespace shop; then 300
# ClusterImagePolicies and 300 ImagePolicies for other namespaces and 3,000 ImageExceptions (five
# of them in shop, for other images) join it. Same Pod, same verdict; what grows is what each
# review looks through.
scale_rows=""
scale_step() {  # scale_step LABEL
  local rss c line
  rss=$(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$HM_PID/status")
  for c in 1 8 32; do
    line=$(run "$c" "$samples/01-Pod-CREATE.json")
    echo "scale $1 c=$c $line"
    eval "$(sed 's/^RESULT //' <<<"$line")"
    scale_rows+="| $1 | $c | $rps | $p50_ms | $p99_ms | $p999_ms | $rss | $errors |"$'\n'
  done
}
if [ "$only" != latency ]; then
  hm_start_kube build-bench-peers/bin/kube-sim
  kc() { KUBECONFIG="$HM_KUBECONFIG" kubectl "$@"; }
  kc apply -f crds/ >/dev/null
  kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: harbormaster.io/v1alpha1
kind: ClusterImagePolicy
metadata: {name: production}
spec: {match: {namespaces: ["shop"]}, digest: Require, exceptionPolicy: {allowed: true}}
YAML
  saved_port=$port
  hm_start_webhook "$bin" "" --cluster-policies=true --kubeconfig "$HM_KUBECONFIG" \
    --namespace harbormaster
  port=$HM_PORT
  run 8 "$samples/01-Pod-CREATE.json" >/dev/null
  scale_step "1 ClusterImagePolicy"
  hack/bench/policy_scale.py "$HM_WORK/scale.yaml" "$(date -u -d '+7 days' +%Y-%m-%dT%H:%M:%SZ)"
  kc create --validate=false -f "$HM_WORK/scale.yaml" >/dev/null
  # The probe exception is the last object created: once a Pod in tenant-0 is admitted through
  # it, the webhook has seen everything.
  probe=$(jq -c '.request.namespace = "tenant-0" | .request.object.metadata.namespace = "tenant-0"' \
    "$samples/01-Pod-CREATE.json")
  for _ in $(seq 600); do
    [ "$(curl -s --cacert "$HM_WORK/tls.crt" -H 'Content-Type: application/json' --data-binary "$probe" \
      "https://127.0.0.1:$port/validate?timeout=10s" | jq -r .response.allowed)" = true ] && break
    sleep 0.1
  done
  run 8 "$samples/01-Pod-CREATE.json" >/dev/null
  scale_step "+ 300 ClusterImagePolicies, 300 ImagePolicies, 3,000 ImageExceptions"
  port=$saved_port
fi

# The cold path against a slow Harbor: harbor-sim delays every call (Harbor API and registry) by
# $latency ms, as a Harbor across a network would. Nothing is cached between reviews (scan and
# signature TTLs 0; Harbor projects and the system allowlist keep their own cache), so each
# review pays its sequential round trips; one connection, so latency is not queueing.
latency=20
hm_set_scan "$signed" Success '[{"id":"CVE-2024-0003","package":"zlib","version":"1.2.13","fix_version":"","severity":"Low"}]'
# The signature policy plus the scan rule; tags allowed, so the tag row judges the same checks.
sed -e 's/name: signed}/name: both}/' \
  -e 's/^  signatures:/  digest: Optional\n  vulnerabilities: {severity: High}\n  signatures:/' \
  "$HM_WORK/signature-policy.yaml" >"$HM_WORK/both-policy.yaml"
jq -c --arg image "$HM_HARBOR/shop/signed:1.0" '.request.object.spec.containers[0].image = $image' \
  "$samples/01-Pod-CREATE.json" >"$HM_WORK/signed-tag-pod.json"
# latency_row VAR LABEL POLICY BODY: one cold webhook, one connection; appends a table row.
latency_row() {
  local -n out=$1
  local label=$2 policy=$3 body=$4 line calls per
  hm_start_webhook "$bin" "$policy" --harbor-url "http://$HM_HARBOR" \
    --harbor-credentials-file "$HM_WORK/harbor-credentials" --scan-cache-ttl 0s \
    --scan-negative-ttl 0s --signature-cache-ttl 0s --signature-negative-ttl 0s "${cold_tags[@]}"
  port=$HM_PORT
  run 1 "$body" >/dev/null  # warm-up: connections, registry tokens, the project's metadata
  if ! grep -q '"decision":"allowed"' "$HM_LOG"; then
    echo "$label: the image was not admitted; see $HM_LOG" >&2
    exit 1
  fi
  curl -sf -X DELETE "http://$HM_HARBOR/sim/stats" >/dev/null
  line=$(run 1 "$body")
  echo "latency $label $line"
  eval "$(sed 's/^RESULT //' <<<"$line")"
  calls=$(curl -sf "http://$HM_HARBOR/sim/stats" | jq '[.requests[]] | add // 0')
  per=$(awk -v a="$calls" -v b="$requests" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
  out+="| $label | $p50_ms | $p99_ms | $rps | $per | $errors |"$'\n'
}
curl -sf -X POST "http://$HM_HARBOR/sim/faults" \
  -d "{\"path_prefix\":\"/\",\"latency_ms\":$latency,\"count\":-1}" >/dev/null
# Tags resolved afresh on every review too (builds before --tag-digest-ttl resolved every time).
cold_tags=()
if ! "$bin" webhook --tag-digest-ttl 0s 2>&1 | grep -q "unknown flag"; then
  cold_tags=(--tag-digest-ttl 0s)
fi
latency_rows=""
latency_row latency_rows "scan only, by digest" "$HM_WORK/scan-policy.yaml" "$HM_WORK/scan-pod.json"
latency_row latency_rows "signatures only, by digest" "$HM_WORK/signature-policy.yaml" \
  "$HM_WORK/signed-pod.json"
latency_row latency_rows "scan and signatures, by digest" "$HM_WORK/both-policy.yaml" \
  "$HM_WORK/signed-pod.json"
latency_row latency_rows "scan and signatures, by tag" "$HM_WORK/both-policy.yaml" \
  "$HM_WORK/signed-tag-pod.json"
curl -sf -X DELETE "http://$HM_HARBOR/sim/faults" >/dev/null
if [ "$only" = latency ]; then
  printf '%s' "$latency_rows"
  exit 0
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
# hack/bench/operator.sh owns the section from its marker on: keep it.
operator_section=$(sed -n '/<!-- operator:/,$p' docs/benchmarks.md 2>/dev/null || true)
cat > docs/benchmarks.md <<MD
# Benchmarks

Measured by \`hack/bench/run.sh $duration\` on $(date -u +%Y-%m-%d): $(nproc) cores ($cpu),
$(free -g | awk '/Mem:/{print $2}') GiB. The webhook (Release build, $(nproc) I/O threads, JSON decision
logs written to a file) and the load generator (wrk, $(nproc) threads, TLS 1.3, keep-alive) share
the machine, so these are numbers for the whole box. Policy: \`hack/bench/policy-digest.yaml\`
(digest pinning only). Bodies: AdmissionReviews from a real kube-apiserver
(\`shared/admission-samples\`): a Pod that is denied (message built, audit annotations) and a
Deployment that is allowed. Each step runs ${duration} s.

| review | connections | reviews/s | p50 ms | p99 ms | p99.9 ms | errors |
|---|---:|---:|---:|---:|---:|---:|
$rows
## Scan gate

The same Pod, its image in harbor-sim (which fronts Debian's docker-registry and answers Harbor's
API from memory on the same two cores), policy \`spec.vulnerabilities: {severity: High}\`. The
image's scan has one finding, so a lookup is two Harbor calls made together: the artifact and its
vulnerability list (the project and the system allowlist are cached apart). **Cold**: \`--scan-cache-ttl 0s\`, every review misses the cache and asks
Harbor (concurrent reviews of the digest still share one lookup). **Warm**: the default 60 s TTL,
every review after the first is a cache hit. "Harbor calls/review" is harbor-sim's request count
divided by the reviews wrk completed in that step.

| path | connections | reviews/s | p50 ms | p99 ms | p99.9 ms | Harbor calls/review | errors |
|---|---:|---:|---:|---:|---:|---:|---:|
$scan_rows
## Signature gate

The same Pod, its image in harbor-sim signed in cosign's \`.sig\` layout with a P-256 key, policy
\`spec.signatures\` with one key attestor (\`tlog: Skip\`). A lookup is the referrers API and the
\`.sig\` manifest together, then its payload blob, then an ECDSA verification. **Cold**:
\`--signature-cache-ttl 0s\`, every review looks up and verifies again (concurrent reviews of the
digest still share one lookup). **Warm**: the default 24 h, every review after the first is a
cache hit. "Registry calls/review" counts the calls harbor-sim saw (its registry API included).

| path | connections | reviews/s | p50 ms | p99 ms | p99.9 ms | registry calls/review | errors |
|---|---:|---:|---:|---:|---:|---:|---:|
$sig_rows
## Pinning (\`digest: Pin\`)

A policy with \`digest: Pin\` and \`vulnerabilities: {severity: High}\`, the image \`shop/web:1.4\` in
harbor-sim. \`/mutate\`: the Pod names the tag; the webhook resolves it (cached for
\`--tag-digest-ttl\`, 10 s, so one registry call per 10 s), reads the scan facts (cached) and
answers a JSONPatch pinning the image. \`/validate\`: the pinned Pod that patch produces, judged
from the cache. Both warm, as for every Pod of a Deployment after its first.

| path | connections | reviews/s | p50 ms | p99 ms | p99.9 ms | errors |
|---|---:|---:|---:|---:|---:|---:|
$pin_rows
## Policy resources at scale

The webhook with \`--cluster-policies=true\`, reading ClusterImagePolicies, ImagePolicies and
ImageExceptions from kube-sim through informers (\`hack/bench/policy_scale.py\`). The Pod in
namespace \`shop\` is judged by one ClusterImagePolicy (digest pinning, denied) in both rows; in the
second, 300 ClusterImagePolicies and 300 ImagePolicies for other namespaces and 3,000
ImageExceptions (ten per other namespace, five in \`shop\` for other images) are in the caches
too. RSS is the webhook's resident memory before the step.

| policies in the caches | connections | reviews/s | p50 ms | p99 ms | p99.9 ms | RSS MiB | errors |
|---|---:|---:|---:|---:|---:|---:|---:|
$scale_rows
## Cold reviews against a slow Harbor

harbor-sim delays every call — Harbor's API and the registry behind it — by ${latency} ms, as a
Harbor across a network would. Nothing is cached between reviews (scan and signature TTLs 0; the
Harbor project's metadata and the system allowlist keep their own cache, as they do in
production), one connection, the same images as above (the signed one also scanned). A review's
latency is then about ${latency} ms times its sequential round trips. "Calls/review" counts every
call harbor-sim saw.

| review | p50 ms | p99 ms | reviews/s | calls/review | errors |
|---|---:|---:|---:|---:|---:|
$latency_rows
Before the review pipeline (commit 79c392c, the gates called one after the other and each call
inside them in turn; measured the same way on 2026-12-02 with
\`HM_BENCH_ONLY=latency HM_BENCH_BIN=<that build> hack/bench/run.sh 5\`):

| review | p50 ms | p99 ms | reviews/s | calls/review | errors |
|---|---:|---:|---:|---:|---:|
| scan only, by digest | 84.055 | 88.830 | 12 | 4.0 | 0 |
| signatures only, by digest | 68.637 | 70.448 | 15 | 3.0 | 0 |
| scan and signatures, by digest | 153.393 | 161.508 | 6 | 7.2 | 0 |
| scan and signatures, by tag | 173.481 | 182.824 | 6 | 8.4 | 0 |

Then a scan lookup was four calls in a row (project, artifact, vulnerabilities, system allowlist:
with \`--scan-cache-ttl 0s\` the project was not kept either) and a signature lookup three (referrers,
\`.sig\` manifest, payload), and a review under both paid their sum. Now the scan source makes one
round (artifact and vulnerability report together; project and system allowlist cached for 60 s
apart from scan facts), the signature source two (referrers and \`.sig\` manifest together, then
the payload), both run at once, and a tag is resolved once for both (one more round).
Reading the tables:

- Latency is wrk's, measured from the client. Once the two shared cores are saturated (from about
  8–32 connections) throughput stays flat and latency grows with the connection count: it is
  queueing (connections ÷ throughput), not slower decisions. A kube-apiserver keeps a handful of
  connections per webhook endpoint, which is the left part of the table.
- Cold reviews cost the Harbor round trips; coalescing shows as fewer Harbor calls per review
  once connections overlap. Against a real Harbor add its latency per round (the artifact and its
  vulnerability report go out together; see the slow-Harbor table). Warm reviews stay within the
  digest-only numbers: every fact comes from a hash probe under a mutex, taken synchronously, so
  a warm review starts no coroutine and no timer.
- Policy resources at scale: a review checks every policy's namespace selection once (600 string
  or glob comparisons) and only its own namespace's exceptions, so 3,600 objects elsewhere cost
  no measurable time (the issue's aim was at most 2× slower); they cost memory, the informers'
  objects and one merged policy set (the RSS column).
- Cold signature reviews cost three registry calls in two rounds (the referrers API and the
  \`.sig\` manifest together, then its payload blob). Through harbor-sim and Debian's docker-registry each takes about
  3 ms on this box (curl alone measures the same), which is most of the cold latency; the
  verification itself (JSON, base64, one ECDSA P-256 check) is a small part. Signature verdicts
  are cached for 24 h, so the warm rows are what a cluster sees after a digest's first review.
- The target for a digest-only policy was ≥ 5,000 reviews/s with p99 under 5 ms on two cores;
  compare the rows with 1 and 8 connections.
- History: before \`TCP_NODELAY\` was set on accepted sockets, p99.9 was about 37 ms at every
  concurrency — Nagle's algorithm held a response's last TLS record until the client's delayed
  ACK. The server-side time per decision is exported as \`harbormaster_admission_duration_seconds\`
  (typically 0.1–0.3 ms including the log line).
MD
if [ -n "$operator_section" ]; then
  printf '\n%s\n' "$operator_section" >>docs/benchmarks.md
fi
echo "wrote docs/benchmarks.md"
