//! Fault table row 2, AWS outage: for 60 s the endpoint answers every call with a 5xx, and (second
//! test) refuses connections, while one object is being created and another deleted. No crash;
//! each object's calls stay within the error backoff's schedule; the deleted object keeps its
//! finalizer until its association is really gone; everything converges after the outage.

use std::time::{Duration, Instant};

use lattice_emulator::Faults;
use vpc_lattice_operator::reconcile::requeue::{ERROR_BACKOFF, exponential};

use super::LIMIT;
use crate::e2e::{NETWORK, SERVICE, SERVICE_2, get, manifest, ok, setup, wait_ready};
use crate::support::cluster::kubectl;
use crate::support::eventually;
use crate::support::operator::Binary;
use crate::support::proxy::Proxy;

const OUTAGE: Duration = Duration::from_secs(60);

/// The most attempts one object can make in `window` on the error backoff (1 s, 2 s, 4 s, …; its
/// jitter only lengthens a step): the first, then one per backoff step that fits.
fn attempts_allowed(window: Duration) -> usize {
    let mut at = Duration::ZERO;
    let mut n: u32 = 1;
    while at + exponential(n, ERROR_BACKOFF) <= window {
        at += exponential(n, ERROR_BACKOFF);
        n += 1;
    }
    n as usize
}

/// The operator's count of failed calls of `operation` (from its /metrics).
async fn failed_calls(op: &Binary, operation: &str) -> usize {
    let (_, metrics) = op.admin_get("/metrics").await.unwrap_or_default();
    metrics
        .lines()
        .filter(|l| l.starts_with("vpc_lattice_operator_aws_calls_total{"))
        .filter(|l| l.contains(&format!("operation=\"{operation}\"")) && l.contains("outcome=\"error\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as usize
}

#[derive(Clone, Copy, Debug)]
enum Outage {
    ServerErrors,
    ConnectionsRefused,
}

async fn outage(kind: Outage) {
    let (ns, emu) = setup(&format!("outage-{}", matches!(kind, Outage::ServerErrors) as u8)).await;
    let fake = emu.fake.clone();
    fake.set_faults(Faults {
        provisioning_delay_ms: 300,
        ..Faults::default()
    });
    let proxy = Proxy::start(&emu.url).await;
    let op = Binary::spawn(&ns, &proxy.url, &[]);
    let apply = |name: &str, service: &str| {
        let spec = format!("  serviceIdentifier: {service}\n  serviceNetworkIdentifier: {NETWORK}");
        ok(kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&manifest(name, &spec))));
    };
    apply("kept", SERVICE);
    wait_ready(&ns, "kept");

    match kind {
        Outage::ServerErrors => fake.set_faults(Faults {
            server_errors: u32::MAX,
            provisioning_delay_ms: 300,
            ..Faults::default()
        }),
        Outage::ConnectionsRefused => proxy.down().await,
    }
    let began = Instant::now();
    let creates_before = failed_calls(&op, "CreateServiceNetworkServiceAssociation").await;
    apply("new", SERVICE_2);
    ok(kubectl(&["delete", "-n", &ns, "snsa", "kept", "--wait=false"], None));
    // The outage lasts its time; meanwhile the deleted object keeps its finalizer.
    while began.elapsed() < OUTAGE {
        assert!(get(&ns, "kept").is_some(), "the finalizer holds while AWS is out");
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let creates = failed_calls(&op, "CreateServiceNetworkServiceAssociation").await - creates_before;
    let failed_lists = failed_calls(&op, "ListServiceNetworkServiceAssociations").await;
    match kind {
        Outage::ServerErrors => fake.set_faults(Faults {
            provisioning_delay_ms: 300,
            ..Faults::default()
        }),
        Outage::ConnectionsRefused => proxy.up().await,
    }
    let recovered = Instant::now();
    let allowed = attempts_allowed(OUTAGE);
    assert!(creates >= 2, "the Create was retried during the outage ({creates})");
    assert!(
        creates <= allowed,
        "{creates} Creates in {OUTAGE:?}, the backoff allows {allowed}"
    );
    wait_ready(&ns, "new");
    eventually("the deleted object gone", LIMIT + OUTAGE, || async {
        get(&ns, "kept").is_none().then_some(())
    })
    .await;
    let left: Vec<_> = fake.associations().into_iter().filter_map(|a| a.service_id).collect();
    assert_eq!(left, [SERVICE_2], "only the new object's association is left");
    eprintln!(
        "fault-table AWS outage ({kind:?}, 60 s): failed Creates {creates} (backoff allows {allowed}), failed Lists \
         {failed_lists}, the deleted object kept its finalizer throughout; converged {:.1} s after the outage",
        recovered.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60_s_outage_of_server_errors_is_ridden_out_on_the_backoff() {
    outage(Outage::ServerErrors).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60_s_outage_of_refused_connections_is_ridden_out_on_the_backoff() {
    outage(Outage::ConnectionsRefused).await;
}
