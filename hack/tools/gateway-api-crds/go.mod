// Pins the Gateway API release whose HTTPRoute CRD the tests install (spec.serviceFrom.httpRouteRef;
// hack/module-files.sh copies it out of the module); nothing here is built.
module vpc-lattice-operator/hack/tools/gateway-api-crds

go 1.26.0

require sigs.k8s.io/gateway-api v1.6.3
