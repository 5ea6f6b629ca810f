//! The requeue column of DESIGN.md's behaviour table, and every error class: backoff arithmetic,
//! classification and the poll schedule. (What an object's memory answers after each kind of step:
//! memory/tests.rs.) No I/O.

use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Every error class.
pub(crate) const ERROR_KINDS: [ErrorKind; 12] = [
    ErrorKind::Validation,
    ErrorKind::AccessDenied,
    ErrorKind::NotFound,
    ErrorKind::Conflict,
    ErrorKind::Throttled,
    ErrorKind::QuotaExceeded,
    ErrorKind::Transient,
    ErrorKind::Other,
    ErrorKind::NoRole,
    ErrorKind::RoleNotAllowed,
    ErrorKind::Credentials,
    ErrorKind::CredentialsTransient,
];

#[test]
fn a_reconcile_gives_its_worker_back_when_its_namespace_holds_its_share_retries_always() {
    let turn = |ms: u64, busy: usize| Turn {
        wait: Duration::from_millis(ms),
        busy,
    };
    for priority in [Priority::Change, Priority::Poll, Priority::Drift] {
        assert!(!defer(priority, turn(150, 4), 5, 8), "{priority:?} waits a short turn");
        assert!(
            defer(priority, turn(300, 4), 2, 8),
            "{priority:?}: 2 of its namespace run, its share of 8 workers among 4 namespaces"
        );
        assert!(
            !defer(priority, turn(300, 4), 1, 8),
            "{priority:?}: its namespace's second"
        );
        assert!(
            !defer(priority, turn(5000, 1), 7, 8),
            "{priority:?}: one namespace alone keeps every worker"
        );
        assert!(
            defer(priority, turn(300, 20), 1, 8),
            "more namespaces than workers: one each"
        );
    }
    assert!(!defer(Priority::Retry, turn(100, 4), 0, 8), "a short wait is taken");
    assert!(
        defer(Priority::Retry, turn(300, 1), 0, 8),
        "a retry is put off behind any queue"
    );
}

#[test]
fn a_step_is_held_by_the_limiter_for_its_waits_or_while_saturated_since_it_was_due() {
    assert_eq!(held(None, secs(3), true), secs(3), "a first step: its own waits");
    assert_eq!(held(Some(secs(14)), secs(3), true), secs(14), "late for a worker");
    assert_eq!(
        held(Some(secs(14)), secs(3), false),
        secs(3),
        "late, but not for the limiter's sake"
    );
}

fn err(kind: ErrorKind) -> LatticeError {
    LatticeError::new(kind, "SomeException", "something went wrong")
}

// ---------------------------------------------------------------------------------------------
// exponential(): polls, error backoff, recreate backoff.
// ---------------------------------------------------------------------------------------------

#[test]
fn exponential_poll_is_1_2_4_8_then_capped_at_15s() {
    let got: Vec<Duration> = (1..=7).map(|n| exponential(n, POLL)).collect();
    assert_eq!(got, [1, 2, 4, 8, 15, 15, 15].map(secs));
}

#[test]
fn exponential_error_backoff_grows_from_1s_to_5m() {
    let got: Vec<Duration> = (1..=10).map(|n| exponential(n, ERROR_BACKOFF)).collect();
    assert_eq!(got, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300].map(secs));
}

#[test]
fn exponential_recreate_backoff_grows_from_5s_to_5m() {
    let got: Vec<Duration> = (1..=8).map(|n| exponential(n, RECREATE_BACKOFF)).collect();
    assert_eq!(got, [5, 10, 20, 40, 80, 160, 300, 300].map(secs));
}

#[test]
fn exponential_zero_attempts_is_the_base() {
    assert_eq!(exponential(0, POLL), secs(1));
    assert_eq!(exponential(0, RECREATE_BACKOFF), secs(5));
}

#[test]
fn exponential_never_overflows_and_stays_capped() {
    for n in [20, 21, 31, 32, 33, 64, 1_000, u32::MAX] {
        assert_eq!(exponential(n, ERROR_BACKOFF), secs(300), "n = {n}");
        assert_eq!(exponential(n, POLL), secs(15), "n = {n}");
    }
    // A cap above base * 2^20 shows the growth stops at 2^20 without overflowing.
    assert_eq!(exponential(u32::MAX, (secs(1), Duration::MAX)), secs(1 << 20));
}

#[test]
fn backoff_constants_match_design() {
    assert_eq!(POLL, (secs(1), secs(15)));
    assert_eq!(ERROR_BACKOFF, (secs(1), secs(300)));
    assert_eq!(RECREATE_BACKOFF, (secs(5), secs(300)));
}

// ---------------------------------------------------------------------------------------------
// shows_as() and retry_in(): every error class.
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_failure(err: &LatticeError, failures: u32, reason: Reason, stalled: bool, requeue: Duration) {
    assert_eq!(
        (shows_as(err.kind), retry_in(err, failures)),
        ((reason, stalled), requeue),
        "{:?} after {failures} failure(s)",
        err.kind
    );
}

#[test]
fn classify_validation_is_stalled_invalid_spec_for_an_hour() {
    for failures in [0, 1, 5, 50] {
        assert_failure(
            &err(ErrorKind::Validation),
            failures,
            Reason::InvalidSpec,
            true,
            secs(3600),
        );
    }
}

#[test]
fn classify_access_denied_is_stalled_retrying_every_5m() {
    for failures in [0, 1, 5, 50] {
        assert_failure(
            &err(ErrorKind::AccessDenied),
            failures,
            Reason::AccessDenied,
            true,
            secs(300),
        );
    }
}

#[test]
fn classify_quota_exceeded_is_stalled_retrying_every_15m() {
    for failures in [0, 1, 5, 50] {
        assert_failure(
            &err(ErrorKind::QuotaExceeded),
            failures,
            Reason::QuotaExceeded,
            true,
            secs(900),
        );
    }
}

#[test]
fn classify_not_found_is_dependency_not_found_backing_off_5s_to_5m() {
    let e = err(ErrorKind::NotFound);
    for (failures, expected) in [(0, 5), (1, 5), (2, 10), (3, 20), (6, 160), (7, 300), (40, 300)] {
        assert_failure(&e, failures, Reason::DependencyNotFound, false, secs(expected));
    }
}

#[test]
fn classify_throttled_honours_retry_after() {
    let e = err(ErrorKind::Throttled).with_retry_after(Some(42));
    for failures in [1, 3, 30] {
        assert_failure(&e, failures, Reason::Throttled, false, secs(42));
    }
}

#[test]
fn classify_throttled_without_retry_after_backs_off_1s_to_5m() {
    let e = err(ErrorKind::Throttled);
    assert_eq!(e.retry_after, None);
    for (failures, expected) in [(0, 1), (1, 1), (2, 2), (4, 8), (9, 256), (10, 300), (99, 300)] {
        assert_failure(&e, failures, Reason::Throttled, false, secs(expected));
    }
}

#[test]
fn classify_throttled_with_negative_retry_after_backs_off() {
    let e = err(ErrorKind::Throttled).with_retry_after(Some(-5));
    assert_eq!(e.retry_after, None);
    assert_failure(&e, 3, Reason::Throttled, false, secs(4));
}

/// DESIGN.md: "ThrottlingException → honour retryAfterSeconds, else backoff with jitter; never a hot
/// loop". A `Retry-After: 0` must not turn into an immediate requeue on every throttled call.
#[test]
fn classify_throttled_with_zero_retry_after_is_not_a_hot_loop() {
    let e = err(ErrorKind::Throttled).with_retry_after(Some(0));
    for failures in [1, 5] {
        let requeue = retry_in(&e, failures);
        assert!(
            requeue >= ERROR_BACKOFF.0,
            "Retry-After: 0 after {failures} throttled call(s) requeues after {requeue:?}: a hot loop"
        );
    }
}

#[test]
fn classify_transient_other_and_conflict_are_aws_error_backing_off_1s_to_5m() {
    for kind in [ErrorKind::Transient, ErrorKind::Other, ErrorKind::Conflict] {
        let e = err(kind);
        for (failures, expected) in [(0, 1), (1, 1), (2, 2), (3, 4), (8, 128), (10, 300), (1_000, 300)] {
            assert_failure(&e, failures, Reason::AwsError, false, secs(expected));
        }
    }
}

#[test]
fn classify_only_human_fixable_classes_are_stalled() {
    let stalled: Vec<ErrorKind> = ERROR_KINDS.into_iter().filter(|k| shows_as(*k).1).collect();
    assert_eq!(
        stalled,
        [
            ErrorKind::Validation,
            ErrorKind::AccessDenied,
            ErrorKind::QuotaExceeded,
            ErrorKind::NoRole,
            ErrorKind::RoleNotAllowed,
            ErrorKind::Credentials,
        ]
    );
}

#[test]
fn classify_credentials_refused_is_stalled_every_minute_unreachable_sts_backs_off() {
    for failures in [0, 1, 5, 50] {
        assert_failure(
            &err(ErrorKind::Credentials),
            failures,
            Reason::CredentialsUnavailable,
            true,
            secs(60),
        );
        assert_failure(
            &err(ErrorKind::RoleNotAllowed),
            failures,
            Reason::RoleNotAllowed,
            true,
            secs(60),
        );
    }
    for (failures, expected) in [(1, 1), (3, 4), (10, 300)] {
        assert_failure(
            &err(ErrorKind::CredentialsTransient),
            failures,
            Reason::CredentialsUnavailable,
            false,
            secs(expected),
        );
    }
}

#[test]
fn classify_no_role_is_stalled_rechecking_every_minute() {
    for failures in [0, 1, 5, 50] {
        assert_failure(
            &err(ErrorKind::NoRole),
            failures,
            Reason::NoRoleForNamespace,
            true,
            secs(60),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The named intervals and the jitter.
// ---------------------------------------------------------------------------------------------

#[test]
fn named_intervals_match_design() {
    assert_eq!(NEXT_STEP, Duration::from_millis(100));
    assert_eq!(REFUSED_RECHECK, secs(300));
    assert_eq!(CONFLICT_RETRY, secs(5));
    assert_eq!(INVALID_SPEC_RECHECK, secs(3600));
    assert_eq!(ACCESS_DENIED_RECHECK, secs(300));
    assert_eq!(QUOTA_RECHECK, secs(900));
}

#[test]
fn jitter_adds_up_to_a_fifth_and_only_to_about() {
    assert_eq!(Requeue::About(secs(10)).delay_with(0.0), Some(secs(10)));
    assert_eq!(Requeue::About(secs(10)).delay_with(0.5), Some(secs(11)));
    assert_eq!(Requeue::About(secs(10)).delay_with(1.0), Some(secs(12)));
    assert_eq!(
        Requeue::About(secs(10)).delay_with(7.0),
        Some(secs(12)),
        "never more than a fifth"
    );
    assert_eq!(Requeue::Exactly(secs(10)).delay_with(0.9), Some(secs(10)));
    assert_eq!(Requeue::Never.delay_with(0.9), None);
    assert_eq!(jittered(secs(100), (-0.1, 0.1), 0.0), secs(90));
    assert_eq!(jittered(secs(100), (-0.1, 0.1), 0.5), secs(100));
}

// ---------------------------------------------------------------------------------------------
// poll_delay(): the poll schedule, with and without a learned provisioning time.
// ---------------------------------------------------------------------------------------------

/// The times (since the accepted call) at which the polls land, and their delays, for work that
/// takes `takes`: polls until one lands at or after `takes` (each poll sees the time waited so far).
fn polls_until_done(takes: Duration, learned: Option<Duration>, elapsed_known: bool) -> Vec<Duration> {
    let mut at = Duration::ZERO;
    let mut delays = Vec::new();
    let mut memory = crate::reconcile::memory::Memory::default();
    while at < takes {
        let timing = Timing {
            elapsed: elapsed_known.then_some(at),
            learned,
        };
        let Requeue::Exactly(delay) = memory.schedule(&Next::Poll, false, timing) else {
            panic!("a poll is exact");
        };
        delays.push(delay);
        at += delay;
        assert!(delays.len() < 100, "never done: {delays:?}");
    }
    delays
}

fn millis(ms: &[u64]) -> Vec<Duration> {
    ms.iter().map(|ms| Duration::from_millis(*ms)).collect()
}

#[test]
fn poll_schedule_with_nothing_learned_doubles_to_15s_then_polls_every_3s() {
    let unknown = |n| poll_delay(n, Timing::default());
    let got: Vec<Duration> = (1..=8).map(unknown).collect();
    assert_eq!(got, [1, 2, 4, 8, 3, 3, 3, 3].map(secs));
    // D = 20 s, first ever: the polls land at 1, 3, 7, 15, 18, 21 s: done seen at 21 s (1.05 × D)
    // with 6 Lists, where the old 15 s cap saw it at 30 s.
    let delays = polls_until_done(secs(20), None, true);
    assert_eq!(delays, [1, 2, 4, 8, 3, 3].map(secs));
    assert_eq!(delays.iter().sum::<Duration>(), secs(21));
}

#[test]
fn poll_schedule_with_nothing_learned_grows_the_tail_to_15_percent_of_the_wait_up_to_the_cap() {
    let at = |elapsed| {
        poll_delay(
            9,
            Timing {
                elapsed: Some(secs(elapsed)),
                learned: None,
            },
        )
    };
    assert_eq!(at(15), secs(3));
    assert_eq!(at(40), secs(6));
    assert_eq!(at(100), secs(15));
    assert_eq!(at(3600), secs(15), "never more than the cap");
}

#[test]
fn poll_schedule_with_20s_learned_looks_first_just_before_20s_then_every_second() {
    // The cap holds: 15 s, then to 19.5 s, then 1 s steps.
    let delays = polls_until_done(secs(20), Some(secs(20)), true);
    assert_eq!(delays, millis(&[15_000, 4_500, 1_000]));
    let done = delays.iter().sum::<Duration>();
    assert!(done <= secs(21), "within D + 1 s: {done:?}");
    // 3 Lists besides the Create: 4 calls in all.
    assert_eq!(delays.len(), 3);
}

#[test]
fn poll_schedule_with_5s_learned_looks_at_4_5s_then_every_second() {
    let delays = polls_until_done(secs(5), Some(secs(5)), true);
    assert_eq!(delays, millis(&[4_500, 1_000]));
    // Work that takes longer than learned: 1 s steps up to 5 s past the learned time, then the tail.
    let slow = polls_until_done(secs(20), Some(secs(5)), true);
    assert_eq!(
        slow,
        millis(&[
            4_500, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 3_000, 3_000, 3_000, 3_000
        ])
    );
}

#[test]
fn poll_schedule_ignores_a_learned_time_when_the_start_is_unknown() {
    // After a restart the object's Create or Delete time is unknown: the schedule without learning.
    let delays = polls_until_done(secs(20), Some(secs(5)), false);
    assert_eq!(delays, [1, 2, 4, 8, 3, 3].map(secs));
}

#[test]
fn poll_schedule_never_exceeds_the_cap() {
    for learned in [None, Some(secs(1)), Some(secs(20)), Some(secs(600))] {
        for elapsed in [None, Some(secs(0)), Some(secs(30)), Some(secs(10_000))] {
            for n in [1, 4, 5, 50] {
                let d = poll_delay(n, Timing { elapsed, learned });
                assert!(d <= POLL.1 && !d.is_zero(), "{learned:?} {elapsed:?} {n}: {d:?}");
            }
        }
    }
}
