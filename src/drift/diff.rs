//! The drift scan's decisions, pure: which (identity, service network) scopes to list, and given what
//! the objects' statuses say and what the Lists report, which objects to wake. One List page covers
//! up to 100 associations, where a Get per object would cost one call each. On a tag round, which
//! objects' tags to read, and whether what was read has drifted from the spec.

use std::collections::HashMap;

use crate::lattice::{AssociationState, Tags};
use crate::reconcile::decide::tags_match;

pub use crate::lattice::Scope;

/// What one object's status says about its association.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked<K> {
    pub key: K,
    /// The identity that sees the association, and its service network.
    pub scope: Scope,
    /// `.status.id`; objects without one are mid-create and keep their own polls.
    pub id: Option<String>,
    /// `.status.associationStatus`.
    pub association_status: Option<String>,
    /// `.status.arn`: where a tag round reads the association's tags.
    pub arn: Option<String>,
    /// The tags the object asks for (its spec's and the ownership tags).
    pub tags: Tags,
}

/// The objects to wake: those whose association is missing from AWS or whose AWS status differs
/// from the status they recorded. `listed` maps association id to AWS status, for the scopes in
/// `scanned` (objects of scopes whose List failed are left alone).
pub fn stale<'a, K>(tracked: &'a [Tracked<K>], scanned: &[Scope], listed: &HashMap<String, String>) -> Vec<&'a K> {
    tracked
        .iter()
        .filter(|t| scanned.contains(&t.scope))
        .filter(|t| match &t.id {
            None => false,
            Some(id) => listed.get(id) != t.association_status.as_ref(),
        })
        .map(|t| &t.key)
        .collect()
}

/// The scopes to scan: each distinct (identity, service network) once, in a stable order.
pub fn scopes<K>(tracked: &[Tracked<K>]) -> Vec<Scope> {
    let mut all: Vec<Scope> = tracked.iter().map(|t| t.scope.clone()).collect();
    all.sort();
    all.dedup();
    all
}

/// True when scan number `round` (counted from 1) also compares tags: every `every`-th (0: never).
pub fn compares_tags(round: u32, every: u32) -> bool {
    every > 0 && round.is_multiple_of(every)
}

/// The objects whose tags a tag round reads: those whose status says ACTIVE, with an ARN, that the
/// scan does not wake anyway (their reconcile reads what it needs). A network whose List failed
/// does not matter here: the ARN comes from the status.
pub fn tag_checks<'a, K: PartialEq>(tracked: &'a [Tracked<K>], woken: &[&K]) -> Vec<&'a Tracked<K>> {
    tracked
        .iter()
        .filter(|t| t.association_status.as_deref() == Some(AssociationState::Active.as_str()) && t.arn.is_some())
        .filter(|t| !woken.contains(&&t.key))
        .collect()
}

/// True when the tags a tag round read (`None`: the association is gone) differ from those the
/// object asks for, keys beginning `aws:` aside: the object is woken to sync them.
pub fn tags_drifted(desired: &Tags, current: Option<&Tags>) -> bool {
    current.is_none_or(|current| !tags_match(desired, current))
}

/// The objects of `checks` whose tags drifted, given what the Tagging API reported for each identity
/// (`read`: identity → ARN → tags, of every association carrying this cluster's tag). An ARN
/// missing from its identity's read (its cluster tag was removed, the association is gone, or the
/// Tagging API has not caught up yet) counts as drifted: the object's reconcile reads the tags
/// itself and decides. Objects of an identity whose read failed are left alone.
pub fn tag_drift<'a, K>(
    checks: &[&'a Tracked<K>],
    read: &HashMap<String, HashMap<String, Tags>>,
) -> Vec<&'a Tracked<K>> {
    checks
        .iter()
        .copied()
        .filter(|t| match (read.get(&t.scope.0), &t.arn) {
            (Some(by_arn), Some(arn)) => tags_drifted(&t.tags, by_arn.get(arn)),
            _ => false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(key: &str, sn: &str, id: Option<&str>, status: Option<&str>) -> Tracked<String> {
        Tracked {
            key: key.into(),
            scope: ("default".into(), sn.into()),
            id: id.map(Into::into),
            association_status: status.map(Into::into),
            arn: id
                .map(|id| format!("arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/{id}")),
            tags: Tags::from([("team".to_string(), "payments".to_string())]),
        }
    }

    #[test]
    fn wakes_only_objects_whose_aws_state_differs() {
        let tracked = vec![
            t("same", "sn-a", Some("snsa-1"), Some("ACTIVE")),
            t("missing", "sn-a", Some("snsa-2"), Some("ACTIVE")),
            t("failed", "sn-a", Some("snsa-3"), Some("ACTIVE")),
            t("creating", "sn-a", None, None),
            t("other-network", "sn-b", Some("snsa-9"), Some("ACTIVE")),
        ];
        let listed = HashMap::from([
            ("snsa-1".to_string(), "ACTIVE".to_string()),
            ("snsa-3".to_string(), "CREATE_FAILED".to_string()),
        ]);
        let woken = stale(&tracked, &[("default".to_string(), "sn-a".to_string())], &listed);
        assert_eq!(woken, [&"missing".to_string(), &"failed".to_string()]);
    }

    #[test]
    fn lists_each_network_once() {
        let tracked = vec![
            t("a", "sn-b", None, None),
            t("b", "sn-a", None, None),
            t("c", "sn-b", None, None),
        ];
        let d = |n: &str| ("default".to_string(), n.to_string());
        assert_eq!(scopes(&tracked), [d("sn-a"), d("sn-b")]);
    }

    #[test]
    fn compares_tags_every_nth_round_only() {
        let rounds = |every| (1..=12).filter(|r| compares_tags(*r, every)).collect::<Vec<u32>>();
        assert_eq!(rounds(6), [6, 12]);
        assert_eq!(rounds(1), (1..=12).collect::<Vec<_>>(), "every round");
        assert!(rounds(0).is_empty(), "0: never");
    }

    #[test]
    fn a_tag_round_reads_the_tags_of_every_active_object_not_woken_anyway() {
        let tracked = vec![
            t("same", "sn-a", Some("snsa-1"), Some("ACTIVE")),
            t("missing", "sn-a", Some("snsa-2"), Some("ACTIVE")),
            t("creating", "sn-a", Some("snsa-4"), Some("CREATE_IN_PROGRESS")),
            t("unlisted", "sn-b", Some("snsa-9"), Some("ACTIVE")),
            t("untracked", "sn-a", None, None),
        ];
        let listed = HashMap::from([
            ("snsa-1".to_string(), "ACTIVE".to_string()),
            ("snsa-4".to_string(), "CREATE_IN_PROGRESS".to_string()),
        ]);
        let scanned = [("default".to_string(), "sn-a".to_string())];
        let woken = stale(&tracked, &scanned, &listed);
        assert_eq!(woken, [&"missing".to_string()]);
        let keys: Vec<&str> = tag_checks(&tracked, &woken).iter().map(|t| t.key.as_str()).collect();
        assert_eq!(
            keys,
            ["same", "unlisted"],
            "ACTIVE ones not woken, even of a network whose List failed"
        );
    }

    #[test]
    fn an_active_object_without_an_arn_is_left_to_its_reconcile() {
        let mut no_arn = t("no-arn", "sn-a", Some("snsa-1"), Some("ACTIVE"));
        no_arn.arn = None;
        assert!(tag_checks(&[no_arn], &[]).is_empty());
    }

    #[test]
    fn a_batched_tag_read_wakes_changed_and_missing_associations_and_skips_failed_identities() {
        let same = t("same", "sn-a", Some("snsa-1"), Some("ACTIVE"));
        let changed = t("changed", "sn-a", Some("snsa-2"), Some("ACTIVE"));
        let missing = t("missing", "sn-b", Some("snsa-3"), Some("ACTIVE"));
        let mut unread = t("unread", "sn-a", Some("snsa-4"), Some("ACTIVE"));
        unread.scope.0 = "role-b".into();
        let arn = |t: &Tracked<String>| t.arn.clone().unwrap();
        let read = HashMap::from([(
            "default".to_string(),
            HashMap::from([
                (arn(&same), same.tags.clone()),
                (arn(&changed), Tags::from([("team".to_string(), "other".to_string())])),
            ]),
        )]);
        let drifted: Vec<&str> = tag_drift(&[&same, &changed, &missing, &unread], &read)
            .iter()
            .map(|t| t.key.as_str())
            .collect();
        assert_eq!(drifted, ["changed", "missing"], "role-b's read failed: left alone");
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
