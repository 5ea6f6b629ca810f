#!/usr/bin/env bash
# `make demo`: the operator's main job without AWS. Starts a local control plane (kube-apiserver +
# etcd) and the Lattice emulator seeded with a service network and three services, installs the CRD,
# runs the operator, applies examples/, waits for Ready and shows the result; then imports an
# association made outside the cluster (`vpc-lattice-operator import`) and applies what it wrote. Everything stops when
# the script ends; DEMO_KEEP=1 keeps it running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d "${TMPDIR:-/tmp}/vlo-demo.XXXXXX")"
pids=()
cleanup() {
  local status=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  hack/control-plane.sh down "$work/cp" >/dev/null 2>&1 || true
  if [[ $status == 0 ]]; then
    rm -rf "$work"
  else
    echo "demo failed; logs (operator.log, emulator.log, cp/*.log) are in $work" >&2
  fi
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "building the operator and the emulator"
cargo build --quiet --workspace --bins
bin=target/debug

step "starting kube-apiserver + etcd on loopback"
export KUBECONFIG
KUBECONFIG="$(hack/control-plane.sh up "$work/cp" --owner-pid $$ | tail -n 1)"
kubectl version 2>/dev/null | grep -i server || true

step "starting the Lattice emulator (AWS REST/JSON wire protocol)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin/lattice-emulator" --addr "127.0.0.1:$port" --provisioning-delay-ms 1500 \
  --service-network sn-0123456789abcdef0=shared \
  --service svc-0123456789abcdef0=payments \
  --service svc-0fedcba9876543210=checkout \
  --service svc-0a1b2c3d4e5f60718=orders \
  --service-network sn-0b1c2d3e4f5a60789=legacy \
  --service svc-0c1d2e3f4a5b60789=inventory >"$work/emulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/emulator.log" && break; sleep 0.1; done
cat "$work/emulator.log"

step "installing the CRD"
kubectl apply -f crds/
# (Not `kubectl wait --for=condition=Established`: it fails at once while the new CRD has no
# conditions yet.)
for _ in $(seq 300); do
  [[ $(kubectl get crd servicenetworkserviceassociations.vpclattice.operator.dev \
    -o 'jsonpath={.status.conditions[?(@.type=="Established")].status}') == True ]] && break
  sleep 0.2
done

# A 10 s drift scan (the default is 10 m): the observe-only example may look before the association
# it observes is created, and an observer that found none looks again at the next drift scan.
step "running the operator"
admin_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
AWS_ENDPOINT_URL_VPC_LATTICE="http://127.0.0.1:$port" AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API="http://127.0.0.1:$port" \
  AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true \
  "$bin/vpc-lattice-operator" run --cluster-name demo --admin-addr "127.0.0.1:$admin_port" --resync-interval 10s \
  >"$work/operator.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin_port/readyz" >/dev/null && break; sleep 0.2; done
echo "operator ready (admin on 127.0.0.1:$admin_port: /livez /readyz /metrics)"

step "kubectl label namespace default vpclattice.operator.dev/allow-adoption=true (for the import below)"
kubectl label namespace default vpclattice.operator.dev/allow-adoption=true --overwrite

step "kubectl apply -f examples/"
kubectl apply -f examples/

step "kubectl wait --for=condition=Ready snsa --all"
kubectl wait --for=condition=Ready --timeout=120s snsa --all

step "kubectl get snsa"
kubectl get snsa
step "kubectl get snsa -o wide"
kubectl get snsa -o wide

step "status of payments-in-shared"
kubectl get snsa payments-in-shared -o jsonpath='{.status}' | python3 -m json.tool

step "events"
kubectl get events --field-selector involvedObject.kind=ServiceNetworkServiceAssociation \
  -o custom-columns=TYPE:.type,REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message

step "an association made outside the cluster (by hand, the console, Terraform)"
curl -sf -X POST "http://127.0.0.1:$port/_emulator/associations" -H 'content-type: application/json' \
  -d '{"serviceNetworkIdentifier":"sn-0b1c2d3e4f5a60789","serviceIdentifier":"svc-0c1d2e3f4a5b60789","tags":{"team":"inventory","cost-center":"4711"}}' \
  | python3 -m json.tool
import_() {
  AWS_ENDPOINT_URL_VPC_LATTICE="http://127.0.0.1:$port" AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API="http://127.0.0.1:$port" \
    AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_EC2_METADATA_DISABLED=true \
    "$bin/vpc-lattice-operator" import --service-network legacy --cluster-name demo --namespace default "$@"
}

step "vpc-lattice-operator import --service-network legacy --dry-run"
import_ --dry-run

step "vpc-lattice-operator import --service-network legacy (docs/migrating.md)"
import_ | tee "$work/imported.yaml"

step "kubectl apply the import (adoptionPolicy: Always: the namespace was labelled for it above)"
creates() {
  curl -sf "http://127.0.0.1:$port/_emulator/calls" | python3 -c \
    'import json,sys; c=json.load(sys.stdin); c=c["calls"]; print(sum(x["operation"]=="CreateServiceNetworkServiceAssociation" for x in c))'
}
before="$(creates)"
kubectl apply -f "$work/imported.yaml"
kubectl wait --for=condition=Ready --timeout=60s snsa/inventory-in-legacy
kubectl get snsa inventory-in-legacy
echo "Creates while the import was adopted: $(( $(creates) - before )) (its only write: TagResource with the ownership tags)"

if [[ ${DEMO_KEEP:-0} == 1 ]]; then
  step "running; KUBECONFIG=$KUBECONFIG, Lattice at http://127.0.0.1:$port. Ctrl-C stops everything."
  wait
fi
