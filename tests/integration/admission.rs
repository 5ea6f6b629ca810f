//! Malformed manifests are refused by the real API server at admission (OpenAPI schema and CEL
//! generated from the Rust types), with messages that say what is wrong; nothing is stored.

use crate::support::cluster::{self, kubectl};

const SVC: &str = "serviceIdentifier: svc-0123456789abcdef0";
const SN: &str = "serviceNetworkIdentifier: sn-0123456789abcdef0";

fn manifest(name: &str, spec: &[&str]) -> String {
    let mut m = format!(
        "apiVersion: vpclattice.operator.dev/v1alpha1\nkind: ServiceNetworkServiceAssociation\nmetadata:\n  name: {name}\nspec:\n"
    );
    for line in spec {
        m.push_str(&format!("  {line}\n"));
    }
    m
}

#[tokio::test]
async fn malformed_manifests_are_rejected_with_clear_messages() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "admission").await;
    let long_value = format!("tags: {{a: '{}'}}", "v".repeat(257));
    let long_key = format!("tags: {{'{}': v}}", "k".repeat(129));
    let many: Vec<String> = (0..49).map(|i| format!("k{i}: v")).collect();
    let too_many = format!("tags: {{{}}}", many.join(", "));
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "short-id",
            vec!["serviceIdentifier: svc-123", SN],
            "spec.serviceIdentifier",
        ),
        (
            "bad-id-chars",
            vec!["serviceIdentifier: svc-0123456789ABCDEF0", SN],
            "spec.serviceIdentifier in body should match",
        ),
        (
            "wrong-arn-type",
            vec![
                SVC,
                "serviceNetworkIdentifier: arn:aws:vpc-lattice:us-east-1:111122223333:service/sn-0123456789abcdef0",
            ],
            "spec.serviceNetworkIdentifier in body should match",
        ),
        ("missing-service", vec![SN], "spec.serviceIdentifier: Required value"),
        (
            "aws-tag",
            vec![SVC, SN, "tags: {'aws:x': v}"],
            "tag keys may not begin with 'aws:'",
        ),
        ("long-value", vec![SVC, SN, &long_value], "spec.tags.a: Too long"),
        (
            "long-key",
            vec![SVC, SN, &long_key],
            "tag keys must be 1 to 128 characters long",
        ),
        ("too-many-tags", vec![SVC, SN, &too_many], "must have at most 48 items"),
        (
            "bad-key-chars",
            vec![SVC, SN, "tags: {'bad#key': v}"],
            "tag keys may contain only",
        ),
        (
            "bad-value-chars",
            vec![SVC, SN, "tags: {a: 'v$'}"],
            "spec.tags.a in body should match",
        ),
        (
            "reserved-tag",
            vec![SVC, SN, "tags: {'vpclattice.operator.dev/owner': x}"],
            "reserved for the operator",
        ),
        (
            "bad-deletion",
            vec![SVC, SN, "deletionPolicy: Forever"],
            "supported values: \"Delete\", \"Retain\"",
        ),
        (
            "bad-adoption",
            vec![SVC, SN, "adoptionPolicy: Sometimes"],
            "supported values: \"IfOwned\", \"Always\", \"Never\"",
        ),
    ];
    for (name, spec, expected) in &cases {
        let out = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&manifest(name, spec)));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(stderr.contains(expected), "{name}: expected '{expected}' in: {stderr}");
    }
    let listed = kubectl(&["get", "snsa", "-n", &ns, "-o", "name"], None);
    assert!(
        String::from_utf8_lossy(&listed.stdout).trim().is_empty(),
        "nothing was stored"
    );

    // And a valid one with Unicode tags is accepted.
    let good = manifest(
        "good",
        &[SVC, SN, "tags: {'ünïcode tag': 'välue @ 1', 'a.b/c=d+e-f_g:h': ''}"],
    );
    let out = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&good));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn the_crd_installs_and_dry_runs_cleanly() {
    // What `vpc-lattice-operator crd` prints, piped to kubectl as a user would.
    let printed = std::process::Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
        .arg("crd")
        .output()
        .unwrap();
    assert!(printed.status.success());
    let crd = String::from_utf8(printed.stdout).unwrap();
    assert_eq!(crd, vpc_lattice_operator::api::crd_yaml());
    let client_side = kubectl(&["apply", "--dry-run=client", "-f", "-"], Some(&crd));
    assert!(
        client_side.status.success(),
        "{}",
        String::from_utf8_lossy(&client_side.stderr)
    );
    // The server check prices the CEL rules: it refuses rules whose estimated cost is too high.
    let server_side = kubectl(&["apply", "--dry-run=server", "-f", "-"], Some(&crd));
    assert!(
        server_side.status.success(),
        "{}",
        String::from_utf8_lossy(&server_side.stderr)
    );
}
