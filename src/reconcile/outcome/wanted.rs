//! The outcomes of the steps of an object that is wanted (DESIGN.md's behaviour table, the rows
//! before "object deleted").

use super::step::{Event, Outcome, failed};
use crate::api::{AdoptionPolicy, ServiceNetworkServiceAssociationStatus as Status};
use crate::lattice::{Association, AssociationState, CreateAssociation, LatticeError, Tags};
use crate::reconcile::decide::{Adoption, AlwaysAdoption, Claim, Identity, adopt};
use crate::reconcile::reason::Reason;
use crate::reconcile::requeue::{CONFLICT_RETRY, Next, REFUSED_RECHECK};
use crate::reconcile::status::{Phase, forget, record};

/// What Create gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// The association it created (or, with the same token, had created before).
    New(Association),
    /// The pair is associated already: the association found for it, with its tags (`None`: nothing
    /// found after all).
    Taken(Option<(Association, Claim)>),
}

/// Plan `Create`: the association is being created, adopted, refused, or created again later.
/// `generation`: the object's, whose tags the request carries.
pub fn created(
    req: &CreateAssociation,
    created: Result<Created, LatticeError>,
    (policy, always): (AdoptionPolicy, &AlwaysAdoption),
    identity: &Identity,
    generation: Option<i64>,
    status: &mut Status,
) -> Outcome {
    // A retry with the token of an earlier attempt may get the association that attempt made, with
    // the tags it sent: those are read back once it is ACTIVE.
    let first_attempt = status.client_token.as_deref() != Some(req.client_token.as_str());
    // Kept whatever the answer (also when the pair was found in the listing and no Create was
    // sent): a Create that follows must send the token of this attempt.
    status.client_token = Some(req.client_token.clone());
    let existing = match created {
        Err(e) => return failed(e),
        Ok(Created::Taken(existing)) => existing,
        Ok(Created::New(a)) => {
            record(status, &a);
            if first_attempt {
                // The Create set the tags: nothing to read back.
                status.tags_synced_generation = generation;
            }
            let note = format!("created association {} (clientToken {})", a.id, req.client_token);
            return Outcome::progressing(Reason::Creating, &note, Next::Poll).with(Event::normal(
                Reason::Creating,
                "Create",
                note,
            ));
        }
    };
    match adopt(policy, always, identity, existing) {
        Adoption::Adopt(a) => {
            record(status, &a);
            let note = format!("adopted existing association {} ({})", a.id, a.status);
            Outcome::progressing(Reason::Creating, &note, Next::Now).with(Event::normal(Reason::Adopted, "Adopt", note))
        }
        Adoption::Refuse(message) => Outcome::new(
            Phase::Stalled,
            Reason::AlreadyAssociated,
            &message,
            Next::After(REFUSED_RECHECK),
        )
        .with(Event::warning(Reason::AlreadyAssociated, "Create", message)),
        Adoption::Retry => Outcome::progressing(
            Reason::Creating,
            "AWS reported a conflict but no association of the pair was found; creating again",
            Next::After(CONFLICT_RETRY),
        ),
    }
}

/// Plan `Held`: the association's tags say it is another live object's or the AWS Gateway API
/// Controller's; nothing is written to it, and the object is Stalled until that changes.
pub fn held(a: &Association, why: String, status: &mut Status) -> Outcome {
    record(status, a);
    Outcome::new(
        Phase::Stalled,
        Reason::AlreadyAssociated,
        &why,
        Next::After(REFUSED_RECHECK),
    )
    .with(Event::warning(Reason::AlreadyAssociated, "Reconcile", why))
}

/// Plan `Wait`: AWS is creating or deleting it.
pub fn waiting(a: &Association, status: &mut Status) -> Outcome {
    record(status, a);
    let reason = match a.status {
        AssociationState::DeleteInProgress => Reason::Recreating,
        _ => Reason::Creating,
    };
    Outcome::progressing(reason, format!("association {} is {}", a.id, a.status), Next::Poll)
}

/// Plan `InSync`: ready, its tags matching for the object's `generation`; announced only when the
/// object was not `Ready` before.
pub fn in_sync(a: &Association, was_ready: bool, generation: Option<i64>, status: &mut Status) -> Outcome {
    record(status, a);
    status.tags_synced_generation = generation;
    let message = format!("association {} is ACTIVE and its tags match", a.id);
    let outcome = Outcome::new(Phase::Ready, Reason::Active, message, Next::Idle);
    if was_ready {
        return outcome;
    }
    outcome.with(Event::normal(
        Reason::Active,
        "Reconcile",
        format!("association {} is ACTIVE", a.id),
    ))
}

/// Plan `Tag`. `tagged`: `Ok(None)` when the association is gone.
pub fn tagged(a: &Association, tags: &Tags, tagged: Result<Option<()>, LatticeError>, status: &mut Status) -> Outcome {
    let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
    let note = format!("set tags {} on {}", keys.join(", "), a.id);
    tags_synced(a, "Tag", note, tagged, status)
}

/// Plan `Untag`. `untagged`: `Ok(None)` when the association is gone.
pub fn untagged(
    a: &Association,
    keys: &[String],
    untagged: Result<Option<()>, LatticeError>,
    status: &mut Status,
) -> Outcome {
    let note = format!("removed tags {} from {}", keys.join(", "), a.id);
    tags_synced(a, "Untag", note, untagged, status)
}

fn tags_synced(
    a: &Association,
    action: &'static str,
    note: String,
    done: Result<Option<()>, LatticeError>,
    status: &mut Status,
) -> Outcome {
    match done {
        Err(e) => failed(e),
        Ok(None) => recreate(status),
        Ok(Some(())) => {
            record(status, a);
            // Read back on the next step to confirm.
            status.tags_synced_generation = None;
            Outcome::progressing(Reason::TagsOutOfSync, &note, Next::Poll).with(Event::normal(
                Reason::TagsSynced,
                action,
                note,
            ))
        }
    }
}

/// Plan `Recover` (CREATE_FAILED or DELETE_FAILED while wanted): deleted to be created again.
/// `deleted`: the state AWS reports, `None` when the association is gone.
pub fn recovering(
    a: &Association,
    deleted: Result<Option<AssociationState>, LatticeError>,
    status: &mut Status,
) -> Outcome {
    let reason = match a.status {
        AssociationState::CreateFailed => Reason::CreateFailed,
        _ => Reason::DeleteFailed,
    };
    record(status, a);
    let why = format!(
        "association {} is {}: {} ({}); deleting it to create it again",
        a.id,
        a.status,
        a.failure_message.as_deref().unwrap_or("no message"),
        a.failure_code.as_deref().unwrap_or("no code"),
    );
    let warning = Event::warning(reason, "Delete", &why);
    match deleted {
        Err(e) => failed(e),
        Ok(None) => recreate(status),
        Ok(Some(state)) => {
            status.association_status = Some(state.to_string());
            Outcome::progressing(Reason::Recreating, why, Next::Recover)
        }
    }
    .after([warning])
}

/// Plan `Forget`, or a call that found the association gone: forget it and create it again with a
/// fresh token.
pub fn recreate(status: &mut Status) -> Outcome {
    let old = status.id.clone().unwrap_or_default();
    forget(status);
    let note = format!(
        "association {old} no longer exists in AWS; creating it again (attempt {})",
        status.recreate_attempts
    );
    Outcome {
        recreated: true,
        ..Outcome::progressing(Reason::Recreating, &note, Next::Now).with(Event::warning(
            Reason::Recreating,
            "Create",
            note,
        ))
    }
}
