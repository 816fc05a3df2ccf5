#!/usr/bin/env bash
# The operator under random kills: N rounds of `kill -9` at a random moment while it converges
# HarborProjects and RobotAccounts, rotates credentials and deletes some, each followed by a
# restart, against kube-sim + harbor-sim + Debian's docker-registry. After every restart (once
# the operator has converged) and at the end it checks the invariants:
#   - every RobotAccount is Ready, its master Secret exists, and the pull secret in every
#     target namespace authenticates against the registry (skopeo inspect with it);
#   - no robot exists twice in Harbor, and none is left for a deleted RobotAccount;
#   - nothing is left in Kubernetes (pull secrets, master Secrets) for a deleted RobotAccount;
#   - every HarborProject is Ready.
#   hack/chaos/operator.sh 100        the run docs/operator.md reports
#   hack/chaos/operator.sh 5 42       CI's run: 5 kills, random seed 42
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-10}
RANDOM=${2:-$$}
root=$(pwd)

# HM_CHAOS_BUILD: a build directory whose binaries to use (CI passes its sanitizer build).
build=${HM_CHAOS_BUILD:-}
if [ -z "$build" ]; then
  hack/install-deps.sh >/dev/null
  build=build
  cmake -S . -B build -G Ninja >/dev/null
  cmake --build build --parallel "$(nproc)" --target harbormaster harbor-sim kube-sim >/dev/null
fi
bin="$root/$build/bin/harbormaster"

source hack/lib.sh
work=$HM_WORK
hm_make_cert
hm_start_harbor "$build/bin/harbor-sim"
harbor=$HM_HARBOR
hm_start_kube "$build/bin/kube-sim"
kc() { KUBECONFIG="$HM_KUBECONFIG" kubectl "$@"; }
kc apply -f crds/ >/dev/null
kc apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: harbormaster}
---
apiVersion: v1
kind: Namespace
metadata: {name: chaos-a, labels: {team: chaos}}
---
apiVersion: v1
kind: Namespace
metadata: {name: chaos-b, labels: {team: chaos}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: chaos-a}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: chaos-b}
YAML

projects=(alpha beta)
for p in "${projects[@]}"; do
  kc apply -f - >/dev/null <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: HarborProject
metadata: {name: $p}
spec: {autoScan: false, deletionPolicy: Retain}
YAML
done

robot() {  # robot NAME PROJECT: a RobotAccount whose pull secret goes to every team=chaos namespace
  kc apply -f - >/dev/null <<YAML
apiVersion: harbormaster.io/v1alpha1
kind: RobotAccount
metadata: {name: $1}
spec:
  project: $2
  duration: 30
  rotateBefore: 1h
  pullSecret:
    name: pull-$1
    namespaceSelector: {matchLabels: {team: chaos}}
    serviceAccounts: [default]
YAML
}

# One replica without leader election: a restarted leader would otherwise wait out the killed
# one's Lease (15 s) every round. Handover under kill -9 has its own test
# (LeaderElectionTest.HandoverBetweenTwoProcesses).
op_pid=""
start_operator() {
  echo "admin:Harbor12345" >"$work/operator-harbor-credentials"
  "$bin" operator --kubeconfig "$HM_KUBECONFIG" --harbor-url "http://$harbor" \
    --harbor-credentials-file "$work/operator-harbor-credentials" --namespace harbormaster \
    --listen "127.0.0.1:0" --rotation-grace 1s --resync 5s --leader-elect=false \
    >>"$work/operator.log" 2>&1 &
  op_pid=$!
}
kill_operator() {
  kill -9 "$op_pid" 2>/dev/null || true
  wait "$op_pid" 2>/dev/null || true
  op_pid=""
}
trap 'kill_operator; hm_cleanup' EXIT
trap 'exit 130' INT TERM

live=()     # RobotAccounts that exist: "name project"
deleted=()  # RobotAccounts deleted: "name project"
created=0
add_robot() {
  # At most 8 live ones: each costs two skopeo checks per round.
  if [ ${#live[@]} -ge 8 ]; then
    delete_robot
    return
  fi
  local p=${projects[$((RANDOM % ${#projects[@]}))]}
  created=$((created + 1))
  robot "r$created" "$p"
  live+=("r$created $p")
}
delete_robot() {
  [ ${#live[@]} -gt 1 ] || return 0
  local i=$((RANDOM % ${#live[@]}))
  local entry=${live[$i]}
  kc delete robotaccount "${entry%% *}" --wait=false >/dev/null
  deleted+=("$entry")
  live=("${live[@]:0:$i}" "${live[@]:$((i + 1))}")
}
rotate_robot() {
  local entry=${live[$((RANDOM % ${#live[@]}))]}
  kc annotate --overwrite robotaccount "${entry%% *}" "harbormaster.io/rotate=$RANDOM" >/dev/null
}

fail() {
  echo "chaos: invariant broken after round $round: $*" >&2
  tail -30 "$work/operator.log" >&2
  exit 1
}

projects_ready() {
  local status
  for p in "${projects[@]}"; do
    status=$(kc get harborproject "$p" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')
    [ "$status" = True ] || return 1
  done
}

converged() {
  local status
  projects_ready || return 1
  for entry in "${live[@]}"; do
    status=$(kc get robotaccount "${entry%% *}" \
      -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)
    [ "$status" = True ] || return 1
  done
  for entry in "${deleted[@]}"; do
    kc get robotaccount "${entry%% *}" >/dev/null 2>&1 && return 1
  done
  return 0
}

wait_converged() {
  for _ in $(seq 300); do
    converged && return 0
    sleep 0.1
  done
  fail "not converged within 30 s"
}

check_invariants() {
  local robots names
  robots=$(curl -sf -u admin:Harbor12345 "http://$harbor/api/v2.0/robots?page_size=100")
  names=$(jq -r '.[].name' <<<"$robots" | sort)
  [ -z "$(uniq -d <<<"$names")" ] || fail "a robot exists twice in Harbor: $(uniq -d <<<"$names")"
  for entry in "${live[@]}"; do
    local name=${entry%% *} project=${entry##* }
    kc get secret -n harbormaster "harbormaster-robot-$name" >/dev/null 2>&1 ||
      fail "the master credential of $name is gone"
    for ns in chaos-a chaos-b; do
      local config user pass
      config=$(kc get secret -n "$ns" "pull-$name" -o jsonpath='{.data.\.dockerconfigjson}' |
        base64 -d) || fail "no pull secret $ns/pull-$name"
      user=$(jq -r --arg h "$harbor" '.auths[$h].username' <<<"$config")
      pass=$(jq -r --arg h "$harbor" '.auths[$h].password' <<<"$config")
      local out
      out=$(skopeo inspect --tls-verify=false --creds "$user:$pass" --format '{{.Digest}}' \
        "docker://$harbor/$project/app:1" 2>&1) ||
        fail "the pull secret $ns/pull-$name ($user) does not authenticate: $out"
    done
  done
  for entry in "${deleted[@]}"; do
    local name=${entry%% *} project=${entry##* }
    grep -qxF -e "robot\$$project+$name" -e "robot\$$project+$name.b" <<<"$names" &&
      fail "robot $name is left in Harbor after its RobotAccount was deleted"
    kc get secret -n harbormaster "harbormaster-robot-$name" >/dev/null 2>&1 &&
      fail "the master Secret of deleted $name is left"
    for ns in chaos-a chaos-b; do
      kc get secret -n "$ns" "pull-$name" >/dev/null 2>&1 && fail "pull secret $ns/pull-$name is left"
    done
  done
  return 0
}

# The projects first, then an image in each for the pull secrets to read.
round=setup
start_operator
for _ in $(seq 300); do
  projects_ready && break
  sleep 0.1
done
projects_ready || fail "the HarborProjects did not become Ready"
for p in "${projects[@]}"; do
  hm_push_image "$p/app" 1 "$p" >/dev/null
done
add_robot
add_robot
add_robot
kills=0
for round in $(seq "$rounds"); do
  [ -n "$op_pid" ] || start_operator
  # Converge (and check) after the restart, then change something and kill at a random moment.
  wait_converged
  check_invariants
  case $((RANDOM % 4)) in
    0) add_robot ;;
    1) delete_robot ;;
    2) rotate_robot ;;
    3) add_robot; rotate_robot ;;
  esac
  sleep "0.$(printf '%03d' $((RANDOM % 800)))"
  kill_operator
  kills=$((kills + 1))
  [ $((round % 10)) -ne 0 ] || echo "chaos: $round of $rounds kills, invariants held"
done
round=final
start_operator
wait_converged
check_invariants
echo "chaos: $kills kill -9 of the operator; ${#live[@]} RobotAccounts live, ${#deleted[@]} deleted;" \
  "every invariant held after every restart"
