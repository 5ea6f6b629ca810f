// Pins the prometheus-operator release whose ServiceMonitor and PrometheusRule CRDs the chart's
// tests install (hack/module-files.sh copies them out of the module); nothing here is built.
module vpc-lattice-operator/hack/tools/prometheus-operator-crds

go 1.26.0

require github.com/prometheus-operator/prometheus-operator v0.85.0
