//! What each step means, one test (or a named group) per row of DESIGN.md's behaviour table and per
//! error class: the verdict, the Events in order, the status edits, and the requeue column — what
//! `schedule` answers for the step, over as many consecutive rounds as the row's interval needs.
//! No I/O, no control plane.

use std::time::Duration;

use kube::runtime::events::EventType;

use super::*;
use crate::api::{AdoptionPolicy, CLUSTER_TAG, OWNER_TAG, ServiceNetworkServiceAssociationStatus as Status};
use crate::lattice::{Association, AssociationState, CreateAssociation, ErrorKind, LatticeError, Tags};
use crate::reconcile::decide::{AlwaysAdoption, Claim, Identity};
use crate::reconcile::memory::Memory;
use crate::reconcile::reason::Reason;
use crate::reconcile::requeue::tests::ERROR_KINDS;
use crate::reconcile::requeue::{NEXT_STEP, Next, Requeue, Timing, retry_in, shows_as};
use crate::reconcile::status::Phase;

const ID: &str = "snsa-0123456789abcdef0";
/// The object's `.metadata.generation`.
const GENERATION: i64 = 3;

pub(crate) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The association of the tests, in `state`.
pub(crate) fn association(state: AssociationState) -> Association {
    Association::new(
        ID,
        format!("arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/{ID}"),
        state,
    )
}

/// The ownership tags of `id`.
fn owned_by(id: &Identity) -> Tags {
    crate::reconcile::decide::ownership_tags(&id.owner, &id.cluster)
}

fn identity() -> Identity {
    Identity {
        uid: "uid".into(),
        owner: "payments/app".into(),
        cluster: "prod".into(),
    }
}

fn request() -> CreateAssociation {
    CreateAssociation {
        client_token: "uid-0".into(),
        service_identifier: "svc-0123456789abcdef0".into(),
        service_network_identifier: "sn-0123456789abcdef0".into(),
        tags: owned_by(&identity()),
    }
}

/// The status of an object whose association was recorded.
fn tracked() -> Status {
    Status {
        id: Some(ID.into()),
        association_status: Some("ACTIVE".into()),
        client_token: Some("uid-0".into()),
        ..Status::default()
    }
}

pub(crate) fn err(kind: ErrorKind) -> LatticeError {
    LatticeError::new(kind, "SomeException", "something went wrong")
}

/// Plan `Create`'s outcome for the request of [`request`], as [`identity`].
fn create(result: Result<Created, LatticeError>, policy: AdoptionPolicy, status: &mut Status) -> Outcome {
    created(
        &request(),
        result,
        (policy, &AlwaysAdoption::Allowed),
        &identity(),
        Some(GENERATION),
        status,
    )
}

/// The verdict's phase and reason.
fn verdict(o: &Outcome) -> (Phase, Reason) {
    (o.verdict.phase, o.verdict.reason)
}

/// The Events as (type, reason, action).
fn events(outcome: &Outcome) -> Vec<(EventType, Reason, &'static str)> {
    outcome.events.iter().map(|e| (e.type_, e.reason, e.action)).collect()
}

/// What the object's memory schedules after `outcome` (polls untimed).
fn schedule(outcome: &Outcome, memory: &mut Memory) -> Requeue {
    memory.schedule(&outcome.next, outcome.verdict.phase == Phase::Ready, Timing::default())
}

/// What the memory schedules for the same outcome over `rounds` consecutive reconciles.
fn requeues(outcome: &Outcome, memory: &mut Memory, rounds: usize) -> Vec<Requeue> {
    (0..rounds).map(|_| schedule(outcome, memory)).collect()
}

fn exactly(s: &[u64]) -> Vec<Requeue> {
    s.iter().map(|s| Requeue::Exactly(secs(*s))).collect()
}

fn about(s: &[u64]) -> Vec<Requeue> {
    s.iter().map(|s| Requeue::About(secs(*s))).collect()
}

fn pending(cleaned: Cleaned) -> Outcome {
    match cleaned {
        Cleaned::Pending(outcome) => outcome,
        Cleaned::Released(events) => panic!("expected Pending, released with {events:?}"),
    }
}

fn release_events(cleaned: Cleaned) -> Vec<Event> {
    match cleaned {
        Cleaned::Released(events) => events,
        Cleaned::Pending(outcome) => panic!("expected Released, pending with {outcome:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Row: no status.id → Create → poll.
// ---------------------------------------------------------------------------------------------

#[test]
fn row_create_records_the_association_announces_it_and_polls() {
    let mut status = Status::default();
    let a = association(AssociationState::CreateInProgress);
    let o = create(Ok(Created::New(a)), AdoptionPolicy::IfOwned, &mut status);
    assert_eq!(verdict(&o), (Phase::Progressing, Reason::Creating));
    assert_eq!(
        o.verdict.message,
        format!("created association {ID} (clientToken uid-0)")
    );
    assert_eq!(events(&o), [(EventType::Normal, Reason::Creating, "Create")]);
    assert_eq!(status.id.as_deref(), Some(ID));
    assert_eq!(status.client_token.as_deref(), Some("uid-0"));
    assert_eq!(
        status.tags_synced_generation,
        Some(GENERATION),
        "the Create set the tags: not read back"
    );
    assert_eq!(requeues(&o, &mut Memory::default(), 3), exactly(&[1, 2, 4]));
}

#[test]
fn a_create_retried_with_an_earlier_token_reads_the_tags_back() {
    // The earlier attempt with this token may have made the association with older tags.
    let mut status = Status {
        client_token: Some("uid-0".into()),
        ..Status::default()
    };
    let a = association(AssociationState::CreateInProgress);
    let o = create(Ok(Created::New(a)), AdoptionPolicy::IfOwned, &mut status);
    assert_eq!(verdict(&o), (Phase::Progressing, Reason::Creating));
    assert_eq!(status.id.as_deref(), Some(ID));
    assert_eq!(status.tags_synced_generation, None);
}

#[test]
fn a_failed_create_keeps_its_token_for_the_retry() {
    let mut status = Status::default();
    let o = create(Err(err(ErrorKind::Transient)), AdoptionPolicy::IfOwned, &mut status);
    assert_eq!(status.client_token.as_deref(), Some("uid-0"));
    assert_eq!(status.id, None);
    assert_eq!(status.tags_synced_generation, None);
    assert_eq!(o.verdict.reason, Reason::AwsError);
    assert!(o.failed());
}

// ---------------------------------------------------------------------------------------------
// Row: Create → ConflictException → adoption policy → poll / Stalled.
// ---------------------------------------------------------------------------------------------

fn taken(tags: Tags) -> Result<Created, LatticeError> {
    Ok(Created::Taken(Some((
        association(AssociationState::Active),
        Claim::unheld(tags),
    ))))
}

#[test]
fn row_conflict_adopts_an_owned_association_and_looks_again_now() {
    let mut status = Status::default();
    let o = create(taken(owned_by(&identity())), AdoptionPolicy::IfOwned, &mut status);
    assert_eq!(verdict(&o), (Phase::Progressing, Reason::Creating));
    assert_eq!(events(&o), [(EventType::Normal, Reason::Adopted, "Adopt")]);
    assert_eq!(status.id.as_deref(), Some(ID));
    assert_eq!(
        status.tags_synced_generation, None,
        "an adopted association's tags are read and made ours"
    );
    assert_eq!(schedule(&o, &mut Memory::default()), Requeue::Exactly(NEXT_STEP));
    assert_eq!(NEXT_STEP, Duration::from_millis(100));
}

#[test]
fn row_conflict_refused_stalls_and_looks_again_every_5m() {
    let mut status = Status::default();
    let foreign = Tags::from([
        (OWNER_TAG.into(), "other/obj".into()),
        (CLUSTER_TAG.into(), "prod".into()),
    ]);
    let o = create(taken(foreign), AdoptionPolicy::IfOwned, &mut status);
    assert_eq!(verdict(&o), (Phase::Stalled, Reason::AlreadyAssociated));
    assert!(o.verdict.message.contains(ID), "{}", o.verdict.message);
    assert_eq!(events(&o), [(EventType::Warning, Reason::AlreadyAssociated, "Create")]);
    assert_eq!(status.id, None, "a refused association is not recorded");
    assert_eq!(requeues(&o, &mut Memory::default(), 2), about(&[300, 300]));
    assert!(!o.failed(), "a refusal is an answer, not a failure");
}

#[test]
fn row_conflict_with_nothing_found_creates_again_after_5s() {
    let mut status = Status::default();
    let o = create(Ok(Created::Taken(None)), AdoptionPolicy::Always, &mut status);
    assert_eq!(verdict(&o), (Phase::Progressing, Reason::Creating));
    assert!(o.events.is_empty());
    assert_eq!(schedule(&o, &mut Memory::default()), Requeue::About(secs(5)));
}

// ---------------------------------------------------------------------------------------------
// Row: status.id → ResourceNotFound → clear id, Event Recreating, create again now.
// ---------------------------------------------------------------------------------------------

#[test]
fn row_gone_forgets_the_association_and_creates_again_now() {
    let mut status = Status {
        recreate_attempts: 2,
        ..tracked()
    };
    let o = recreate(&mut status);
    assert!(o.recreated);
    assert_eq!(verdict(&o), (Phase::Progressing, Reason::Recreating));
    assert_eq!(events(&o), [(EventType::Warning, Reason::Recreating, "Create")]);
    assert_eq!(
        o.verdict.message,
        format!("association {ID} no longer exists in AWS; creating it again (attempt 3)")
    );
    assert_eq!((status.id, status.recreate_attempts), (None, 3));
    assert_eq!(schedule(&o, &mut Memory::default()), Requeue::Exactly(NEXT_STEP));
}

// ---------------------------------------------------------------------------------------------
// Row: CREATE_IN_PROGRESS / DELETE_IN_PROGRESS → wait; poll 1s, 2s, 4s, 8s, then every 3s (nothing
// learned; see requeue::poll_delay).
// ---------------------------------------------------------------------------------------------

#[test]
fn row_in_progress_polls_1_2_4_8_then_every_3s() {
    for (state, reason) in [
        (AssociationState::CreateInProgress, Reason::Creating),
        (AssociationState::DeleteInProgress, Reason::Recreating),
        (AssociationState::Active, Reason::Creating),
    ] {
        let mut status = Status::default();
        let o = waiting(&association(state.clone()), &mut status);
        assert_eq!(verdict(&o), (Phase::Progressing, reason), "{state}");
        assert!(o.events.is_empty());
        assert_eq!(status.association_status.as_deref(), Some(state.as_str()));
        assert_eq!(requeues(&o, &mut Memory::default(), 7), exactly(&[1, 2, 4, 8, 3, 3, 3]));
    }
}

#[test]
fn polls_start_again_at_1s_after_any_other_step() {
    let mut memory = Memory::default();
    let poll = waiting(&association(AssociationState::CreateInProgress), &mut Status::default());
    requeues(&poll, &mut memory, 3);
    schedule(&recreate(&mut tracked()), &mut memory);
    assert_eq!(schedule(&poll, &mut memory), Requeue::Exactly(secs(1)));
}

// ---------------------------------------------------------------------------------------------
// Row: ACTIVE → sync tags; in sync → no requeue (the drift scan wakes it).
// ---------------------------------------------------------------------------------------------

#[test]
fn row_active_in_sync_is_ready_and_waits_for_a_change() {
    let a = association(AssociationState::Active);
    let mut status = Status::default();
    let o = in_sync(&a, false, Some(GENERATION), &mut status);
    assert_eq!(verdict(&o), (Phase::Ready, Reason::Active));
    assert_eq!(events(&o), [(EventType::Normal, Reason::Active, "Reconcile")]);
    assert_eq!(schedule(&o, &mut Memory::default()), Requeue::Never);

    assert_eq!(
        status.tags_synced_generation,
        Some(GENERATION),
        "tags verified for the generation"
    );
    let again = in_sync(&a, true, Some(GENERATION), &mut Status::default());
    assert!(again.events.is_empty(), "announced only when it becomes ready");
    assert_eq!(again.verdict, o.verdict);
}

#[test]
fn row_active_with_tags_to_change_syncs_them_and_polls() {
    let a = association(AssociationState::Active);
    let tags = Tags::from([("env".into(), "prod".into()), ("team".into(), "payments".into())]);
    let mut status = Status {
        tags_synced_generation: Some(GENERATION - 1),
        ..Status::default()
    };
    let o = tagged(&a, &tags, Ok(Some(())), &mut status);
    assert_eq!(status.tags_synced_generation, None, "read back on the next step");
    assert_eq!(verdict(&o), (Phase::Progressing, Reason::TagsOutOfSync));
    assert_eq!(o.verdict.message, format!("set tags env, team on {ID}"));
    assert_eq!(events(&o), [(EventType::Normal, Reason::TagsSynced, "Tag")]);
    assert_eq!(status.id.as_deref(), Some(ID));
    assert_eq!(schedule(&o, &mut Memory::default()), Requeue::Exactly(secs(1)));

    let keys = ["stale".to_string()];
    let mut status = Status {
        tags_synced_generation: Some(GENERATION - 1),
        ..Status::default()
    };
    let o = untagged(&a, &keys, Ok(Some(())), &mut status);
    assert_eq!(status.tags_synced_generation, None, "read back on the next step");
    assert_eq!(o.verdict.message, format!("removed tags stale from {ID}"));
    assert_eq!(events(&o), [(EventType::Normal, Reason::TagsSynced, "Untag")]);
    assert_eq!(schedule(&o, &mut Memory::default()), Requeue::Exactly(secs(1)));
}

#[test]
fn tagging_a_vanished_association_creates_it_again() {
    let a = association(AssociationState::Active);
    let mut status = tracked();
    let o = tagged(&a, &Tags::new(), Ok(None), &mut status);
    assert!(o.recreated);
    assert_eq!(status.id, None);
    let o = untagged(&a, &[], Ok(None), &mut tracked());
    assert!(o.recreated);
}

#[test]
fn a_failed_tag_call_leaves_the_status_as_it_was() {
    let mut status = Status::default();
    let o = tagged(
        &association(AssociationState::Active),
        &Tags::new(),
        Err(err(ErrorKind::AccessDenied)),
        &mut status,
    );
    assert_eq!(status, Status::default());
    assert_eq!(verdict(&o), (Phase::Stalled, Reason::AccessDenied));
}

// ---------------------------------------------------------------------------------------------
// Rows: CREATE_FAILED, DELETE_FAILED while wanted → Event, Delete, backoff 5s → 5m.
// ---------------------------------------------------------------------------------------------

fn failed_association(state: AssociationState) -> Association {
    let mut a = association(state);
    a.failure_code = Some("InternalError".into());
    a.failure_message = Some("could not create".into());
    a
}

#[test]
fn row_create_failed_warns_deletes_and_backs_off_5s_to_5m() {
    let a = failed_association(AssociationState::CreateFailed);
    let mut status = Status::default();
    let o = recovering(&a, Ok(Some(AssociationState::DeleteInProgress)), &mut status);
    assert_eq!(verdict(&o), (Phase::Progressing, Reason::Recreating));
    assert_eq!(
        o.verdict.message,
        format!("association {ID} is CREATE_FAILED: could not create (InternalError); deleting it to create it again")
    );
    assert_eq!(events(&o), [(EventType::Warning, Reason::CreateFailed, "Delete")]);
    assert_eq!(status.association_status.as_deref(), Some("DELETE_IN_PROGRESS"));
    assert_eq!(status.failure_code.as_deref(), Some("InternalError"));
    let mut memory = Memory::default();
    assert_eq!(requeues(&o, &mut memory, 8), about(&[5, 10, 20, 40, 80, 160, 300, 300]));
}

#[test]
fn row_delete_failed_while_wanted_recovers_the_same_way() {
    let a = failed_association(AssociationState::DeleteFailed);
    let o = recovering(&a, Ok(Some(AssociationState::DeleteInProgress)), &mut Status::default());
    assert_eq!(events(&o), [(EventType::Warning, Reason::DeleteFailed, "Delete")]);
    assert_eq!(o.verdict.reason, Reason::Recreating);
    assert_eq!(requeues(&o, &mut Memory::default(), 2), about(&[5, 10]));
}

#[test]
fn recover_backoff_starts_afresh_once_ready() {
    let recover = recovering(
        &failed_association(AssociationState::CreateFailed),
        Ok(Some(AssociationState::DeleteInProgress)),
        &mut Status::default(),
    );
    let mut memory = Memory::default();
    requeues(&recover, &mut memory, 3);
    let ready = in_sync(
        &association(AssociationState::Active),
        true,
        Some(GENERATION),
        &mut Status::default(),
    );
    schedule(&ready, &mut memory);
    assert_eq!(schedule(&recover, &mut memory), Requeue::About(secs(5)));
}

#[test]
fn recover_warns_first_also_when_the_delete_fails_or_finds_it_gone() {
    let a = failed_association(AssociationState::CreateFailed);
    let mut status = Status::default();
    let o = recovering(&a, Err(err(ErrorKind::Transient)), &mut status);
    assert_eq!(
        events(&o),
        [
            (EventType::Warning, Reason::CreateFailed, "Delete"),
            (EventType::Warning, Reason::AwsError, "Reconcile"),
        ]
    );
    assert_eq!(status.id.as_deref(), Some(ID), "what was observed is recorded");

    let o = recovering(&a, Ok(None), &mut tracked());
    assert!(o.recreated);
    assert_eq!(
        events(&o),
        [
            (EventType::Warning, Reason::CreateFailed, "Delete"),
            (EventType::Warning, Reason::Recreating, "Create"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Rows: object deleted (policy Retain / Delete; DELETE_FAILED while deleting).
// ---------------------------------------------------------------------------------------------

#[test]
fn row_deleted_retain_releases_and_says_what_was_left() {
    let events = release_events(retained(&tracked()));
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].type_, events[0].reason, events[0].action),
        (EventType::Normal, Reason::Retained, "Delete")
    );
    assert_eq!(
        events[0].note,
        format!("association {ID} left in AWS (deletionPolicy Retain)")
    );
    let events = release_events(retained(&Status::default()));
    assert_eq!(events[0].note, "deletionPolicy Retain: nothing deleted in AWS");
}

#[test]
fn row_deleted_with_nothing_left_in_aws_releases() {
    let events = release_events(released(&tracked()));
    assert_eq!(
        (events[0].reason, events[0].note.as_str()),
        (Reason::Deleted, format!("association {ID} is gone from AWS").as_str())
    );
    let events = release_events(released(&Status::default()));
    assert_eq!(events[0].note, "no association of this object exists in AWS");
}

#[test]
fn row_deleted_delete_starts_deleting_and_polls() {
    let mut status = Status::default();
    let o = pending(deleting(
        &association(AssociationState::Active),
        Ok(Some(AssociationState::DeleteInProgress)),
        &mut status,
    ));
    assert_eq!(verdict(&o), (Phase::Progressing, Reason::Deleting));
    assert_eq!(o.verdict.message, format!("association {ID} is DELETE_IN_PROGRESS"));
    assert_eq!(events(&o), [(EventType::Normal, Reason::Deleting, "Delete")]);
    assert_eq!(status.association_status.as_deref(), Some("DELETE_IN_PROGRESS"));
    assert_eq!(requeues(&o, &mut Memory::default(), 3), exactly(&[1, 2, 4]));
}

#[test]
fn row_deleted_while_aws_works_polls() {
    let o = pending(deletion_waiting(
        &association(AssociationState::DeleteInProgress),
        &mut Status::default(),
    ));
    assert_eq!(o.verdict.reason, Reason::Deleting);
    assert!(o.events.is_empty());
    assert_eq!(requeues(&o, &mut Memory::default(), 6), exactly(&[1, 2, 4, 8, 3, 3]));
}

#[test]
fn row_delete_failed_while_deleting_warns_and_deletes_again_with_backoff() {
    let a = failed_association(AssociationState::DeleteFailed);
    let o = pending(deleting(
        &a,
        Ok(Some(AssociationState::DeleteInProgress)),
        &mut Status::default(),
    ));
    assert_eq!(events(&o), [(EventType::Warning, Reason::DeleteFailed, "Delete")]);
    assert_eq!(o.verdict.reason, Reason::Deleting);
    assert_eq!(requeues(&o, &mut Memory::default(), 3), about(&[5, 10, 20]));
}

#[test]
fn a_delete_that_finds_it_gone_releases() {
    let events = release_events(deleting(
        &association(AssociationState::Active),
        Ok(None),
        &mut Status::default(),
    ));
    assert_eq!(events.iter().map(|e| e.reason).collect::<Vec<_>>(), [Reason::Deleted]);
    let events = release_events(deleting(
        &failed_association(AssociationState::DeleteFailed),
        Ok(None),
        &mut Status::default(),
    ));
    assert_eq!(
        events.iter().map(|e| e.reason).collect::<Vec<_>>(),
        [Reason::DeleteFailed, Reason::Deleted]
    );
}

#[test]
fn a_failed_delete_stays_pending_and_backs_off() {
    let o = pending(deleting(
        &association(AssociationState::Active),
        Err(err(ErrorKind::Throttled)),
        &mut Status::default(),
    ));
    assert_eq!(o.verdict.reason, Reason::Throttled);
    assert_eq!(requeues(&o, &mut Memory::default(), 3), about(&[1, 2, 4]));
}

// ---------------------------------------------------------------------------------------------
// Every error class: reason, Stalled or not, a Warning Event, and the backoff it grows.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_error_class_shows_its_reason_warns_and_retries_as_classified() {
    for kind in ERROR_KINDS {
        let e = err(kind);
        let o = failed(e.clone());
        let (reason, stalled) = shows_as(kind);
        let phase = if stalled { Phase::Stalled } else { Phase::Progressing };
        assert_eq!(verdict(&o), (phase, reason), "{kind:?}");
        assert_eq!(o.verdict.message, "SomeException: something went wrong");
        assert_eq!(events(&o), [(EventType::Warning, reason, "Reconcile")], "{kind:?}");
        assert_eq!(o.events[0].note, o.verdict.message);
        assert_eq!(o.next, Next::Retry(e.clone()));
        let mut memory = Memory::default();
        let got = requeues(&o, &mut memory, 4);
        let want: Vec<Requeue> = (1..=4).map(|n| Requeue::About(retry_in(&e, n))).collect();
        assert_eq!(got, want, "{kind:?}");
        let failures = memory.started(std::time::Instant::now(), None, Duration::ZERO);
        assert_eq!(failures, 4);
    }
}

#[test]
fn error_classes_requeue_as_designed() {
    let first = |kind| schedule(&failed(err(kind)), &mut Memory::default());
    assert_eq!(first(ErrorKind::Validation), Requeue::About(secs(3600)));
    assert_eq!(first(ErrorKind::AccessDenied), Requeue::About(secs(300)));
    assert_eq!(first(ErrorKind::QuotaExceeded), Requeue::About(secs(900)));
    assert_eq!(first(ErrorKind::NotFound), Requeue::About(secs(5)));
    assert_eq!(first(ErrorKind::Transient), Requeue::About(secs(1)));
    let throttled = failed(err(ErrorKind::Throttled).with_retry_after(Some(42)));
    assert_eq!(schedule(&throttled, &mut Memory::default()), Requeue::About(secs(42)));
}

/// `managementPolicy: ObserveOnly`: what the pair's association, found or not, means.
mod observe_only {
    use super::*;
    use crate::api::ManagementPolicy;

    const PAIR: (&str, &str) = ("svc-0123456789abcdef0", "sn-0123456789abcdef0");

    fn observe(found: Option<Association>, was_ready: bool, status: &mut Status) -> Outcome {
        observed(found.as_ref(), PAIR, was_ready, status)
    }

    #[test]
    fn an_active_association_is_ready_and_recorded_as_observed() {
        let mut status = Status::default();
        let o = observe(Some(association(AssociationState::Active)), false, &mut status);
        assert_eq!((o.verdict.phase, o.verdict.reason), (Phase::Ready, Reason::Active));
        assert!(o.verdict.message.contains("ObserveOnly"), "{}", o.verdict.message);
        assert_eq!(o.next, Next::Idle, "the drift scan wakes it when AWS changes");
        assert_eq!(o.events.len(), 1, "announced once");
        assert_eq!(status.id.as_deref(), Some(ID));
        assert_eq!(status.management_policy, Some(ManagementPolicy::ObserveOnly));
        assert_eq!(status.tags_synced_generation, None, "its tags are not this object's");
        assert!(
            observe(Some(association(AssociationState::Active)), true, &mut status)
                .events
                .is_empty()
        );
    }

    #[test]
    fn no_association_is_not_ready_not_stalled_and_forgets_the_last_one() {
        let mut status = Status {
            tags_synced_generation: Some(GENERATION),
            recreate_attempts: 2,
            ..tracked()
        };
        let o = observe(None, true, &mut status);
        assert_eq!(
            (o.verdict.phase, o.verdict.reason),
            (Phase::Progressing, Reason::AssociationNotFound)
        );
        assert_eq!(o.next, Next::Idle, "looked for again by the drift scan");
        for said in [PAIR.0, PAIR.1, "never creates"] {
            assert!(o.verdict.message.contains(said), "{said}: {}", o.verdict.message);
        }
        assert_eq!((status.id.as_ref(), status.association_status.as_ref()), (None, None));
        assert_eq!(status.tags_synced_generation, None);
        assert_eq!(status.recreate_attempts, 2, "no recreate is counted");
        assert_eq!(status.management_policy, Some(ManagementPolicy::ObserveOnly));
        assert!(!o.recreated);
    }

    #[test]
    fn work_under_way_is_polled_and_a_failed_association_is_left_to_its_owner() {
        for (state, reason) in [
            (AssociationState::CreateInProgress, Reason::Creating),
            (AssociationState::DeleteInProgress, Reason::Deleting),
        ] {
            let o = observe(Some(association(state)), false, &mut Status::default());
            assert_eq!(
                (o.verdict.phase, o.verdict.reason, o.next),
                (Phase::Progressing, reason, Next::Poll)
            );
        }
        for state in [AssociationState::CreateFailed, AssociationState::DeleteFailed] {
            let mut failed = association(state);
            failed.failure_code = Some("Boom".into());
            let o = observe(Some(failed), false, &mut Status::default());
            assert_eq!(
                (o.verdict.phase, o.verdict.reason, o.next),
                (Phase::Stalled, Reason::AssociationFailed, Next::Idle)
            );
            assert!(o.verdict.message.contains("Boom"), "{}", o.verdict.message);
            assert_eq!(o.events[0].type_, EventType::Warning);
        }
    }

    #[test]
    fn another_association_of_the_pair_replaces_the_last_one_whole() {
        let mut status = Status {
            failure_message: Some("old".into()),
            client_token: Some("uid-0".into()),
            ..tracked()
        };
        let mut other = association(AssociationState::Active);
        other.id = "snsa-fedcba98765432100".into();
        observe(Some(other), true, &mut status);
        assert_eq!(status.id.as_deref(), Some("snsa-fedcba98765432100"));
        assert_eq!(status.failure_message, None);
    }
}
