//! Status computation, pure: the association's fields copied into `.status`, and the kstatus
//! conditions (Ready, Reconciling, Stalled) whose `lastTransitionTime` moves only when their status does.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::reason::Reason;
use crate::api::{DnsEntry, ServiceNetworkServiceAssociationStatus as Status};
use crate::lattice::Association;

/// Where an object stands, as the conditions will say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The association is ACTIVE and its tags match.
    Ready,
    /// Work is under way (creating, polling, recreating, deleting, retrying after an error).
    Progressing,
    /// No progress without a human.
    Stalled,
}

/// The phase with the reason and message that explain it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub phase: Phase,
    pub reason: Reason,
    pub message: String,
}

impl Verdict {
    pub fn new(phase: Phase, reason: Reason, message: impl Into<String>) -> Self {
        Self {
            phase,
            reason,
            message: message.into(),
        }
    }
}

/// Copies what AWS reports into the status; fields a response lacks keep their last value, the
/// failure fields always follow the latest report.
pub fn record(status: &mut Status, a: &Association) {
    fn keep(slot: &mut Option<String>, value: &Option<String>) {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
    status.id = Some(a.id.clone());
    if !a.arn.is_empty() {
        status.arn = Some(a.arn.clone());
    }
    status.association_status = Some(a.status.to_string());
    keep(&mut status.created_by, &a.created_by);
    keep(&mut status.custom_domain_name, &a.custom_domain_name);
    if let Some(d) = &a.dns_entry {
        status.dns_entry = Some(DnsEntry {
            domain_name: d.domain_name.clone(),
            hosted_zone_id: d.hosted_zone_id.clone(),
        });
    }
    keep(&mut status.service_id, &a.service_id);
    keep(&mut status.service_arn, &a.service_arn);
    keep(&mut status.service_name, &a.service_name);
    keep(&mut status.service_network_id, &a.service_network_id);
    keep(&mut status.service_network_arn, &a.service_network_arn);
    keep(&mut status.service_network_name, &a.service_network_name);
    status.failure_code.clone_from(&a.failure_code);
    status.failure_message.clone_from(&a.failure_message);
}

/// Forgets the association (it is gone) and counts one more recreate.
pub fn forget(status: &mut Status) {
    unobserved(status);
    status.recreate_attempts += 1;
}

/// Forgets what the status says of AWS (the association, its state, its tags' verification, the
/// policy it was written under), keeping the object's own bookkeeping: the conditions, the
/// generation they describe, the recreate count, the client token and the pinned ARNs of its
/// references. For an association that is gone, and for a status written while observing that a
/// `Managed` object must not trust.
pub fn unobserved(status: &mut Status) {
    *status = Status {
        recreate_attempts: status.recreate_attempts,
        client_token: status.client_token.take(),
        resolved_service_arn: status.resolved_service_arn.take(),
        resolved_service_network_arn: status.resolved_service_network_arn.take(),
        observed_generation: status.observed_generation,
        conditions: std::mem::take(&mut status.conditions),
        ..Status::default()
    };
}

/// The three kstatus conditions for `verdict`, keeping each `lastTransitionTime` from `previous`
/// when that condition's status is unchanged.
pub fn conditions(previous: &[Condition], verdict: &Verdict, generation: Option<i64>, now: &Time) -> Vec<Condition> {
    let make = |type_: &str, on: bool| {
        let status = if on { "True" } else { "False" }.to_string();
        let last = previous
            .iter()
            .find(|c| c.type_ == type_ && c.status == status)
            .map(|c| c.last_transition_time.clone())
            .unwrap_or_else(|| now.clone());
        Condition {
            type_: type_.into(),
            status,
            reason: verdict.reason.to_string(),
            message: verdict.message.clone(),
            observed_generation: generation,
            last_transition_time: last,
        }
    };
    vec![
        make("Ready", verdict.phase == Phase::Ready),
        make("Reconciling", verdict.phase == Phase::Progressing),
        make("Stalled", verdict.phase == Phase::Stalled),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lattice::AssociationState;

    fn t(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let first = conditions(
            &[],
            &Verdict::new(Phase::Progressing, Reason::Creating, "a"),
            Some(1),
            &t("2026-01-01T00:00:00Z"),
        );
        let again = conditions(
            &first,
            &Verdict::new(Phase::Progressing, Reason::Creating, "b"),
            Some(1),
            &t("2026-01-01T00:01:00Z"),
        );
        assert_eq!(
            first[1].last_transition_time, again[1].last_transition_time,
            "Reconciling stayed True"
        );
        assert_eq!(again[1].message, "b");
        let ready = conditions(
            &again,
            &Verdict::new(Phase::Ready, Reason::Active, "ok"),
            Some(2),
            &t("2026-01-01T00:02:00Z"),
        );
        assert_eq!(ready[0].status, "True");
        assert_eq!(ready[0].last_transition_time, t("2026-01-01T00:02:00Z"));
        assert_eq!(
            ready[1].last_transition_time,
            t("2026-01-01T00:02:00Z"),
            "Reconciling went False"
        );
        assert_eq!(
            ready[2].last_transition_time, first[2].last_transition_time,
            "Stalled stayed False"
        );
        assert_eq!(ready[0].observed_generation, Some(2));
    }

    #[test]
    fn stalled_sets_only_stalled() {
        let c = conditions(
            &[],
            &Verdict::new(Phase::Stalled, Reason::AccessDenied, "no"),
            None,
            &t("2026-01-01T00:00:00Z"),
        );
        let on: Vec<_> = c
            .iter()
            .filter(|c| c.status == "True")
            .map(|c| c.type_.as_str())
            .collect();
        assert_eq!(on, ["Stalled"]);
        assert!(c.iter().all(|c| c.reason == "AccessDenied" && c.message == "no"));
    }

    #[test]
    fn record_keeps_fields_a_create_response_lacks() {
        let mut s = Status::default();
        let mut got = Association::new("snsa-1", "arn:1", AssociationState::CreateFailed);
        got.service_name = Some("svc".into());
        got.failure_code = Some("X".into());
        record(&mut s, &got);
        record(
            &mut s,
            &Association::new("snsa-1", "", AssociationState::DeleteInProgress),
        );
        assert_eq!(s.service_name.as_deref(), Some("svc"));
        assert_eq!(s.arn.as_deref(), Some("arn:1"));
        assert_eq!(s.association_status.as_deref(), Some("DELETE_IN_PROGRESS"));
        assert_eq!(s.failure_code, None, "failure fields follow the latest report");
    }

    #[test]
    fn forget_clears_the_association_and_counts_a_recreate() {
        let mut s = Status {
            id: Some("snsa-1".into()),
            recreate_attempts: 2,
            client_token: Some("u-2".into()),
            tags_synced_generation: Some(4),
            ..Default::default()
        };
        forget(&mut s);
        assert_eq!(s.id, None);
        assert_eq!(
            s.tags_synced_generation, None,
            "a new association's tags are its Create's"
        );
        assert_eq!(s.recreate_attempts, 3);
        assert_eq!(s.client_token.as_deref(), Some("u-2"));
    }
}
