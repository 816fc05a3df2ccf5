#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan+UBSan) and runs each for a fixed
# time from its seed corpus (tests/fuzz/corpus/<target>, plus ../shared samples where they fit).
# New inputs go to a scratch corpus, so the tree is never written. A crash, hang (-timeout), leak
# or blow-up (-rss_limit_mb) fails the run and leaves the input under $HM_FUZZ_OUT.
#   hack/fuzz.sh                      every target, 20 s each (what CI runs)
#   HM_FUZZ_SECONDS=3600 hack/fuzz.sh policy_yaml   one target, an hour
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${HM_FUZZ_SECONDS:-20}
build=${HM_FUZZ_BUILD:-build-fuzz}
out=${HM_FUZZ_OUT:-$build/findings}
shared=$(cd .. && pwd)/shared

cmake -S . -B "$build" -G Ninja -DHM_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --parallel "$(nproc)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(admission imageref policy_yaml harbor registry sigstore kubeconfig operator_spec manifest)
fi
mkdir -p "$out"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for t in "${targets[@]}"; do
  corpora=("$scratch/$t" "tests/fuzz/corpus/$t")
  case $t in
    admission) [ -d "$shared/admission-samples" ] && corpora+=("$shared/admission-samples") ;;
  esac
  mkdir -p "$scratch/$t"
  echo "fuzz: $t for ${seconds}s"
  # A parser must answer well within a second; 10 s is a hang, 2 GB a blow-up.
  if ! "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/$t-" "${corpora[@]}" \
      </dev/null >"$out/$t.log" 2>&1; then
    failed+=("$t")
    tail -40 "$out/$t.log" >&2
  else
    grep -E "^stat::number_of_executed_units|^Done" "$out/$t.log" | sed "s/^/  /" || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (inputs in $out); fix, then add each as" \
    "tests/fuzz/corpus/<target>/regression-<what>" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no findings"
