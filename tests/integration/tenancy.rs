//! Per-namespace AWS identity, end to end: the real binary assumes the role a Namespace's
//! annotation names (STS AssumeRole served by moto) and signs its Lattice calls with those
//! credentials, which the emulator's caller log shows; a malformed annotation stalls with a message.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::e2e::{apply_app, emulator, get, ok, wait_ready};
use crate::support::cluster::{self, kubectl};
use crate::support::eventually;
use crate::support::moto::Moto;
use crate::support::operator::Binary;

const ANNOTATION: &str = "vpclattice.operator.dev/aws-role-arn";

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
    let stalled = eventually("Stalled", Duration::from_secs(90), || async {
        let o = get(&ns, "app")?;
        let conditions = o["status"]["conditions"].as_array()?.clone();
        conditions
            .into_iter()
            .find(|c| c["type"] == "Stalled" && c["status"] == "True")
    })
    .await;
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
    let stalled = eventually("Stalled", Duration::from_secs(90), || async {
        let o = get(&ns, "app")?;
        let conditions = o["status"]["conditions"].as_array()?.clone();
        conditions
            .into_iter()
            .find(|c| c["type"] == "Stalled" && c["status"] == "True")
    })
    .await;
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
