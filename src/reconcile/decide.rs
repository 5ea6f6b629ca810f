//! The decision core: from what the object asks for and what AWS reports, what to do next.
//! Pure functions, no I/O: every row of DESIGN.md's behaviour table is a case here (what each step
//! then means, its reason, Events and requeue, is [`outcome`](super::outcome)'s).

use crate::api::{AdoptionPolicy, CLUSTER_TAG, DeletionPolicy, GATEWAY_MANAGED_TAG, OWNER_TAG};
pub use crate::lattice::provider::AlwaysAdoption;
use crate::lattice::{Association, AssociationState, CreateAssociation, Tags};

/// Who an object is, as far as AWS is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `metadata.uid`.
    pub uid: String,
    /// `<namespace>/<name>`, the value of the owner tag.
    pub owner: String,
    /// `--cluster-name`, the value of the cluster tag.
    pub cluster: String,
}

/// Whether the association's tags are verified as this object's for its current spec, so that no
/// read of them is needed: the status says they were (`tags_synced`, the generation they were
/// verified for) for this `generation`; or, while the object is being deleted, for the generation
/// before it (deleting a custom resource with a finalizer bumps `metadata.generation` by one and
/// changes nothing else the operator reads), when the status had answered that one (`observed`).
pub fn tags_verified(tags_synced: Option<i64>, observed: Option<i64>, generation: Option<i64>, deleting: bool) -> bool {
    let Some(generation) = generation else {
        return false;
    };
    tags_synced == Some(generation)
        || (deleting && tags_synced == Some(generation - 1) && observed == Some(generation - 1))
}

/// The tags the operator puts on every association it creates: the object (`<namespace>/<name>`)
/// and the cluster that own it. The one place they are built.
pub fn ownership_tags(owner: &str, cluster: &str) -> Tags {
    Tags::from([
        (OWNER_TAG.to_string(), owner.to_string()),
        (CLUSTER_TAG.to_string(), cluster.to_string()),
    ])
}

impl Identity {
    /// The idempotency token of create number `attempt`: `<uid>-<attempt>` (at most 64 characters).
    pub fn client_token(&self, attempt: i32) -> String {
        let suffix = format!("-{attempt}");
        let keep = self.uid.len().min(64 - suffix.len());
        format!("{}{suffix}", &self.uid[..keep])
    }

    /// True when `tags` name this object as the association's owner.
    pub fn owns(&self, tags: &Tags) -> bool {
        tags.get(OWNER_TAG) == Some(&self.owner) && tags.get(CLUSTER_TAG) == Some(&self.cluster)
    }

    /// Who an association's `tags` say holds it, as seen from this object.
    pub fn holder(&self, tags: &Tags) -> Holder {
        if let Some(manager) = tags.get(GATEWAY_MANAGED_TAG) {
            return Holder::Gateway(manager.clone());
        }
        match (tags.get(OWNER_TAG), tags.get(CLUSTER_TAG)) {
            (None, _) => Holder::Nobody,
            (Some(owner), Some(cluster)) if *cluster == self.cluster => match *owner == self.owner {
                true => Holder::This,
                false => Holder::Sibling(owner.clone()),
            },
            (Some(owner), cluster) => Holder::OtherCluster {
                owner: owner.clone(),
                cluster: cluster.cloned().unwrap_or_default(),
            },
        }
    }
}

/// Who holds an association, by its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// This object: its ownership tags name it.
    This,
    /// The AWS Gateway API Controller (its `ManagedBy` tag, with that tag's value): never adopted,
    /// tagged or deleted.
    Gateway(String),
    /// Another object of this cluster (`<namespace>/<name>`).
    Sibling(String),
    /// An object of another cluster (or ownership tags without a cluster tag).
    OtherCluster { owner: String, cluster: String },
    /// No ownership tags: made outside the operator (console, Terraform, the AWS CLI).
    Nobody,
}

/// An association's tags as read from AWS, and whether the object they name exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub tags: Tags,
    /// The owner tag names another object of this cluster and that object exists (or its existence
    /// could not be checked, which counts as existing). Always false for any other holder.
    pub owner_exists: bool,
}

impl Claim {
    /// Tags whose holder, if another object of this cluster, does not exist.
    pub fn unheld(tags: Tags) -> Self {
        Self {
            tags,
            owner_exists: false,
        }
    }

    /// Why this object must leave the association alone whatever its adoption policy (it belongs to
    /// another live object of this cluster, or to the AWS Gateway API Controller), or `None`.
    pub fn held_elsewhere(&self, identity: &Identity, id: &str) -> Option<String> {
        match identity.holder(&self.tags) {
            Holder::Gateway(manager) => Some(format!(
                "association {id} is managed by the AWS Gateway API Controller ({GATEWAY_MANAGED_TAG}={manager}): \
                 this operator never adopts, tags or deletes it; manage it through the Gateway API Controller, or \
                 delete this object (deletionPolicy: Retain to be sure nothing is deleted)"
            )),
            Holder::Sibling(owner) if self.owner_exists => Some(format!(
                "association {id} belongs to {owner} in this cluster ({OWNER_TAG}={owner}), which exists: an \
                 association has one owner; delete this object, or delete {owner} first (with deletionPolicy: \
                 Retain to keep the association) and then this object can adopt it"
            )),
            _ => None,
        }
    }
}

/// What the desired state is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub service_identifier: String,
    pub service_network_identifier: String,
    /// User tags plus ownership tags.
    pub tags: Tags,
    pub adoption: AdoptionPolicy,
    pub deletion: DeletionPolicy,
}

/// What AWS reports for the object's association.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant, reason = "short-lived value of one reconcile")]
pub enum Observed {
    /// The status has no association id: nothing was asked of AWS.
    Untracked,
    /// The status has an id and AWS says it does not exist.
    Gone,
    /// The association, and what is known of its tags.
    Found { association: Association, tags: TagCheck },
}

/// What is known of an association's tags when it is observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagCheck {
    /// Not read: the association is not ACTIVE (tags are compared only once it is).
    Unread,
    /// Not read again: they were set (with the Create) or read and found matching for the object's
    /// current generation, and no drift scan has found them changed since.
    Verified,
    /// Read from AWS just now.
    Read(Claim),
}

/// The next step of an object that is wanted.
#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// Create the association with this request.
    Create(CreateAssociation),
    /// Nothing to do until AWS finishes; poll.
    Wait(Association),
    /// ACTIVE and tags match.
    InSync(Association),
    /// Its tags say it belongs to another live object or to the AWS Gateway API Controller: leave
    /// it alone (no write), and say why.
    Held { association: Association, why: String },
    /// Add or change these tags.
    Tag { association: Association, tags: Tags },
    /// Remove these tags.
    Untag {
        association: Association,
        keys: Vec<String>,
    },
    /// CREATE_FAILED or DELETE_FAILED: delete it so that it can be created again.
    Recover(Association),
    /// The association is gone: forget it and create a new one with a fresh token.
    Forget,
}

/// Decides the next step for an object that is wanted (not being deleted).
pub fn decide(desired: &Desired, identity: &Identity, recreate_attempts: i32, observed: &Observed) -> Plan {
    match observed {
        Observed::Untracked => Plan::Create(CreateAssociation {
            client_token: identity.client_token(recreate_attempts),
            service_identifier: desired.service_identifier.clone(),
            service_network_identifier: desired.service_network_identifier.clone(),
            tags: desired.tags.clone(),
        }),
        Observed::Gone => Plan::Forget,
        Observed::Found { association, tags } => match &association.status {
            AssociationState::CreateFailed | AssociationState::DeleteFailed => Plan::Recover(association.clone()),
            AssociationState::Active => match tags {
                TagCheck::Read(claim) => match claim.held_elsewhere(identity, &association.id) {
                    Some(why) => Plan::Held {
                        association: association.clone(),
                        why,
                    },
                    None => tag_plan(association, &desired.tags, &claim.tags),
                },
                TagCheck::Verified => Plan::InSync(association.clone()),
                TagCheck::Unread => Plan::Wait(association.clone()),
            },
            _ => Plan::Wait(association.clone()),
        },
    }
}

/// The keys to remove from `current` and the tags to add or change to bring it to `desired`; keys
/// beginning `aws:` are never touched.
fn tag_changes(desired: &Tags, current: &Tags) -> (Vec<String>, Tags) {
    let remove: Vec<String> = current
        .keys()
        .filter(|k| !k.starts_with("aws:") && !desired.contains_key(*k))
        .cloned()
        .collect();
    let add: Tags = desired
        .iter()
        .filter(|(k, v)| !k.starts_with("aws:") && current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (remove, add)
}

/// True when the tags AWS reports (`current`) are those the object asks for (`desired`, with the
/// ownership tags), keys beginning `aws:` aside: nothing to tag or untag.
pub fn tags_match(desired: &Tags, current: &Tags) -> bool {
    let (remove, add) = tag_changes(desired, current);
    remove.is_empty() && add.is_empty()
}

/// The tag change that brings `current` to `desired`, one call at a time: removals first, so that
/// renaming keys at the 50-tag limit never overshoots it; keys beginning `aws:` are never touched.
fn tag_plan(association: &Association, desired: &Tags, current: &Tags) -> Plan {
    let (keys, add) = tag_changes(desired, current);
    if !keys.is_empty() {
        return Plan::Untag {
            association: association.clone(),
            keys,
        };
    }
    if !add.is_empty() {
        return Plan::Tag {
            association: association.clone(),
            tags: add,
        };
    }
    Plan::InSync(association.clone())
}

/// What to do when Create says the pair is already associated.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant, reason = "short-lived value of one reconcile")]
pub enum Adoption {
    Adopt(Association),
    /// Not ours to take: the message says which association and how to adopt it.
    Refuse(String),
    /// Nothing found after all (it went away meanwhile): create again.
    Retry,
}

/// Applies the adoption rules to the association found for the pair (`None`: none found), with
/// its tags. Whatever the policy, an association another live object of this cluster owns, or the
/// AWS Gateway API Controller manages, is never adopted; `Always` adopts any other only where the
/// namespace allows it (`always`).
pub fn adopt(
    policy: AdoptionPolicy,
    always: &AlwaysAdoption,
    identity: &Identity,
    existing: Option<(Association, Claim)>,
) -> Adoption {
    let Some((association, claim)) = existing else {
        return Adoption::Retry;
    };
    let id = &association.id;
    if let Some(why) = claim.held_elsewhere(identity, id) {
        return Adoption::Refuse(format!(
            "the service is already associated with the service network: {why}"
        ));
    }
    let holder = identity.holder(&claim.tags);
    let held = match &holder {
        Holder::This => "whose ownership tags name this object".to_string(),
        Holder::Sibling(owner) => format!("owned by {owner}, which no longer exists"),
        Holder::OtherCluster { owner, cluster } => format!("owned by {owner} of cluster {cluster:?}"),
        Holder::Nobody => "which has no ownership tags (made outside this operator)".to_string(),
        Holder::Gateway(_) => unreachable!("held elsewhere"),
    };
    let state = &association.status;
    let risk = "adopting rewrites its tags to this object's, and deleting this object then deletes the association";
    match (policy, holder) {
        (AdoptionPolicy::Never, _) => Adoption::Refuse(format!(
            "the service is already associated with the service network as {id} ({state}), {held}, and \
             spec.adoptionPolicy is Never; use IfOwned to take back an association this object owns, or delete it"
        )),
        (_, Holder::This) => Adoption::Adopt(association),
        (AdoptionPolicy::IfOwned, _) => Adoption::Refuse(format!(
            "the service is already associated with the service network as {id} ({state}), {held}; this object \
             adopts only an association its tags name (adoptionPolicy: IfOwned). To take it over, set \
             adoptionPolicy: Always in a namespace the platform team allows ({risk}), or delete it"
        )),
        (AdoptionPolicy::Always, _) => match always {
            AlwaysAdoption::Allowed => Adoption::Adopt(association),
            AlwaysAdoption::Refused(why) => Adoption::Refuse(format!(
                "the service is already associated with the service network as {id} ({state}), {held}; \
                 spec.adoptionPolicy is Always but {why}, so it is not adopted"
            )),
        },
    }
}

/// The first decision about an object being deleted: its deletion policy alone says whether AWS is
/// touched at all, so Retain costs no AWS call (not even the namespace's identity is resolved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cleanup {
    /// deletionPolicy Retain: drop the finalizer and leave the association in AWS.
    Retain,
    /// deletionPolicy Delete: find the association, then [`Deletion::next`] says what to do.
    Delete(Deletion),
}

/// Decides what becomes of the association of an object being deleted.
pub fn decide_cleanup(policy: DeletionPolicy) -> Cleanup {
    match policy {
        DeletionPolicy::Retain => Cleanup::Retain,
        DeletionPolicy::Delete => Cleanup::Delete(Deletion(())),
    }
}

/// A deletion the policy allows: only [`decide_cleanup`] makes one, so no step of a deletion can be
/// decided for a retained association.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deletion(());

/// The next step of a deletion.
#[derive(Clone, Debug, PartialEq)]
pub enum DeletionStep {
    /// Nothing (more) to do in AWS: drop the finalizer.
    Release,
    /// Ask AWS to delete it.
    Delete(Association),
    /// AWS is still working on it; poll.
    Wait(Association),
    /// Its tags say it is another live object's or the AWS Gateway API Controller's: drop the
    /// finalizer without deleting it, and say why.
    Leave { association: Association, why: String },
}

impl Deletion {
    /// The next step, given the association (by status id, or found by pair and owned), or `None`
    /// when AWS has none, and its tags when they were read (`claim`).
    pub fn next(self, observed: Option<&Association>, claim: Option<&Claim>, identity: &Identity) -> DeletionStep {
        let Some(a) = observed else {
            return DeletionStep::Release;
        };
        if let Some(why) = claim.and_then(|c| c.held_elsewhere(identity, &a.id)) {
            return DeletionStep::Leave {
                association: a.clone(),
                why,
            };
        }
        match a.status {
            AssociationState::DeleteInProgress | AssociationState::CreateInProgress => DeletionStep::Wait(a.clone()),
            _ => DeletionStep::Delete(a.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
