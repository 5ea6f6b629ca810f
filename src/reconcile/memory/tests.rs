//! An object's memory through its transitions, each given `now`: when a reconcile is due, the
//! Create or Delete under way and the poll timing, drift, the backoff counters (failures, polls,
//! recover cycles) and when they reset, `Throttled` held until the work ends, and `error_policy`'s
//! answer. No I/O, no clock.

use std::time::{Duration, Instant};

use super::*;
use crate::api::ServiceNetworkServiceAssociationStatus as Status;
use crate::lattice::{AssociationState, ErrorKind};
use crate::reconcile::outcome::tests::{association, err, secs};
use crate::reconcile::outcome::{failed, in_sync, waiting};

fn creating() -> Outcome {
    waiting(&association(AssociationState::CreateInProgress), &mut Status::default())
}

fn ready() -> Outcome {
    in_sync(
        &association(AssociationState::Active),
        false,
        Some(1),
        &mut Status::default(),
    )
}

fn verdict(o: &Outcome) -> (Phase, Reason) {
    (o.verdict.phase, o.verdict.reason)
}

/// `concluded` with no limiter wait and no jitter: the outcome and the delay.
fn conclude(memory: &mut Memory, now: Instant, outcome: Outcome) -> (Outcome, Option<Duration>) {
    memory.concluded(now, outcome, Timing::default(), (Duration::ZERO, false), 0.0)
}

// ---------------------------------------------------------------------------------------------
// When a reconcile is due.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_new_object_is_due_since_it_waited_never_before_the_process_began() {
    let now = Instant::now() + secs(1000);
    let mut memory = Memory::default();
    assert_eq!(memory.started(now, Some(secs(30)), secs(600)), 0);
    assert_eq!(memory.due, Some(now - secs(30)));

    let mut young = Memory::default();
    young.started(now, Some(secs(30)), secs(5));
    assert_eq!(young.due, Some(now - secs(5)), "not before this process began");

    // Once scheduled, a later start keeps the schedule.
    memory.started(now + secs(1), Some(secs(90)), secs(600));
    assert_eq!(memory.due, Some(now - secs(30)));
    let mut nothing = Memory::default();
    nothing.started(now, None, secs(600));
    assert_eq!(nothing.due, None, "nothing pending: not due");
}

#[test]
fn a_put_off_reconcile_stays_due_since_it_first_was() {
    let now = Instant::now();
    let mut memory = Memory::default();
    memory.put_off(now, secs(3));
    assert_eq!(memory.due, Some(now + secs(3)));
    memory.put_off(now + secs(3), secs(4));
    assert_eq!(memory.due, Some(now + secs(3)), "still due since then");
}

#[test]
fn a_concluded_step_is_due_after_its_delay_or_never() {
    let now = Instant::now();
    let mut memory = Memory::default();
    let (_, delay) = conclude(&mut memory, now, creating());
    assert_eq!(delay, Some(secs(1)));
    assert_eq!(memory.due, Some(now + secs(1)));
    let (_, delay) = conclude(&mut memory, now + secs(1), ready());
    assert_eq!(delay, None, "Ready waits for a change");
    assert_eq!(memory.due, None);
}

#[test]
fn the_jitter_is_the_callers() {
    let now = Instant::now();
    let retry = || failed(err(ErrorKind::Transient));
    let (_, none) = Memory::default().concluded(now, retry(), Timing::default(), (Duration::ZERO, false), 0.0);
    let (_, most) = Memory::default().concluded(now, retry(), Timing::default(), (Duration::ZERO, false), 0.5);
    assert_eq!((none, most), (Some(secs(1)), Some(Duration::from_millis(1100))));
}

// ---------------------------------------------------------------------------------------------
// Mutations, the work under way and the poll timing; drift.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_mutation_sets_the_listing_to_wait_for_and_the_work_its_polls_aim_at() {
    let now = Instant::now();
    let mut memory = Memory::default();
    memory.mutated(now, Some(Work::Create));
    assert_eq!(memory.mutated_at(), Some(now));
    assert_eq!(
        memory.begun(),
        Some(Begun {
            work: Work::Create,
            at: now
        })
    );
    let learned = |work: Work| (work == Work::Create).then_some(secs(20));
    assert_eq!(
        memory.timing(now + secs(4), learned),
        Timing {
            elapsed: Some(secs(4)),
            learned: Some(secs(20))
        }
    );

    // A tag write keeps the work; a call that began none forgets it; ACTIVE ends it.
    memory.retagged(now + secs(5));
    assert_eq!(
        (memory.mutated_at(), memory.begun().map(|b| b.at)),
        (Some(now + secs(5)), Some(now))
    );
    memory.mutated(now + secs(6), None);
    assert_eq!(memory.begun(), None);
    assert_eq!(
        memory.timing(now + secs(7), |_| panic!("no work, nothing asked")),
        Timing::default()
    );
    memory.mutated(now + secs(8), Some(Work::Delete));
    memory.found_active();
    assert_eq!(memory.begun(), None);
}

#[test]
fn drift_is_read_once() {
    let mut memory = Memory::default();
    assert!(!memory.take_drift());
    memory.drifted();
    assert!(memory.take_drift());
    assert!(!memory.take_drift(), "the next reconcile has read it");
}

// ---------------------------------------------------------------------------------------------
// The counters.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_failure_leaves_polls_and_recover_cycles_alone() {
    let mut memory = Memory {
        polls: 3,
        recoveries: 2,
        ..Memory::default()
    };
    conclude(&mut memory, Instant::now(), failed(err(ErrorKind::Transient)));
    assert_eq!((memory.failures, memory.polls, memory.recoveries), (1, 3, 2));
}

#[test]
fn failures_reset_only_once_a_successful_steps_status_is_written() {
    let mut memory = Memory {
        failures: 3,
        ..Memory::default()
    };
    let (o, _) = conclude(&mut memory, Instant::now(), creating());
    assert_eq!(memory.failures, 3, "not before the write");
    memory.written(&o);
    assert_eq!(memory.failures, 0);
    let (o, _) = conclude(&mut memory, Instant::now(), failed(err(ErrorKind::Transient)));
    memory.written(&o);
    assert_eq!(memory.failures, 1, "a failed step's write keeps the count");
}

#[test]
fn error_policy_polls_a_pending_cleanup_exactly_and_counts_no_failure() {
    let mut memory = Memory::default();
    let pending = Error::CleanupPending(secs(7));
    assert_eq!(memory.failed(&pending), Requeue::Exactly(secs(7)));
    assert_eq!(memory.failures, 0);
}

#[test]
fn error_policy_backs_off_other_errors_from_1s_to_5m() {
    let mut memory = Memory::default();
    let missing = Error::MissingField("metadata.uid");
    let got: Vec<Requeue> = (0..10).map(|_| memory.failed(&missing)).collect();
    let want: Vec<Requeue> = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
        .map(|s| Requeue::About(secs(s)))
        .to_vec();
    assert_eq!(got, want);
    assert_eq!(memory.failures, 10);
}

// ---------------------------------------------------------------------------------------------
// Throttled (client-side): the rate limiter held the object's work back.
// ---------------------------------------------------------------------------------------------

#[test]
fn work_held_long_by_the_limiter_shows_throttled_until_it_ends() {
    let mut memory = Memory::default();
    let short = memory.hold(creating(), secs(9));
    assert_eq!(
        verdict(&short),
        (Phase::Progressing, Reason::Creating),
        "9 s is not long"
    );

    let held = memory.hold(creating(), secs(12));
    assert_eq!(verdict(&held), (Phase::Progressing, Reason::Throttled));
    assert!(
        held.verdict.message.starts_with(&creating().verdict.message)
            && held
                .verdict
                .message
                .contains("waited 12 s behind the operator's client-side rate limit"),
        "{}",
        held.verdict.message
    );
    let next = memory.hold(creating(), Duration::ZERO);
    assert_eq!(
        next.verdict, held.verdict,
        "the same words on the next poll: no status write"
    );

    assert_eq!(verdict(&memory.hold(ready(), secs(30))), (Phase::Ready, Reason::Active));
    assert_eq!(memory.held, None, "the work ended");
    assert_eq!(verdict(&memory.hold(creating(), secs(1))).1, Reason::Creating);
}

#[test]
fn a_failure_held_by_the_limiter_shows_its_own_reason() {
    let mut memory = Memory {
        held: Some(secs(20)),
        ..Memory::default()
    };
    let failed = memory.hold(failed(err(ErrorKind::NotFound)), secs(15));
    assert_eq!(verdict(&failed), (Phase::Progressing, Reason::DependencyNotFound));
    assert_eq!(memory.held, None);
}

#[test]
fn a_step_overdue_while_the_limiter_is_saturated_counts_as_held() {
    let now = Instant::now();
    let mut memory = Memory {
        due: Some(now - secs(14)),
        ..Memory::default()
    };
    let saturated = (Duration::from_millis(50), true);
    let (o, _) = memory.concluded(now, creating(), Timing::default(), saturated, 0.0);
    assert_eq!(verdict(&o).1, Reason::Throttled, "{}", o.verdict.message);
    assert!(o.verdict.message.contains("waited 14 s"), "{}", o.verdict.message);

    let mut calm = Memory {
        due: Some(now - secs(14)),
        ..Memory::default()
    };
    let (o, _) = calm.concluded(
        now,
        creating(),
        Timing::default(),
        (Duration::from_millis(50), false),
        0.0,
    );
    assert_eq!(
        verdict(&o).1,
        Reason::Creating,
        "overdue without a saturated limiter: the workers"
    );
}

#[test]
fn memories_are_kept_per_key_until_forgotten() {
    let all = Memories::default();
    all.with(&key("a", "x"), Memory::drifted);
    assert!(!all.with(&key("a", "y"), Memory::take_drift));
    assert!(all.with("a/x", Memory::take_drift));
    all.with("a/x", Memory::drifted);
    all.forget("a/x");
    assert!(!all.with("a/x", Memory::take_drift), "forgotten");
}

// ---------------------------------------------------------------------------------------------
// What is kept.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_settled_objects_memory_is_not_kept_and_work_under_way_is() {
    let memories = Memories::default();
    let now = Instant::now();
    let (_, delay) = memories.with("team/app", |m| conclude(m, now, ready()));
    assert_eq!(delay, None, "settled: nothing scheduled");
    assert!(
        memories.is_empty(),
        "a settled object's memory is as a new one's: not kept"
    );
    memories.with("team/app", |m| m.mutated(now, Some(Work::Create)));
    assert_eq!(memories.len(), 1, "a Create under way is remembered");
    assert!(memories.with("team/app", |m| m.begun()).is_some());
    memories.with("team/app", |m| {
        m.found_active();
        conclude(m, now, ready());
    });
    assert_eq!(
        memories.len(),
        1,
        "its last change is still remembered for the next listing"
    );
    memories.forget("team/app");
    assert!(memories.is_empty());
}
