// Pins the Flux and Argo CD releases whose CRDs the install examples are applied against
// (examples/install/; hack/module-files.sh copies them out of the modules); nothing here is built.
module vpc-lattice-operator/hack/tools/gitops-crds

go 1.26.0

require (
	github.com/argoproj/argo-cd/v3 v3.4.0
	github.com/fluxcd/helm-controller v1.4.3
	github.com/fluxcd/source-controller v1.8.0
)
