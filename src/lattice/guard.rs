//! Wraps any [`LatticeApi`] with what every AWS call needs: the client-side rate limiter shared by the
//! whole process (so thousands of objects cannot stampede one account) and per-call metrics
//! (operation, outcome, error code, duration). The token bucket itself is the `governor` crate's.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{Association, AssociationState, CreateAssociation, LatticeApi, LatticeError, ListFilter, Page, Tags};
use crate::metrics::Metrics;

/// The shared limiter: one per process, handed to every [`Guarded`] wrapper.
pub type SharedLimiter = Arc<DefaultDirectRateLimiter>;

/// A limiter allowing `rps` calls per second with a burst of the same size.
pub fn limiter(rps: u32) -> SharedLimiter {
    let rps = NonZeroU32::new(rps.max(1)).expect("max(1) is non-zero");
    Arc::new(RateLimiter::direct(Quota::per_second(rps)))
}

/// A [`LatticeApi`] whose calls wait for the shared limiter and are counted.
pub struct Guarded<L> {
    inner: L,
    limiter: SharedLimiter,
    metrics: Arc<Metrics>,
}

impl<L> Guarded<L> {
    pub fn new(inner: L, limiter: SharedLimiter, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            limiter,
            metrics,
        }
    }

    async fn call<T>(
        &self,
        operation: &'static str,
        fut: impl Future<Output = Result<T, LatticeError>>,
    ) -> Result<T, LatticeError> {
        self.limiter.until_ready().await;
        let start = Instant::now();
        let result = fut.await;
        self.metrics.aws_call(operation, result.as_ref().err(), start.elapsed());
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
}
