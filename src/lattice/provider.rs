//! Which AWS identity serves an object: the reconciler asks a [`LatticeProvider`] for the
//! [`LatticeApi`] of the object's namespace instead of holding one global client, so namespaces can
//! map to different IAM roles (see `runtime::tenancy`). Only identity: the rate limiter that all of
//! them share is held by the reconcile context (`crate::limiter`).

use std::sync::Arc;

use async_trait::async_trait;

use super::{LatticeApi, LatticeError};

/// The client for one namespace in one region, and a key naming its (identity, region) (namespaces
/// with the same key share an AWS view, so the drift scan lists each service network once per key;
/// the key of the operator's own region is the identity's alone).
#[derive(Clone)]
pub struct Tenant {
    pub key: String,
    /// The region its calls go to (`None`: the operator has none configured).
    pub region: Option<String>,
    pub api: Arc<dyn LatticeApi>,
    /// Whether the namespace lets `adoptionPolicy: Always` take over associations.
    pub always_adoption: AlwaysAdoption,
}

/// Whether the object's namespace lets `adoptionPolicy: Always` take over an association.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlwaysAdoption {
    Allowed,
    /// Not in this namespace: why, and how to get it allowed.
    Refused(String),
}

/// Why a namespace has no Lattice client.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The Namespace could not be read: a Kubernetes failure, retried like one.
    #[error("failed to read namespace {namespace}: {source}")]
    Namespace {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    /// The namespace names an AWS identity that cannot be used (a human must fix it).
    #[error(transparent)]
    Identity(#[from] LatticeError),
}

#[async_trait]
pub trait LatticeProvider: Send + Sync {
    /// The client to use for objects in `namespace` whose spec names `region` (`None`: the
    /// namespace's default region, else the operator's).
    async fn for_namespace(&self, namespace: &str, region: Option<&str>) -> Result<Tenant, TenantError>;
}
