//! Changing AWS: the one mutating call of a plan, and nothing else (no Events, no status, no
//! memory). A call on a known association that finds it gone answers `Ok(None)`.

use tracing::info;

use crate::lattice::CreateAssociation;
use crate::lattice::{Association, AssociationState, ErrorKind, LatticeApi, LatticeError, Tags};
use crate::reconcile::observe::unless_gone;

/// Create: the association made (or made before with the same token), or `None` when AWS says the
/// pair is associated already (a conflict: what holds it is for `observe` to read).
pub async fn create(api: &dyn LatticeApi, req: &CreateAssociation) -> Result<Option<Association>, LatticeError> {
    match api.create_association(req).await {
        Ok(association) => {
            info!(id = association.id, "created association");
            Ok(Some(association))
        }
        Err(e) if e.kind == ErrorKind::Conflict => Ok(None),
        Err(e) => Err(e),
    }
}

/// Adds or changes these tags.
pub async fn tag(api: &dyn LatticeApi, a: &Association, tags: &Tags) -> Result<Option<()>, LatticeError> {
    unless_gone(api.tag_resource(&a.arn, tags).await)
}

/// Removes these tags.
pub async fn untag(api: &dyn LatticeApi, a: &Association, keys: &[String]) -> Result<Option<()>, LatticeError> {
    unless_gone(api.untag_resource(&a.arn, keys).await)
}

/// Starts deleting it; AWS answers with its new state.
pub async fn delete(api: &dyn LatticeApi, a: &Association) -> Result<Option<AssociationState>, LatticeError> {
    unless_gone(api.delete_association(&a.id).await)
}
