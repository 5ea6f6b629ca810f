//! When to look at an object again, pure: the intervals (DESIGN.md's "requeue" column), how failures
//! are classified and backed off, and the per-object counters that make backoff grow. Only
//! [`Requeue::delay`] draws the random jitter.

use std::time::{Duration, Instant};

use super::error::Error;
use super::reason::Reason;
use crate::lattice::{ErrorKind, LatticeError};

/// Backoff base and cap of errors that are retried.
pub const ERROR_BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(300));
/// Backoff base and cap of recreate cycles and missing dependencies.
pub const RECREATE_BACKOFF: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(300));
/// Poll base and cap while AWS is creating or deleting.
pub const POLL: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(15));
/// The next step is ready: look again right away (a beat, so the status write lands first).
pub const NEXT_STEP: Duration = Duration::from_millis(100);
/// The pair belongs to another association the policy refuses: look again this often.
pub const REFUSED_RECHECK: Duration = Duration::from_secs(300);
/// Create reported a conflict but the pair's association was not found: create again after this.
pub const CONFLICT_RETRY: Duration = Duration::from_secs(5);
/// An invalid spec waits for an edit; this safety recheck is all that comes before one.
pub const INVALID_SPEC_RECHECK: Duration = Duration::from_secs(3600);
/// Access denied: IAM is fixed outside the cluster, so try again this often.
pub const ACCESS_DENIED_RECHECK: Duration = Duration::from_secs(300);
/// A quota used up: try again this often.
pub const QUOTA_RECHECK: Duration = Duration::from_secs(900);

/// `base * 2^(n-1)`, capped, for the n-th consecutive attempt (n ≥ 1).
pub fn exponential(n: u32, (base, cap): (Duration, Duration)) -> Duration {
    let factor = 1u32.checked_shl(n.saturating_sub(1).min(20)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// How a failure shows on the object and when to try again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Condition and Event reason.
    pub reason: Reason,
    /// True when no progress is possible without a human (kstatus `Stalled`).
    pub stalled: bool,
    pub requeue: Duration,
}

/// How a class of error shows on the object: its reason, and whether only a human can help
/// (kstatus `Stalled`).
pub fn shows_as(kind: ErrorKind) -> (Reason, bool) {
    match kind {
        ErrorKind::Validation => (Reason::InvalidSpec, true),
        ErrorKind::AccessDenied => (Reason::AccessDenied, true),
        ErrorKind::QuotaExceeded => (Reason::QuotaExceeded, true),
        ErrorKind::NotFound => (Reason::DependencyNotFound, false),
        ErrorKind::Throttled => (Reason::Throttled, false),
        ErrorKind::Conflict | ErrorKind::Transient | ErrorKind::Other => (Reason::AwsError, false),
    }
}

/// Classifies an error for the object: reason, stalled, and when to retry, given how many failures
/// in a row the object has had (including this one).
pub fn classify(err: &LatticeError, failures: u32) -> Failure {
    let backoff = |policy| exponential(failures.max(1), policy);
    let (reason, stalled) = shows_as(err.kind);
    let requeue = match err.kind {
        ErrorKind::Validation => INVALID_SPEC_RECHECK,
        ErrorKind::AccessDenied => ACCESS_DENIED_RECHECK,
        ErrorKind::QuotaExceeded => QUOTA_RECHECK,
        ErrorKind::NotFound => backoff(RECREATE_BACKOFF),
        // AWS's Retry-After is honoured; a zero or missing one falls back to backoff (never a hot loop).
        ErrorKind::Throttled => match err.retry_after {
            Some(after) if !after.is_zero() => after,
            _ => backoff(ERROR_BACKOFF),
        },
        ErrorKind::Conflict | ErrorKind::Transient | ErrorKind::Other => backoff(ERROR_BACKOFF),
    };
    Failure {
        reason,
        stalled,
        requeue,
    }
}

/// Counters kept per object between reconciles (not persisted: a restart starts afresh).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Consecutive failed reconciles.
    pub failures: u32,
    /// Consecutive polls while AWS works.
    pub polls: u32,
    /// Recover (delete-to-recreate) cycles since the association was last ACTIVE.
    pub recoveries: u32,
    /// When the object's last mutating AWS call returned: its next observation must come from a
    /// listing begun after it, so that it sees its own change.
    pub mutated_at: Option<Instant>,
    /// The drift scan found the association's tags different from the spec: the next reconcile
    /// reads them, even if its status says they were verified for the generation.
    pub tags_drifted: bool,
}

/// When to look again after a step, as the step sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// AWS is working: poll at growing intervals ([`POLL`]).
    Poll,
    /// Right away: the next step is ready ([`NEXT_STEP`]).
    Now,
    /// After about this long.
    After(Duration),
    /// After the backoff of one more recover cycle ([`RECREATE_BACKOFF`]).
    Recover,
    /// Only when something changes (an edit, or the drift scan wakes it).
    Idle,
    /// After the backoff of this failure, one more in a row ([`classify`]).
    Retry(LatticeError),
}

/// When the controller looks again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// After exactly this long.
    Exactly(Duration),
    /// After this long plus up to 20% jitter, so objects that failed together do not retry together.
    About(Duration),
    /// Only on a change.
    Never,
}

impl Requeue {
    /// The delay to hand the controller (`None`: wait for a change); draws the jitter of `About`.
    pub fn delay(self) -> Option<Duration> {
        match self {
            Requeue::Exactly(d) => Some(d),
            Requeue::About(d) => Some(d.mul_f64(1.0 + rand::random::<f64>() * 0.2)),
            Requeue::Never => None,
        }
    }
}

/// Counts a step in the object's memory and says when to look again. `ready`: the step found the
/// association ACTIVE and in sync (recover cycles start afresh). The failure count of a step that
/// succeeded is reset only once its status is written (see `reconcile`), so a failed write keeps the
/// backoff growing.
pub fn schedule(memory: &mut Memory, next: &Next, ready: bool) -> Requeue {
    let requeue = match next {
        Next::Retry(err) => {
            memory.failures += 1;
            return Requeue::About(classify(err, memory.failures).requeue);
        }
        Next::Poll => {
            memory.polls += 1;
            Requeue::Exactly(exponential(memory.polls, POLL))
        }
        Next::Now => Requeue::Exactly(NEXT_STEP),
        Next::After(d) => Requeue::About(*d),
        Next::Recover => {
            memory.recoveries += 1;
            Requeue::About(exponential(memory.recoveries, RECREATE_BACKOFF))
        }
        Next::Idle => Requeue::Never,
    };
    if *next != Next::Poll {
        memory.polls = 0;
    }
    if ready {
        memory.recoveries = 0;
    }
    requeue
}

/// `error_policy`'s answer: a deletion still under way is polled as it asked; anything else (a
/// Kubernetes failure) counts as one more failure and backs off.
pub fn after_error(memory: &mut Memory, err: &Error) -> Requeue {
    match err {
        Error::CleanupPending(after) => Requeue::Exactly(*after),
        _ => {
            memory.failures += 1;
            Requeue::About(exponential(memory.failures, ERROR_BACKOFF))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
