#!/usr/bin/env bash
# The README's test command: installs dependencies, builds with ASan+UBSan and -Werror, checks
# formatting, and runs every unit and end-to-end test with CTest.
#   hack/test.sh            full run (what CI does)
#   HM_SANITIZE=OFF hack/test.sh   a faster run without sanitizers
set -euo pipefail
cd "$(dirname "$0")/.."

hack/install-deps.sh

sanitize=${HM_SANITIZE:-ON}
build=build-test
[ "$sanitize" = "ON" ] && build=build-asan

# Formatting is part of the contract: fail early, before the long build.
unformatted=$(git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run 2>&1 | grep -c "warning:" || true)
if [ "$unformatted" != "0" ]; then
  echo "test: $unformatted formatting problems; run: git ls-files '*.cpp' '*.h' | xargs clang-format -i" >&2
  git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run 2>&1 | head -20 >&2
  exit 1
fi

hack/build.sh "$build" Debug "$sanitize"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir "$build" --output-on-failure --parallel "$(nproc)" --timeout 300

# Every fuzz target for a fixed time (docs/fuzzing.md), then the operator under random kill -9
# (hack/chaos/operator.sh; docs/operator.md reports a 100-kill run). A fixed seed keeps CI's
# sequence of actions reproducible; the kill moments still vary.
HM_FUZZ_SECONDS=${HM_FUZZ_SECONDS:-20} hack/fuzz.sh
HM_CHAOS_BUILD="$build" hack/chaos/operator.sh "${HM_CHAOS_ROUNDS:-5}" "${HM_CHAOS_SEED:-20261202}"
