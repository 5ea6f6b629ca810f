//! Identity mistakes say what they are, end to end: the real binary run as EKS runs it (IRSA: a
//! web-identity token file and `AWS_ROLE_ARN`, no static keys; or a namespace's role through
//! AssumeRole) against the emulator's STS, with the refusals an EKS newcomer meets first. Each shows
//! reason `CredentialsUnavailable` with STS's words and the role, as a condition a person can read
//! and as an Event; no VPC Lattice call is made without credentials.

use std::time::Duration;

use lattice_emulator::Faults;
use serde_json::Value;

use crate::e2e::{apply_app, emulator, get, ok, wait_ready};
use crate::support::cluster::{self, kubectl};
use crate::support::eventually;
use crate::support::lattice::Emulator;
use crate::support::operator::Binary;

const OPERATOR_ROLE: &str = "arn:aws:iam::111122223333:role/vpc-lattice-operator";
const TENANT_ROLE: &str = "arn:aws:iam::444455556666:role/lattice-tenant";

/// Gives the namespace [`TENANT_ROLE`] through its role annotation.
fn annotate_role(ns: &str) {
    let annotation = format!("vpclattice.operator.dev/aws-role-arn={TENANT_ROLE}");
    ok(kubectl(&["annotate", "namespace", ns, &annotation], None));
}

/// The object's Ready condition once its reason is `reason`.
async fn ready_with(ns: &str, reason: &str) -> Value {
    eventually(&format!("reason {reason}"), Duration::from_secs(90), || async {
        let o = get(ns, "app")?;
        o["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Ready" && c["reason"] == reason)
            .cloned()
    })
    .await
}

/// The notes of the namespace's Events with this reason, once there is one.
async fn events(ns: &str, reason: &str) -> Vec<String> {
    eventually(&format!("an Event {reason}"), Duration::from_secs(60), || async {
        let out = ok(kubectl(&["get", "events", "-n", ns, "-o", "json"], None));
        let list: Value = serde_json::from_str(&out).unwrap();
        let notes: Vec<String> = list["items"]
            .as_array()?
            .iter()
            .filter(|e| e["reason"] == reason)
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect();
        (!notes.is_empty()).then_some(notes)
    })
    .await
}

/// A message a person can read: no Rust `Debug` dump, within the limits.
#[track_caller]
fn assert_readable(message: &str, limit: usize) {
    for dump in ["DispatchFailure(", "ConnectorError", "{ ", "Some(", "{ source"] {
        assert!(!message.contains(dump), "no Debug dump ({dump:?}) in: {message}");
    }
    assert!(message.len() <= limit, "{} bytes: {message}", message.len());
}

/// The condition and Event of a credentials failure: reason, Stalled, STS's words, the role, and
/// no VPC Lattice call.
async fn assert_credentials_unavailable(ns: &str, emu: &Emulator, says: &[&str]) -> String {
    let c = ready_with(ns, "CredentialsUnavailable").await;
    let message = c["message"].as_str().unwrap().to_string();
    assert_readable(&message, 2048);
    for words in says {
        assert!(message.contains(words), "the message says {words:?}: {message}");
    }
    let o = get(ns, "app").unwrap();
    let stalled = o["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["type"] == "Stalled" && c["status"] == "True");
    assert!(stalled, "a human must act: Stalled");
    let notes = events(ns, "CredentialsUnavailable").await;
    assert!(notes.iter().all(|n| n.len() <= 1024), "{notes:?}");
    assert!(notes.iter().any(|n| says.iter().all(|w| n.contains(w))), "{notes:?}");
    assert!(emu.fake.calls().is_empty(), "no VPC Lattice call without credentials");
    message
}

/// The environment of a pod on EKS with IRSA: a projected token file, the role, no static keys.
struct Irsa {
    _dir: tempfile::TempDir,
    token: String,
}

impl Irsa {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(
            &token,
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln",
        )
        .unwrap();
        Self {
            token: token.to_string_lossy().to_string(),
            _dir: dir,
        }
    }

    fn env<'a>(&'a self, emu: &'a Emulator) -> Vec<(&'a str, &'a str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ""),
            ("AWS_SECRET_ACCESS_KEY", ""),
            ("AWS_ROLE_ARN", OPERATOR_ROLE),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", &self.token),
            ("AWS_ENDPOINT_URL_STS", &emu.url),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irsa_web_identity_signs_the_calls_with_the_role_and_the_log_names_it() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "irsa").await;
    let emu = emulator().await;
    let irsa = Irsa::new();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("operator.log");
    let _op = Binary::spawn_logged(&ns, &emu.url, &[], &irsa.env(&emu), &log);
    apply_app(&ns);
    wait_ready(&ns, "app");
    let roles: std::collections::BTreeSet<Option<String>> = emu
        .fake
        .callers()
        .into_iter()
        .map(|c| emu.fake.role_of_key(&c.access_key_id))
        .collect();
    assert_eq!(
        roles,
        [Some(OPERATOR_ROLE.to_string())].into(),
        "every call signed as the web identity role"
    );
    assert!(emu.fake.sts_count("AssumeRoleWithWebIdentity") >= 1);
    // Logged in the background at start-up, beside the first reconciles.
    let line = eventually(
        "the start-up log names the identity",
        Duration::from_secs(60),
        || async {
            let text = std::fs::read_to_string(&log).ok()?;
            text.lines().find(|l| l.contains("AWS identity")).map(String::from)
        },
    )
    .await;
    assert!(
        line.contains("assumed-role/vpc-lattice-operator") && line.contains("us-east-1"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_web_identity_is_credentials_unavailable_with_stss_words_and_the_operator_keeps_running() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "irsa-denied").await;
    let emu = emulator().await;
    emu.fake.deny_web_identity(OPERATOR_ROLE);
    let irsa = Irsa::new();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("operator.log");
    let op = Binary::spawn_logged(&ns, &emu.url, &[], &irsa.env(&emu), &log);
    apply_app(&ns);
    assert_credentials_unavailable(&ns, &emu, &["AssumeRoleWithWebIdentity", "AccessDenied", OPERATOR_ROLE]).await;
    eventually("the start-up says so and goes on", Duration::from_secs(60), || async {
        let text = std::fs::read_to_string(&log).ok()?;
        text.contains("could not tell the operator's AWS identity")
            .then_some(())
    })
    .await;
    assert!(
        op.admin_get("/livez").await.is_some_and(|(status, _)| status == 200),
        "still running"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_role_whose_trust_policy_refuses_the_operator_is_credentials_unavailable() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "role-denied").await;
    annotate_role(&ns);
    let emu = emulator().await;
    emu.fake.deny_assume_role(TENANT_ROLE);
    let _op = Binary::spawn_with_env(&ns, &emu.url, &[], &[("AWS_ENDPOINT_URL_STS", &emu.url)]);
    apply_app(&ns);
    let message =
        assert_credentials_unavailable(&ns, &emu, &["STS AssumeRole answered AccessDenied", TENANT_ROLE]).await;
    assert!(message.contains("trust policy"), "says where the fix lies: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_outside_the_allow_list_is_refused_without_an_sts_call() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "role-not-allowed").await;
    annotate_role(&ns);
    let emu = emulator().await;
    let allowed = ["--allowed-role-arn", "arn:aws:iam::111122223333:role/lattice-*"];
    let _op = Binary::spawn_with_env(&ns, &emu.url, &allowed, &[("AWS_ENDPOINT_URL_STS", &emu.url)]);
    apply_app(&ns);
    let c = ready_with(&ns, "RoleNotAllowed").await;
    let message = c["message"].as_str().unwrap();
    assert!(
        message.contains(TENANT_ROLE) && message.contains("arn:aws:iam::111122223333:role/lattice-*"),
        "{message}"
    );
    assert_eq!(
        emu.fake.sts_count("AssumeRole"),
        0,
        "no AssumeRole (only the start-up GetCallerIdentity)"
    );
    assert!(emu.fake.calls().is_empty(), "no VPC Lattice call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_no_region_and_a_broken_sts_each_say_what_they_are() {
    let client = cluster::client().await;
    let emu = emulator().await;
    let no_files = [
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ];

    let ns = cluster::namespace(&client, "no-credentials").await;
    let env = [
        &no_files[..],
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    ]
    .concat();
    let op = Binary::spawn_with_env(&ns, &emu.url, &[], &env);
    apply_app(&ns);
    assert_credentials_unavailable(&ns, &emu, &["no credentials were found"]).await;
    drop(op);

    let ns = cluster::namespace(&client, "no-region").await;
    let env = [&no_files[..], &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "")]].concat();
    let op = Binary::spawn_with_env(&ns, &emu.url, &[], &env);
    apply_app(&ns);
    assert_credentials_unavailable(&ns, &emu, &["no AWS region is configured"]).await;
    drop(op);

    let ns = cluster::namespace(&client, "broken-sts").await;
    emu.fake.set_sts_broken(true);
    let irsa = Irsa::new();
    let _op = Binary::spawn_with_env(&ns, &emu.url, &[], &irsa.env(&emu));
    apply_app(&ns);
    assert_credentials_unavailable(&ns, &emu, &["not an STS answer", OPERATOR_ROLE]).await;
}

/// A 4 KiB AWS error message: the condition holds a readable cut of it, and the Event (whose note
/// the API server limits to 1 KiB) is published, cut, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4_kib_aws_error_message_reaches_the_condition_and_the_event() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "long-message").await;
    let emu = emulator().await;
    emu.fake.set_faults(Faults {
        create_error: Some("AccessDeniedException".into()),
        create_error_message_bytes: 4096,
        ..Faults::default()
    });
    let _op = Binary::spawn(&ns, &emu.url, &[]);
    apply_app(&ns);
    let c = ready_with(&ns, "AccessDenied").await;
    let message = c["message"].as_str().unwrap();
    assert_readable(message, 2048);
    assert!(
        message.starts_with("AccessDeniedException: AccessDeniedException (injected)"),
        "{message}"
    );
    assert!(message.ends_with("more bytes cut)"), "the cut is said: {message}");
    let notes = events(&ns, "AccessDenied").await;
    assert!(
        notes.iter().all(|n| n.len() <= 1024 && n.ends_with("more bytes cut)")),
        "{notes:?}"
    );
}
