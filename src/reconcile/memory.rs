//! What the operator remembers of each object between its reconciles, and the one owner of it.
//!
//! [`Memory`]'s fields are private: its methods are the transitions a reconcile makes (started, put
//! off, found ACTIVE, mutated, concluded, written, failed outside a step), each given `now`, so the
//! whole life of an object's memory is pure and unit-tested. [`Memories`] holds every object's
//! behind one lock, keyed by [`key`]; nothing else keeps per-object state. (As kube-runtime's
//! scheduler owns its per-key state and linkerd2's policy index owns its index: the owner's methods
//! are the only way in.) Not persisted: a restart starts afresh.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::Error;
use super::outcome::Outcome;
use super::reason::Reason;
use super::requeue::{self, ERROR_BACKOFF, Next, RECREATE_BACKOFF, Requeue, Timing};
use super::status::Phase;
use crate::lattice::{Begun, Work};
use crate::lock;

/// `<namespace>/<name>`: the key of an object's memory, and the value of its owner tag.
pub fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Counters and times kept per object between reconciles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Consecutive failed reconciles.
    failures: u32,
    /// Consecutive polls while AWS works.
    polls: u32,
    /// Recover (delete-to-recreate) cycles since the association was last ACTIVE.
    recoveries: u32,
    /// When the object's last mutating AWS call returned: its next observation must come from a
    /// listing begun after it, so that it sees its own change.
    mutated_at: Option<Instant>,
    /// The drift scan found the association's tags different from the spec: the next reconcile
    /// reads them, even if its status says they were verified for the generation.
    tags_drifted: bool,
    /// The object's Create or Delete that AWS accepted and is still working on: its polls aim at
    /// the network's learned time, and a listing begun after a Delete confirms the association gone.
    begun: Option<Begun>,
    /// The longest the client-side rate limiter held one of this work's steps back, once that was
    /// at least [`requeue::THROTTLED_AFTER`]: shown (reason `Throttled`) until the work ends.
    held: Option<Duration>,
    /// When the object's next reconcile is due, as its last step scheduled it.
    due: Option<Instant>,
}

impl Memory {
    /// A reconcile starts at `now`. An object nothing has scheduled yet (new, or being deleted) has
    /// waited `pending` (from its status; never longer than this process has run, `uptime`): it has
    /// been due since then. Returns the failures in a row so far (its priority).
    pub fn started(&mut self, now: Instant, pending: Option<Duration>, uptime: Duration) -> u32 {
        if self.due.is_none()
            && let Some(pending) = pending
        {
            self.due = now.checked_sub(pending.min(uptime));
        }
        self.failures
    }

    /// The reconcile gave its worker back until the limiter's reserved time, `after` from `now`; it
    /// stays due since it first was.
    pub fn put_off(&mut self, now: Instant, after: Duration) {
        self.due = self.due.or(Some(now + after));
    }

    /// The drift scan saw the association's tags differ from the spec.
    pub fn drifted(&mut self) {
        self.tags_drifted = true;
    }

    /// Whether the drift scan saw other tags since the last reconcile; forgets it.
    pub fn take_drift(&mut self) -> bool {
        std::mem::take(&mut self.tags_drifted)
    }

    /// The association was found ACTIVE: a Create is done, later polls are not aimed at it.
    pub fn found_active(&mut self) {
        self.begun = None;
    }

    /// A mutating call returned at `now`. `work`: the Create or Delete it began that AWS is still
    /// working on; `None` (failed, or adopted/found something) forgets an earlier one.
    pub fn mutated(&mut self, now: Instant, work: Option<Work>) {
        self.mutated_at = Some(now);
        self.begun = work.map(|work| Begun { work, at: now });
    }

    /// A Tag or Untag call returned at `now`: the next observation comes from a later listing; the
    /// work under way, if any, goes on.
    pub fn retagged(&mut self, now: Instant) {
        self.mutated_at = Some(now);
    }

    /// The listing the object's next observation must begin after (its own last change).
    pub fn mutated_at(&self) -> Option<Instant> {
        self.mutated_at
    }

    /// The Create or Delete AWS is working on for the object.
    pub fn begun(&self) -> Option<Begun> {
        self.begun
    }

    /// How its next poll is timed at `now`: since its Create or Delete was accepted, and how long
    /// that work has recently taken (`learned`, asked only when work is under way).
    pub fn timing(&self, now: Instant, learned: impl FnOnce(Work) -> Option<Duration>) -> Timing {
        match self.begun {
            Some(begun) => Timing {
                elapsed: Some(now.saturating_duration_since(begun.at)),
                learned: learned(begun.work),
            },
            None => Timing::default(),
        }
    }

    /// A step ends at `now` with `outcome`: shown as `Throttled` while the client-side rate limiter
    /// holds its work back (its calls `waited`, or, while the limiter is `saturated`, since it was
    /// due), counted, and given its next look: after the returned delay (`None`: on a change). The
    /// delay's jitter is `jitter` ∈ [0, 1) ([`Requeue::delay_with`]).
    pub fn concluded(
        &mut self,
        now: Instant,
        outcome: Outcome,
        timing: Timing,
        (waited, saturated): (Duration, bool),
        jitter: f64,
    ) -> (Outcome, Option<Duration>) {
        let overdue = self.due.map(|due| now.saturating_duration_since(due));
        let outcome = self.hold(outcome, requeue::held(overdue, waited, saturated));
        let delay = self
            .schedule(&outcome.next, outcome.verdict.phase == Phase::Ready, timing)
            .delay_with(jitter);
        self.due = delay.map(|after| now + after);
        (outcome, delay)
    }

    /// The step's status is written. A step that succeeded resets the failure count only now, so a
    /// failed write keeps the backoff growing.
    pub fn written(&mut self, outcome: &Outcome) {
        if !outcome.failed() {
            self.failures = 0;
        }
    }

    /// `error_policy`'s answer: a deletion still under way is polled as it asked; anything else (a
    /// Kubernetes failure) counts as one more failure and backs off.
    pub fn failed(&mut self, err: &Error) -> Requeue {
        match err {
            Error::CleanupPending(after) => Requeue::Exactly(*after),
            _ => {
                self.failures += 1;
                Requeue::About(requeue::exponential(self.failures, ERROR_BACKOFF))
            }
        }
    }

    /// Shows that the client-side rate limiter held the object's work back: once a step of the work
    /// under way was `held` at least [`requeue::THROTTLED_AFTER`] ([`requeue::held`]), its verdicts
    /// while the work goes on say reason `Throttled` and how long, until the work ends (Ready or
    /// Stalled) or a step fails (its own reason shows). Remembered so the reason does not flicker
    /// between steps, each flicker a status write.
    pub(super) fn hold(&mut self, mut outcome: Outcome, held: Duration) -> Outcome {
        if outcome.verdict.phase != Phase::Progressing || outcome.failed() {
            self.held = None;
            return outcome;
        }
        if held >= requeue::THROTTLED_AFTER {
            self.held = Some(self.held.map_or(held, |before| before.max(held)));
        }
        if let Some(held) = self.held {
            outcome.verdict.reason = Reason::Throttled;
            outcome.verdict.message = format!(
                "{}; its AWS work waited {} s behind the operator's client-side rate limit \
                 (--aws-max-rps), which the namespaces with work queued share in turns",
                outcome.verdict.message,
                held.as_secs()
            );
        }
        outcome
    }

    /// Counts a step and says when to look again. `ready`: the step found the association ACTIVE and
    /// in sync (recover cycles start afresh). Polls are timed by `timing` ([`requeue::poll_delay`]).
    pub(super) fn schedule(&mut self, next: &Next, ready: bool, timing: Timing) -> Requeue {
        let requeue = match next {
            Next::Retry(err) => {
                self.failures += 1;
                return Requeue::About(requeue::retry_in(err, self.failures));
            }
            Next::Poll => {
                self.polls += 1;
                Requeue::Exactly(requeue::poll_delay(self.polls, timing))
            }
            Next::Now => Requeue::Exactly(requeue::NEXT_STEP),
            Next::After(d) => Requeue::About(*d),
            Next::Recover => {
                self.recoveries += 1;
                Requeue::About(requeue::exponential(self.recoveries, RECREATE_BACKOFF))
            }
            Next::Idle => Requeue::Never,
        };
        if *next != Next::Poll {
            self.polls = 0;
        }
        if ready {
            self.recoveries = 0;
        }
        requeue
    }
}

/// Every object's [`Memory`], by [`key`].
#[derive(Default)]
pub struct Memories(Mutex<HashMap<String, Memory>>);

impl Memories {
    /// Runs one transition (or read) on the memory of `key`; returns what `f` returns. A memory
    /// left as a new one would be (a settled object's) is not kept: absent means the same, and a
    /// fleet of settled objects then costs no memory here.
    pub fn with<T>(&self, key: &str, f: impl FnOnce(&mut Memory) -> T) -> T {
        let mut memories = lock(&self.0);
        let Some(memory) = memories.get_mut(key) else {
            let mut memory = Memory::default();
            let out = f(&mut memory);
            if memory != Memory::default() {
                memories.insert(key.to_string(), memory);
            }
            return out;
        };
        let out = f(memory);
        if *memory == Memory::default() {
            memories.remove(key);
        }
        out
    }

    /// How many objects have a memory kept.
    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }

    /// True when no memory is kept.
    pub fn is_empty(&self) -> bool {
        lock(&self.0).is_empty()
    }

    /// Drops the memory of `key` (its object is gone).
    pub fn forget(&self, key: &str) {
        lock(&self.0).remove(key);
    }
}

#[cfg(test)]
mod tests;
