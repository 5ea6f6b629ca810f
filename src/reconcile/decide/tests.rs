//! One test (or a named group) per row of DESIGN.md's behaviour table and per error class, as the
//! pure decision core models them. No I/O, no mocks.

use super::*;

const UID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const SERVICE: &str = "svc-0123456789abcdef0";
const NETWORK: &str = "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/sn-0123456789abcdef0";
const ASSOCIATION_ID: &str = "snsa-0123456789abcdef0";
const ASSOCIATION_ARN: &str =
    "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef0";

/// The ownership tags of `id`.
fn owned_by(id: &Identity) -> Tags {
    crate::reconcile::decide::ownership_tags(&id.owner, &id.cluster)
}

fn identity() -> Identity {
    Identity {
        uid: UID.to_string(),
        owner: "payments/payments-in-shared".to_string(),
        cluster: "prod-eu".to_string(),
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The desired state as the reconciler builds it: user tags plus the ownership tags.
fn desired_with(user_tags: &[(&str, &str)], adoption: AdoptionPolicy, deletion: DeletionPolicy) -> Desired {
    let mut all = tags(user_tags);
    all.extend(owned_by(&identity()));
    Desired {
        service_identifier: SERVICE.to_string(),
        service_network_identifier: NETWORK.to_string(),
        tags: all,
        adoption,
        deletion,
    }
}

fn desired() -> Desired {
    desired_with(&[("team", "payments")], AdoptionPolicy::IfOwned, DeletionPolicy::Delete)
}

fn association(status: AssociationState) -> Association {
    Association::new(ASSOCIATION_ID, ASSOCIATION_ARN, status)
}

/// The association in this state, its tags read (`Some`) or not (`None`).
fn found(status: AssociationState, tags: Option<Tags>) -> Observed {
    Observed::Found {
        association: association(status),
        tags: tags.map_or(TagCheck::Unread, |t| TagCheck::Read(Claim::unheld(t))),
    }
}

/// The association in this state, its tags verified for the object's generation (not read).
fn verified(status: AssociationState) -> Observed {
    Observed::Found {
        association: association(status),
        tags: TagCheck::Verified,
    }
}

/// Decides for an ACTIVE association whose AWS tags are `current`.
fn decide_active(desired: &Desired, current: Tags) -> Plan {
    decide(desired, &identity(), 0, &found(AssociationState::Active, Some(current)))
}

// ---------------------------------------------------------------------------------------------
// Identity: client token and ownership tags.
// ---------------------------------------------------------------------------------------------

#[test]
fn client_token_is_uid_dash_attempt() {
    let id = identity();
    assert_eq!(id.client_token(0), format!("{UID}-0"));
    assert_eq!(id.client_token(7), format!("{UID}-7"));
}

#[test]
fn client_token_differs_per_recreate_attempt() {
    let id = identity();
    assert_ne!(id.client_token(0), id.client_token(1));
    assert_ne!(id.client_token(1), id.client_token(2));
}

#[test]
fn client_token_is_truncated_to_64_chars() {
    let id = Identity {
        uid: "u".repeat(100),
        ..identity()
    };
    let token = id.client_token(3);
    assert_eq!(token.chars().count(), 64);
    assert_eq!(
        token,
        format!("{}-3", "u".repeat(62)),
        "the attempt suffix survives truncation"
    );
    assert_ne!(id.client_token(3), id.client_token(4));

    // Exactly at the limit: nothing is cut.
    let id = Identity {
        uid: "u".repeat(62),
        ..identity()
    };
    assert_eq!(id.client_token(5), format!("{}-5", "u".repeat(62)));
    assert_eq!(id.client_token(5).len(), 64);
    // One past the limit: the uid gives way, the attempt suffix stays.
    assert_eq!(id.client_token(10), format!("{}-10", "u".repeat(61)));
}

#[test]
fn ownership_tags_name_owner_and_cluster() {
    assert_eq!(
        owned_by(&identity()),
        tags(&[
            ("vpclattice.operator.dev/owner", "payments/payments-in-shared"),
            ("vpclattice.operator.dev/cluster", "prod-eu"),
        ])
    );
    assert_eq!(OWNER_TAG, "vpclattice.operator.dev/owner");
    assert_eq!(CLUSTER_TAG, "vpclattice.operator.dev/cluster");
}

#[test]
fn owns_requires_both_ownership_tags_to_match() {
    let id = identity();
    let mut t = owned_by(&id);
    assert!(id.owns(&t));
    t.insert("team".into(), "payments".into());
    assert!(id.owns(&t), "other tags do not matter");

    let mut other_owner = owned_by(&id);
    other_owner.insert(OWNER_TAG.into(), "payments/someone-else".into());
    assert!(!id.owns(&other_owner));

    let mut other_cluster = owned_by(&id);
    other_cluster.insert(CLUSTER_TAG.into(), "prod-us".into());
    assert!(!id.owns(&other_cluster));

    assert!(
        !id.owns(&tags(&[(OWNER_TAG, "payments/payments-in-shared")])),
        "cluster tag missing"
    );
    assert!(!id.owns(&tags(&[(CLUSTER_TAG, "prod-eu")])), "owner tag missing");
    assert!(!id.owns(&Tags::new()));
}

// ---------------------------------------------------------------------------------------------
// Row: no status.id → Create with the current clientToken and the desired tags.
// ---------------------------------------------------------------------------------------------

#[test]
fn untracked_creates_with_token_and_desired_tags_including_ownership() {
    let want = desired();
    let plan = decide(&want, &identity(), 0, &Observed::Untracked);
    let Plan::Create(req) = plan else {
        panic!("expected Create, got {plan:?}");
    };
    assert_eq!(req.client_token, format!("{UID}-0"));
    assert_eq!(req.service_identifier, SERVICE);
    assert_eq!(req.service_network_identifier, NETWORK);
    assert_eq!(
        req.tags,
        tags(&[
            ("team", "payments"),
            (OWNER_TAG, "payments/payments-in-shared"),
            (CLUSTER_TAG, "prod-eu"),
        ])
    );
}

#[test]
fn untracked_after_recreates_uses_token_of_current_attempt() {
    let plan = decide(&desired(), &identity(), 3, &Observed::Untracked);
    let Plan::Create(req) = plan else {
        panic!("expected Create, got {plan:?}");
    };
    assert_eq!(req.client_token, format!("{UID}-3"));
}

// ---------------------------------------------------------------------------------------------
// Row: status.id → ResourceNotFound → forget it and create again.
// ---------------------------------------------------------------------------------------------

#[test]
fn gone_forgets_the_association() {
    assert_eq!(decide(&desired(), &identity(), 0, &Observed::Gone), Plan::Forget);
    assert_eq!(decide(&desired(), &identity(), 4, &Observed::Gone), Plan::Forget);
}

// ---------------------------------------------------------------------------------------------
// Row: CREATE_IN_PROGRESS / DELETE_IN_PROGRESS → wait.
// ---------------------------------------------------------------------------------------------

#[test]
fn create_in_progress_waits() {
    let plan = decide(
        &desired(),
        &identity(),
        0,
        &found(AssociationState::CreateInProgress, None),
    );
    assert_eq!(plan, Plan::Wait(association(AssociationState::CreateInProgress)));
}

#[test]
fn delete_in_progress_waits() {
    let plan = decide(
        &desired(),
        &identity(),
        0,
        &found(AssociationState::DeleteInProgress, None),
    );
    assert_eq!(plan, Plan::Wait(association(AssociationState::DeleteInProgress)));
}

#[test]
fn unknown_status_waits() {
    let state = AssociationState::Other("SOMETHING_NEW".into());
    let plan = decide(&desired(), &identity(), 0, &found(state.clone(), None));
    assert_eq!(plan, Plan::Wait(association(state)));
}

#[test]
fn active_without_tags_read_waits() {
    let plan = decide(&desired(), &identity(), 0, &found(AssociationState::Active, None));
    assert_eq!(plan, Plan::Wait(association(AssociationState::Active)));
}

// ---------------------------------------------------------------------------------------------
// Row: ACTIVE → sync tags if they differ (keys beginning aws: untouched).
// ---------------------------------------------------------------------------------------------

#[test]
fn active_with_tags_verified_for_the_generation_is_in_sync_without_reading_them() {
    let plan = decide(&desired(), &identity(), 0, &verified(AssociationState::Active));
    assert_eq!(plan, Plan::InSync(association(AssociationState::Active)));
}

#[test]
fn verified_tags_change_nothing_for_an_association_not_active() {
    for state in [AssociationState::CreateInProgress, AssociationState::DeleteInProgress] {
        let plan = decide(&desired(), &identity(), 0, &verified(state.clone()));
        assert_eq!(plan, Plan::Wait(association(state)));
    }
    for state in [AssociationState::CreateFailed, AssociationState::DeleteFailed] {
        let plan = decide(&desired(), &identity(), 0, &verified(state.clone()));
        assert_eq!(plan, Plan::Recover(association(state)));
    }
}

#[test]
fn tags_match_exactly_when_the_plan_is_in_sync() {
    let want = desired();
    let with = |extra: &[(&str, &str)]| {
        let mut t = want.tags.clone();
        t.extend(tags(extra));
        t
    };
    let mut missing = want.tags.clone();
    missing.remove("team");
    let cases = [
        (want.tags.clone(), true),
        (with(&[("aws:cloudformation:stack-name", "s")]), true),
        (with(&[("extra", "x")]), false),
        (with(&[("team", "other")]), false),
        (missing, false),
        (Tags::new(), false),
    ];
    for (current, matching) in cases {
        assert_eq!(tags_match(&want.tags, &current), matching, "{current:?}");
        let in_sync = decide_active(&want, current.clone()) == Plan::InSync(association(AssociationState::Active));
        assert_eq!(in_sync, matching, "tags_match agrees with the plan for {current:?}");
    }
}

#[test]
fn active_with_matching_tags_is_in_sync() {
    let want = desired();
    let plan = decide_active(&want, want.tags.clone());
    assert_eq!(plan, Plan::InSync(association(AssociationState::Active)));
}

#[test]
fn active_ignores_aws_prefixed_tags_present_in_aws() {
    let want = desired();
    let mut current = want.tags.clone();
    current.insert("aws:cloudformation:stack-name".into(), "net".into());
    current.insert("aws:createdBy".into(), "someone".into());
    assert_eq!(
        decide_active(&want, current),
        Plan::InSync(association(AssociationState::Active))
    );
}

#[test]
fn active_with_missing_tag_tags_only_the_missing_one() {
    let want = desired_with(
        &[("team", "payments"), ("env", "prod")],
        AdoptionPolicy::IfOwned,
        DeletionPolicy::Delete,
    );
    let mut current = want.tags.clone();
    current.remove("env");
    assert_eq!(
        decide_active(&want, current),
        Plan::Tag {
            association: association(AssociationState::Active),
            tags: tags(&[("env", "prod")]),
        }
    );
}

#[test]
fn active_with_changed_tag_tags_only_the_changed_one() {
    let want = desired_with(
        &[("team", "payments"), ("env", "prod")],
        AdoptionPolicy::IfOwned,
        DeletionPolicy::Delete,
    );
    let mut current = want.tags.clone();
    current.insert("team".into(), "billing".into());
    assert_eq!(
        decide_active(&want, current),
        Plan::Tag {
            association: association(AssociationState::Active),
            tags: tags(&[("team", "payments")]),
        }
    );
}

#[test]
fn active_with_missing_ownership_tags_restores_them() {
    let want = desired();
    let current = tags(&[("team", "payments")]);
    assert_eq!(
        decide_active(&want, current),
        Plan::Tag {
            association: association(AssociationState::Active),
            tags: owned_by(&identity()),
        }
    );
}

#[test]
fn active_with_extra_tags_untags_only_the_extra_ones() {
    let want = desired();
    let mut current = want.tags.clone();
    current.insert("stale".into(), "x".into());
    current.insert("old-team".into(), "billing".into());
    current.insert("aws:cloudformation:logical-id".into(), "Assoc".into());
    let plan = decide_active(&want, current);
    let Plan::Untag {
        association: a,
        mut keys,
    } = plan
    else {
        panic!("expected Untag, got {plan:?}");
    };
    keys.sort();
    assert_eq!(a, association(AssociationState::Active));
    assert_eq!(keys, vec!["old-team".to_string(), "stale".to_string()]);
}

#[test]
fn active_with_missing_and_extra_tags_untags_first_then_tags() {
    let want = desired_with(
        &[("team", "payments"), ("env", "prod")],
        AdoptionPolicy::IfOwned,
        DeletionPolicy::Delete,
    );
    let mut current = want.tags.clone();
    current.remove("env");
    current.insert("stale".into(), "x".into());
    // One call at a time: first the extra tag goes (so a rename at the 50-tag limit never overshoots)...
    assert_eq!(
        decide_active(&want, current.clone()),
        Plan::Untag {
            association: association(AssociationState::Active),
            keys: vec!["stale".to_string()],
        }
    );
    // ...then, once it is gone, the missing one is added.
    current.remove("stale");
    assert_eq!(
        decide_active(&want, current),
        Plan::Tag {
            association: association(AssociationState::Active),
            tags: tags(&[("env", "prod")]),
        }
    );
}

#[test]
fn renaming_keys_at_the_tag_limit_never_exceeds_it() {
    let many: Vec<(String, String)> = (0..48).map(|i| (format!("k{i}"), "v".to_string())).collect();
    let refs: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let want = desired_with(&refs, AdoptionPolicy::IfOwned, DeletionPolicy::Delete);
    let mut current = want.tags.clone();
    current.remove("k0");
    current.insert("old".into(), "v".into());
    assert_eq!(current.len(), 50);
    match decide_active(&want, current) {
        Plan::Untag { keys, .. } => assert_eq!(keys, ["old"]),
        other => panic!("expected the extra key removed first, got {other:?}"),
    }
}

#[test]
fn active_never_adds_or_changes_aws_prefixed_tags() {
    // The CRD forbids them, but should one reach decide it must not be sent to AWS.
    let mut want = desired();
    want.tags.insert("aws:managed".into(), "yes".into());
    let mut current = desired().tags;
    assert_eq!(
        decide_active(&want, current.clone()),
        Plan::InSync(association(AssociationState::Active)),
        "a desired aws: key that AWS lacks is not added"
    );
    current.insert("aws:managed".into(), "no".into());
    assert_eq!(
        decide_active(&want, current),
        Plan::InSync(association(AssociationState::Active)),
        "a desired aws: key with another value in AWS is not changed"
    );
}

#[test]
fn active_never_removes_aws_prefixed_tags() {
    let want = desired();
    let mut current = want.tags.clone();
    current.insert("aws:foo".into(), "bar".into());
    current.insert("extra".into(), "x".into());
    assert_eq!(
        decide_active(&want, current),
        Plan::Untag {
            association: association(AssociationState::Active),
            keys: vec!["extra".to_string()],
        }
    );
}

#[test]
fn active_with_prefix_lookalike_tag_is_not_protected() {
    // Only keys *beginning* `aws:` are untouched; `AWS:`/`xaws:` are ordinary user keys.
    let want = desired();
    let mut current = want.tags.clone();
    current.insert("xaws:foo".into(), "1".into());
    let plan = decide_active(&want, current);
    assert_eq!(
        plan,
        Plan::Untag {
            association: association(AssociationState::Active),
            keys: vec!["xaws:foo".to_string()],
        }
    );
}

// ---------------------------------------------------------------------------------------------
// Rows: CREATE_FAILED, DELETE_FAILED while wanted → recover (delete, then recreate).
// ---------------------------------------------------------------------------------------------

#[test]
fn create_failed_recovers() {
    let mut a = association(AssociationState::CreateFailed);
    a.failure_code = Some("InternalError".into());
    a.failure_message = Some("could not create".into());
    let observed = Observed::Found {
        association: a.clone(),
        tags: TagCheck::Unread,
    };
    assert_eq!(decide(&desired(), &identity(), 0, &observed), Plan::Recover(a));
}

#[test]
fn delete_failed_while_wanted_recovers() {
    let plan = decide(&desired(), &identity(), 2, &found(AssociationState::DeleteFailed, None));
    assert_eq!(plan, Plan::Recover(association(AssociationState::DeleteFailed)));
}

#[test]
fn failed_states_recover_even_when_tags_were_read() {
    for state in [AssociationState::CreateFailed, AssociationState::DeleteFailed] {
        let plan = decide(&desired(), &identity(), 0, &found(state.clone(), Some(Tags::new())));
        assert_eq!(plan, Plan::Recover(association(state)));
    }
}

// ---------------------------------------------------------------------------------------------
// Row: Create → ConflictException → List; apply the adoption policy.
// ---------------------------------------------------------------------------------------------

fn owned_tags() -> Tags {
    let mut t = owned_by(&identity());
    t.insert("team".into(), "payments".into());
    t
}

fn foreign_tags() -> Tags {
    tags(&[(OWNER_TAG, "other-ns/other-object"), (CLUSTER_TAG, "prod-eu")])
}

fn existing(t: Tags) -> Option<(Association, Claim)> {
    Some((association(AssociationState::Active), Claim::unheld(t)))
}

/// The association, its tags naming `owner` of this cluster, which exists.
fn held_by_live(owner: &str) -> Option<(Association, Claim)> {
    Some((
        association(AssociationState::Active),
        Claim {
            tags: tags(&[(OWNER_TAG, owner), (CLUSTER_TAG, "prod-eu")]),
            owner_exists: true,
        },
    ))
}

fn gateway_tags() -> Tags {
    tags(&[
        (GATEWAY_MANAGED_TAG, "123456789012/my-cluster/my-gateway"),
        ("team", "web"),
    ])
}

fn refused_here() -> AlwaysAdoption {
    AlwaysAdoption::Refused("namespace payments lacks the label vpclattice.operator.dev/allow-adoption=true".into())
}

/// Adoption with `Always` allowed in the namespace.
fn adopt_allowed(policy: AdoptionPolicy, existing: Option<(Association, Claim)>) -> Adoption {
    adopt(policy, &AlwaysAdoption::Allowed, &identity(), existing)
}

#[track_caller]
fn assert_refused_naming_id(result: Adoption) -> String {
    let Adoption::Refuse(message) = result else {
        panic!("expected Refuse, got {result:?}");
    };
    assert!(
        message.contains(ASSOCIATION_ID),
        "message must name the existing association: {message}"
    );
    message
}

#[test]
fn holder_reads_the_tags() {
    let id = identity();
    assert_eq!(id.holder(&owned_tags()), Holder::This);
    assert_eq!(
        id.holder(&foreign_tags()),
        Holder::Sibling("other-ns/other-object".into())
    );
    assert_eq!(id.holder(&Tags::new()), Holder::Nobody);
    assert_eq!(
        id.holder(&tags(&[
            (OWNER_TAG, "payments/payments-in-shared"),
            (CLUSTER_TAG, "prod-us")
        ])),
        Holder::OtherCluster {
            owner: "payments/payments-in-shared".into(),
            cluster: "prod-us".into()
        },
        "the same namespace/name in another cluster is not this object"
    );
    let mut gateway_and_ours = owned_tags();
    gateway_and_ours.extend(gateway_tags());
    assert!(
        matches!(id.holder(&gateway_and_ours), Holder::Gateway(_)),
        "the Gateway API Controller's tag wins over ownership tags"
    );
}

#[test]
fn adopt_if_owned_adopts_an_owned_association() {
    assert_eq!(
        adopt(
            AdoptionPolicy::IfOwned,
            &refused_here(),
            &identity(),
            existing(owned_tags())
        ),
        Adoption::Adopt(association(AssociationState::Active))
    );
}

#[test]
fn adopt_if_owned_refuses_an_association_of_a_deleted_object_and_says_what_always_risks() {
    let message = assert_refused_naming_id(adopt_allowed(AdoptionPolicy::IfOwned, existing(foreign_tags())));
    assert!(message.contains("other-ns/other-object"), "names the owner: {message}");
    assert!(
        message.contains("adoptionPolicy: Always"),
        "says how to adopt: {message}"
    );
    assert!(
        message.contains("deletes the association"),
        "says what adopting risks: {message}"
    );
}

#[test]
fn adopt_if_owned_refuses_an_untagged_association() {
    let message = assert_refused_naming_id(adopt_allowed(AdoptionPolicy::IfOwned, existing(Tags::new())));
    assert!(message.contains("no ownership tags"), "{message}");
}

#[test]
fn adopt_if_owned_refuses_when_cluster_tag_differs() {
    let mut t = owned_by(&identity());
    t.insert(CLUSTER_TAG.into(), "prod-us".into());
    let message = assert_refused_naming_id(adopt_allowed(AdoptionPolicy::IfOwned, existing(t)));
    assert!(message.contains("cluster \"prod-us\""), "{message}");
}

#[test]
fn adopt_always_adopts_what_no_live_object_holds_where_allowed() {
    for t in [owned_tags(), foreign_tags(), Tags::new()] {
        assert_eq!(
            adopt_allowed(AdoptionPolicy::Always, existing(t)),
            Adoption::Adopt(association(AssociationState::Active))
        );
    }
}

#[test]
fn adopt_always_adopts_whatever_the_status() {
    let a = association(AssociationState::CreateFailed);
    assert_eq!(
        adopt_allowed(AdoptionPolicy::Always, Some((a.clone(), Claim::unheld(Tags::new())))),
        Adoption::Adopt(a)
    );
}

#[test]
fn adopt_always_refuses_outside_allowed_namespaces_but_still_takes_back_its_own() {
    for t in [foreign_tags(), Tags::new()] {
        let message =
            assert_refused_naming_id(adopt(AdoptionPolicy::Always, &refused_here(), &identity(), existing(t)));
        assert!(message.contains("lacks the label"), "says why: {message}");
    }
    assert_eq!(
        adopt(
            AdoptionPolicy::Always,
            &refused_here(),
            &identity(),
            existing(owned_tags())
        ),
        Adoption::Adopt(association(AssociationState::Active)),
        "an association whose tags name this object is its own"
    );
}

#[test]
fn no_policy_adopts_an_association_another_live_object_owns() {
    for policy in [AdoptionPolicy::IfOwned, AdoptionPolicy::Always, AdoptionPolicy::Never] {
        let message = assert_refused_naming_id(adopt_allowed(policy, held_by_live("team-b/app")));
        assert!(message.contains("belongs to team-b/app"), "names the owner: {message}");
        assert!(message.contains("which exists"), "{message}");
    }
}

#[test]
fn no_policy_adopts_a_gateway_controller_association() {
    for policy in [AdoptionPolicy::IfOwned, AdoptionPolicy::Always, AdoptionPolicy::Never] {
        let message = assert_refused_naming_id(adopt_allowed(policy, existing(gateway_tags())));
        assert!(
            message.contains("AWS Gateway API Controller"),
            "says who manages it: {message}"
        );
        assert!(message.contains(GATEWAY_MANAGED_TAG), "{message}");
    }
}

#[test]
fn adopt_never_refuses_even_an_owned_association() {
    for t in [owned_tags(), foreign_tags()] {
        let message = assert_refused_naming_id(adopt_allowed(AdoptionPolicy::Never, existing(t)));
        assert!(message.contains("Never"), "{message}");
        assert!(message.contains("IfOwned"), "says how to take back its own: {message}");
    }
}

#[test]
fn adopt_with_nothing_found_retries_for_every_policy() {
    for policy in [AdoptionPolicy::IfOwned, AdoptionPolicy::Always, AdoptionPolicy::Never] {
        assert_eq!(adopt_allowed(policy, None), Adoption::Retry, "{policy:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// A tracked association whose tags now name another live object or the Gateway controller: left
// alone, no write (no tag flip-flop between two objects).
// ---------------------------------------------------------------------------------------------

#[test]
fn an_active_association_held_by_another_live_object_is_left_alone() {
    let (a, claim) = held_by_live("team-b/app").unwrap();
    let plan = decide(
        &desired(),
        &identity(),
        0,
        &Observed::Found {
            association: a,
            tags: TagCheck::Read(claim),
        },
    );
    let Plan::Held { why, .. } = plan else {
        panic!("expected Held, got {plan:?}");
    };
    assert!(why.contains("team-b/app"), "{why}");
}

#[test]
fn an_active_association_of_a_deleted_object_or_another_cluster_gets_this_objects_tags() {
    let mut other_cluster = owned_by(&identity());
    other_cluster.insert(CLUSTER_TAG.into(), "prod-us".into());
    for t in [foreign_tags(), other_cluster] {
        assert!(matches!(
            decide_active(&desired(), t),
            Plan::Untag { .. } | Plan::Tag { .. }
        ));
    }
}

#[test]
fn an_active_association_the_gateway_controller_manages_is_never_tagged() {
    let plan = decide_active(&desired(), gateway_tags());
    assert!(matches!(plan, Plan::Held { .. }), "{plan:?}");
}

// ---------------------------------------------------------------------------------------------
// Rows: object deleted (policy Delete / Retain; DELETE_FAILED while deleting).
// ---------------------------------------------------------------------------------------------

const ALL_STATES: [AssociationState; 5] = [
    AssociationState::CreateInProgress,
    AssociationState::Active,
    AssociationState::DeleteInProgress,
    AssociationState::CreateFailed,
    AssociationState::DeleteFailed,
];

/// The deletion step for what AWS holds, under deletionPolicy Delete (tags not read).
fn deletion(observed: Option<&Association>) -> DeletionStep {
    deletion_seeing(observed, None)
}

/// The deletion step for what AWS holds, with its tags read (`claim`).
fn deletion_seeing(observed: Option<&Association>, claim: Option<&Claim>) -> DeletionStep {
    let Cleanup::Delete(deletion) = decide_cleanup(DeletionPolicy::Delete) else {
        panic!("deletionPolicy Delete must allow a deletion");
    };
    deletion.next(observed, claim, &identity())
}

#[test]
fn cleanup_leaves_an_association_held_by_another_live_object_or_the_gateway_controller() {
    let (a, live) = held_by_live("team-b/app").unwrap();
    for claim in [live, Claim::unheld(gateway_tags())] {
        let step = deletion_seeing(Some(&a), Some(&claim));
        assert!(matches!(step, DeletionStep::Leave { .. }), "{step:?}");
    }
    let ours = Claim::unheld(owned_tags());
    assert_eq!(deletion_seeing(Some(&a), Some(&ours)), DeletionStep::Delete(a.clone()));
}

#[test]
fn cleanup_retain_releases_without_aws_call_even_when_association_exists() {
    // Retain is decided before AWS is read (no observation goes in) and yields no `Deletion`, so no
    // deletion step can follow, whatever AWS holds.
    assert_eq!(decide_cleanup(DeletionPolicy::Retain), Cleanup::Retain);
}

#[test]
fn cleanup_delete_with_nothing_in_aws_releases() {
    assert_eq!(deletion(None), DeletionStep::Release);
}

#[test]
fn cleanup_delete_never_releases_while_aws_has_the_association() {
    for state in ALL_STATES {
        let a = association(state);
        assert_ne!(deletion(Some(&a)), DeletionStep::Release, "{a:?}");
    }
}

#[test]
fn cleanup_delete_waits_while_aws_is_working() {
    for state in [AssociationState::DeleteInProgress, AssociationState::CreateInProgress] {
        let a = association(state);
        assert_eq!(deletion(Some(&a)), DeletionStep::Wait(a.clone()));
    }
}

#[test]
fn cleanup_delete_deletes_active_and_failed() {
    for state in [
        AssociationState::Active,
        AssociationState::CreateFailed,
        AssociationState::DeleteFailed,
    ] {
        let a = association(state);
        assert_eq!(deletion(Some(&a)), DeletionStep::Delete(a.clone()));
    }
}

#[test]
fn cleanup_delete_failed_while_deleting_deletes_again() {
    let a = association(AssociationState::DeleteFailed);
    assert_eq!(deletion(Some(&a)), DeletionStep::Delete(a));
}

#[test]
fn tags_are_verified_for_the_generation_or_across_the_deletion_bump_only() {
    use crate::reconcile::decide::tags_verified;
    assert!(tags_verified(Some(3), Some(3), Some(3), false));
    assert!(!tags_verified(Some(2), Some(2), Some(3), false), "an edit since");
    assert!(!tags_verified(None, Some(3), Some(3), false));
    assert!(!tags_verified(Some(3), Some(3), None, false));
    // Deleting bumps the generation by one: still verified when the status answered the one before.
    assert!(tags_verified(Some(3), Some(3), Some(4), true));
    assert!(tags_verified(Some(4), Some(4), Some(4), true));
    assert!(
        !tags_verified(Some(3), Some(3), Some(4), false),
        "not deleting: an edit"
    );
    assert!(
        !tags_verified(Some(2), Some(3), Some(4), true),
        "verified before an edit the status answered"
    );
    assert!(
        !tags_verified(Some(3), Some(3), Some(5), true),
        "an edit and the deletion"
    );
}
