//! The drift scan's decisions, pure, one object at a time: whether what a listing of its service
//! network reports differs from what its status recorded (one List page covers up to 100
//! associations, where a Get per object would cost one call each); on a tag round, whether its tags
//! are read, and whether what was read has drifted from the spec. Taken one object at a time, so the
//! scan keeps no table of its own beside the store and the listings (issue 18: a scan of 10,000
//! objects built ~20 MiB of tables).

use crate::lattice::{AssociationState, Tags};
use crate::reconcile::decide::tags_match;

pub use crate::lattice::Scope;

/// True when the object is woken: its status has an association `id` (objects without one are
/// mid-create and keep their own polls) and the listing of its network reports that association
/// (`listed`: its state, `None` when missing) otherwise than its status `recorded`. An object that
/// is `observing` (`managementPolicy: ObserveOnly`) without an association found yet is woken on
/// every scan: it looks for its pair's association again.
pub fn stale(id: Option<&str>, recorded: Option<&str>, listed: Option<&AssociationState>, observing: bool) -> bool {
    match id {
        None => observing,
        Some(_) => listed.map(AssociationState::as_str) != recorded,
    }
}

/// True when scan number `round` (counted from 1) also compares tags: every `every`-th (0: never).
pub fn compares_tags(round: u32, every: u32) -> bool {
    every > 0 && round.is_multiple_of(every)
}

/// True when a tag round reads the object's tags: its status says ACTIVE, it has an ARN, and the
/// scan does not wake it anyway (its reconcile reads what it needs). A network whose List failed
/// does not matter here: the ARN comes from the status.
pub fn checks_tags(recorded: Option<&str>, has_arn: bool, woken: bool) -> bool {
    recorded == Some(AssociationState::Active.as_str()) && has_arn && !woken
}

/// True when the tags a tag round read (`None`: the association is missing from its identity's
/// complete read: its cluster tag was removed, it is gone, or the Tagging API has not caught up)
/// differ from those the object asks for, keys beginning `aws:` aside: the object is woken, and
/// its reconcile reads the tags itself and decides.
pub fn tags_drifted(desired: &Tags, current: Option<&Tags>) -> bool {
    current.is_none_or(|current| !tags_match(desired, current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_only_objects_whose_aws_state_differs() {
        let active = Some(&AssociationState::Active);
        for observing in [false, true] {
            assert!(!stale(Some("snsa-1"), Some("ACTIVE"), active, observing), "the same");
            assert!(stale(Some("snsa-2"), Some("ACTIVE"), None, observing), "missing");
            assert!(
                stale(
                    Some("snsa-3"),
                    Some("ACTIVE"),
                    Some(&AssociationState::CreateFailed),
                    observing
                ),
                "failed"
            );
            assert!(
                stale(Some("snsa-4"), None, active, observing),
                "a status without its state"
            );
        }
        assert!(!stale(None, None, None, false), "creating: its own polls");
        assert!(
            stale(None, None, None, true),
            "observing, nothing found yet: looks again"
        );
    }

    #[test]
    fn compares_tags_every_nth_round_only() {
        let rounds = |every| (1..=12).filter(|r| compares_tags(*r, every)).collect::<Vec<u32>>();
        assert_eq!(rounds(6), [6, 12]);
        assert_eq!(rounds(1), (1..=12).collect::<Vec<_>>(), "every round");
        assert!(rounds(0).is_empty(), "0: never");
    }

    #[test]
    fn a_tag_round_reads_the_tags_of_every_active_object_with_an_arn_not_woken_anyway() {
        assert!(checks_tags(Some("ACTIVE"), true, false));
        assert!(
            !checks_tags(Some("ACTIVE"), true, true),
            "woken: its reconcile reads them"
        );
        assert!(
            !checks_tags(Some("ACTIVE"), false, false),
            "no ARN: left to its reconcile"
        );
        assert!(!checks_tags(Some("CREATE_IN_PROGRESS"), true, false));
        assert!(!checks_tags(None, false, false));
    }

    #[test]
    fn tags_drift_when_they_differ_or_the_association_is_gone() {
        let desired = Tags::from([("team".to_string(), "payments".to_string())]);
        let mut with_aws = desired.clone();
        with_aws.insert("aws:cloudformation:stack-name".into(), "s".into());
        assert!(!tags_drifted(&desired, Some(&desired)));
        assert!(!tags_drifted(&desired, Some(&with_aws)), "aws: keys are not ours");
        let mut changed = desired.clone();
        changed.insert("team".into(), "other".into());
        assert!(tags_drifted(&desired, Some(&changed)));
        let mut extra = desired.clone();
        extra.insert("extra".into(), "x".into());
        assert!(tags_drifted(&desired, Some(&extra)));
        assert!(tags_drifted(&desired, Some(&Tags::new())));
        assert!(tags_drifted(&desired, None), "gone: its reconcile finds out");
    }
}
