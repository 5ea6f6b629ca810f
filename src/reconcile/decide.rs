//! The decision core: from what the object asks for and what AWS reports, what to do next.
//! Pure functions, no I/O: every row of DESIGN.md's behaviour table is a case here (what each step
//! then means, its reason, Events and requeue, is [`outcome`](super::outcome)'s).

use crate::api::{AdoptionPolicy, CLUSTER_TAG, DeletionPolicy, OWNER_TAG};
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

impl Identity {
    /// The idempotency token of create number `attempt`: `<uid>-<attempt>` (at most 64 characters).
    pub fn client_token(&self, attempt: i32) -> String {
        let suffix = format!("-{attempt}");
        let keep = self.uid.len().min(64 - suffix.len());
        format!("{}{suffix}", &self.uid[..keep])
    }

    /// The tags the operator puts on every association it creates.
    pub fn ownership_tags(&self) -> Tags {
        Tags::from([
            (OWNER_TAG.to_string(), self.owner.clone()),
            (CLUSTER_TAG.to_string(), self.cluster.clone()),
        ])
    }

    /// True when `tags` name this object as the association's owner.
    pub fn owns(&self, tags: &Tags) -> bool {
        tags.get(OWNER_TAG) == Some(&self.owner) && tags.get(CLUSTER_TAG) == Some(&self.cluster)
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
    Read(Tags),
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
                TagCheck::Read(current) => tag_plan(association, &desired.tags, current),
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

/// Applies the adoption policy to the association found for the pair, with its tags.
pub fn adopt(policy: AdoptionPolicy, identity: &Identity, existing: Option<(Association, Tags)>) -> Adoption {
    let Some((association, tags)) = existing else {
        return Adoption::Retry;
    };
    let owned = identity.owns(&tags);
    match policy {
        AdoptionPolicy::Always => Adoption::Adopt(association),
        AdoptionPolicy::IfOwned if owned => Adoption::Adopt(association),
        AdoptionPolicy::IfOwned => Adoption::Refuse(format!(
            "the service is already associated with the service network as {} ({}), which this object does not own \
             (owner tag: {}); set spec.adoptionPolicy: Always to adopt it, or delete it",
            association.id,
            association.status,
            tags.get(OWNER_TAG).map(String::as_str).unwrap_or("none"),
        )),
        AdoptionPolicy::Never => Adoption::Refuse(format!(
            "the service is already associated with the service network as {} ({}) and spec.adoptionPolicy is Never; \
             set it to Always (or IfOwned, when the tags name this object) to adopt it, or delete it",
            association.id, association.status,
        )),
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
}

impl Deletion {
    /// The next step, given the association (by status id, or found by pair and owned), or `None`
    /// when AWS has none.
    pub fn next(self, observed: Option<&Association>) -> DeletionStep {
        match observed {
            None => DeletionStep::Release,
            Some(a) => match a.status {
                AssociationState::DeleteInProgress | AssociationState::CreateInProgress => {
                    DeletionStep::Wait(a.clone())
                }
                _ => DeletionStep::Delete(a.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests;
