//! The order in which callers waiting for the rate limiter get its tokens, pure: mutations (Create,
//! Delete, Tag, Untag) before reads, and inside each class round-robin across namespaces, so that
//! N busy namespaces each get about 1/N of the rate and a quiet namespace's first call is next in
//! line however long another's queue is. Written by hand: the token bucket is `governor`'s, but no
//! crate keeps per-key fair queues in front of one.

use std::collections::{HashMap, VecDeque};

use super::guard::CallClass;

/// One class's waiters: a queue per namespace and the namespaces' turn order.
#[derive(Debug)]
struct Lane<W> {
    queues: HashMap<String, VecDeque<W>>,
    /// Namespaces with waiters, in the order of their next turn.
    turns: VecDeque<String>,
}

impl<W> Default for Lane<W> {
    fn default() -> Self {
        Self {
            queues: HashMap::new(),
            turns: VecDeque::new(),
        }
    }
}

impl<W> Lane<W> {
    fn push(&mut self, namespace: &str, waiter: W) {
        let queue = self.queues.entry(namespace.to_string()).or_default();
        if queue.is_empty() {
            self.turns.push_back(namespace.to_string());
        }
        queue.push_back(waiter);
    }

    /// The next namespace's oldest waiter; that namespace goes to the back of the turn order.
    fn pop(&mut self) -> Option<(String, W)> {
        let namespace = self.turns.pop_front()?;
        let queue = self.queues.get_mut(&namespace)?;
        let waiter = queue.pop_front()?;
        if queue.is_empty() {
            self.queues.remove(&namespace);
        } else {
            self.turns.push_back(namespace.clone());
        }
        Some((namespace, waiter))
    }

    fn waiting(&self, namespace: &str) -> usize {
        self.queues.get(namespace).map_or(0, VecDeque::len)
    }
}

/// The waiters of both classes.
#[derive(Debug)]
pub struct FairQueue<W> {
    mutations: Lane<W>,
    reads: Lane<W>,
}

impl<W> Default for FairQueue<W> {
    fn default() -> Self {
        Self {
            mutations: Lane::default(),
            reads: Lane::default(),
        }
    }
}

impl<W> FairQueue<W> {
    fn lane(&mut self, class: CallClass) -> &mut Lane<W> {
        match class {
            CallClass::Mutation => &mut self.mutations,
            CallClass::Read => &mut self.reads,
        }
    }

    /// Queues a waiter of `namespace`.
    pub fn push(&mut self, class: CallClass, namespace: &str, waiter: W) {
        self.lane(class).push(namespace, waiter);
    }

    /// Who gets the next token: the next namespace's oldest mutation, else its oldest read.
    pub fn pop(&mut self) -> Option<(CallClass, String, W)> {
        if let Some((ns, w)) = self.mutations.pop() {
            return Some((CallClass::Mutation, ns, w));
        }
        self.reads.pop().map(|(ns, w)| (CallClass::Read, ns, w))
    }

    pub fn is_empty(&self) -> bool {
        self.mutations.turns.is_empty() && self.reads.turns.is_empty()
    }

    /// True while a mutation waits.
    pub fn mutations_waiting(&self) -> bool {
        !self.mutations.turns.is_empty()
    }

    /// How many calls of `namespace` wait.
    pub fn waiting(&self, namespace: &str) -> usize {
        self.mutations.waiting(namespace) + self.reads.waiting(namespace)
    }

    /// How many namespaces have calls waiting.
    pub fn busy_namespaces(&self) -> usize {
        let mut all: Vec<&String> = self.mutations.turns.iter().chain(&self.reads.turns).collect();
        all.sort();
        all.dedup();
        all.len()
    }

    /// How many tokens go out before a new call of `namespace` would get one: its own waiters' turns,
    /// each costing one turn of every busy namespace. Pure estimate for callers deciding whether to
    /// wait.
    pub fn turns_ahead(&self, namespace: &str) -> usize {
        (self.waiting(namespace) + 1) * self.busy_namespaces().max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(q: &mut FairQueue<u32>) -> Vec<(String, u32)> {
        std::iter::from_fn(|| q.pop().map(|(_, ns, w)| (ns, w))).collect()
    }

    #[test]
    fn a_quiet_namespace_is_served_next_however_long_another_queue_is() {
        let mut q = FairQueue::default();
        for i in 0..100 {
            q.push(CallClass::Read, "busy", i);
        }
        q.push(CallClass::Read, "quiet", 1000);
        let served = order(&mut q);
        assert_eq!(served[0], ("busy".to_string(), 0));
        assert_eq!(served[1], ("quiet".to_string(), 1000), "second, not 101st");
        assert_eq!(served.len(), 101);
    }

    #[test]
    fn busy_namespaces_share_the_tokens_in_turn() {
        let mut q = FairQueue::default();
        for i in 0..3 {
            q.push(CallClass::Read, "a", i);
            q.push(CallClass::Read, "b", 10 + i);
        }
        let names: Vec<String> = order(&mut q).into_iter().map(|(ns, _)| ns).collect();
        assert_eq!(names, ["a", "b", "a", "b", "a", "b"]);
    }

    #[test]
    fn mutations_go_ahead_of_reads_and_take_turns_among_themselves() {
        let mut q = FairQueue::default();
        q.push(CallClass::Read, "a", 1);
        q.push(CallClass::Mutation, "a", 2);
        q.push(CallClass::Mutation, "a", 3);
        q.push(CallClass::Mutation, "b", 4);
        assert!(q.mutations_waiting());
        assert_eq!(
            order(&mut q),
            [
                ("a".to_string(), 2),
                ("b".to_string(), 4),
                ("a".to_string(), 3),
                ("a".to_string(), 1)
            ]
        );
        assert!(q.is_empty() && !q.mutations_waiting());
    }

    #[test]
    fn turns_ahead_grow_with_the_namespace_queue_and_the_busy_namespaces() {
        let mut q = FairQueue::default();
        assert_eq!(q.turns_ahead("a"), 1, "an idle limiter: next");
        for i in 0..4 {
            q.push(CallClass::Read, "a", i);
        }
        q.push(CallClass::Mutation, "b", 9);
        assert_eq!(q.busy_namespaces(), 2);
        assert_eq!(q.turns_ahead("a"), 10, "(4 + 1) turns of 2 namespaces");
        assert_eq!(q.turns_ahead("c"), 2, "a quiet namespace: one round");
    }
}
