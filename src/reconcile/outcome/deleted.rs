//! The outcomes of the steps of an object being deleted (DESIGN.md's behaviour table, the rows
//! "object deleted" and "DELETE_FAILED while deleting").

use super::step::{Event, Outcome, failed};
use crate::api::ServiceNetworkServiceAssociationStatus as Status;
use crate::lattice::{Association, AssociationState, LatticeError};
use crate::reconcile::reason::Reason;
use crate::reconcile::requeue::Next;
use crate::reconcile::status::record;

/// How a cleanup step ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cleaned {
    /// Nothing is left to do in AWS: the finalizer goes, after these Events.
    Released(Vec<Event>),
    /// Still under way: the finalizer stays; report this and look again.
    Pending(Outcome),
}

/// deletionPolicy Retain: the association stays in AWS.
pub fn retained(status: &Status) -> Cleaned {
    let note = match &status.id {
        Some(id) => format!("association {id} left in AWS (deletionPolicy Retain)"),
        None => "deletionPolicy Retain: nothing deleted in AWS".to_string(),
    };
    Cleaned::Released(vec![Event::normal(Reason::Retained, "Delete", note)])
}

/// Deletion step `Release`: AWS has no association of the object (any more).
pub fn released(status: &Status) -> Cleaned {
    let note = match &status.id {
        Some(id) => format!("association {id} is gone from AWS"),
        None => "no association of this object exists in AWS".to_string(),
    };
    Cleaned::Released(vec![Event::normal(Reason::Deleted, "Delete", note)])
}

/// Deletion step `Leave`: the association is not this object's to delete (its tags name another
/// live object, or the AWS Gateway API Controller); the finalizer goes and the association stays.
pub fn left(a: &Association, why: &str) -> Cleaned {
    Cleaned::Released(vec![Event::warning(
        Reason::Retained,
        "Delete",
        format!("association {} not deleted: {why}", a.id),
    )])
}

/// Deletion step `Wait`: AWS is still working on it.
pub fn deletion_waiting(a: &Association, status: &mut Status) -> Cleaned {
    record(status, a);
    Cleaned::Pending(Outcome::progressing(
        Reason::Deleting,
        format!("association {} is {}", a.id, a.status),
        Next::Poll,
    ))
}

/// Deletion step `Delete`. `deleted`: the state AWS reports, `None` when the association is gone.
/// A DELETE_FAILED association is deleted again with backoff, announced as a Warning.
pub fn deleting(
    a: &Association,
    deleted: Result<Option<AssociationState>, LatticeError>,
    status: &mut Status,
) -> Cleaned {
    let failed_before = a.status == AssociationState::DeleteFailed;
    record(status, a);
    let warning = failed_before.then(|| {
        let why = format!(
            "association {} is DELETE_FAILED: {}; deleting it again",
            a.id,
            a.failure_message.as_deref().unwrap_or("no message")
        );
        Event::warning(Reason::DeleteFailed, "Delete", why)
    });
    let state = match deleted {
        Err(e) => return Cleaned::Pending(failed(e).after(warning)),
        Ok(None) => {
            let gone = Event::normal(
                Reason::Deleted,
                "Delete",
                format!("association {} is gone from AWS", a.id),
            );
            return Cleaned::Released(warning.into_iter().chain([gone]).collect());
        }
        Ok(Some(state)) => state,
    };
    status.association_status = Some(state.to_string());
    let message = format!("association {} is {}", a.id, state);
    let outcome = match warning {
        Some(warning) => Outcome::progressing(Reason::Deleting, message, Next::Recover).after([warning]),
        None => Outcome::progressing(Reason::Deleting, message, Next::Poll).with(Event::normal(
            Reason::Deleting,
            "Delete",
            format!("deleting association {}", a.id),
        )),
    };
    Cleaned::Pending(outcome)
}
