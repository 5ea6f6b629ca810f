//! Executing decisions: one reconcile observes AWS, asks [`decide`](super::decide) what to do, makes at
//! most one mutating AWS call, writes the status when it changed and publishes Events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Resource, ResourceExt};
use tracing::{info, instrument, warn};

use super::Error;
use super::context::{Context, jitter};
use super::decide::{self, Adoption, Cleanup, Desired, Identity, Observed, POLL, Plan, RECREATE_BACKOFF};
use super::status::{Phase, Verdict, conditions, forget, record};
use crate::api::DeletionPolicy;
use crate::api::{
    FINALIZER, ServiceNetworkServiceAssociation as Snsa, ServiceNetworkServiceAssociationStatus as Status,
};
use crate::lattice::{AssociationState, ErrorKind, LatticeApi, LatticeError, find_association};
use crate::metrics::Metrics;

/// When to look at the object again after a step that succeeded.
enum Next {
    /// AWS is working: poll with growing intervals.
    Poll,
    /// Right away (the next step is ready).
    Now,
    /// After this long.
    After(Duration),
    /// Only when something changes (the drift scan or an edit wakes it).
    Idle,
}

/// The outcome of one step.
struct Step {
    verdict: Verdict,
    next: Next,
}

impl Step {
    fn new(phase: Phase, reason: &'static str, message: impl Into<String>, next: Next) -> Self {
        Self {
            verdict: Verdict::new(phase, reason, message),
            next,
        }
    }
}

fn key(obj: &Snsa) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}

/// Reconciles one object.
#[instrument(skip(obj, ctx), fields(namespace = obj.namespace(), name = obj.name_any()))]
pub async fn reconcile(obj: Arc<Snsa>, ctx: Arc<Context>) -> Result<Action, Error> {
    let start = Instant::now();
    let ns = obj.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<Snsa> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalizer::Apply(obj) => apply(&api, &obj, &ctx).await,
            Finalizer::Cleanup(obj) => cleanup(&api, &obj, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics.reconcile_duration.observe(start.elapsed().as_secs_f64());
    // AWS outcomes are counted where they are classified (`conclude`); here only what escapes.
    if let Err(e) = &result
        && !matches!(e.inner(), Error::CleanupPending(_))
    {
        Metrics::count(&ctx.metrics.reconciles, e.metric_label());
    }
    result
}

/// What the controller does after an error: a deletion still under way is polled; Kubernetes
/// failures back off with jitter (AWS failures never reach here: the reconcile handles them).
pub fn error_policy(obj: Arc<Snsa>, err: &Error, ctx: Arc<Context>) -> Action {
    match err.inner() {
        Error::CleanupPending(after) => Action::requeue(*after),
        other => {
            warn!(error = %other, object = key(&obj), "reconcile failed");
            let failures = ctx.remember(&key(&obj), |m| m.failures += 1).failures;
            Action::requeue(jitter(decide::exponential(failures, decide::ERROR_BACKOFF)))
        }
    }
}

fn identity(obj: &Snsa, ctx: &Context) -> Result<Identity, Error> {
    Ok(Identity {
        uid: obj.uid().ok_or(Error::MissingField("metadata.uid"))?,
        owner: key(obj),
        cluster: ctx.config.cluster_name.clone(),
    })
}

fn desired(obj: &Snsa, identity: &Identity) -> Desired {
    let mut tags = obj.spec.tags.clone();
    tags.extend(identity.ownership_tags());
    Desired {
        service_identifier: obj.spec.service_identifier.clone(),
        service_network_identifier: obj.spec.service_network_identifier.clone(),
        tags,
        adoption: obj.spec.adoption_policy,
        deletion: obj.spec.deletion_policy,
    }
}

async fn apply(api: &Api<Snsa>, obj: &Snsa, ctx: &Context) -> Result<Action, Error> {
    let id = identity(obj, ctx)?;
    let want = desired(obj, &id);
    let mut status = obj.status.clone().unwrap_or_default();
    let result = match ctx.lattice.for_namespace(&obj.namespace().unwrap_or_default()).await {
        Ok(tenant) => step(obj, ctx, tenant.api.as_ref(), &id, &want, &mut status).await,
        Err(e) => Err(e),
    };
    let requeue = report(api, obj, ctx, status, result).await?;
    Ok(requeue.map_or_else(Action::await_change, Action::requeue))
}

/// Concludes a step, writes the status, and only then resets the failure count of a step that
/// succeeded (a failed status write keeps the backoff growing). Returns when to look again.
async fn report(
    api: &Api<Snsa>,
    obj: &Snsa,
    ctx: &Context,
    status: Status,
    result: Result<Step, LatticeError>,
) -> Result<Option<Duration>, Error> {
    let succeeded = result.is_ok();
    let (verdict, requeue) = conclude(obj, ctx, result).await;
    write_status(api, obj, ctx, status, &verdict).await?;
    if succeeded {
        ctx.remember(&key(obj), |m| m.failures = 0);
    }
    Ok(requeue)
}

/// Turns a step's result into the verdict for the status and when to look again (`None`: only on a
/// change); failures are classified, counted and published here.
async fn conclude(obj: &Snsa, ctx: &Context, result: Result<Step, LatticeError>) -> (Verdict, Option<Duration>) {
    let key = key(obj);
    match result {
        Ok(step) => {
            Metrics::count(&ctx.metrics.reconciles, "ok");
            let memory = ctx.remember(&key, |m| {
                if matches!(step.next, Next::Poll) {
                    m.polls += 1;
                } else {
                    m.polls = 0;
                }
                if step.verdict.phase == Phase::Ready {
                    m.recoveries = 0;
                }
            });
            let requeue = match step.next {
                Next::Poll => Some(decide::exponential(memory.polls, POLL)),
                Next::Now => Some(Duration::from_millis(100)),
                Next::After(d) => Some(jitter(d)),
                Next::Idle => None,
            };
            (step.verdict, requeue)
        }
        Err(err) => {
            Metrics::count(&ctx.metrics.reconciles, "aws_error");
            let failures = ctx.remember(&key, |m| m.failures += 1).failures;
            let failure = decide::classify(&err, failures);
            warn!(object = key, error = %err, reason = failure.reason, "AWS call failed");
            publish(
                ctx,
                obj,
                EventType::Warning,
                failure.reason,
                "Reconcile",
                err.to_string(),
            )
            .await;
            let phase = if failure.stalled {
                Phase::Stalled
            } else {
                Phase::Progressing
            };
            (
                Verdict::new(phase, failure.reason, err.to_string()),
                Some(jitter(failure.requeue)),
            )
        }
    }
}

/// Observes AWS for a wanted object: Get by status id, and the tags when ACTIVE.
async fn observe(lattice: &dyn LatticeApi, status: &Status) -> Result<Observed, LatticeError> {
    let Some(id) = &status.id else {
        return Ok(Observed::Untracked);
    };
    let association = match lattice.get_association(id).await {
        Ok(a) => a,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(Observed::Gone),
        Err(e) => return Err(e),
    };
    let tags = match association.status {
        AssociationState::Active => match lattice.list_tags(&association.arn).await {
            Ok(tags) => Some(tags),
            // Deleted between the Get and the ListTags.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(Observed::Gone),
            Err(e) => return Err(e),
        },
        _ => None,
    };
    Ok(Observed::Found { association, tags })
}

async fn step(
    obj: &Snsa,
    ctx: &Context,
    lattice: &dyn LatticeApi,
    id: &Identity,
    want: &Desired,
    status: &mut Status,
) -> Result<Step, LatticeError> {
    let observed = observe(lattice, status).await?;
    Ok(match decide::decide(want, id, status.recreate_attempts, &observed) {
        Plan::Create(req) => {
            status.client_token = Some(req.client_token.clone());
            match lattice.create_association(&req).await {
                Ok(a) => {
                    record(status, &a);
                    let note = format!("created association {} (clientToken {})", a.id, req.client_token);
                    info!(object = key(obj), id = a.id, "created association");
                    publish(ctx, obj, EventType::Normal, "Creating", "Create", note.clone()).await;
                    Step::new(Phase::Progressing, "Creating", note, Next::Poll)
                }
                Err(e) if e.kind == ErrorKind::Conflict => conflict(obj, ctx, lattice, id, want, status).await?,
                Err(e) => return Err(e),
            }
        }
        Plan::Wait(a) => {
            record(status, &a);
            let reason = match a.status {
                AssociationState::CreateInProgress => "Creating",
                AssociationState::DeleteInProgress => "Recreating",
                _ => "Creating",
            };
            Step::new(
                Phase::Progressing,
                reason,
                format!("association {} is {}", a.id, a.status),
                Next::Poll,
            )
        }
        Plan::InSync(a) => {
            record(status, &a);
            if obj.condition("Ready").is_none_or(|c| c.status != "True") {
                publish(
                    ctx,
                    obj,
                    EventType::Normal,
                    "Active",
                    "Reconcile",
                    format!("association {} is ACTIVE", a.id),
                )
                .await;
            }
            Step::new(
                Phase::Ready,
                "Active",
                format!("association {} is ACTIVE and its tags match", a.id),
                Next::Idle,
            )
        }
        Plan::Tag { association: a, tags } => {
            if let Err(e) = lattice.tag_resource(&a.arn, &tags).await {
                return gone_or(e, obj, ctx, status).await;
            }
            record(status, &a);
            let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
            let note = format!("set tags {} on {}", keys.join(", "), a.id);
            publish(ctx, obj, EventType::Normal, "TagsSynced", "Tag", note.clone()).await;
            Step::new(Phase::Progressing, "TagsOutOfSync", note, Next::Poll)
        }
        Plan::Untag { association: a, keys } => {
            if let Err(e) = lattice.untag_resource(&a.arn, &keys).await {
                return gone_or(e, obj, ctx, status).await;
            }
            record(status, &a);
            let note = format!("removed tags {} from {}", keys.join(", "), a.id);
            publish(ctx, obj, EventType::Normal, "TagsSynced", "Untag", note.clone()).await;
            Step::new(Phase::Progressing, "TagsOutOfSync", note, Next::Poll)
        }
        Plan::Recover(a) => {
            let reason = if a.status == AssociationState::CreateFailed {
                "CreateFailed"
            } else {
                "DeleteFailed"
            };
            record(status, &a);
            let why = format!(
                "association {} is {}: {} ({}); deleting it to create it again",
                a.id,
                a.status,
                a.failure_message.as_deref().unwrap_or("no message"),
                a.failure_code.as_deref().unwrap_or("no code"),
            );
            publish(ctx, obj, EventType::Warning, reason, "Delete", why.clone()).await;
            let state = match lattice.delete_association(&a.id).await {
                Ok(state) => state,
                Err(e) => return gone_or(e, obj, ctx, status).await,
            };
            status.association_status = Some(state.to_string());
            let recoveries = ctx.remember(&key(obj), |m| m.recoveries += 1).recoveries;
            Step::new(
                Phase::Progressing,
                "Recreating",
                why,
                Next::After(decide::exponential(recoveries, RECREATE_BACKOFF)),
            )
        }
        Plan::Forget => recreate(obj, ctx, status).await,
    })
}

/// The association is gone from AWS: forget it and create it again with a fresh token.
async fn recreate(obj: &Snsa, ctx: &Context, status: &mut Status) -> Step {
    let old = status.id.clone().unwrap_or_default();
    forget(status);
    ctx.metrics.recreate_attempts.inc();
    let note = format!(
        "association {old} no longer exists in AWS; creating it again (attempt {})",
        status.recreate_attempts
    );
    publish(ctx, obj, EventType::Warning, "Recreating", "Create", note.clone()).await;
    Step::new(Phase::Progressing, "Recreating", note, Next::Now)
}

/// A call on a known association failed: NotFound means it is gone (recreate), else a failure.
async fn gone_or(err: LatticeError, obj: &Snsa, ctx: &Context, status: &mut Status) -> Result<Step, LatticeError> {
    match err.kind {
        ErrorKind::NotFound => Ok(recreate(obj, ctx, status).await),
        _ => Err(err),
    }
}

/// Create said the pair is already associated: find the association and apply the adoption policy.
async fn conflict(
    obj: &Snsa,
    ctx: &Context,
    lattice: &dyn LatticeApi,
    id: &Identity,
    want: &Desired,
    status: &mut Status,
) -> Result<Step, LatticeError> {
    let existing = match find_association(lattice, &want.service_network_identifier, &want.service_identifier).await? {
        Some(a) => {
            let tags = lattice.list_tags(&a.arn).await?;
            Some((a, tags))
        }
        None => None,
    };
    Ok(match decide::adopt(want.adoption, id, existing) {
        Adoption::Adopt(a) => {
            record(status, &a);
            let note = format!("adopted existing association {} ({})", a.id, a.status);
            publish(ctx, obj, EventType::Normal, "Adopted", "Adopt", note.clone()).await;
            Step::new(Phase::Progressing, "Creating", note, Next::Now)
        }
        Adoption::Refuse(message) => {
            publish(
                ctx,
                obj,
                EventType::Warning,
                "AlreadyAssociated",
                "Create",
                message.clone(),
            )
            .await;
            Step::new(
                Phase::Stalled,
                "AlreadyAssociated",
                message,
                Next::After(Duration::from_secs(300)),
            )
        }
        Adoption::Retry => Step::new(
            Phase::Progressing,
            "Creating",
            "AWS reported a conflict but no association of the pair was found; creating again",
            Next::After(Duration::from_secs(5)),
        ),
    })
}

async fn cleanup(api: &Api<Snsa>, obj: &Snsa, ctx: &Context) -> Result<Action, Error> {
    let id = identity(obj, ctx)?;
    let want = desired(obj, &id);
    let mut status = obj.status.clone().unwrap_or_default();
    if want.deletion == DeletionPolicy::Retain {
        // No AWS call at all: not even the namespace's identity is needed.
        let note = match &status.id {
            Some(aid) => format!("association {aid} left in AWS (deletionPolicy Retain)"),
            None => "deletionPolicy Retain: nothing deleted in AWS".to_string(),
        };
        publish(ctx, obj, EventType::Normal, "Retained", "Delete", note).await;
        ctx.forget(&key(obj));
        return Ok(Action::await_change());
    }
    let step = match ctx.lattice.for_namespace(&obj.namespace().unwrap_or_default()).await {
        Ok(tenant) => cleanup_step(obj, ctx, tenant.api.as_ref(), &id, &want, &mut status).await,
        Err(e) => Err(e),
    };
    let result = match step {
        Ok(None) => {
            ctx.forget(&key(obj));
            return Ok(Action::await_change());
        }
        Ok(Some(step)) => Ok(step),
        Err(err) => Err(err),
    };
    // The finalizer stays until AWS confirms the association is gone: report and look again.
    let requeue = report(api, obj, ctx, status, result).await?;
    Err(Error::CleanupPending(requeue.unwrap_or(POLL.1)))
}

/// One cleanup step; `None` when the finalizer can go.
async fn cleanup_step(
    obj: &Snsa,
    ctx: &Context,
    lattice: &dyn LatticeApi,
    id: &Identity,
    want: &Desired,
    status: &mut Status,
) -> Result<Option<Step>, LatticeError> {
    let observed = match &status.id {
        Some(aid) => match lattice.get_association(aid).await {
            Ok(a) => Some(a),
            Err(e) if e.kind == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        },
        None => match find_association(lattice, &want.service_network_identifier, &want.service_identifier).await? {
            Some(a) if id.owns(&lattice.list_tags(&a.arn).await?) => Some(a),
            _ => None,
        },
    };
    Ok(match decide::decide_cleanup(want.deletion, observed.as_ref()) {
        Cleanup::Release => {
            let note = match &status.id {
                Some(aid) => format!("association {aid} is gone from AWS"),
                None => "no association of this object exists in AWS".to_string(),
            };
            publish(ctx, obj, EventType::Normal, "Deleted", "Delete", note).await;
            None
        }
        Cleanup::Wait(a) => {
            record(status, &a);
            Some(Step::new(
                Phase::Progressing,
                "Deleting",
                format!("association {} is {}", a.id, a.status),
                Next::Poll,
            ))
        }
        Cleanup::Delete(a) => {
            let failed = a.status == AssociationState::DeleteFailed;
            record(status, &a);
            if failed {
                let why = format!(
                    "association {} is DELETE_FAILED: {}; deleting it again",
                    a.id,
                    a.failure_message.as_deref().unwrap_or("no message")
                );
                publish(ctx, obj, EventType::Warning, "DeleteFailed", "Delete", why).await;
            }
            let state = match lattice.delete_association(&a.id).await {
                Ok(state) => state,
                // Already gone: nothing left to delete.
                Err(e) if e.kind == ErrorKind::NotFound => {
                    let note = format!("association {} is gone from AWS", a.id);
                    publish(ctx, obj, EventType::Normal, "Deleted", "Delete", note).await;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            };
            status.association_status = Some(state.to_string());
            let next = if failed {
                let n = ctx.remember(&key(obj), |m| m.recoveries += 1).recoveries;
                Next::After(decide::exponential(n, RECREATE_BACKOFF))
            } else {
                publish(
                    ctx,
                    obj,
                    EventType::Normal,
                    "Deleting",
                    "Delete",
                    format!("deleting association {}", a.id),
                )
                .await;
                Next::Poll
            };
            Some(Step::new(
                Phase::Progressing,
                "Deleting",
                format!("association {} is {}", a.id, state),
                next,
            ))
        }
    })
}

/// Writes the status with server-side apply, only when it differs from what the object has.
async fn write_status(
    api: &Api<Snsa>,
    obj: &Snsa,
    ctx: &Context,
    mut status: Status,
    verdict: &Verdict,
) -> Result<(), Error> {
    let previous = obj.status.clone().unwrap_or_default();
    status.observed_generation = obj.metadata.generation;
    status.conditions = conditions(
        &previous.conditions,
        verdict,
        obj.metadata.generation,
        &Time(jiff_now()),
    );
    if obj.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": Snsa::api_version(&()),
        "kind": Snsa::kind(&()),
        "status": status,
    });
    let result = api
        .patch_status(
            &obj.name_any(),
            &PatchParams::apply(crate::FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await;
    Metrics::count(&ctx.metrics.status_patches, if result.is_ok() { "ok" } else { "error" });
    result.map(|_| ()).map_err(Error::Kube)
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}

/// Publishes a Kubernetes Event about the object; a failure to publish is logged, not fatal.
async fn publish(ctx: &Context, obj: &Snsa, type_: EventType, reason: &str, action: &str, note: String) {
    let event = Event {
        type_,
        reason: reason.into(),
        note: Some(note),
        action: action.into(),
        secondary: None,
    };
    ctx.metrics.event(reason);
    if let Err(e) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        warn!(error = %e, reason, "failed to publish event");
    }
}
