//! The outcome of one step, as data: the verdict, the Events, when to look again.

use kube::runtime::events::EventType;

use crate::lattice::LatticeError;
use crate::reconcile::reason::Reason;
use crate::reconcile::requeue::{self, Memory, Next, Requeue, Timing};
use crate::reconcile::status::{Phase, Verdict};

/// A Kubernetes Event to publish about the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub type_: EventType,
    pub reason: Reason,
    /// What the operator did, or was doing (`Create`, `Tag`, `Delete`, …).
    pub action: &'static str,
    pub note: String,
}

impl Event {
    pub(super) fn normal(reason: Reason, action: &'static str, note: impl Into<String>) -> Self {
        Self {
            type_: EventType::Normal,
            reason,
            action,
            note: note.into(),
        }
    }

    pub(super) fn warning(reason: Reason, action: &'static str, note: impl Into<String>) -> Self {
        Self {
            type_: EventType::Warning,
            ..Self::normal(reason, action, note)
        }
    }
}

/// A step's outcome: what the conditions say, the Events to publish, when to look again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub events: Vec<Event>,
    pub next: Next,
    /// The association was forgotten, to be created again (counted in `recreate_attempts`).
    pub recreated: bool,
}

impl Outcome {
    pub(super) fn new(phase: Phase, reason: Reason, message: impl Into<String>, next: Next) -> Self {
        Self {
            verdict: Verdict::new(phase, reason, message),
            events: Vec::new(),
            next,
            recreated: false,
        }
    }

    pub(super) fn progressing(reason: Reason, message: impl Into<String>, next: Next) -> Self {
        Self::new(Phase::Progressing, reason, message, next)
    }

    pub(super) fn with(mut self, event: Event) -> Self {
        self.events.push(event);
        self
    }

    /// Puts Events that happened before this outcome's own first.
    pub(super) fn after(mut self, earlier: impl IntoIterator<Item = Event>) -> Self {
        let mut events: Vec<Event> = earlier.into_iter().collect();
        events.append(&mut self.events);
        self.events = events;
        self
    }

    /// True when an AWS call failed (the step is retried with backoff).
    pub fn failed(&self) -> bool {
        matches!(self.next, Next::Retry(_))
    }

    /// Shows that the client-side rate limiter held the object's work back: once a step of the work
    /// under way was `held` at least [`requeue::THROTTLED_AFTER`] ([`requeue::held`]), its verdicts
    /// while the work goes on say reason `Throttled` and how long, until the work ends (Ready or
    /// Stalled) or a step fails (its own reason shows). Kept in `memory` so the reason does not
    /// flicker between steps, each flicker a status write.
    #[must_use]
    pub fn limited(mut self, memory: &mut Memory, held: std::time::Duration) -> Self {
        if self.verdict.phase != Phase::Progressing || self.failed() {
            memory.held = None;
            return self;
        }
        if held >= requeue::THROTTLED_AFTER {
            memory.held = Some(memory.held.map_or(held, |before| before.max(held)));
        }
        if let Some(held) = memory.held {
            self.verdict.reason = Reason::Throttled;
            self.verdict.message = format!(
                "{}; its AWS work waited {} s behind the operator's client-side rate limit \
                 (--aws-max-rps), which the namespaces with work queued share in turns",
                self.verdict.message,
                held.as_secs()
            );
        }
        self
    }

    /// Counts the step in the object's memory and says when to look again.
    pub fn schedule(&self, memory: &mut Memory) -> Requeue {
        self.schedule_timed(memory, Timing::default())
    }

    /// [`Outcome::schedule`], with polls timed by `timing` (see [`requeue::poll_delay`]).
    pub fn schedule_timed(&self, memory: &mut Memory, timing: Timing) -> Requeue {
        requeue::schedule_timed(memory, &self.next, self.verdict.phase == Phase::Ready, timing)
    }
}

/// An AWS failure: shown with its class's reason, published as a Warning, retried with backoff.
pub fn failed(err: LatticeError) -> Outcome {
    let (reason, stalled) = requeue::shows_as(err.kind);
    let phase = if stalled { Phase::Stalled } else { Phase::Progressing };
    let message = err.to_string();
    Outcome::new(phase, reason, &message, Next::Retry(err)).with(Event::warning(reason, "Reconcile", message))
}
