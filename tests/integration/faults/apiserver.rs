//! Fault table row 4, the API server under the operator: on a control plane of the test's own,
//! kube-apiserver and etcd are restarted while 50 objects are being created, then objects are
//! edited and etcd's history compacted so that the operator's watch, resumed from its last
//! resourceVersion, is answered 410 Gone and must list again. Every object ends Ready with its
//! latest generation observed and its latest tags in AWS: no change and no status write lost.

use std::time::Duration;

use lattice_emulator::Faults;
use serde_json::Value;

use super::LIMIT;
use crate::e2e::{NETWORK, emulator, manifest};
use crate::support::cluster::Private;
use crate::support::eventually;
use crate::support::operator::Binary;

const OBJECTS: usize = 50;
const EDITED: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_restart_and_a_410_on_the_watch_lose_no_change() {
    let cp = Private::start("restart");
    cp.ok(&["create", "namespace", "restart"], None);
    let emu = emulator().await;
    let fake = emu.fake.clone();
    let services = crate::support::lattice::services(&fake, OBJECTS);
    fake.set_faults(Faults {
        provisioning_delay_ms: 1000,
        ..Faults::default()
    });
    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("operator.log");
    let _op = Binary::spawn_logged(
        "restart",
        &emu.url,
        &["--aws-max-rps", "10"],
        &[
            ("KUBECONFIG", kubeconfig.as_str()),
            ("RUST_LOG", "info,kube_runtime=debug"),
        ],
        &log,
    );
    let objects = |tag: &str| -> String {
        services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let tags = if i < EDITED {
                    format!("\n  tags:\n    rev: {tag}")
                } else {
                    String::new()
                };
                manifest(
                    &format!("app-{i:02}"),
                    &format!("  serviceIdentifier: {s}\n  serviceNetworkIdentifier: {NETWORK}{tags}"),
                )
            })
            .collect::<Vec<_>>()
            .join("---\n")
    };
    cp.ok(&["apply", "-n", "restart", "-f", "-"], Some(&objects("one")));
    // Mid-way through the Creates (10 a second), the control plane restarts.
    eventually("a fifth of the Creates sent", LIMIT, || async {
        let creates = fake
            .calls()
            .iter()
            .filter(|c| c.operation == "CreateServiceNetworkServiceAssociation")
            .count();
        (creates >= OBJECTS / 5).then_some(())
    })
    .await;
    cp.restart();
    // Edits while the operator's watch may still be down, then history compacted past them.
    cp.ok(&["apply", "-n", "restart", "-f", "-"], Some(&objects("two")));
    cp.compact();

    let all_converged = || async {
        let text = cp.kubectl(&["get", "snsa", "-n", "restart", "-o", "json"], None);
        let list: Value = serde_json::from_slice(&text.stdout).ok()?;
        let items = list["items"].as_array()?.clone();
        let done = items.iter().all(|o| {
            let ready = o["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            ready && o["status"]["observedGeneration"] == o["metadata"]["generation"]
        });
        (items.len() == OBJECTS && done).then_some(items)
    };
    let items = eventually(
        "every object Ready at its latest generation",
        Duration::from_secs(240),
        all_converged,
    )
    .await;
    let associations = fake.associations();
    assert_eq!(associations.len(), OBJECTS, "one association per object");
    for o in items.iter().take(EDITED) {
        let arn = o["status"]["arn"].as_str().unwrap();
        assert_eq!(
            fake.tags_of(arn).get("rev").map(String::as_str),
            Some("two"),
            "the edit made while the watch was broken reached AWS"
        );
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let gone: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("410") || l.contains("too old resource version"))
        .collect();
    eprintln!(
        "fault-table API server restart + 410: {OBJECTS} objects, restarted after {} Creates, {EDITED} edited and \
         history compacted; all Ready at their latest generation, {} associations, edits in AWS; {} \
         log lines of the operator name a 410 / too old resource version (first: {:.160})",
        OBJECTS / 5,
        associations.len(),
        gone.len(),
        gone.first().copied().unwrap_or("none")
    );
}
