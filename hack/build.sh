#!/usr/bin/env bash
# Configures and builds with CMake. One script for CI (hack/test.sh) and the image (Dockerfile),
# so both compile the same way.
#   hack/build.sh DIR BUILD_TYPE SANITIZE            everything, tests included
#   hack/build.sh DIR BUILD_TYPE SANITIZE TARGET...  only these targets, without the tests
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 3 ]; then
  echo "usage: hack/build.sh DIR BUILD_TYPE SANITIZE [TARGET...]" >&2
  exit 2
fi
dir=$1 type=$2 sanitize=$3
shift 3
tests=ON
targets=()
if [ $# -gt 0 ]; then
  tests=OFF
  targets=(--target "$@")
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DHM_SANITIZE="$sanitize" \
  -DHM_BUILD_TESTS="$tests"
cmake --build "$dir" --parallel "$(nproc)" "${targets[@]}"
