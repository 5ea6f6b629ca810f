//! What AWS is asked, counted in the in-process fake's call log: N objects of one service network
//! created at once, then an operator restart. One shared, paged `ListServiceNetworkServiceAssociations`
//! per service network answers every object's poll while it is fresh, so the Lists cost about one page
//! per 100 objects per freshness window (`--observation-max-age`), not one Get per object per poll;
//! tags set by the Create are not read back, and a restart that finds every association ACTIVE and
//! its tags verified for the object's generation makes no per-object call at all.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Api, ListParams, PostParams};
use lattice_emulator::{FakeLattice, Faults};
use serde_json::json;
use vpc_lattice_operator::api::ServiceNetworkServiceAssociation as Snsa;
use vpc_lattice_operator::drift::DriftOptions;

use crate::support::cluster::{client, namespace};
use crate::support::eventually;
use crate::support::operator::InProcess;

/// Objects, all in one service network: two List pages of 100.
const N: usize = 150;
const PAGE: usize = 100;
const LIMIT: Duration = Duration::from_secs(180);

/// The calls of each operation in the fake's log.
fn counts(fake: &FakeLattice) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for c in fake.calls() {
        *counts.entry(c.operation).or_default() += 1;
    }
    counts
}

fn count(counts: &BTreeMap<String, usize>, operation: &str) -> usize {
    counts.get(operation).copied().unwrap_or(0)
}

/// The value of a counter line of the operator's metrics (0 when absent).
fn metric(op: &InProcess, line_start: &str) -> f64 {
    op.metrics
        .encode()
        .lines()
        .find_map(|l| l.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// No drift scan while the calls are counted: what is measured is the objects' own reconciles.
fn no_scan() -> DriftOptions {
    DriftOptions {
        interval: Duration::from_secs(3600),
        tag_every: 6,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_objects_and_a_restart_cost_list_pages_not_calls_per_object() {
    let client = client().await;
    let ns = namespace(&client, "calls").await;
    let api: Api<Snsa> = Api::namespaced(client.clone(), &ns);
    let fake = Arc::new(FakeLattice::default());
    let network = fake.create_service_network("shared", None).unwrap();
    let services = crate::support::lattice::services(&fake, N);
    fake.set_faults(Faults {
        provisioning_delay_ms: 500,
        ..Faults::default()
    });

    // First creation: N objects applied at once.
    let op = InProcess::start_with(client.clone(), &ns, fake.clone(), no_scan()).await;
    let started = Instant::now();
    for (i, service) in services.iter().enumerate() {
        let obj: Snsa = serde_json::from_value(json!({
            "apiVersion": "vpclattice.operator.dev/v1alpha1",
            "kind": "ServiceNetworkServiceAssociation",
            "metadata": { "name": format!("app-{i}") },
            "spec": {
                "serviceIdentifier": service,
                "serviceNetworkIdentifier": network.arn,
                "tags": { "team": "payments" },
            },
        }))
        .unwrap();
        api.create(&PostParams::default(), &obj).await.expect("create object");
    }
    eventually("every object Ready", LIMIT, || async {
        let list = api.list(&ListParams::default()).await.ok()?;
        let ready = list
            .items
            .iter()
            .filter(|o| o.condition("Ready").is_some_and(|c| c.status == "True"))
            .count();
        (ready == N).then_some(())
    })
    .await;
    let creation_took = started.elapsed();
    let creation = counts(&fake);
    op.stop().await;

    // A restart: every object is reconciled once more, against the associations it made.
    fake.clear_calls();
    let op = InProcess::start_with(client.clone(), &ns, fake.clone(), no_scan()).await;
    let started = Instant::now();
    eventually("every object reconciled after the restart", LIMIT, || async {
        (metric(&op, "vpc_lattice_operator_reconciles_total{result=\"ok\"}") >= N as f64).then_some(())
    })
    .await;
    let restart_took = started.elapsed();
    let restart = counts(&fake);
    let restart_writes = metric(&op, "vpc_lattice_operator_status_patches_total{result=\"ok\"}");
    op.stop().await;

    eprintln!("{N} objects created in {creation_took:?}: {creation:?}");
    eprintln!("restart with {N} objects reconciled in {restart_took:?}: {restart:?}, {restart_writes} status writes");

    let pages = N.div_ceil(PAGE);
    // The freshness bound of one shared observation (the default of --observation-max-age).
    let window = Duration::from_secs(1);
    let windows = |took: Duration| (took.as_secs_f64() / window.as_secs_f64()).ceil() as usize + 1;
    let list = "ListServiceNetworkServiceAssociations";

    assert_eq!(count(&creation, "CreateServiceNetworkServiceAssociation"), N);
    assert_eq!(
        count(&creation, "ListTagsForResource"),
        0,
        "no ListTags after a Create that set the tags"
    );
    assert_eq!(
        count(&creation, "GetServiceNetworkServiceAssociation"),
        0,
        "polls are answered by the shared List, not a Get per object"
    );
    assert!(
        count(&creation, list) <= pages * windows(creation_took),
        "about {pages} List pages per freshness window: {creation:?} in {creation_took:?}"
    );

    assert_eq!(
        count(&restart, "CreateServiceNetworkServiceAssociation"),
        0,
        "{restart:?}"
    );
    assert_eq!(count(&restart, "GetServiceNetworkServiceAssociation"), 0, "{restart:?}");
    assert_eq!(count(&restart, "ListTagsForResource"), 0, "{restart:?}");
    assert!(count(&restart, list) >= pages, "{restart:?}");
    assert!(
        count(&restart, list) <= pages * windows(restart_took),
        "about {pages} List pages per freshness window: {restart:?} in {restart_took:?}"
    );
    assert_eq!(
        restart.values().sum::<usize>(),
        count(&restart, list),
        "nothing but Lists: {restart:?}"
    );
    assert_eq!(restart_writes, 0.0, "nothing changed, nothing written");
}
