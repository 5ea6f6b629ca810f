use serde_json::json;

use super::*;

fn object() -> serde_json::Value {
    json!({
        "apiVersion": "vpclattice.operator.dev/v1alpha1",
        "kind": "ServiceNetworkServiceAssociation",
        "metadata": {
            "name": "app",
            "namespace": "payments",
            "uid": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "resourceVersion": "4711",
            "generation": 2,
            "creationTimestamp": "2026-12-01T10:00:00Z",
            "finalizers": ["vpclattice.operator.dev/association-cleanup"],
            "labels": { "team": "payments" },
            "annotations": { "kubectl.kubernetes.io/last-applied-configuration": "{\"a\":\"whole manifest\"}" },
            "managedFields": [{ "manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {} }],
        },
        "spec": {
            "serviceIdentifier": "svc-0123456789abcdef0",
            "serviceNetworkIdentifier": "sn-0123456789abcdef0",
            "tags": { "team": "payments" },
            "managementPolicy": "ObserveOnly",
        },
        "status": {
            "id": "snsa-0123456789abcdef0",
            "arn": "arn:aws:vpc-lattice:us-west-2:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef0",
            "associationStatus": "ACTIVE",
            "createdBy": "111122223333",
            "dnsEntry": { "domainName": "app.example.com", "hostedZoneId": "Z0123" },
            "serviceName": "app",
            "serviceNetworkName": "shared",
            "clientToken": "7c9e6679-7425-40de-944b-e07fc1f90ae7-0",
            "recreateAttempts": 1,
            "tagsSyncedGeneration": 2,
            "observedGeneration": 2,
            "managementPolicy": "ObserveOnly",
            "conditions": [
                { "type": "Ready", "status": "True", "reason": "Active", "message": "the association is ACTIVE",
                  "observedGeneration": 2, "lastTransitionTime": "2026-12-01T10:00:20Z" },
                { "type": "Reconciling", "status": "False", "reason": "Active", "message": "the association is ACTIVE",
                  "observedGeneration": 2, "lastTransitionTime": "2026-12-01T10:00:20Z" },
                { "type": "Stalled", "status": "False", "reason": "Active", "message": "the association is ACTIVE",
                  "observedGeneration": 2, "lastTransitionTime": "2026-12-01T10:00:00Z" },
            ],
        },
    })
}

#[test]
fn only_the_metadata_the_operator_reads_is_kept() {
    let w: Watched = serde_json::from_value(object()).unwrap();
    let m = &w.metadata;
    assert_eq!(m.name.as_deref(), Some("app"));
    assert_eq!(m.namespace.as_deref(), Some("payments"));
    assert_eq!(m.uid.as_deref(), Some("7c9e6679-7425-40de-944b-e07fc1f90ae7"));
    assert_eq!(m.resource_version.as_deref(), Some("4711"));
    assert_eq!(m.generation, Some(2));
    assert!(m.creation_timestamp.is_some());
    assert_eq!(
        m.finalizers.as_deref(),
        Some(&["vpclattice.operator.dev/association-cleanup".to_string()][..])
    );
    assert_eq!((&m.labels, &m.annotations, &m.managed_fields), (&None, &None, &None));
    assert_eq!(w.spec.tags().get("team").map(String::as_str), Some("payments"));
    assert_eq!(
        w.spec.spec().service_network_identifier.as_deref(),
        Some("sn-0123456789abcdef0")
    );
    assert_eq!(w.spec.management_policy, ManagementPolicy::ObserveOnly);
    assert!(w.status.as_ref().unwrap().observed_only);
}

#[test]
fn the_status_is_rebuilt_but_for_the_conditions_messages_and_its_digest_is_the_whole_status() {
    let full: Snsa = serde_json::from_value(object()).unwrap();
    let status = full.status.clone().unwrap();
    let w = Watched::from(full);
    let recorded = w.status.as_ref().unwrap();
    assert_eq!(recorded.digest, digest(&status));
    let mut rebuilt = recorded.status();
    for c in &mut rebuilt.conditions {
        assert_eq!(c.reason, "Active");
        c.message = "the association is ACTIVE".into();
        c.observed_generation = Some(2);
    }
    assert_eq!(rebuilt, status);
    assert_eq!(recorded.arn().as_deref(), status.arn.as_deref());
    assert!(w.is_ready());
    assert_eq!(recorded.condition("Stalled"), Some(false));
}

#[test]
fn a_different_status_has_a_different_digest() {
    let full: Snsa = serde_json::from_value(object()).unwrap();
    let mut status = full.status.unwrap();
    let before = digest(&status);
    status.conditions[0].message = "something else".into();
    assert_ne!(digest(&status), before);
}

#[test]
fn written_and_read_again_it_is_the_same() {
    let w: Watched = serde_json::from_value(object()).unwrap();
    let again: Watched = serde_json::from_value(serde_json::to_value(&w).unwrap()).unwrap();
    assert_eq!(again.metadata, w.metadata);
    assert_eq!(again.spec, w.spec);
    let (a, b) = (again.status.unwrap(), w.status.unwrap());
    assert_eq!(a.status(), b.status());
}

#[test]
fn an_object_without_a_status_or_an_empty_one_keeps_no_report() {
    let mut obj = object();
    obj["status"] = json!({ "observedGeneration": 0 });
    let w: Watched = serde_json::from_value(obj.clone()).unwrap();
    let r = w.status.unwrap();
    assert_eq!((r.id(), r.arn(), r.reason()), (None, None, None));
    assert_eq!(r.observed_generation, Some(0));
    assert!(!r.reported());
    obj.as_object_mut().unwrap().remove("status");
    let w: Watched = serde_json::from_value(obj).unwrap();
    assert_eq!(w.status, None);
    assert!(!w.is_ready());
}

#[test]
fn the_region_is_the_specs_else_the_one_the_status_recorded() {
    let mut o = object();
    o["status"]["region"] = json!("us-west-2");
    let w: Watched = serde_json::from_value(o.clone()).unwrap();
    assert_eq!(w.region().as_deref(), Some("us-west-2"), "recorded: kept");
    o["spec"]["region"] = json!("eu-west-1");
    let w: Watched = serde_json::from_value(o.clone()).unwrap();
    assert_eq!(w.region().as_deref(), Some("eu-west-1"), "the spec's first");
    o["spec"].as_object_mut().unwrap().remove("region");
    o["status"].as_object_mut().unwrap().remove("region");
    let w: Watched = serde_json::from_value(o).unwrap();
    assert_eq!(w.region(), None, "the default applies");
}
