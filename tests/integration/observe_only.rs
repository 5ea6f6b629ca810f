//! `managementPolicy: ObserveOnly`, end to end (the real binary, a control plane of the test's own,
//! the emulator over the AWS wire): an observed object reports the association of its pair and never
//! writes to AWS (the emulator's call log says so), holds no finalizer, waits for an association that
//! does not exist yet without stalling; and the switch both ways: to `Managed` only as the adoption
//! policy allows, back to `ObserveOnly` releasing the association without deleting it.

use serde_json::Value;
use vpc_lattice_operator::api::{ALLOW_ADOPTION_LABEL, CLUSTER_TAG, FINALIZER, OWNER_TAG};
use vpc_lattice_operator::lattice::Tags;

use crate::e2e::{NETWORK, emulator};
use crate::support::cluster::Private;
use crate::support::eventually;
use crate::support::lattice::Emulator;
use crate::support::operator::{Binary, CLUSTER};
use crate::takeover::{apply, condition, get, service};

const OBSERVE: &str = "  managementPolicy: ObserveOnly";

/// Every call that writes to AWS, as the emulator logged them.
fn writes(emu: &Emulator) -> usize {
    [
        "CreateServiceNetworkServiceAssociation",
        "DeleteServiceNetworkServiceAssociation",
        "TagResource",
        "UntagResource",
    ]
    .iter()
    .map(|op| emu.fake.count(op))
    .sum()
}

fn finalizers(o: &Value) -> Vec<String> {
    serde_json::from_value(o["metadata"]["finalizers"].clone()).unwrap_or_default()
}

fn by_hand() -> Tags {
    Tags::from([("made".to_string(), "console".to_string())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observed_association_is_reported_and_nothing_is_written_to_aws() {
    let cp = Private::start("observe");
    let emu = emulator().await;
    cp.ok(&["create", "namespace", "consumer"], None);
    let (seen_svc, later_svc) = (service(&emu, "seen").id, service(&emu, "later").id);
    let seen = emu.fake.seed_association(NETWORK, &seen_svc, by_hand());
    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let _op = Binary::spawn_with_env("", &emu.url, &[], &[("KUBECONFIG", kubeconfig.as_str())]);

    apply(&cp, "consumer", "seen", &seen_svc, OBSERVE);
    apply(&cp, "consumer", "later", &later_svc, OBSERVE);
    let ready = condition(&cp, "consumer", "seen", "Ready").await;
    assert_eq!(ready["reason"], "Active", "{ready}");
    let o = get(&cp, "consumer", "seen").unwrap();
    assert_eq!(o["status"]["id"], seen.id.as_str());
    assert_eq!(o["status"]["managementPolicy"], "ObserveOnly");
    assert!(o["status"]["dnsEntry"]["domainName"].is_string(), "{}", o["status"]);
    assert!(finalizers(&o).is_empty(), "no finalizer: {o}");

    // Not there yet: waiting, not stalled, and found by a drift scan once it is made.
    let waiting = condition(&cp, "consumer", "later", "Reconciling").await;
    assert_eq!(waiting["reason"], "AssociationNotFound", "{waiting}");
    let o = get(&cp, "consumer", "later").unwrap();
    assert!(finalizers(&o).is_empty(), "no finalizer: {o}");
    let stalled = o["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Stalled")
        .cloned();
    assert_eq!(stalled.unwrap()["status"], "False");
    let later = emu.fake.seed_association(NETWORK, &later_svc, by_hand());
    condition(&cp, "consumer", "later", "Ready").await;
    assert_eq!(
        get(&cp, "consumer", "later").unwrap()["status"]["id"],
        later.id.as_str()
    );

    // Deleting the objects touches nothing in AWS.
    cp.ok(&["delete", "snsa", "--all", "-n", "consumer", "--timeout=30s"], None);
    assert_eq!(
        writes(&emu),
        0,
        "no Create, Delete, Tag or Untag: {:?}",
        emu.fake.calls().len()
    );
    assert_eq!(emu.fake.associations().len(), 2);
    assert_eq!(emu.fake.tags_of(&seen.arn), by_hand());
    eprintln!("observe-only: 2 objects observed (one found by a later drift scan), 0 writes to AWS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_to_managed_follows_the_adoption_policy_and_back_releases_without_deleting() {
    let cp = Private::start("observe-switch");
    let emu = emulator().await;
    cp.ok(&["create", "namespace", "plain"], None);
    cp.ok(&["create", "namespace", "owner"], None);
    cp.ok(
        &["label", "namespace", "owner", &format!("{ALLOW_ADOPTION_LABEL}=true")],
        None,
    );
    let svc = service(&emu, "shared-svc").id;
    let association = emu.fake.seed_association(NETWORK, &svc, by_hand());
    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let _op = Binary::spawn_with_env("", &emu.url, &[], &[("KUBECONFIG", kubeconfig.as_str())]);

    // Observed, then Managed under the default IfOwned: the observed association is not taken.
    apply(&cp, "plain", "x", &svc, OBSERVE);
    condition(&cp, "plain", "x", "Ready").await;
    apply(&cp, "plain", "x", &svc, "");
    let c = condition(&cp, "plain", "x", "Stalled").await;
    assert_eq!(c["reason"], "AlreadyAssociated", "{c}");
    let o = get(&cp, "plain", "x").unwrap();
    assert!(o["status"]["managementPolicy"].is_null(), "{}", o["status"]);
    assert_eq!(emu.fake.count("TagResource") + emu.fake.count("UntagResource"), 0);
    cp.ok(&["delete", "snsa", "x", "-n", "plain", "--timeout=60s"], None);
    assert_eq!(emu.fake.count("DeleteServiceNetworkServiceAssociation"), 0);
    assert_eq!(emu.fake.tags_of(&association.arn), by_hand());

    // Where adoption is allowed, Managed with Always takes it over (its tags rewritten)...
    apply(&cp, "owner", "x", &svc, OBSERVE);
    condition(&cp, "owner", "x", "Ready").await;
    apply(&cp, "owner", "x", &svc, "  adoptionPolicy: Always");
    let owned = eventually(
        "the association tagged as owner/x's",
        crate::takeover::LIMIT,
        || async {
            let tags = emu.fake.tags_of(&association.arn);
            (tags.get(OWNER_TAG).map(String::as_str) == Some("owner/x")).then_some(tags)
        },
    )
    .await;
    assert_eq!(owned.get(CLUSTER_TAG).map(String::as_str), Some(CLUSTER));
    condition(&cp, "owner", "x", "Ready").await;
    assert!(finalizers(&get(&cp, "owner", "x").unwrap()).contains(&FINALIZER.to_string()));

    // ...and back to ObserveOnly releases it: no finalizer, tags as they were, deleting deletes nothing.
    let tag_writes = emu.fake.count("TagResource") + emu.fake.count("UntagResource");
    apply(&cp, "owner", "x", &svc, OBSERVE);
    eventually("the finalizer released", crate::takeover::LIMIT, || async {
        let o = get(&cp, "owner", "x")?;
        (finalizers(&o).is_empty() && o["status"]["managementPolicy"] == "ObserveOnly").then_some(())
    })
    .await;
    condition(&cp, "owner", "x", "Ready").await;
    cp.ok(&["delete", "snsa", "x", "-n", "owner", "--timeout=30s"], None);
    assert_eq!(emu.fake.count("DeleteServiceNetworkServiceAssociation"), 0);
    assert_eq!(
        emu.fake.count("TagResource") + emu.fake.count("UntagResource"),
        tag_writes
    );
    assert_eq!(emu.fake.tags_of(&association.arn), owned, "the ownership tags stay");
    assert_eq!(emu.fake.associations().len(), 1);
}
