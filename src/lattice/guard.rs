//! Wraps any [`LatticeApi`] with what every AWS call needs: the client-side rate limiter shared by the
//! whole process (so thousands of objects cannot stampede one account) and per-call metrics
//! (operation, outcome, error code, duration). The token bucket itself is the `governor` crate's; the
//! metric families are owned here and registered into the process's registry by whoever wires it.
//!
//! Callers wait in a fair queue ([`super::fair`]): namespaces take turns for the tokens (a
//! reconcile's calls wait in its object's namespace's queue, at its [`Priority`]: [`calling_as`]),
//! so one namespace's backlog never holds another's calls behind it; inside a namespace, new work
//! goes before polls, polls before drift checks, drift checks before retries of failing objects,
//! and at one priority a mutating call (Create, Delete, Tag, Untag) before reads (Get, List,
//! ListTags). How long a reconcile's calls waited in all is kept for it ([`waited`]).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::Notify;

use crate::lock;

pub use super::fair::{CallClass, Caller, Priority, Turn};
use super::fair::{FairQueue, next_slot};
use super::{
    Association, AssociationState, CreateAssociation, ErrorKind, LatticeApi, LatticeError, ListFilter, Page, Tagged,
    Tags,
};

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
            }),
            dispatcher: OnceLock::new(),
        }
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

    /// How long the bucket takes to make `n` tokens.
    fn tokens(&self, n: usize) -> Duration {
        self.inner.period.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// How many calls of `namespace` wait for a token.
    #[cfg(test)]
    fn waiting(&self, namespace: &str) -> usize {
        self.inner.queue().waiting(namespace)
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

/// A call counted in its namespace's `aws_limiter_queued_calls` until dropped (also when cancelled).
struct Queued(Gauge);

impl Queued {
    fn new(gauge: Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The shared limiter: one per process, handed to every [`Guarded`] wrapper.
pub type SharedLimiter = Arc<Limiter>;

/// A limiter allowing `rps` calls per second, evenly paced.
pub fn limiter(rps: u32) -> SharedLimiter {
    Arc::new(Limiter::new(rps))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AwsCallLabels {
    operation: String,
    outcome: String,
    error_code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

/// The namespace of the objects whose calls these are (`object_namespace`: Prometheus's own
/// `namespace` label names the operator Pod's).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NamespaceLabels {
    object_namespace: String,
}

/// The running reconcile, as the limiter sees it: whose calls these are, and how long they have
/// waited for tokens so far.
struct Calling {
    caller: Caller,
    waited: std::cell::Cell<Duration>,
}

tokio::task_local! {
    static CALLING: Calling;
}

/// Runs `f` as work of `caller`: its AWS calls wait for tokens in its namespace's turn, at its
/// priority, and [`waited`] inside `f` says how long they waited in all.
pub async fn calling_as<F: Future>(caller: Caller, f: F) -> F::Output {
    let calling = Calling {
        caller,
        waited: std::cell::Cell::new(Duration::ZERO),
    };
    CALLING.scope(calling, f).await
}

/// Who the running task calls for: outside a reconcile (the drift scan), no namespace, at drift
/// priority.
pub fn caller() -> Caller {
    CALLING.try_with(|c| c.caller.clone()).unwrap_or(Caller {
        namespace: String::new(),
        priority: Priority::Drift,
    })
}

/// How long the running reconcile's AWS calls have waited for the rate limiter so far (zero outside
/// [`calling_as`]).
pub fn waited() -> Duration {
    CALLING.try_with(|c| c.waited.get()).unwrap_or_default()
}

fn add_waited(took: Duration) {
    let _ = CALLING.try_with(|c| c.waited.set(c.waited.get() + took));
}

/// The AWS-call metrics (`aws_calls`, `aws_call_duration_seconds`, and per namespace the calls
/// waiting for the rate limiter and how long they waited), shared by every [`Guarded`] wrapper of
/// the process. Cloning shares the families.
#[derive(Clone)]
pub struct AwsCallMetrics {
    calls: Family<AwsCallLabels, Counter>,
    duration: Family<OperationLabels, Histogram>,
    queued: Family<NamespaceLabels, Gauge>,
    waited: Family<NamespaceLabels, Histogram>,
}

impl Default for AwsCallMetrics {
    fn default() -> Self {
        fn buckets() -> Histogram {
            // 5 ms to about 41 s, as the reconcile duration.
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        }
        fn wait_buckets() -> Histogram {
            // 1 ms to about 65 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 17))
        }
        Self {
            calls: Family::default(),
            duration: Family::new_with_constructor(buckets as fn() -> Histogram),
            queued: Family::default(),
            waited: Family::new_with_constructor(wait_buckets as fn() -> Histogram),
        }
    }
}

impl AwsCallMetrics {
    /// Registers the families into `registry` (the process's, prefixed `vpc_lattice_operator`).
    #[must_use]
    pub fn register(self, registry: &mut Registry) -> Self {
        registry.register(
            "aws_calls",
            "VPC Lattice calls by operation, outcome and error code",
            self.calls.clone(),
        );
        registry.register(
            "aws_call_duration_seconds",
            "VPC Lattice call duration",
            self.duration.clone(),
        );
        registry.register(
            "aws_limiter_queued_calls",
            "AWS calls waiting for the client-side rate limiter, by the namespace of their objects (empty: the drift scan)",
            self.queued.clone(),
        );
        registry.register(
            "aws_limiter_wait_seconds",
            "How long AWS calls waited for the client-side rate limiter, by the namespace of their objects",
            self.waited.clone(),
        );
        self
    }

    /// The gauge of calls of `object_namespace` waiting for the rate limiter.
    pub fn queued(&self, object_namespace: &str) -> Gauge {
        self.queued
            .get_or_create(&NamespaceLabels {
                object_namespace: object_namespace.into(),
            })
            .clone()
    }

    /// Records how long a call of `object_namespace` waited for the rate limiter.
    pub fn waited(&self, object_namespace: &str, took: Duration) {
        self.waited
            .get_or_create(&NamespaceLabels {
                object_namespace: object_namespace.into(),
            })
            .observe(took.as_secs_f64());
    }

    /// Records one AWS call.
    pub fn record(&self, operation: &str, error: Option<&LatticeError>, took: Duration) {
        let labels = AwsCallLabels {
            operation: operation.into(),
            outcome: if error.is_some() { "error" } else { "success" }.into(),
            error_code: error.map(|e| e.code.clone()).unwrap_or_default(),
        };
        self.calls.get_or_create(&labels).inc();
        self.duration
            .get_or_create(&OperationLabels {
                operation: operation.into(),
            })
            .observe(took.as_secs_f64());
    }
}

/// A [`LatticeApi`] whose calls wait for the shared limiter and are counted. One wraps each AWS
/// identity (account), and AWS's quotas are per account: when a call is throttled with a
/// `retryAfterSeconds`, no call of this identity goes out before that time has passed (calls
/// already on the wire are not recalled).
pub struct Guarded<L> {
    inner: L,
    limiter: SharedLimiter,
    metrics: AwsCallMetrics,
    /// No call before this: the latest time a throttled answer asked to wait until.
    quiet_until: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl<L> Guarded<L> {
    pub fn new(inner: L, limiter: SharedLimiter, metrics: AwsCallMetrics) -> Self {
        Self {
            inner,
            limiter,
            metrics,
            quiet_until: std::sync::Mutex::new(None),
        }
    }

    async fn call<T>(
        &self,
        operation: &'static str,
        class: CallClass,
        fut: impl Future<Output = Result<T, LatticeError>>,
    ) -> Result<T, LatticeError> {
        self.wait_out_throttling().await;
        let caller = caller();
        let queued = Queued::new(self.metrics.queued(&caller.namespace));
        let waiting = Instant::now();
        self.limiter.acquire_for(class, &caller).await;
        drop(queued);
        let took = waiting.elapsed();
        add_waited(took);
        self.metrics.waited(&caller.namespace, took);
        // A throttled answer may have arrived while this call waited for its token.
        self.wait_out_throttling().await;
        let start = Instant::now();
        let result = fut.await;
        self.metrics.record(operation, result.as_ref().err(), start.elapsed());
        if let Err(e) = &result
            && e.kind == ErrorKind::Throttled
            && let Some(after) = e.retry_after
        {
            let until = tokio::time::Instant::now() + after;
            let mut quiet = lock(&self.quiet_until);
            *quiet = Some(quiet.map_or(until, |q| q.max(until)));
        }
        result
    }

    /// Sleeps until the time the latest throttled answer named, if it is still ahead.
    async fn wait_out_throttling(&self) {
        loop {
            let until = *lock(&self.quiet_until);
            match until {
                Some(until) if until > tokio::time::Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }
}

#[async_trait]
impl<L: LatticeApi> LatticeApi for Guarded<L> {
    async fn create_association(&self, req: &CreateAssociation) -> Result<Association, LatticeError> {
        self.call(
            "CreateServiceNetworkServiceAssociation",
            CallClass::Mutation,
            self.inner.create_association(req),
        )
        .await
    }
    async fn get_association(&self, id: &str) -> Result<Association, LatticeError> {
        self.call(
            "GetServiceNetworkServiceAssociation",
            CallClass::Read,
            self.inner.get_association(id),
        )
        .await
    }
    async fn delete_association(&self, id: &str) -> Result<AssociationState, LatticeError> {
        self.call(
            "DeleteServiceNetworkServiceAssociation",
            CallClass::Mutation,
            self.inner.delete_association(id),
        )
        .await
    }
    async fn list_associations(
        &self,
        filter: &ListFilter,
        next_token: Option<String>,
    ) -> Result<Page<Association>, LatticeError> {
        self.call(
            "ListServiceNetworkServiceAssociations",
            CallClass::Shared,
            self.inner.list_associations(filter, next_token),
        )
        .await
    }
    async fn list_tags(&self, arn: &str) -> Result<Tags, LatticeError> {
        self.call("ListTagsForResource", CallClass::Read, self.inner.list_tags(arn))
            .await
    }
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), LatticeError> {
        self.call("TagResource", CallClass::Mutation, self.inner.tag_resource(arn, tags))
            .await
    }
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), LatticeError> {
        self.call(
            "UntagResource",
            CallClass::Mutation,
            self.inner.untag_resource(arn, keys),
        )
        .await
    }
    async fn tagged_associations(
        &self,
        filter: (&str, &str),
        next_token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.call(
            "GetResources",
            CallClass::Read,
            self.inner.tagged_associations(filter, next_token),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A caller of `namespace` at drift priority.
    fn drift(namespace: &str) -> Caller {
        Caller {
            namespace: namespace.into(),
            priority: Priority::Drift,
        }
    }

    /// Drains the bucket's burst.
    fn saturate(limiter: &Limiter) {
        while limiter.inner.bucket.check().is_ok() {}
    }

    #[tokio::test]
    async fn when_saturated_mutations_go_ahead_of_reads_that_waited_longer() {
        // 20 a second: a token every 50 ms once the burst is spent.
        let limiter = Arc::new(Limiter::new(20));
        saturate(&limiter);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let spawn = |class: CallClass, name: &'static str| {
            let (limiter, order) = (limiter.clone(), order.clone());
            tokio::spawn(async move {
                limiter.acquire_for(class, &drift("")).await;
                order.lock().unwrap().push(name);
            })
        };
        let mut tasks: Vec<_> = (0..4).map(|_| spawn(CallClass::Read, "read")).collect();
        // The reads are waiting for a token when the mutations arrive.
        tokio::time::sleep(Duration::from_millis(10)).await;
        tasks.extend((0..3).map(|_| spawn(CallClass::Mutation, "mutation")));
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["mutation", "mutation", "mutation", "read", "read", "read", "read"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_call_of_the_identity_goes_out_before_a_throttled_answer_said() {
        let api = Guarded::new(
            crate::lattice::stub::Stub::with(1),
            limiter(100),
            AwsCallMetrics::default(),
        );
        let stub = &api.inner;
        *stub.list_error.lock().unwrap() =
            Some(LatticeError::new(ErrorKind::Throttled, "ThrottlingException", "slow down").with_retry_after(Some(3)));
        let filter = ListFilter::default();
        let start = tokio::time::Instant::now();
        assert!(api.list_associations(&filter, None).await.is_err());
        *stub.list_error.lock().unwrap() = None;
        let tags = api.list_tags("arn:0").await;
        assert!(tags.is_ok());
        assert!(
            start.elapsed() >= Duration::from_secs(3),
            "waited {:?}",
            start.elapsed()
        );
        assert_eq!(stub.calls(), ["List", "ListTags"]);
        let quiet = api.quiet_until.lock().unwrap().unwrap();
        assert!(quiet <= tokio::time::Instant::now(), "the wait is over");
    }

    #[tokio::test]
    async fn saturated_while_a_mutation_waits_and_for_a_while_after() {
        let limiter = Arc::new(Limiter::new(20));
        assert!(!limiter.saturated("a"));
        limiter.acquire_for(CallClass::Mutation, &drift("a")).await;
        assert!(!limiter.saturated("a"), "a mutation that found a token waited for none");
        saturate(&limiter);
        limiter.acquire_for(CallClass::Mutation, &drift("a")).await;
        assert!(limiter.saturated("a"), "it waited for its token");
        limiter.acquire_for(CallClass::Read, &drift("a")).await;
        assert!(limiter.saturated("a"), "still within the memory");
        assert!(!limiter.saturated("b"), "another namespace waits for its own turns");
    }

    #[tokio::test]
    async fn put_off_reconciles_of_a_namespace_come_back_half_a_share_apart() {
        // 10 a second: a token every 100 ms; two busy namespaces, so a's share is one in 200 ms.
        let limiter = Arc::new(Limiter::new(10));
        saturate(&limiter);
        let waiting: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|namespace| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire_for(CallClass::Read, &drift(namespace)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let retry = Caller {
            namespace: "a".into(),
            priority: Priority::Retry,
        };
        let first = limiter.reserve(&retry);
        let slots: Vec<Duration> = (0..4).map(|_| limiter.reserve(&retry)).collect();
        assert!(first <= Duration::from_millis(400), "its turn: {first:?}");
        for pair in std::iter::once(&first).chain(&slots).collect::<Vec<_>>().windows(2) {
            let gap = pair[1].saturating_sub(*pair[0]);
            assert!(
                gap >= Duration::from_millis(95),
                "half a share apart, not all at once: {slots:?} after {first:?}"
            );
        }
        let poll = limiter.reserve(&Caller {
            namespace: "a".into(),
            priority: Priority::Poll,
        });
        assert!(
            poll < slots[1],
            "a poll is not put behind the namespace's put-off retries: {poll:?}"
        );
        for w in waiting {
            w.await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_quiet_namespace_gets_the_next_token_however_long_another_queue_is() {
        let limiter = Arc::new(Limiter::new(20));
        saturate(&limiter);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let spawn = |namespace: &'static str| {
            let (limiter, order) = (limiter.clone(), order.clone());
            tokio::spawn(async move {
                limiter.acquire_for(CallClass::Read, &drift(namespace)).await;
                order.lock().unwrap().push(namespace);
            })
        };
        let mut tasks: Vec<_> = (0..10).map(|_| spawn("busy")).collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(limiter.waiting("busy"), 10);
        tasks.push(spawn("quiet"));
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        let quiet = order.iter().position(|n| *n == "quiet").unwrap();
        assert!(quiet <= 1, "the quiet namespace's call went at turn {quiet}: {order:?}");
    }

    #[tokio::test]
    async fn reads_alone_share_the_bucket_at_its_rate() {
        let limiter = Arc::new(Limiter::new(20));
        saturate(&limiter);
        let start = Instant::now();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire_for(CallClass::Read, &drift("")).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(150), "paced by the bucket: {took:?}");
        assert!(
            took < Duration::from_secs(2),
            "not held back by anything else: {took:?}"
        );
    }

    #[tokio::test]
    async fn a_cancelled_mutation_no_longer_holds_reads_back() {
        let limiter = Arc::new(Limiter::new(1));
        saturate(&limiter);
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire_for(CallClass::Mutation, &drift("")).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(limiter.waiting(""), 1);
        waiting.abort();
        let _ = waiting.await;
        // The read gets the next token (within about a second at 1 a second).
        tokio::time::timeout(Duration::from_secs(3), limiter.acquire_for(CallClass::Read, &drift("")))
            .await
            .expect("the read is not blocked by the cancelled mutation");
    }

    #[tokio::test]
    async fn a_reconcile_knows_how_long_its_calls_waited_in_all() {
        let api = Guarded::new(
            crate::lattice::stub::Stub::with(1),
            limiter(20),
            AwsCallMetrics::default(),
        );
        saturate(&api.limiter);
        let caller = Caller {
            namespace: "team".into(),
            priority: Priority::Change,
        };
        let waited = calling_as(caller, async {
            assert_eq!(waited(), Duration::ZERO);
            api.list_tags("arn:0").await.unwrap();
            api.list_tags("arn:0").await.unwrap();
            waited()
        })
        .await;
        assert!(
            waited >= Duration::from_millis(80),
            "two tokens at 20 a second: {waited:?}"
        );
        assert_eq!(super::waited(), Duration::ZERO, "outside a reconcile: nothing");
    }

    #[test]
    fn aws_call_metrics_are_served_as_before() {
        let mut registry = Registry::with_prefix("vpc_lattice_operator");
        let metrics = AwsCallMetrics::default().register(&mut registry);
        let throttled = LatticeError::new(ErrorKind::Throttled, "ThrottlingException", "slow down");
        metrics.record("TagResource", Some(&throttled), Duration::from_millis(3));
        metrics.record("TagResource", None, Duration::from_millis(3));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        for line in [
            "# HELP vpc_lattice_operator_aws_calls VPC Lattice calls by operation, outcome and error code.",
            "# TYPE vpc_lattice_operator_aws_calls counter",
            r#"vpc_lattice_operator_aws_calls_total{operation="TagResource",outcome="error",error_code="ThrottlingException"} 1"#,
            r#"vpc_lattice_operator_aws_calls_total{operation="TagResource",outcome="success",error_code=""} 1"#,
            "# HELP vpc_lattice_operator_aws_call_duration_seconds VPC Lattice call duration.",
            "# TYPE vpc_lattice_operator_aws_call_duration_seconds histogram",
            r#"vpc_lattice_operator_aws_call_duration_seconds_count{operation="TagResource"} 2"#,
            r#"vpc_lattice_operator_aws_call_duration_seconds_bucket{le="0.005",operation="TagResource"} 2"#,
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line:?} in\n{out}");
        }
    }
}
