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
//!
//! While mutations wait for the rate limiter, a network's Lists are also budgeted
//! ([`next_list`], pure): a network of P pages is listed again no sooner than P × [`LIST_SHARE`]
//! tokens' time after its last List began, so its Lists take at most a tenth of the rate however
//! big it is, and an object whose look would need a List before then is put off until then
//! ([`Observations::put_off`]) instead of starting one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};

use super::packed::{Packed, dict_of, pack};
use super::{Association, AssociationState, LatticeApi, LatticeError, ListFilter, each_page};
pub use super::{Begun, Scope, Work};
use crate::lock;
use crate::pack::Dict;

/// The page size of the List (AWS's maximum).
pub const PAGE_SIZE: i32 = 100;

/// While mutating calls wait for the shared rate limiter, polls of objects in progress accept a
/// listing up to this many times `max_age` old (8 s by default): each List they would start takes
/// its token from a waiting Create or Delete, and moves no work forward in AWS (it only lets an
/// object show Ready sooner). A network listed every second during a burst of 1,000 Creates over
/// 10 networks spends half the rate on Lists; listed every 8 s, a tenth. Measured (`make bench`,
/// burst-1k): a factor of 4 left 190 List pages and 1.21 × the bound. Once the Creates are done the
/// limiter is no longer saturated and polls are answered at `max_age` again.
pub const SATURATED_AGE_FACTOR: u32 = 8;

/// While mutations wait for the rate limiter, one network's Lists take at most one token in this
/// many: after a List of P pages began, the next may begin only P × `LIST_SHARE` tokens' time later
/// ([`next_list`]). Without the budget, a big network was listed back to back: every object
/// created while a List ran asked for one begun after its Create, so the Lists of a network of
/// 3,000 took more and more of the rate from the Creates (measured: 3,963 List pages beside 3,000
/// Creates, 2.3 × the bound). With it they cost about a tenth of the rate, whatever the size.
pub const LIST_SHARE: u32 = 10;

/// When the next List of a network may begin, pure: at once unless the rate limiter is
/// `saturated`; then no sooner than `floor` (the saturated poll age, [`SATURATED_AGE_FACTOR`] ×
/// `max_age`) or `pages` × `page_cost` (one page's share, [`LIST_SHARE`] tokens' time) after the
/// last List began, whichever is later. `None`: now (or no List yet).
pub fn next_list(last: Option<LastList>, saturated: bool, floor: Duration, page_cost: Duration) -> Option<Instant> {
    if !saturated {
        return None;
    }
    let last = last?;
    let pages = u32::try_from(last.pages.max(1)).unwrap_or(u32::MAX);
    Some(last.started + floor.max(page_cost.saturating_mul(pages)))
}

/// The last List of a network: when it began, and how many pages the network's listing took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastList {
    pub started: Instant,
    pub pages: usize,
}

/// How many List pages `associations` take (at least one).
pub fn pages(associations: usize) -> usize {
    associations.div_ceil(PAGE_SIZE as usize).max(1)
}

/// How old a listing may be for an object that is settled: its association ACTIVE as its status
/// says, no Create or Delete of its own under way (a restart, a resync, an edit). Such a reconcile
/// asks only whether the association is still there as recorded, which the drift scan answers only
/// once per interval (10 minutes by default): a listing up to this old answers it better, and lets
/// one listing per network serve every object of a restart (10,000 objects in 20 networks: 100
/// List pages) instead of one per freshness window. Objects in progress use `max_age`.
pub const SETTLED_MAX_AGE: Duration = Duration::from_secs(30);

/// Every association of one service network, as one complete paged List reported them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// When the List began: only changes made before this are sure to show.
    pub started: Instant,
    /// When its last page arrived: the listing is fresh for `max_age` after this.
    pub finished: Instant,
    /// By ID, packed ([`Packed`]): a listing is kept while it answers, and a restart keeps every
    /// network's at once.
    items: HashMap<Box<str>, Packed>,
    /// What its items are packed against (its first association's fields).
    dict: Dict,
}

/// A listing being made, page by page: each association packed as it arrives, against the first's
/// fields.
#[derive(Default)]
struct Packing {
    items: HashMap<Box<str>, Packed>,
    dict: Option<Dict>,
}

impl Packing {
    fn add(&mut self, page: impl IntoIterator<Item = Association>) {
        for a in page {
            let dict = self.dict.get_or_insert_with(|| dict_of(Some(&a)));
            let (id, packed) = pack(&a, dict);
            self.items.insert(id, packed);
        }
    }

    fn done(self, started: Instant, finished: Instant) -> Listing {
        Listing {
            started,
            finished,
            items: self.items,
            dict: self.dict.unwrap_or_else(|| dict_of(None)),
        }
    }
}

/// What a listing says about one association.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Says {
    /// Listed, and the listing tells all the operator needs: it is in progress, ACTIVE, or in a
    /// state this operator does not know yet (waited on, as a Get would have it).
    Listed(Association),
    /// Listed as CREATE_FAILED or DELETE_FAILED: the failure code and message come only from a Get.
    Failed(Association),
    /// Not in the listing, which is complete: deleted, or too new to be listed; only a Get tells.
    Missing,
}

impl Listing {
    pub fn new(items: impl IntoIterator<Item = Association>, started: Instant, finished: Instant) -> Self {
        let mut packing = Packing::default();
        packing.add(items);
        packing.done(started, finished)
    }

    /// What this listing says about the association `id`. Pure.
    pub fn says(&self, id: &str) -> Says {
        match self.items.get(id) {
            None => Says::Missing,
            Some(p) => match p.status {
                AssociationState::CreateFailed | AssociationState::DeleteFailed => {
                    Says::Failed(p.unpack(id, &self.dict))
                }
                _ => Says::Listed(p.unpack(id, &self.dict)),
            },
        }
    }

    /// The association of `service` (its ID or ARN) this listing (of one service network) shows, if
    /// any: a service has at most one association with a network. Pure.
    pub fn of_service(&self, service: &str) -> Option<Association> {
        let (id, p) = self.items.iter().find(|(_, p)| p.is_of_service(service, &self.dict))?;
        Some(p.unpack(id, &self.dict))
    }

    /// The state the listing reports for the association `id`, `None` when it is missing.
    pub fn state_of(&self, id: &str) -> Option<&AssociationState> {
        self.items.get(id).map(|a| &a.status)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// True when this listing proves the association `id` gone: it is missing from this complete
    /// listing, and the listing began after the object's Delete of it was accepted (`deleted_at`).
    /// Without a known Delete time (e.g. after a restart mid-delete) only a Get can tell. Pure.
    pub fn confirms_gone(&self, id: &str, deleted_at: Option<Instant>) -> bool {
        deleted_at.is_some_and(|t| self.started >= t) && !self.items.contains_key(id)
    }

    /// True when this listing may answer, at `now`, an object whose last mutating call returned at
    /// `not_before`: it began after that call and its last page is at most `max_age` old.
    pub fn serves(&self, not_before: Option<Instant>, max_age: Duration, now: Instant) -> bool {
        not_before.is_none_or(|t| self.started >= t) && now.saturating_duration_since(self.finished) < max_age
    }
}

/// How many recent durations are kept per (scope, work). Each sample overshoots by up to a poll
/// step (up to 8 s while the limiter is saturated): the shortest of 20 is close to the true time
/// (measured: with 5, the last objects of a 1,000-object burst were polled ~3 s late).
pub const LEARNED_SAMPLES: usize = 20;

/// The recent durations of one kind of work in one service network. The estimate is the shortest
/// of the last [`LEARNED_SAMPLES`]: every sample is measured at a poll, so it can only overshoot
/// the true time (by the poll's step); the shortest is the closest. Pure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Learned {
    samples: std::collections::VecDeque<Duration>,
}

impl Learned {
    /// Adds one measured duration, forgetting the oldest beyond [`LEARNED_SAMPLES`].
    pub fn record(&mut self, took: Duration) {
        if self.samples.len() == LEARNED_SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(took);
    }

    /// The duration to aim the polls at, `None` before any sample.
    pub fn estimate(&self) -> Option<Duration> {
        self.samples.iter().min().copied()
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
    /// The last List begun, for the budget ([`next_list`]); its pages are the last listing's.
    last: Option<LastList>,
}

impl Entry {
    /// Whether a request (`not_before`, `age`) is answered at `now` without a new List: by the
    /// listing kept, or by the List under way.
    fn answers(&self, not_before: Option<Instant>, age: Duration, now: Instant) -> bool {
        self.kept(not_before, age, now).is_some() || self.joinable(not_before).is_some()
    }

    /// The listing kept, if it answers a request (`not_before`, `age`) at `now`.
    fn kept(&self, not_before: Option<Instant>, age: Duration, now: Instant) -> Option<&Arc<Listing>> {
        self.listing.as_ref().filter(|l| l.serves(not_before, age, now))
    }

    /// The List under way, if it began after `not_before` (and so may answer the request).
    fn joinable(&self, not_before: Option<Instant>) -> Option<&InFlight> {
        self.in_flight
            .as_ref()
            .filter(|f| not_before.is_none_or(|t| f.started >= t))
    }
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
    /// One List page's share of the rate limiter while it is saturated: [`LIST_SHARE`] tokens' time.
    page_cost: Duration,
    /// How old a listing may be for a settled object ([`SETTLED_MAX_AGE`], or `max_age` if longer):
    /// listings are kept this long.
    settled_max_age: Duration,
    entries: Arc<Mutex<HashMap<Scope, Entry>>>,
    /// How long recent Creates and Deletes took, per (identity, service network): kept for the
    /// life of the process (a few durations per network in use).
    learned: Mutex<HashMap<(Scope, Work), Learned>>,
}

impl Observations {
    /// Listings serve objects in progress for `max_age` after their last page arrived, settled
    /// objects for [`SETTLED_MAX_AGE`] (or `max_age`, if longer).
    pub fn new(max_age: Duration) -> Self {
        Self::with_ages(max_age, SETTLED_MAX_AGE)
    }

    /// Listings serve objects in progress for `max_age`, settled objects for `settled_max_age` (or
    /// `max_age`, if longer).
    pub fn with_ages(max_age: Duration, settled_max_age: Duration) -> Self {
        Self {
            max_age,
            page_cost: Duration::ZERO,
            settled_max_age: settled_max_age.max(max_age),
            entries: Arc::default(),
            learned: Mutex::default(),
        }
    }

    /// Budgets the Lists of each network while the rate limiter, one token every `period`, is
    /// saturated ([`next_list`]).
    #[must_use]
    pub fn with_budget(mut self, period: Duration) -> Self {
        self.page_cost = period.saturating_mul(LIST_SHARE);
        self
    }

    /// When a request for a listing of `scope` (`not_before`, `age`, as [`Self::listing_within`]
    /// takes them) would have to begin a new List that the budget does not allow yet while the
    /// limiter is `saturated`: the instant it may. `None`: the listing kept or the List under way
    /// answers it, or a List may begin now.
    pub fn put_off(
        &self,
        scope: &Scope,
        not_before: Option<Instant>,
        age: Duration,
        saturated: bool,
    ) -> Option<Instant> {
        let entries = lock(&self.entries);
        let now = Instant::now();
        let entry = entries.get(scope)?;
        if entry.answers(not_before, age.min(self.settled_max_age), now) {
            return None;
        }
        let floor = self.max_age * SATURATED_AGE_FACTOR;
        next_list(entry.last, saturated, floor, self.page_cost).filter(|at| *at > now)
    }

    /// When a request for a listing of `scope` (`not_before`, `age`, as [`Self::listing_within`]
    /// takes them) would join a List another request began and has not finished: that List's end,
    /// for the caller to wait for without holding a worker. `None`: the listing kept answers it, or
    /// the request would begin a List itself.
    pub fn under_way(
        &self,
        scope: &Scope,
        not_before: Option<Instant>,
        age: Duration,
    ) -> Option<BoxFuture<'static, ()>> {
        let entries = lock(&self.entries);
        let entry = entries.get(scope)?;
        if entry
            .kept(not_before, age.min(self.settled_max_age), Instant::now())
            .is_some()
        {
            return None;
        }
        // A List that has finished answers at once (its listing is being kept).
        let in_flight = entry.joinable(not_before).filter(|f| f.result.peek().is_none())?;
        Some(in_flight.result.clone().map(|_| ()).boxed())
    }

    /// Records that a `work` in `scope` took `took` (from the accepted call to the listing that
    /// showed it done).
    pub fn learn(&self, scope: &Scope, work: Work, took: Duration) {
        let mut learned = lock(&self.learned);
        learned.entry((scope.clone(), work)).or_default().record(took);
    }

    /// How long a `work` in `scope` is expected to take, if one was seen.
    pub fn learned(&self, scope: &Scope, work: Work) -> Option<Duration> {
        let learned = lock(&self.learned);
        learned.get(&(scope.clone(), work)).and_then(Learned::estimate)
    }

    pub fn max_age(&self) -> Duration {
        self.max_age
    }

    /// How old a listing may answer an object: a settled one (ACTIVE as its status says, no Create
    /// or Delete of its own under way) the settled maximum age; one in progress `max_age`, or
    /// [`SATURATED_AGE_FACTOR`] times that while the rate limiter is `saturated`. Pure.
    pub fn age_for(&self, settled: bool, saturated: bool) -> Duration {
        match (settled, saturated) {
            (true, _) => self.settled_max_age,
            (false, true) => self.max_age * SATURATED_AGE_FACTOR,
            (false, false) => self.max_age,
        }
    }

    /// A listing of `scope` that began after `not_before` (the caller's last mutating call, if any)
    /// and is fresh (`max_age`): the one kept, else the List under way that began after
    /// `not_before`, else a new paged List through `api`.
    pub async fn listing(
        &self,
        scope: &Scope,
        api: &Arc<dyn LatticeApi>,
        not_before: Option<Instant>,
    ) -> Result<(Arc<Listing>, Served), LatticeError> {
        self.listing_within(scope, api, not_before, self.max_age).await
    }

    /// [`Self::listing`] for a caller that accepts a listing up to `age` old (at most the settled
    /// bound: nothing older is kept).
    pub async fn listing_within(
        &self,
        scope: &Scope,
        api: &Arc<dyn LatticeApi>,
        not_before: Option<Instant>,
        age: Duration,
    ) -> Result<(Arc<Listing>, Served), LatticeError> {
        let (shared, served) = {
            let mut entries = lock(&self.entries);
            let now = Instant::now();
            prune(&mut entries, self.settled_max_age, now);
            let entry = entries.entry(scope.clone()).or_default();
            if let Some(listing) = entry.kept(not_before, age.min(self.settled_max_age), now) {
                return Ok((listing.clone(), Served::Kept));
            }
            match entry.joinable(not_before) {
                Some(f) => (f.result.clone(), Served::Joined),
                None => {
                    let result = list(api.clone(), scope.1.clone(), now).boxed().shared();
                    entry.in_flight = Some(InFlight {
                        started: now,
                        result: result.clone(),
                    });
                    let pages = entry.last.map_or(1, |l| l.pages);
                    entry.last = Some(LastList { started: now, pages });
                    (result, Served::Listed)
                }
            }
        };
        let result = shared.clone().await;
        let mut entries = lock(&self.entries);
        let entry = entries.entry(scope.clone()).or_default();
        if entry.in_flight.as_ref().is_some_and(|f| f.result.ptr_eq(&shared)) {
            entry.in_flight = None;
        }
        if let Ok(listing) = &result
            && entry.listing.as_ref().is_none_or(|kept| kept.started < listing.started)
        {
            if let Some(last) = entry.last.as_mut().filter(|l| l.started == listing.started) {
                last.pages = pages(listing.len());
            }
            entry.listing = Some(listing.clone());
            self.drop_when_stale();
        }
        result.map(|listing| (listing, served))
    }

    /// Drops the listing just kept once no caller can use it, so that a quiet operator keeps no copy
    /// of AWS's state between drift scans.
    fn drop_when_stale(&self) {
        let entries = Arc::downgrade(&self.entries);
        let max_age = self.settled_max_age;
        tokio::spawn(async move {
            tokio::time::sleep(max_age).await;
            if let Some(entries) = entries.upgrade() {
                prune(&mut lock(&entries), max_age, Instant::now());
            }
        });
    }
}

/// How long the budget remembers a network's last List: past this, no budget ([`next_list`]) of a
/// network of fewer than 10,000 associations at 10 calls per second is still running.
const BUDGET_MEMORY: Duration = Duration::from_secs(600);

/// Drops listings no request can use any more (and their associations with them), and networks
/// with neither a listing nor a recent List.
fn prune(entries: &mut HashMap<Scope, Entry>, max_age: Duration, now: Instant) {
    entries.retain(|_, e| {
        if e.listing.as_ref().is_some_and(|l| !l.serves(None, max_age, now)) {
            e.listing = None;
        }
        let recent = e
            .last
            .is_some_and(|l| now.saturating_duration_since(l.started) < BUDGET_MEMORY);
        e.listing.is_some() || e.in_flight.is_some() || recent
    });
}

/// One complete paged List of a service network's associations.
async fn list(api: Arc<dyn LatticeApi>, network: String, started: Instant) -> Listed {
    let filter = ListFilter {
        service_network_identifier: Some(network),
        service_identifier: None,
        max_results: Some(PAGE_SIZE),
    };
    // Each page is packed as it arrives: a network of 500 held unpacked took ~0.6 MB while listed.
    let mut packing = Packing::default();
    each_page(|token| api.list_associations(&filter, token), |page| packing.add(page)).await?;
    Ok(Arc::new(packing.done(started, Instant::now())))
}

#[cfg(test)]
mod tests;
