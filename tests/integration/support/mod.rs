//! Harnesses for the integration tests: a real control plane (etcd + kube-apiserver built from Go
//! modules by hack/), the emulator and the operator, a namespace per test.

#![allow(dead_code)]

pub mod cluster;
pub mod lattice;
pub mod moto;
pub mod operator;
pub mod tools;

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

/// A minimal HTTP/1.0 request to a loopback server (`addr` is `host:port`): status and body, or
/// `None` when nothing answers. Enough for the admin and emulator endpoints.
pub async fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = addr.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let body = body.unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.ok()?;
    let code = buf.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, buf.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()))
}
