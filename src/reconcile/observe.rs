//! Reading AWS: what exists for an object. Reads only; every change is `execute`'s.

use crate::api::ServiceNetworkServiceAssociationStatus as Status;
use crate::lattice::{Association, AssociationState, ErrorKind, LatticeApi, LatticeError, Tags, find_association};
use crate::reconcile::decide::{Desired, Identity, Observed};

/// A call's answer, or `None` when AWS says the thing asked about does not exist (any more).
pub fn unless_gone<T>(result: Result<T, LatticeError>) -> Result<Option<T>, LatticeError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A wanted object's association: Get by the status's id, and its tags when it is ACTIVE.
pub async fn wanted(api: &dyn LatticeApi, status: &Status) -> Result<Observed, LatticeError> {
    let Some(id) = &status.id else {
        return Ok(Observed::Untracked);
    };
    let Some(association) = unless_gone(api.get_association(id).await)? else {
        return Ok(Observed::Gone);
    };
    let tags = match association.status {
        AssociationState::Active => match unless_gone(api.list_tags(&association.arn).await)? {
            Some(tags) => Some(tags),
            // Deleted between the Get and the ListTags.
            None => return Ok(Observed::Gone),
        },
        _ => None,
    };
    Ok(Observed::Found { association, tags })
}

/// The association of the object's (service network, service) pair, if there is one, with its tags.
pub async fn pair(api: &dyn LatticeApi, desired: &Desired) -> Result<Option<(Association, Tags)>, LatticeError> {
    let found = find_association(api, &desired.service_network_identifier, &desired.service_identifier).await?;
    let Some(association) = found else {
        return Ok(None);
    };
    let tags = api.list_tags(&association.arn).await?;
    Ok(Some((association, tags)))
}

/// What is left in AWS of an object being deleted: its association by the status's id, else the
/// pair's association when its tags name this object.
pub async fn remains(
    api: &dyn LatticeApi,
    status: &Status,
    desired: &Desired,
    identity: &Identity,
) -> Result<Option<Association>, LatticeError> {
    match &status.id {
        Some(id) => unless_gone(api.get_association(id).await),
        None => Ok(pair(api, desired)
            .await?
            .filter(|(_, tags)| identity.owns(tags))
            .map(|(association, _)| association)),
    }
}
