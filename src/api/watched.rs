//! What the operator keeps of each `ServiceNetworkServiceAssociation`: [`Watched`], the projection
//! its watch, store and reconciler use instead of the whole object.
//!
//! The store holds every object for the life of the process, so what it keeps per object is what the
//! operator costs per object. The whole typed object kept ~3.6 KiB (after `managedFields` and the
//! last-applied annotation were dropped): fifteen optional strings of status, three conditions each
//! with the same message, and metadata the operator never reads. [`Watched`] keeps what a reconcile
//! decides with (metadata it reads, the spec, the status fields its decisions read, each condition's
//! status, reason and transition time), AWS's report (ARNs, names, DNS entry) as one compact JSON
//! string read back only when a step rebuilds the status, and a digest of the whole status as the
//! API server returned it, so an unchanged status is still never written ([`Recorded::digest`]).
//! It is deserialized straight from the API server's JSON: the fields it does not keep are skipped,
//! never built. Written by hand: kube-runtime watches and stores any `Resource`, and no library
//! projects a custom resource.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
use kube::Resource;
use serde::{Deserialize, Serialize};

use super::{
    DnsEntry, ServiceNetworkServiceAssociation as Snsa, ServiceNetworkServiceAssociationSpec as Spec,
    ServiceNetworkServiceAssociationStatus as Status,
};

/// A `ServiceNetworkServiceAssociation` as the operator keeps it (module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Watched {
    /// Only name, namespace, uid, resourceVersion, generation, creation and deletion timestamps
    /// and finalizers.
    pub metadata: ObjectMeta,
    pub spec: Spec,
    pub status: Option<Recorded>,
}

/// What the operator keeps of an object's status.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub id: Option<String>,
    pub association_status: Option<String>,
    pub client_token: Option<String>,
    pub recreate_attempts: i32,
    pub tags_synced_generation: Option<i64>,
    pub observed_generation: Option<i64>,
    /// Each condition's type, status and transition time, in order.
    pub conditions: Vec<Mark>,
    /// The `Ready` condition's reason (every condition carries the same).
    pub reason: Option<Box<str>>,
    /// AWS's report ([`Reported`]) as JSON; `None` when it is empty.
    reported: Option<Box<str>>,
    /// A digest of the whole status as the API server returned it ([`digest`]).
    pub digest: u64,
}

/// One condition's type, status and transition time.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub type_: Box<str>,
    pub on: bool,
    pub at: Time,
}

/// The status fields AWS's answers fill: kept as one JSON string.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Reported {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    custom_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dns_entry: Option<DnsEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_network_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_network_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_network_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure_message: Option<String>,
}

/// A digest of a status: equal statuses have equal digests (the same process; never persisted).
pub fn digest(status: &Status) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_vec(status).unwrap_or_default().hash(&mut h);
    h.finish()
}

impl Recorded {
    /// What the operator keeps of `status`.
    pub fn of(status: Status) -> Self {
        let digest = digest(&status);
        let reason = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.reason.as_str().into());
        let conditions = status
            .conditions
            .iter()
            .map(|c| Mark {
                type_: c.type_.as_str().into(),
                on: c.status == "True",
                at: c.last_transition_time.clone(),
            })
            .collect();
        let reported = Reported {
            arn: status.arn,
            created_by: status.created_by,
            custom_domain_name: status.custom_domain_name,
            dns_entry: status.dns_entry,
            service_id: status.service_id,
            service_arn: status.service_arn,
            service_name: status.service_name,
            service_network_id: status.service_network_id,
            service_network_arn: status.service_network_arn,
            service_network_name: status.service_network_name,
            failure_code: status.failure_code,
            failure_message: status.failure_message,
        };
        let reported = serde_json::to_string(&reported)
            .ok()
            .filter(|json| json != "{}")
            .map(String::into_boxed_str);
        Self {
            id: status.id,
            association_status: status.association_status,
            client_token: status.client_token,
            recreate_attempts: status.recreate_attempts,
            tags_synced_generation: status.tags_synced_generation,
            observed_generation: status.observed_generation,
            conditions,
            reason,
            reported,
            digest,
        }
    }

    /// The status it was made of, but for the conditions' messages and observed generations (a
    /// step writes them anew; each keeps its type, status, reason and transition time).
    pub fn status(&self) -> Status {
        let r: Reported = self
            .reported
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default();
        let reason = self.reason.as_deref().unwrap_or_default();
        Status {
            id: self.id.clone(),
            arn: r.arn,
            association_status: self.association_status.clone(),
            created_by: r.created_by,
            custom_domain_name: r.custom_domain_name,
            dns_entry: r.dns_entry,
            service_id: r.service_id,
            service_arn: r.service_arn,
            service_name: r.service_name,
            service_network_id: r.service_network_id,
            service_network_arn: r.service_network_arn,
            service_network_name: r.service_network_name,
            failure_code: r.failure_code,
            failure_message: r.failure_message,
            client_token: self.client_token.clone(),
            recreate_attempts: self.recreate_attempts,
            tags_synced_generation: self.tags_synced_generation,
            observed_generation: self.observed_generation,
            conditions: self
                .conditions
                .iter()
                .map(|m| Condition {
                    type_: m.type_.to_string(),
                    status: if m.on { "True" } else { "False" }.into(),
                    reason: reason.into(),
                    message: String::new(),
                    observed_generation: None,
                    last_transition_time: m.at.clone(),
                })
                .collect(),
        }
    }

    /// The association's ARN, as the status reports it.
    pub fn arn(&self) -> Option<String> {
        let json = self.reported.as_deref()?;
        serde_json::from_str::<Reported>(json).ok()?.arn
    }

    /// The condition `type_`'s status, if it is set.
    pub fn condition(&self, type_: &str) -> Option<bool> {
        self.conditions.iter().find(|m| &*m.type_ == type_).map(|m| m.on)
    }
}

impl Watched {
    /// True when the `Ready` condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.status.as_ref().and_then(|s| s.condition("Ready")) == Some(true)
    }
}

/// The projection of a whole object: exactly what the same object read from the API server gives.
impl From<Snsa> for Watched {
    fn from(obj: Snsa) -> Self {
        serde_json::to_value(obj)
            .and_then(serde_json::from_value)
            .expect("a typed object is valid JSON of itself")
    }
}

impl Resource for Watched {
    type DynamicType = ();
    type Scope = <Snsa as Resource>::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        Snsa::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        Snsa::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        Snsa::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        Snsa::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// The object as the API server sends it, read only as far as [`Watched`] keeps it: serde skips
/// every other field (`managedFields`, annotations, labels) without building it.
#[derive(Deserialize)]
struct Wire {
    metadata: WireMeta,
    spec: Spec,
    #[serde(default)]
    status: Option<Status>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    finalizers: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for Watched {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        let m = w.metadata;
        Ok(Self {
            metadata: ObjectMeta {
                name: m.name,
                namespace: m.namespace,
                uid: m.uid,
                resource_version: m.resource_version,
                generation: m.generation,
                creation_timestamp: m.creation_timestamp,
                deletion_timestamp: m.deletion_timestamp,
                finalizers: m.finalizers,
                ..ObjectMeta::default()
            },
            spec: w.spec,
            status: w.status.map(Recorded::of),
        })
    }
}

/// Written as the object it stands for (kube's finalizer helper asks for `Serialize`), its status as
/// [`Recorded::status`] rebuilds it.
impl Serialize for Watched {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("ServiceNetworkServiceAssociation", 5)?;
        out.serialize_field("apiVersion", &Snsa::api_version(&()))?;
        out.serialize_field("kind", &Snsa::kind(&()))?;
        out.serialize_field("metadata", &self.metadata)?;
        out.serialize_field("spec", &self.spec)?;
        if let Some(status) = &self.status {
            out.serialize_field("status", &status.status())?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests;
