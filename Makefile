# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := bash
CARGO ?= cargo

.PHONY: build crds check-crds lint unit control-plane moto test demo clean

build:
	$(CARGO) build --all-features --bins

## crds: regenerate crds/ from the Rust types
crds:
	$(CARGO) run --quiet -- crd > crds/servicenetworkserviceassociations.vpclattice.operator.dev.yaml

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-features --all-targets -- -D warnings

## control-plane: build kube-apiserver and etcd from their Go modules (cached by version)
control-plane:
	hack/build-control-plane.sh >/dev/null

## moto: install moto's server into a cached virtualenv
moto:
	hack/moto.sh >/dev/null

## test: every gate CI runs: fmt, clippy, unit, adapter, integration and end-to-end tests
test: lint control-plane moto
	VLO_MOTO_PYTHON="$$(hack/moto.sh)" $(CARGO) test --all-features

## demo: the operator's main job on a local control plane and a local Lattice emulator
demo: control-plane
	hack/demo.sh

clean:
	$(CARGO) clean
