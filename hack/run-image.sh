#!/usr/bin/env bash
# Runs the OCI image archive that hack/image.sh builds with crun, no container engine needed: the
# archive is unpacked into an OCI runtime bundle (umoci unpack), its config.json edited, then
# `crun run` in the foreground. Used by tests/integration/image.rs; handy to try the image by hand.
#
#   hack/run-image.sh run [--name ID] [--bundle DIR] [--env K=V]... [--mount SRC:DST]... ARCHIVE [ARG...]
#       ARGs replace the image's CMD (ENTRYPOINT stays). --bundle: where to unpack (it must not exist
#       yet; default: a temporary directory removed on exit). --mount: a read-only bind mount.
#   hack/run-image.sh kill ID [SIGNAL]     signal the container's process (default TERM)
#   hack/run-image.sh delete ID            remove the container (killing it if it still runs)
#
# The container: the host's network namespace (no network namespace, so loopback servers are
# reachable), read-only root, no capabilities, no new privileges, the image's user, env and
# entrypoint. Like a runtime would, nothing provides /etc/hosts or /etc/resolv.conf unless mounted.
#
# cgroups: crun refuses a hybrid cgroup v1/v2 layout ("cgroups in hybrid mode not supported") and,
# given an empty /sys/fs/cgroup instead, fails to "join cgroup". So every crun call runs in its own
# mount namespace with an empty tmpfs over /sys/fs/cgroup and --cgroup-manager=disabled (no cgroup
# is created; limits are not what this is for). That works on cgroup v1, v2 and hybrid hosts.
# Needs root; installs umoci, crun and jq when missing.
set -euo pipefail

hack="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() { sed -n '6,10s/^#  //p' "${BASH_SOURCE[0]}" >&2; exit 2; }

crun_() {
  unshare --mount --propagation private sh -c \
    'mount -t tmpfs -o mode=0755 tmpfs /sys/fs/cgroup && exec crun --cgroup-manager=disabled "$@"' crun "$@"
}

((EUID == 0)) || { echo "$0: crun and umoci unpack need root here" >&2; exit 1; }
"$hack/debian-packages.sh" umoci crun jq util-linux

cmd="${1:-}"
shift || true
case $cmd in
  kill)
    (($# >= 1)) || usage
    crun_ kill "$1" "${2:-TERM}"
    exit
    ;;
  delete)
    (($# == 1)) || usage
    # Gone already is fine: `crun run` removes the container when its process exits.
    crun_ delete --force "$1" 2>/dev/null || true
    exit 0
    ;;
  run) ;;
  *) usage ;;
esac

id="vlo-$$"
bundle=""
envs=()
mounts=()
while (($# > 0)); do
  case $1 in
    --name) id="$2"; shift 2 ;;
    --bundle) bundle="$2"; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --mount) mounts+=("$2"); shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($# >= 1)) || usage
archive="$1"
shift
[[ -f $archive ]] || { echo "$0: no image archive at $archive" >&2; exit 1; }

if [[ -z $bundle ]]; then
  bundle="$(mktemp -d "${TMPDIR:-/tmp}/vlo-image.XXXXXX")/bundle"
  trap 'crun_ delete --force "$id" 2>/dev/null || true; rm -rf "$(dirname "$bundle")"' EXIT
fi
[[ ! -e $bundle ]] || { echo "$0: $bundle exists already" >&2; exit 1; }
layout="$bundle.layout"
mkdir -p "$layout"
tar -C "$layout" -xf "$archive"
blob() { echo "$layout/blobs/${1/://}"; }
tag="$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$layout/index.json")"
manifest="$(blob "$(jq -r '.manifests[0].digest' "$layout/index.json")")"
# umoci writes process.args as ENTRYPOINT + CMD; ARGs replace the CMD part.
entrypoint_len="$(jq -r '.config.Entrypoint | length' "$(blob "$(jq -r .config.digest "$manifest")")")"
umoci unpack --image "$layout:$tag" "$bundle" >&2
rm -rf "$layout"

args_json="$(jq -cn '$ARGS.positional' --args -- "$@")"
env_json="$(jq -cn '$ARGS.positional' --args -- "${envs[@]}")"
mounts_json="$(
  for m in "${mounts[@]}"; do
    src="$(realpath -e "${m%%:*}")"
    jq -cn --arg s "$src" --arg d "${m#*:}" '{destination: $d, type: "bind", source: $s, options: ["rbind", "ro"]}'
  done | jq -cs .
)"
jq --argjson args "$args_json" --argjson env "$env_json" --argjson mounts "$mounts_json" \
  --argjson n "$entrypoint_len" '
  .process.terminal = false
  | (if ($args | length) > 0 then .process.args = .process.args[0:$n] + $args else . end)
  | .process.env = [.process.env[] | select(startswith("TERM=") | not)] + $env
  | .process.capabilities = {bounding: [], effective: [], inheritable: [], permitted: [], ambient: []}
  | .process.noNewPrivileges = true
  | .root.readonly = true
  | .linux.namespaces |= map(select(.type != "network"))
  | del(.linux.resources, .linux.cgroupsPath)
  | .mounts = [.mounts[] | select(.destination != "/sys/fs/cgroup")] + $mounts
' "$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

status=0
crun_ run --bundle "$bundle" "$id" </dev/null || status=$?
exit "$status"
