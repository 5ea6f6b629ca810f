//! No takeover between tenants, end to end: one operator (the real binary, every namespace, default
//! flags but for a 2 s resync) on a control plane of the test's own, the emulator over the AWS wire,
//! manifests applied with kubectl. No admission policy is installed here: what is refused is
//! refused by the operator's own runtime rules (the chart's admission policy is tested with
//! `helm install` in the chart tests).

use std::time::Duration;

use lattice_emulator::Target;
use serde_json::Value;
use vpc_lattice_operator::api::{ALLOW_ADOPTION_LABEL, CLUSTER_TAG, GATEWAY_MANAGED_TAG, OWNER_TAG};
use vpc_lattice_operator::lattice::Tags;

use crate::e2e::{NETWORK, emulator, manifest};
use crate::support::cluster::Private;
use crate::support::eventually;
use crate::support::operator::{Binary, CLUSTER};

pub(crate) const LIMIT: Duration = Duration::from_secs(90);

/// The object as JSON, if it exists.
pub(crate) fn get(cp: &Private, ns: &str, name: &str) -> Option<Value> {
    let out = cp.kubectl(&["get", "snsa", name, "-n", ns, "-o", "json"], None);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// The object's condition `type_` once it is True (and describes the object's generation).
pub(crate) async fn condition(cp: &Private, ns: &str, name: &str, type_: &str) -> Value {
    eventually(&format!("{ns}/{name} {type_}"), LIMIT, || async {
        let o = get(cp, ns, name)?;
        let generation = o["metadata"]["generation"].clone();
        o["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_ && c["status"] == "True" && c["observedGeneration"] == generation)
            .cloned()
    })
    .await
}

/// Applies an object of `ns` for the pair (`service`, the seeded network).
pub(crate) fn apply(cp: &Private, ns: &str, name: &str, service: &str, extra: &str) {
    let spec = format!("  serviceIdentifier: {service}\n  serviceNetworkIdentifier: {NETWORK}\n{extra}");
    cp.ok(&["apply", "-n", ns, "-f", "-"], Some(&manifest(name, &spec)));
}

pub(crate) fn service(emu: &crate::support::lattice::Emulator, name: &str) -> Target {
    emu.fake.create_service(name, None).unwrap()
}

pub(crate) fn tag_writes(emu: &crate::support::lattice::Emulator) -> usize {
    emu.fake.count("TagResource") + emu.fake.count("UntagResource")
}

/// The three measured takeovers, and `Always` outside an allowed namespace: each refused
/// (Stalled, naming who holds the association), with no write to AWS, and deleting the refused
/// objects deletes nothing. Two `Always` objects on one pair end with one owner and one Stalled
/// object, and no tag write over several resyncs and edits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tenant_takes_strips_or_deletes_another_tenants_association() {
    let cp = Private::start("takeover");
    let emu = emulator().await;
    let allowed = format!("{ALLOW_ADOPTION_LABEL}=true");
    for ns in ["team-b", "thief-b", "thief-a", "plain", "rival-a", "rival-b"] {
        cp.ok(&["create", "namespace", ns], None);
    }
    for ns in ["thief-b", "thief-a", "rival-a", "rival-b"] {
        cp.ok(&["label", "namespace", ns, &allowed], None);
    }
    // team-b's service, the Gateway API Controller's association, an untagged association made by
    // hand, and a pair two rivals want.
    let team_b = service(&emu, "team-b").id;
    let gateway_svc = service(&emu, "gateway").id;
    let gateway_tags = Tags::from([
        (GATEWAY_MANAGED_TAG.to_string(), "123456789012/prod/web".to_string()),
        ("team".to_string(), "web".to_string()),
    ]);
    let gateway = emu.fake.seed_association(NETWORK, &gateway_svc, gateway_tags.clone());
    let by_hand_svc = service(&emu, "by-hand").id;
    let by_hand = emu
        .fake
        .seed_association(NETWORK, &by_hand_svc, Tags::from([("made".into(), "console".into())]));
    let contested = service(&emu, "contested").id;

    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let _op = Binary::spawn_with_env("", &emu.url, &[], &[("KUBECONFIG", kubeconfig.as_str())]);

    apply(&cp, "team-b", "app", &team_b, "");
    condition(&cp, "team-b", "app", "Ready").await;
    let team_b_id = get(&cp, "team-b", "app").unwrap()["status"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let team_b_arn = emu.fake.get_quietly(&team_b_id).unwrap().arn;
    let team_b_tags = emu.fake.tags_of(&team_b_arn);

    apply(&cp, "thief-b", "take", &team_b, "  adoptionPolicy: Always");
    apply(&cp, "thief-a", "take", &gateway_svc, "  adoptionPolicy: Always");
    apply(&cp, "plain", "take", &by_hand_svc, "  adoptionPolicy: Always");
    let stalled = [
        ("thief-b", "belongs to team-b/app"),
        ("thief-a", "AWS Gateway API Controller"),
        ("plain", &*format!("lacks the label {allowed}")),
    ];
    for (ns, says) in stalled {
        let c = condition(&cp, ns, "take", "Stalled").await;
        assert_eq!(c["reason"], "AlreadyAssociated", "{ns}: {c}");
        let message = c["message"].as_str().unwrap();
        assert!(message.contains(says), "{ns}: the message says {says:?}: {message}");
        assert!(
            !message.contains("{ ") && message.len() < 1024,
            "{ns}: readable: {message}"
        );
    }

    apply(&cp, "rival-a", "x", &contested, "  adoptionPolicy: Always");
    condition(&cp, "rival-a", "x", "Ready").await;
    let creates = emu.fake.count("CreateServiceNetworkServiceAssociation");
    apply(&cp, "rival-b", "x", &contested, "  adoptionPolicy: Always");
    let c = condition(&cp, "rival-b", "x", "Stalled").await;
    assert!(c["message"].as_str().unwrap().contains("belongs to rival-a/x"), "{c}");

    // Settled: from here on, several drift scans (2 s apart, with their tag rounds) and three edits
    // of the losing rival (each a reconcile: the pair found in the listing, its tags read, refused) write
    // no tag.
    let writes = tag_writes(&emu);
    for round in 1..=3 {
        let tags = format!("  adoptionPolicy: Always\n  tags:\n    round: \"{round}\"");
        apply(&cp, "rival-b", "x", &contested, &tags);
        condition(&cp, "rival-b", "x", "Stalled").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    condition(&cp, "rival-a", "x", "Ready").await;
    condition(&cp, "team-b", "app", "Ready").await;
    assert_eq!(tag_writes(&emu), writes, "no tag written after settling: no flip-flop");
    assert_eq!(
        emu.fake.count("CreateServiceNetworkServiceAssociation"),
        creates,
        "an Always object finds the pair in its network's listing: no Create, refused or not"
    );

    // Deleting every refused object deletes nothing in AWS.
    for (ns, name) in [
        ("thief-b", "take"),
        ("thief-a", "take"),
        ("plain", "take"),
        ("rival-b", "x"),
    ] {
        cp.ok(&["delete", "snsa", name, "-n", ns, "--timeout=60s"], None);
    }
    assert_eq!(emu.fake.count("DeleteServiceNetworkServiceAssociation"), 0);
    assert_eq!(emu.fake.tags_of(&team_b_arn), team_b_tags, "team-b's tags untouched");
    assert_eq!(
        emu.fake.tags_of(&gateway.arn),
        gateway_tags,
        "the Gateway controller's tags untouched"
    );
    assert_eq!(
        emu.fake.tags_of(&by_hand.arn),
        Tags::from([("made".into(), "console".into())]),
        "the untagged association untouched"
    );
    let left = emu.fake.associations().len();
    assert_eq!(
        left, 4,
        "team-b's, the Gateway controller's, the hand-made and rival-a's remain"
    );
    eprintln!(
        "takeover: 3 takeovers and 1 unlabelled Always refused, rivals settled with {writes} tag writes and 0 after, \
         0 Deletes after deleting the 4 refused objects"
    );
}

/// A tracked association whose tags come to name another object that exists (e.g. edited by hand)
/// is left alone: Stalled naming that object, no tag write; and deleting the object then releases
/// it without deleting the association.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_association_retagged_to_another_live_object_is_neither_retagged_nor_deleted() {
    let cp = Private::start("retagged");
    let emu = emulator().await;
    for ns in ["team-c", "team-d"] {
        cp.ok(&["create", "namespace", ns], None);
    }
    let (svc_c, svc_d) = (service(&emu, "c").id, service(&emu, "d").id);
    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let _op = Binary::spawn_with_env("", &emu.url, &[], &[("KUBECONFIG", kubeconfig.as_str())]);
    apply(&cp, "team-c", "app", &svc_c, "");
    apply(&cp, "team-d", "app", &svc_d, "");
    condition(&cp, "team-c", "app", "Ready").await;
    condition(&cp, "team-d", "app", "Ready").await;
    let id = get(&cp, "team-c", "app").unwrap()["status"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let arn = emu.fake.get_quietly(&id).unwrap().arn;
    let retagged = Tags::from([
        (OWNER_TAG.to_string(), "team-d/app".to_string()),
        (CLUSTER_TAG.to_string(), CLUSTER.to_string()),
    ]);
    let writes = tag_writes(&emu);
    emu.fake.set_tags(&arn, retagged.clone());
    // The drift scan's tag round finds the tags changed and wakes the object.
    let c = condition(&cp, "team-c", "app", "Stalled").await;
    assert!(c["message"].as_str().unwrap().contains("belongs to team-d/app"), "{c}");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(tag_writes(&emu), writes, "no tag written");
    assert_eq!(emu.fake.tags_of(&arn), retagged);
    cp.ok(&["delete", "snsa", "app", "-n", "team-c", "--timeout=60s"], None);
    assert!(
        emu.fake.get_quietly(&id).is_some(),
        "not deleted: its tags name team-d/app"
    );
    assert_eq!(emu.fake.count("DeleteServiceNetworkServiceAssociation"), 0);
}
