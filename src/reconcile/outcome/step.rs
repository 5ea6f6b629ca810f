//! The outcome of one step, as data: the verdict, the Events, when to look again.

use kube::runtime::events::EventType;

use crate::lattice::LatticeError;
use crate::reconcile::reason::Reason;
use crate::reconcile::requeue::{self, Next};
use crate::reconcile::status::{Phase, Verdict};

/// The most an Event's note may hold: the API server refuses a longer one (events.k8s.io/v1 `note`).
pub const EVENT_NOTE_MAX: usize = 1024;
/// The most a condition's message holds here (the API allows 32 KiB; beyond this it is no longer
/// read): AWS messages of any length are cut to it, with the cut said.
pub const CONDITION_MESSAGE_MAX: usize = 2048;

/// `text` cut to at most `max` bytes (at a character boundary), ending with how much was cut.
pub fn fit(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut keep = max.saturating_sub(40);
    while !text.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}… ({} more bytes cut)", &text[..keep], text.len() - keep)
}

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
            note: fit(&note.into(), EVENT_NOTE_MAX),
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
            verdict: Verdict::new(phase, reason, fit(&message.into(), CONDITION_MESSAGE_MAX)),
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
}

/// An AWS failure: shown with its class's reason, published as a Warning, retried with backoff.
pub fn failed(err: LatticeError) -> Outcome {
    let (reason, stalled) = requeue::shows_as(err.kind);
    let phase = if stalled { Phase::Stalled } else { Phase::Progressing };
    let message = err.to_string();
    Outcome::new(phase, reason, &message, Next::Retry(err)).with(Event::warning(reason, "Reconcile", message))
}

#[cfg(test)]
mod fit_tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(fit("access denied", 1024), "access denied");
    }

    #[test]
    fn long_text_is_cut_to_the_limit_and_says_so() {
        let long = "é".repeat(3000); // 6000 bytes, two per character
        let cut = fit(&long, EVENT_NOTE_MAX);
        assert!(cut.len() <= EVENT_NOTE_MAX, "{}", cut.len());
        assert!(cut.ends_with("more bytes cut)"), "{cut}");
        let kept = cut.split('…').next().unwrap().len();
        assert_eq!(cut, format!("{}… ({} more bytes cut)", &long[..kept], 6000 - kept));
    }

    #[test]
    fn a_failure_with_a_4_kib_message_fits_its_event_and_condition() {
        let err = LatticeError::new(
            crate::lattice::ErrorKind::AccessDenied,
            "AccessDeniedException",
            "x".repeat(4096),
        );
        let o = failed(err);
        assert!(o.verdict.message.len() <= CONDITION_MESSAGE_MAX);
        assert!(o.verdict.message.starts_with("AccessDeniedException: xxx"));
        assert!(o.events.iter().all(|e| e.note.len() <= EVENT_NOTE_MAX));
        assert!(o.events[0].note.ends_with("more bytes cut)"));
    }
}
