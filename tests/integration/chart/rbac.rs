//! The chart's RBAC: cluster-wide or confined to the watched namespace, the Lease's Role in the
//! release's namespace, nothing more than the operator needs, and none at all when asked.

use std::collections::BTreeSet;

use serde_norway::Value;

use super::{LEASE, NAMESPACE, RELEASE, render, s, seq, strings, yaml};

/// The rules of a (Cluster)Role as (apiGroup, resource, verb, resourceNames) tuples.
fn grants(role: &Value) -> BTreeSet<(String, String, String, Vec<String>)> {
    let mut out = BTreeSet::new();
    for rule in seq(&role["rules"]) {
        let names = if rule["resourceNames"].is_null() {
            vec![]
        } else {
            strings(&rule["resourceNames"])
        };
        for g in strings(&rule["apiGroups"]) {
            for r in strings(&rule["resources"]) {
                for v in strings(&rule["verbs"]) {
                    out.insert((g.clone(), r.clone(), v, names.clone()));
                }
            }
        }
    }
    out
}

fn grant(g: &str, r: &str, v: &str, names: &[&str]) -> (String, String, String, Vec<String>) {
    (
        g.into(),
        r.into(),
        v.into(),
        names.iter().map(|n| n.to_string()).collect(),
    )
}

fn operator_grants() -> BTreeSet<(String, String, String, Vec<String>)> {
    let g = "vpclattice.operator.dev";
    let mut want = BTreeSet::new();
    for v in ["get", "list", "watch", "patch", "update"] {
        want.insert(grant(g, "servicenetworkserviceassociations", v, &[]));
    }
    for v in ["patch", "update"] {
        want.insert(grant(g, "servicenetworkserviceassociations/status", v, &[]));
    }
    want.insert(grant(g, "servicenetworkserviceassociations/finalizers", "update", &[]));
    for v in ["create", "patch"] {
        want.insert(grant("events.k8s.io", "events", v, &[]));
    }
    for v in ["get", "list", "watch"] {
        want.insert(grant("gateway.networking.k8s.io", "httproutes", v, &[]));
    }
    want
}

fn subject_is_the_service_account(binding: &Value, sa: &str) {
    assert_eq!(
        binding["subjects"],
        yaml(&format!(
            "- {{kind: ServiceAccount, name: {sa}, namespace: {NAMESPACE}}}"
        ))
    );
}

#[test]
fn chart_rbac_cluster_wide_or_namespaced() {
    let leader_grants: BTreeSet<_> = [
        grant("coordination.k8s.io", "leases", "create", &[]),
        grant("coordination.k8s.io", "leases", "get", &[LEASE]),
        grant("coordination.k8s.io", "leases", "patch", &[LEASE]),
    ]
    .into();

    // Cluster-wide: one ClusterRole (the resource, Events, get Namespaces) and the Lease's Role.
    let r = render(&[]);
    let cr = r.one("ClusterRole");
    let mut want = operator_grants();
    want.insert(grant("", "namespaces", "get", &[]));
    assert_eq!(grants(cr), want);
    let crb = r.one("ClusterRoleBinding");
    assert_eq!(crb["roleRef"]["name"], cr["metadata"]["name"]);
    subject_is_the_service_account(crb, RELEASE);
    let lease_role = r.one("Role");
    assert_eq!(lease_role["metadata"]["namespace"], NAMESPACE);
    assert_eq!(grants(lease_role), leader_grants);
    let rb = r.one("RoleBinding");
    assert_eq!(rb["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        rb["roleRef"],
        yaml(&format!(
            "{{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {}}}",
            s(&lease_role["metadata"]["name"])
        ))
    );
    subject_is_the_service_account(rb, RELEASE);

    // Namespaced: the operator's rules in a Role of the watched namespace; `get` on that Namespace
    // alone through a ClusterRole (Namespaces are cluster-scoped); the Lease stays in the release's.
    let r = render(&["--set", "watchNamespace=team-a"]);
    let roles = r.all("Role");
    assert_eq!(roles.len(), 2);
    let ops = roles
        .iter()
        .find(|x| x["metadata"]["namespace"] == "team-a")
        .expect("Role in team-a");
    assert_eq!(grants(ops), operator_grants());
    let lease_role = roles
        .iter()
        .find(|x| x["metadata"]["namespace"] == NAMESPACE)
        .expect("Lease Role");
    assert_eq!(grants(lease_role), leader_grants);
    let rbs = r.all("RoleBinding");
    assert_eq!(rbs.len(), 2);
    for rb in &rbs {
        subject_is_the_service_account(rb, RELEASE);
        assert_eq!(rb["roleRef"]["kind"], "Role");
    }
    let ops_binding = rbs.iter().find(|x| x["metadata"]["namespace"] == "team-a").unwrap();
    assert_eq!(ops_binding["roleRef"]["name"], ops["metadata"]["name"]);
    let cr = r.one("ClusterRole");
    assert_eq!(grants(cr), [grant("", "namespaces", "get", &["team-a"])].into());
    let crb = r.one("ClusterRoleBinding");
    assert_eq!(crb["roleRef"]["name"], cr["metadata"]["name"]);
    subject_is_the_service_account(crb, RELEASE);

    // Nothing else, anywhere: no Secrets, Pods, core Events or wildcards.
    for args in [&[][..], &["--set", "watchNamespace=team-a"][..]] {
        for role in render(args)
            .docs
            .iter()
            .filter(|d| d["kind"] == "Role" || d["kind"] == "ClusterRole")
        {
            for (group, resource, verb, _) in grants(role) {
                assert!(!["secrets", "pods", "*"].contains(&resource.as_str()), "{resource}");
                assert!(verb != "*" && group != "*" && !(group.is_empty() && resource == "events"));
                assert!(verb != "delete" && verb != "deletecollection", "{resource} {verb}");
            }
        }
    }

    // rbac.create=false: none; an existing ServiceAccount is used by name.
    let r = render(&[
        "--set",
        "rbac.create=false",
        "--set",
        "serviceAccount.create=false",
        "--set",
        "serviceAccount.name=existing",
    ]);
    for kind in [
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
    ] {
        assert!(r.all(kind).is_empty(), "{kind}");
    }
    assert_eq!(r.pod_spec()["serviceAccountName"], "existing");
    let r = render(&["--set", "serviceAccount.name=custom"]);
    assert_eq!(r.one("ServiceAccount")["metadata"]["name"], "custom");
    subject_is_the_service_account(r.one("ClusterRoleBinding"), "custom");
}
