//! Services and networks named by reference, end to end (the real binary, a control plane of the
//! test's own, the emulator over the AWS wire): by name (resolved with ListServices /
//! ListServiceNetworks, pinned, never resolved again; not found and waited for; ambiguous between an
//! owned and a shared network until `ownerAccount` chooses; a RAM-shared network missing from the
//! listing, named by ARN instead), and by HTTPRoute (the Gateway API's CRD installed from its
//! module; the annotation written later, as the AWS Gateway API Controller does).

use std::time::Duration;

use serde_json::Value;

use crate::e2e::{NETWORK, SERVICE, emulator};
use crate::support::cluster::{Private, wait_established};
use crate::support::operator::Binary;
use crate::support::tools::hack_path;
use crate::support::{eventually, lattice::Emulator};
use crate::takeover::{LIMIT, condition, get};

const SHARER: &str = "444455556666";

fn apply(cp: &Private, ns: &str, name: &str, spec: &str) {
    cp.ok(&["apply", "-n", ns, "-f", "-"], Some(&crate::e2e::manifest(name, spec)));
}

fn lists(emu: &Emulator) -> usize {
    emu.fake.count("ListServices") + emu.fake.count("ListServiceNetworks")
}

/// The object's Ready condition once its reason is `reason`.
async fn reason(cp: &Private, ns: &str, name: &str, reason: &str) -> Value {
    eventually(&format!("{ns}/{name} {reason}"), LIMIT, || async {
        let o = get(cp, ns, name)?;
        let ready = o["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready")?
            .clone();
        (ready["reason"] == reason && ready["observedGeneration"] == o["metadata"]["generation"]).then_some(ready)
    })
    .await
}

fn spawn(cp: &Private, emu: &Emulator, log: &std::path::Path) -> Binary {
    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    Binary::spawn_logged("", &emu.url, &[], &[("KUBECONFIG", kubeconfig.as_str())], log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_resolve_once_are_pinned_and_missing_or_ambiguous_ones_say_why() {
    let cp = Private::start("by-name");
    let emu = emulator().await;
    cp.ok(&["create", "namespace", "team"], None);
    let owned_core = emu.fake.create_service_network("core", None).unwrap();
    let shared_core = emu.fake.share_service_network("core", SHARER, true);
    let hidden = emu.fake.share_service_network("hidden", SHARER, false);
    let log = std::env::temp_dir().join(format!("vlo-by-name-{}.log", std::process::id()));
    let _op = spawn(&cp, &emu, &log);

    // Resolved, pinned, associated.
    apply(
        &cp,
        "team",
        "named",
        "  serviceRef: {name: payments}\n  serviceNetworkRef: {name: shared}",
    );
    condition(&cp, "team", "named", "Ready").await;
    let o = get(&cp, "team", "named").unwrap();
    let (service, network) = (
        emu.fake.target(SERVICE, false).unwrap(),
        emu.fake.target(NETWORK, true).unwrap(),
    );
    assert_eq!(o["status"]["resolvedServiceArn"], service.arn.as_str());
    assert_eq!(o["status"]["resolvedServiceNetworkArn"], network.arn.as_str());
    let associated = emu.fake.associations();
    assert_eq!(associated.len(), 1);
    assert_eq!(associated[0].service_id.as_deref(), Some(SERVICE));
    // Never resolved again: an edit and several drift scans (2 s apart) list no names.
    let listed = lists(&emu);
    assert_eq!(listed, 2, "one ListServices and one ListServiceNetworks");
    apply(
        &cp,
        "team",
        "named",
        "  serviceRef: {name: payments}\n  serviceNetworkRef: {name: shared}\n  tags: {edited: 'yes'}",
    );
    reason(&cp, "team", "named", "Active").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(lists(&emu), listed, "pinned: no name is listed again");

    // Not found: waited for with backoff, found once it exists.
    apply(
        &cp,
        "team",
        "later",
        &format!("  serviceRef: {{name: later}}\n  serviceNetworkIdentifier: {NETWORK}"),
    );
    let missing = reason(&cp, "team", "later", "DependencyNotFound").await;
    assert!(
        missing["message"].as_str().unwrap().contains("no service named later"),
        "{missing}"
    );
    emu.fake.create_service("later", None).unwrap();
    condition(&cp, "team", "later", "Ready").await;

    // Two networks named core (this account's and one shared with it): Stalled naming both, until
    // ownerAccount chooses.
    let core = "  serviceIdentifier: svc-0fedcba9876543210\n  serviceNetworkRef: {name: core}";
    apply(&cp, "team", "core", core);
    let stalled = condition(&cp, "team", "core", "Stalled").await;
    let message = stalled["message"].as_str().unwrap();
    for arn in [&owned_core.arn, &shared_core.arn] {
        assert!(message.contains(arn.as_str()), "{arn} in {message}");
    }
    assert!(message.contains("ownerAccount"), "{message}");
    let chosen = format!(
        "  serviceIdentifier: svc-0fedcba9876543210\n  serviceNetworkRef: {{name: core, ownerAccount: '{SHARER}'}}"
    );
    apply(&cp, "team", "core", &chosen);
    condition(&cp, "team", "core", "Ready").await;
    let o = get(&cp, "team", "core").unwrap();
    assert_eq!(o["status"]["resolvedServiceNetworkArn"], shared_core.arn.as_str());

    // A network shared through RAM that ListServiceNetworks leaves out: not found, with the remedy
    // (name it by ARN), which works.
    apply(
        &cp,
        "team",
        "hidden",
        "  serviceIdentifier: svc-0fedcba9876543210\n  serviceNetworkRef: {name: hidden}",
    );
    let missing = reason(&cp, "team", "hidden", "DependencyNotFound").await;
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .contains("name it by ARN in serviceNetworkIdentifier"),
        "{missing}"
    );
    apply(
        &cp,
        "team",
        "hidden-by-arn",
        &format!(
            "  serviceIdentifier: svc-0fedcba9876543210\n  serviceNetworkIdentifier: {}",
            hidden.arn
        ),
    );
    condition(&cp, "team", "hidden-by-arn", "Ready").await;

    // Deleting an object whose reference never resolved deletes nothing and waits for nothing.
    cp.ok(&["delete", "snsa", "hidden", "-n", "team", "--timeout=30s"], None);
    assert_eq!(emu.fake.count("DeleteServiceNetworkServiceAssociation"), 0);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        text.matches("the Gateway API's HTTPRoute is not installed").count(),
        1,
        "said once, without the Gateway API CRDs"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_routes_annotation_written_later_names_the_service() {
    let cp = Private::start("by-route");
    let crds = hack_path("module-files.sh", &["gateway-api-crds"]);
    let crd = crds.join("gateway.networking.k8s.io_httproutes.yaml");
    cp.ok(&["apply", "--server-side", "-f", &crd.to_string_lossy()], None);
    wait_established(cp.kubeconfig(), "httproutes.gateway.networking.k8s.io");
    let emu = emulator().await;
    cp.ok(&["create", "namespace", "web"], None);
    let log = std::env::temp_dir().join(format!("vlo-by-route-{}.log", std::process::id()));
    let _op = spawn(&cp, &emu, &log);

    let route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: store\nspec:\n  \
                 parentRefs:\n  - name: lattice-gateway\n";
    cp.ok(&["apply", "-n", "web", "-f", "-"], Some(route));
    apply(
        &cp,
        "web",
        "store",
        &format!("  serviceFrom: {{httpRouteRef: {{name: store}}}}\n  serviceNetworkIdentifier: {NETWORK}"),
    );
    let waiting = reason(&cp, "web", "store", "DependencyNotFound").await;
    assert!(
        waiting["message"]
            .as_str()
            .unwrap()
            .contains("application-networking.k8s.aws/lattice-service-arn"),
        "{waiting}"
    );
    assert_eq!(emu.fake.count("CreateServiceNetworkServiceAssociation"), 0);

    // The AWS Gateway API Controller annotates the route once it has made the service.
    let service = emu.fake.target(SERVICE, false).unwrap();
    cp.ok(
        &[
            "annotate",
            "httproute",
            "store",
            "-n",
            "web",
            &format!("application-networking.k8s.aws/lattice-service-arn={}", service.arn),
        ],
        None,
    );
    condition(&cp, "web", "store", "Ready").await;
    let o = get(&cp, "web", "store").unwrap();
    assert_eq!(o["status"]["resolvedServiceArn"], service.arn.as_str());
    assert_eq!(emu.fake.associations()[0].service_id.as_deref(), Some(SERVICE));
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !text.contains("the Gateway API's HTTPRoute is not installed"),
        "it is installed"
    );
}
