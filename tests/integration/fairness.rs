//! Fair under load (issue 10): one namespace's failures never starve another's work. On a control
//! plane of the test's own (the operator watches every namespace), 500 objects whose services do
//! not exist fail and retry in one namespace at the default rate (10 calls a second, 8 workers);
//! a healthy object applied in another namespace then reaches AWS within a few calls, and so does a
//! new object in the failing namespace itself (new work before retries), counted from the
//! emulator's request log. Objects the rate limiter holds back long say so (`Throttled`).

use lattice_emulator::Faults;

use lattice_emulator::FakeLattice;
use serde_json::Value;

use crate::e2e::{NETWORK, emulator, manifest, ok, setup};
use crate::support::cluster::{Private, kubectl};
use crate::support::eventually;
use crate::support::lattice::services;
use crate::support::operator::Binary;

const FAILING: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_object_is_not_starved_by_another_namespaces_failures() {
    let cp = Private::start("fair");
    cp.ok(&["create", "namespace", "failing"], None);
    cp.ok(&["create", "namespace", "healthy"], None);
    let emu = emulator().await;
    let fake = emu.fake.clone();
    fake.set_faults(Faults {
        provisioning_delay_ms: 1000,
        ..Faults::default()
    });
    let healthy_service = fake.create_service("healthy", None).unwrap().id;
    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let _op = Binary::spawn_with_env("", &emu.url, &[], &[("KUBECONFIG", kubeconfig.as_str())]);
    // Services that do not exist: every Create is answered ResourceNotFound and retried on backoff.
    let failing: Vec<String> = (0..FAILING)
        .map(|i| {
            manifest(
                &format!("gone-{i:03}"),
                &format!("  serviceIdentifier: svc-{i:017}\n  serviceNetworkIdentifier: {NETWORK}"),
            )
        })
        .collect();
    cp.ok(&["apply", "-n", "failing", "-f", "-"], Some(&failing.join("---\n")));
    let creates = || {
        fake.calls()
            .iter()
            .filter(|c| c.operation == "CreateServiceNetworkServiceAssociation")
            .count()
    };
    // Every failing object has failed once and their retries fill the rate limit.
    eventually(
        "every failing object tried",
        std::time::Duration::from_secs(180),
        || async { (creates() >= FAILING + 20).then_some(()) },
    )
    .await;
    let before = fake.calls().len();
    let spec = format!("  serviceIdentifier: {healthy_service}\n  serviceNetworkIdentifier: {NETWORK}");
    cp.ok(&["apply", "-n", "healthy", "-f", "-"], Some(&manifest("app", &spec)));
    let uid = cp.ok(
        &["get", "snsa", "-n", "healthy", "app", "-o", "jsonpath={.metadata.uid}"],
        None,
    );
    let position = create_position(&fake, before, &uid).await;
    cp.ok(
        &[
            "wait",
            "--for=condition=Ready",
            "--timeout=120s",
            "-n",
            "healthy",
            "snsa",
            "app",
        ],
        None,
    );
    let calls = fake.calls();
    let failing_calls_after = calls.len() - before;
    eprintln!(
        "fairness: {FAILING} failing objects retrying; the healthy object's Create was call {} after its apply \
         ({failing_calls_after} calls until it was Ready)",
        position + 1
    );
    // Round-robin between the two namespaces, and the failing namespace's retries not holding the
    // workers: a handful of calls, not the hundreds of a FIFO behind the retries.
    assert!(
        position < 10,
        "the healthy Create came {} calls after its apply",
        position + 1
    );
    // Ready after the provisioning delay (1 s: about 10 calls at 10 a second) and its own few calls
    // (Create, a List or two) at half the rate: far from the hundreds of retries queued before it.
    assert!(
        failing_calls_after <= 60,
        "{failing_calls_after} calls went out before the healthy object was Ready"
    );

    // Inside the failing namespace, a new object's Create goes ahead of the retries queued there.
    let before = fake.calls().len();
    cp.ok(&["apply", "-n", "failing", "-f", "-"], Some(&manifest("fixed", &spec)));
    let uid = cp.ok(
        &[
            "get",
            "snsa",
            "-n",
            "failing",
            "fixed",
            "-o",
            "jsonpath={.metadata.uid}",
        ],
        None,
    );
    let position = create_position(&fake, before, &uid).await;
    eprintln!(
        "fairness: a new object among the failing ones: its Create was call {} after its apply",
        position + 1
    );
    assert!(
        position < 10,
        "the new object's Create came {} calls after its apply, behind its namespace's retries",
        position + 1
    );
}

/// Where in the emulator's log, after the first `before` calls, the Create of the object `uid` is.
async fn create_position(fake: &FakeLattice, before: usize, uid: &str) -> usize {
    eventually("the object's Create", std::time::Duration::from_secs(120), || async {
        fake.calls()
            .iter()
            .skip(before)
            .position(|c| c.client_token.as_deref().is_some_and(|t| t.starts_with(uid)))
    })
    .await
}

/// Objects the client-side rate limiter holds back 10 s or more say so while their work goes on
/// (reason `Throttled`, "client-side rate limit"), and all end Ready: 40 Creates at 2 calls a
/// second keep the last ones waiting about 20 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_held_long_by_the_rate_limit_say_throttled() {
    const OBJECTS: usize = 40;
    let (ns, emu) = setup("throttled").await;
    emu.fake.set_faults(Faults {
        provisioning_delay_ms: 3000,
        ..Faults::default()
    });
    let manifests: Vec<String> = services(&emu.fake, OBJECTS)
        .iter()
        .enumerate()
        .map(|(i, svc)| {
            manifest(
                &format!("held-{i:02}"),
                &format!("  serviceIdentifier: {svc}\n  serviceNetworkIdentifier: {NETWORK}"),
            )
        })
        .collect();
    let _op = Binary::spawn(&ns, &emu.url, &["--aws-max-rps", "2"]);
    ok(kubectl(
        &["apply", "-n", &ns, "-f", "-"],
        Some(&manifests.join("---\n")),
    ));
    let message = eventually(
        "an object showing Throttled",
        std::time::Duration::from_secs(120),
        || async {
            let list: Value =
                serde_json::from_str(&ok(kubectl(&["get", "snsa", "-n", &ns, "-o", "json"], None))).unwrap();
            list["items"].as_array()?.iter().find_map(|o| {
                let ready = o["status"]["conditions"]
                    .as_array()?
                    .iter()
                    .find(|c| c["type"] == "Ready")?;
                (ready["reason"] == "Throttled").then(|| ready["message"].as_str().unwrap_or_default().to_string())
            })
        },
    )
    .await;
    assert!(
        message.contains("client-side rate limit") && message.contains("--aws-max-rps"),
        "the message says whose limit held it: {message}"
    );
    ok(kubectl(
        &[
            "wait",
            "--for=condition=Ready",
            "--all",
            "--timeout=180s",
            "-n",
            &ns,
            "snsa",
        ],
        None,
    ));
}
