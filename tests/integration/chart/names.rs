//! Releases side by side: every object a release makes outside its own namespace (cluster-scoped
//! ones, the dashboard ConfigMap in a shared namespace) is named after the release's namespace and
//! full name, so releases of one name in several namespaces, and several releases in one namespace,
//! render no object twice and each has its own leader Lease. (install.rs installs two for real.)

use std::collections::BTreeSet;

use serde_norway::Value;

use super::{Rendered, render_in, s, variants};

/// The kinds the chart may render without a namespace.
const CLUSTER_SCOPED: [&str; 4] = [
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
];

/// What identifies an object in a cluster: (kind, namespace or "", name).
type Identity = (String, String, String);

fn identity(doc: &Value) -> Identity {
    (
        s(&doc["kind"]).to_string(),
        doc["metadata"]["namespace"].as_str().unwrap_or_default().to_string(),
        s(&doc["metadata"]["name"]).to_string(),
    )
}

/// The Lease the release's operator takes (`--leader-election-id`), in the release namespace.
fn lease(r: &Rendered, namespace: &str) -> Identity {
    let id = r
        .args()
        .iter()
        .find_map(|a| a.strip_prefix("--leader-election-id=").map(String::from))
        .expect("--leader-election-id");
    ("Lease".into(), namespace.into(), id)
}

#[test]
fn chart_names_are_unique_per_release_and_namespace() {
    // Releases that share a namespace, a name, or (one is `a`/`b-c-…`, the other `a-b`/`c-…`) the
    // text `<namespace>-<full name>` would have if a dash joined the two.
    let releases = [
        ("prod", "team-a"),
        ("prod", "team-b"),
        ("staging", "team-a"),
        ("b-c-vpc-lattice-operator", "a"),
        ("c-vpc-lattice-operator", "a-b"),
    ];
    for (variant, args) in variants("watched", "monitoring") {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut seen: Vec<((&str, &str), BTreeSet<Identity>)> = vec![];
        for (release, ns) in releases {
            let r = render_in(release, ns, &args);
            let fullname = s(&r.deployment()["metadata"]["name"]).to_string();
            let mut ids = BTreeSet::new();
            for doc in &r.docs {
                let (kind, namespace, name) = identity(doc);
                if kind == "CustomResourceDefinition" {
                    // One per cluster by nature: one release installs it, the others set
                    // crds.install=false (render.rs).
                    continue;
                }
                if namespace.is_empty() {
                    assert!(
                        CLUSTER_SCOPED.contains(&kind.as_str()),
                        "{variant}: {kind} {name} has no namespace"
                    );
                }
                if namespace != ns {
                    // Outside the release namespace: the name carries both.
                    assert!(
                        name.starts_with(&format!("{ns}.{fullname}")),
                        "{variant}: {kind} {namespace}/{name} of release {release} in {ns}"
                    );
                }
                assert!(ids.insert((kind, namespace, name)), "{variant}: rendered twice");
            }
            ids.insert(lease(&r, ns));
            for ((other, other_ns), theirs) in &seen {
                let shared: Vec<_> = ids.intersection(theirs).collect();
                assert!(
                    shared.is_empty(),
                    "{variant}: releases {release} in {ns} and {other} in {other_ns} collide on {shared:?}"
                );
            }
            seen.push(((release, ns), ids));
        }
    }
}

#[test]
fn chart_two_releases_in_one_namespace_have_their_own_lease_and_rbac() {
    let a = render_in("lattice-a", "platform", &["--set", "watchNamespace=team-a"]);
    let b = render_in("lattice-b", "platform", &["--set", "watchNamespace=team-b"]);
    for (r, release) in [(&a, "lattice-a"), (&b, "lattice-b")] {
        let fullname = format!("{release}-vpc-lattice-operator");
        let id = format!("{fullname}-leader");
        let args = r.args();
        assert!(args.contains(&format!("--leader-election-id={id}")), "{args:?}");
        assert!(args.contains(&"--lease-namespace=platform".to_string()));
        // Its Role reads and writes its own Lease only.
        let role = r
            .all("Role")
            .into_iter()
            .find(|x| x["metadata"]["namespace"] == "platform")
            .expect("the Lease's Role");
        let named: Vec<&str> = role["rules"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|rule| rule["resourceNames"].as_sequence())
            .flatten()
            .map(s)
            .collect();
        assert_eq!(named, [id.as_str()]);
        for kind in CLUSTER_SCOPED {
            assert_eq!(r.one(kind)["metadata"]["name"], format!("platform.{fullname}").as_str());
        }
        assert_eq!(
            r.one("ClusterRoleBinding")["roleRef"]["name"],
            format!("platform.{fullname}").as_str()
        );
        assert_eq!(
            r.one("ValidatingAdmissionPolicyBinding")["spec"]["policyName"],
            format!("platform.{fullname}").as_str()
        );
    }
}
