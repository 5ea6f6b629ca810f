# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := bash
CARGO ?= cargo

.PHONY: build crds lint control-plane moto packages tools image test demo clean chart-docs chart-crds

build:
	$(CARGO) build --all-features --bins

## crds: regenerate crds/ from the Rust types, and the chart's copy
crds:
	$(CARGO) run --quiet -- crd > crds/servicenetworkserviceassociations.vpclattice.operator.dev.yaml
	$(MAKE) --no-print-directory chart-crds

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-features --all-targets -- -D warnings

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
	hack/tools/prometheus-operator-crds/crds.sh >/dev/null

## image: the container image as an OCI archive, target/image/vpc-lattice-operator-<version>.oci.tar
image:
	hack/image.sh >/dev/null

## test: every gate CI runs: fmt, clippy, unit, adapter, integration and end-to-end tests
## (the image is built first: its cold release build would otherwise compete with the timed tests)
test: lint control-plane moto packages tools image
	VLO_MOTO_PYTHON="$$(hack/moto.sh)" $(CARGO) test --all-features

## demo: the operator's main job on a local control plane and a local Lattice emulator
demo: control-plane
	hack/demo.sh

clean:
	$(CARGO) clean

## chart-docs: regenerate charts/vpc-lattice-operator/README.md from its values.yaml and README.md.gotmpl (helm-docs)
chart-docs:
	"$$(hack/go-tool.sh helm-docs | tail -n1)/helm-docs" --chart-search-root charts/vpc-lattice-operator --sort-values-order file

## chart-crds: copy crds/ into the chart (after `make crds`; a test fails while they differ)
chart-crds:
	rm -f charts/vpc-lattice-operator/crds/*.yaml
	cp crds/*.yaml charts/vpc-lattice-operator/crds/
