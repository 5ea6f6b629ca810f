//! Which associations become manifests, and why the others do not. Pure: from what AWS reported
//! (each association with all its tags) and the command line's choices, the objects to write, in
//! name order, and the associations skipped with their reasons, in ID order.

use std::collections::BTreeMap;

use kube::api::ObjectMeta;

use super::naming::object_name;
use crate::api::{
    AdoptionPolicy, CLUSTER_TAG, DeletionPolicy, GATEWAY_MANAGED_TAG, IMPORTED_FROM_ANNOTATION, MAX_SPEC_TAGS,
    ManagementPolicy, OWNER_TAG, RESERVED_TAG_PREFIXES, ServiceNetworkServiceAssociation as Object,
    ServiceNetworkServiceAssociationSpec as Spec,
};
use crate::lattice::names::account_of;
use crate::lattice::{Association, AssociationState, Tags};

/// An association as AWS reports it, with all its tags, or why they could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub association: Association,
    pub tags: Result<Tags, String>,
}

/// How the manifests name the service and the service network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Identifiers {
    /// Their ARNs: what the association is, whatever account or region the manifest is applied in.
    #[default]
    Arn,
    /// Their IDs, where the service, the network and the association are all of one account (else
    /// ARNs, which AWS needs for another account's).
    Id,
}

/// What the command line chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// `metadata.namespace` of every object (`None`: left to `kubectl apply -n`).
    pub namespace: Option<String>,
    /// The region the associations were listed in, written as `spec.region`.
    pub region: String,
    /// This cluster's `--cluster-name`: associations whose ownership tags name it are skipped.
    pub cluster: String,
    pub identifiers: Identifiers,
    pub deletion: DeletionPolicy,
    /// Also CREATE_FAILED and DELETE_FAILED associations.
    pub include_failed: bool,
    /// Also the AWS Gateway API Controller's associations, as `managementPolicy: ObserveOnly`.
    pub include_gateway_managed: bool,
    /// Also associations whose ownership tags name another cluster.
    pub include_other_clusters: bool,
}

/// One object to write.
#[derive(Clone, Debug)]
pub struct Manifest {
    pub association: Association,
    pub object: Object,
}

/// One association not written, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub association: Association,
    pub reason: String,
}

/// The objects to write and the associations skipped.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub manifests: Vec<Manifest>,
    pub skipped: Vec<Skipped>,
}

/// The service's and network's names for people: the names AWS reports, else their IDs.
pub fn names(a: &Association) -> (&str, &str) {
    fn pick<'a>(name: &'a Option<String>, id: &'a Option<String>) -> &'a str {
        name.as_deref().or(id.as_deref()).unwrap_or("?")
    }
    (
        pick(&a.service_name, &a.service_id),
        pick(&a.service_network_name, &a.service_network_id),
    )
}

/// The plan for `found` under `settings`.
pub fn plan(found: Vec<Found>, settings: &Settings) -> Plan {
    let mut plan = Plan::default();
    let mut named: BTreeMap<String, Vec<Manifest>> = BTreeMap::new();
    for f in found {
        match manifest(&f, settings) {
            Ok(m) => named
                .entry(m.object.metadata.name.clone().unwrap_or_default())
                .or_default()
                .push(m),
            Err(reason) => plan.skipped.push(Skipped {
                association: f.association,
                reason,
            }),
        }
    }
    for (name, mut ms) in named {
        if ms.len() == 1 {
            plan.manifests.append(&mut ms);
            continue;
        }
        let ids: Vec<String> = ms.iter().map(|m| m.association.id.clone()).collect();
        for m in ms {
            let others: Vec<&str> = ids
                .iter()
                .filter(|i| **i != m.association.id)
                .map(String::as_str)
                .collect();
            let reason = format!(
                "would be named {name}, as would {}: import each by its own --service or --service-network into \
                 its own namespace (--namespace), or write these manifests by hand",
                others.join(", ")
            );
            plan.skipped.push(Skipped {
                association: m.association,
                reason,
            });
        }
    }
    plan.skipped.sort_by(|a, b| a.association.id.cmp(&b.association.id));
    plan
}

/// The object for one association, or why it is skipped.
fn manifest(f: &Found, s: &Settings) -> Result<Manifest, String> {
    let a = &f.association;
    match &a.status {
        AssociationState::Active => {}
        AssociationState::CreateFailed | AssociationState::DeleteFailed if s.include_failed => {}
        AssociationState::CreateFailed | AssociationState::DeleteFailed => {
            return Err(format!(
                "{}, not ACTIVE: --include-failed imports it (the operator then deletes and recreates it, as AWS \
                 documents for a failed association)",
                a.status
            ));
        }
        other => {
            return Err(format!(
                "{other}: AWS is still working on it; run the import again once it is ACTIVE"
            ));
        }
    }
    let all_tags = f.tags.as_ref().map_err(Clone::clone)?;
    let observe = match all_tags.get(GATEWAY_MANAGED_TAG) {
        Some(by) if !s.include_gateway_managed => {
            return Err(format!(
                "managed by the AWS Gateway API Controller ({GATEWAY_MANAGED_TAG}={by}): \
                 --include-gateway-managed imports it as managementPolicy: ObserveOnly (reported, never changed: \
                 the operator never takes over the controller's associations)"
            ));
        }
        Some(_) => true,
        None => false,
    };
    match (all_tags.get(OWNER_TAG), all_tags.get(CLUSTER_TAG)) {
        (Some(owner), Some(cluster)) if *cluster == s.cluster => {
            return Err(format!(
                "already owned by {owner} of this cluster ({CLUSTER_TAG}={cluster}): that object manages it; if it \
                 is gone (deleted with deletionPolicy: Retain), an object of that namespace and name adopts it with \
                 the default adoptionPolicy"
            ));
        }
        (Some(owner), cluster) if !s.include_other_clusters && !observe => {
            let cluster = cluster.map_or("no cluster tag".to_string(), |c| format!("cluster {c}"));
            return Err(format!(
                "owned by {owner} of {cluster}: --include-other-clusters imports it (the operator then takes it \
                 over from that cluster, which must stop managing it first)"
            ));
        }
        _ => {}
    }
    let tags = if observe { Tags::new() } else { user_tags(all_tags)? };
    let service = identifier(&a.service_id, &a.service_arn, a, s.identifiers)
        .ok_or("AWS reported neither the service's ID nor its ARN")?;
    let network = identifier(&a.service_network_id, &a.service_network_arn, a, s.identifiers)
        .ok_or("AWS reported neither the service network's ID nor its ARN")?;
    let (service_name, network_name) = names(a);
    let name = object_name(service_name, network_name);
    let spec = Spec {
        service_identifier: Some(service),
        service_ref: None,
        service_from: None,
        service_network_identifier: Some(network),
        service_network_ref: None,
        region: Some(s.region.clone()),
        tags,
        deletion_policy: s.deletion,
        // An observer adopts nothing: the default, which any namespace accepts.
        adoption_policy: match observe {
            true => AdoptionPolicy::IfOwned,
            false => AdoptionPolicy::Always,
        },
        management_policy: match observe {
            true => ManagementPolicy::ObserveOnly,
            false => ManagementPolicy::Managed,
        },
    };
    let object = Object {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: s.namespace.clone(),
            annotations: Some(BTreeMap::from([(IMPORTED_FROM_ANNOTATION.to_string(), a.arn.clone())])),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    };
    Ok(Manifest {
        association: a.clone(),
        object,
    })
}

/// The tags `spec.tags` carries: every tag but AWS's own (`aws:`) and the ownership tags, or why
/// the association cannot be imported with them (a key `spec.tags` refuses that the operator would
/// then remove, or more than it holds).
fn user_tags(all: &Tags) -> Result<Tags, String> {
    let mut tags = Tags::new();
    for (k, v) in all {
        if k.starts_with("aws:") || k == OWNER_TAG || k == CLUSTER_TAG {
            continue;
        }
        if RESERVED_TAG_PREFIXES.iter().any(|p| k.starts_with(p)) {
            return Err(format!(
                "carries the tag {k}, which spec.tags cannot hold (its prefix is reserved) and the operator would \
                 remove: remove the tag in AWS first, or leave this association out"
            ));
        }
        tags.insert(k.clone(), v.clone());
    }
    if tags.len() > MAX_SPEC_TAGS {
        return Err(format!(
            "has {} tags; spec.tags holds at most {MAX_SPEC_TAGS} (AWS allows 50, the operator adds its two): \
             remove some in AWS first",
            tags.len()
        ));
    }
    Ok(tags)
}

/// The service's or network's identifier as the manifest gives it: its ARN; its ID only when asked
/// and the service, the network and the association are all of one account (a service or network
/// of another account than the identity that applies the manifest must be named by ARN, and which
/// account that is the import cannot tell otherwise).
fn identifier(id: &Option<String>, arn: &Option<String>, a: &Association, want: Identifiers) -> Option<String> {
    let (service, network) = (a.service_arn.as_deref(), a.service_network_arn.as_deref());
    let (service, network) = (service.and_then(account_of), network.and_then(account_of));
    let one_account = service == network && service == account_of(&a.arn);
    match want {
        Identifiers::Id if one_account => id.clone().or_else(|| arn.clone()),
        _ => arn.clone().or_else(|| id.clone()),
    }
}

#[cfg(test)]
mod tests;
