//! The limiter's metrics, per namespace of the objects whose calls wait: how many wait for a token
//! now (`aws_limiter_queued_calls`) and how long they waited (`aws_limiter_wait_seconds`).

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The namespace of the objects whose calls these are (`object_namespace`: Prometheus's own
/// `namespace` label names the operator Pod's).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabels {
    object_namespace: String,
}

/// The limiter's metrics, per namespace: calls waiting for a token, and how long calls waited.
/// Cloning shares the families.
#[derive(Clone)]
pub struct LimiterMetrics {
    queued: Family<NamespaceLabels, Gauge>,
    waited: Family<NamespaceLabels, Histogram>,
}

impl Default for LimiterMetrics {
    fn default() -> Self {
        fn wait_buckets() -> Histogram {
            // 1 ms to about 65 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 17))
        }
        Self {
            queued: Family::default(),
            waited: Family::new_with_constructor(wait_buckets as fn() -> Histogram),
        }
    }
}

impl LimiterMetrics {
    /// Registers the families into `registry` (the process's, prefixed `vpc_lattice_operator`).
    #[must_use]
    pub fn register(self, registry: &mut Registry) -> Self {
        registry.register(
            "aws_limiter_queued_calls",
            "AWS calls waiting for the client-side rate limiter, by the namespace of their objects (empty: the drift scan)",
            self.queued.clone(),
        );
        registry.register(
            "aws_limiter_wait_seconds",
            "How long AWS calls waited for the client-side rate limiter, by the namespace of their objects",
            self.waited.clone(),
        );
        self
    }

    /// The gauge of calls of `object_namespace` waiting for a token.
    pub fn queued(&self, object_namespace: &str) -> Gauge {
        self.queued.get_or_create(&labels(object_namespace)).clone()
    }

    /// Records how long a call of `object_namespace` waited for its token.
    pub fn waited(&self, object_namespace: &str, took: Duration) {
        self.waited
            .get_or_create(&labels(object_namespace))
            .observe(took.as_secs_f64());
    }
}

fn labels(object_namespace: &str) -> NamespaceLabels {
    NamespaceLabels {
        object_namespace: object_namespace.into(),
    }
}

/// A call counted in its namespace's `aws_limiter_queued_calls` until dropped (also when cancelled).
pub(super) struct Queued(Gauge);

impl Queued {
    pub(super) fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.dec();
    }
}
