//! Fault table row 1, kill -9 anywhere: the operator binary is SIGKILLed at each point of an object's
//! life, found from the emulator's request log (the call has reached AWS; an injected latency holds
//! the operator inside it), then started again. Each run must end with exactly one association per
//! wanted object (none for a deleted one), no association this cluster's objects do not own, and
//! no clientToken reused with other parameters (which AWS would refuse).
//!
//! Repetitions per point: `VLO_FAULT_REPS` (5 in `make test`, 100 in `make soak`).

use std::sync::Arc;
use std::time::Instant;

use lattice_emulator::{Call, FakeLattice, Faults};
use vpc_lattice_operator::api::OWNER_TAG;

use super::LIMIT;
use crate::e2e::{NETWORK, SERVICE, emulator, get, manifest, ok, wait_ready};
use crate::support::cluster::{self, kubectl};
use crate::support::eventually;
use crate::support::lattice::Emulator;
use crate::support::operator::Binary;

/// How long every AWS call takes while the test waits to kill the operator inside one.
const HOLD_MS: u64 = 1500;

/// Repetitions per point.
fn reps() -> usize {
    std::env::var("VLO_FAULT_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// Where the operator is killed.
#[derive(Clone, Copy, Debug)]
enum Point {
    /// The Create has reached AWS; its answer and the status write have not happened.
    CreateSent,
    /// CREATE_FAILED recovery: the Delete of the failed association has reached AWS, the recreate
    /// has not happened.
    RecoveryDeleteSent,
    /// Deletion: the Delete has reached AWS, the finalizer is still on.
    DeleteSent,
    /// Deletion: AWS accepted the Delete and is deleting; the operator polls; the finalizer is on.
    DeleteAccepted,
    /// A tag edit: TagResource has reached AWS.
    TagSent,
}

/// What one run saw.
#[derive(Debug, Default)]
struct Run {
    /// AWS calls from the kill until the object converged (Ready, or gone).
    calls_after_kill: usize,
    /// Milliseconds from the restart until the object converged.
    converge_ms: u128,
}

/// Calls of `operation` in the request log.
fn count(calls: &[Call], operation: &str) -> usize {
    calls.iter().filter(|c| c.operation == operation).count()
}

/// Waits until the request log holds more than `before` calls of `operation`.
async fn reached(fake: &FakeLattice, operation: &str, before: usize) {
    eventually(operation, LIMIT, || async {
        (count(&fake.calls(), operation) > before).then_some(())
    })
    .await;
}

/// The invariants after convergence: `wanted` associations in all (the emulator, as AWS, holds at
/// most one per pair), each owned by an object of `ns`, and every clientToken the object's (its
/// UID and attempt), so none was reused for anything else.
fn check(fake: &FakeLattice, ns: &str, uid: &str, wanted: usize) {
    let associations = fake.associations();
    assert_eq!(associations.len(), wanted, "associations: {associations:?}");
    for a in &associations {
        let owner = fake.tags_of(&a.arn).get(OWNER_TAG).cloned().unwrap_or_default();
        assert_eq!(owner, format!("{ns}/app"), "orphan {} owned by {owner:?}", a.id);
    }
    for c in fake.calls() {
        if let Some(token) = &c.client_token {
            assert!(token.starts_with(uid), "a clientToken not of this object: {c:?}");
        }
    }
}

/// One run: a fresh namespace, emulator and operator; kill at `point`; restart; converge.
async fn run(point: Point, rep: usize) -> Run {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, &format!("crash-{rep}")).await;
    let emu: Emulator = emulator().await;
    let fake: Arc<FakeLattice> = emu.fake.clone();
    let quick = Faults {
        provisioning_delay_ms: 300,
        ..Faults::default()
    };
    let held = Faults {
        latency_ms: HOLD_MS,
        ..quick.clone()
    };
    let spec = format!("  serviceIdentifier: {SERVICE}\n  serviceNetworkIdentifier: {NETWORK}\n  tags:\n    team: a");
    let apply = |spec: &str| ok(kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&manifest("app", spec))));
    let mut op = Binary::spawn(&ns, &emu.url, &[]);
    let mut gone = false;
    match point {
        Point::CreateSent => {
            fake.set_faults(held.clone());
            apply(&spec);
            reached(&fake, "CreateServiceNetworkServiceAssociation", 0).await;
        }
        Point::RecoveryDeleteSent => {
            fake.set_faults(Faults {
                fail_creates: 1,
                latency_ms: HOLD_MS,
                ..quick.clone()
            });
            apply(&spec);
            reached(&fake, "DeleteServiceNetworkServiceAssociation", 0).await;
        }
        Point::DeleteSent | Point::DeleteAccepted => {
            fake.set_faults(Faults {
                provisioning_delay_ms: 2000,
                ..Faults::default()
            });
            apply(&spec);
            wait_ready(&ns, "app");
            if matches!(point, Point::DeleteSent) {
                fake.set_faults(Faults {
                    latency_ms: HOLD_MS,
                    ..quick.clone()
                });
            }
            ok(kubectl(&["delete", "-n", &ns, "snsa", "app", "--wait=false"], None));
            reached(&fake, "DeleteServiceNetworkServiceAssociation", 0).await;
            if matches!(point, Point::DeleteAccepted) {
                // A poll after the accepted Delete: AWS is deleting, the finalizer still holds.
                let lists = count(&fake.calls(), "ListServiceNetworkServiceAssociations");
                reached(&fake, "ListServiceNetworkServiceAssociations", lists).await;
                assert_eq!(fake.associations().len(), 1, "still deleting when killed");
            }
            gone = true;
        }
        Point::TagSent => {
            fake.set_faults(quick.clone());
            apply(&spec);
            wait_ready(&ns, "app");
            fake.set_faults(held.clone());
            apply(&spec.replace("team: a", "team: b"));
            reached(&fake, "TagResource", 0).await;
        }
    }
    op.kill9();
    let killed_at = fake.calls().len();
    let uid = get(&ns, "app")
        .and_then(|o| o["metadata"]["uid"].as_str().map(String::from))
        .unwrap_or_default();
    fake.set_faults(quick);
    let restarted = Instant::now();
    let _op = Binary::spawn(&ns, &emu.url, &[]);
    if gone {
        eventually("the object gone", LIMIT, || async {
            get(&ns, "app").is_none().then_some(())
        })
        .await;
        check(&fake, &ns, &uid, 0);
    } else {
        wait_ready(&ns, "app");
        check(&fake, &ns, &uid, 1);
        if matches!(point, Point::TagSent) {
            let a = &fake.associations()[0];
            assert_eq!(fake.tags_of(&a.arn).get("team").map(String::as_str), Some("b"));
        }
    }
    Run {
        calls_after_kill: fake.calls().len() - killed_at,
        converge_ms: restarted.elapsed().as_millis(),
    }
}

/// Runs `point` [`reps`] times and prints the row's counts (docs/reliability.md quotes them).
async fn row(point: Point) {
    let n = reps();
    let mut runs = Vec::with_capacity(n);
    for rep in 0..n {
        runs.push(run(point, rep).await);
    }
    let calls: Vec<usize> = runs.iter().map(|r| r.calls_after_kill).collect();
    let ms: Vec<u128> = runs.iter().map(|r| r.converge_ms).collect();
    eprintln!(
        "fault-table kill-9 {point:?}: runs {n}, duplicates 0, orphans 0, foreign tokens 0, AWS calls after the kill \
         min {} max {}, converged after the restart in {}..{} ms",
        calls.iter().min().unwrap_or(&0),
        calls.iter().max().unwrap_or(&0),
        ms.iter().min().unwrap_or(&0),
        ms.iter().max().unwrap_or(&0),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_the_create_reached_aws() {
    row(Point::CreateSent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_create_failed_recovery() {
    row(Point::RecoveryDeleteSent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_as_the_delete_reached_aws() {
    row(Point::DeleteSent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_aws_deletes_before_the_finalizer_is_removed() {
    row(Point::DeleteAccepted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_as_a_tag_sync_reached_aws() {
    row(Point::TagSent).await;
}
