//! The order in which callers waiting for the rate limiter get its tokens, pure: round-robin across
//! namespaces, so that N busy namespaces each get about 1/N of the rate and a quiet namespace's
//! first call is next in line however long another's queue is; inside a namespace, its mutations
//! (Create, Delete, Tag, Untag) before its reads. (A global "mutations first" would let one
//! namespace's stream of retried Creates starve another's polls.) Written by hand: the token bucket is `governor`'s, but no
//! crate keeps per-key fair queues in front of one.

use std::collections::{HashMap, VecDeque};

use super::guard::CallClass;

/// One namespace's waiters: its mutations go before its reads.
#[derive(Debug)]
struct Waiting<W> {
    mutations: VecDeque<W>,
    reads: VecDeque<W>,
}

impl<W> Default for Waiting<W> {
    fn default() -> Self {
        Self {
            mutations: VecDeque::new(),
            reads: VecDeque::new(),
        }
    }
}

impl<W> Waiting<W> {
    fn len(&self) -> usize {
        self.mutations.len() + self.reads.len()
    }
}

/// The waiters of every namespace and the namespaces' turn order.
#[derive(Debug)]
pub struct FairQueue<W> {
    queues: HashMap<String, Waiting<W>>,
    /// Namespaces with waiters, in the order of their next turn.
    turns: VecDeque<String>,
    mutations: usize,
}

impl<W> Default for FairQueue<W> {
    fn default() -> Self {
        Self {
            queues: HashMap::new(),
            turns: VecDeque::new(),
            mutations: 0,
        }
    }
}

impl<W> FairQueue<W> {
    /// Queues a waiter of `namespace`.
    pub fn push(&mut self, class: CallClass, namespace: &str, waiter: W) {
        let queue = self.queues.entry(namespace.to_string()).or_default();
        if queue.len() == 0 {
            self.turns.push_back(namespace.to_string());
        }
        match class {
            CallClass::Mutation => {
                queue.mutations.push_back(waiter);
                self.mutations += 1;
            }
            CallClass::Read => queue.reads.push_back(waiter),
        }
    }

    /// Who gets the next token: the namespace whose turn it is, its oldest mutation, else its oldest
    /// read; that namespace then goes to the back of the turn order.
    pub fn pop(&mut self) -> Option<(CallClass, String, W)> {
        let namespace = self.turns.pop_front()?;
        let queue = self.queues.get_mut(&namespace)?;
        let (class, waiter) = match queue.mutations.pop_front() {
            Some(w) => {
                self.mutations -= 1;
                (CallClass::Mutation, w)
            }
            None => (CallClass::Read, queue.reads.pop_front()?),
        };
        if queue.len() == 0 {
            self.queues.remove(&namespace);
        } else {
            self.turns.push_back(namespace.clone());
        }
        Some((class, namespace, waiter))
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    /// True while a mutation waits.
    pub fn mutations_waiting(&self) -> bool {
        self.mutations > 0
    }

    /// How many calls of `namespace` wait.
    pub fn waiting(&self, namespace: &str) -> usize {
        self.queues.get(namespace).map_or(0, Waiting::len)
    }

    /// How many namespaces have calls waiting.
    pub fn busy_namespaces(&self) -> usize {
        self.turns.len()
    }

    /// How many tokens go out before a new call of `namespace` would get one: its own waiters' turns,
    /// each costing one turn of every busy namespace. Pure estimate for callers deciding whether to
    /// wait.
    pub fn turns_ahead(&self, namespace: &str) -> usize {
        let busy = self.busy_namespaces() + usize::from(self.waiting(namespace) == 0);
        (self.waiting(namespace) + 1) * busy.max(1)
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
    fn inside_a_namespace_mutations_go_first_and_namespaces_still_take_turns() {
        let mut q = FairQueue::default();
        q.push(CallClass::Read, "a", 1);
        q.push(CallClass::Mutation, "a", 2);
        q.push(CallClass::Mutation, "a", 3);
        q.push(CallClass::Read, "b", 4);
        assert!(q.mutations_waiting());
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
        assert_eq!(
            q.turns_ahead("c"),
            3,
            "a quiet namespace: one round of the 2 busy and its own"
        );
    }
}
