//! The outcomes of an object under `managementPolicy: ObserveOnly`: what the association of its
//! pair, as found in AWS, means for its status. Nothing here leads to a write to AWS.

use super::step::{Event, Outcome};
use crate::api::{ManagementPolicy, ServiceNetworkServiceAssociationStatus as Status};
use crate::lattice::{Association, AssociationState};
use crate::reconcile::reason::Reason;
use crate::reconcile::requeue::Next;
use crate::reconcile::status::{Phase, record, unobserved};

/// What the pair (`service`, `network`: the spec's identifiers) has in AWS: `found`, its
/// association if any. The status records it (and that it was observed); the verdict is Ready when
/// it is ACTIVE, announced only when the object was not Ready before (`was_ready`).
pub fn observed(
    found: Option<&Association>,
    (service, network): (&str, &str),
    was_ready: bool,
    status: &mut Status,
) -> Outcome {
    let Some(a) = found else {
        unobserved(status);
        status.management_policy = Some(ManagementPolicy::ObserveOnly);
        let message = format!(
            "no association of service {service} with service network {network} exists in AWS (or the namespace's \
             identity cannot see it); managementPolicy is ObserveOnly, so the operator never creates one: it looks \
             again at every drift scan"
        );
        return Outcome::progressing(Reason::AssociationNotFound, message, Next::Idle);
    };
    if status.id.as_deref() != Some(a.id.as_str()) {
        // Another association than the one last observed: nothing of the old one's is kept.
        unobserved(status);
    }
    record(status, a);
    status.management_policy = Some(ManagementPolicy::ObserveOnly);
    status.tags_synced_generation = None;
    let observed = "observed only: managementPolicy is ObserveOnly";
    match a.status {
        AssociationState::Active => {
            let message = format!("association {} is ACTIVE ({observed})", a.id);
            let outcome = Outcome::new(Phase::Ready, Reason::Active, &message, Next::Idle);
            match was_ready {
                true => outcome,
                false => outcome.with(Event::normal(Reason::Active, "Observe", message)),
            }
        }
        AssociationState::Other(ref state) => Outcome::progressing(
            Reason::Creating,
            format!("association {} is {state} ({observed})", a.id),
            Next::Poll,
        ),
        AssociationState::CreateInProgress => Outcome::progressing(
            Reason::Creating,
            format!("association {} is CREATE_IN_PROGRESS ({observed})", a.id),
            Next::Poll,
        ),
        AssociationState::DeleteInProgress => Outcome::progressing(
            Reason::Deleting,
            format!("association {} is DELETE_IN_PROGRESS ({observed})", a.id),
            Next::Poll,
        ),
        AssociationState::CreateFailed | AssociationState::DeleteFailed => {
            let message = format!(
                "association {} is {}: {} ({}); managementPolicy is ObserveOnly, so the operator leaves it to whoever \
                 manages it (or set managementPolicy: Managed to have it repaired)",
                a.id,
                a.status,
                a.failure_message.as_deref().unwrap_or("no message"),
                a.failure_code.as_deref().unwrap_or("no code"),
            );
            Outcome::new(Phase::Stalled, Reason::AssociationFailed, &message, Next::Idle).with(Event::warning(
                Reason::AssociationFailed,
                "Observe",
                message,
            ))
        }
    }
}
