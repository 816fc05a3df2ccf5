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
  [ -n "${HM_KEEP_WORK:-}" ] && cp -r "$HM_WORK" "$HM_KEEP_WORK"; rm -rf "$HM_WORK"
}
trap hm_cleanup EXIT

# hm_make_cert: writes $HM_WORK/tls.crt and tls.key (P-256, valid for localhost/127.0.0.1).
hm_make_cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=harbormaster.harbormaster.svc \
    -addext "subjectAltName=DNS:harbormaster.harbormaster.svc,DNS:localhost,IP:127.0.0.1" \
    -keyout "$HM_WORK/tls.key" -out "$HM_WORK/tls.crt" 2>/dev/null
}

# hm_start_webhook BINARY POLICY [EXTRA FLAGS...]: starts a webhook on 127.0.0.1:0, waits
# until /readyz answers and sets HM_PORT (from its "Started webhook" log line), HM_PID and
# HM_LOG. A webhook started earlier keeps running until exit.
hm_start_webhook() {
  local bin=$1 policy=$2
  shift 2
  if [ -n "$HM_PID" ]; then HM_EXTRA_PIDS+=("$HM_PID"); fi
  HM_LOG="$HM_WORK/webhook-${#HM_EXTRA_PIDS[@]}.log"
  # An empty policy file: policies come from the cluster only (--cluster-policies=true).
  local policyFlag=()
  [ -n "$policy" ] && policyFlag=(--policy "$policy")
  "$bin" webhook --listen 127.0.0.1:0 --tls-cert "$HM_WORK/tls.crt" --tls-key "$HM_WORK/tls.key" \
    "${policyFlag[@]}" "$@" >"$HM_LOG" 2>&1 &
  HM_PID=$!
  for _ in $(seq 100); do
    HM_PORT=$(grep -m1 '"msg":"Started webhook"' "$HM_LOG" 2>/dev/null |
      jq -r '.listen' | sed 's/.*://') || true
    if [ -n "$HM_PORT" ] &&
      curl -sf --cacert "$HM_WORK/tls.crt" "https://127.0.0.1:$HM_PORT/readyz" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "the webhook did not start:" >&2
  cat "$HM_LOG" >&2
  return 1
}

# hm_wait_port FILE SED-SCRIPT: the first port the sed script prints from FILE, once it does;
# fails after 20 s. No racing for free ports: processes listen on :0 and say where.
hm_wait_port() {
  local port
  for _ in $(seq 200); do
    port=$(sed -n "$2" "$1" 2>/dev/null | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  echo "no port in $1" >&2
  return 1
}

# hm_port FILE [KEY]: the port a process started with --listen 127.0.0.1:0 --ports-file FILE
# bound (KEY listen by default).
hm_port() { hm_wait_port "$1" "s/^${2:-listen}=//p"; }

# hm_logged_port LOG: the port Debian's docker-registry (log level info) says it listens on.
hm_logged_port() { hm_wait_port "$1" 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p'; }

# hm_start_harbor SIM_BINARY: Debian's docker-registry with token auth, fronted by harbor-sim
# (admin password Harbor12345) on loopback ports they pick; sets HM_HARBOR (host:port).
hm_start_harbor() {
  local sim=$1 sim_port reg_port
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=harbor-token-issuer -keyout "$HM_WORK/token.key" -out "$HM_WORK/token.crt" 2>/dev/null
  # The sim first, on a port it picks: the registry's token realm names it.
  "$sim" --listen 127.0.0.1:0 --ports-file "$HM_WORK/sim.ports" --admin-password Harbor12345 \
    --token-cert "$HM_WORK/token.crt" --token-key "$HM_WORK/token.key" >"$HM_WORK/sim.log" 2>&1 &
  HM_EXTRA_PIDS+=($!)
  sim_port=$(hm_port "$HM_WORK/sim.ports")
  cat >"$HM_WORK/registry.yml" <<YAML
version: 0.1
log: {level: info, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $HM_WORK/registry}}
http: {addr: 127.0.0.1:0}
auth:
  token:
    realm: http://127.0.0.1:$sim_port/service/token
    service: harbor-registry
    issuer: harbor-token-issuer
    rootcertbundle: $HM_WORK/token.crt
YAML
  docker-registry serve "$HM_WORK/registry.yml" >"$HM_WORK/registry.log" 2>&1 &
  HM_EXTRA_PIDS+=($!)
  reg_port=$(hm_logged_port "$HM_WORK/registry.log")
  curl -sf -o /dev/null -X PUT -d "{\"url\":\"http://127.0.0.1:$reg_port\"}" \
    "http://127.0.0.1:$sim_port/sim/registry"
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$sim_port/api/v2.0/ping" >/dev/null 2>&1 && break
    sleep 0.1
  done
  HM_HARBOR="127.0.0.1:$sim_port"
}

# hm_harbor_project NAME [METADATA-JSON]: creates a Harbor project as admin.
hm_harbor_project() {
  local meta=${2:-}
  [ -n "$meta" ] || meta='{}'
  curl -sf -u admin:Harbor12345 -H 'Content-Type: application/json' \
    -d "{\"project_name\":\"$1\",\"metadata\":$meta}" "http://$HM_HARBOR/api/v2.0/projects"
}

# hm_push_image REPOSITORY TAG SEED: builds a one-layer OCI image by hand (its content, and so
# its digest, depends on SEED), pushes it with skopeo, and prints its digest.
hm_push_image() {
  local repo=$1 tag=$2 seed=$3
  local dir="$HM_WORK/layout-$RANDOM$RANDOM"
  mkdir -p "$dir/oci/blobs/sha256" "$dir/rootfs"
  echo "hello from $seed" >"$dir/rootfs/hello.txt"
  tar -C "$dir/rootfs" -cf "$dir/layer.tar" hello.txt
  blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$dir/oci/blobs/sha256/$d"; echo "$d"; }
  local layer config manifest
  layer=$(blob "$dir/layer.tar")
  printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' \
    "$layer" >"$dir/config.json"
  config=$(blob "$dir/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%d}]}' \
    "$config" "$(stat -c%s "$dir/config.json")" "$layer" "$(stat -c%s "$dir/layer.tar")" >"$dir/manifest.json"
  manifest=$(blob "$dir/manifest.json")
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$(stat -c%s "$dir/manifest.json")" "$tag" >"$dir/oci/index.json"
  skopeo copy --quiet --dest-tls-verify=false --preserve-digests --dest-creds admin:Harbor12345 \
    "oci:$dir/oci:$tag" "docker://$HM_HARBOR/$repo:$tag"
  echo "sha256:$manifest"
}

# hm_signing_key NAME: an ECDSA P-256 key pair made by openssl, as $HM_WORK/NAME.key and
# $HM_WORK/NAME.pub (the PEM public key a policy names, like cosign.pub).
hm_signing_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$HM_WORK/$1.key" 2>/dev/null
  openssl pkey -in "$HM_WORK/$1.key" -pubout -out "$HM_WORK/$1.pub"
}

# hm_cosign_sign REPOSITORY DIGEST KEY-NAME: signs the image as `cosign sign --key` does (without
# Rekor): a simple-signing payload, its ECDSA signature in the layer annotation, pushed as the
# manifest of tag sha256-<hex>.sig through harbor-sim's registry API.
hm_cosign_sign() {
  local repo=$1 digest=$2 key=$3
  local dir="$HM_WORK/sig-$RANDOM$RANDOM" token
  mkdir -p "$dir"
  printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$HM_HARBOR/$repo" "$digest" >"$dir/payload.json"
  openssl dgst -sha256 -sign "$HM_WORK/$key.key" -out "$dir/payload.sig" "$dir/payload.json"
  echo -n '{}' >"$dir/config.json"
  token=$(curl -sf -u admin:Harbor12345 \
    "http://$HM_HARBOR/service/token?service=harbor-registry&scope=repository:$repo:pull,push" |
    jq -r .token)
  local f d location
  for f in payload.json config.json; do
    d=$(sha256sum "$dir/$f" | cut -d' ' -f1)
    location=$(curl -sf -D - -o /dev/null -X POST -H "Authorization: Bearer $token" \
      "http://$HM_HARBOR/v2/$repo/blobs/uploads/" | tr -d '\r' | sed -n 's/^Location: //p')
    [[ $location == http* ]] || location="http://$HM_HARBOR$location"
    if [[ $location == *\?* ]]; then location+="&"; else location+="?"; fi
    curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/octet-stream' --data-binary "@$dir/$f" "${location}digest=sha256:$d"
  done
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":2},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:%s","size":%d,"annotations":{"dev.cosignproject.cosign/signature":"%s"}}]}' \
    "$(sha256sum "$dir/config.json" | cut -d' ' -f1)" "$(sha256sum "$dir/payload.json" | cut -d' ' -f1)" \
    "$(stat -c%s "$dir/payload.json")" "$(base64 -w0 "$dir/payload.sig")" >"$dir/manifest.json"
  curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary "@$dir/manifest.json" \
    "http://$HM_HARBOR/v2/$repo/manifests/sha256-${digest#sha256:}.sig"
}

# hm_set_scan DIGEST STATUS [VULNERABILITIES-JSON]: stores a scan report in harbor-sim.
# hm_free_port: a loopback port free now (for a process that must know its address first).
hm_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

hm_set_scan() {
  curl -sf -o /dev/null -H 'Content-Type: application/json' "http://$HM_HARBOR/sim/scan" \
    -d "{\"digest\":\"$1\",\"status\":\"$2\",\"vulnerabilities\":${3:-[]}}"
}

# hm_start_kube SIM_BINARY: kube-sim on a loopback port it picks, serving $HM_WORK/tls.crt (run
# hm_make_cert first); sets HM_KUBECONFIG.
hm_start_kube() {
  local sim=$1
  HM_KUBECONFIG="$HM_WORK/kubeconfig"
  "$sim" --listen 127.0.0.1:0 --tls-cert "$HM_WORK/tls.crt" --tls-key "$HM_WORK/tls.key" \
    --token "demo-admin-token" --kubeconfig-out "$HM_KUBECONFIG" >"$HM_WORK/kube-sim.log" 2>&1 &
  HM_EXTRA_PIDS+=($!)
  for _ in $(seq 100); do
    [ -s "$HM_KUBECONFIG" ] && KUBECONFIG=$HM_KUBECONFIG kubectl get --raw /readyz >/dev/null 2>&1 &&
      return 0
    sleep 0.1
  done
  echo "kube-sim did not start:" >&2
  cat "$HM_WORK/kube-sim.log" >&2
  return 1
}

# hm_start_operator BINARY HARBOR_URL [EXTRA FLAGS...]: the operator against $HM_KUBECONFIG with
# admin credentials for Harbor, on HM_OP_LISTEN (default a port it picks); sets HM_OP_LOG and
# HM_OP_PORT (health, metrics and Harbor's notifications).
hm_start_operator() {
  local bin=$1 url=$2
  shift 2
  HM_OP_LOG="$HM_WORK/operator.log"
  rm -f "$HM_WORK/operator.ports"
  echo "admin:Harbor12345" >"$HM_WORK/operator-harbor-credentials"
  "$bin" operator --kubeconfig "$HM_KUBECONFIG" --harbor-url "$url" \
    --harbor-credentials-file "$HM_WORK/operator-harbor-credentials" --namespace harbormaster \
    --listen "${HM_OP_LISTEN:-127.0.0.1:0}" --ports-file "$HM_WORK/operator.ports" "$@" \
    >"$HM_OP_LOG" 2>&1 &
  HM_EXTRA_PIDS+=($!)
  HM_OP_PORT=$(hm_port "$HM_WORK/operator.ports") || { cat "$HM_OP_LOG" >&2; return 1; }
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$HM_OP_PORT/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the operator did not start:" >&2
  cat "$HM_OP_LOG" >&2
  return 1
}
