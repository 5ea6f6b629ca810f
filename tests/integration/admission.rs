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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_manifests_are_rejected_with_clear_messages() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "admission").await;
    let long_value = format!("tags: {{a: '{}'}}", "v".repeat(257));
    let long_key = format!("tags: {{'{}': v}}", "k".repeat(129));
    let many: Vec<String> = (0..49).map(|i| format!("k{i}: v")).collect();
    let too_many = format!("tags: {{{}}}", many.join(", "));
    let oversize = format!("serviceIdentifier: svc-{}", "a".repeat(3000));
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
        ("missing-service", vec![SN], "name the service exactly one way"),
        (
            "service-two-ways",
            vec![SVC, "serviceRef: {name: payments}", SN],
            "name the service exactly one way: serviceIdentifier, serviceRef or serviceFrom",
        ),
        (
            "service-ref-and-route",
            vec![
                "serviceRef: {name: payments}",
                "serviceFrom: {httpRouteRef: {name: web}}",
                SN,
            ],
            "name the service exactly one way",
        ),
        (
            "network-two-ways",
            vec![SVC, SN, "serviceNetworkRef: {name: shared}"],
            "name the service network exactly one way: serviceNetworkIdentifier or serviceNetworkRef",
        ),
        (
            "bad-ref-name",
            vec!["serviceRef: {name: Payments_1}", SN],
            "spec.serviceRef.name in body should match",
        ),
        (
            "short-ref-name",
            vec![SVC, "serviceNetworkRef: {name: ab}"],
            "spec.serviceNetworkRef.name",
        ),
        (
            "bad-owner-account",
            vec![SVC, "serviceNetworkRef: {name: shared, ownerAccount: '1234'}"],
            "spec.serviceNetworkRef.ownerAccount in body should match",
        ),
        (
            "bad-route-name",
            vec!["serviceFrom: {httpRouteRef: {name: 'Web!'}}", SN],
            "spec.serviceFrom.httpRouteRef.name in body should match",
        ),
        (
            "route-without-name",
            vec!["serviceFrom: {httpRouteRef: {}}", SN],
            "spec.serviceFrom.httpRouteRef.name: Required value",
        ),
        (
            "arn-of-another-region",
            vec![
                "serviceIdentifier: arn:aws:vpc-lattice:us-east-1:111122223333:service/svc-0123456789abcdef0",
                SN,
                "region: us-west-2",
            ],
            "serviceIdentifier is an ARN of another region than spec.region",
        ),
        (
            "network-arn-of-another-region",
            vec![
                SVC,
                "serviceNetworkIdentifier: arn:aws:vpc-lattice:eu-west-1:111122223333:servicenetwork/sn-0123456789abcdef0",
                "region: us-west-2",
            ],
            "serviceNetworkIdentifier is an ARN of another region than spec.region",
        ),
        (
            "bad-region",
            vec![SVC, SN, "region: US_EAST_1"],
            "spec.region in body should match",
        ),
        (
            "bad-management",
            vec![SVC, SN, "managementPolicy: Sometimes"],
            "supported values: \"Managed\", \"ObserveOnly\"",
        ),
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
            "gateway-tag",
            vec![SVC, SN, "tags: {'application-networking.k8s.aws/ManagedBy': x}"],
            "belong to the AWS Gateway API Controller",
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
        (
            "empty-service",
            vec!["serviceIdentifier: ''", SN],
            "spec.serviceIdentifier",
        ),
        (
            "empty-network",
            vec![SVC, "serviceNetworkIdentifier: ''"],
            "spec.serviceNetworkIdentifier",
        ),
        ("missing-network", vec![SVC], "name the service network exactly one way"),
        (
            "network-id-as-service",
            vec!["serviceIdentifier: sn-0123456789abcdef0", SN],
            "spec.serviceIdentifier",
        ),
        (
            "service-id-as-network",
            vec![SVC, "serviceNetworkIdentifier: svc-0123456789abcdef0"],
            "spec.serviceNetworkIdentifier",
        ),
        (
            "long-id",
            vec!["serviceIdentifier: svc-0123456789abcdef01", SN],
            "spec.serviceIdentifier",
        ),
        (
            "short-account",
            vec![
                "serviceIdentifier: arn:aws:vpc-lattice:us-east-1:1111:service/svc-0123456789abcdef0",
                SN,
            ],
            "spec.serviceIdentifier in body should match",
        ),
        (
            "letters-in-account",
            vec![
                "serviceIdentifier: arn:aws:vpc-lattice:us-east-1:11112222333a:service/svc-0123456789abcdef0",
                SN,
            ],
            "spec.serviceIdentifier in body should match",
        ),
        (
            "upper-case-partition",
            vec![
                "serviceIdentifier: arn:AWS:vpc-lattice:us-east-1:111122223333:service/svc-0123456789abcdef0",
                SN,
            ],
            "spec.serviceIdentifier in body should match",
        ),
        (
            "other-service-arn",
            vec![
                "serviceIdentifier: arn:aws:ec2:us-east-1:111122223333:service/svc-0123456789abcdef0",
                SN,
            ],
            "spec.serviceIdentifier in body should match",
        ),
        ("oversize-id", vec![&oversize, SN], "spec.serviceIdentifier: Too long"),
        (
            "number-id",
            vec!["serviceIdentifier: 12345", SN],
            "spec.serviceIdentifier",
        ),
        ("list-tags", vec![SVC, SN, "tags: [a, b]"], "spec.tags"),
        ("number-tag-value", vec![SVC, SN, "tags: {a: 1}"], "spec.tags.a"),
        (
            "empty-tag-key",
            vec![SVC, SN, "tags: {'': v}"],
            "tag keys must be 1 to 128 characters long",
        ),
        (
            "lower-case-deletion",
            vec![SVC, SN, "deletionPolicy: delete"],
            "spec.deletionPolicy",
        ),
        (
            "unknown-field",
            vec![SVC, SN, "colour: blue"],
            "unknown field \"spec.colour\"",
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

    // A huge object: the API server's own limits refuse it.
    let huge = manifest("huge", &[SVC, SN]).replace(
        "metadata:\n",
        &format!("metadata:\n  annotations:\n    blob: '{}'\n", "x".repeat(300 * 1024)),
    );
    let out = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&huge));
    assert!(!out.status.success(), "a 300 KiB annotation was accepted");
    assert!(String::from_utf8_lossy(&out.stderr).contains("metadata.annotations: Too long"));

    // And a valid one with Unicode tags is accepted; the operator running on the namespace reaches
    // AWS for it alone (the refused ones never existed).
    let emu = crate::e2e::emulator().await;
    let _op = crate::support::operator::Binary::spawn(&ns, &emu.url, &[]);
    let good = manifest(
        "good",
        &[SVC, SN, "tags: {'ünïcode tag': 'välue @ 1', 'a.b/c=d+e-f_g:h': ''}"],
    );
    let out = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&good));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    crate::e2e::wait_ready(&ns, "good");
    let creates = emu
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.operation == "CreateServiceNetworkServiceAssociation")
        .count();
    assert_eq!(creates, 1, "only the valid object reached AWS");

    // Its identifiers cannot change.
    let moved = manifest("good", &["serviceIdentifier: svc-0fedcba9876543210", SN]);
    let out = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&moved));
    assert!(!out.status.success(), "an identifier change was accepted");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("serviceIdentifier is immutable"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "fault-table hostile input: {} malformed manifests, a huge object and an identifier change refused at admission; \
         AWS Creates: {creates} (the valid object's)",
        cases.len()
    );
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

/// References by name and by HTTPRoute, and a region: valid ones are stored; then each is immutable
/// as an identifier is (the name, the route, the way the service or network is named, the region,
/// which cannot be added or removed either), but for an `ownerAccount` added to settle an ambiguity.
#[tokio::test]
async fn references_and_region_are_immutable_but_an_owner_account_may_be_added() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "admission-refs").await;
    let apply = |name: &str, spec: &[&str]| kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&manifest(name, spec)));
    let by_name = ["serviceRef: {name: payments}", "serviceNetworkRef: {name: shared}"];
    let by_route = ["serviceFrom: {httpRouteRef: {name: web}}", SN];
    for (name, spec) in [("by-name", &by_name), ("by-route", &by_route)] {
        let out = apply(name, spec);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let west = [SVC, SN, "region: us-west-2"];
    let out = apply("west", &west);
    assert!(out.status.success(), "region: {}", String::from_utf8_lossy(&out.stderr));
    let same_region_arn = [
        "serviceIdentifier: arn:aws:vpc-lattice:us-west-2:111122223333:service/svc-0123456789abcdef0",
        SN,
        "region: us-west-2",
    ];
    let out = apply("west-arn", &same_region_arn);
    assert!(
        out.status.success(),
        "an ARN of spec.region: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let owner = "serviceNetworkRef: {name: shared, ownerAccount: '111122223333'}";
    let out = apply("by-name", &[by_name[0], owner]);
    assert!(
        out.status.success(),
        "adding ownerAccount: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "by-name",
            vec!["serviceRef: {name: checkout}", owner],
            "serviceRef is immutable",
        ),
        (
            "by-name",
            vec![
                by_name[0],
                "serviceNetworkRef: {name: other, ownerAccount: '111122223333'}",
            ],
            "serviceNetworkRef is immutable",
        ),
        (
            "by-name",
            vec![
                by_name[0],
                "serviceNetworkRef: {name: shared, ownerAccount: '444455556666'}",
            ],
            "serviceNetworkRef is immutable",
        ),
        (
            "by-name",
            vec![by_name[0], "serviceNetworkRef: {name: shared}"],
            "serviceNetworkRef is immutable",
        ),
        ("by-name", vec![SVC, owner], "how the service is named"),
        ("by-name", vec![by_name[0], SN], "how the service network is named"),
        (
            "by-route",
            vec!["serviceFrom: {httpRouteRef: {name: other}}", SN],
            "serviceFrom is immutable",
        ),
        (
            "by-route",
            vec!["serviceRef: {name: web}", SN],
            "how the service is named",
        ),
        ("west", vec![SVC, SN, "region: eu-west-1"], "region is immutable"),
        ("west", vec![SVC, SN], "region is immutable"),
        (
            "by-route",
            vec!["serviceFrom: {httpRouteRef: {name: web}}", SN, "region: us-east-1"],
            "region is immutable",
        ),
    ];
    for (name, spec, expected) in &refused {
        let out = apply(name, spec);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name} {spec:?} was accepted");
        assert!(
            stderr.contains(expected),
            "{name} {spec:?}: expected '{expected}' in: {stderr}"
        );
    }
}
