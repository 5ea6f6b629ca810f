#!/usr/bin/env bash
# Runs a throwaway local Kubernetes control plane (etcd + kube-apiserver, no
# nodes, no controllers) on loopback, for tests.
#
#   hack/control-plane.sh up DIR [--owner-pid PID]
#       Builds the binaries if needed (hack/build-control-plane.sh), makes a
#       CA, serving cert, service-account keys and an admin token with openssl,
#       starts etcd (fresh data in DIR/etcd-data) and kube-apiserver on free
#       127.0.0.1 ports, waits for /readyz, and writes DIR/kubeconfig (admin,
#       group system:masters, token auth). Logs: DIR/etcd.log,
#       DIR/kube-apiserver.log; pids: DIR/*.pid. The last stdout line is the
#       kubeconfig path. With --owner-pid, a watchdog stops both servers once
#       PID has exited (so a crashed test leaves nothing running).
#   hack/control-plane.sh down DIR
#       Stops both servers (SIGTERM, then SIGKILL after 5 s) and the watchdog.
#       Leaves DIR's files in place.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { echo "usage: $0 up DIR [--owner-pid PID] | down DIR" >&2; exit 2; }
log() { echo "control-plane: $*" >&2; }

# True if PID exists and is not a zombie.
running() { local s; s="$(cat "/proc/$1/stat" 2>/dev/null)" && s="${s##*) }" && [[ $s != Z* ]]; }

# pid from DIR/NAME.pid if it is alive and really ours (its command line names DIR).
live_pid() {
  local f="$1/$2.pid" pid
  [[ -f $f ]] || return 1
  pid="$(<"$f")"
  [[ $pid =~ ^[0-9]+$ ]] && running "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$1" || return 1
  echo "$pid"
}

# Stops the named processes: SIGTERM, wait up to 5 s, then SIGKILL.
stop() {
  local dir="$1" name pid pids=() i
  shift
  for name in "$@"; do
    if pid="$(live_pid "$dir" "$name")"; then pids+=("$pid"); kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for ((i = 0; i < 50; i++)); do
    local alive=()
    for pid in "${pids[@]}"; do running "$pid" && alive+=("$pid"); done
    ((${#alive[@]})) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for name in "$@"; do rm -f "$dir/$name.pid"; done
}

# A free TCP port on 127.0.0.1, below the kernel's ephemeral range.
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 22000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
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

# Hidden subcommand: the --owner-pid watchdog (runs detached).
watch_owner() {
  local dir="$1" owner="$2"
  while running "$owner" && live_pid "$dir" kube-apiserver >/dev/null; do sleep 1; done
  stop "$dir" kube-apiserver etcd
  # The owner is gone and nobody will restart this data: free the disk (etcd preallocates ~64 MB);
  # the logs stay for a post-mortem.
  if ! running "$owner"; then rm -rf "$dir/etcd-data" "$dir/pki"; fi
  rm -f "$dir/watchdog.pid"
}

up() {
  local dir="$1" owner="${2:-}"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if live_pid "$dir" kube-apiserver >/dev/null || live_pid "$dir" etcd >/dev/null; then
    log "already running in $dir (run: $0 down $dir)"; exit 1
  fi
  local bin
  bin="$(bash "$here/build-control-plane.sh" | tail -n1)"

  local token etcd_port peer_port api_port
  token="$(openssl rand -hex 24)"
  gen_pki "$dir/pki" "$token"
  etcd_port="$(free_port)"; peer_port="$(free_port)"; api_port="$(free_port)"
  while [[ $peer_port == "$etcd_port" ]]; do peer_port="$(free_port)"; done
  while [[ $api_port == "$etcd_port" || $api_port == "$peer_port" ]]; do api_port="$(free_port)"; done
  local etcd_url="http://127.0.0.1:$etcd_port" peer_url="http://127.0.0.1:$peer_port"
  local api_url="https://127.0.0.1:$api_port"

  rm -rf "$dir/etcd-data"
  setsid "$bin/etcd" --name=default --data-dir="$dir/etcd-data" \
    --listen-client-urls="$etcd_url" --advertise-client-urls="$etcd_url" \
    --listen-peer-urls="$peer_url" --initial-advertise-peer-urls="$peer_url" \
    --initial-cluster="default=$peer_url" \
    --unsafe-no-fsync=true </dev/null >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"

  setsid "$bin/kube-apiserver" --etcd-servers="$etcd_url" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --tls-cert-file="$dir/pki/apiserver.crt" --tls-private-key-file="$dir/pki/apiserver.key" \
    --client-ca-file="$dir/pki/ca.crt" --token-auth-file="$dir/pki/tokens.csv" \
    --authorization-mode=RBAC --allow-privileged=true \
    --disable-admission-plugins=ServiceAccount --service-cluster-ip-range=10.0.0.0/24 \
    --service-account-issuer="$api_url/" --service-account-key-file="$dir/pki/sa.pub" \
    --service-account-signing-key-file="$dir/pki/sa.key" \
    --endpoint-reconciler-type=none \
    </dev/null >"$dir/kube-apiserver.log" 2>&1 &
  echo $! >"$dir/kube-apiserver.pid"

  if [[ -n $owner ]]; then
    setsid bash "$here/control-plane.sh" _watch "$dir" "$owner" </dev/null >/dev/null 2>&1 &
    echo $! >"$dir/watchdog.pid"
  fi
  write_kubeconfig "$dir" "$api_url" "$token"

  local deadline=$((SECONDS + 60))
  until [[ $(curl -fsS --max-time 2 --cacert "$dir/pki/ca.crt" -H "Authorization: Bearer $token" \
    "$api_url/readyz" 2>/dev/null) == ok ]]; do
    if ((SECONDS >= deadline)) || ! live_pid "$dir" etcd >/dev/null || ! live_pid "$dir" kube-apiserver >/dev/null; then
      log "control plane did not become ready; log tails follow"
      for f in etcd kube-apiserver; do echo "==> $dir/$f.log <==" >&2; tail -n 30 "$dir/$f.log" >&2 || true; done
      stop "$dir" watchdog kube-apiserver etcd
      exit 1
    fi
    sleep 0.25
  done

  log "ready: $api_url (etcd $etcd_url)"
  echo "$dir/kubeconfig"
}

down() {
  local dir
  [[ -d $1 ]] || return 0
  dir="$(cd "$1" && pwd)"
  stop "$dir" watchdog kube-apiserver etcd
}

case "${1:-}" in
  up)
    [[ $# -eq 2 || ($# -eq 4 && $3 == --owner-pid && $4 =~ ^[0-9]+$) ]] || usage
    up "$2" "${4:-}" ;;
  down) [[ $# -eq 2 ]] || usage; down "$2" ;;
  _watch) watch_owner "$2" "$3" ;;
  *) usage ;;
esac
