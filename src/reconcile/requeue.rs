//! When to look at an object again, pure: the intervals (DESIGN.md's "requeue" column), how failures
//! are classified and backed off, and the poll schedule. The counters that make backoff grow are the
//! object's [`Memory`](super::memory::Memory); the jitter is drawn by the caller ([`Requeue::delay_with`]).

use std::time::Duration;

use super::reason::Reason;
use crate::lattice::{ErrorKind, LatticeError};
use crate::limiter::fair::{Priority, Turn};

/// Backoff base and cap of errors that are retried.
pub const ERROR_BACKOFF: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(300));
/// Backoff base and cap of recreate cycles and missing dependencies.
pub const RECREATE_BACKOFF: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(300));
/// Poll base and cap while AWS is creating or deleting.
pub const POLL: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(15));
/// Once the doubling polls (1, 2, 4, 8 s: 15 s in all) found AWS still working and nothing is
/// learned, poll this often (or 15% of the time waited so far, if longer, up to [`POLL`]'s cap), so
/// a poll lands at most ~3 s (≥ 20 s: ≤ 15%) after AWS is done. Short polls are cheap: the polls of
/// every object of a network share one List (one call per 100 objects).
pub const POLL_TAIL: Duration = Duration::from_secs(3);
/// How many doubling polls come before [`POLL_TAIL`] when nothing is learned.
pub const POLL_DOUBLINGS: u32 = 4;
/// With a learned time, the first poll lands this much before it…
pub const LEARNED_MARGIN: Duration = Duration::from_millis(500);
/// …then polls come this often…
pub const LEARNED_STEP: Duration = Duration::from_secs(1);
/// …until this long past the learned time, when the work is taking longer than learned and the
/// polls fall back to the tail ([`POLL_TAIL`]).
pub const LEARNED_WINDOW: Duration = Duration::from_secs(5);
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
/// The namespace names no IAM role while one is required: look again this often (Namespaces are not
/// watched; their annotations are read again after 30 s).
pub const NO_ROLE_RECHECK: Duration = Duration::from_secs(60);
/// No credentials for the object's identity (STS refused, none configured): fixed outside the
/// cluster, tried again this often (the SDK caches no failure, so each try asks STS once).
pub const CREDENTIALS_RECHECK: Duration = Duration::from_secs(60);
/// A quota used up: try again this often.
pub const QUOTA_RECHECK: Duration = Duration::from_secs(900);

/// How long one step's AWS calls must have waited for the client-side rate limiter, in all, before
/// the object shows reason `Throttled` (10 s: half the time AWS takes to create an association, and
/// far beyond a poll's first step).
pub const THROTTLED_AFTER: Duration = Duration::from_secs(10);

/// How long the rate limiter held a step back, pure: the time its calls waited for tokens, or,
/// while the limiter is saturated (its Creates and Deletes wait for tokens), since the step was
/// due, if longer (`overdue`: a requeued step also waits for a worker, and the workers are then busy
/// waiting for tokens).
pub fn held(overdue: Option<Duration>, waited: Duration, saturated: bool) -> Duration {
    match overdue {
        Some(overdue) if saturated => overdue.max(waited),
        _ => waited,
    }
}

/// A reconcile may give its worker back only when its first call would wait for the rate limiter
/// this long or longer.
pub const DEFER_ABOVE: Duration = Duration::from_millis(200);

/// Whether a reconcile should give its worker back instead of waiting for a token, pure: only when
/// its first call would wait at least [`DEFER_ABOVE`], and then a retry of a failing object
/// ([`Priority::Retry`]) always; any other only while several namespaces take turns and `running`
/// other reconciles of its namespace already hold its share of the `workers` (divided among those
/// namespaces): they take the namespace's turns meanwhile, and the worker goes to another
/// namespace's work. (One namespace alone keeps every worker: its burst runs as fast as before.)
/// It is requeued at the time the limiter reserves for it.
pub fn defer(priority: Priority, turn: Turn, running: usize, workers: usize) -> bool {
    if turn.wait < DEFER_ABOVE {
        return false;
    }
    priority == Priority::Retry || (turn.busy > 1 && running >= (workers / turn.busy).max(1))
}

/// `base * 2^(n-1)`, capped, for the n-th consecutive attempt (n ≥ 1).
pub fn exponential(n: u32, (base, cap): (Duration, Duration)) -> Duration {
    let factor = 1u32.checked_shl(n.saturating_sub(1).min(20)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(cap)
}

/// How a class of error shows on the object: its reason, and whether only a human can help
/// (kstatus `Stalled`).
pub fn shows_as(kind: ErrorKind) -> (Reason, bool) {
    match kind {
        ErrorKind::Validation => (Reason::InvalidSpec, true),
        ErrorKind::AccessDenied => (Reason::AccessDenied, true),
        ErrorKind::NoRole => (Reason::NoRoleForNamespace, true),
        ErrorKind::RoleNotAllowed => (Reason::RoleNotAllowed, true),
        ErrorKind::Credentials => (Reason::CredentialsUnavailable, true),
        ErrorKind::CredentialsTransient => (Reason::CredentialsUnavailable, false),
        ErrorKind::QuotaExceeded => (Reason::QuotaExceeded, true),
        ErrorKind::NotFound => (Reason::DependencyNotFound, false),
        ErrorKind::Throttled => (Reason::Throttled, false),
        ErrorKind::Conflict | ErrorKind::Transient | ErrorKind::Other => (Reason::AwsError, false),
    }
}

/// When to try again after `err`, given how many failures in a row the object has had (including
/// this one). (How it shows: [`shows_as`].)
pub fn retry_in(err: &LatticeError, failures: u32) -> Duration {
    let backoff = |policy| exponential(failures.max(1), policy);
    match err.kind {
        ErrorKind::Validation => INVALID_SPEC_RECHECK,
        ErrorKind::AccessDenied => ACCESS_DENIED_RECHECK,
        ErrorKind::NoRole | ErrorKind::RoleNotAllowed => NO_ROLE_RECHECK,
        ErrorKind::Credentials => CREDENTIALS_RECHECK,
        ErrorKind::QuotaExceeded => QUOTA_RECHECK,
        ErrorKind::NotFound => backoff(RECREATE_BACKOFF),
        // AWS's Retry-After is honoured; a zero or missing one falls back to backoff (never a hot loop).
        ErrorKind::Throttled => match err.retry_after {
            Some(after) if !after.is_zero() => after,
            _ => backoff(ERROR_BACKOFF),
        },
        ErrorKind::Conflict | ErrorKind::Transient | ErrorKind::Other | ErrorKind::CredentialsTransient => {
            backoff(ERROR_BACKOFF)
        }
    }
}

/// What a poll's delay is worked out from, besides the count of polls: how long ago the object's
/// Create or Delete was accepted (`None`: unknown, e.g. after a restart) and how long that work has
/// recently taken in the object's service network (`None`: nothing learned yet).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    pub elapsed: Option<Duration>,
    pub learned: Option<Duration>,
}

/// The delay before the `polls`-th consecutive poll (n ≥ 1). Pure.
///
/// - Learned time `L` and elapsed time known: the first poll lands at `L -` [`LEARNED_MARGIN`]
///   (in steps of at most [`POLL`]'s cap), then every [`LEARNED_STEP`] until [`LEARNED_WINDOW`]
///   past `L`, then the tail.
/// - Otherwise: 1, 2, 4, 8 s ([`POLL_DOUBLINGS`]), then the tail: [`POLL_TAIL`], or 15% of the
///   elapsed time when known and longer, never more than [`POLL`]'s cap.
pub fn poll_delay(polls: u32, timing: Timing) -> Duration {
    let tail = || {
        timing
            .elapsed
            .map_or(POLL_TAIL, |e| e.mul_f64(0.15).clamp(POLL_TAIL, POLL.1))
    };
    match (timing.elapsed, timing.learned) {
        (Some(elapsed), Some(learned)) => {
            let aim = learned.saturating_sub(LEARNED_MARGIN);
            if elapsed + LEARNED_STEP <= aim {
                (aim - elapsed).min(POLL.1)
            } else if elapsed < learned + LEARNED_WINDOW {
                LEARNED_STEP
            } else {
                tail()
            }
        }
        _ if polls <= POLL_DOUBLINGS => exponential(polls, POLL),
        _ => tail(),
    }
}

/// When to look again after a step, as the step sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// AWS is working: poll ([`poll_delay`]).
    Poll,
    /// Right away: the next step is ready ([`NEXT_STEP`]).
    Now,
    /// After about this long.
    After(Duration),
    /// After the backoff of one more recover cycle ([`RECREATE_BACKOFF`]).
    Recover,
    /// Only when something changes (an edit, or the drift scan wakes it).
    Idle,
    /// After the backoff of this failure, one more in a row ([`retry_in`]).
    Retry(LatticeError),
}

/// The spread of [`Requeue::About`]: up to a fifth later, so objects that failed together do not
/// retry together.
pub const ABOUT_SPREAD: (f64, f64) = (0.0, 0.2);

/// `d` moved by a fraction of itself between `spread`'s bounds, `draw` ∈ [0, 1) picking where (the
/// one jitter rule: requeues use [`ABOUT_SPREAD`], the drift scan's period ±10%).
pub fn jittered(d: Duration, (low, high): (f64, f64), draw: f64) -> Duration {
    d.mul_f64(1.0 + low + (high - low) * draw.clamp(0.0, 1.0))
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
    /// The delay to hand the controller (`None`: wait for a change), `About`'s jitter `jitter` ∈
    /// [0, 1) of its fifth.
    pub fn delay_with(self, jitter: f64) -> Option<Duration> {
        match self {
            Requeue::Exactly(d) => Some(d),
            Requeue::About(d) => Some(jittered(d, ABOUT_SPREAD, jitter)),
            Requeue::Never => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
