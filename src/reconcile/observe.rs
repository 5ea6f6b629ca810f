//! Reading AWS: what exists for an object. Reads only; every change is `execute`'s.
//!
//! An object's association is looked up in the shared listing of its (identity, service network)
//! ([`Observations`]), which answers for every object of that network while it is fresh; a Get is
//! made only where the listing cannot answer: a failed association (its failure code and message),
//! or one missing from the listing (deleted, or too new to be listed: the Get tells which).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::ServiceNetworkServiceAssociationStatus as Status;
use crate::lattice::observation::{Begun, Listing, Observations, SETTLED_MAX_AGE, Says, Scope, Work};
use crate::lattice::{Association, AssociationState, ErrorKind, LatticeApi, LatticeError, Tags, find_association};
use crate::metrics::Metrics;
use crate::reconcile::decide::{Claim, Desired, Holder, Identity, Observed, TagCheck};

/// Whether an object named by an association's owner tag exists in this cluster.
#[async_trait::async_trait]
pub trait Owners: Send + Sync {
    /// True when the object `<namespace>/<name>` exists, or its existence cannot be told (counted
    /// as existing: an association is never taken from an owner that might be there).
    async fn exists(&self, owner: &str) -> bool;
}

/// The objects of this cluster, read from the API server (a Get per question: asked only when an
/// association's tags name another object, which is rare).
pub struct ClusterOwners(pub kube::Client);

#[async_trait::async_trait]
impl Owners for ClusterOwners {
    async fn exists(&self, owner: &str) -> bool {
        use crate::api::Watched;
        let Some((namespace, name)) = owner.split_once('/') else {
            return false;
        };
        match kube::Api::<Watched>::namespaced(self.0.clone(), namespace)
            .get_opt(name)
            .await
        {
            Ok(found) => found.is_some(),
            Err(e) => {
                tracing::warn!(owner, error = %e, "could not tell whether the owner of an association exists; \
                    treating it as existing");
                true
            }
        }
    }
}

/// The claim of `tags`, as seen from `identity`: whether the other object they name exists is
/// asked of `owners` only when they name one.
pub async fn claim(owners: &dyn Owners, identity: &Identity, tags: Tags) -> Claim {
    let owner_exists = match identity.holder(&tags) {
        Holder::Sibling(owner) => owners.exists(&owner).await,
        _ => false,
    };
    Claim { tags, owner_exists }
}

/// A call's answer, or `None` when AWS says the thing asked about does not exist (any more).
pub fn unless_gone<T>(result: Result<T, LatticeError>) -> Result<Option<T>, LatticeError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where one object's association is looked up: the shared listing of its (identity, service
/// network), and the API for what the listing cannot answer.
pub struct Lookup<'a> {
    pub api: &'a Arc<dyn LatticeApi>,
    pub observations: &'a Observations,
    pub scope: Scope,
    /// When the object's last mutating call returned: only a listing begun after it may answer.
    pub not_before: Option<Instant>,
    /// The object's Create or Delete that AWS accepted and is still working on, if any: a listing
    /// that shows it done teaches the network's time for that work, and one begun after a Delete
    /// that lacks the association confirms it gone (no Get).
    pub begun: Option<Begun>,
    /// How old a listing may answer this object ([`Observations::age_for`]).
    pub age: Duration,
    /// Counts how each listing request was served.
    pub metrics: &'a Metrics,
    /// Who else exists, for associations whose tags name another object.
    pub owners: &'a dyn Owners,
}

impl Lookup<'_> {
    /// The network's listing, at most `age` old (and begun after the object's last change), counted
    /// by how it was served.
    async fn listing(&self, age: Duration) -> Result<Arc<Listing>, LatticeError> {
        let (listing, served) = self
            .observations
            .listing_within(&self.scope, self.api, self.not_before, age)
            .await?;
        self.metrics.observed(served.as_str());
        Ok(listing)
    }

    /// The association `id` as AWS reports it, or `None` when it does not exist: from the listing,
    /// with a Get only for a failed association or one the listing lacks.
    pub async fn association(&self, id: &str) -> Result<Option<Association>, LatticeError> {
        let listing = self.listing(self.age).await?;
        let took = |b: Begun| listing.started.saturating_duration_since(b.at);
        let deleted_at = self.begun.filter(|b| b.work == Work::Delete).map(|b| b.at);
        match listing.says(id) {
            Says::Listed(a) => {
                if let Some(b) = self.begun
                    && b.work == Work::Create
                    && a.status == AssociationState::Active
                {
                    self.observations.learn(&self.scope, Work::Create, took(b));
                }
                Ok(Some(a))
            }
            Says::Missing if listing.confirms_gone(id, deleted_at) => {
                if let Some(b) = self.begun {
                    self.observations.learn(&self.scope, Work::Delete, took(b));
                }
                Ok(None)
            }
            Says::Failed(_) | Says::Missing => unless_gone(self.api.get_association(id).await),
        }
    }

    /// The association of the object's pair as its network's listing shows it, if any, with its
    /// tags: what an object that may adopt (`adoptionPolicy: Always`) looks for before it creates,
    /// so that adopting an association costs no Create call. (`None`: none listed, or deleted since.)
    /// A listing up to [`SETTLED_MAX_AGE`] old answers: a stale miss only leaves the Create to find
    /// the association (its conflict leads to the same rules), and a stale hit is checked by the tag
    /// read (gone: `None`, so the object creates); many objects applied at once (an import) then
    /// share one listing of their network instead of one each second.
    pub async fn listed_pair(
        &self,
        desired: &Desired,
        identity: &Identity,
    ) -> Result<Option<(Association, Claim)>, LatticeError> {
        let listing = self.listing(self.age.max(SETTLED_MAX_AGE)).await?;
        let Some(association) = listing.of_service(&desired.service_identifier) else {
            return Ok(None);
        };
        let Some(tags) = unless_gone(self.api.list_tags(&association.arn).await)? else {
            return Ok(None);
        };
        Ok(Some((association, claim(self.owners, identity, tags).await)))
    }
}

/// A wanted object's association (by the status's id), and its tags when it is ACTIVE, unless they
/// are `verified` for the object's generation.
pub async fn wanted(
    lookup: &Lookup<'_>,
    identity: &Identity,
    status: &Status,
    verified: bool,
) -> Result<Observed, LatticeError> {
    let Some(id) = &status.id else {
        return Ok(Observed::Untracked);
    };
    let Some(association) = lookup.association(id).await? else {
        return Ok(Observed::Gone);
    };
    let tags = match association.status {
        AssociationState::Active if verified => TagCheck::Verified,
        AssociationState::Active => match unless_gone(lookup.api.list_tags(&association.arn).await)? {
            Some(tags) => TagCheck::Read(claim(lookup.owners, identity, tags).await),
            // Deleted since it was listed.
            None => return Ok(Observed::Gone),
        },
        _ => TagCheck::Unread,
    };
    Ok(Observed::Found { association, tags })
}

/// The association of the object's (service network, service) pair, if there is one, with its tags.
pub async fn pair(
    lookup: &Lookup<'_>,
    desired: &Desired,
    identity: &Identity,
) -> Result<Option<(Association, Claim)>, LatticeError> {
    let api = lookup.api.as_ref();
    let found = find_association(api, &desired.service_network_identifier, &desired.service_identifier).await?;
    let Some(association) = found else {
        return Ok(None);
    };
    let tags = api.list_tags(&association.arn).await?;
    Ok(Some((association, claim(lookup.owners, identity, tags).await)))
}

/// What is left in AWS of an object being deleted: its association by the status's id (with its
/// tags, unless they are `verified` for the object's generation or AWS is still working on it),
/// else the pair's association when its tags name this object.
pub async fn remains(
    lookup: &Lookup<'_>,
    status: &Status,
    verified: bool,
    desired: &Desired,
    identity: &Identity,
) -> Result<Option<(Association, Option<Claim>)>, LatticeError> {
    let Some(id) = &status.id else {
        return Ok(pair(lookup, desired, identity)
            .await?
            .filter(|(_, claim)| identity.owns(&claim.tags))
            .map(|(association, claim)| (association, Some(claim))));
    };
    let Some(association) = lookup.association(id).await? else {
        return Ok(None);
    };
    let settled = !matches!(
        association.status,
        AssociationState::CreateInProgress | AssociationState::DeleteInProgress
    );
    if verified || !settled {
        return Ok(Some((association, None)));
    }
    // Not verified as this object's: read who holds it before deleting it.
    Ok(match unless_gone(lookup.api.list_tags(&association.arn).await)? {
        Some(tags) => {
            let claim = claim(lookup.owners, identity, tags).await;
            Some((association, Some(claim)))
        }
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::stub::Stub;

    /// No other object exists.
    struct NoOwners;

    #[async_trait::async_trait]
    impl Owners for NoOwners {
        async fn exists(&self, _owner: &str) -> bool {
            false
        }
    }

    fn scope() -> Scope {
        ("default".into(), "sn-0123456789abcdef0".into())
    }

    fn with_states(states: &[AssociationState]) -> Arc<Stub> {
        let mut stub = Stub::with(states.len());
        for (a, state) in stub.associations.iter_mut().zip(states) {
            a.status = state.clone();
        }
        Arc::new(stub)
    }

    /// Looks `id` up in a fresh observation of `stub`'s associations; the calls it made.
    async fn look_up(stub: &Arc<Stub>, ids: &[&str]) -> (Vec<Option<AssociationState>>, Vec<&'static str>) {
        look_up_after(stub, ids, None, &Observations::new(Duration::from_secs(60))).await
    }

    /// [`look_up`] for an object whose Create or Delete was accepted (`begun`), in `observations`.
    async fn look_up_after(
        stub: &Arc<Stub>,
        ids: &[&str],
        begun: Option<Begun>,
        observations: &Observations,
    ) -> (Vec<Option<AssociationState>>, Vec<&'static str>) {
        let api: Arc<dyn LatticeApi> = stub.clone();
        let metrics = Metrics::default();
        let lookup = Lookup {
            api: &api,
            observations,
            scope: scope(),
            not_before: begun.map(|b| b.at),
            begun,
            age: observations.max_age(),
            metrics: &metrics,
            owners: &NoOwners,
        };
        let mut found = Vec::new();
        for id in ids {
            found.push(lookup.association(id).await.unwrap().map(|a| a.status));
        }
        (found, stub.calls())
    }

    #[tokio::test]
    async fn objects_in_progress_or_active_are_answered_by_one_list() {
        let stub = with_states(&[
            AssociationState::CreateInProgress,
            AssociationState::Active,
            AssociationState::DeleteInProgress,
        ]);
        let (found, calls) = look_up(&stub, &["snsa-00000", "snsa-00001", "snsa-00002"]).await;
        assert_eq!(
            found,
            [
                Some(AssociationState::CreateInProgress),
                Some(AssociationState::Active),
                Some(AssociationState::DeleteInProgress)
            ]
        );
        assert_eq!(calls, ["List"], "no Get");
    }

    #[tokio::test]
    async fn a_failed_association_is_read_with_a_get() {
        let stub = with_states(&[AssociationState::CreateFailed]);
        let (found, calls) = look_up(&stub, &["snsa-00000"]).await;
        assert_eq!(found, [Some(AssociationState::CreateFailed)]);
        assert_eq!(calls, ["List", "Get"]);
    }

    #[tokio::test]
    async fn an_association_missing_from_the_listing_is_confirmed_gone_with_a_get() {
        let stub = with_states(&[AssociationState::Active]);
        let (found, calls) = look_up(&stub, &["snsa-99999"]).await;
        assert_eq!(found, [None]);
        assert_eq!(calls, ["List", "Get"]);
    }

    #[tokio::test]
    async fn after_an_accepted_delete_a_listing_without_the_association_confirms_it_gone_with_no_get() {
        let stub = with_states(&[AssociationState::Active]);
        let observations = Observations::new(Duration::from_secs(60));
        let begun = Begun {
            work: Work::Delete,
            at: Instant::now(),
        };
        let (found, calls) = look_up_after(&stub, &["snsa-99999"], Some(begun), &observations).await;
        assert_eq!(found, [None]);
        assert_eq!(calls, ["List"], "no Get");
        assert!(
            observations.learned(&scope(), Work::Delete).is_some(),
            "the deletion's time is learned"
        );
    }

    #[tokio::test]
    async fn a_delete_still_listed_is_answered_by_the_listing_and_teaches_nothing() {
        let stub = with_states(&[AssociationState::DeleteInProgress]);
        let observations = Observations::new(Duration::from_secs(60));
        let begun = Begun {
            work: Work::Delete,
            at: Instant::now(),
        };
        let (found, calls) = look_up_after(&stub, &["snsa-00000"], Some(begun), &observations).await;
        assert_eq!(found, [Some(AssociationState::DeleteInProgress)]);
        assert_eq!(calls, ["List"]);
        assert_eq!(observations.learned(&scope(), Work::Delete), None);
    }

    #[tokio::test]
    async fn after_an_accepted_create_a_missing_association_is_still_read_with_a_get() {
        // Only a Delete makes a missing association gone: a new one may be too new to be listed.
        let stub = with_states(&[AssociationState::Active]);
        let begun = Begun {
            work: Work::Create,
            at: Instant::now(),
        };
        let observations = Observations::new(Duration::from_secs(60));
        let (found, calls) = look_up_after(&stub, &["snsa-99999"], Some(begun), &observations).await;
        assert_eq!(found, [None]);
        assert_eq!(calls, ["List", "Get"]);
    }

    #[tokio::test]
    async fn a_create_seen_active_teaches_the_network_its_provisioning_time() {
        let stub = with_states(&[AssociationState::CreateInProgress, AssociationState::Active]);
        let observations = Observations::new(Duration::from_secs(60));
        let begun = Begun {
            work: Work::Create,
            at: Instant::now(),
        };
        look_up_after(&stub, &["snsa-00000"], Some(begun), &observations).await;
        assert_eq!(observations.learned(&scope(), Work::Create), None, "still creating");
        look_up_after(&stub, &["snsa-00001"], Some(begun), &observations).await;
        assert!(observations.learned(&scope(), Work::Create).is_some());
    }
}
