#!/usr/bin/env bash
# Makes sure the named Debian packages are installed: installs the missing ones with apt-get (one
# `apt-get update` first, only when something is missing) and does nothing when all are there.
#
#   hack/debian-packages.sh PKG...
#
# Scripts and tests call it for the tools they need (umoci, crun, lua5.1, ...), so a fresh machine
# needs no manual step. Needs root (or sudo). Safe to run concurrently: apt-get runs under a lock.
set -euo pipefail

(($# > 0)) || { echo "usage: $0 PKG..." >&2; exit 2; }

missing() {
  local p
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" == installed ]] || echo "$p"
  done
}

mapfile -t todo < <(missing "$@")
((${#todo[@]} == 0)) && exit 0

command -v apt-get >/dev/null || { echo "$0: apt-get not found; install ${todo[*]} by hand" >&2; exit 1; }
sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "$0: need root (or sudo) to install ${todo[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

# Several test threads or scripts may ask at once; the second one waits, then finds less to do.
lock="${TMPDIR:-/tmp}/vlo-debian-packages.lock"
exec 9>"$lock"
flock 9
mapfile -t todo < <(missing "${todo[@]}")
((${#todo[@]} == 0)) && exit 0

echo "installing Debian packages: ${todo[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${todo[@]}" >&2
