//! The shared observation: what a listing says (pure), when it may answer (pure), and how requests
//! share Lists (single flight, kept while fresh, a new one after a caller's own change).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::lattice::ErrorKind;
use crate::lattice::stub::Stub;

fn association(id: &str, state: AssociationState) -> Association {
    Association::new(id, format!("arn:{id}"), state)
}

fn scope() -> Scope {
    ("default".into(), "sn-0123456789abcdef0".into())
}

// ---------------------------------------------------------------------------------------------
// What a listing says about one association.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_listed_association_in_progress_or_active_is_answered_by_the_listing() {
    let now = Instant::now();
    let states = [
        AssociationState::CreateInProgress,
        AssociationState::Active,
        AssociationState::DeleteInProgress,
        AssociationState::Other("SOMETHING_NEW".into()),
    ];
    for state in states {
        let a = association("snsa-1", state.clone());
        let listing = Listing::new([a.clone()], now, now);
        assert_eq!(listing.says("snsa-1"), Says::Listed(a.clone()), "{state}");
    }
}

#[test]
fn a_listing_finds_the_association_of_a_service_by_its_id_or_arn() {
    let now = Instant::now();
    let of = |id: &str, svc: &str| {
        let mut a = association(id, AssociationState::Active);
        a.service_id = Some(svc.into());
        a.service_arn = Some(format!("arn:aws:vpc-lattice:us-east-1:111122223333:service/{svc}"));
        a
    };
    let (one, two) = (
        of("snsa-1", "svc-0000000000000000a"),
        of("snsa-2", "svc-0000000000000000b"),
    );
    let listing = Listing::new([one.clone(), two.clone()], now, now);
    assert_eq!(listing.of_service("svc-0000000000000000b"), Some(two.clone()));
    assert_eq!(listing.of_service(two.service_arn.as_deref().unwrap()), Some(two));
    assert_eq!(listing.of_service("svc-0000000000000000a"), Some(one));
    assert_eq!(listing.of_service("svc-0000000000000000c"), None);
    let other_account = "arn:aws:vpc-lattice:us-east-1:444455556666:service/svc-0000000000000000a";
    assert_eq!(
        listing.of_service(other_account),
        None,
        "an ARN of another account is another service"
    );
    assert_eq!(Listing::new([], now, now).of_service("svc-0000000000000000a"), None);
}

#[test]
fn a_failed_association_needs_a_get_for_its_failure_code_and_message() {
    let now = Instant::now();
    for state in [AssociationState::CreateFailed, AssociationState::DeleteFailed] {
        let a = association("snsa-1", state.clone());
        let listing = Listing::new([a.clone()], now, now);
        assert_eq!(listing.says("snsa-1"), Says::Failed(a.clone()), "{state}");
    }
}

#[test]
fn an_association_missing_from_the_listing_is_missing() {
    let now = Instant::now();
    let listing = Listing::new([association("snsa-1", AssociationState::Active)], now, now);
    assert_eq!(listing.says("snsa-2"), Says::Missing);
    assert_eq!(Listing::new([], now, now).says("snsa-1"), Says::Missing);
}

// ---------------------------------------------------------------------------------------------
// When a listing may answer.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_listing_begun_after_the_accepted_delete_confirms_a_missing_association_gone() {
    let deleted_at = Instant::now();
    let later = deleted_at + Duration::from_millis(10);
    let after = Listing::new([association("snsa-1", AssociationState::Active)], later, later);
    assert!(
        after.confirms_gone("snsa-2", Some(deleted_at)),
        "missing from a listing begun after the Delete"
    );
    assert!(
        after.confirms_gone("snsa-2", Some(later)),
        "begun at the same instant counts"
    );
    assert!(
        !after.confirms_gone("snsa-1", Some(deleted_at)),
        "still listed: not gone"
    );
    // Begun before the Delete was accepted: it may not show the deletion, or may predate the
    // association; only a Get tells.
    let before = Listing::new([], deleted_at, later);
    assert!(!before.confirms_gone("snsa-2", Some(later)));
    // The Delete time unknown (a restart mid-delete): only a Get tells.
    assert!(!after.confirms_gone("snsa-2", None));
}

#[test]
fn the_learned_time_is_the_shortest_of_the_last_samples() {
    let mut learned = Learned::default();
    assert_eq!(learned.estimate(), None, "nothing learned");
    for s in [21, 20, 22] {
        learned.record(Duration::from_secs(s));
    }
    assert_eq!(learned.estimate(), Some(Duration::from_secs(20)));
    // A network that got slower: the old samples are forgotten after LEARNED_SAMPLES new ones.
    for s in 30..30 + LEARNED_SAMPLES as u64 {
        learned.record(Duration::from_secs(s));
    }
    assert_eq!(learned.estimate(), Some(Duration::from_secs(30)));
}

#[test]
fn observations_learn_per_scope_and_kind_of_work() {
    let observations = Observations::new(Duration::from_secs(1));
    let other: Scope = ("default".into(), "sn-other".into());
    observations.learn(&scope(), Work::Create, Duration::from_secs(20));
    assert_eq!(
        observations.learned(&scope(), Work::Create),
        Some(Duration::from_secs(20))
    );
    assert_eq!(observations.learned(&scope(), Work::Delete), None);
    assert_eq!(observations.learned(&other, Work::Create), None);
}

#[test]
fn a_listing_serves_while_fresh_and_only_callers_whose_change_it_saw() {
    let t0 = Instant::now();
    let started = t0 + Duration::from_millis(100);
    let finished = t0 + Duration::from_millis(300);
    let listing = Listing::new([], started, finished);
    let max_age = Duration::from_secs(1);
    let at = |ms| finished + Duration::from_millis(ms);
    assert!(listing.serves(None, max_age, at(0)));
    assert!(listing.serves(None, max_age, at(999)));
    assert!(!listing.serves(None, max_age, at(1000)), "stale after max_age");
    assert!(
        listing.serves(Some(t0), max_age, at(10)),
        "began after the caller's change"
    );
    assert!(listing.serves(Some(started), max_age, at(10)));
    assert!(
        !listing.serves(Some(started + Duration::from_millis(1)), max_age, at(10)),
        "began before the caller's change: it may not show it"
    );
    assert!(!listing.serves(None, Duration::ZERO, at(0)), "max_age 0: never kept");
}

// ---------------------------------------------------------------------------------------------
// Sharing Lists.
// ---------------------------------------------------------------------------------------------

fn api(stub: Stub) -> (Arc<Stub>, Arc<dyn LatticeApi>) {
    let stub = Arc::new(stub);
    (stub.clone(), stub)
}

#[tokio::test]
async fn one_paged_list_answers_every_concurrent_request() {
    let (stub, api) = api(Stub {
        delay: Duration::from_millis(20),
        ..Stub::with(250)
    });
    let observations = Arc::new(Observations::new(Duration::from_secs(60)));
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let (observations, api) = (observations.clone(), api.clone());
            tokio::spawn(async move { observations.listing(&scope(), &api, None).await })
        })
        .collect();
    let mut served = Vec::new();
    for r in requests {
        let (listing, how) = r.await.unwrap().unwrap();
        assert_eq!(listing.len(), 250);
        served.push(how);
    }
    assert_eq!(stub.count("List"), 3, "one List of three pages of 100");
    assert_eq!(served.iter().filter(|s| **s == Served::Listed).count(), 1);
    assert!(served.iter().all(|s| matches!(s, Served::Listed | Served::Joined)));
}

#[tokio::test]
async fn a_fresh_listing_is_kept_and_reused_without_a_call() {
    let (stub, api) = api(Stub::with(3));
    let observations = Observations::new(Duration::from_secs(60));
    let (first, how) = observations.listing(&scope(), &api, None).await.unwrap();
    assert_eq!(how, Served::Listed);
    let (again, how) = observations.listing(&scope(), &api, None).await.unwrap();
    assert_eq!(how, Served::Kept);
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(stub.count("List"), 1);
}

#[tokio::test]
async fn each_scope_has_its_own_listing() {
    let (stub, api) = api(Stub::with(3));
    let observations = Observations::new(Duration::from_secs(60));
    observations.listing(&scope(), &api, None).await.unwrap();
    let other: Scope = ("arn:aws:iam::111122223333:role/tenant".into(), scope().1);
    let (_, how) = observations.listing(&other, &api, None).await.unwrap();
    assert_eq!(how, Served::Listed, "another identity sees another account");
    assert_eq!(stub.count("List"), 2);
}

#[tokio::test]
async fn a_caller_after_its_own_change_gets_a_listing_begun_after_it() {
    let (stub, api) = api(Stub::with(3));
    let observations = Observations::new(Duration::from_secs(60));
    let (before, _) = observations.listing(&scope(), &api, None).await.unwrap();
    let changed = Instant::now();
    let (after, how) = observations.listing(&scope(), &api, Some(changed)).await.unwrap();
    assert_eq!(how, Served::Listed);
    assert!(after.started >= changed && after.started > before.started);
    assert_eq!(stub.count("List"), 2);
    // The newer listing is kept for everyone.
    let (kept, how) = observations.listing(&scope(), &api, None).await.unwrap();
    assert_eq!(how, Served::Kept);
    assert!(Arc::ptr_eq(&kept, &after));
}

#[tokio::test]
async fn a_stale_listing_is_listed_again() {
    let (stub, api) = api(Stub::with(3));
    let observations = Observations::new(Duration::ZERO);
    for _ in 0..3 {
        let (_, how) = observations.listing(&scope(), &api, None).await.unwrap();
        assert_eq!(how, Served::Listed);
    }
    assert_eq!(stub.count("List"), 3);
}

#[tokio::test]
async fn a_failed_list_fails_every_request_that_waited_for_it_and_is_not_kept() {
    let (stub, api) = api(Stub {
        delay: Duration::from_millis(20),
        ..Stub::with(3)
    });
    *stub.list_error.lock().unwrap() = Some(LatticeError::new(
        ErrorKind::Throttled,
        "ThrottlingException",
        "slow down",
    ));
    let observations = Arc::new(Observations::new(Duration::from_secs(60)));
    let requests: Vec<_> = (0..5)
        .map(|_| {
            let (observations, api) = (observations.clone(), api.clone());
            tokio::spawn(async move { observations.listing(&scope(), &api, None).await })
        })
        .collect();
    for r in requests {
        assert_eq!(r.await.unwrap().unwrap_err().kind, ErrorKind::Throttled);
    }
    assert_eq!(stub.count("List"), 1, "the waiters shared the failed List");
    *stub.list_error.lock().unwrap() = None;
    let (listing, how) = observations.listing(&scope(), &api, None).await.unwrap();
    assert_eq!((listing.len(), how), (3, Served::Listed));
}

#[tokio::test]
async fn a_settled_object_is_answered_by_a_listing_too_old_for_one_in_progress() {
    let (stub, api) = api(Stub::with(3));
    let observations = Observations::with_ages(Duration::from_millis(20), Duration::from_secs(60));
    observations.listing(&scope(), &api, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let settled = observations.settled_max_age;
    let (_, how) = observations
        .listing_within(&scope(), &api, None, settled)
        .await
        .unwrap();
    assert_eq!(how, Served::Kept, "settled: 50 ms old is young enough");
    let (_, how) = observations.listing(&scope(), &api, None).await.unwrap();
    assert_eq!(how, Served::Listed, "in progress: 50 ms old is stale");
    let changed = Instant::now();
    let (_, how) = observations
        .listing_within(&scope(), &api, Some(changed), settled)
        .await
        .unwrap();
    assert_eq!(how, Served::Listed, "never older than the caller's own change");
    assert_eq!(stub.count("List"), 3);
}

#[tokio::test]
async fn a_stale_listing_is_dropped_without_waiting_for_the_next_request() {
    let (_, api) = api(Stub::with(3));
    let observations = Observations::with_ages(Duration::from_millis(50), Duration::from_millis(50));
    observations.listing(&scope(), &api, None).await.unwrap();
    assert!(keeps_a_listing(&observations));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!keeps_a_listing(&observations), "no copy of AWS's state kept at rest");
}

/// True while a listing is kept (one was made and has not gone stale and been dropped).
fn keeps_a_listing(observations: &Observations) -> bool {
    crate::lock(&observations.entries).values().any(|e| e.listing.is_some())
}

// ---------------------------------------------------------------------------------------------
// The budget of a network's Lists while the rate limiter is saturated.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_network_is_listed_again_no_sooner_than_its_pages_share_of_the_rate_allows() {
    let t = Instant::now();
    let floor = Duration::from_secs(8);
    let cost = Duration::from_secs(1);
    let last = |pages| Some(LastList { started: t, pages });
    assert_eq!(next_list(last(30), false, floor, cost), None, "not saturated: at once");
    assert_eq!(next_list(None, true, floor, cost), None, "never listed: at once");
    assert_eq!(
        next_list(last(30), true, floor, cost),
        Some(t + Duration::from_secs(30))
    );
    assert_eq!(
        next_list(last(2), true, floor, cost),
        Some(t + floor),
        "a small network: the floor"
    );
    assert_eq!(
        next_list(last(0), true, floor, Duration::from_secs(9)),
        Some(t + Duration::from_secs(9))
    );
}

#[test]
fn a_listing_takes_a_page_per_hundred_associations() {
    assert_eq!([0, 1, 100, 101, 3000].map(pages), [1, 1, 1, 2, 30]);
}

#[tokio::test]
async fn while_saturated_a_look_that_needs_a_new_list_is_put_off_until_the_budget_allows_it() {
    let (stub, api) = api(Stub::with(3000));
    // 10 calls a second: a page's share is 1 s, the floor 8 × 100 ms.
    let observations = Observations::with_ages(Duration::from_millis(100), Duration::from_secs(60))
        .with_budget(Duration::from_millis(100));
    let (listing, _) = observations.listing(&scope(), &api, None).await.unwrap();
    assert_eq!(stub.count("List"), 30);
    let created = Instant::now();
    let age = observations.age_for(false, true);
    let at = observations.put_off(&scope(), Some(created), age, true);
    assert_eq!(
        at,
        Some(listing.started + Duration::from_secs(30)),
        "30 pages: 30 s after it began"
    );
    assert_eq!(
        observations.put_off(&scope(), Some(created), age, false),
        None,
        "not saturated: listed at once"
    );
    assert_eq!(
        observations.put_off(&scope(), None, age, true),
        None,
        "the listing kept answers a look with no change of its own"
    );
    let other: Scope = ("default".into(), "sn-other".into());
    assert_eq!(
        observations.put_off(&other, Some(created), age, true),
        None,
        "never listed"
    );
}

#[tokio::test]
async fn a_list_under_way_that_began_after_the_change_answers_without_putting_off() {
    let (stub, api) = api(Stub {
        delay: Duration::from_millis(50),
        ..Stub::with(3)
    });
    let observations = Arc::new(Observations::new(Duration::from_millis(10)).with_budget(Duration::from_secs(1)));
    let created = Instant::now();
    let running = {
        let (observations, api) = (observations.clone(), api.clone());
        tokio::spawn(async move { observations.listing(&scope(), &api, Some(created)).await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    let age = observations.age_for(false, true);
    assert_eq!(
        observations.put_off(&scope(), Some(created), age, true),
        None,
        "joins it"
    );
    running.await.unwrap().unwrap();
    let later = Instant::now();
    assert!(
        observations.put_off(&scope(), Some(later), age, true).is_some(),
        "a change after it began waits for the budget"
    );
    assert_eq!(stub.count("List"), 1);
}

#[tokio::test]
async fn a_look_that_would_join_a_list_under_way_can_wait_for_its_end_instead() {
    let (stub, api) = api(Stub {
        delay: Duration::from_millis(50),
        ..Stub::with(3)
    });
    let observations = Arc::new(Observations::new(Duration::from_secs(60)));
    let age = observations.age_for(true, false);
    assert!(
        observations.under_way(&scope(), None, age).is_none(),
        "no List under way: the look begins one"
    );
    let running = {
        let (observations, api) = (observations.clone(), api.clone());
        tokio::spawn(async move { observations.listing(&scope(), &api, None).await })
    };
    let ended = loop {
        if let Some(ended) = observations.under_way(&scope(), None, age) {
            break ended;
        }
        tokio::task::yield_now().await;
    };
    assert!(
        observations.under_way(&scope(), Some(Instant::now()), age).is_none(),
        "a change after the List began needs a List of its own"
    );
    ended.await;
    running.await.unwrap().unwrap();
    assert!(
        observations.under_way(&scope(), None, age).is_none(),
        "the listing kept answers"
    );
    assert_eq!(stub.count("List"), 1);
}
