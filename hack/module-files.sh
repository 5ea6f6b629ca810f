#!/usr/bin/env bash
# Copies files out of the Go modules a tool directory pins (hack/tools/<name>/go.mod, checked against
# its go.sum) into a cache directory keyed by the pins; the tests install third-party CRDs from it.
#   hack/module-files.sh <name>    hack/tools/<name>/files.txt lists `<module> <path in the module>`,
#                                  one per line; the last stdout line is the cache directory, which
#                                  holds each file under its base name:
#   ${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/tools/<name>-<sha of go.mod and files.txt>/
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 <name of a directory under hack/tools/>" >&2; exit 2; }
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/tools/$1" && pwd)"
key="$(cat "$src/go.mod" "$src/files.txt" | sha256sum | cut -c1-12)"
out="${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/tools/$1-$key"

if [[ ! -f $out/.complete ]]; then
  mkdir -p "$out"
  exec 9>"$out/.lock"
  flock 9
  if [[ ! -f $out/.complete ]]; then
    while read -r module path; do
      [[ -z $module || $module == \#* ]] && continue
      dir="$(cd "$src" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go mod download -json "$module" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
      [[ -n $dir && -d $dir ]] || { echo "go mod download $module gave no directory" >&2; exit 1; }
      cp "$dir/$path" "$out/$(basename "$path")"
      chmod 0644 "$out/$(basename "$path")"
    done <"$src/files.txt"
    touch "$out/.complete"
  fi
fi
echo "$out"
