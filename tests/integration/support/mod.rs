//! Harnesses for the integration tests: a real control plane (etcd + kube-apiserver built from Go
//! modules by hack/), the emulator and the operator, a namespace per test.

pub mod cluster;
pub mod lattice;
pub mod moto;
pub mod operator;
pub mod proxy;
pub mod tools;

use std::future::Future;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
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

/// An HTTP client for the loopback admin and emulator endpoints: no proxy from the environment, and
/// a timeout so a server that accepts and never answers fails the test instead of hanging it.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("build the HTTP client")
}

/// `GET url`: the status and body, or `None` when nothing answers (yet).
pub async fn http_get(url: &str) -> Option<(u16, String)> {
    let reply = http().get(url).send().await.ok()?;
    Some((reply.status().as_u16(), reply.text().await.ok()?))
}

/// Runs `cmd` to completion with its stdout and stderr captured, feeding it `stdin` (or an empty,
/// closed stdin).
pub fn output(cmd: &mut Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("wait for the child")
}

/// A command's stdout followed by its stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Waits (up to `limit`) for `child`, already sent SIGTERM, to exit; panics naming `what` if it does
/// not.
pub fn wait_for_exit(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("wait for {what}: {e}")) {
            return status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not exit within {limit:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Copies a directory tree (the chart, crds/) with std only.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
