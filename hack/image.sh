#!/usr/bin/env bash
# Builds the operator's container image without a container engine (`make image`), as an OCI image
# archive (an OCI image layout in a tar, tagged with the Cargo version):
#
#   target/image/vpc-lattice-operator-<version>.oci.tar
#
# It is the image the Dockerfile builds: FROM scratch, one layer holding only
#   /vpc-lattice-operator               the release binary, statically linked (glibc, crt-static)
#   /etc/ssl/certs/ca-certificates.crt  the CA bundle of Debian's ca-certificates package
#   /etc/nsswitch.conf                  `hosts: files dns` (see below)
# run as 65532:65532 with ENTRYPOINT ["/vpc-lattice-operator"], CMD ["run"], the OCI labels, and
# MALLOC_ARENA_MAX=1: glibc's malloc in one arena (measured, 10,000 objects: 59.0 MiB peak RSS
# instead of 63.4; over a long run it also stops the growth that per-thread arenas' free pages
# caused, 109 MiB instead of 128 before issue 18's cuts). The operator's allocations are few and
# small; one arena's lock costs it nothing measurable.
# tests/integration/image.rs checks the two agree and runs this image with crun (hack/run-image.sh).
#
# Why umoci: it is a Debian package (installed on demand by hack/debian-packages.sh), it writes an
# OCI image layout directly with no daemon, and it leaves us no image-format code to maintain
# (manifest, config, digests and diff IDs are its job; we only hand it a layer tar and the config).
#
# Why /etc/nsswitch.conf: a static glibc binary resolves names with the `files` and `dns` sources
# built into libc (glibc >= 2.34), but without /etc/nsswitch.conf glibc's default order is
# `dns [!UNAVAIL=return] files`: DNS first, and any answer from it but "unavailable" (e.g. NXDOMAIN
# from the cluster DNS asked for `localhost`) ends the lookup before /etc/hosts is read; only with no
# DNS server at all (tried: a scratch root, host network) does it fall through to /etc/hosts.
# `hosts: files dns` is the order musl and Go use, and what distroless ships. /etc/hosts and
# /etc/resolv.conf are not in the image: the container runtime (Docker, Kubernetes) mounts them.
#
# Why the CA bundle is rebuilt: the host's /etc/ssl/certs/ca-certificates.crt may hold certificates
# added locally (/usr/local/share/ca-certificates, e.g. a proxy's CA); the image gets only the
# package's own, /usr/share/ca-certificates/mozilla/*.crt, concatenated in name order.
#
# Environment: IMAGE_SOURCE sets the org.opencontainers.image.source label (default: the
# `repository` of Cargo.toml, if any); SOURCE_DATE_EPOCH the timestamps (default: the last commit's).
# The last line on stdout is the archive's path.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export LC_ALL=C   # name order of globs and tar entries

hack/debian-packages.sh umoci file ca-certificates tar

package_field() { sed -n "/^\[package\]/,/^\[/s/^$1 = \"\(.*\)\"\$/\1/p" Cargo.toml | head -n1; }
name=vpc-lattice-operator
version="$(package_field version)"
license="$(package_field license)"
description="$(package_field description)"
source_url="${IMAGE_SOURCE:-$(package_field repository)}"
[[ -n $version ]] || { echo "cannot read the package version from Cargo.toml" >&2; exit 1; }
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"

# The release binary, statically linked. --target makes RUSTFLAGS apply to the binary only (not to
# build scripts and proc macros, which cannot be static). Its own target dir, in the cache outside the
# checkout, keeps the normal build cache valid and makes a fresh clone's build (CI's) warm.
# The machine's own architecture: images are built natively, one per architecture (the release
# workflow builds amd64 and arm64 on runners of each and joins them in one multi-arch index).
case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "unsupported architecture $(uname -m): amd64 and arm64 are" >&2; exit 1 ;;
esac
triple="$(uname -m)-unknown-linux-gnu"
target_dir="${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/target-static"
# Run from a test, the environment carries the variables cargo sets for the test (CARGO_PKG_NAME,
# CARGO_MANIFEST_DIR, ...); build scripts that watch them (ring does) would then rebuild each time
# the image is built from a shell after a test or the other way round.
for v in $(compgen -e); do
  case $v in
    CARGO_PKG_* | CARGO_MANIFEST_* | CARGO_BIN_* | CARGO_CRATE_NAME | CARGO_PRIMARY_PACKAGE | \
      CARGO_TARGET_TMPDIR | CARGO_RUSTC_CURRENT_DIR | OUT_DIR) unset "$v" ;;
  esac
done
echo "building the static release binary (minutes when cold)..." >&2
env -u CARGO_ENCODED_RUSTFLAGS RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build --release --locked --bin "$name" --target "$triple" --target-dir "$target_dir" >&2
bin="$target_dir/$triple/release/$name"
kind="$(file -b "$bin")"
linked="$(ldd "$bin" 2>&1 || true)"
if [[ $kind != *"static-pie linked"* && $kind != *"statically linked"* ]] ||
  [[ $linked != *"statically linked"* && $linked != *"not a dynamic executable"* ]]; then
  echo "$bin is not statically linked:" >&2
  echo "  file: $kind" >&2
  echo "  ldd:  $linked" >&2
  exit 1
fi
[[ "$("$bin" --version)" == "$name $version" ]] || { echo "$bin --version is not '$name $version'" >&2; exit 1; }

mkdir -p target/image
exec 9>target/image/.lock
flock 9   # `make image` and a test may build at once: one packs at a time
work="$(mktemp -d target/image/.work.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# The layer: only these files and their directories, owned by root, timestamps fixed.
root="$work/rootfs"
install -D -s -m 0755 "$bin" "$root/$name"   # -s: without symbols (a third of the size)
mkdir -p "$root/etc/ssl/certs"
shopt -s nullglob
certs=(/usr/share/ca-certificates/mozilla/*.crt)
shopt -u nullglob
((${#certs[@]} > 0)) || { echo "no certificates in /usr/share/ca-certificates/mozilla" >&2; exit 1; }
awk 1 "${certs[@]}" >"$root/etc/ssl/certs/ca-certificates.crt"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt" "$root/etc/nsswitch.conf"
chmod 0755 "$root/etc" "$root/etc/ssl" "$root/etc/ssl/certs"
tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mode=go+rX,go-w --mtime="@$epoch" \
  -C "$root" -cf "$work/layer.tar" etc "$name"

layout="$work/layout"
image="$layout:$version"
umoci init --layout "$layout"
umoci new --image "$image"
umoci raw add-layer --image "$image" --history.created "$created" \
  --history.created_by "hack/image.sh: $name, ca-certificates.crt, nsswitch.conf" "$work/layer.tar"
umoci config --image "$image" --no-history --created "$created" \
  --os linux --architecture "$arch" --config.user 65532:65532 \
  --config.entrypoint "/$name" --config.cmd run \
  --config.env MALLOC_ARENA_MAX=1 \
  --config.label "org.opencontainers.image.title=$name" \
  --config.label "org.opencontainers.image.description=$description" \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.licenses=$license" \
  --config.label "org.opencontainers.image.source=$source_url"
umoci gc --layout "$layout"

out="target/image/$name-$version.oci.tar"
tar --format=ustar --sort=name --owner=0 --group=0 --numeric-owner --mode=go+rX,go-w --mtime="@$epoch" \
  -C "$layout" -cf "$work/image.oci.tar" oci-layout index.json blobs
mv "$work/image.oci.tar" "$out"
echo "$out ($(du -h "$out" | cut -f1))" >&2
echo "$out"
