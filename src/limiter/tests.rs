//! The limiter as a whole: the fair order of waiting calls against a real token bucket, saturation,
//! put-off reconciles' slots, cancellation, the hold a throttled answer puts on its identity, and how
//! long one caller's calls waited. Calls are ordered by observed state (who waits), never by sleeps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::lattice::{ErrorKind, LatticeError, ListFilter};

/// A caller of `namespace` at drift priority.
fn drift(namespace: &str) -> Caller {
    Caller {
        namespace: namespace.into(),
        priority: Priority::Drift,
    }
}

/// Drains the bucket's burst.
fn saturate(limiter: &Limiter) {
    limiter.drain();
}

/// Yields until `n` calls of `namespace` wait for a token (the order of arrival is then known; no
/// wall-clock sleep).
async fn until_waiting(limiter: &Limiter, namespace: &str, n: usize) {
    while limiter.waiting(namespace) < n {
        tokio::task::yield_now().await;
    }
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
    // The reads are waiting for a token when the mutations arrive (the next is 50 ms away).
    until_waiting(&limiter, "", 4).await;
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
    let stub = Arc::new(crate::lattice::stub::Stub::with(1));
    let limiter = limiter(100);
    let api = Admitted::wrap(stub.clone(), "account-a", limiter.calls(drift("team")));
    let other = Admitted::wrap(stub.clone(), "account-b", limiter.calls(drift("team")));
    *stub.list_error.lock().unwrap() =
        Some(LatticeError::new(ErrorKind::Throttled, "ThrottlingException", "slow down").with_retry_after(Some(3)));
    let filter = ListFilter::default();
    let start = tokio::time::Instant::now();
    assert!(api.list_associations(&filter, None).await.is_err());
    *stub.list_error.lock().unwrap() = None;
    assert!(other.list_tags("arn:1").await.is_ok());
    assert!(start.elapsed() < Duration::from_secs(1), "another identity is not held");
    assert!(api.list_tags("arn:0").await.is_ok());
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(stub.calls(), ["List", "ListTags", "ListTags"]);
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
    until_waiting(&limiter, "a", 1).await;
    until_waiting(&limiter, "b", 1).await;
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
    until_waiting(&limiter, "busy", 10).await;
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
    until_waiting(&limiter, "", 1).await;
    waiting.abort();
    let _ = waiting.await;
    // The read gets the next token (within about a second at 1 a second).
    tokio::time::timeout(Duration::from_secs(3), limiter.acquire_for(CallClass::Read, &drift("")))
        .await
        .expect("the read is not blocked by the cancelled mutation");
}

#[tokio::test]
async fn a_reconcile_knows_how_long_its_calls_waited_in_all() {
    let limiter = limiter(20);
    saturate(&limiter);
    let calls = limiter.calls(Caller {
        namespace: "team".into(),
        priority: Priority::Change,
    });
    let api = Admitted::wrap(Arc::new(crate::lattice::stub::Stub::with(1)), "account", calls.clone());
    assert_eq!(calls.waited(), Duration::ZERO);
    api.list_tags("arn:0").await.unwrap();
    api.list_tags("arn:0").await.unwrap();
    assert!(
        calls.waited() >= Duration::from_millis(80),
        "two tokens at 20 a second: {:?}",
        calls.waited()
    );
    assert_eq!(calls.caller().namespace, "team");
}

/// AWS's quotas are per account and region: a call to another region waits for that region's
/// budget, not behind the home region's queue (ordered by observed state: the home region's calls
/// are still waiting when the other region's call is through).
#[tokio::test]
async fn each_region_has_its_own_budget() {
    let limiter = Arc::new(Limiter::new(1).with_home_region(Some("us-east-1".into())));
    assert!(
        Arc::ptr_eq(&limiter.for_region(Some("us-east-1")), &limiter),
        "home: itself"
    );
    assert!(Arc::ptr_eq(&limiter.for_region(None), &limiter), "none named: home");
    let west = limiter.for_region(Some("us-west-2"));
    assert!(!Arc::ptr_eq(&west, &limiter));
    assert!(
        Arc::ptr_eq(&limiter.for_region(Some("us-west-2")), &west),
        "one budget per region"
    );
    // The home region's bucket (one a second) is spent and three of its calls wait.
    saturate(&limiter);
    let waiting: Vec<_> = (0..3)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move { limiter.acquire_for(CallClass::Read, &drift("east")).await })
        })
        .collect();
    until_waiting(&limiter, "east", 3).await;
    // A call to the other region gets its token from its own full bucket at once.
    let calls = limiter.calls(drift("west"));
    let west_calls = calls.in_region(Some("us-west-2"));
    west_calls.admit(CallClass::Read).await;
    assert_eq!(limiter.waiting("east"), 3, "the home region's calls still wait");
    assert!(Arc::ptr_eq(&calls.in_region(Some("us-east-1")), &calls));
    for w in waiting {
        w.abort();
    }
}
