# The commands a newcomer needs: `make demo`, `make unit` (fast, every day) and `make test` (the full gate).
SHELL := bash
CARGO ?= cargo

.PHONY: build crds lint control-plane moto packages tools image unit test soak demo clean chart-docs chart-crds bench bench-report

## build: the operator and the lattice-emulator binaries
build:
	$(CARGO) build --workspace --bins

## crds: regenerate crds/ from the Rust types, and the chart's copy
crds:
	$(CARGO) run --quiet -- crd > crds/servicenetworkserviceassociations.vpclattice.operator.dev.yaml
	$(MAKE) --no-print-directory chart-crds

## lint: rustfmt, clippy (warnings are errors), cargo-deny (licenses, bans, sources: deny.toml),
## shellcheck over the scripts and actionlint over .github/workflows/ (with shellcheck on their run
## steps); cargo-deny (pinned, into the cargo bin), shellcheck (Debian) and actionlint (its Go module,
## hack/tools/actionlint/) are installed when missing
CARGO_DENY_VERSION := 0.20.2
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	[[ "$$($(CARGO) deny --version 2>/dev/null)" == "cargo-deny $(CARGO_DENY_VERSION)" ]] || \
	  $(CARGO) install --locked --quiet cargo-deny --version $(CARGO_DENY_VERSION)
	$(CARGO) deny --locked check licenses bans sources
	hack/debian-packages.sh shellcheck
	shellcheck $$(find hack -name '*.sh') .ci/run
	"$$(hack/go-tool.sh actionlint | tail -n1)/actionlint" -no-color

## control-plane: build kube-apiserver, etcd, kube-controller-manager and kube-scheduler from their Go modules (cached by version)
control-plane:
	hack/build-control-plane.sh >/dev/null

## moto: install moto's server into a cached virtualenv
moto:
	hack/moto.sh >/dev/null

## packages: Debian packages the tests use (umoci packs and unpacks the image, crun runs it, lua5.1
## runs the Argo CD health check)
packages:
	hack/debian-packages.sh umoci crun jq file lua5.1

## tools: the Go tools the tests drive, each built from its pinned module under hack/tools/ (cached)
tools:
	for t in helm helm-docs promtool kwok kstatus; do hack/go-tool.sh $$t >/dev/null || exit 1; done
	for c in prometheus-operator-crds gitops-crds gateway-api-crds; do hack/module-files.sh $$c >/dev/null || exit 1; done

## image: the container image as an OCI archive, target/image/vpc-lattice-operator-<version>.oci.tar
image:
	hack/image.sh >/dev/null

## unit: the fast layers, for everyday work: the library's unit tests, the AWS adapter tests
## (tests/sdk_adapter.rs), the command-line checks (tests/cli.rs), the emulator crate's tests and the
## bench's bound arithmetic.
## No control plane, no Go, no Python.
unit:
	$(CARGO) test --workspace --lib --test sdk_adapter --test cli
	$(CARGO) test -p vlo-bench --bin vlo-bench

## test: every gate CI runs: fmt, clippy, unit, adapter, integration and end-to-end tests
## (the image is built first: its cold release build would otherwise compete with the timed tests)
test: lint control-plane moto packages tools image
	VLO_MOTO_PYTHON="$$(hack/moto.sh)" $(CARGO) test --locked --workspace

## soak: the fault table's repeating rows (docs/reliability.md) 100 times each instead of make test's 5;
## prints one `fault-table` line of counts per row
soak: control-plane moto packages tools
	VLO_FAULT_REPS=$${VLO_FAULT_REPS:-100} VLO_MOTO_PYTHON="$$(hack/moto.sh)" $(CARGO) test --locked --test integration faults:: -- --nocapture

## demo: the operator's main job on a local control plane and a local Lattice emulator
demo: control-plane
	hack/demo.sh

## bench: issue 8's benchmarks (bench/, BENCHMARKS.md): the release operator against a fresh control
## plane and the release Lattice emulator per scenario, every figure beside its physical bound; writes
## bench/results/<date>-<scenario>.json and regenerates BENCHMARKS.md. Not part of `make test`: 40-60
## minutes on two cores. BENCH_ARGS='--scenario single' runs one scenario; VLO_BENCH_SCALE=0.1 divides
## the object counts (results then go to target/bench/results/, not into BENCHMARKS.md).
## (The bench binary is run from the workspace build, not with `cargo run -p vlo-bench`, whose
## narrower feature resolution would build the dependencies a second time.)
BENCH := $${CARGO_TARGET_DIR:-target}/release/vlo-bench
bench: control-plane
	$(CARGO) build --release --locked --workspace --bins
	$(BENCH) run $(BENCH_ARGS)

## bench-report: regenerate BENCHMARKS.md and its plot from the latest bench/results/, running nothing
## (the build is a no-op after `make bench`)
bench-report:
	$(CARGO) build --release --locked --workspace --bins
	$(BENCH) report

clean:
	$(CARGO) clean

## chart-docs: regenerate charts/vpc-lattice-operator/README.md from its values.yaml and README.md.gotmpl (helm-docs)
chart-docs:
	"$$(hack/go-tool.sh helm-docs | tail -n1)/helm-docs" --chart-search-root charts/vpc-lattice-operator --sort-values-order file

## chart-crds: copy crds/ into the chart (after `make crds`; a test fails while they differ)
chart-crds:
	rm -f charts/vpc-lattice-operator/files/crds/*.yaml
	cp crds/*.yaml charts/vpc-lattice-operator/files/crds/
