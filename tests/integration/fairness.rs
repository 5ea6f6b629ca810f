//! Fair under load (issue 10): one namespace's failures never starve another's work. On a control
//! plane of the test's own (the operator watches every namespace), 500 objects whose services do
//! not exist fail and retry in one namespace at the default rate (10 calls a second, 8 workers);
//! a healthy object applied in another namespace then reaches AWS within a few calls, counted from
//! the emulator's request log.

use lattice_emulator::Faults;

use crate::e2e::{NETWORK, emulator, manifest};
use crate::support::cluster::Private;
use crate::support::eventually;
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
    let position = eventually(
        "the healthy object's Create",
        std::time::Duration::from_secs(120),
        || async {
            fake.calls()
                .iter()
                .skip(before)
                .position(|c| c.client_token.as_deref().is_some_and(|t| t.starts_with(&uid)))
        },
    )
    .await;
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
}
