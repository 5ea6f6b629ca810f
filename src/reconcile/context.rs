//! What reconciles share ([`Context`]: clients, the Event recorder, metrics, settings, and a small
//! per-object memory that drives backoff), and what one reconcile of one object carries through its
//! steps ([`Target`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::api::Api;
use kube::runtime::events::Recorder;
use kube::{Client, ResourceExt};

use crate::api::{ServiceNetworkServiceAssociation as Snsa, ServiceNetworkServiceAssociationStatus as Status};
use crate::lattice::provider::{LatticeProvider, TenantError};
use crate::lattice::{LatticeApi, LatticeError};
use crate::metrics::Metrics;
use crate::reconcile::decide::{Desired, Identity};
use crate::reconcile::error::Error;
use crate::reconcile::requeue::Memory;

/// Operator settings the reconciler needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Written to the cluster ownership tag.
    pub cluster_name: String,
}

/// Shared state of all reconciles.
pub struct Context {
    pub client: Client,
    /// The Lattice client of each namespace.
    pub lattice: Arc<dyn LatticeProvider>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    memory: Mutex<HashMap<String, Memory>>,
}

impl Context {
    pub fn new(client: Client, lattice: Arc<dyn LatticeProvider>, metrics: Arc<Metrics>, config: Config) -> Self {
        let reporter = kube::runtime::events::Reporter {
            controller: crate::CONTROLLER_NAME.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            lattice,
            metrics,
            config,
            memory: Mutex::default(),
        }
    }

    /// Changes an object's memory; returns what `f` returns.
    pub(crate) fn remember<T>(&self, key: &str, f: impl FnOnce(&mut Memory) -> T) -> T {
        let mut all = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        f(all.entry(key.to_string()).or_default())
    }

    /// Drops an object's memory (it is gone).
    pub(crate) fn forget(&self, key: &str) {
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// `<namespace>/<name>`: the owner tag's value and the key of the object's memory.
pub(crate) fn key(obj: &Snsa) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// One reconcile of one object: the object, where to write it, and what it asks of AWS, worked out
/// once and handed to every step.
pub(crate) struct Target<'a> {
    pub obj: &'a Snsa,
    pub ctx: &'a Context,
    /// The object's namespace's API (status writes).
    pub api: &'a Api<Snsa>,
    pub namespace: String,
    pub key: String,
    pub identity: Identity,
    pub desired: Desired,
}

impl<'a> Target<'a> {
    pub fn new(obj: &'a Snsa, ctx: &'a Context, api: &'a Api<Snsa>) -> Result<Self, Error> {
        let key = key(obj);
        let identity = Identity {
            uid: obj.uid().ok_or(Error::MissingField("metadata.uid"))?,
            owner: key.clone(),
            cluster: ctx.config.cluster_name.clone(),
        };
        let mut tags = obj.spec.tags.clone();
        tags.extend(identity.ownership_tags());
        let desired = Desired {
            service_identifier: obj.spec.service_identifier.clone(),
            service_network_identifier: obj.spec.service_network_identifier.clone(),
            tags,
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
        })
    }

    /// The status the object has; a step edits a copy of it.
    pub fn status(&self) -> Status {
        self.obj.status.clone().unwrap_or_default()
    }

    /// True when the object's `Ready` condition is `True`.
    pub fn was_ready(&self) -> bool {
        self.obj.condition("Ready").is_some_and(|c| c.status == "True")
    }

    /// Changes the object's memory; returns what `f` returns.
    pub fn remember<T>(&self, f: impl FnOnce(&mut Memory) -> T) -> T {
        self.ctx.remember(&self.key, f)
    }

    /// The Lattice client of the object's namespace (its AWS identity). A namespace that could not
    /// be read is a Kubernetes failure (`Err`, for `error_policy`); an unusable identity is shown
    /// on the object like any AWS refusal (`Ok(Err)`).
    pub async fn lattice(&self) -> Result<Result<Arc<dyn LatticeApi>, LatticeError>, Error> {
        match self.ctx.lattice.for_namespace(&self.namespace).await {
            Ok(tenant) => Ok(Ok(tenant.api)),
            Err(TenantError::Identity(e)) => Ok(Err(e)),
            Err(TenantError::Namespace { source, .. }) => Err(Error::Kube(source)),
        }
    }
}
