//! Harnesses for the integration tests: a real control plane (etcd + kube-apiserver built from Go
//! modules by hack/), the emulator and the operator, a namespace per test.

#![allow(dead_code)]

pub mod cluster;
pub mod lattice;
pub mod moto;
pub mod operator;

use std::future::Future;
use std::time::Duration;

/// Polls `check` every 200 ms until it yields a value; panics with `what` after `limit`.
/// The limit only guards against a hang: tests assert states and counts, not durations.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
