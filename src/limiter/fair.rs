//! The order in which callers waiting for the rate limiter get its tokens, pure: round-robin across
//! namespaces, so that N busy namespaces each get about 1/N of the rate and a quiet namespace's
//! first call is next in line however long another's queue is; inside a namespace, by the
//! [`Priority`] of the reconcile that makes the call (first creates, deletions and edits, then polls
//! of work under way, then drift checks, then retries of failing objects), and at one priority its
//! mutations (Create, Delete, Tag, Untag) before its reads. A shared List goes before every
//! namespace's turn: it answers the objects of every namespace in its service network (whichever
//! reconcile started it), and at most one is in flight per AWS identity and network. (A global
//! "mutations first" would let one namespace's stream of retried Creates starve another's polls.) Written by hand: the token bucket is `governor`'s, but no crate keeps per-key priority
//! queues in front of one.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub use crate::lattice::CallClass;

/// How urgent a reconcile's calls are inside its namespace's turns, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// New work: a first create, a deletion's first step, a spec change.
    Change,
    /// A poll of work AWS has under way (creating, deleting, recreating, tags being corrected).
    Poll,
    /// A check of a settled object (a resync, the drift scan's wake-up, the drift scan itself).
    Drift,
    /// A retry of a failing object.
    Retry,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [Priority::Change, Priority::Poll, Priority::Drift, Priority::Retry];
}

/// The queue a waiter joins inside its namespace: shared reads first, then by priority, and at one
/// priority mutations before reads.
fn level(priority: Priority, class: CallClass) -> usize {
    match class {
        CallClass::Mutation => priority as usize * 2,
        // Shared calls wait in their own lane (`FairQueue::shared`), never at a level.
        CallClass::Read | CallClass::Shared | CallClass::SharedNext => 1 + priority as usize * 2,
    }
}

/// The class of the waiters of a level.
fn class_of(level: usize) -> CallClass {
    if level.is_multiple_of(2) {
        CallClass::Mutation
    } else {
        CallClass::Read
    }
}

const LEVELS: usize = Priority::ALL.len() * 2;

/// One namespace's waiters, one FIFO per level.
#[derive(Debug)]
struct Waiting<W> {
    levels: [VecDeque<W>; LEVELS],
}

impl<W> Default for Waiting<W> {
    fn default() -> Self {
        Self {
            levels: std::array::from_fn(|_| VecDeque::new()),
        }
    }
}

impl<W> Waiting<W> {
    fn len(&self) -> usize {
        self.levels.iter().map(VecDeque::len).sum()
    }

    /// Waiters that go before a new call of `priority` (any class).
    fn ahead_of(&self, priority: Priority) -> usize {
        self.levels[..level(priority, CallClass::Read) + 1]
            .iter()
            .map(VecDeque::len)
            .sum()
    }
}

/// The waiters of every namespace and the namespaces' turn order.
#[derive(Debug)]
pub struct FairQueue<W> {
    queues: HashMap<String, Waiting<W>>,
    /// Namespaces with waiters, in the order of their next turn.
    turns: VecDeque<String>,
    /// Shared calls (a service network's List), served before any namespace's turn, oldest first
    /// but a List's next page first of all; with the namespace of the reconcile that started each.
    shared: VecDeque<(String, W)>,
}

impl<W> Default for FairQueue<W> {
    fn default() -> Self {
        Self {
            queues: HashMap::new(),
            turns: VecDeque::new(),
            shared: VecDeque::new(),
        }
    }
}

/// Where a new call of a caller would stand in the limiter's queue now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Turn {
    /// About how long it would wait for its token.
    pub wait: Duration,
    /// Namespaces whose calls take turns, its own counted.
    pub busy: usize,
}

/// Who a call is waiting for: its namespace's turn, at its reconcile's priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub namespace: String,
    pub priority: Priority,
}

impl<W> FairQueue<W> {
    /// Queues a waiter.
    pub fn push(&mut self, class: CallClass, caller: &Caller, waiter: W) {
        match class {
            CallClass::Shared => return self.shared.push_back((caller.namespace.clone(), waiter)),
            CallClass::SharedNext => return self.shared.push_front((caller.namespace.clone(), waiter)),
            CallClass::Mutation | CallClass::Read => {}
        }
        let queue = self.queues.entry(caller.namespace.clone()).or_default();
        if queue.len() == 0 {
            self.turns.push_back(caller.namespace.clone());
        }
        queue.levels[level(caller.priority, class)].push_back(waiter);
    }

    /// Who gets the next token: the namespace whose turn it is, its most urgent waiter (oldest
    /// first); that namespace then goes to the back of the turn order.
    pub fn pop(&mut self) -> Option<(CallClass, String, W)> {
        if let Some((namespace, waiter)) = self.shared.pop_front() {
            return Some((CallClass::Shared, namespace, waiter));
        }
        let namespace = self.turns.pop_front()?;
        let queue = self.queues.get_mut(&namespace)?;
        let (at, waiter) = queue
            .levels
            .iter_mut()
            .enumerate()
            .find_map(|(at, fifo)| fifo.pop_front().map(|w| (at, w)))?;
        let class = class_of(at);
        if queue.len() == 0 {
            self.queues.remove(&namespace);
        } else {
            self.turns.push_back(namespace.clone());
        }
        Some((class, namespace, waiter))
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty() && self.shared.is_empty()
    }

    /// True while a mutation of `namespace` waits.
    pub fn mutations_waiting(&self, namespace: &str) -> bool {
        self.queues
            .get(namespace)
            .is_some_and(|q| q.levels.iter().step_by(2).any(|fifo| !fifo.is_empty()))
    }

    /// How many calls of `namespace` wait.
    pub fn waiting(&self, namespace: &str) -> usize {
        self.queues.get(namespace).map_or(0, Waiting::len)
    }

    /// How many namespaces have calls waiting.
    pub fn busy_namespaces(&self) -> usize {
        self.turns.len()
    }

    /// How many tokens go out before a new call of `caller` would get one: the turns of its
    /// namespace's waiters that go before it, each costing one turn of every busy namespace. Pure
    /// estimate for callers deciding whether to wait.
    pub fn turns_ahead(&self, caller: &Caller) -> usize {
        self.shared.len() + (self.ahead(caller) + 1) * self.round(&caller.namespace)
    }

    /// How many calls of the caller's namespace would go before a new call of it.
    pub fn ahead(&self, caller: &Caller) -> usize {
        self.queues
            .get(&caller.namespace)
            .map_or(0, |q| q.ahead_of(caller.priority))
    }

    /// How far apart a namespace's calls go while every busy namespace takes its turns: one round.
    pub fn round(&self, namespace: &str) -> usize {
        (self.busy_namespaces() + usize::from(self.waiting(namespace) == 0)).max(1)
    }
}

/// The time a reconcile put off for its turn comes back ([`super::Limiter::reserve`]), pure:
/// when the limiter expects its turn (`earliest`), but never sooner than one `spacing` (a part of
/// the namespace's share of the rate) after the last one put off, so that a thousand of them come
/// back a few at a time at the pace they can be served, not all at once to be put off again.
pub fn next_slot(last: Option<Instant>, earliest: Instant, spacing: Duration) -> Instant {
    match last {
        Some(last) if last + spacing > earliest => last + spacing,
        _ => earliest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(namespace: &str, priority: Priority) -> Caller {
        Caller {
            namespace: namespace.into(),
            priority,
        }
    }

    fn push(q: &mut FairQueue<u32>, class: CallClass, namespace: &str, w: u32) {
        q.push(class, &at(namespace, Priority::Change), w);
    }

    fn order(q: &mut FairQueue<u32>) -> Vec<(String, u32)> {
        std::iter::from_fn(|| q.pop().map(|(_, ns, w)| (ns, w))).collect()
    }

    #[test]
    fn a_quiet_namespace_is_served_next_however_long_another_queue_is() {
        let mut q = FairQueue::default();
        for i in 0..100 {
            push(&mut q, CallClass::Read, "busy", i);
        }
        push(&mut q, CallClass::Read, "quiet", 1000);
        let served = order(&mut q);
        assert_eq!(served[0], ("busy".to_string(), 0));
        assert_eq!(served[1], ("quiet".to_string(), 1000), "second, not 101st");
        assert_eq!(served.len(), 101);
    }

    #[test]
    fn busy_namespaces_share_the_tokens_in_turn() {
        let mut q = FairQueue::default();
        for i in 0..3 {
            push(&mut q, CallClass::Read, "a", i);
            push(&mut q, CallClass::Read, "b", 10 + i);
        }
        let names: Vec<String> = order(&mut q).into_iter().map(|(ns, _)| ns).collect();
        assert_eq!(names, ["a", "b", "a", "b", "a", "b"]);
    }

    #[test]
    fn inside_a_namespace_mutations_go_first_and_namespaces_still_take_turns() {
        let mut q = FairQueue::default();
        push(&mut q, CallClass::Read, "a", 1);
        push(&mut q, CallClass::Mutation, "a", 2);
        push(&mut q, CallClass::Mutation, "a", 3);
        push(&mut q, CallClass::Read, "b", 4);
        assert!(q.mutations_waiting("a") && !q.mutations_waiting("b"));
        assert_eq!(
            order(&mut q),
            [
                ("a".to_string(), 2),
                ("b".to_string(), 4),
                ("a".to_string(), 3),
                ("a".to_string(), 1)
            ],
            "b's read is not held behind a's mutations"
        );
        assert!(q.is_empty() && !q.mutations_waiting("a"));
    }

    #[test]
    fn inside_a_namespace_new_work_then_polls_then_drift_checks_then_retries() {
        let mut q = FairQueue::default();
        q.push(CallClass::Mutation, &at("a", Priority::Retry), 1);
        q.push(CallClass::Read, &at("a", Priority::Drift), 2);
        q.push(CallClass::Read, &at("a", Priority::Poll), 3);
        q.push(CallClass::Read, &at("a", Priority::Change), 4);
        q.push(CallClass::Mutation, &at("a", Priority::Change), 5);
        q.push(CallClass::Mutation, &at("a", Priority::Poll), 6);
        q.push(CallClass::Shared, &at("a", Priority::Retry), 7);
        let served: Vec<u32> = order(&mut q).into_iter().map(|(_, w)| w).collect();
        assert_eq!(
            served,
            [7, 5, 4, 6, 3, 2, 1],
            "a shared List first, whoever started it; a retried Create behind a drift check's read"
        );
        assert!(!q.mutations_waiting("a"));
    }

    #[test]
    fn a_shared_list_goes_before_every_namespaces_turn() {
        let mut q = FairQueue::default();
        q.push(CallClass::Mutation, &at("a", Priority::Change), 1);
        q.push(CallClass::Read, &at("b", Priority::Change), 2);
        // Started by a retry of a failing namespace: it answers every namespace's objects.
        q.push(CallClass::Shared, &at("c", Priority::Retry), 3);
        assert_eq!(
            q.turns_ahead(&at("d", Priority::Change)),
            1 + 3,
            "the List, then one round"
        );
        let served: Vec<(CallClass, String, u32)> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            served,
            [
                (CallClass::Shared, "c".into(), 3),
                (CallClass::Mutation, "a".into(), 1),
                (CallClass::Read, "b".into(), 2)
            ]
        );
        assert!(q.is_empty());
    }

    #[test]
    fn a_lists_next_page_goes_before_the_lists_not_begun() {
        let mut q = FairQueue::default();
        q.push(CallClass::Shared, &at("a", Priority::Drift), 1);
        q.push(CallClass::Shared, &at("b", Priority::Change), 2);
        q.push(CallClass::Read, &at("c", Priority::Change), 3);
        q.push(CallClass::SharedNext, &at("c", Priority::Drift), 4);
        let served: Vec<u32> = std::iter::from_fn(|| q.pop()).map(|(_, _, w)| w).collect();
        assert_eq!(
            served,
            [4, 1, 2, 3],
            "the List under way ends before the next begins; shared Lists before namespaces' turns"
        );
    }

    #[test]
    fn put_off_retries_come_back_one_share_apart() {
        let spacing = Duration::from_millis(300);
        let base = Instant::now();
        let at = |t: u64| base + Duration::from_millis(t);
        assert_eq!(
            next_slot(None, at(500), spacing),
            at(500),
            "the first: when its turn is due"
        );
        assert_eq!(
            next_slot(Some(at(500)), at(510), spacing),
            at(800),
            "the next: one share later"
        );
        assert_eq!(
            next_slot(Some(at(500)), at(2000), spacing),
            at(2000),
            "after a lull: when its turn is due"
        );
    }

    #[test]
    fn turns_ahead_grow_with_the_namespace_queue_and_the_busy_namespaces() {
        let mut q = FairQueue::default();
        assert_eq!(q.turns_ahead(&at("a", Priority::Retry)), 1, "an idle limiter: next");
        for i in 0..4 {
            q.push(CallClass::Read, &at("a", Priority::Retry), i);
        }
        push(&mut q, CallClass::Mutation, "b", 9);
        assert_eq!(q.busy_namespaces(), 2);
        assert_eq!(
            q.turns_ahead(&at("a", Priority::Retry)),
            10,
            "(4 + 1) turns of 2 namespaces"
        );
        assert_eq!(
            q.turns_ahead(&at("a", Priority::Change)),
            2,
            "new work goes before the namespace's 4 retries: one round of 2"
        );
        assert_eq!(
            q.turns_ahead(&at("c", Priority::Retry)),
            3,
            "a quiet namespace: one round of the 2 busy and its own"
        );
    }
}
