#!/usr/bin/env bash
# No container engine runs on our machines, so the Dockerfile is checked for what would break it:
#  - its build stage runs the scripts CI runs (hack/install-deps.sh, hack/build.sh) on bookworm;
#  - its runtime stage installs the Debian package of every shared library `ldd` lists for the
#    binary (sanitizer runtimes aside: only sanitizer builds link them), and nothing else apart
#    from the few listed in $optional: no compilers, no -dev packages;
#  - it runs as UID 65532 and carries OCI labels; .dockerignore keeps builds and .git out.
#   tests/deploy/dockerfile_test.sh BINARY SOURCE_DIR
set -euo pipefail
binary=$1
src=$2
dockerfile=$src/Dockerfile
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# Stage bodies, with line continuations joined.
stage() {  # stage NAME-REGEX -> the lines of that stage
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" |
    awk -v want="$1" '/^FROM /{on = ($0 ~ want)} on'
}
build_stage=$(stage ' AS build$')
runtime_stage=$(stage ' AS runtime$')
[ -n "$build_stage" ] || fail "no stage named build"
[ -n "$runtime_stage" ] || fail "no stage named runtime"

# Build stage: the same scripts as CI, on the distribution CI runs on.
grep -q '^FROM debian:bookworm AS build$' <<<"$build_stage" || fail "build stage is not debian:bookworm"
for script in hack/install-deps.sh hack/build.sh; do
  grep -q "^RUN .*$script" <<<"$build_stage" || fail "build stage does not run $script"
  grep -q "$script" "$src/hack/test.sh" || fail "CI (hack/test.sh) does not run $script"
done
grep -q 'hack/build.sh build Release OFF harbormaster' <<<"$build_stage" ||
  fail "build stage does not build the harbormaster target in Release without sanitizers"

# Runtime stage: minimal, non-root, labelled.
grep -q '^FROM debian:bookworm-slim AS runtime$' <<<"$runtime_stage" || fail "runtime stage is not bookworm-slim"
grep -q '^USER 65532:65532$' <<<"$runtime_stage" || fail "runtime stage does not run as 65532"
grep -q '^COPY --from=build /src/build/bin/harbormaster ' <<<"$runtime_stage" || fail "binary not copied from the build stage"
for label in title description version revision source licenses; do
  grep -q "org.opencontainers.image.$label=" <<<"$runtime_stage" || fail "OCI label $label missing"
done
installed=$(grep -o 'apt-get install -y --no-install-recommends [^&]*' <<<"$runtime_stage" |
  sed 's/apt-get install -y --no-install-recommends//' | tr -s ' ' '\n' | sed '/^$/d' | sort -u)
[ -n "$installed" ] || fail "runtime stage installs no packages"
for p in $installed; do
  case $p in
    gcc* | g++* | cpp* | clang* | build-essential | cmake | make | ninja-build | *-dev)
      fail "runtime stage installs build tool $p" ;;
  esac
done

# Every library the binary links, by Debian package.
needed=$(ldd "$binary" | awk '/=>/ {print $3}' | while read -r lib; do
  case $(basename "$lib") in libasan.so* | libubsan.so* | liblsan.so* | libtsan.so*) continue ;; esac
  dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1 || dpkg -S "$lib" | head -1 | cut -d: -f1
done | sort -u)
[ -n "$needed" ] || fail "could not map the binary's libraries to packages"
for p in $needed; do
  grep -qx "$p" <<<"$installed" || fail "the binary links a library from $p, which the runtime stage does not install"
done
# Allowed beyond ldd's list: CA certificates (Harbor's TLS), and Boost.System, which sanitizer
# builds link but an optimised build drops (Asio uses it header-only; the linker runs --as-needed).
optional="ca-certificates libboost-system1.74.0"
for p in $installed; do
  grep -qw -- "$p" <<<"$optional" && continue
  grep -qx "$p" <<<"$needed" || fail "the runtime stage installs $p, which the binary does not link"
done

for pattern in .git build 'build-\*'; do
  grep -qx "$pattern" "$src/.dockerignore" || fail ".dockerignore does not exclude $pattern"
done

if [ "$failures" -gt 0 ]; then
  exit 1
fi
echo "Dockerfile: build stage = CI scripts; runtime packages = $(echo $needed) (+ $optional)"
