#!/usr/bin/env bash
# Copies the ServiceMonitor and PrometheusRule CRDs of the prometheus-operator release pinned by
# go.mod (checked against go.sum) out of the Go module cache into a directory keyed by the pin:
#   ${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/tools/prometheus-operator-crds-<sha of go.mod>/
#
#   hack/tools/prometheus-operator-crds/crds.sh    the last stdout line is that directory.
# The chart's tests install them before a server-side dry run of its ServiceMonitor/PrometheusRule.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
key="$(sha256sum <"$src/go.mod" | cut -c1-12)"
out="${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/tools/prometheus-operator-crds-$key"
files=(monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml)

if [[ ! -f $out/.complete ]]; then
  mkdir -p "$out"
  exec 9>"$out/.lock"
  flock 9
  if [[ ! -f $out/.complete ]]; then
    module="github.com/prometheus-operator/prometheus-operator"
    dir="$(cd "$src" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go mod download -json "$module" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
    [[ -n $dir && -d $dir ]] || { echo "go mod download $module gave no directory" >&2; exit 1; }
    for f in "${files[@]}"; do
      cp "$dir/example/prometheus-operator-crd/$f" "$out/$f"
      chmod 0644 "$out/$f"
    done
    touch "$out/.complete"
  fi
fi
echo "$out"
