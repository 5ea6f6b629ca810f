use super::*;

const ACCOUNT: &str = "111122223333";

fn association(id: &str, service: &str, network: &str, status: AssociationState) -> Association {
    let arn = |kind: &str, id: &str| format!("arn:aws:vpc-lattice:us-east-1:{ACCOUNT}:{kind}/{id}");
    let mut a = Association::new(id, arn("servicenetworkserviceassociation", id), status);
    a.service_id = Some(format!("svc-{service:0>17}"));
    a.service_arn = Some(arn("service", &format!("svc-{service:0>17}")));
    a.service_name = Some(service.to_string());
    a.service_network_id = Some(format!("sn-{network:0>17}"));
    a.service_network_arn = Some(arn("servicenetwork", &format!("sn-{network:0>17}")));
    a.service_network_name = Some(network.to_string());
    a
}

fn found(a: Association, tags: &[(&str, &str)]) -> Found {
    Found {
        association: a,
        tags: Ok(tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
    }
}

fn settings() -> Settings {
    Settings {
        namespace: Some("payments".into()),
        region: "us-east-1".into(),
        cluster: "prod".into(),
        identifiers: Identifiers::Arn,
        deletion: DeletionPolicy::Retain,
        include_failed: false,
        include_gateway_managed: false,
        include_other_clusters: false,
    }
}

fn active(id: &str, service: &str, network: &str) -> Association {
    association(id, service, network, AssociationState::Active)
}

#[test]
fn an_active_association_becomes_an_adopting_retained_object_with_its_user_tags() {
    let a = active("snsa-1", "pay", "shared");
    let tags = [
        ("team", "payments"),
        ("aws:cloudformation:stack-name", "x"),
        ("cost", "42"),
    ];
    let plan = plan(vec![found(a.clone(), &tags)], &settings());
    assert!(plan.skipped.is_empty(), "{:?}", plan.skipped);
    let [m] = plan.manifests.as_slice() else {
        panic!("one manifest")
    };
    let o = &m.object;
    assert_eq!(o.metadata.name.as_deref(), Some("pay-in-shared"));
    assert_eq!(o.metadata.namespace.as_deref(), Some("payments"));
    assert_eq!(
        o.metadata.annotations.as_ref().unwrap()[IMPORTED_FROM_ANNOTATION],
        a.arn,
        "the association it came from"
    );
    assert_eq!(o.spec.service_identifier, a.service_arn);
    assert_eq!(o.spec.service_network_identifier, a.service_network_arn);
    assert_eq!(o.spec.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        o.spec.tags,
        Tags::from([("cost".into(), "42".into()), ("team".into(), "payments".into())]),
        "user tags only: no aws: key"
    );
    assert_eq!(o.spec.adoption_policy, AdoptionPolicy::Always);
    assert_eq!(o.spec.deletion_policy, DeletionPolicy::Retain);
    assert_eq!(o.spec.management_policy, ManagementPolicy::Managed);
    assert!(o.status.is_none());
}

#[test]
fn ids_when_asked_but_arns_whenever_two_accounts_are_involved() {
    let mut s = settings();
    s.identifiers = Identifiers::Id;
    let own = active("snsa-1", "pay", "shared");
    let mut foreign = active("snsa-2", "web", "central");
    let shared = "arn:aws:vpc-lattice:us-east-1:444455556666:servicenetwork/sn-0000000000central";
    foreign.service_network_arn = Some(shared.into());
    let plan = plan(vec![found(own.clone(), &[]), found(foreign.clone(), &[])], &s);
    let spec = |name: &str| {
        &plan
            .manifests
            .iter()
            .find(|m| m.object.metadata.name.as_deref() == Some(name))
            .unwrap()
            .object
            .spec
    };
    assert_eq!(spec("pay-in-shared").service_identifier, own.service_id);
    assert_eq!(spec("pay-in-shared").service_network_identifier, own.service_network_id);
    assert_eq!(
        spec("web-in-central").service_network_identifier.as_deref(),
        Some(shared)
    );
    assert_eq!(
        spec("web-in-central").service_identifier,
        foreign.service_arn,
        "the network's owner may be the one applying it: the service by ARN too"
    );
    // An association made by another account (the service's owner) in this account's network.
    let mut theirs = active("snsa-3", "api", "shared");
    theirs.arn = "arn:aws:vpc-lattice:us-east-1:444455556666:servicenetworkserviceassociation/snsa-3".into();
    theirs.service_arn = Some("arn:aws:vpc-lattice:us-east-1:444455556666:service/svc-00000000000000api".into());
    let p = super::plan(vec![found(theirs.clone(), &[])], &s);
    let spec = &p.manifests[0].object.spec;
    assert_eq!(spec.service_identifier, theirs.service_arn);
    assert_eq!(spec.service_network_identifier, theirs.service_network_arn);
    // Missing an ARN: the ID serves either way.
    let mut bare = active("snsa-4", "web", "shared");
    bare.service_arn = None;
    let p = super::plan(vec![found(bare.clone(), &[])], &settings());
    assert_eq!(p.manifests[0].object.spec.service_identifier, bare.service_id);
}

#[test]
fn tags_that_could_not_be_read_skip_the_association_saying_why() {
    let f = Found {
        association: active("snsa-1", "pay", "shared"),
        tags: Err("its tags cannot be read by this identity".into()),
    };
    let p = plan(vec![f], &settings());
    assert!(p.manifests.is_empty());
    assert_eq!(p.skipped[0].reason, "its tags cannot be read by this identity");
}

#[test]
fn skipped_with_their_reasons_in_id_order() {
    let failed = association("snsa-5", "a", "n", AssociationState::CreateFailed);
    let creating = association("snsa-4", "b", "n", AssociationState::CreateInProgress);
    let gateway = found(active("snsa-3", "c", "n"), &[(GATEWAY_MANAGED_TAG, "123/my-gateway")]);
    let ours = found(
        active("snsa-2", "d", "n"),
        &[(OWNER_TAG, "payments/d"), (CLUSTER_TAG, "prod")],
    );
    let theirs = found(
        active("snsa-1", "e", "n"),
        &[(OWNER_TAG, "web/e"), (CLUSTER_TAG, "staging")],
    );
    let untagged_cluster = found(active("snsa-0", "f", "n"), &[(OWNER_TAG, "web/f")]);
    let all = vec![
        found(failed, &[]),
        found(creating, &[]),
        gateway,
        ours,
        theirs,
        untagged_cluster,
    ];
    let p = plan(all.clone(), &settings());
    assert!(p.manifests.is_empty());
    let reasons: Vec<(&str, &str)> = p
        .skipped
        .iter()
        .map(|s| (s.association.id.as_str(), s.reason.as_str()))
        .collect();
    let expect = [
        ("snsa-0", "owned by web/f of no cluster tag"),
        ("snsa-1", "owned by web/e of cluster staging: --include-other-clusters"),
        ("snsa-2", "already owned by payments/d of this cluster"),
        (
            "snsa-3",
            "managed by the AWS Gateway API Controller (application-networking.k8s.aws/ManagedBy=123/my-gateway): --include-gateway-managed",
        ),
        ("snsa-4", "CREATE_IN_PROGRESS: AWS is still working on it"),
        ("snsa-5", "CREATE_FAILED, not ACTIVE: --include-failed"),
    ];
    assert_eq!(reasons.len(), expect.len(), "{reasons:#?}");
    for ((id, reason), (want_id, want)) in reasons.iter().zip(expect) {
        assert_eq!(*id, want_id);
        assert!(reason.starts_with(want), "{id}: {reason}");
    }

    // What the switches let in: failed (Managed), the Gateway's (ObserveOnly, no tags), another
    // cluster's; never this cluster's own, nor one still in progress.
    let mut s = settings();
    s.include_failed = true;
    s.include_gateway_managed = true;
    s.include_other_clusters = true;
    let p = plan(all, &s);
    let written: Vec<(&str, ManagementPolicy)> = p
        .manifests
        .iter()
        .map(|m| (m.association.id.as_str(), m.object.spec.management_policy))
        .collect();
    assert_eq!(
        written,
        [
            ("snsa-5", ManagementPolicy::Managed),
            ("snsa-3", ManagementPolicy::ObserveOnly),
            ("snsa-1", ManagementPolicy::Managed),
            ("snsa-0", ManagementPolicy::Managed),
        ],
        "in name order (a-in-n, c-, e-, f-)"
    );
    assert!(
        p.manifests[1].object.spec.tags.is_empty(),
        "the Gateway's tags are not carried"
    );
    assert_eq!(
        p.manifests[1].object.spec.adoption_policy,
        AdoptionPolicy::IfOwned,
        "an observer adopts nothing: the default, accepted in any namespace"
    );
    let left: Vec<&str> = p.skipped.iter().map(|s| s.association.id.as_str()).collect();
    assert_eq!(left, ["snsa-2", "snsa-4"]);
}

#[test]
fn tags_spec_tags_cannot_hold_skip_the_association() {
    let reserved = found(
        active("snsa-1", "a", "n"),
        &[("application-networking.k8s.aws/Foo", "x")],
    );
    let many: Vec<(String, String)> = (0..49).map(|i| (format!("k{i}"), "v".to_string())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let crowded = found(active("snsa-2", "b", "n"), &many);
    let fits = found(active("snsa-3", "c", "n"), &many[..48]);
    let p = plan(vec![reserved, crowded, fits], &settings());
    assert_eq!(p.manifests.len(), 1);
    assert_eq!(p.manifests[0].object.spec.tags.len(), 48);
    assert!(
        p.skipped[0].reason.contains("application-networking.k8s.aws/Foo"),
        "{:?}",
        p.skipped[0]
    );
    assert!(p.skipped[1].reason.starts_with("has 49 tags"), "{:?}", p.skipped[1]);
}

#[test]
fn associations_that_would_share_a_name_are_all_skipped_naming_each_other() {
    // One network of the account and one shared with it, both named "shared".
    let own = active("snsa-1", "pay", "shared");
    let mut other = active("snsa-2", "pay", "shared");
    other.service_network_arn =
        Some("arn:aws:vpc-lattice:us-east-1:444455556666:servicenetwork/sn-0000000000000other".into());
    let third = active("snsa-3", "web", "shared");
    let p = plan(vec![found(other, &[]), found(own, &[]), found(third, &[])], &settings());
    assert_eq!(p.manifests.len(), 1);
    assert_eq!(p.manifests[0].object.metadata.name.as_deref(), Some("web-in-shared"));
    assert_eq!(p.skipped.len(), 2);
    assert!(
        p.skipped[0]
            .reason
            .starts_with("would be named pay-in-shared, as would snsa-2"),
        "{:?}",
        p.skipped[0]
    );
    assert!(p.skipped[1].reason.contains("as would snsa-1"), "{:?}", p.skipped[1]);
}
