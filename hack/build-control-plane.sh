#!/usr/bin/env bash
# Builds the local test control plane (kube-apiserver, etcd, kube-controller-manager and
# kube-scheduler) from the Go modules pinned in hack/control-plane/go.mod, into a per-version cache:
#   ${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/control-plane/<k8sver>-<etcdver>/bin/
# Skips the build when all four binaries are already there (a cache dir holding only some of them,
# e.g. from an older version of this script, gets the missing ones). Safe to run concurrently
# (flock). The last line on stdout is the bin directory.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/control-plane" && pwd)"
modver() { awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$src/go.mod"; }
k8s_version="$(modver k8s.io/kubernetes)"
etcd_version="$(modver go.etcd.io/etcd/server/v3)"
[[ -n $k8s_version && -n $etcd_version ]] || { echo "cannot read versions from $src/go.mod" >&2; exit 1; }

cache="${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/control-plane/${k8s_version}-${etcd_version}"
bin="$cache/bin"
binaries=(kube-apiserver etcd kube-controller-manager kube-scheduler)
missing() { local b; for b in "${binaries[@]}"; do [[ -x $bin/$b ]] || echo "$b"; done; }

if [[ -n $(missing) ]]; then
  mkdir -p "$cache"
  exec 9>"$cache/.build.lock"
  flock 9
  mapfile -t todo < <(missing)   # another process may have built some while we waited
  if ((${#todo[@]})); then
    ver="${k8s_version#v}"; major="${ver%%.*}"; minor="${ver#*.}"; minor="${minor%%.*}"
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
      ldflags+=" -X $pkg.gitCommit=${KUBE_GIT_COMMIT:-} -X $pkg.gitTreeState=clean"
      ldflags+=" -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    done
    echo "building ${todo[*]} (Kubernetes $k8s_version, etcd $etcd_version; takes minutes when cold)..." >&2
    tmp="$(mktemp -d "$cache/.build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    (cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 go build -buildvcs=false -trimpath \
      -ldflags "$ldflags" -o "$tmp/" "${todo[@]/#/./cmd/}")
    mkdir -p "$bin"
    for b in "${todo[@]}"; do mv "$tmp/$b" "$bin/$b"; done
  fi
fi
echo "$bin"
