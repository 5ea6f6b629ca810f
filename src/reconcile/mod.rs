//! The reconciler. Each reconcile of an object runs one step along a pipeline:
//!
//! observe (AWS reads) → [`decide`] (pure: the plan) → execute (the plan's one AWS mutation) →
//! [`outcome`] (pure: the verdict, the Events, when to look again) → report (Events, status, metrics).
//!
//! This file drives it: [`reconcile`] runs kube's finalizer (Apply for a wanted object, Cleanup for
//! one being deleted), [`error_policy`] answers what escapes.

pub mod decide;
pub mod memory;
pub mod outcome;
pub mod priority;
pub mod reason;
pub mod requeue;
pub mod status;

mod context;
mod error;
mod execute;
pub(crate) mod observe;
mod observing;
mod parked;
mod report;
mod resolve;
pub mod routes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use tracing::{instrument, warn};

pub(crate) use context::desired_tags;
pub use context::{Config, Context, DEFAULT_OBSERVATION_MAX_AGE, DEFAULT_WORKERS};
pub use error::Error;
pub use reason::Reason;

use crate::api::{
    AdoptionPolicy, FINALIZER, ManagementPolicy, ServiceNetworkServiceAssociationStatus as Status, Watched,
};
use crate::lattice::observation::{Scope, Work};
use crate::lattice::provider::Tenant;
use crate::lattice::{AssociationState, LatticeError};
use crate::limiter::Caller;
use context::Target;
use decide::{Cleanup, Deletion, DeletionStep, Observed, Plan};
use memory::Memory;
use outcome::{Cleaned, Created, Outcome};
use requeue::POLL;

/// Reconciles one object.
#[instrument(skip(obj, ctx), fields(namespace = obj.namespace(), name = obj.name_any()))]
pub async fn reconcile(obj: Arc<Watched>, ctx: Arc<Context>) -> Result<Action, Error> {
    let start = Instant::now();
    let ns = obj.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<Watched> = Api::namespaced(ctx.client.clone(), &ns);
    // Its AWS calls wait for the rate limiter in the namespace's turn, at its priority there.
    // New objects and deletions have waited since they were asked for (since this process began,
    // at most); other work since its last step scheduled it.
    let pending = priority::pending_for(&obj, k8s_openapi::jiff::Timestamp::now());
    let failures = ctx.memories.with(&context::key(&obj), |m| {
        m.started(Instant::now(), pending, ctx.started.elapsed())
    });
    let calls = ctx.limiter.calls(Caller {
        priority: priority::of(&obj, failures),
        namespace: ns.clone(),
    });
    let _running = ctx.running(&ns);
    let result = match obj.spec.management_policy {
        // Observed objects hold no finalizer: kube's finalizer helper would add one.
        ManagementPolicy::ObserveOnly => observing::reconcile(&obj, &ctx, &api, calls).await,
        ManagementPolicy::Managed => finalizer(&api, FINALIZER, obj, |event| async {
            match event {
                Finalizer::Apply(obj) => apply(&Target::new(&obj, &ctx, &api, calls.clone())?, &obj).await,
                Finalizer::Cleanup(obj) => cleanup(&Target::new(&obj, &ctx, &api, calls.clone())?).await,
            }
        })
        .await
        .map_err(Error::from_finalizer),
    };
    report::reconciled(&ctx.metrics, start.elapsed(), &result);
    result
}

/// What the controller does after an error: a deletion still under way is polled; Kubernetes
/// failures back off with jitter (AWS failures never reach here: the reconcile handles them).
pub fn error_policy(obj: Arc<Watched>, err: &Error, ctx: Arc<Context>) -> Action {
    let key = context::key(&obj);
    if !matches!(err, Error::CleanupPending(_)) {
        warn!(error = %err, object = key, "reconcile failed");
    }
    let requeue = ctx.memories.with(&key, |m| m.failed(err));
    requeue
        .delay_with(rand::random())
        .map_or_else(Action::await_change, Action::requeue)
}

/// How long an object that gave its worker back while a List of its network runs
/// ([`Target::listing_parked`]) waits at most: it is woken when the List ends, long before this
/// unless the wake-up was lost.
const PARKED_AT_MOST: Duration = Duration::from_secs(30);

/// Apply: one step towards the association the object asks for (`object`: the store's `Arc` of
/// the target's object).
async fn apply(t: &Target<'_>, object: &Arc<Watched>) -> Result<Action, Error> {
    stepped(t, async |t: &Target<'_>, tenant: &Tenant, status: &mut Status| {
        if t.listing_parked(object, tenant, status) {
            return Step::Later(PARKED_AT_MOST);
        }
        Step::Done(wanted(t, tenant, status).await)
    })
    .await
}

/// What one step of an object with an AWS identity came to.
enum Step {
    /// Nothing yet: look again after this long.
    Later(Duration),
    /// Its AWS calls were made: what they mean.
    Done(Result<Outcome, LatticeError>),
}

/// Runs `step` on the object's status with its identity and its references resolved (unless the
/// rate limiter puts the object off, or its look at AWS would wait for a List of its network), then
/// reports the step and says when to look again. An unusable identity, or a reference that cannot be
/// resolved, is reported like any AWS refusal.
async fn stepped(
    t: &Target<'_>,
    step: impl AsyncFnOnce(&Target<'_>, &Tenant, &mut Status) -> Step,
) -> Result<Action, Error> {
    if let Some(after) = put_off(t) {
        return Ok(Action::requeue(after));
    }
    let mut status = t.status();
    let resolved;
    let (done, scope, t) = match t.lattice().await? {
        Ok(tenant) => match resolve::pinned(t, &tenant, &mut status).await {
            Err(e) => (Err(e), None, t),
            Ok(pinned) => {
                resolved = pinned;
                let t = resolved.as_ref().unwrap_or(t);
                status.region.clone_from(&tenant.region);
                if let Some(e) = resolve::region_mismatch(&t.desired, tenant.region.as_deref()) {
                    (Err(e), None, t)
                } else {
                    if let Some(after) = t.listing_put_off(&tenant, &status) {
                        return Ok(Action::requeue(after));
                    }
                    match step(t, &tenant, &mut status).await {
                        Step::Later(after) => return Ok(Action::requeue(after)),
                        Step::Done(done) => (done, Some(t.scope(&tenant)), t),
                    }
                }
            }
        },
        Err(e) => (Err(e), None, t),
    };
    let requeue = conclude(t, status, done.unwrap_or_else(outcome::failed), scope.as_ref()).await?;
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

/// Observes, decides, executes the plan's call, and says what that means.
async fn wanted(t: &Target<'_>, tenant: &Tenant, status: &mut Status) -> Result<Outcome, LatticeError> {
    let generation = t.obj.metadata.generation;
    if t.memory(Memory::take_drift) {
        // The drift scan saw other tags: they are no longer verified for this generation.
        status.tags_synced_generation = None;
    }
    let verified = decide::tags_verified(
        status.tags_synced_generation,
        status.observed_generation,
        generation,
        false,
    );
    let api = t.api(tenant);
    let lookup = t.lookup(tenant, &api);
    let observed = observe::wanted(&lookup, &t.identity, status, verified).await?;
    if let Observed::Found { association, .. } = &observed
        && association.status == AssociationState::Active
    {
        // The Create is done (and its time learned): later polls are not aimed at it.
        t.memory(Memory::found_active);
    }
    let plan = decide::decide(&t.desired, &t.identity, status.recreate_attempts, &observed);
    let api = api.as_ref();
    Ok(match plan {
        Plan::Create(req) => {
            let adoption = (t.desired.adoption, &tenant.always_adoption);
            // An object that may adopt looks in its network's listing first: adopting the pair's
            // association (what an imported object does) costs no Create.
            if t.desired.adoption == AdoptionPolicy::Always
                && let Some(existing) = lookup.listed_pair(&t.desired, &t.identity).await?
            {
                let taken = Ok(Created::Taken(Some(existing)));
                return Ok(outcome::created(&req, taken, adoption, &t.identity, generation, status));
            }
            let created = execute::create(api, &req).await;
            let begun = matches!(&created, Ok(Some(a)) if a.status == AssociationState::CreateInProgress);
            t.memory(|m| m.mutated(Instant::now(), begun.then_some(Work::Create)));
            let created = match created {
                Ok(Some(a)) => Ok(Created::New(a)),
                // The pair is associated already: who holds it decides whether it is adopted.
                Ok(None) => observe::pair(&lookup, &t.desired, &t.identity)
                    .await
                    .map(Created::Taken),
                Err(e) => Err(e),
            };
            outcome::created(&req, created, adoption, &t.identity, generation, status)
        }
        Plan::Held { association, why } => outcome::held(&association, why, status),
        Plan::Wait(a) => outcome::waiting(&a, status),
        Plan::InSync(a) => outcome::in_sync(&a, t.was_ready(), generation, status),
        Plan::Tag { association, tags } => {
            let tagged = execute::tag(api, &association, &tags).await;
            t.memory(|m| m.retagged(Instant::now()));
            outcome::tagged(&association, &tags, tagged, status)
        }
        Plan::Untag { association, keys } => {
            let untagged = execute::untag(api, &association, &keys).await;
            t.memory(|m| m.retagged(Instant::now()));
            outcome::untagged(&association, &keys, untagged, status)
        }
        Plan::Recover(a) => {
            let deleted = execute::delete(api, &a).await;
            t.memory(|m| m.mutated(Instant::now(), delete_begun(&deleted)));
            outcome::recovering(&a, deleted, status)
        }
        Plan::Forget => outcome::recreate(status),
    })
}

/// A reconcile does not hold a worker while its namespace's calls queue long for the rate limiter
/// ([`requeue::defer`]): it comes back at the time the limiter reserves for it, and the worker goes
/// to other work, other namespaces' first of all. Its waiting still counts from when it was first
/// due (shown as `Throttled` when long).
fn put_off(t: &Target<'_>) -> Option<Duration> {
    let caller = t.calls.caller();
    let others = t.ctx.running_in(&t.namespace).saturating_sub(1);
    if !requeue::defer(
        caller.priority,
        t.ctx.limiter.turn(caller),
        others,
        t.ctx.config.workers,
    ) {
        return None;
    }
    let after = t.ctx.limiter.reserve(caller);
    t.ctx.metrics.deferred.inc();
    t.memory(|m| m.put_off(Instant::now(), after));
    Some(after)
}

/// Cleanup: one step towards releasing the finalizer. kube's finalizer contract is that a Cleanup
/// which returns `Ok` loses its finalizer, so a step that must wait returns `CleanupPending`.
async fn cleanup(t: &Target<'_>) -> Result<Action, Error> {
    let mut status = t.status();
    let mut scope = None;
    let cleaned = match decide::decide_cleanup(t.desired.deletion) {
        Cleanup::Retain => outcome::retained(&status),
        Cleanup::Delete(deletion) => {
            if let Some(after) = put_off(t) {
                return Err(Error::CleanupPending(after));
            }
            let step = match t.lattice().await? {
                Ok(tenant) => {
                    if let Some(after) = t.listing_put_off(&tenant, &status) {
                        return Err(Error::CleanupPending(after));
                    }
                    scope = Some(t.scope(&tenant));
                    deleting(t, &tenant, deletion, &mut status).await
                }
                Err(e) => Err(e),
            };
            step.unwrap_or_else(|e| Cleaned::Pending(outcome::failed(e)))
        }
    };
    match cleaned {
        Cleaned::Released(events) => {
            report::released(t, &events).await;
            t.ctx.forget(t.obj);
            Ok(Action::await_change())
        }
        Cleaned::Pending(outcome) => {
            let requeue = conclude(t, status, outcome, scope.as_ref()).await?;
            Err(Error::CleanupPending(requeue.unwrap_or(POLL.1)))
        }
    }
}

/// Finds what is left in AWS, decides the deletion's step, executes its call, and says what that
/// means.
async fn deleting(
    t: &Target<'_>,
    tenant: &Tenant,
    deletion: Deletion,
    status: &mut Status,
) -> Result<Cleaned, LatticeError> {
    if status.id.is_none() && t.unresolved() {
        // A reference never resolved: no association of this object's can exist.
        return Ok(outcome::released(status));
    }
    let generation = t.obj.metadata.generation;
    // Tags the drift scan saw change are read again before the Delete.
    let drifted = t.memory(Memory::take_drift);
    let verified = !drifted
        && decide::tags_verified(
            status.tags_synced_generation,
            status.observed_generation,
            generation,
            true,
        );
    let api = t.api(tenant);
    let found = observe::remains(&t.lookup(tenant, &api), status, verified, &t.desired, &t.identity).await?;
    let (association, claim) = found.map_or((None, None), |(a, claim)| (Some(a), claim));
    Ok(match deletion.next(association.as_ref(), claim.as_ref(), &t.identity) {
        DeletionStep::Release => outcome::released(status),
        DeletionStep::Leave { association, why } => outcome::left(&association, &why),
        DeletionStep::Wait(a) => outcome::deletion_waiting(&a, status),
        DeletionStep::Delete(a) => {
            let deleted = execute::delete(api.as_ref(), &a).await;
            t.memory(|m| m.mutated(Instant::now(), delete_begun(&deleted)));
            outcome::deleting(&a, deleted, status)
        }
    })
}

/// The AWS work a Delete's answer began: a deletion AWS accepted (an association already gone, or
/// a failed call, began none).
fn delete_begun(deleted: &Result<Option<AssociationState>, LatticeError>) -> Option<Work> {
    matches!(deleted, Ok(Some(_))).then_some(Work::Delete)
}

/// Reports a step and says when to look again (polls timed by what `scope`, the object's identity
/// and service network, has learned). The failure count of a step that succeeded is reset only once
/// its status is written, so a failed write keeps the backoff growing.
async fn conclude(
    t: &Target<'_>,
    status: Status,
    outcome: Outcome,
    scope: Option<&Scope>,
) -> Result<Option<Duration>, Error> {
    let now = Instant::now();
    let timing = t.timing(now, scope);
    // Shown as `Throttled` while the client-side rate limiter holds the object's work back.
    let limiter = (t.calls.waited(), t.ctx.limiter.saturated(&t.namespace));
    let jitter = rand::random::<f64>();
    let (outcome, requeue) = t.memory(|m| m.concluded(now, outcome, timing, limiter, jitter));
    report::step(t, &outcome).await;
    let verdict = &outcome.verdict;
    let stalled = verdict.phase == status::Phase::Stalled;
    t.ctx
        .metrics
        .condition(&t.namespace, &t.obj.name_any(), verdict.reason.as_str(), stalled);
    report::status(t, status, verdict).await?;
    t.memory(|m| m.written(&outcome));
    Ok(requeue)
}
