# The operator's image, for your own CI:
#
#   docker build --build-arg VERSION=0.1.0 --build-arg SOURCE=https://<your repository> \
#     -t vpc-lattice-operator:0.1.0 .
#
# FROM scratch, one layer holding only the statically linked release binary, the CA bundle of
# Debian's ca-certificates package and /etc/nsswitch.conf; user 65532:65532. `make image`
# (hack/image.sh) builds the same image without a container engine, and tests/integration/image.rs
# checks that this file agrees with it (files, USER, ENTRYPOINT, CMD, labels). Why each file is
# there: see hack/image.sh.

# The toolchain rust-toolchain.toml pins (CI uses the same). Bookworm: glibc 2.36 (as `make image`
# was tested with), whose `files` and `dns` name services are built into the static libc.
ARG RUST_VERSION=1.95.0

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
# Static glibc binary; --target keeps RUSTFLAGS off build scripts and proc macros. The target is the
# build machine's own (amd64 or arm64): build each architecture natively, as the release workflow does.
ENV RUSTFLAGS="-C target-feature=+crt-static" CARGO_TERM_COLOR=never

# Dependencies in a layer of their own, rebuilt only when Cargo.toml or Cargo.lock change. The
# workspace's other members (lattice-emulator, test tooling; bench, `make bench`) are never built
# here; only their manifests are needed, for the workspace and the lockfile.
COPY rust-toolchain.toml Cargo.toml Cargo.lock ./
COPY lattice-emulator/Cargo.toml lattice-emulator/
COPY bench/Cargo.toml bench/
RUN mkdir -p src lattice-emulator/src bench/src \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > lattice-emulator/src/main.rs \
 && echo 'fn main() {}' > bench/src/main.rs \
 && touch src/lib.rs lattice-emulator/src/lib.rs \
 && cargo build --release --locked --bin vpc-lattice-operator --target "$(uname -m)-unknown-linux-gnu" \
 && rm -rf src

COPY src ./src
RUN touch src/main.rs src/lib.rs \
 && cargo build --release --locked --bin vpc-lattice-operator --target "$(uname -m)-unknown-linux-gnu" \
 && bin="target/$(uname -m)-unknown-linux-gnu/release/vpc-lattice-operator" \
 && ldd "$bin" 2>&1 | grep -qE 'statically linked|not a dynamic executable' \
 && install -D -s -m 0755 "$bin" /out/vpc-lattice-operator \
 && mkdir -p /out/etc/ssl/certs \
 && awk 1 /usr/share/ca-certificates/mozilla/*.crt \
      > /out/etc/ssl/certs/ca-certificates.crt \
 && printf 'hosts: files dns\n' > /out/etc/nsswitch.conf \
 && chmod 0644 /out/etc/ssl/certs/ca-certificates.crt /out/etc/nsswitch.conf

FROM scratch
ARG VERSION=dev
ARG SOURCE=""
LABEL org.opencontainers.image.title="vpc-lattice-operator" \
      org.opencontainers.image.description="Kubernetes operator for Amazon VPC Lattice service-network/service associations" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}"
COPY --from=builder /out/ /
USER 65532:65532
# glibc's malloc in one arena: less resident memory (hack/image.sh says how much).
ENV MALLOC_ARENA_MAX=1
ENTRYPOINT ["/vpc-lattice-operator"]
CMD ["run"]
