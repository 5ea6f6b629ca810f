//! Which priority a reconcile's AWS calls take in their namespace's turns of the rate limiter
//! ([`Priority`]), pure: new work (a new object, an edit, a deletion: a generation the status has not
//! answered yet) first, then polls of work under way, then checks of settled objects, and retries of
//! failing objects last, so that inside one namespace a backlog of failures never holds up its new
//! work either.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::api::{Recorded, Watched};
use crate::limiter::fair::Priority;
use crate::reconcile::reason::Reason;

/// The Ready reasons of an object whose work AWS (or the limiter) has under way.
const UNDER_WAY: [Reason; 5] = [
    Reason::Creating,
    Reason::Recreating,
    Reason::Deleting,
    Reason::TagsOutOfSync,
    Reason::Throttled,
];

/// The priority of a reconcile of `obj`, whose last `failures` reconciles failed in a row.
pub fn of(obj: &Watched, failures: u32) -> Priority {
    let status = obj.status.as_ref();
    // Setting `deletionTimestamp` moves the generation too, so a deletion is new work.
    if status.and_then(|s| s.observed_generation) != obj.metadata.generation {
        return Priority::Change;
    }
    if failures > 0 {
        return Priority::Retry;
    }
    let ready_reason = status
        .filter(|s| s.condition("Ready").is_some())
        .and_then(Recorded::reason);
    let under_way = ready_reason.is_some_and(|r| UNDER_WAY.iter().any(|u| u.as_str() == r));
    if under_way || obj.metadata.deletion_timestamp.is_some() {
        Priority::Poll
    } else {
        Priority::Drift
    }
}

/// How long the change a new object or a deletion asks for has been waiting at `now`, pure: since
/// the object's creation (never reconciled: no status, or the schema's default one without
/// conditions) or since its deletion was asked for. `None` for other work, whose waiting begins when
/// its last step scheduled it.
pub fn pending_for(obj: &Watched, now: Timestamp) -> Option<Duration> {
    let reported = obj.status.as_ref().is_some_and(Recorded::reported);
    let since = match &obj.metadata.deletion_timestamp {
        Some(deleted) => deleted,
        None if !reported => obj.metadata.creation_timestamp.as_ref()?,
        None => return None,
    };
    Duration::try_from(now.duration_since(since.0)).ok()
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    use super::*;
    use crate::api::{
        ServiceNetworkServiceAssociation as Snsa, ServiceNetworkServiceAssociationSpec as Spec,
        ServiceNetworkServiceAssociationStatus as Status,
    };

    fn object(generation: i64, observed: Option<i64>, ready_reason: Option<Reason>) -> Watched {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "serviceIdentifier": "svc-00000000000000000",
            "serviceNetworkIdentifier": "sn-00000000000000000",
        }))
        .unwrap();
        let mut obj = Snsa::new("app", spec);
        obj.metadata.generation = Some(generation);
        obj.status = observed.map(|g| Status {
            observed_generation: Some(g),
            conditions: ready_reason
                .map(|r| Condition {
                    type_: "Ready".into(),
                    status: "False".into(),
                    reason: r.to_string(),
                    message: String::new(),
                    observed_generation: Some(g),
                    last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
                })
                .into_iter()
                .collect(),
            ..Status::default()
        });
        obj.into()
    }

    #[test]
    fn new_objects_edits_and_deletions_are_new_work_even_after_failures() {
        assert_eq!(of(&object(1, None, None), 0), Priority::Change, "never reconciled");
        assert_eq!(
            of(&object(1, Some(0), None), 0),
            Priority::Change,
            "the schema's default status"
        );
        assert_eq!(
            of(&object(3, Some(2), Some(Reason::DependencyNotFound)), 4),
            Priority::Change,
            "an edit of a failing object: perhaps its fix"
        );
    }

    #[test]
    fn new_objects_and_deletions_wait_since_they_were_asked_for() {
        let at = |s: i64| Time(Timestamp::from_second(s).unwrap());
        let now = Timestamp::from_second(1_000).unwrap();
        let mut new = object(1, None, None);
        new.metadata.creation_timestamp = Some(at(970));
        assert_eq!(pending_for(&new, now), Some(Duration::from_secs(30)));
        let mut defaulted = object(1, Some(0), None);
        defaulted.metadata.creation_timestamp = Some(at(970));
        assert_eq!(
            pending_for(&defaulted, now),
            Some(Duration::from_secs(30)),
            "the schema's default status (observedGeneration 0, no conditions) is no report"
        );
        let mut settled = object(1, Some(1), Some(Reason::Active));
        settled.metadata.creation_timestamp = Some(at(10));
        assert_eq!(pending_for(&settled, now), None, "its waiting begins at its last step");
        settled.metadata.deletion_timestamp = Some(at(996));
        assert_eq!(pending_for(&settled, now), Some(Duration::from_secs(4)));
        new.metadata.creation_timestamp = Some(at(1_005));
        assert_eq!(pending_for(&new, now), None, "a clock ahead of ours: unknown");
    }

    #[test]
    fn a_failing_object_retries_last() {
        let failing = object(2, Some(2), Some(Reason::DependencyNotFound));
        assert_eq!(of(&failing, 1), Priority::Retry);
    }

    #[test]
    fn work_under_way_is_polled_ahead_of_checks_of_settled_objects() {
        for reason in UNDER_WAY {
            assert_eq!(of(&object(1, Some(1), Some(reason)), 0), Priority::Poll, "{reason}");
        }
        let mut deleting = object(2, Some(2), Some(Reason::AwsError));
        deleting.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(of(&deleting, 0), Priority::Poll, "a deletion's later steps");
        assert_eq!(of(&object(1, Some(1), Some(Reason::Active)), 0), Priority::Drift);
        assert_eq!(
            of(&object(1, Some(1), Some(Reason::AccessDenied)), 0),
            Priority::Drift,
            "stalled, after a restart: a check"
        );
    }
}
