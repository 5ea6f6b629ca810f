//! Fault table row 5, leader failover under load: two replicas with leader election, 500 objects
//! being created; the leader is killed (SIGKILL) halfway. The standby takes over once the Lease
//! expires, nothing is created twice, no object is lost.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use lattice_emulator::{FakeLattice, Faults};

use super::LIMIT;
use crate::e2e::{NETWORK, emulator, manifest, ok};
use crate::support::cluster::{self, kubectl};
use crate::support::eventually;
use crate::support::operator::Binary;

const OBJECTS: usize = 500;

/// True when the replica's `/metrics` says it leads.
async fn leads(op: &Binary) -> bool {
    op.admin_get("/metrics")
        .await
        .is_some_and(|(_, m)| m.lines().any(|l| l == "vpc_lattice_operator_leader 1"))
}

fn creates(fake: &FakeLattice) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.operation == "CreateServiceNetworkServiceAssociation")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_takes_over_a_killed_leader_and_creates_nothing_twice() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "failover").await;
    let emu = emulator().await;
    let fake = emu.fake.clone();
    let services = crate::support::lattice::services(&fake, OBJECTS);
    fake.set_faults(Faults {
        provisioning_delay_ms: 1000,
        ..Faults::default()
    });
    let args = [
        "--leader-elect",
        "true",
        "--lease-namespace",
        &ns,
        "--aws-max-rps",
        "20",
    ];
    let mut first = Binary::spawn(&ns, &emu.url, &args);
    eventually("a leader", LIMIT, || async { leads(&first).await.then_some(()) }).await;
    let second = Binary::spawn(&ns, &emu.url, &args);
    let all: String = services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            manifest(
                &format!("app-{i:03}"),
                &format!("  serviceIdentifier: {s}\n  serviceNetworkIdentifier: {NETWORK}"),
            )
        })
        .collect::<Vec<_>>()
        .join("---\n");
    ok(kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&all)));
    // Halfway through the Creates (20 a second), the leader dies.
    eventually("half the Creates sent", LIMIT, || async {
        (creates(&fake) >= OBJECTS / 2).then_some(())
    })
    .await;
    first.kill9();
    let killed = Instant::now();
    let sent_before = creates(&fake);
    eventually("the standby leads", LIMIT, || async {
        leads(&second).await.then_some(())
    })
    .await;
    let takeover = killed.elapsed();
    eventually("every object Ready", std::time::Duration::from_secs(240), || async {
        let out = kubectl(
            &[
                "get",
                "snsa",
                "-n",
                &ns,
                "-o",
                "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
            ],
            None,
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        (text.split_whitespace().filter(|s| *s == "True").count() == OBJECTS).then_some(())
    })
    .await;

    // One association per object; every clientToken its object's first attempt; no Create of a
    // token after it had made an association (a token seen twice was answered with the same one).
    let associations = fake.associations();
    assert_eq!(associations.len(), OBJECTS, "one association per object");
    let pairs: BTreeSet<Option<String>> = associations.iter().map(|a| a.service_id.clone()).collect();
    assert_eq!(pairs.len(), OBJECTS, "no service associated twice");
    let mut by_token: BTreeMap<String, usize> = BTreeMap::new();
    for c in fake.calls() {
        if let Some(t) = c.client_token {
            *by_token.entry(t).or_default() += 1;
        }
    }
    assert!(
        by_token.keys().all(|t| t.ends_with("-0")),
        "only first attempts: nothing was recreated"
    );
    assert_eq!(by_token.len(), OBJECTS, "one clientToken per object");
    let repeated = by_token.values().filter(|n| **n > 1).count();
    eprintln!(
        "fault-table leader failover: {OBJECTS} objects, leader killed after {sent_before} Creates, standby led {:.1} s \
         later (Lease 30 s), {} Creates in all, {repeated} tokens sent twice (answered with their association), \
         {} associations, 0 lost",
        takeover.as_secs_f64(),
        creates(&fake),
        associations.len()
    );
}
