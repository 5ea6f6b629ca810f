#!/usr/bin/env bash
# Builds a Go tool pinned by its own module under hack/tools/NAME/ (go.mod + go.sum, the tool's
# main package recorded with a `tool` directive, as `go list tool` lists them) into a cache keyed by
# the module's pins (and its own sources, if any):
#   ${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/tools/NAME-<sha of go.mod>/bin/
#
#   hack/go-tool.sh NAME     builds (once) every `tool` of hack/tools/NAME/go.mod; the last stdout
#                            line is the bin directory holding them.
# An optional hack/tools/NAME/ldflags adds linker flags (e.g. the version a tool reports).
# Skips the build when the directory is complete. Safe to run concurrently (flock).
set -euo pipefail

name="${1:?usage: $0 NAME}"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/tools/$name" && pwd)"
# The key covers the pins, the linker flags and the module's own Go sources (a tool directive may
# name a package of the module itself, as hack/tools/kstatus/ does); ldflags is optional.
key="$({ cat "$src/go.mod"; cat "$src/ldflags" 2>/dev/null || true
  find "$src" -name '*.go' -print0 | LC_ALL=C sort -z | xargs -0r cat; } | sha256sum | cut -c1-12)"
cache="${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/tools/$name-$key"
bin="$cache/bin"
tools="$(cd "$src" && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go list tool)"
[[ -n $tools ]] || { echo "no tool directive in $src/go.mod" >&2; exit 1; }

if [[ ! -f $bin/.complete ]]; then
  mkdir -p "$cache"
  exec 9>"$cache/.build.lock"
  flock 9
  if [[ ! -f $bin/.complete ]]; then
    echo "building $name ($(tr '\n' ' ' <<<"$tools")) from its Go module (minutes when cold)..." >&2
    tmp="$(mktemp -d "$cache/.build.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    # shellcheck disable=SC2086 # one package per word
    (cd "$src" && GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -buildvcs=false -trimpath \
      -ldflags "-s -w $(cat "$src/ldflags" 2>/dev/null || true)" -o "$tmp/" $tools)
    rm -rf "$bin"
    mv "$tmp" "$bin"
    touch "$bin/.complete"
  fi
fi
echo "$bin"
