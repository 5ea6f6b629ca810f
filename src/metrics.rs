//! Prometheus metrics (prometheus-client), registered once per process and served on the admin port.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::lattice::LatticeError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AwsCallLabels {
    pub operation: String,
    pub outcome: String,
    pub error_code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub association_status: String,
}

/// Every metric the operator exports.
pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ResultLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub aws_calls: Family<AwsCallLabels, Counter>,
    pub aws_call_duration: Family<OperationLabels, Histogram>,
    pub objects: Family<StatusLabels, Gauge>,
    pub recreate_attempts: Counter,
    pub status_patches: Family<ResultLabels, Counter>,
    pub events: Family<ReasonLabels, Counter>,
    /// 1 while this process reconciles (holds the leader Lease, or runs without leader election).
    pub leader: Gauge,
}

fn buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vpc_lattice_operator");
        let reconciles = Family::<ResultLabels, Counter>::default();
        let reconcile_duration = buckets();
        let aws_calls = Family::<AwsCallLabels, Counter>::default();
        let aws_call_duration =
            Family::<OperationLabels, Histogram>::new_with_constructor(buckets as fn() -> Histogram);
        let objects = Family::<StatusLabels, Gauge>::default();
        let recreate_attempts = Counter::default();
        let status_patches = Family::<ResultLabels, Counter>::default();
        let events = Family::<ReasonLabels, Counter>::default();
        let leader = Gauge::default();
        registry.register("reconciles", "Reconciles by result", reconciles.clone());
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            reconcile_duration.clone(),
        );
        registry.register(
            "aws_calls",
            "VPC Lattice calls by operation, outcome and error code",
            aws_calls.clone(),
        );
        registry.register(
            "aws_call_duration_seconds",
            "VPC Lattice call duration",
            aws_call_duration.clone(),
        );
        registry.register(
            "objects",
            "Objects by association status (from the drift scan)",
            objects.clone(),
        );
        registry.register(
            "recreate_attempts",
            "Associations recreated after failure or loss",
            recreate_attempts.clone(),
        );
        registry.register("status_patches", "Status writes by result", status_patches.clone());
        registry.register("events", "Kubernetes Events published, by reason", events.clone());
        registry.register(
            "leader",
            "1 while this process reconciles: it holds the leader Lease, or runs without leader election",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            reconcile_duration,
            aws_calls,
            aws_call_duration,
            objects,
            recreate_attempts,
            status_patches,
            events,
            leader,
        }
    }
}

impl Metrics {
    /// Records one AWS call.
    pub fn aws_call(&self, operation: &str, error: Option<&LatticeError>, took: Duration) {
        let labels = AwsCallLabels {
            operation: operation.into(),
            outcome: if error.is_some() { "error" } else { "success" }.into(),
            error_code: error.map(|e| e.code.clone()).unwrap_or_default(),
        };
        self.aws_calls.get_or_create(&labels).inc();
        self.aws_call_duration
            .get_or_create(&OperationLabels {
                operation: operation.into(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts one labelled outcome in a `result`-labelled family.
    pub fn count(family: &Family<ResultLabels, Counter>, result: &str) {
        family.get_or_create(&ResultLabels { result: result.into() }).inc();
    }

    /// Counts one published Event.
    pub fn event(&self, reason: &str) {
        self.events.get_or_create(&ReasonLabels { reason: reason.into() }).inc();
    }

    /// The registry in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
