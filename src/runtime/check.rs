//! `vpc-lattice-operator check`: what the chart's `helm test` Pod runs. It asks the release's Service
//! for the operator's `/readyz` and `/metrics`, and passes when an operator of its own version answers
//! ready. That proves what an install can get wrong and `helm install --wait` does not see: the
//! Service selects the release's Pods, its port reaches the admin server, a NetworkPolicy lets the
//! release's own test in, and the operator behind it is the version this chart installed (not another
//! release's). The verdict is pure ([`verdict`]); the GETs use hyper's client.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The metric line a ready operator of `version` serves.
fn build_info_line(version: &str) -> String {
    format!("vpc_lattice_operator_build_info{{version=\"{version}\"}} 1")
}

/// One HTTP answer: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// Whether `readyz` and `metrics`, the answers of the admin server at `url`, come from a ready
/// operator of `version`: the line to print on success, what is wrong otherwise.
pub fn verdict(url: &str, version: &str, readyz: &Answer, metrics: &Answer) -> Result<String, String> {
    if readyz.status != 200 {
        return Err(format!(
            "{url}/readyz answered {} ({}): the operator behind the Service is not ready (it has not \
             synced its watches, or it cannot reach the API server); see its log",
            readyz.status,
            readyz.body.trim()
        ));
    }
    if metrics.status != 200 {
        return Err(format!("{url}/metrics answered {}", metrics.status));
    }
    let served = metrics
        .body
        .lines()
        .find(|l| l.starts_with("vpc_lattice_operator_build_info{"));
    match served {
        Some(line) if line == build_info_line(version) => {
            Ok(format!("{url}: the operator {version} is ready and serves its metrics"))
        }
        Some(line) => Err(format!(
            "{url} reaches another operator version ({line}), not {version}: the Service selects \
             Pods of another release, or the rollout has not finished"
        )),
        None => Err(format!(
            "{url}/metrics serves no vpc_lattice_operator_build_info: the Service does not reach \
             this operator's admin server"
        )),
    }
}

async fn get(url: &str) -> Result<Answer, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri: hyper::Uri = url.parse().map_err(|e| format!("{url} is no URL: {e}"))?;
    let response = client
        .get(uri)
        .await
        .map_err(|e| format!("could not reach {url}: {}", crate::lattice::error::readable(&e)))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer of {url}: {e}"))?
        .to_bytes();
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Asks `url` (the admin server's base, e.g. `http://release.namespace.svc:8080`) every second until
/// [`verdict`] passes or `timeout` has gone by; the last verdict.
pub async fn check(url: &str, timeout: Duration) -> Result<String, String> {
    let url = url.trim_end_matches('/');
    let version = env!("CARGO_PKG_VERSION");
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let last = match (
            get(&format!("{url}/readyz")).await,
            get(&format!("{url}/metrics")).await,
        ) {
            (Ok(readyz), Ok(metrics)) => verdict(url, version, &readyz, &metrics),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        if last.is_ok() || tokio::time::Instant::now() >= deadline {
            return last;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://op.ns.svc:8080";

    fn ok(body: &str) -> Answer {
        Answer {
            status: 200,
            body: body.into(),
        }
    }

    fn metrics(version: &str) -> Answer {
        ok(&format!(
            "# HELP vpc_lattice_operator_build_info 1\n{}\nvpc_lattice_operator_leader 1\n",
            build_info_line(version)
        ))
    }

    #[test]
    fn a_ready_operator_of_this_version_passes() {
        let v = verdict(URL, "1.2.3", &ok("ok"), &metrics("1.2.3")).unwrap();
        assert_eq!(
            v,
            "http://op.ns.svc:8080: the operator 1.2.3 is ready and serves its metrics"
        );
    }

    #[test]
    fn not_ready_fails_saying_so() {
        let readyz = Answer {
            status: 503,
            body: "watches not synced\n".into(),
        };
        let e = verdict(URL, "1.2.3", &readyz, &metrics("1.2.3")).unwrap_err();
        assert!(e.contains("/readyz answered 503 (watches not synced)"), "{e}");
    }

    #[test]
    fn another_version_or_no_operator_fails() {
        let e = verdict(URL, "1.2.3", &ok("ok"), &metrics("1.2.2")).unwrap_err();
        assert!(e.contains("another operator version") && e.contains("\"1.2.2\""), "{e}");
        let e = verdict(URL, "1.2.3", &ok("ok"), &ok("up 1\n")).unwrap_err();
        assert!(e.contains("serves no vpc_lattice_operator_build_info"), "{e}");
        let broken = Answer {
            status: 500,
            body: String::new(),
        };
        assert!(verdict(URL, "1.2.3", &ok("ok"), &broken).is_err());
    }
}
