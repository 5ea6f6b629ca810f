#!/usr/bin/env bash
# Runs a throwaway local Kubernetes control plane on loopback, for tests: etcd + kube-apiserver (no
# nodes, no controllers) and, on request, kube-controller-manager, kube-scheduler and kwok with three
# fake nodes, so that a Deployment gets Pods that are scheduled and become Ready.
#
#   hack/control-plane.sh up DIR [--owner-pid PID]
#       Builds the binaries if needed (hack/build-control-plane.sh), makes a
#       CA, serving cert, service-account keys and an admin token with openssl,
#       starts etcd (fresh data in DIR/etcd-data) and kube-apiserver on free
#       127.0.0.1 ports, waits for /readyz, and writes DIR/kubeconfig (admin,
#       group system:masters, token auth). Logs: DIR/etcd.log,
#       DIR/kube-apiserver.log; pids: DIR/*.pid. The last stdout line is the
#       kubeconfig path. With --owner-pid, a watchdog stops everything in DIR
#       (also what `nodes` started) once PID has exited (so a crashed test
#       leaves nothing running).
#   hack/control-plane.sh nodes DIR
#       On a control plane started with `up DIR`: builds (once) and starts
#       kube-controller-manager (the default controllers, no leader election),
#       kube-scheduler and kwok (hack/tools/kwok; it manages the nodes annotated
#       kwok.x-k8s.io/node=fake with the Stages of hack/control-plane/kwok.yaml:
#       such a node becomes Ready, a Pod scheduled to it Running and Ready) on
#       free 127.0.0.1 ports, then creates three fake nodes labelled type=kwok,
#       kubernetes.io/os=linux, kubernetes.io/arch=amd64, one per zone
#       (topology.kubernetes.io/zone zone-a, zone-b, zone-c; 16 cpu, 64Gi,
#       110 pods each). The zone-c node also carries the taint
#       dedicated=operators:NoSchedule and the label
#       node-role.example.com/operators=true. Waits until the nodes are Ready
#       and the default ServiceAccount exists (kube-controller-manager works).
#       Logs: DIR/kube-controller-manager.log, DIR/kube-scheduler.log,
#       DIR/kwok.log. Returns at once if they already run. Pods get no
#       service-account token volume (the ServiceAccount admission plugin is
#       off) and no containers run: kwok only plays their status.
#   hack/control-plane.sh restart DIR
#       Stops kube-apiserver and etcd and starts them again on the same ports
#       and data; waits for /readyz.
#   hack/control-plane.sh compact DIR
#       Compacts etcd's history to its current revision: a watch resumed from
#       an older resourceVersion gets 410 Gone.
#   hack/control-plane.sh down DIR
#       Stops everything (SIGTERM, then SIGKILL after 5 s) and the watchdog.
#       Leaves DIR's files in place.
# Each wait for readiness gives up after VLO_CP_TIMEOUT seconds (default 180: a cold first start
# on a small, busy machine takes a while). Every process runs with DIR as its working directory:
# that is how a pid in DIR/*.pid is known to still be ours.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
timeout="${VLO_CP_TIMEOUT:-180}"
usage() { echo "usage: $0 up DIR [--owner-pid PID] | nodes DIR | restart DIR | compact DIR | down DIR" >&2; exit 2; }
log() { echo "control-plane: $*" >&2; }

# Everything `up` and `nodes` start (the watchdog aside), clients first.
servers=(kwok kube-scheduler kube-controller-manager kube-apiserver etcd)
node_servers=(kwok kube-scheduler kube-controller-manager)

# True if PID exists and is not a zombie.
running() { local s; s="$(cat "/proc/$1/stat" 2>/dev/null)" && s="${s##*) }" && [[ $s != Z* ]]; }

# True if live process PID is one this script started in DIR: its working directory is DIR. That
# holds from the fork on (the forking shell is already in DIR) and survives exec. The command line
# does not: until exec it is the forking shell's, and while the kernel loads a binary it is empty
# (milliseconds for a large binary on a cold page cache). Processes started by an older version of
# this script ran elsewhere; their command line names DIR.
is_ours() {
  [[ /proc/$2/cwd -ef $1 ]] && return 0
  tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null | grep -qF -- "$1"
}

# pid from DIR/NAME.pid if it is alive and really ours.
live_pid() {
  local f="$1/$2.pid" pid
  [[ -f $f ]] || return 1
  pid="$(<"$f")"
  [[ $pid =~ ^[0-9]+$ ]] && running "$pid" && is_ours "$1" "$pid" || return 1
  echo "$pid"
}

# Waits up to 5 s until none of the PIDs runs.
wait_gone() {
  local pid i
  for ((i = 0; i < 50; i++)); do
    local alive=()
    for pid in "$@"; do running "$pid" && alive+=("$pid"); done
    ((${#alive[@]})) || return 0
    sleep 0.1
  done
}

# Stops the named processes: SIGTERM, wait up to 5 s, then SIGKILL.
stop() {
  local dir="$1" name pid pids=()
  shift
  for name in "$@"; do
    if pid="$(live_pid "$dir" "$name")"; then pids+=("$pid"); kill -TERM "$pid" 2>/dev/null || true; fi
  done
  wait_gone "${pids[@]}"
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  # Gone for good (its listening sockets closed) before anything starts in its place.
  wait_gone "${pids[@]}"
  for name in "$@"; do rm -f "$dir/$name.pid"; done
}

# Starts NAME (the command that follows) detached, in its own session, with DIR (the current
# directory) as working directory; logs to DIR/NAME.log, pid in DIR/NAME.pid.
spawn() {
  local dir="$1" name="$2"
  shift 2
  [[ . -ef $dir ]] || { log "internal error: $name would not run in $dir"; exit 1; }
  setsid "$@" </dev/null >"$dir/$name.log" 2>&1 8>&- &
  echo $! >"$dir/$name.pid"
}

# N distinct free TCP ports on 127.0.0.1, below the kernel's ephemeral range.
free_ports() {
  local ports=() p
  while ((${#ports[@]} < $1)); do
    p=$((10000 + RANDOM % 22000))
    [[ " ${ports[*]} " == *" $p "* ]] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || ports+=("$p")
  done
  echo "${ports[@]}"
}

# Prints the last lines of the named logs (after a failed start).
tails() {
  local dir="$1" name
  shift
  for name in "$@"; do echo "==> $dir/$name.log <==" >&2; tail -n 30 "$dir/$name.log" >&2 || true; done
}

gen_pki() {
  local pki="$1" token="$2"
  mkdir -p "$pki"
  (
    cd "$pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout ca.key -out ca.crt -subj "/CN=vpc-lattice-operator-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout apiserver.key -out apiserver.csr -subj "/CN=kube-apiserver"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.ext -out apiserver.crt
    openssl genrsa -out sa.key 2048
    openssl rsa -in sa.key -pubout -out sa.pub
    echo "$token,admin,admin,\"system:masters\"" >tokens.csv
    chmod 600 ./*.key tokens.csv
  ) 2>"$pki/openssl.log" &   # '&' + wait keeps set -e active inside the subshell
  wait $! || { cat "$pki/openssl.log" >&2; exit 1; }
}

write_kubeconfig() {
  local dir="$1" url="$2" token="$3"
  cat >"$dir/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: $url
    certificate-authority-data: $(base64 -w0 <"$dir/pki/ca.crt")
users:
- name: admin
  user:
    token: $token
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
EOF
  chmod 600 "$dir/kubeconfig"
}

# Hidden subcommand: the --owner-pid watchdog (runs detached). It ends only when the owner has
# exited (then it stops everything in DIR) or when its pid file no longer names it (`down`, or a
# failed `up`, removed it; another `up` replaced it): never on a guess about the servers' health.
watch_owner() {
  local dir="$1" owner="$2" f="$1/watchdog.pid" pid mine=0
  while running "$owner"; do
    pid="$(cat "$f" 2>/dev/null || true)"
    if [[ $pid == "$$" ]]; then
      mine=1
    elif ((mine)) || [[ -n $pid ]]; then
      return 0
    fi   # else `up` has not written the pid file yet
    sleep 1
  done
  stop "$dir" "${servers[@]}"
  # The owner is gone and nobody will restart this data: free the disk (etcd preallocates ~64 MB);
  # the logs stay for a post-mortem.
  rm -rf "$dir/etcd-data" "$dir/pki" "$dir/kwok"
  [[ $(cat "$f" 2>/dev/null || true) != "$$" ]] || rm -f "$f"
}

up() {
  local dir="$1" owner="${2:-}" name
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  for name in "${servers[@]}"; do
    if live_pid "$dir" "$name" >/dev/null; then
      log "already running in $dir (run: $0 down $dir)"; exit 1
    fi
  done
  local bin
  bin="$(bash "$here/build-control-plane.sh" | tail -n1)"
  cd "$dir"   # every process runs here (see is_ours)

  local token etcd_port peer_port api_port
  token="$(openssl rand -hex 24)"
  gen_pki "$dir/pki" "$token"
  read -r etcd_port peer_port api_port < <(free_ports 3)
  local etcd_url="http://127.0.0.1:$etcd_port" peer_url="http://127.0.0.1:$peer_port"
  local api_url="https://127.0.0.1:$api_port"

  rm -rf "$dir/etcd-data"
  printf 'bin=%q\netcd_url=%q\npeer_url=%q\napi_port=%q\napi_url=%q\ntoken=%q\n' \
    "$bin" "$etcd_url" "$peer_url" "$api_port" "$api_url" "$token" >"$dir/servers.env"
  start_servers "$dir"

  if [[ -n $owner ]]; then
    setsid bash "$here/control-plane.sh" _watch "$dir" "$owner" </dev/null >/dev/null 2>&1 8>&- &
    echo $! >"$dir/watchdog.pid"
  fi
  write_kubeconfig "$dir" "$api_url" "$token"

  wait_api "$dir"
  log "ready: $api_url (etcd $etcd_url)"
  echo "$dir/kubeconfig"
}

# Starts etcd (on the data in DIR/etcd-data) and kube-apiserver with the settings of
# DIR/servers.env, which `up` wrote.
start_servers() {
  local dir="$1" bin etcd_url peer_url api_port api_url token
  # shellcheck source=/dev/null
  source "$dir/servers.env"
  spawn "$dir" etcd "$bin/etcd" --name=default --data-dir="$dir/etcd-data" \
    --listen-client-urls="$etcd_url" --advertise-client-urls="$etcd_url" \
    --listen-peer-urls="$peer_url" --initial-advertise-peer-urls="$peer_url" \
    --initial-cluster="default=$peer_url" \
    --unsafe-no-fsync=true

  spawn "$dir" kube-apiserver "$bin/kube-apiserver" --etcd-servers="$etcd_url" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --client-ca-file="$dir/pki/ca.crt" --token-auth-file="$dir/pki/tokens.csv" \
    --authorization-mode=RBAC --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount --service-cluster-ip-range=10.0.0.0/24 \
    --service-account-issuer="$api_url/" --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --endpoint-reconciler-type=none
}

# Waits for DIR's kube-apiserver /readyz; on failure shows the logs, stops everything, exits 1.
wait_api() {
  local dir="$1" bin etcd_url peer_url api_port api_url token
  # shellcheck source=/dev/null
  source "$dir/servers.env"
  local deadline=$((SECONDS + timeout))
  until [[ $(curl -fsS --max-time 2 --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $token" \
    "$api_url/readyz" 2>/dev/null) == ok ]]; do
    if ((SECONDS >= deadline)) || ! live_pid "$dir" etcd >/dev/null || ! live_pid "$dir" kube-apiserver >/dev/null; then
      if ((SECONDS >= deadline)); then log "control plane not ready after ${timeout}s; log tails follow"
      else log "control plane exited during start-up; log tails follow"; fi
      tails "$dir" etcd kube-apiserver
      stop "$dir" watchdog kube-apiserver etcd
      exit 1
    fi
    sleep 0.25
  done
}

# Stops kube-apiserver and etcd and starts them again on the same ports and data (a control-plane
# restart under the operator's feet); waits for /readyz.
restart() {
  local dir
  dir="$(cd "$1" && pwd)"
  cd "$dir"
  stop "$dir" kube-apiserver etcd
  # The old servers' ports are free again before the new ones bind them (a server that took its
  # time to exit, or the kernel closing its sockets, must not make the new one fail to listen).
  local bin etcd_url peer_url api_port api_url token port i
  # shellcheck source=/dev/null
  source "$dir/servers.env"
  for port in "$api_port" "${etcd_url##*:}" "${peer_url##*:}"; do
    for ((i = 0; i < 100; i++)); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
      sleep 0.1
    done
  done
  start_servers "$dir"
  wait_api "$dir"
  log "restarted"
}

# Compacts etcd's history up to its current revision, so a watch resumed from any older
# resourceVersion is answered 410 Gone and must list again.
compact() {
  local dir="$1" bin etcd_url peer_url api_port api_url token rev
  # shellcheck source=/dev/null
  source "$dir/servers.env"
  rev="$(curl -fsS -X POST "$etcd_url/v3/kv/range" -d '{"key":"AA=="}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')"
  curl -fsS -X POST "$etcd_url/v3/kv/compaction" -d "{\"revision\":\"$rev\",\"physical\":true}" >/dev/null
  log "compacted etcd to revision $rev"
}

# The fake nodes: NAME ZONE [operators], one per line.
node_specs=(
  "kwok-node-a zone-a"
  "kwok-node-b zone-b"
  "kwok-node-c zone-c operators"
)

node_manifests() {
  local spec name zone role
  for spec in "${node_specs[@]}"; do
    read -r name zone role <<<"$spec"
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: $zone
EOF
    if [[ $role == operators ]]; then
      cat <<EOF
    node-role.example.com/operators: "true"
spec:
  taints:
  - {key: dedicated, value: operators, effect: NoSchedule}
EOF
    fi
    cat <<EOF
status:
  allocatable: {cpu: "16", memory: 64Gi, pods: "110", ephemeral-storage: 100Gi}
  capacity: {cpu: "16", memory: 64Gi, pods: "110", ephemeral-storage: 100Gi}
EOF
  done
}

nodes() {
  local dir name
  if ! dir="$(cd "$1" 2>/dev/null && pwd)" || [[ ! -f $dir/kubeconfig ]] || ! live_pid "$dir" kube-apiserver >/dev/null; then
    log "no control plane runs in $1 (run: $0 up $1)"; exit 1
  fi
  exec 8>"$dir/nodes.lock"   # one `nodes` at a time per DIR (spawn closes fd 8 for the servers)
  flock 8
  local all=1
  for name in "${node_servers[@]}"; do live_pid "$dir" "$name" >/dev/null || all=0; done
  if ((all)); then
    log "nodes already running in $dir"
    echo "$dir/kubeconfig"
    return 0
  fi
  stop "$dir" "${node_servers[@]}"   # what is left of an earlier, failed start
  local bin kwok_bin
  bin="$(bash "$here/build-control-plane.sh" | tail -n1)"
  kwok_bin="$(bash "$here/go-tool.sh" kwok | tail -n1)"
  cd "$dir"   # every process runs here (see is_ours)

  local kcm_port sched_port kwok_port
  read -r kcm_port sched_port kwok_port < <(free_ports 3)
  spawn "$dir" kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$dir/kubeconfig" --leader-elect=false --controllers='*' \
    --service-account-private-key-file="$dir/pki/sa.key" --root-ca-file="$dir/pki/ca.crt" \
    --use-service-account-credentials=false \
    --bind-address=127.0.0.1 --secure-port="$kcm_port"
  spawn "$dir" kube-scheduler "$bin/kube-scheduler" \
    --kubeconfig="$dir/kubeconfig" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$sched_port"
  # KWOK_WORKDIR: kwok also reads $KWOK_WORKDIR/kwok.yaml (default ~/.kwok/kwok.yaml) if it exists.
  mkdir -p "$dir/kwok"
  spawn "$dir" kwok env KWOK_WORKDIR="$dir/kwok" "$kwok_bin/kwok" \
    --kubeconfig="$dir/kubeconfig" --config="$here/control-plane/kwok.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 --cidr=10.244.0.0/16 --node-ip=127.0.0.1 \
    --server-address="127.0.0.1:$kwok_port"

  local kc=(kubectl --kubeconfig "$dir/kubeconfig") out
  local fail="" deadline=$((SECONDS + timeout)) spec node_refs=()
  for spec in "${node_specs[@]}"; do node_refs+=("node/${spec%% *}"); done
  out="$(node_manifests | "${kc[@]}" apply -f - 2>&1)" || fail="creating the nodes failed: $out"
  until [[ -n $fail ]] ||
    { "${kc[@]}" wait --for=condition=Ready --timeout=5s "${node_refs[@]}" >/dev/null 2>&1 &&
      "${kc[@]}" get -n default serviceaccount default >/dev/null 2>&1; }; do
    for name in "${node_servers[@]}" kube-apiserver; do
      live_pid "$dir" "$name" >/dev/null || { fail="$name exited"; break; }
    done
    ((SECONDS < deadline)) || fail="nodes not Ready (or no default ServiceAccount) after ${timeout}s"
    [[ -n $fail ]] || sleep 0.5
  done
  if [[ -n $fail ]]; then
    log "$fail; log tails follow"
    tails "$dir" "${node_servers[@]}"
    stop "$dir" "${node_servers[@]}"
    exit 1
  fi

  log "nodes ready: ${node_refs[*]#node/}"
  echo "$dir/kubeconfig"
}

down() {
  local dir
  [[ -d $1 ]] || return 0
  dir="$(cd "$1" && pwd)"
  stop "$dir" watchdog "${servers[@]}"
}

case "${1:-}" in
  up)
    [[ $# -eq 2 || ($# -eq 4 && $3 == --owner-pid && $4 =~ ^[0-9]+$) ]] || usage
    up "$2" "${4:-}" ;;
  nodes) [[ $# -eq 2 ]] || usage; nodes "$2" ;;
  restart) [[ $# -eq 2 ]] || usage; restart "$2" ;;
  compact) [[ $# -eq 2 ]] || usage; compact "$2" ;;
  down) [[ $# -eq 2 ]] || usage; down "$2" ;;
  _watch) watch_owner "$2" "$3" ;;
  *) usage ;;
esac
