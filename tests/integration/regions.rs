//! Region per object, end to end (the real binary in us-east-1, a control plane of the test's own,
//! one emulator endpoint serving us-east-1 and us-west-2, each request to the region its signature
//! names): `spec.region` and a Namespace's default region send an object's calls, its listing and
//! its association to that region, each region with its own state, listings and rate budget; an
//! identifier's ARN of another region than a default one is Stalled at runtime (with `spec.region`
//! the API server refuses it: `admission.rs`).

use std::sync::Arc;

use lattice_emulator::FakeLattice;
use vpc_lattice_operator::api::REGION_ANNOTATION;

use crate::e2e::{NETWORK, SERVICE, emulator};
use crate::support::cluster::Private;
use crate::support::lattice::Emulator;
use crate::support::operator::Binary;
use crate::takeover::{condition, get};

const WEST_SERVICE: &str = "svc-0a1b2c3d4e5f60718";
const WEST_NETWORK: &str = "sn-0a1b2c3d4e5f60718";

fn apply(cp: &Private, ns: &str, name: &str, spec: &str) {
    cp.ok(&["apply", "-n", ns, "-f", "-"], Some(&crate::e2e::manifest(name, spec)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_two_regions_are_served_side_by_side() {
    let cp = Private::start("regions");
    let seeded = emulator().await;
    let east = seeded.fake.clone();
    let west = Arc::new(FakeLattice::new(east.account(), "us-west-2"));
    west.create_service("payments", Some(WEST_SERVICE)).unwrap();
    west.create_service("orders", None).unwrap();
    let west_network = west.create_service_network("shared", Some(WEST_NETWORK)).unwrap();
    let emu = Emulator::serve_regions(vec![east.clone(), west.clone()]).await;
    cp.ok(&["create", "namespace", "east-team"], None);
    cp.ok(&["create", "namespace", "west-team"], None);
    cp.ok(
        &[
            "annotate",
            "namespace",
            "west-team",
            &format!("{REGION_ANNOTATION}=us-west-2"),
        ],
        None,
    );
    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let op = Binary::spawn_with_env("", &emu.url, &[], &[("KUBECONFIG", kubeconfig.as_str())]);

    let ids =
        |service: &str, network: &str| format!("  serviceIdentifier: {service}\n  serviceNetworkIdentifier: {network}");
    // The operator's region; the namespace's default region; spec.region, by name, in the
    // operator's region's namespace.
    apply(&cp, "east-team", "app", &ids(SERVICE, NETWORK));
    apply(&cp, "west-team", "app", &ids(WEST_SERVICE, WEST_NETWORK));
    apply(
        &cp,
        "east-team",
        "west-by-name",
        "  region: us-west-2\n  serviceRef: {name: orders}\n  serviceNetworkRef: {name: shared}",
    );
    // An ARN of us-west-2 in a namespace whose objects default to us-east-1.
    apply(&cp, "east-team", "wrong", &ids(SERVICE, &west_network.arn));
    for (ns, name, region) in [
        ("east-team", "app", "us-east-1"),
        ("west-team", "app", "us-west-2"),
        ("east-team", "west-by-name", "us-west-2"),
    ] {
        condition(&cp, ns, name, "Ready").await;
        let o = get(&cp, ns, name).unwrap();
        assert_eq!(o["status"]["region"], region, "{ns}/{name}");
        assert!(
            o["status"]["arn"].as_str().unwrap().contains(&format!(":{region}:")),
            "{ns}/{name}: {}",
            o["status"]
        );
    }
    let o = get(&cp, "east-team", "west-by-name").unwrap();
    assert_eq!(o["status"]["resolvedServiceNetworkArn"], west_network.arn.as_str());
    let stalled = condition(&cp, "east-team", "wrong", "Stalled").await;
    assert_eq!(stalled["reason"], "InvalidSpec", "{stalled}");
    let message = stalled["message"].as_str().unwrap();
    assert!(
        message.contains("us-west-2") && message.contains("spec.region"),
        "{message}"
    );

    // Each region's state and calls are its own: one association each in us-east-1 and two in
    // us-west-2, each region listed its own networks, and names were listed only in us-west-2.
    assert_eq!(east.associations().len(), 1);
    assert_eq!(west.associations().len(), 2);
    for (fake, region) in [(&east, "us-east-1"), (&west, "us-west-2")] {
        assert!(
            fake.count("ListServiceNetworkServiceAssociations") > 0,
            "{region} listed"
        );
        assert!(
            fake.associations()
                .iter()
                .all(|a| a.arn.contains(&format!(":{region}:")))
        );
    }
    assert_eq!(east.count("ListServiceNetworks"), 0);
    assert_eq!(west.count("ListServiceNetworks"), 1);
    assert_eq!(
        east.count("CreateServiceNetworkServiceAssociation"),
        1,
        "the mismatched one never reached AWS"
    );
    // The AWS-call metrics say which region each call went to.
    let metrics = op.admin_get("/metrics").await.unwrap().1;
    for region in ["us-east-1", "us-west-2"] {
        let created = format!(
            "vpc_lattice_operator_aws_calls_total{{operation=\"CreateServiceNetworkServiceAssociation\",outcome=\"success\",error_code=\"\",region=\"{region}\"}}"
        );
        assert!(metrics.contains(&created), "{created} in\n{metrics}");
    }
    // The namespace's default region changes: its object stays where its association is (the
    // region its status recorded); an edit then makes no Create anywhere.
    let creates = |f: &FakeLattice| f.count("CreateServiceNetworkServiceAssociation");
    let before = (creates(&east), creates(&west));
    cp.ok(
        &[
            "annotate",
            "--overwrite",
            "namespace",
            "west-team",
            &format!("{REGION_ANNOTATION}=eu-west-1"),
        ],
        None,
    );
    // Past the operator's 30 s trust in a namespace's annotations.
    tokio::time::sleep(std::time::Duration::from_secs(32)).await;
    apply(
        &cp,
        "west-team",
        "app",
        &format!("{}\n  tags: {{moved: 'no'}}", ids(WEST_SERVICE, WEST_NETWORK)),
    );
    crate::takeover::condition(&cp, "west-team", "app", "Ready").await;
    assert_eq!(get(&cp, "west-team", "app").unwrap()["status"]["region"], "us-west-2");
    assert_eq!(
        (creates(&east), creates(&west)),
        before,
        "no association made elsewhere"
    );
    let wide = cp.ok(&["get", "snsa", "-A", "-o", "wide"], None);
    assert!(wide.contains("REGION") && wide.contains("us-west-2"), "{wide}");
}
