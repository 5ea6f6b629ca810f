//! Whose calls these are, passed explicitly: a reconcile (or the drift scan) binds its [`Caller`] to
//! the limiter once ([`Limiter::calls`]) and wraps its identity's client in [`Admitted`], whose every
//! call waits for its token in the caller's namespace's turn, at its priority, after any hold AWS
//! asked of that identity; [`Calls::waited`] says how long they waited in all.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::bucket::Limiter;
use super::fair::{CallClass, Caller};
use super::metrics::Queued;
use crate::lattice::names::{Kind, Named};
use crate::lattice::provider::Tenant;
use crate::lattice::{
    Association, AssociationState, CreateAssociation, ErrorKind, LatticeApi, LatticeError, ListFilter, Page, Tagged,
    Tags,
};
use crate::lock;

/// One caller's calls: who they are for, and how long they have waited for tokens so far.
pub struct Calls {
    limiter: Arc<Limiter>,
    caller: Caller,
    /// Shared by the same caller's calls in every region ([`Calls::in_region`]).
    waited: Arc<Mutex<Duration>>,
}

impl Limiter {
    /// Binds `caller` (an object's namespace at its reconcile's priority, or the drift scan) to the
    /// limiter, for [`Admitted`] clients.
    pub fn calls(self: &Arc<Self>, caller: Caller) -> Arc<Calls> {
        Arc::new(Calls {
            limiter: self.clone(),
            caller,
            waited: Arc::default(),
        })
    }
}

impl Calls {
    /// Whose calls these are.
    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    /// The same caller's calls to `region`, admitted by that region's budget ([`Limiter::for_region`]).
    pub fn in_region(self: &Arc<Self>, region: Option<&str>) -> Arc<Calls> {
        let limiter = self.limiter.for_region(region);
        if Arc::ptr_eq(&limiter, &self.limiter) {
            return self.clone();
        }
        Arc::new(Calls {
            limiter,
            caller: self.caller.clone(),
            waited: self.waited.clone(),
        })
    }

    /// How long these calls have waited for tokens, in all.
    pub fn waited(&self) -> Duration {
        *lock(&self.waited)
    }

    /// Waits for a token for a call of `class`, counted in the limiter's metrics.
    pub(super) async fn admit(&self, class: CallClass) {
        let metrics = self.limiter.metrics();
        let namespace = &self.caller.namespace;
        let queued = Queued::new(metrics.queued(namespace));
        let waiting = Instant::now();
        self.limiter.acquire_for(class, &self.caller).await;
        drop(queued);
        let took = waiting.elapsed();
        *lock(&self.waited) += took;
        metrics.waited(namespace, took);
    }
}

/// An AWS identity's client whose calls are admitted by the limiter for one caller ([`Calls`]): no
/// call goes out while AWS's hold on the identity lasts (a throttled answer's `retryAfterSeconds`),
/// each waits for its token in the caller's turn, and a throttled answer holds the identity's later
/// calls.
pub struct Admitted {
    api: Arc<dyn LatticeApi>,
    identity: String,
    calls: Arc<Calls>,
}

impl Admitted {
    /// `api`, the client of AWS identity `identity` (a tenant's key), admitted for `calls`.
    pub fn wrap(api: Arc<dyn LatticeApi>, identity: &str, calls: Arc<Calls>) -> Arc<dyn LatticeApi> {
        Arc::new(Self {
            api,
            identity: identity.to_string(),
            calls,
        })
    }

    /// `tenant`'s client, admitted for `calls` by the budget of the tenant's region.
    pub fn tenant(tenant: &Tenant, calls: &Arc<Calls>) -> Arc<dyn LatticeApi> {
        Self::wrap(
            tenant.api.clone(),
            &tenant.key,
            calls.in_region(tenant.region.as_deref()),
        )
    }

    async fn call<T>(
        &self,
        class: CallClass,
        fut: impl Future<Output = Result<T, LatticeError>>,
    ) -> Result<T, LatticeError> {
        let limiter = &self.calls.limiter;
        limiter.wait_out(&self.identity).await;
        self.calls.admit(class).await;
        // A throttled answer may have arrived while this call waited for its token.
        limiter.wait_out(&self.identity).await;
        let result = fut.await;
        if let Err(e) = &result
            && e.kind == ErrorKind::Throttled
            && let Some(after) = e.retry_after
        {
            limiter.hold(&self.identity, tokio::time::Instant::now() + after);
        }
        result
    }
}

#[async_trait]
impl LatticeApi for Admitted {
    async fn create_association(&self, req: &CreateAssociation) -> Result<Association, LatticeError> {
        self.call(CallClass::Mutation, self.api.create_association(req)).await
    }
    async fn get_association(&self, id: &str) -> Result<Association, LatticeError> {
        self.call(CallClass::Read, self.api.get_association(id)).await
    }
    async fn delete_association(&self, id: &str) -> Result<AssociationState, LatticeError> {
        self.call(CallClass::Mutation, self.api.delete_association(id)).await
    }
    async fn list_associations(
        &self,
        filter: &ListFilter,
        next_token: Option<String>,
    ) -> Result<Page<Association>, LatticeError> {
        let class = if next_token.is_some() {
            CallClass::SharedNext
        } else {
            CallClass::Shared
        };
        self.call(class, self.api.list_associations(filter, next_token)).await
    }
    async fn list_tags(&self, arn: &str) -> Result<Tags, LatticeError> {
        self.call(CallClass::Read, self.api.list_tags(arn)).await
    }
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), LatticeError> {
        self.call(CallClass::Mutation, self.api.tag_resource(arn, tags)).await
    }
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), LatticeError> {
        self.call(CallClass::Mutation, self.api.untag_resource(arn, keys)).await
    }
    async fn tagged_associations(
        &self,
        filter: (&str, &str),
        next_token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.call(CallClass::Read, self.api.tagged_associations(filter, next_token))
            .await
    }
    async fn tags_of(&self, arns: &[String]) -> Result<Vec<Tagged>, LatticeError> {
        self.call(CallClass::Read, self.api.tags_of(arns)).await
    }
    async fn list_named(&self, kind: Kind, next_token: Option<String>) -> Result<Page<Named>, LatticeError> {
        self.call(CallClass::Read, self.api.list_named(kind, next_token)).await
    }
}
