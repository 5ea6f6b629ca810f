//! End to end: the real `vpc-lattice-operator` binary against the real API server and the emulator
//! over the AWS wire protocol; manifests go in with kubectl, as a user's do.

use std::time::Duration;

use lattice_emulator::{FakeLattice, Faults};
use serde_json::Value;

use crate::support::cluster::{self, REPO, kubectl};
use crate::support::lattice::Emulator;
use crate::support::operator::Binary;
use crate::support::{eventually, http};

const LIMIT: Duration = Duration::from_secs(90);
pub const SERVICE: &str = "svc-0123456789abcdef0";
pub const SERVICE_2: &str = "svc-0fedcba9876543210";
pub const NETWORK: &str = "sn-0123456789abcdef0";

/// A fresh namespace and an emulator seeded with the IDs examples/ names, for one test.
pub async fn setup(prefix: &str) -> (String, Emulator) {
    let client = cluster::client().await;
    (cluster::namespace(&client, prefix).await, emulator().await)
}

/// Applies the object `app` associating the seeded service with the seeded network.
pub fn apply_app(ns: &str) {
    let spec = format!("  serviceIdentifier: {SERVICE}\n  serviceNetworkIdentifier: {NETWORK}");
    ok(kubectl(&["apply", "-n", ns, "-f", "-"], Some(&manifest("app", &spec))));
}

/// An emulator seeded with the IDs examples/ names.
pub async fn emulator() -> Emulator {
    let fake = std::sync::Arc::new(FakeLattice::default());
    fake.create_service("payments", Some(SERVICE)).unwrap();
    fake.create_service("checkout", Some(SERVICE_2)).unwrap();
    fake.create_service("orders", Some("svc-0a1b2c3d4e5f60718")).unwrap();
    fake.create_service_network("shared", Some(NETWORK)).unwrap();
    Emulator::serve(fake).await
}

pub fn ok(out: std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "kubectl failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

pub fn get(ns: &str, name: &str) -> Option<Value> {
    let out = kubectl(&["get", "snsa", name, "-n", ns, "-o", "json"], None);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

pub fn manifest(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: vpclattice.operator.dev/v1alpha1\nkind: ServiceNetworkServiceAssociation\n\
         metadata:\n  name: {name}\nspec:\n{spec}\n"
    )
}

pub fn wait_ready(ns: &str, target: &str) {
    ok(kubectl(
        &[
            "wait",
            "--for=condition=Ready",
            "--timeout=90s",
            "-n",
            ns,
            "snsa",
            target,
        ],
        None,
    ));
}

fn reasons(ns: &str) -> String {
    ok(kubectl(
        &[
            "get",
            "events",
            "-n",
            ns,
            "-o",
            "custom-columns=REASON:.reason,NOTE:.message",
        ],
        None,
    ))
}

async fn admin_faults(url: &str, faults: &Faults) {
    let reply = http().put(format!("{url}/_emulator/faults")).json(faults).send().await;
    let status = reply.expect("emulator answers").status();
    assert_eq!(status, 200, "emulator accepted the faults");
}

/// How many calls of `operation` the emulator's request log holds, read over its admin endpoint.
async fn logged_calls(url: &str, operation: &str) -> usize {
    let reply = http().get(format!("{url}/_emulator/calls")).send().await;
    let reply = reply.expect("emulator answers").error_for_status().expect("200");
    let log: Value = reply.json().await.expect("a JSON request log");
    log["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["operation"] == operation)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_apply_and_become_ready_with_every_status_field() {
    let (ns, emu) = setup("e2e-examples").await;
    let op = Binary::spawn(&ns, &emu.url, &[]);
    eventually("operator /readyz", LIMIT, || async {
        op.admin_get("/readyz").await.filter(|r| r.0 == 200)
    })
    .await;
    ok(kubectl(&["apply", "-n", &ns, "-f", &format!("{REPO}/examples/")], None));
    wait_ready(&ns, "--all");
    for name in ["payments-in-shared", "checkout-in-shared", "orders-in-shared"] {
        let o = get(&ns, name).unwrap();
        let s = &o["status"];
        for field in [
            "id",
            "arn",
            "createdBy",
            "serviceId",
            "serviceArn",
            "serviceName",
            "serviceNetworkId",
            "serviceNetworkArn",
            "serviceNetworkName",
            "clientToken",
        ] {
            assert!(
                s[field].as_str().is_some_and(|v| !v.is_empty()),
                "{name}: status.{field} in {s}"
            );
        }
        assert_eq!(s["associationStatus"], "ACTIVE");
        assert!(s["dnsEntry"]["domainName"].is_string());
        assert_eq!(s["observedGeneration"], o["metadata"]["generation"]);
    }
    // by-id, by-arn and by-name each made one; observe-only observes by-id's.
    assert_eq!(emu.fake.associations().len(), 3);
    let observed = get(&ns, "payments-in-shared-observed").unwrap();
    assert_eq!(
        observed["status"]["id"],
        get(&ns, "payments-in-shared").unwrap()["status"]["id"]
    );
    let table = ok(kubectl(&["get", "snsa", "-n", &ns, "-o", "wide"], None));
    assert!(
        table.contains("ACTIVE") && table.contains("True") && table.contains(SERVICE),
        "{table}"
    );
    eventually("the objects gauge counts four ACTIVE", LIMIT, || async {
        let metrics = op.admin_get("/metrics").await?.1;
        metrics
            .contains("vpc_lattice_operator_objects{association_status=\"ACTIVE\"} 4")
            .then_some(())
    })
    .await;
    let metrics = op.admin_get("/metrics").await.unwrap().1;
    assert!(
        metrics.contains("vpc_lattice_operator_aws_calls_total{operation=\"CreateServiceNetworkServiceAssociation\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_failed_is_recreated_and_events_are_visible() {
    let (ns, emu) = setup("e2e-failed").await;
    admin_faults(
        &emu.url,
        &Faults {
            fail_creates: 1,
            provisioning_delay_ms: 200,
            ..Default::default()
        },
    )
    .await;
    let _op = Binary::spawn(&ns, &emu.url, &[]);
    apply_app(&ns);
    wait_ready(&ns, "app");
    let events = reasons(&ns);
    for r in ["CreateFailed", "Recreating", "Active"] {
        assert!(events.contains(r), "{r} in {events}");
    }
    assert_eq!(emu.fake.associations().len(), 1);
    assert_eq!(get(&ns, "app").unwrap()["status"]["recreateAttempts"], 1);
    assert_eq!(
        logged_calls(&emu.url, "CreateServiceNetworkServiceAssociation").await,
        2,
        "failed create + recreate"
    );
    assert_eq!(
        logged_calls(&emu.url, "DeleteServiceNetworkServiceAssociation").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_edits_sync_and_identifier_edits_are_refused_by_the_api_server() {
    let (ns, emu) = setup("e2e-edit").await;
    let _op = Binary::spawn(&ns, &emu.url, &[]);
    let base = format!("  serviceIdentifier: {SERVICE}\n  serviceNetworkIdentifier: {NETWORK}");
    ok(kubectl(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&manifest("app", &format!("{base}\n  tags: {{a: '1'}}"))),
    ));
    wait_ready(&ns, "app");
    ok(kubectl(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&manifest("app", &format!("{base}\n  tags: {{b: '2'}}"))),
    ));
    let arn = get(&ns, "app").unwrap()["status"]["arn"].as_str().unwrap().to_string();
    eventually("tags synced", LIMIT, || async {
        let t = emu.fake.tags_of(&arn);
        (t.get("b").map(String::as_str) == Some("2") && !t.contains_key("a")).then_some(())
    })
    .await;
    let changed = format!("  serviceIdentifier: {SERVICE_2}\n  serviceNetworkIdentifier: {NETWORK}");
    let out = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&manifest("app", &changed)));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("serviceIdentifier is immutable"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_holds_the_finalizer_until_the_association_is_gone_and_retain_keeps_it() {
    let (ns, emu) = setup("e2e-delete").await;
    let _op = Binary::spawn(&ns, &emu.url, &[]);
    let del = format!("  serviceIdentifier: {SERVICE}\n  serviceNetworkIdentifier: {NETWORK}");
    let keep =
        format!("  serviceIdentifier: {SERVICE_2}\n  serviceNetworkIdentifier: {NETWORK}\n  deletionPolicy: Retain");
    ok(kubectl(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&format!("{}---\n{}", manifest("del", &del), manifest("keep", &keep))),
    ));
    wait_ready(&ns, "--all");
    emu.fake.set_faults(Faults {
        provisioning_delay_ms: 3000,
        ..Default::default()
    });
    ok(kubectl(
        &["delete", "-n", &ns, "snsa", "del", "keep", "--wait=false"],
        None,
    ));
    // While AWS deletes, the object stays, held by the finalizer.
    let held = eventually("del reported as deleting", LIMIT, || async {
        let o = get(&ns, "del")?;
        (o["status"]["associationStatus"] == "DELETE_IN_PROGRESS").then_some(o)
    })
    .await;
    assert!(held["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(held["metadata"]["finalizers"][0], vpc_lattice_operator::api::FINALIZER);
    eventually("both objects gone", LIMIT, || async {
        (get(&ns, "del").is_none() && get(&ns, "keep").is_none()).then_some(())
    })
    .await;
    let left = emu.fake.associations();
    assert_eq!(left.len(), 1, "only the retained association is left");
    assert_eq!(left[0].service_id.as_deref(), Some(SERVICE_2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_restart_and_server_errors_converge() {
    let (ns, emu) = setup("e2e-restart").await;
    let url = emu.url.clone();
    let op = Binary::spawn(&ns, &url, &[]);
    apply_app(&ns);
    wait_ready(&ns, "app");
    let first = get(&ns, "app").unwrap()["status"]["id"].as_str().unwrap().to_string();

    // Restart: the emulator comes back on the same port with its state lost and 5xx for a while.
    drop(emu);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fresh = std::sync::Arc::new(FakeLattice::default());
    fresh.create_service("payments", Some(SERVICE)).unwrap();
    fresh.create_service("checkout", Some(SERVICE_2)).unwrap();
    fresh.create_service_network("shared", Some(NETWORK)).unwrap();
    fresh.set_faults(Faults {
        server_errors: 3,
        ..Default::default()
    });
    let listener = tokio::net::TcpListener::bind(url.trim_start_matches("http://"))
        .await
        .unwrap();
    let served = fresh.clone();
    let server = tokio::spawn(async move {
        let _ = lattice_emulator::serve(listener, served).await;
    });
    let second = eventually("recreated after the restart", LIMIT, || async {
        let o = get(&ns, "app")?;
        let id = o["status"]["id"].as_str()?.to_string();
        (id != first && o["status"]["associationStatus"] == "ACTIVE").then_some(id)
    })
    .await;
    wait_ready(&ns, "app");
    assert_eq!(fresh.associations().len(), 1);
    assert_eq!(fresh.associations()[0].id, second);
    assert!(
        fresh
            .calls()
            .iter()
            .filter(|c| c.error.as_deref() == Some("InternalServerException"))
            .count()
            == 3
    );
    // Each failure is also a metric labelled with the operation and AWS's error code.
    let metrics = op.admin_get("/metrics").await.unwrap().1;
    let failed: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("vpc_lattice_operator_aws_calls_total{") && l.contains("outcome=\"error\""))
        .collect();
    assert!(
        failed
            .iter()
            .any(|l| l.contains("error_code=\"InternalServerException\"")),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|l| l.contains("error_code=\"ResourceNotFoundException\"")),
        "{failed:?}"
    );
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_latency_is_tolerated_and_measured() {
    let (ns, emu) = setup("e2e-latency").await;
    admin_faults(
        &emu.url,
        &Faults {
            latency_ms: 250,
            ..Default::default()
        },
    )
    .await;
    let op = Binary::spawn(&ns, &emu.url, &[]);
    apply_app(&ns);
    wait_ready(&ns, "app");
    let metrics = op.admin_get("/metrics").await.unwrap().1;
    let value = |name: &str| -> f64 {
        let prefix = format!("{name}{{operation=\"CreateServiceNetworkServiceAssociation\",region=\"us-east-1\"}} ");
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{prefix} in {metrics}"));
        line[prefix.len()..].trim().parse().unwrap()
    };
    let (sum, count) = (
        value("vpc_lattice_operator_aws_call_duration_seconds_sum"),
        value("vpc_lattice_operator_aws_call_duration_seconds_count"),
    );
    assert_eq!(count, 1.0, "one Create");
    assert!(
        sum >= 0.25,
        "the Create's measured duration includes the added latency: {sum}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_election_holds_a_lease_and_reconciles() {
    let (ns, emu) = setup("e2e-leader").await;
    let op = Binary::spawn(&ns, &emu.url, &["--leader-elect", "true", "--lease-namespace", &ns]);
    apply_app(&ns);
    wait_ready(&ns, "app");
    let lease = ok(kubectl(
        &["get", "lease", "vpc-lattice-operator-leader", "-n", &ns, "-o", "json"],
        None,
    ));
    let lease: Value = serde_json::from_str(&lease).unwrap();
    assert!(
        lease["spec"]["holderIdentity"].as_str().is_some_and(|h| !h.is_empty()),
        "{lease}"
    );
    assert_eq!(op.admin_get("/readyz").await.map(|r| r.0), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_and_releases_the_lease() {
    let (ns, emu) = setup("e2e-sigterm").await;
    let mut op = Binary::spawn(&ns, &emu.url, &["--leader-elect", "true", "--lease-namespace", &ns]);
    apply_app(&ns);
    wait_ready(&ns, "app");
    let status = op.terminate(Duration::from_secs(30));
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
    let lease = ok(kubectl(
        &["get", "lease", "vpc-lattice-operator-leader", "-n", &ns, "-o", "json"],
        None,
    ));
    let lease: Value = serde_json::from_str(&lease).unwrap();
    assert!(
        lease["spec"]["holderIdentity"].as_str().is_none_or(str::is_empty),
        "the lease is released for the next replica: {lease}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_admin_port_fails_start_up_with_a_clear_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
        .args([
            "run",
            "--admin-addr",
            &addr,
            "--namespace",
            "default",
            "--cluster-name",
            "test",
        ])
        .env("KUBECONFIG", cluster::kubeconfig())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("failed to bind the admin server"), "{stderr}");
}

/// The tenant examples (a team's Namespace set up by the platform team, and its namespaced object)
/// are accepted by the real API server as written: the Namespace applied, the object by a server-side
/// dry run (nothing reconciles it here).
#[test]
fn the_tenant_examples_are_accepted_as_written() {
    let dir = format!("{REPO}/examples/tenant");
    ok(kubectl(&["apply", "-f", &format!("{dir}/namespace.yaml")], None));
    let out = ok(kubectl(
        &["apply", "--dry-run=server", "-f", &format!("{dir}/association.yaml")],
        None,
    ));
    assert!(out.contains("payments-in-shared created (server dry run)"), "{out}");
    let ns = ok(kubectl(&["get", "namespace", "payments", "-o", "json"], None));
    let ns: Value = serde_json::from_str(&ns).unwrap();
    assert_eq!(
        ns["metadata"]["annotations"]["vpclattice.operator.dev/aws-role-arn"],
        "arn:aws:iam::444455556666:role/lattice-payments"
    );
    ok(kubectl(&["delete", "namespace", "payments", "--wait=false"], None));
}
