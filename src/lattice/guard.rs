//! Wraps any [`LatticeApi`] with per-call metrics (operation, outcome, error code, duration). The
//! metric families are owned here and registered into the process's registry by whoever wires it.
//! (The client-side rate limiter is its own part, `crate::limiter`, which admits calls in front of
//! this wrapper.)

use std::time::{Duration, Instant};

use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[cfg(test)]
use super::ErrorKind;
use super::{
    Association, AssociationState, CreateAssociation, LatticeApi, LatticeError, ListFilter, Page, Tagged, Tags,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AwsCallLabels {
    operation: String,
    outcome: String,
    error_code: String,
    /// The AWS region called ("" when none is configured).
    region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
    region: String,
}

/// The AWS-call metrics (`aws_calls`, `aws_call_duration_seconds`), shared by every [`Guarded`]
/// wrapper of the process. Cloning shares the families.
#[derive(Clone)]
pub struct AwsCallMetrics {
    calls: Family<AwsCallLabels, Counter>,
    duration: Family<OperationLabels, Histogram>,
}

impl Default for AwsCallMetrics {
    fn default() -> Self {
        fn buckets() -> Histogram {
            // 5 ms to about 41 s, as the reconcile duration.
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        }
        Self {
            calls: Family::default(),
            duration: Family::new_with_constructor(buckets as fn() -> Histogram),
        }
    }
}

impl AwsCallMetrics {
    /// Registers the families into `registry` (the process's, prefixed `vpc_lattice_operator`).
    #[must_use]
    pub fn register(self, registry: &mut Registry) -> Self {
        registry.register(
            "aws_calls",
            "VPC Lattice calls by operation, outcome and error code",
            self.calls.clone(),
        );
        registry.register(
            "aws_call_duration_seconds",
            "VPC Lattice call duration",
            self.duration.clone(),
        );
        self
    }

    /// Records one AWS call in `region`.
    pub fn record(&self, (operation, region): (&str, &str), error: Option<&LatticeError>, took: Duration) {
        let labels = AwsCallLabels {
            operation: operation.into(),
            outcome: if error.is_some() { "error" } else { "success" }.into(),
            error_code: error.map(|e| e.code.clone()).unwrap_or_default(),
            region: region.into(),
        };
        self.calls.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&OperationLabels {
                operation: operation.into(),
                region: region.into(),
            })
            .observe(took.as_secs_f64());
    }
}

/// A [`LatticeApi`] whose calls are counted (operation, outcome, error code, duration). One wraps
/// each AWS identity's client; the rate limiter admits calls in front of it (`limiter::Admitted`).
pub struct Guarded<L> {
    inner: L,
    metrics: AwsCallMetrics,
    /// The region its calls go to (the `region` label).
    region: String,
}

impl<L> Guarded<L> {
    pub fn new(inner: L, metrics: AwsCallMetrics) -> Self {
        Self {
            inner,
            metrics,
            region: String::new(),
        }
    }

    /// Its calls counted as calls to `region`.
    #[must_use]
    pub fn in_region(mut self, region: Option<&str>) -> Self {
        self.region = region.unwrap_or_default().to_string();
        self
    }

    async fn call<T>(
        &self,
        operation: &'static str,
        fut: impl Future<Output = Result<T, LatticeError>>,
    ) -> Result<T, LatticeError> {
        let start = Instant::now();
        let result = fut.await;
        self.metrics
            .record((operation, &self.region), result.as_ref().err(), start.elapsed());
        result
    }
}

#[async_trait]
impl<L: LatticeApi> LatticeApi for Guarded<L> {
    async fn create_association(&self, req: &CreateAssociation) -> Result<Association, LatticeError> {
        self.call(
            "CreateServiceNetworkServiceAssociation",
            self.inner.create_association(req),
        )
        .await
    }
    async fn get_association(&self, id: &str) -> Result<Association, LatticeError> {
        self.call("GetServiceNetworkServiceAssociation", self.inner.get_association(id))
            .await
    }
    async fn delete_association(&self, id: &str) -> Result<AssociationState, LatticeError> {
        self.call(
            "DeleteServiceNetworkServiceAssociation",
            self.inner.delete_association(id),
        )
        .await
    }
    async fn list_associations(
        &self,
        filter: &ListFilter,
        next_token: Option<String>,
    ) -> Result<Page<Association>, LatticeError> {
        self.call(
            "ListServiceNetworkServiceAssociations",
            self.inner.list_associations(filter, next_token),
        )
        .await
    }
    async fn list_tags(&self, arn: &str) -> Result<Tags, LatticeError> {
        self.call("ListTagsForResource", self.inner.list_tags(arn)).await
    }
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), LatticeError> {
        self.call("TagResource", self.inner.tag_resource(arn, tags)).await
    }
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), LatticeError> {
        self.call("UntagResource", self.inner.untag_resource(arn, keys)).await
    }
    async fn tagged_associations(
        &self,
        filter: (&str, &str),
        next_token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.call("GetResources", self.inner.tagged_associations(filter, next_token))
            .await
    }
    async fn tags_of(&self, arns: &[String]) -> Result<Vec<Tagged>, LatticeError> {
        self.call("GetResources", self.inner.tags_of(arns)).await
    }
    async fn list_named(
        &self,
        kind: super::names::Kind,
        next_token: Option<String>,
    ) -> Result<Page<super::names::Named>, LatticeError> {
        self.call(kind.operation(), self.inner.list_named(kind, next_token))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_call_metrics_are_served_as_before() {
        let mut registry = Registry::with_prefix("vpc_lattice_operator");
        let metrics = AwsCallMetrics::default().register(&mut registry);
        let throttled = LatticeError::new(ErrorKind::Throttled, "ThrottlingException", "slow down");
        metrics.record(("TagResource", "us-west-2"), Some(&throttled), Duration::from_millis(3));
        metrics.record(("TagResource", "us-west-2"), None, Duration::from_millis(3));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        for line in [
            "# HELP vpc_lattice_operator_aws_calls VPC Lattice calls by operation, outcome and error code.",
            "# TYPE vpc_lattice_operator_aws_calls counter",
            r#"vpc_lattice_operator_aws_calls_total{operation="TagResource",outcome="error",error_code="ThrottlingException",region="us-west-2"} 1"#,
            r#"vpc_lattice_operator_aws_calls_total{operation="TagResource",outcome="success",error_code="",region="us-west-2"} 1"#,
            "# HELP vpc_lattice_operator_aws_call_duration_seconds VPC Lattice call duration.",
            "# TYPE vpc_lattice_operator_aws_call_duration_seconds histogram",
            r#"vpc_lattice_operator_aws_call_duration_seconds_count{operation="TagResource",region="us-west-2"} 2"#,
            r#"vpc_lattice_operator_aws_call_duration_seconds_bucket{le="0.005",operation="TagResource",region="us-west-2"} 2"#,
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }
}
