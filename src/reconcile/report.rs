//! Making a step's outcome known: Events, the status (server-side apply, sent only when it changed)
//! and the reconciler's metrics. Nothing is decided here.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use tracing::warn;

use crate::api::{
    Recorded, ServiceNetworkServiceAssociation as Snsa, ServiceNetworkServiceAssociationStatus as Status, digest,
};
use crate::metrics::Metrics;
use crate::reconcile::context::Target;
use crate::reconcile::error::Error;
use crate::reconcile::outcome::{Event, Outcome};
use crate::reconcile::requeue::Next;
use crate::reconcile::status::{Verdict, conditions};

/// Counts the step that released the finalizer (a reconcile that succeeded) and publishes its Events.
pub async fn released(t: &Target<'_>, events: &[Event]) {
    Metrics::count(&t.ctx.metrics.reconciles, "ok");
    publish(t, events).await;
}

/// Counts a step by its result, logs a failure, and publishes the step's Events.
pub async fn step(t: &Target<'_>, outcome: &Outcome) {
    let metrics = &t.ctx.metrics;
    match &outcome.next {
        Next::Retry(err) => {
            Metrics::count(&metrics.reconciles, "aws_error");
            warn!(object = t.key, error = %err, reason = %outcome.verdict.reason, "AWS call failed");
        }
        _ => Metrics::count(&metrics.reconciles, "ok"),
    }
    if outcome.recreated {
        metrics.recreate_attempts.inc();
    }
    publish(t, &outcome.events).await;
}

/// Publishes Events about the object, in order; a failure to publish is logged, not fatal.
async fn publish(t: &Target<'_>, events: &[Event]) {
    for event in events {
        let reason = event.reason.as_str();
        t.ctx.metrics.event(reason);
        let published = kube::runtime::events::Event {
            type_: event.type_,
            reason: reason.into(),
            note: Some(event.note.clone()),
            action: event.action.into(),
            secondary: None,
        };
        if let Err(e) = t.ctx.recorder.publish(&published, &t.obj.object_ref(&())).await {
            warn!(error = %e, reason, "failed to publish event");
        }
    }
}

/// Writes the status with its conditions for `verdict`, by server-side apply, only when it differs
/// from what the object has.
pub async fn status(t: &Target<'_>, mut status: Status, verdict: &Verdict) -> Result<(), Error> {
    let obj = t.obj;
    let previous = obj.status.as_ref().map(Recorded::status).unwrap_or_default();
    status.observed_generation = obj.metadata.generation;
    status.conditions = conditions(
        &previous.conditions,
        verdict,
        obj.metadata.generation,
        &Time(k8s_openapi::jiff::Timestamp::now()),
    );
    // The store keeps a digest of the status, not the status (`api::Watched`).
    if obj.status.as_ref().map(|s| s.digest) == Some(digest(&status)) {
        return Ok(());
    }
    let patch = serde_json::json!({
        "apiVersion": Snsa::api_version(&()),
        "kind": Snsa::kind(&()),
        "status": status,
    });
    let result = t
        .api
        .patch_status(
            &obj.name_any(),
            &PatchParams::apply(crate::FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await;
    Metrics::count(
        &t.ctx.metrics.status_patches,
        if result.is_ok() { "ok" } else { "error" },
    );
    result.map(|_| ()).map_err(Error::Kube)
}

/// Records a reconcile's duration and counts what escaped its steps (they count themselves in
/// [`step`]); a cleanup that waits for AWS is no failure.
pub fn reconciled(metrics: &Metrics, took: Duration, result: &Result<Action, Error>) {
    metrics.reconcile_duration.observe(took.as_secs_f64());
    if let Err(e) = result
        && !matches!(e, Error::CleanupPending(_))
    {
        Metrics::count(&metrics.reconciles, e.metric_label());
    }
}
