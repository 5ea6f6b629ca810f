//! The shared observation of AWS: one paged `ListServiceNetworkServiceAssociations` per (AWS identity,
//! service network), reused by every reconcile of that network's objects while it is fresh, instead
//! of one Get per object per poll. A page carries up to 100 associations with their status, IDs, ARNs,
//! names and DNS entry, so one call answers for up to 100 objects; only a failed association's
//! failure code and message, and an association missing from the listing, need a Get.
//!
//! [`Listing::says`] is the pure part: what a listing says about one association. [`Observations`]
//! holds the listings: a listing serves for `max_age` after its last page arrived; concurrent
//! requests for the same network while a List is running wait for that List (single flight)
//! instead of starting their own; an object that has just made a mutating call asks for a listing
//! started after that call (`not_before`), so it never reads a listing older than its own change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::{Association, AssociationState, LatticeApi, LatticeError, ListFilter, list_all};

/// The page size of the List (AWS's maximum).
pub const PAGE_SIZE: i32 = 100;

/// Where a listing looks: the key of an AWS identity (see `provider::Tenant::key`) and a service
/// network identifier (ID or ARN, as the objects give it).
pub type Scope = (String, String);

/// Every association of one service network, as one complete paged List reported them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// When the List began: only changes made before this are sure to show.
    pub started: Instant,
    /// When its last page arrived: the listing is fresh for `max_age` after this.
    pub finished: Instant,
    items: HashMap<String, Association>,
}

/// What a listing says about one association.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Says<'a> {
    /// Listed, and the listing tells all the operator needs: it is in progress, ACTIVE, or in a
    /// state this operator does not know yet (waited on, as a Get would have it).
    Listed(&'a Association),
    /// Listed as CREATE_FAILED or DELETE_FAILED: the failure code and message come only from a Get.
    Failed(&'a Association),
    /// Not in the listing, which is complete: deleted, or too new to be listed; only a Get tells.
    Missing,
}

impl Listing {
    pub fn new(items: impl IntoIterator<Item = Association>, started: Instant, finished: Instant) -> Self {
        Self {
            started,
            finished,
            items: items.into_iter().map(|a| (a.id.clone(), a)).collect(),
        }
    }

    /// What this listing says about the association `id`. Pure.
    pub fn says(&self, id: &str) -> Says<'_> {
        match self.items.get(id) {
            None => Says::Missing,
            Some(a) => match a.status {
                AssociationState::CreateFailed | AssociationState::DeleteFailed => Says::Failed(a),
                _ => Says::Listed(a),
            },
        }
    }

    /// The associations listed.
    pub fn associations(&self) -> impl Iterator<Item = &Association> {
        self.items.values()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True when this listing may answer, at `now`, an object whose last mutating call returned at
    /// `not_before`: it began after that call and its last page is at most `max_age` old.
    pub fn serves(&self, not_before: Option<Instant>, max_age: Duration, now: Instant) -> bool {
        not_before.is_none_or(|t| self.started >= t) && now.saturating_duration_since(self.finished) < max_age
    }
}

type Listed = Result<Arc<Listing>, LatticeError>;

/// A List under way, shared by everyone who waits for it.
struct InFlight {
    started: Instant,
    result: Shared<BoxFuture<'static, Listed>>,
}

#[derive(Default)]
struct Entry {
    listing: Option<Arc<Listing>>,
    in_flight: Option<InFlight>,
}

/// How a request for a listing was answered (for metrics and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// By the listing kept for the network.
    Kept,
    /// By a List another request had started.
    Joined,
    /// By a List started for this request.
    Listed,
}

impl Served {
    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Served::Kept => "kept",
            Served::Joined => "joined",
            Served::Listed => "listed",
        }
    }
}

/// The listings of every (identity, service network) in use, shared by all reconciles and the drift
/// scan.
pub struct Observations {
    max_age: Duration,
    entries: Arc<Mutex<HashMap<Scope, Entry>>>,
}

impl Observations {
    /// Listings serve for `max_age` after their last page arrived.
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            entries: Arc::default(),
        }
    }

    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// A listing of `scope` that began after `not_before` (the caller's last mutating call, if any)
    /// and is fresh: the one kept, else the List under way that began after `not_before`, else a new
    /// paged List through `api`.
    pub async fn listing(
        &self,
        scope: &Scope,
        api: &Arc<dyn LatticeApi>,
        not_before: Option<Instant>,
    ) -> Result<(Arc<Listing>, Served), LatticeError> {
        let (shared, served) = {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            prune(&mut entries, self.max_age, now);
            let entry = entries.entry(scope.clone()).or_default();
            if let Some(listing) = &entry.listing
                && listing.serves(not_before, self.max_age, now)
            {
                return Ok((listing.clone(), Served::Kept));
            }
            match &entry.in_flight {
                Some(f) if not_before.is_none_or(|t| f.started >= t) => (f.result.clone(), Served::Joined),
                _ => {
                    let result = list(api.clone(), scope.1.clone(), now).boxed().shared();
                    entry.in_flight = Some(InFlight {
                        started: now,
                        result: result.clone(),
                    });
                    (result, Served::Listed)
                }
            }
        };
        let result = shared.clone().await;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.entry(scope.clone()).or_default();
        if entry.in_flight.as_ref().is_some_and(|f| f.result.ptr_eq(&shared)) {
            entry.in_flight = None;
        }
        if let Ok(listing) = &result
            && entry.listing.as_ref().is_none_or(|kept| kept.started < listing.started)
        {
            entry.listing = Some(listing.clone());
            self.drop_when_stale();
        }
        result.map(|listing| (listing, served))
    }

    /// True when no listing is kept (none was made, or all went stale and were dropped).
    pub fn is_empty(&self) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.values().all(|e| e.listing.is_none())
    }

    /// Drops the listing just kept once it is stale, so that a quiet operator keeps no copy of AWS's
    /// state between drift scans.
    fn drop_when_stale(&self) {
        let entries = Arc::downgrade(&self.entries);
        let max_age = self.max_age;
        tokio::spawn(async move {
            tokio::time::sleep(max_age).await;
            if let Some(entries) = entries.upgrade() {
                prune(
                    &mut entries.lock().unwrap_or_else(|p| p.into_inner()),
                    max_age,
                    Instant::now(),
                );
            }
        });
    }
}

/// Drops listings no request can use any more (and their associations with them).
fn prune(entries: &mut HashMap<Scope, Entry>, max_age: Duration, now: Instant) {
    entries.retain(|_, e| {
        if e.listing.as_ref().is_some_and(|l| !l.serves(None, max_age, now)) {
            e.listing = None;
        }
        e.listing.is_some() || e.in_flight.is_some()
    });
}

/// One complete paged List of a service network's associations.
async fn list(api: Arc<dyn LatticeApi>, network: String, started: Instant) -> Listed {
    let filter = ListFilter {
        service_network_identifier: Some(network),
        service_identifier: None,
        max_results: Some(PAGE_SIZE),
    };
    let items = list_all(api.as_ref(), &filter).await?;
    Ok(Arc::new(Listing::new(items, started, Instant::now())))
}

#[cfg(test)]
mod tests;
