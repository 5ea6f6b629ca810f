//! What the operator keeps of each `ServiceNetworkServiceAssociation`: [`Watched`], the projection
//! its watch, store and reconciler use instead of the whole object.
//!
//! The store holds every object for the life of the process, so what it keeps per object is what the
//! operator costs per object. The whole typed object kept ~3.6 KiB (after `managedFields` and the
//! last-applied annotation were dropped): fifteen optional strings of status, three conditions each
//! with the same message, and metadata the operator never reads. [`Watched`] keeps what a reconcile
//! decides with (metadata it reads, the spec, the status fields its decisions read, each condition's
//! status, reason and transition time), AWS's report (ARNs, names, DNS entry) packed in one compressed row
//! read back only when a step rebuilds the status, and a digest of the whole status as the
//! API server returned it, so an unchanged status is still never written ([`Recorded::digest`]).
//! It is deserialized straight from the API server's JSON: the fields it does not keep are skipped,
//! never built. Written by hand: kube-runtime watches and stores any `Resource`, and no library
//! projects a custom resource.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
use kube::Resource;
use serde::{Deserialize, Serialize};

use crate::pack::{DICT, nth_str, pack_strs, unpack_strs};

use super::{
    AdoptionPolicy, DeletionPolicy, DnsEntry, LocalRef, ManagementPolicy, NameRef, ServiceFrom,
    ServiceNetworkServiceAssociation as Snsa, ServiceNetworkServiceAssociationSpec as Spec,
    ServiceNetworkServiceAssociationStatus as Status,
};

/// A `ServiceNetworkServiceAssociation` as the operator keeps it (module doc).
#[derive(Clone, Debug, PartialEq)]
pub struct Watched {
    /// Only name, namespace, uid, resourceVersion, generation, creation and deletion timestamps
    /// and finalizers.
    pub metadata: ObjectMeta,
    pub spec: Wanted,
    pub status: Option<Recorded>,
}

/// The spec as the operator keeps it: how the service and the network are named and the tags'
/// keys and values in one compressed row (a map of one tag takes a 0.5 KiB node; each string was
/// its own allocation).
#[derive(Clone, Debug, PartialEq)]
pub struct Wanted {
    /// [`NAMING`] strings (the identifiers, the references' names and owner accounts, the HTTPRoute's
    /// name), then each tag's key and value ([`crate::pack`]).
    row: Box<[u8]>,
    pub deletion_policy: DeletionPolicy,
    pub adoption_policy: AdoptionPolicy,
    pub management_policy: ManagementPolicy,
}

/// How many strings of [`Wanted`]'s row name the service and the network, before the tags.
const NAMING: usize = 8;
/// Where the row holds the HTTPRoute's name and the region.
const ROUTE: usize = 6;
const REGION: usize = 7;

impl From<Spec> for Wanted {
    fn from(spec: Spec) -> Self {
        let (service_ref, network_ref) = (spec.service_ref.as_ref(), spec.service_network_ref.as_ref());
        let naming: [Option<&str>; NAMING] = [
            spec.service_identifier.as_deref(),
            spec.service_network_identifier.as_deref(),
            service_ref.map(|r| r.name.as_str()),
            service_ref.and_then(|r| r.owner_account.as_deref()),
            network_ref.map(|r| r.name.as_str()),
            network_ref.and_then(|r| r.owner_account.as_deref()),
            spec.service_from.as_ref().map(|f| f.http_route_ref.name.as_str()),
            spec.region.as_deref(),
        ];
        let tags = spec.tags.iter().flat_map(|(k, v)| [Some(k.as_str()), Some(v.as_str())]);
        Self {
            row: pack_strs(naming.into_iter().chain(tags), DICT),
            deletion_policy: spec.deletion_policy,
            adoption_policy: spec.adoption_policy,
            management_policy: spec.management_policy,
        }
    }
}

impl Wanted {
    /// The service network's identifier, when the spec names it by one.
    pub fn service_network_identifier(&self) -> Option<String> {
        nth_str(&self.row, DICT, 1)
    }

    /// The HTTPRoute the spec reads the service's ARN from, if it does (`serviceFrom`).
    pub fn http_route(&self) -> Option<String> {
        nth_str(&self.row, DICT, ROUTE)
    }

    /// The region the spec names, if it does.
    pub fn region(&self) -> Option<String> {
        nth_str(&self.row, DICT, REGION)
    }

    /// The tags the spec asks for.
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.spec().tags
    }

    /// The spec it was made of.
    pub fn spec(&self) -> Spec {
        let mut next = unpack_strs(&self.row, DICT);
        let [
            service_identifier,
            service_network_identifier,
            service,
            service_owner,
            network,
            network_owner,
            route,
            region,
        ] = [(); NAMING].map(|()| next());
        let name_ref = |name: Option<String>, owner_account| name.map(|name| NameRef { name, owner_account });
        let mut tags = BTreeMap::new();
        while let (Some(k), Some(v)) = (next(), next()) {
            tags.insert(k, v);
        }
        Spec {
            service_identifier,
            service_ref: name_ref(service, service_owner),
            service_from: route.map(|name| ServiceFrom {
                http_route_ref: LocalRef { name },
            }),
            service_network_identifier,
            service_network_ref: name_ref(network, network_owner),
            region,
            tags,
            deletion_policy: self.deletion_policy,
            adoption_policy: self.adoption_policy,
            management_policy: self.management_policy,
        }
    }
}

/// What the operator keeps of an object's status.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub recreate_attempts: i32,
    pub tags_synced_generation: Option<i64>,
    pub observed_generation: Option<i64>,
    /// The status was written under `managementPolicy: ObserveOnly`.
    pub observed_only: bool,
    /// The status and transition time of `Ready`, `Reconciling` and `Stalled`, in that order (the
    /// only conditions the operator writes).
    pub marks: [Option<Mark>; 3],
    /// The status's strings (the association's ID and state, the client token, the `Ready`
    /// condition's reason, which every condition carries) and AWS's report (ARNs, names, DNS entry,
    /// failure), packed in one compressed row ([`strings`]' order, [`crate::pack`]).
    row: Box<[u8]>,
    /// A digest of the whole status as the API server returned it ([`digest`]).
    pub digest: u64,
}

/// The conditions the operator writes, in [`Recorded::marks`]' order.
pub const CONDITIONS: [&str; 3] = ["Ready", "Reconciling", "Stalled"];

/// One condition's status and transition time.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub on: bool,
    pub at: Time,
}

/// Where [`strings`] puts the fields a decision reads.
const ID: usize = 0;
const STATE: usize = 1;
const REASON: usize = 3;
const ARN: usize = 4;
const RESOLVED_SERVICE: usize = 18;
const RESOLVED_NETWORK: usize = 19;
const STATUS_REGION: usize = 20;

/// The status's strings, in the order [`Recorded`] packs them.
fn strings<'a>(s: &'a Status, reason: Option<&'a str>) -> [Option<&'a str>; 21] {
    let dns = s.dns_entry.as_ref();
    [
        s.id.as_deref(),
        s.association_status.as_deref(),
        s.client_token.as_deref(),
        reason,
        s.arn.as_deref(),
        s.created_by.as_deref(),
        s.custom_domain_name.as_deref(),
        dns.map(|_| ""),
        dns.and_then(|d| d.domain_name.as_deref()),
        dns.and_then(|d| d.hosted_zone_id.as_deref()),
        s.service_id.as_deref(),
        s.service_arn.as_deref(),
        s.service_name.as_deref(),
        s.service_network_id.as_deref(),
        s.service_network_arn.as_deref(),
        s.service_network_name.as_deref(),
        s.failure_code.as_deref(),
        s.failure_message.as_deref(),
        s.resolved_service_arn.as_deref(),
        s.resolved_service_network_arn.as_deref(),
        s.region.as_deref(),
    ]
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
        let ready = status.conditions.iter().find(|c| c.type_ == CONDITIONS[0]);
        let marks = CONDITIONS.map(|type_| {
            let c = status.conditions.iter().find(|c| c.type_ == type_)?;
            Some(Mark {
                on: c.status == "True",
                at: c.last_transition_time.clone(),
            })
        });
        let row = pack_strs(strings(&status, ready.map(|c| c.reason.as_str())), DICT);
        Self {
            recreate_attempts: status.recreate_attempts,
            tags_synced_generation: status.tags_synced_generation,
            observed_generation: status.observed_generation,
            observed_only: status.management_policy == Some(ManagementPolicy::ObserveOnly),
            marks,
            row,
            digest,
        }
    }

    /// The status it was made of, but for the conditions' messages and observed generations (a
    /// step writes them anew; each keeps its type, status, reason and transition time).
    pub fn status(&self) -> Status {
        let mut next = unpack_strs(&self.row, DICT);
        let (id, association_status, client_token, reason) = (next(), next(), next(), next());
        let reason = reason.unwrap_or_default();
        let (arn, created_by, custom_domain_name) = (next(), next(), next());
        let dns = next().is_some();
        let (domain_name, hosted_zone_id) = (next(), next());
        Status {
            id,
            arn,
            association_status,
            created_by,
            custom_domain_name,
            dns_entry: dns.then_some(DnsEntry {
                domain_name,
                hosted_zone_id,
            }),
            service_id: next(),
            service_arn: next(),
            service_name: next(),
            service_network_id: next(),
            service_network_arn: next(),
            service_network_name: next(),
            failure_code: next(),
            failure_message: next(),
            resolved_service_arn: next(),
            resolved_service_network_arn: next(),
            region: next(),
            client_token,
            recreate_attempts: self.recreate_attempts,
            tags_synced_generation: self.tags_synced_generation,
            observed_generation: self.observed_generation,
            management_policy: self.observed_only.then_some(ManagementPolicy::ObserveOnly),
            conditions: CONDITIONS
                .iter()
                .zip(&self.marks)
                .filter_map(|(type_, m)| {
                    let m = m.as_ref()?;
                    Some(Condition {
                        type_: (*type_).into(),
                        status: if m.on { "True" } else { "False" }.into(),
                        reason: reason.clone(),
                        message: String::new(),
                        observed_generation: None,
                        last_transition_time: m.at.clone(),
                    })
                })
                .collect(),
        }
    }

    /// The string [`strings`] puts at `i`.
    fn string(&self, i: usize) -> Option<String> {
        nth_str(&self.row, DICT, i)
    }

    /// The association's ID, as the status reports it.
    pub fn id(&self) -> Option<String> {
        self.string(ID)
    }

    /// The association's ID and state, as the status reports them (the row read once).
    pub fn id_and_state(&self) -> (Option<String>, Option<String>) {
        let mut next = unpack_strs(&self.row, DICT);
        (next(), next())
    }

    /// The association's state, as the status reports it.
    pub fn association_status(&self) -> Option<String> {
        self.string(STATE)
    }

    /// The `Ready` condition's reason (every condition carries the same).
    pub fn reason(&self) -> Option<String> {
        self.string(REASON)
    }

    /// The service's ARN as `serviceRef` or `serviceFrom` resolved it, if it did.
    pub fn resolved_service(&self) -> Option<String> {
        self.string(RESOLVED_SERVICE)
    }

    /// The region the status says the association is in.
    pub fn region(&self) -> Option<String> {
        self.string(STATUS_REGION)
    }

    /// The service network's ARN as `serviceNetworkRef` resolved it, if it did.
    pub fn resolved_network(&self) -> Option<String> {
        self.string(RESOLVED_NETWORK)
    }

    /// The association's ARN, as the status reports it.
    pub fn arn(&self) -> Option<String> {
        self.string(ARN)
    }

    /// The condition `type_`'s status, if it is set.
    pub fn condition(&self, type_: &str) -> Option<bool> {
        let i = CONDITIONS.iter().position(|t| *t == type_)?;
        self.marks[i].as_ref().map(|m| m.on)
    }

    /// True when some condition is set (the object has been reported on).
    pub fn reported(&self) -> bool {
        self.marks.iter().any(Option::is_some)
    }
}

impl Watched {
    /// The service network the object's association is in: the spec's identifier, or the ARN its
    /// `serviceNetworkRef` was resolved to (`None` until then).
    pub fn service_network(&self) -> Option<String> {
        self.spec
            .service_network_identifier()
            .or_else(|| self.status.as_ref()?.resolved_network())
    }

    /// The region the object's calls go to, when it is fixed: `spec.region`, else the region its
    /// status recorded (so that a Namespace's default region changed later does not move an
    /// association already made); `None`: the Namespace's default, else the operator's.
    pub fn region(&self) -> Option<String> {
        self.spec.region().or_else(|| self.status.as_ref()?.region())
    }

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
            spec: w.spec.into(),
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
        out.serialize_field("spec", &self.spec.spec())?;
        if let Some(status) = &self.status {
            out.serialize_field("status", &status.status())?;
        }
        out.end()
    }
}

#[cfg(test)]
mod tests;
