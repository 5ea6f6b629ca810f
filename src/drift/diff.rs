//! The drift scan's decisions, pure: which (identity, service network) scopes to list, and given what
//! the objects' statuses say and what the Lists report, which objects to wake. One List page covers
//! up to 100 associations, where a Get per object would cost one call each.

use std::collections::HashMap;

/// Where a List must look: an AWS identity (tenant key) and a service network identifier.
pub type Scope = (String, String);

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

/// The objects a scan wakes: the [`stale`] ones and, on a round that compares tags, every object
/// whose status says ACTIVE as well (each once), so its tags are read and compared.
pub fn woken<K: Clone + PartialEq>(
    tracked: &[Tracked<K>],
    scanned: &[Scope],
    listed: &HashMap<String, String>,
    compare_tags: bool,
) -> Vec<K> {
    let mut woken: Vec<K> = stale(tracked, scanned, listed).into_iter().cloned().collect();
    if compare_tags {
        let active = tracked
            .iter()
            .filter(|t| t.association_status.as_deref() == Some("ACTIVE"));
        let extra: Vec<K> = active
            .filter(|t| !woken.contains(&t.key))
            .map(|t| t.key.clone())
            .collect();
        woken.extend(extra);
    }
    woken
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
    fn a_tag_round_also_wakes_every_active_object_once() {
        let tracked = vec![
            t("same", "sn-a", Some("snsa-1"), Some("ACTIVE")),
            t("missing", "sn-a", Some("snsa-2"), Some("ACTIVE")),
            t("creating", "sn-a", Some("snsa-4"), Some("CREATE_IN_PROGRESS")),
            t("unlisted", "sn-b", Some("snsa-9"), Some("ACTIVE")),
        ];
        let listed = HashMap::from([
            ("snsa-1".to_string(), "ACTIVE".to_string()),
            ("snsa-4".to_string(), "CREATE_IN_PROGRESS".to_string()),
        ]);
        let scanned = [("default".to_string(), "sn-a".to_string())];
        assert_eq!(woken(&tracked, &scanned, &listed, false), ["missing"]);
        assert_eq!(
            woken(&tracked, &scanned, &listed, true),
            ["missing", "same", "unlisted"],
            "stale first, then the other ACTIVE ones, even of a network whose List failed"
        );
    }
}
