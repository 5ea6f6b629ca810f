//! Per-namespace AWS identity, end to end: the real binary assumes the role a Namespace's
//! annotation names (STS AssumeRole served by moto) and signs its Lattice calls with those
//! credentials, which the emulator's caller log shows; a malformed annotation stalls with a message.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::e2e::{apply_app, emulator, get, ok, wait_ready};
use crate::support::cluster::{self, kubectl};
use crate::support::eventually;
use crate::support::moto::Moto;
use crate::support::operator::Binary;

const ANNOTATION: &str = "vpclattice.operator.dev/aws-role-arn";

/// The object's `Stalled=True` condition, once it has one.
async fn stalled(ns: &str, name: &str) -> Value {
    eventually("Stalled", Duration::from_secs(90), || async {
        let o = get(ns, name)?;
        let conditions = o["status"]["conditions"].as_array()?.clone();
        conditions
            .into_iter()
            .find(|c| c["type"] == "Stalled" && c["status"] == "True")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_role_annotation_is_assumed_for_its_objects() {
    let moto = Moto::start();
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "tenant").await;
    let role = "arn:aws:iam::111122223333:role/lattice-tenant";
    ok(kubectl(
        &["annotate", "namespace", &ns, &format!("{ANNOTATION}={role}")],
        None,
    ));
    let emu = emulator().await;
    let _op = Binary::spawn_with_env(&ns, &emu.url, &[], &[("AWS_ENDPOINT_URL_STS", &moto.url)]);
    apply_app(&ns);
    wait_ready(&ns, "app");
    let keys: BTreeSet<String> = emu.fake.callers().into_iter().map(|c| c.access_key_id).collect();
    assert!(!keys.is_empty());
    assert!(
        !keys.contains("test"),
        "no Lattice call signed with the operator's own key: {keys:?}"
    );
    assert!(keys.iter().all(|k| !k.is_empty()), "every call signed: {keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_role_annotation_stalls_with_a_message() {
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "tenant-bad").await;
    ok(kubectl(
        &["annotate", "namespace", &ns, &format!("{ANNOTATION}=lattice-role")],
        None,
    ));
    let emu = emulator().await;
    let _op = Binary::spawn(&ns, &emu.url, &[]);
    apply_app(&ns);
    let stalled = stalled(&ns, "app").await;
    assert_eq!(stalled["reason"], "InvalidSpec");
    assert!(
        stalled["message"].as_str().unwrap().contains("not an IAM role ARN"),
        "{stalled}"
    );
    assert!(
        emu.fake.callers().is_empty(),
        "no Lattice call without a valid identity"
    );
}

/// Fault table row 9: with `--require-namespace-role`, a namespace without the annotation gets no
/// AWS identity (Stalled `NoRoleForNamespace`, no call at all); once annotated (with an external ID
/// for the role's trust policy) its objects are reconciled with the assumed role.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_role_stalls_unannotated_namespaces_without_an_aws_call() {
    let moto = Moto::start();
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "tenant-none").await;
    let emu = emulator().await;
    let _op = Binary::spawn_with_env(
        &ns,
        &emu.url,
        &["--require-namespace-role", "true"],
        &[("AWS_ENDPOINT_URL_STS", &moto.url)],
    );
    apply_app(&ns);
    let stalled = stalled(&ns, "app").await;
    assert_eq!(stalled["reason"], "NoRoleForNamespace");
    assert!(
        stalled["message"].as_str().unwrap().contains(ANNOTATION),
        "the message names the annotation to add: {stalled}"
    );
    assert!(
        emu.fake.calls().is_empty(),
        "no AWS call for a namespace without a role"
    );
    let role = "arn:aws:iam::111122223333:role/lattice-tenant";
    ok(kubectl(
        &[
            "annotate",
            "namespace",
            &ns,
            &format!("{ANNOTATION}={role}"),
            "vpclattice.operator.dev/aws-external-id=tenant-7",
        ],
        None,
    ));
    // Rechecked every 60 s; the annotation is read again after 30 s.
    wait_ready(&ns, "app");
    let keys: BTreeSet<String> = emu.fake.callers().into_iter().map(|c| c.access_key_id).collect();
    assert!(
        !keys.is_empty() && !keys.contains("test"),
        "signed with the assumed role: {keys:?}"
    );
}

/// Fault table row 9: a full run at debug level (every crate), with the operator's own static
/// credentials and a role assumed through STS, leaves no credential, session token or request
/// signature in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_run_logs_no_credentials_tokens_or_signatures() {
    const SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY";
    let moto = Moto::start();
    let client = cluster::client().await;
    let ns = cluster::namespace(&client, "tenant-logs").await;
    let role = "arn:aws:iam::111122223333:role/lattice-tenant";
    ok(kubectl(
        &["annotate", "namespace", &ns, &format!("{ANNOTATION}={role}")],
        None,
    ));
    let emu = emulator().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("operator.log");
    let mut op = Binary::spawn_logged(
        &ns,
        &emu.url,
        &[],
        &[
            ("AWS_ENDPOINT_URL_STS", &moto.url),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("RUST_LOG", "debug"),
        ],
        &log,
    );
    apply_app(&ns);
    wait_ready(&ns, "app");
    ok(kubectl(&["delete", "-n", &ns, "snsa", "app", "--timeout=90s"], None));
    assert!(op.terminate(Duration::from_secs(30)).success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().count() > 100, "a debug-level log was written");
    assert!(text.contains("AssumeRole"), "the run assumed the role");
    for secret in [
        SECRET,
        "Signature=",
        "X-Amz-Security-Token",
        "x-amz-security-token",
        "SessionToken",
    ] {
        let leaked: Vec<&str> = text.lines().filter(|l| l.contains(secret)).take(3).collect();
        assert!(leaked.is_empty(), "the log holds {secret:?}: {leaked:?}");
    }
    // The SDK prints credentials it resolved (debug level) with their secrets redacted.
    let mut redacted = 0;
    for field in ["secret_access_key: ", "session_token: "] {
        for (at, _) in text.match_indices(field) {
            let value = &text[at + field.len()..];
            let value = value.strip_prefix("Some(").unwrap_or(value);
            assert!(
                value.starts_with("\"** redacted **\"") || value.starts_with("None"),
                "an unredacted {field}: {}",
                &text[at..(at + 80).min(text.len())]
            );
            redacted += 1;
        }
    }
    eprintln!(
        "fault-table log scan: {} debug lines of a create/delete run with an assumed role, 0 credentials, tokens or \
         signatures ({redacted} credential fields printed redacted)",
        text.lines().count()
    );
}

/// Fault table row 9: one operator process, two namespaces with different roles, 20 objects each
/// created at once: every Create is signed by its own namespace's role, never the other's or the
/// operator's own (on a control plane of the test's own, so the operator can watch all namespaces).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_concurrent_load_each_namespace_is_served_by_its_own_role() {
    let cp = cluster::Private::start("tenants");
    let moto = Moto::start();
    let emu = emulator().await;
    let tenants = [
        ("team-a", "arn:aws:iam::111122223333:role/team-a"),
        ("team-b", "arn:aws:iam::444455556666:role/team-b"),
    ];
    let mut services = Vec::new();
    for (ns, role) in tenants {
        cp.ok(&["create", "namespace", ns], None);
        cp.ok(&["annotate", "namespace", ns, &format!("{ANNOTATION}={role}")], None);
        for i in 0..20 {
            let svc = emu.fake.create_service(&format!("{ns}-{i}"), None).unwrap().id;
            services.push((ns, format!("app-{i:02}"), svc));
        }
    }
    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let _op = Binary::spawn_with_env(
        "",
        &emu.url,
        &[],
        &[("KUBECONFIG", kubeconfig.as_str()), ("AWS_ENDPOINT_URL_STS", &moto.url)],
    );
    for (ns, _) in tenants {
        let all: Vec<String> = services
            .iter()
            .filter(|(n, _, _)| *n == ns)
            .map(|(_, name, svc)| {
                crate::e2e::manifest(
                    name,
                    &format!(
                        "  serviceIdentifier: {svc}\n  serviceNetworkIdentifier: {}",
                        crate::e2e::NETWORK
                    ),
                )
            })
            .collect();
        cp.ok(&["apply", "-n", ns, "-f", "-"], Some(&all.join("---\n")));
    }
    for (ns, _) in tenants {
        cp.ok(
            &[
                "wait",
                "--for=condition=Ready",
                "--timeout=120s",
                "-n",
                ns,
                "snsa",
                "--all",
            ],
            None,
        );
    }
    // Each object's UID (the prefix of its clientToken) → its namespace.
    let mut namespace_of = std::collections::BTreeMap::new();
    for (ns, _) in tenants {
        let uids = cp.ok(
            &["get", "snsa", "-n", ns, "-o", "jsonpath={.items[*].metadata.uid}"],
            None,
        );
        for uid in uids.split_whitespace() {
            namespace_of.insert(uid.to_string(), ns);
        }
    }
    let mut keys_of: std::collections::BTreeMap<&str, BTreeSet<String>> = Default::default();
    for c in emu.fake.calls() {
        let Some(token) = &c.client_token else { continue };
        let ns = namespace_of
            .iter()
            .find(|(uid, _)| token.starts_with(uid.as_str()))
            .map(|(_, ns)| *ns)
            .expect("every clientToken is an object's");
        keys_of
            .entry(ns)
            .or_default()
            .insert(c.access_key_id.clone().unwrap_or_default());
    }
    let (a, b) = (&keys_of["team-a"], &keys_of["team-b"]);
    assert!(
        !a.contains("test") && !b.contains("test"),
        "no Create signed with the operator's own key"
    );
    assert!(a.is_disjoint(b), "no key signed both namespaces' Creates: {a:?} {b:?}");
    eprintln!(
        "fault-table tenants under load: 2 namespaces × 20 objects at once, Creates signed by {} and {} keys of \
         their own roles, 0 shared, 0 with the operator's key",
        a.len(),
        b.len()
    );
}

/// Two installations in one namespace (e.g. two Helm releases, each watching its own namespace)
/// each lead through a Lease of their own (`--leader-election-id`): neither waits for the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_installations_in_one_namespace_each_lead_with_their_own_lease() {
    let client = cluster::client().await;
    let home = cluster::namespace(&client, "two-releases").await;
    let (watch_a, watch_b) = (
        cluster::namespace(&client, "release-a").await,
        cluster::namespace(&client, "release-b").await,
    );
    let emu = emulator().await;
    let spawn = |watch: &str, lease: &str| {
        Binary::spawn_with_env(
            watch,
            &emu.url,
            &[
                "--leader-elect",
                "true",
                "--lease-namespace",
                &home,
                "--leader-election-id",
                lease,
            ],
            &[("POD_NAME", lease)],
        )
    };
    let (a, b) = (spawn(&watch_a, "release-a-leader"), spawn(&watch_b, "release-b-leader"));
    for (op, lease) in [(&a, "release-a-leader"), (&b, "release-b-leader")] {
        eventually(&format!("{lease} leads"), Duration::from_secs(60), || async {
            let metrics = op.admin_get("/metrics").await?.1;
            metrics
                .lines()
                .any(|l| l == "vpc_lattice_operator_leader 1")
                .then_some(())
        })
        .await;
        let holder = ok(kubectl(
            &[
                "get",
                "lease",
                lease,
                "-n",
                &home,
                "-o",
                "jsonpath={.spec.holderIdentity}",
            ],
            None,
        ));
        assert_eq!(holder, lease, "each Lease held by its own installation");
    }
    // Both reconcile: each installation's object (of its own service) gets Ready.
    for (watch, service) in [(&watch_a, crate::e2e::SERVICE), (&watch_b, crate::e2e::SERVICE_2)] {
        let spec = format!(
            "  serviceIdentifier: {service}\n  serviceNetworkIdentifier: {}",
            crate::e2e::NETWORK
        );
        ok(kubectl(
            &["apply", "-n", watch, "-f", "-"],
            Some(&crate::e2e::manifest("app", &spec)),
        ));
        wait_ready(watch, "app");
    }
}
