#!/usr/bin/env bash
# Drives POST /validate over TLS with keep-alive at increasing concurrency (wrk, one thread per
# core) and writes requests/s and p50/p99/p99.9 latency to docs/benchmarks.md.
#   hack/bench/run.sh [seconds-per-step]
# The load generator shares the machine with the webhook; numbers are for the whole box.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
duration=${1:-10}
samples="$root/../shared/admission-samples"

hack/install-deps.sh >/dev/null
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DHM_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench --parallel "$(nproc)" >/dev/null
bin="$root/build-bench/bin/harbormaster"

# shellcheck source=hack/lib.sh
source hack/lib.sh
hm_make_cert
hm_start_webhook "$bin" hack/bench/policy-digest.yaml
port=$HM_PORT

run() {  # run CONNECTIONS BODY-FILE
  local threads
  threads=$(( $1 < $(nproc) ? $1 : $(nproc) ))
  HM_BENCH_BODY=$2 wrk -t "$threads" -c "$1" -d "${duration}s" --timeout 10s \
    -s hack/bench/review.lua "https://127.0.0.1:$port" | grep '^RESULT'
}

# Warm up connections, caches and the allocator.
run 8 "$samples/01-Pod-CREATE.json" >/dev/null

rows=""
for body in 01-Pod-CREATE 02-Deployment-CREATE; do
  for c in 1 8 32 64 128 256; do
    line=$(run "$c" "$samples/$body.json")
    echo "$body c=$c $line"
    eval "$(sed 's/^RESULT //' <<<"$line")"
    rows+="| $body | $c | $rps | $p50_ms | $p99_ms | $p999_ms | $errors |"$'\n'
  done
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
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
Reading the table:

- Latency is wrk's, measured from the client. Once the two shared cores are saturated (from about
  8–32 connections) throughput stays flat and latency grows with the connection count: it is
  queueing (connections ÷ throughput), not slower decisions. A kube-apiserver keeps a handful of
  connections per webhook endpoint, which is the left part of the table.
- The target for a digest-only policy was ≥ 5,000 reviews/s with p99 under 5 ms on two cores;
  compare the rows with 1 and 8 connections.
- History: before \`TCP_NODELAY\` was set on accepted sockets, p99.9 was about 37 ms at every
  concurrency — Nagle's algorithm held a response's last TLS record until the client's delayed
  ACK. The server-side time per decision is exported as \`harbormaster_admission_duration_seconds\`
  (typically 0.1–0.3 ms including the log line).
MD
echo "wrote docs/benchmarks.md"
