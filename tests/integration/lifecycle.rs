//! Full lifecycles of the real reconciler and controller wiring, against the real API server and the
//! in-process fake Lattice (scripted faults, counted calls).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use lattice_emulator::{FakeLattice, Faults, Target};
use serde_json::json;
use vpc_lattice_operator::api::{CLUSTER_TAG, OWNER_TAG, ServiceNetworkServiceAssociation as Snsa};
use vpc_lattice_operator::drift::DriftOptions;
use vpc_lattice_operator::lattice::{AssociationState, Tags};

use crate::support::cluster::{client, namespace};
use crate::support::eventually;
use crate::support::operator::{CLUSTER, InProcess};

const LIMIT: Duration = Duration::from_secs(60);

struct Env {
    client: Client,
    ns: String,
    api: Api<Snsa>,
    fake: Arc<FakeLattice>,
    service: Target,
    network: Target,
    operator: InProcess,
}

async fn env(prefix: &str) -> Env {
    env_with(prefix, None).await
}

/// [`env`] with these drift-scan settings (`None`: the harness's, a scan every second).
async fn env_with(prefix: &str, drift: Option<DriftOptions>) -> Env {
    let client = client().await;
    let ns = namespace(&client, prefix).await;
    let fake = Arc::new(FakeLattice::default());
    let service = fake.create_service("payments", None).unwrap();
    let network = fake.create_service_network("shared", None).unwrap();
    let operator = match drift {
        Some(drift) => InProcess::start_with(client.clone(), &ns, fake.clone(), drift).await,
        None => InProcess::start(client.clone(), &ns, fake.clone()).await,
    };
    Env {
        api: Api::namespaced(client.clone(), &ns),
        client,
        ns,
        fake,
        service,
        network,
        operator,
    }
}

impl Env {
    async fn create(&self, name: &str, spec: serde_json::Value) -> Snsa {
        let mut full = json!({
            "serviceIdentifier": self.service.id,
            "serviceNetworkIdentifier": self.network.arn,
        });
        full.as_object_mut().unwrap().extend(spec.as_object().unwrap().clone());
        let obj: Snsa = serde_json::from_value(json!({
            "apiVersion": "vpclattice.operator.dev/v1alpha1",
            "kind": "ServiceNetworkServiceAssociation",
            "metadata": { "name": name },
            "spec": full,
        }))
        .unwrap();
        self.api
            .create(&PostParams::default(), &obj)
            .await
            .expect("create object")
    }

    async fn condition(&self, name: &str, type_: &str, status: &str, reason: Option<&str>) -> Snsa {
        let what = format!("{name}: {type_}={status} ({reason:?})");
        eventually(&what, LIMIT, || async {
            let o = self.api.get(name).await.ok()?;
            let c = o.condition(type_)?;
            (c.status == status && reason.is_none_or(|r| c.reason == r)).then_some(o)
        })
        .await
    }

    async fn ready(&self, name: &str) -> Snsa {
        self.condition(name, "Ready", "True", Some("Active")).await
    }

    async fn gone(&self, name: &str) {
        eventually(&format!("{name} deleted"), LIMIT, || async {
            matches!(self.api.get_opt(name).await, Ok(None)).then_some(())
        })
        .await
    }

    async fn event_reasons(&self) -> Vec<String> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), &self.ns);
        let list = events.list(&ListParams::default()).await.unwrap();
        list.items.into_iter().filter_map(|e| e.reason).collect()
    }

    fn tokens(&self) -> Vec<String> {
        self.fake
            .calls()
            .into_iter()
            .filter(|c| c.operation == "CreateServiceNetworkServiceAssociation")
            .filter_map(|c| c.client_token)
            .collect()
    }

    fn ownership(&self, name: &str) -> Tags {
        Tags::from([
            (OWNER_TAG.into(), format!("{}/{name}", self.ns)),
            (CLUSTER_TAG.into(), CLUSTER.into()),
        ])
    }
}

#[tokio::test]
async fn create_becomes_ready_with_every_status_field() {
    let e = env("create").await;
    e.create("app", json!({ "tags": { "team": "payments" } })).await;
    let o = e.ready("app").await;
    let s = o.status.clone().unwrap();
    let [a] = e.fake.associations().try_into().expect("exactly one association");
    assert_eq!(s.id.as_deref(), Some(a.id.as_str()));
    assert_eq!(s.arn.as_deref(), Some(a.arn.as_str()));
    assert_eq!(s.association_status.as_deref(), Some("ACTIVE"));
    assert_eq!(s.service_id.as_deref(), Some(e.service.id.as_str()));
    assert_eq!(s.service_arn.as_deref(), Some(e.service.arn.as_str()));
    assert_eq!(s.service_name.as_deref(), Some("payments"));
    assert_eq!(s.service_network_id.as_deref(), Some(e.network.id.as_str()));
    assert_eq!(s.service_network_arn.as_deref(), Some(e.network.arn.as_str()));
    assert_eq!(s.service_network_name.as_deref(), Some("shared"));
    assert_eq!(s.created_by.as_deref(), Some("111122223333"));
    assert!(s.dns_entry.as_ref().and_then(|d| d.domain_name.as_ref()).is_some());
    assert_eq!(s.client_token, Some(format!("{}-0", o.uid().unwrap())));
    assert_eq!(s.recreate_attempts, 0);
    assert_eq!(s.observed_generation, o.metadata.generation);
    let types: Vec<(&str, &str)> = s
        .conditions
        .iter()
        .map(|c| (c.type_.as_str(), c.status.as_str()))
        .collect();
    assert_eq!(
        types,
        [("Ready", "True"), ("Reconciling", "False"), ("Stalled", "False")]
    );
    let mut want = e.ownership("app");
    want.insert("team".into(), "payments".into());
    assert_eq!(e.fake.tags_of(&a.arn), want);
    assert_eq!(e.tokens().len(), 1, "one Create");
    assert!(o.finalizers().iter().any(|f| f == vpc_lattice_operator::api::FINALIZER));
    e.operator.stop().await;
}

#[tokio::test]
async fn quiet_once_ready_no_status_writes_or_mutations() {
    let e = env("quiet").await;
    e.create("app", json!({})).await;
    e.ready("app").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let patches = e.operator.metrics.encode();
    let mutations = |f: &FakeLattice| {
        f.calls()
            .iter()
            .filter(|c| !c.operation.starts_with("Get") && !c.operation.starts_with("List"))
            .count()
    };
    let before = mutations(&e.fake);
    let scans = e.fake.count("ListServiceNetworkServiceAssociations");
    // Let several drift scans (1 s) pass: each reads the object's tags (a tag round) and finds them
    // in sync.
    eventually("three more drift scans", LIMIT, || async {
        (e.fake.count("ListServiceNetworkServiceAssociations") >= scans + 3).then_some(())
    })
    .await;
    assert_eq!(mutations(&e.fake), before, "no mutating calls while in sync");
    let line = |text: &str| {
        text.lines()
            .find(|l| l.contains("status_patches_total{result=\"ok\"}"))
            .map(String::from)
    };
    assert!(line(&patches).is_some(), "the status-write counter exists");
    assert_eq!(
        line(&e.operator.metrics.encode()),
        line(&patches),
        "no status writes while nothing changes"
    );
    e.operator.stop().await;
}

#[tokio::test]
async fn create_failed_is_deleted_and_recreated() {
    let e = env("failed").await;
    e.fake.set_faults(Faults {
        fail_creates: 1,
        ..Default::default()
    });
    let o = e.create("app", json!({})).await;
    let ready = e.ready("app").await;
    let uid = o.uid().unwrap();
    assert_eq!(e.fake.associations().len(), 1, "exactly one association at the end");
    assert_eq!(e.tokens(), [format!("{uid}-0"), format!("{uid}-1")]);
    assert_eq!(ready.status.unwrap().recreate_attempts, 1);
    let reasons = e.event_reasons().await;
    for r in ["Creating", "CreateFailed", "Recreating", "Active"] {
        assert!(reasons.iter().any(|x| x == r), "event {r} in {reasons:?}");
    }
    e.operator.stop().await;
}

#[tokio::test]
async fn out_of_band_delete_is_recreated() {
    let e = env("oob").await;
    e.create("app", json!({})).await;
    let first = e.ready("app").await.status.unwrap().id.unwrap();
    assert!(e.fake.delete_out_of_band(&first));
    let again = eventually("a new association", LIMIT, || async {
        let o = e.api.get("app").await.ok()?;
        let s = o.status.clone()?;
        (s.id.as_deref() != Some(first.as_str()) && o.condition("Ready")?.status == "True").then_some(s)
    })
    .await;
    assert_eq!(again.recreate_attempts, 1);
    assert_eq!(e.fake.associations().len(), 1);
    assert!(e.event_reasons().await.iter().any(|r| r == "Recreating"));
    e.operator.stop().await;
}

async fn seeded(e: &Env, tags: Tags) -> String {
    e.fake.seed_association(&e.network.id, &e.service.id, tags).id
}

#[tokio::test]
async fn if_owned_adopts_an_association_tagged_for_this_object() {
    let e = env("adopt-owned").await;
    let id = seeded(&e, e.ownership("app")).await;
    e.create("app", json!({})).await;
    let o = e.ready("app").await;
    assert_eq!(o.status.unwrap().id, Some(id));
    assert_eq!(e.fake.associations().len(), 1);
    assert!(e.event_reasons().await.iter().any(|r| r == "Adopted"));
    e.operator.stop().await;
}

#[tokio::test]
async fn if_owned_refuses_a_foreign_association() {
    let e = env("adopt-foreign").await;
    let id = seeded(&e, Tags::from([(OWNER_TAG.into(), "other/thing".into())])).await;
    e.create("app", json!({})).await;
    let o = e.condition("app", "Stalled", "True", Some("AlreadyAssociated")).await;
    let c = o.condition("Ready").unwrap();
    assert_eq!(c.status, "False");
    assert!(
        c.message.contains(&id) && c.message.contains("adoptionPolicy"),
        "{}",
        c.message
    );
    assert_eq!(e.fake.associations().len(), 1, "nothing created");
    e.operator.stop().await;
}

/// Fault table row 7: two objects claiming the same pair. The first owns the association; the
/// second is Stalled `AlreadyAssociated` naming it; deleting the second never deletes the first's.
#[tokio::test]
async fn two_objects_of_one_pair_one_owns_it_and_deleting_the_other_keeps_it() {
    let e = env("same-pair").await;
    e.create("first", json!({})).await;
    let first = e.ready("first").await;
    let id = first.status.unwrap().id.unwrap();
    e.create("second", json!({})).await;
    let o = e
        .condition("second", "Stalled", "True", Some("AlreadyAssociated"))
        .await;
    let message = o.condition("Ready").unwrap().message.clone();
    assert!(message.contains(&id), "names the association: {message}");
    e.api.delete("second", &DeleteParams::default()).await.unwrap();
    e.gone("second").await;
    let left: Vec<String> = e.fake.associations().into_iter().map(|a| a.id).collect();
    assert_eq!(left, [id], "the first object's association is kept");
    assert_eq!(
        e.fake.count("DeleteServiceNetworkServiceAssociation"),
        0,
        "no Delete for the loser"
    );
    e.ready("first").await;
    e.operator.stop().await;
}

#[tokio::test]
async fn always_adopts_and_takes_ownership_of_tags() {
    let e = env("adopt-always").await;
    // Always is the platform team's to allow: the chart's admission policy (installed cluster-wide
    // by other tests meanwhile) refuses it in namespaces without the label.
    let label = format!("{}=true", vpc_lattice_operator::api::ALLOW_ADOPTION_LABEL);
    let out = crate::support::cluster::kubectl(&["label", "namespace", &e.ns, &label], None);
    assert!(out.status.success(), "label the namespace");
    let id = seeded(&e, Tags::from([("legacy".into(), "x".into())])).await;
    let arn = e.fake.associations()[0].arn.clone();
    let mut tags = e.fake.tags_of(&arn);
    tags.insert("aws:cloudformation:stack".into(), "s".into());
    e.fake.set_tags(&arn, tags);
    e.create("app", json!({ "adoptionPolicy": "Always", "tags": { "team": "a" } }))
        .await;
    let o = e.ready("app").await;
    assert_eq!(o.status.unwrap().id.as_deref(), Some(id.as_str()));
    let mut want = e.ownership("app");
    want.insert("team".into(), "a".into());
    want.insert("aws:cloudformation:stack".into(), "s".into());
    assert_eq!(
        e.fake.tags_of(&arn),
        want,
        "tags made authoritative; aws: keys untouched"
    );
    e.operator.stop().await;
}

#[tokio::test]
async fn never_refuses_even_an_owned_association() {
    let e = env("adopt-never").await;
    seeded(&e, e.ownership("app")).await;
    e.create("app", json!({ "adoptionPolicy": "Never" })).await;
    let o = e.condition("app", "Stalled", "True", Some("AlreadyAssociated")).await;
    assert_eq!(o.status.unwrap().id, None, "nothing adopted");
    e.operator.stop().await;
}

#[tokio::test]
async fn delete_policy_delete_removes_the_association_before_the_object() {
    let e = env("del").await;
    e.fake.set_faults(Faults {
        provisioning_delay_ms: 300,
        ..Default::default()
    });
    e.create("app", json!({})).await;
    e.ready("app").await;
    e.api.delete("app", &DeleteParams::default()).await.unwrap();
    e.gone("app").await;
    assert!(e.fake.associations().is_empty());
    assert!(e.event_reasons().await.iter().any(|r| r == "Deleted"));
    e.operator.stop().await;
}

#[tokio::test]
async fn delete_policy_retain_leaves_the_association() {
    let e = env("retain").await;
    e.create("app", json!({ "deletionPolicy": "Retain" })).await;
    e.ready("app").await;
    let calls = e.fake.calls().len();
    let ok = || {
        e.operator
            .metrics
            .encode()
            .lines()
            .find_map(|l| l.strip_prefix("vpc_lattice_operator_reconciles_total{result=\"ok\"} "))
            .map_or(0.0, |v| v.parse::<f64>().unwrap())
    };
    let before = ok();
    e.api.delete("app", &DeleteParams::default()).await.unwrap();
    e.gone("app").await;
    assert!(ok() > before, "the reconcile that released the finalizer counts as ok");
    let [a] = e.fake.associations().try_into().expect("association kept");
    assert_eq!(a.status, AssociationState::Active);
    assert_eq!(e.fake.count("DeleteServiceNetworkServiceAssociation"), 0);
    assert!(
        e.fake.calls()[calls..].iter().all(|c| c.operation.starts_with("List")),
        "no AWS call for Retain but scans"
    );
    e.operator.stop().await;
}

#[tokio::test]
async fn delete_failed_is_retried_until_gone() {
    let e = env("delfail").await;
    e.create("app", json!({})).await;
    e.ready("app").await;
    e.fake.set_faults(Faults {
        fail_deletes: 1,
        ..Default::default()
    });
    e.api.delete("app", &DeleteParams::default()).await.unwrap();
    e.gone("app").await;
    assert!(e.fake.associations().is_empty());
    assert_eq!(e.fake.count("DeleteServiceNetworkServiceAssociation"), 2);
    assert!(e.event_reasons().await.iter().any(|r| r == "DeleteFailed"));
    e.operator.stop().await;
}

#[tokio::test]
async fn tag_edits_are_synced_and_aws_tags_left_alone() {
    let e = env("tags").await;
    e.create("app", json!({ "tags": { "keep": "1", "change": "old", "drop": "x" } }))
        .await;
    let o = e.ready("app").await;
    let arn = o.status.unwrap().arn.unwrap();
    let mut with_aws = e.fake.tags_of(&arn);
    with_aws.insert("aws:created-by".into(), "someone".into());
    e.fake.set_tags(&arn, with_aws);
    let patch = json!({ "spec": { "tags": { "keep": "1", "change": "new", "add": "y", "drop": null } } });
    e.api
        .patch("app", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let mut want = e.ownership("app");
    for (k, v) in [
        ("keep", "1"),
        ("change", "new"),
        ("add", "y"),
        ("aws:created-by", "someone"),
    ] {
        want.insert(k.into(), v.into());
    }
    eventually("tags synced", LIMIT, || async {
        (e.fake.tags_of(&arn) == want).then_some(())
    })
    .await;
    let o = e.ready("app").await;
    assert_eq!(o.status.unwrap().observed_generation, Some(2));
    e.operator.stop().await;
}

#[tokio::test]
async fn tags_changed_outside_the_cluster_are_found_by_the_drift_scan() {
    let e = env("tagdrift").await;
    e.create("app", json!({ "tags": { "team": "payments" } })).await;
    let o = e.ready("app").await;
    let s = o.status.unwrap();
    assert_eq!(
        s.tags_synced_generation, o.metadata.generation,
        "the Create set the tags"
    );
    let arn = s.arn.unwrap();
    let mut changed = e.fake.tags_of(&arn);
    changed.insert("team".into(), "someone-else".into());
    changed.insert("extra".into(), "x".into());
    e.fake.set_tags(&arn, changed);
    let mut want = e.ownership("app");
    want.insert("team".into(), "payments".into());
    eventually("tags repaired", LIMIT, || async {
        (e.fake.tags_of(&arn) == want).then_some(())
    })
    .await;
    let o = e.ready("app").await;
    assert_eq!(o.status.unwrap().tags_synced_generation, o.metadata.generation);
    assert!(e.event_reasons().await.iter().any(|r| r == "TagsSynced"));
    assert!(
        e.fake.count("GetResources") >= 1,
        "found by a batched read of the Tagging API"
    );
    e.operator.stop().await;
}

#[tokio::test]
async fn throttling_and_server_errors_converge() {
    // The faults answer whichever calls come next: with the harness's scan every second, the scan's
    // List could take them instead of the object's calls (seen: no `Throttled` Event, 1 run in 10).
    let no_scan = DriftOptions {
        interval: Duration::from_secs(3600),
        tag_every: 6,
    };
    let e = env_with("throttle", Some(no_scan)).await;
    e.fake.set_faults(Faults {
        throttle: 2,
        retry_after_seconds: Some(1),
        server_errors: 2,
        ..Default::default()
    });
    e.create("app", json!({})).await;
    e.ready("app").await;
    let errors: Vec<String> = e.fake.calls().into_iter().filter_map(|c| c.error).collect();
    assert_eq!(
        errors,
        [
            "ThrottlingException",
            "ThrottlingException",
            "InternalServerException",
            "InternalServerException"
        ]
    );
    assert_eq!(e.fake.associations().len(), 1);
    assert!(e.event_reasons().await.iter().any(|r| r == "Throttled"));
    e.operator.stop().await;
}

#[tokio::test]
async fn invalid_spec_stalls_and_recovers_when_the_spec_changes() {
    let e = env("invalid").await;
    e.fake.set_faults(Faults {
        create_error: Some("ValidationException".into()),
        ..Default::default()
    });
    e.create("app", json!({ "tags": { "a": "1" } })).await;
    let o = e.condition("app", "Stalled", "True", Some("InvalidSpec")).await;
    let ready = o.condition("Ready").unwrap();
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "InvalidSpec"));
    assert!(ready.message.contains("ValidationException"), "{}", ready.message);
    assert!(e.event_reasons().await.iter().any(|r| r == "InvalidSpec"));
    // The user fixes the spec: the edit wakes the object at once, long before the 1 h safety requeue.
    let patch = json!({ "spec": { "tags": { "a": "2" } } });
    e.api
        .patch("app", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let o = e.ready("app").await;
    assert_eq!(o.condition("Stalled").unwrap().status, "False");
    assert_eq!(e.fake.associations().len(), 1);
    e.operator.stop().await;
}

#[tokio::test]
async fn access_denied_and_quota_stall_with_the_aws_message() {
    let e = env("denied").await;
    for (code, reason) in [
        ("AccessDeniedException", "AccessDenied"),
        ("ServiceQuotaExceededException", "QuotaExceeded"),
    ] {
        let name = reason.to_lowercase();
        e.fake.set_faults(Faults {
            create_error: Some(code.into()),
            ..Default::default()
        });
        e.create(&name, json!({})).await;
        let o = e.condition(&name, "Stalled", "True", Some(reason)).await;
        assert!(o.condition("Stalled").unwrap().message.contains(code));
        assert_eq!(o.condition("Reconciling").unwrap().status, "False");
        e.api.delete(&name, &DeleteParams::default()).await.unwrap();
        e.gone(&name).await;
    }
    assert!(e.fake.associations().is_empty());
    e.operator.stop().await;
}

#[tokio::test]
async fn a_missing_service_is_retried_until_it_exists() {
    let e = env("dependency").await;
    let missing = "svc-0aaaaaaaaaaaaaaaa";
    let obj = json!({ "serviceIdentifier": missing });
    e.create("app", obj).await;
    let o = e.condition("app", "Ready", "False", Some("DependencyNotFound")).await;
    assert_eq!(
        o.condition("Reconciling").unwrap().status,
        "True",
        "retried, not stalled"
    );
    assert_eq!(o.condition("Stalled").unwrap().status, "False");
    assert!(o.condition("Ready").unwrap().message.contains(missing));
    e.fake.create_service("late", Some(missing)).unwrap();
    let o = e.ready("app").await;
    assert_eq!(o.status.unwrap().service_id.as_deref(), Some(missing));
    let creates: Vec<Option<String>> = e
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.operation == "CreateServiceNetworkServiceAssociation")
        .map(|c| c.error)
        .collect();
    let (ok, failed): (Vec<_>, Vec<_>) = creates.iter().partition(|e| e.is_none());
    assert_eq!(
        ok.len(),
        1,
        "one successful Create once the service exists: {creates:?}"
    );
    assert!(
        failed.iter().all(|e| e.as_deref() == Some("ResourceNotFoundException")),
        "{creates:?}"
    );
    e.operator.stop().await;
}
