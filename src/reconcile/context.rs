//! What reconciles share ([`Context`]: clients, the Event recorder, metrics, settings, and a small
//! per-object memory that drives backoff), and what one reconcile of one object carries through its
//! steps ([`Target`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::Api;
use kube::runtime::events::Recorder;
use kube::{Client, ResourceExt};

use crate::api::{ManagementPolicy, Recorded, ServiceNetworkServiceAssociationStatus as Status, Watched};
use crate::lattice::names::Names;
use crate::lattice::observation::{Begun, Observations, Scope, Work};
use crate::lattice::provider::{LatticeProvider, Tenant, TenantError};
use crate::lattice::{AssociationState, LatticeApi, LatticeError, Tags};
use crate::limiter::{Admitted, Calls, SharedLimiter};
use crate::lock;
use crate::metrics::Metrics;
use crate::reconcile::decide::{Desired, Identity, ownership_tags};
use crate::reconcile::error::Error;
use crate::reconcile::memory::{self, Memories, Memory};
use crate::reconcile::observe::{ClusterOwners, Lookup};
use crate::reconcile::parked::Parked;
use crate::reconcile::requeue::Timing;
use crate::reconcile::status::unobserved;

/// The default of `--observation-max-age`: the first step of the poll schedule (1 s), so that the
/// polls of every object in progress in one service network share one List per step.
pub const DEFAULT_OBSERVATION_MAX_AGE: Duration = Duration::from_secs(1);

/// The default of `--concurrency`.
pub const DEFAULT_WORKERS: u16 = 8;

/// Operator settings the reconciler needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Written to the cluster ownership tag.
    pub cluster_name: String,
    /// How long one listing of a service network's associations answers for its objects
    /// (`--observation-max-age`).
    pub observation_max_age: Duration,
    /// How many reconciles run at once (`--concurrency`): the controller's and the limiter's
    /// fair-share arithmetic's.
    pub workers: usize,
    /// This replica's name (the Pod's), the reporting instance of its Events.
    pub instance: Option<String>,
}

impl Config {
    /// The settings for this cluster name, with the default observation bound.
    pub fn new(cluster_name: impl Into<String>) -> Self {
        Self {
            cluster_name: cluster_name.into(),
            observation_max_age: DEFAULT_OBSERVATION_MAX_AGE,
            workers: usize::from(DEFAULT_WORKERS),
            instance: None,
        }
    }
}

/// Shared state of all reconciles.
pub struct Context {
    pub client: Client,
    /// The Lattice client of each namespace.
    pub lattice: Arc<dyn LatticeProvider>,
    /// The client-side rate limiter every AWS call of the process waits for.
    pub limiter: SharedLimiter,
    /// The shared observation of AWS: one listing per (identity, service network) in use.
    pub observations: Observations,
    /// The services and service networks by name, per identity ([`Names`]).
    pub names: Names,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    /// The objects of this cluster, asked whether the owner an association's tags name exists.
    owners: ClusterOwners,
    /// When this process began reconciling: nothing waited for it before.
    pub started: Instant,
    /// What is remembered of each object between its reconciles.
    pub(crate) memories: Memories,
    /// Reconciles running now, by namespace.
    running: Mutex<HashMap<String, usize>>,
    /// Objects that gave their worker back while a List of their network runs
    /// ([`Target::listing_parked`]); the controller that runs the reconciles wakes them.
    pub parked: Arc<Parked>,
}

impl Context {
    pub fn new(
        client: Client,
        lattice: Arc<dyn LatticeProvider>,
        limiter: SharedLimiter,
        metrics: Arc<Metrics>,
        config: Config,
    ) -> Self {
        let reporter = kube::runtime::events::Reporter {
            controller: crate::CONTROLLER_NAME.into(),
            instance: config.instance.clone(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            owners: ClusterOwners(client.clone()),
            client,
            lattice,
            observations: Observations::new(config.observation_max_age).with_budget(limiter.period()),
            names: Names::default(),
            limiter,
            metrics,
            config,
            started: Instant::now(),
            memories: Memories::default(),
            running: Mutex::default(),
            parked: Arc::default(),
        }
    }

    /// Counts a reconcile of `namespace` as running until the returned guard is dropped.
    pub(crate) fn running(&self, namespace: &str) -> Running<'_> {
        *lock(&self.running).entry(namespace.to_string()).or_default() += 1;
        Running {
            ctx: self,
            namespace: namespace.to_string(),
        }
    }

    /// Forgets what is kept of `obj` between its reconciles, and its per-object metrics (it is gone).
    pub fn forget(&self, obj: &Watched) {
        self.memories.forget(&key(obj));
        self.metrics
            .forget_object(&obj.namespace().unwrap_or_default(), &obj.name_any());
    }

    /// How many reconciles of `namespace` run now.
    pub(crate) fn running_in(&self, namespace: &str) -> usize {
        lock(&self.running).get(namespace).copied().unwrap_or_default()
    }
}

/// A reconcile counted as running in its namespace ([`Context::running`]).
pub(crate) struct Running<'a> {
    ctx: &'a Context,
    namespace: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut all = lock(&self.ctx.running);
        if let Some(n) = all.get_mut(&self.namespace) {
            *n -= 1;
            if *n == 0 {
                all.remove(&self.namespace);
            }
        }
    }
}

/// `<namespace>/<name>`: the owner tag's value and the key of the object's memory ([`memory::key`]).
pub(crate) fn key(obj: &Watched) -> String {
    memory::key(&obj.namespace().unwrap_or_default(), &obj.name_any())
}

/// The tags an object asks for: its spec's and the two ownership tags.
pub(crate) fn desired_tags(obj: &Watched, cluster: &str) -> Tags {
    with_ownership(obj.spec.tags(), obj, cluster)
}

/// The spec's `tags` and the ownership tags naming `obj` in `cluster`.
fn with_ownership(mut tags: Tags, obj: &Watched, cluster: &str) -> Tags {
    tags.extend(ownership_tags(&key(obj), cluster));
    tags
}

/// One reconcile of one object: the object, where to write it, and what it asks of AWS, worked out
/// once and handed to every step.
pub(crate) struct Target<'a> {
    pub obj: &'a Watched,
    pub ctx: &'a Context,
    /// The object's namespace's API (status writes).
    pub api: &'a Api<Watched>,
    pub namespace: String,
    pub key: String,
    pub identity: Identity,
    pub desired: Desired,
    /// This reconcile's AWS calls, as the limiter admits them (its namespace, its priority).
    pub calls: Arc<Calls>,
}

impl<'a> Target<'a> {
    pub fn new(obj: &'a Watched, ctx: &'a Context, api: &'a Api<Watched>, calls: Arc<Calls>) -> Result<Self, Error> {
        let key = key(obj);
        let identity = Identity {
            uid: obj.uid().ok_or(Error::MissingField("metadata.uid"))?,
            owner: key.clone(),
            cluster: ctx.config.cluster_name.clone(),
        };
        // The spec's packed row is read once. A service or network named by reference is the ARN
        // it was resolved to (pinned in the status; empty until then: [`Self::unresolved`]).
        let spec = obj.spec.spec();
        let recorded = obj.status.as_ref();
        let desired = Desired {
            service_identifier: spec
                .service_identifier
                .or_else(|| recorded?.resolved_service())
                .unwrap_or_default(),
            service_network_identifier: spec
                .service_network_identifier
                .or_else(|| recorded?.resolved_network())
                .unwrap_or_default(),
            tags: with_ownership(spec.tags, obj, &identity.cluster),
            adoption: obj.spec.adoption_policy,
            deletion: obj.spec.deletion_policy,
        };
        Ok(Self {
            obj,
            ctx,
            api,
            namespace: obj.namespace().unwrap_or_default(),
            key,
            identity,
            desired,
            calls,
        })
    }

    /// True when the spec names the service or the network by a reference not resolved yet.
    pub fn unresolved(&self) -> bool {
        self.desired.service_identifier.is_empty() || self.desired.service_network_identifier.is_empty()
    }

    /// This target with `desired` instead of its own (its references resolved).
    pub fn with_desired(&self, desired: Desired) -> Self {
        Self {
            namespace: self.namespace.clone(),
            key: self.key.clone(),
            identity: self.identity.clone(),
            desired,
            calls: self.calls.clone(),
            ..*self
        }
    }

    /// The status the object has; a step edits a copy of it. A `Managed` object whose status was
    /// written while it was `ObserveOnly` does not trust the association it names (it observed it,
    /// it did not create or adopt it): that is forgotten, so the object creates its association,
    /// and an existing one is taken over only as its adoption policy allows (or, being deleted,
    /// deletes only one whose tags name it).
    pub fn status(&self) -> Status {
        let mut status = self.obj.status.as_ref().map(Recorded::status).unwrap_or_default();
        if self.obj.spec.management_policy == ManagementPolicy::Managed && status.management_policy.is_some() {
            unobserved(&mut status);
        }
        status
    }

    /// True when the object's `Ready` condition is `True`.
    pub fn was_ready(&self) -> bool {
        self.obj.is_ready()
    }

    /// Runs one transition (or read) on the object's memory; returns what `f` returns.
    pub fn memory<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> T {
        self.ctx.memories.with(&self.key, f)
    }

    /// The client of `tenant`'s identity whose calls the limiter admits as this reconcile's.
    pub fn api(&self, tenant: &Tenant) -> Arc<dyn LatticeApi> {
        Admitted::tenant(tenant, &self.calls)
    }

    /// Where the object's association is looked up, through `api` (of `tenant`, [`Self::api`]): the
    /// shared listing of the tenant's identity and the object's service network.
    pub fn lookup<'t>(&'t self, tenant: &'t Tenant, api: &'t Arc<dyn LatticeApi>) -> Lookup<'t> {
        let (begun, not_before) = self.memory(|m| (m.begun(), m.mutated_at()));
        Lookup {
            api,
            observations: &self.ctx.observations,
            scope: self.scope(tenant),
            not_before,
            begun,
            age: self.listing_age(begun, self.ctx.limiter.saturated(&self.namespace)),
            metrics: &self.ctx.metrics,
            owners: &self.ctx.owners,
        }
    }

    /// How old a listing may answer the object ([`Observations::age_for`]).
    fn listing_age(&self, begun: Option<Begun>, saturated: bool) -> Duration {
        self.ctx.observations.age_for(self.settled(begun), saturated)
    }

    /// Whether the object is settled: its status says ACTIVE, no Create or Delete of its own is
    /// `begun`, and it is not being deleted.
    fn settled(&self, begun: Option<Begun>) -> bool {
        let active = self
            .obj
            .status
            .as_ref()
            .and_then(Recorded::association_status)
            .as_deref()
            == Some(AssociationState::Active.as_str());
        active && begun.is_none() && self.obj.metadata.deletion_timestamp.is_none()
    }

    /// While the rate limiter is saturated, an object whose look at AWS (by its `status`'s id) would
    /// need a new List of its network before the network's budget allows one
    /// ([`Observations::put_off`]) is put off until then: how long. Its worker goes to other work,
    /// and it comes back with the other objects of the network waiting for that List.
    pub fn listing_put_off(&self, tenant: &Tenant, status: &Status) -> Option<Duration> {
        status.id.as_ref()?;
        if !self.ctx.limiter.saturated(&self.namespace) {
            return None;
        }
        let (begun, not_before) = self.memory(|m| (m.begun(), m.mutated_at()));
        let age = self.listing_age(begun, true);
        let at = self
            .ctx
            .observations
            .put_off(&self.scope(tenant), not_before, age, true)?;
        let now = Instant::now();
        let after = at.saturating_duration_since(now);
        self.memory(|m| m.put_off(now, after));
        self.ctx.metrics.observed("put_off");
        Some(after)
    }

    /// A settled object whose look at AWS would wait for a List of its network that another
    /// reconcile began gives its worker back instead ([`Observations::under_way`], [`Parked`]): it
    /// is reconciled again when that List ends, and meanwhile the worker goes to other objects (a
    /// restart's or a resync's pass). An object with work under way keeps its worker, so that it
    /// sees the List's answer as soon as it comes (parked, it would queue behind the objects
    /// ready then: `burst-1k` was Ready 0.4 s later). `object` is the store's `Arc` of the target's
    /// object. Whether it did.
    pub fn listing_parked(&self, object: &Arc<Watched>, tenant: &Tenant, status: &Status) -> bool {
        if status.id.is_none() || !self.ctx.parked.enabled() {
            return false;
        }
        let (begun, not_before) = self.memory(|m| (m.begun(), m.mutated_at()));
        if !self.settled(begun) {
            return false;
        }
        let age = self.listing_age(begun, self.ctx.limiter.saturated(&self.namespace));
        let scope = self.scope(tenant);
        let Some(ended) = self.ctx.observations.under_way(&scope, not_before, age) else {
            return false;
        };
        let parked = self.ctx.parked.park(scope, object, ended);
        if parked {
            self.ctx.metrics.observed("parked");
        }
        parked
    }

    /// How the object's next poll is timed at `now`: since its Create or Delete was accepted, and how
    /// long that work has recently taken in `scope` (its identity and service network).
    pub fn timing(&self, now: Instant, scope: Option<&Scope>) -> Timing {
        // A copy, so that the observations are asked without holding the memories' lock.
        let memory = self.memory(|m| *m);
        memory.timing(now, |work: Work| {
            scope.and_then(|scope| self.ctx.observations.learned(scope, work))
        })
    }

    /// The scope of the object's observation through `tenant`.
    pub fn scope(&self, tenant: &Tenant) -> Scope {
        (tenant.key.clone(), self.desired.service_network_identifier.clone())
    }

    /// The Lattice client of the object's namespace (its AWS identity). A namespace that could not
    /// be read is a Kubernetes failure (`Err`, for `error_policy`); an unusable identity is shown
    /// on the object like any AWS refusal (`Ok(Err)`).
    pub async fn lattice(&self) -> Result<Result<Tenant, LatticeError>, Error> {
        let region = self.obj.region();
        match self.ctx.lattice.for_namespace(&self.namespace, region.as_deref()).await {
            Ok(tenant) => Ok(Ok(tenant)),
            Err(TenantError::Identity(e)) => Ok(Err(e)),
            Err(TenantError::Namespace { source, .. }) => Err(Error::Kube(source)),
        }
    }
}
