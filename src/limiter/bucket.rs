//! The process's token bucket and its dispatcher: callers wait in a [`FairQueue`], and a task hands
//! out the bucket's tokens in its order. Also what the limiter knows per namespace (whether its
//! mutations wait: saturated; where a new call would stand: its turn; when a put-off reconcile comes
//! back) and per AWS identity (the hold a throttled answer asked for). The token bucket itself is the
//! `governor` crate's.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;

use super::fair::{CallClass, Caller, FairQueue, Priority, Turn, next_slot};
use super::metrics::LimiterMetrics;
use crate::lock;

/// The limiter's burst: calls are paced evenly at the rate (see [`Limiter::new`]). Two, not one: a
/// waiter wakes a millisecond or so after its token is due, and with a burst of one that lateness
/// is lost on every call (measured: 19.6 calls a second at a rate of 20); a spare token absorbs it,
/// and two calls at once cannot drain an account's bucket.
pub const BURST: NonZeroU32 = NonZeroU32::new(2).expect("2 is non-zero");

/// How long after a mutation last waited for a token the limiter still counts as saturated.
pub const SATURATION_MEMORY: Duration = Duration::from_secs(2);

/// The process's token bucket. Callers wait in a [`FairQueue`]: round-robin across namespaces,
/// mutations ahead of reads inside each, so one namespace's backlog never keeps another's calls
/// waiting behind it. A dispatcher task hands out the bucket's tokens in that order.
pub struct Limiter {
    inner: Arc<Inner>,
    dispatcher: OnceLock<()>,
    metrics: LimiterMetrics,
    /// The rate, for the budgets of other regions.
    rps: u32,
    /// The region this budget is for (the operator's); calls to others get a budget of their own
    /// ([`Limiter::for_region`]): AWS's quotas are per account and region.
    home: Option<String>,
    regions: Mutex<HashMap<String, Arc<Limiter>>>,
}

struct Inner {
    bucket: DefaultDirectRateLimiter,
    /// One token's worth of time.
    period: Duration,
    queue: Mutex<FairQueue<Waiter>>,
    /// A waiter was queued.
    arrived: Notify,
    /// When a mutation of each namespace last had to wait for a token.
    mutation_waited: Mutex<HashMap<String, Instant>>,
    /// When the last put-off reconcile of each namespace and priority comes back
    /// ([`Limiter::reserve`]).
    slots: Mutex<HashMap<(String, Priority), Instant>>,
    /// Per AWS identity (account): no call before this, the latest time a throttled answer asked
    /// to wait until ([`Limiter::hold`]).
    holds: Mutex<HashMap<String, tokio::time::Instant>>,
}

/// A caller waiting for a token: told through `tx`; gone (cancelled) when the receiver is dropped.
struct Waiter {
    tx: tokio::sync::oneshot::Sender<()>,
    since: Instant,
}

impl Limiter {
    /// `rps` calls per second, evenly paced (a burst of [`BURST`], or `rps` if lower).
    ///
    /// Why no burst of `rps`: set to the account's quota, the operator's bucket and AWS's are
    /// buckets of the same size on different clocks; both run empty under load, and then a few
    /// milliseconds of network jitter between two calls make AWS answer 429, whose
    /// `retryAfterSeconds` holds every call of the account (measured: 4 % of 1,271 calls throttled
    /// while deleting 1,000 objects at the quota's rate). Paced calls keep AWS's bucket as full as
    /// it was; the only cost is that a few calls after a quiet spell go 1/rps apart instead of at once.
    pub fn new(rps: u32) -> Self {
        let rps = NonZeroU32::new(rps.max(1)).expect("max(1) is non-zero");
        Self {
            inner: Arc::new(Inner {
                bucket: RateLimiter::direct(Quota::per_second(rps).allow_burst(BURST.min(rps))),
                period: Duration::from_secs(1) / rps.get(),
                queue: Mutex::default(),
                arrived: Notify::new(),
                mutation_waited: Mutex::default(),
                slots: Mutex::default(),
                holds: Mutex::default(),
            }),
            dispatcher: OnceLock::new(),
            metrics: LimiterMetrics::default(),
            rps: rps.get(),
            home: None,
            regions: Mutex::default(),
        }
    }

    /// Its budget is that of calls to `region` (the operator's); other regions get their own.
    #[must_use]
    pub fn with_home_region(mut self, region: Option<String>) -> Self {
        self.home = region;
        self
    }

    /// The budget of calls to `region`: this one for the home region (or none named), else that
    /// region's own, at the same rate, made on first use. The namespaces' turns, saturation and
    /// put-off reconciles ([`Limiter::turn`], [`Limiter::saturated`]) are read from the home
    /// region's budget, where nearly all calls go.
    pub fn for_region(self: &Arc<Self>, region: Option<&str>) -> Arc<Limiter> {
        match region {
            Some(r) if Some(r) != self.home.as_deref() => lock(&self.regions)
                .entry(r.to_string())
                .or_insert_with(|| {
                    Arc::new(
                        Limiter::new(self.rps)
                            .with_metrics(self.metrics.clone())
                            .with_home_region(Some(r.into())),
                    )
                })
                .clone(),
            _ => self.clone(),
        }
    }

    /// Counts into `metrics` (registered by whoever wires the process).
    #[must_use]
    pub fn with_metrics(mut self, metrics: LimiterMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// One token's worth of time (1 / rate).
    pub fn period(&self) -> Duration {
        self.inner.period
    }

    pub(super) fn metrics(&self) -> &LimiterMetrics {
        &self.metrics
    }

    /// Waits for a token, in the caller's namespace's turn (empty: a caller of no namespace, the
    /// drift scan) at its priority.
    pub async fn acquire_for(&self, class: CallClass, caller: &Caller) {
        self.dispatcher.get_or_init(|| {
            tokio::spawn(dispatch(self.inner.clone()));
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.inner.queue().push(
            class,
            caller,
            Waiter {
                tx,
                since: Instant::now(),
            },
        );
        self.inner.arrived.notify_one();
        // The dispatcher lives as long as the limiter: a closed channel cannot happen while we wait.
        let _ = rx.await;
    }

    /// True while a mutating call of `namespace` waits for a token, or one had to wait within the
    /// last [`SATURATION_MEMORY`]: the namespace's share of the bucket is the bottleneck of its
    /// Creates and Deletes, so a read of it now takes a token from one of them (even in the moments
    /// when none happens to be queued). Another namespace's backlog does not count: that namespace
    /// waits for its own turns.
    pub fn saturated(&self, namespace: &str) -> bool {
        if self.inner.queue().mutations_waiting(namespace) {
            return true;
        }
        lock(&self.inner.mutation_waited)
            .get(namespace)
            .is_some_and(|at| at.elapsed() < SATURATION_MEMORY)
    }

    /// Where a new call of `caller` would stand now: about how long it would wait for its token, and
    /// how many namespaces take turns.
    pub fn turn(&self, caller: &Caller) -> Turn {
        let queue = self.inner.queue();
        Turn {
            wait: self.tokens(queue.turns_ahead(caller).saturating_sub(1)),
            busy: queue.round(&caller.namespace),
        }
    }

    /// Reserves the time a reconcile put off for its turn comes back ([`next_slot`]): when its
    /// turn is expected, and half a share of the rate after the previous put-off reconcile of its
    /// namespace and priority (half: so that the namespace has a call back before each of its
    /// turns; one that comes back to a queue is put off again). Returns how long from now.
    pub fn reserve(&self, caller: &Caller) -> Duration {
        let now = Instant::now();
        let turn = self.turn(caller);
        let mut slots = lock(&self.inner.slots);
        if slots.len() > 1024 {
            slots.retain(|_, slot| *slot > now);
        }
        let key = (caller.namespace.clone(), caller.priority);
        let slot = next_slot(slots.get(&key).copied(), now + turn.wait, self.tokens(turn.busy) / 2);
        slots.insert(key, slot);
        slot - now
    }

    /// AWS throttled a call of `identity` and asked it to wait until `until`: no call of that
    /// identity goes out before then (AWS's quotas are per account; calls already on the wire are
    /// not recalled).
    pub fn hold(&self, identity: &str, until: tokio::time::Instant) {
        let mut holds = lock(&self.inner.holds);
        let now = tokio::time::Instant::now();
        if holds.len() > 1024 {
            holds.retain(|_, at| *at > now);
        }
        let at = holds.entry(identity.to_string()).or_insert(until);
        *at = (*at).max(until);
    }

    /// Sleeps until the hold of `identity`, if one is still ahead.
    pub async fn wait_out(&self, identity: &str) {
        loop {
            let until = lock(&self.inner.holds).get(identity).copied();
            match until {
                Some(until) if until > tokio::time::Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }

    /// How long the bucket takes to make `n` tokens.
    fn tokens(&self, n: usize) -> Duration {
        self.inner.period.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How many calls of `namespace` wait for a token.
    #[cfg(test)]
    pub(super) fn waiting(&self, namespace: &str) -> usize {
        self.inner.queue().waiting(namespace)
    }

    /// Spends the bucket's burst.
    #[cfg(test)]
    pub(super) fn drain(&self) {
        while self.inner.bucket.check().is_ok() {}
    }
}

impl Inner {
    fn queue(&self) -> std::sync::MutexGuard<'_, FairQueue<Waiter>> {
        lock(&self.queue)
    }
}

/// Hands out tokens as the bucket makes them, each to the next waiter in the fair order.
async fn dispatch(inner: Arc<Inner>) {
    loop {
        loop {
            // Registered before the check, so an arrival between the two is not lost.
            let arrived = inner.arrived.notified();
            if !inner.queue().is_empty() {
                break;
            }
            arrived.await;
        }
        while let Err(not_until) = inner.bucket.check() {
            tokio::time::sleep(not_until.wait_time_from(inner.bucket.clock().now())).await;
        }
        loop {
            let next = inner.queue().pop();
            let Some((class, namespace, waiter)) = next else { break };
            if class == CallClass::Mutation && waiter.since.elapsed() >= inner.period {
                lock(&inner.mutation_waited).insert(namespace, Instant::now());
            }
            if waiter.tx.send(()).is_ok() {
                break;
            }
            // That caller gave up waiting: the token goes to the next.
        }
    }
}

/// The shared limiter: one per process, held by the reconcile context.
pub type SharedLimiter = Arc<Limiter>;

/// A limiter allowing `rps` calls per second, evenly paced.
pub fn limiter(rps: u32) -> SharedLimiter {
    Arc::new(Limiter::new(rps))
}
