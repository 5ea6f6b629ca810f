//! Fault table row 6, shutdown: SIGTERM while AWS hangs, with the endpoint down (and while idle:
//! `e2e::sigterm_stops_gracefully_and_releases_the_lease`).

use std::time::Duration;

use crate::e2e::{apply_app, ok, setup};
use crate::support::cluster::kubectl;
use crate::support::eventually;
use crate::support::operator::Binary;

use super::LIMIT;

/// A loopback endpoint that accepts connections and never answers: an AWS endpoint that hangs.
struct Silent {
    url: String,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Silent {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(socket);
            }
        });
        Self { url, accepted, task }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Row 6, shutdown: SIGTERM while a reconcile waits on an AWS endpoint that never answers. The
/// process exits within `--shutdown-timeout` plus the Lease release bound, with status 0, instead of
/// waiting for the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_aws_hangs_exits_within_the_shutdown_timeout() {
    let (ns, _emu) = setup("fault-hang").await;
    let silent = Silent::start().await;
    let mut op = Binary::spawn(
        &ns,
        &silent.url,
        &[
            "--shutdown-timeout",
            "2s",
            "--leader-elect",
            "true",
            "--lease-namespace",
            &ns,
        ],
    );
    apply_app(&ns);
    eventually("the Create on the wire to the silent endpoint", LIMIT, || async {
        (silent.accepted.load(std::sync::atomic::Ordering::SeqCst) > 0).then_some(())
    })
    .await;
    // 2 s for the reconciles, at most 5 s for the Lease, and room for a loaded machine: far below
    // the 30 s call timeout the hanging call would otherwise take.
    let status = op.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

/// Row 6, shutdown: SIGTERM with the Lattice endpoint refusing connections and objects queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_the_endpoint_down_exits_within_the_shutdown_timeout() {
    let (ns, _emu) = setup("fault-down").await;
    let down = format!("http://127.0.0.1:{}", crate::support::operator::free_port());
    let mut op = Binary::spawn(&ns, &down, &["--shutdown-timeout", "2s"]);
    for i in 0..20 {
        let spec = format!(
            "  serviceIdentifier: {}\n  serviceNetworkIdentifier: {}",
            crate::e2e::SERVICE,
            crate::e2e::NETWORK
        );
        ok(kubectl(
            &["apply", "-n", &ns, "-f", "-"],
            Some(&crate::e2e::manifest(&format!("app-{i}"), &spec)),
        ));
    }
    eventually("the operator ready", LIMIT, || async {
        (op.admin_get("/readyz").await.map(|r| r.0) == Some(200)).then_some(())
    })
    .await;
    let status = op.terminate(Duration::from_secs(20));
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}
