# Shared by hack/demo.sh and hack/bench/run.sh: a scratch directory, a self-signed serving
# certificate, and a webhook started on a free loopback port. Source it; it sets
# HM_WORK, HM_PID and HM_PORT, and removes everything on exit.

HM_WORK=$(mktemp -d)
HM_PID=""
HM_PORT=""
HM_EXTRA_PIDS=()

hm_cleanup() {
  for p in "${HM_EXTRA_PIDS[@]}"; do
    kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  if [ -n "$HM_PID" ]; then
    kill "$HM_PID" 2>/dev/null && wait "$HM_PID" 2>/dev/null || true
  fi
  rm -rf "$HM_WORK"
}
trap hm_cleanup EXIT

# hm_make_cert: writes $HM_WORK/tls.crt and tls.key (P-256, valid for localhost/127.0.0.1).
hm_make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=harbormaster.harbormaster.svc \
    -addext "subjectAltName=DNS:harbormaster.harbormaster.svc,DNS:localhost,IP:127.0.0.1" \
    -keyout "$HM_WORK/tls.key" -out "$HM_WORK/tls.crt" 2>/dev/null
}

# hm_start_webhook BINARY POLICY [EXTRA FLAGS...]: starts the webhook on 127.0.0.1:0, waits
# until /readyz answers and sets HM_PORT from its "Started webhook" log line.
hm_start_webhook() {
  local bin=$1 policy=$2
  shift 2
  "$bin" webhook --listen 127.0.0.1:0 --tls-cert "$HM_WORK/tls.crt" --tls-key "$HM_WORK/tls.key" \
    --policy "$policy" "$@" >"$HM_WORK/webhook.log" 2>&1 &
  HM_PID=$!
  for _ in $(seq 100); do
    HM_PORT=$(grep -m1 '"msg":"Started webhook"' "$HM_WORK/webhook.log" 2>/dev/null |
      jq -r '.listen' | sed 's/.*://') || true
    if [ -n "$HM_PORT" ] &&
      curl -sf --cacert "$HM_WORK/tls.crt" "https://127.0.0.1:$HM_PORT/readyz" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "the webhook did not start:" >&2
  cat "$HM_WORK/webhook.log" >&2
  return 1
}

# hm_free_port: a free loopback TCP port (bound and released by the kernel's choice).
hm_free_port() {
  local port
  while :; do
    port=$(( (RANDOM % 20000) + 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}
