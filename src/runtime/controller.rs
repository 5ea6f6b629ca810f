//! Wires the reconciler into a kube-runtime `Controller`: a watch (filtered to changes that matter:
//! generation, finalizers), the drift scan's wake-ups, bounded concurrency and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::{Predicate, predicates};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use tracing::{debug, info};

use crate::api::ServiceNetworkServiceAssociation as Snsa;
use crate::drift::{DriftOptions, drift_scan};
use crate::reconcile::{Context, error_policy, reconcile};

/// Objects per page of the watch's initial (and re-) list.
pub const WATCH_PAGE_SIZE: u32 = 500;

/// The annotation `kubectl apply` keeps a whole copy of the applied manifest in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what the operator never reads from an object before the store keeps it: `managedFields`
/// (server-side apply's bookkeeping, often larger than the object) and `kubectl apply`'s copy of the
/// manifest. The reconciler reads the spec, status, generation, uid, finalizers and deletion
/// timestamp; the status it writes by server-side apply needs neither.
pub fn strip_unread(obj: &mut Snsa) {
    obj.metadata.managed_fields = None;
    if let Some(annotations) = obj.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            obj.metadata.annotations = None;
        }
    }
}

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct ControllerOptions {
    /// Watch one namespace, or all when `None`.
    pub namespace: Option<String>,
    /// The drift scan's period and cadence.
    pub drift: DriftOptions,
}

/// Runs the controller until `shutdown` completes and in-flight reconciles finish. `ready` turns
/// true once the first watch list has synced (the watcher's first `InitDone`, after the store has
/// taken the list in).
pub async fn run_controller(
    ctx: Arc<Context>,
    opts: ControllerOptions,
    ready: Arc<AtomicBool>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let api: Api<Snsa> = match &opts.namespace {
        Some(ns) => Api::namespaced(ctx.client.clone(), ns),
        None => Api::all(ctx.client.clone()),
    };
    let (reader, writer) = reflector::store();
    // Every (re-)list ends with `InitDone`; the first one makes the process ready and starts the drift
    // scan, later ones change nothing.
    let (synced_tx, mut synced) = tokio::sync::watch::channel(false);
    let config = watcher::Config::default().any_semantic().page_size(WATCH_PAGE_SIZE);
    let changes = watcher(api, config)
        .default_backoff()
        // The store keeps every object for the life of the process: only what the operator reads.
        .modify(strip_unread)
        .reflect(writer)
        .inspect_ok(move |event| {
            if matches!(event, watcher::Event::InitDone) {
                synced_tx.send_replace(true);
            }
        })
        .applied_objects()
        .predicate_filter(
            predicates::generation.combine(predicates::finalizers),
            Default::default(),
        );

    let (wake_tx, wake_rx) = futures::channel::mpsc::channel(1024);
    let store = reader.clone();
    let scan_ctx = ctx.clone();
    let drift = opts.drift.clone();
    let background = tokio::spawn(async move {
        if synced.wait_for(|synced| *synced).await.is_err() {
            return; // the watch ended before its first list
        }
        info!("watch synced; ready");
        ready.store(true, Ordering::SeqCst);
        drift_scan(store, scan_ctx, drift, wake_tx).await;
    });

    Controller::for_stream(changes, reader)
        .with_config(controller::Config::default().concurrency(u16::try_from(ctx.config.workers).unwrap_or(u16::MAX)))
        .reconcile_on(wake_rx)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((obj, _)) => debug!(object = %obj, "reconciled"),
                Err(e) => debug!(error = %e, "reconcile error"),
            }
        })
        .await;
    background.abort();
    info!("controller stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_keeps_no_managed_fields_nor_the_applied_manifest() {
        let mut obj: Snsa = serde_json::from_value(serde_json::json!({
            "apiVersion": "vpclattice.operator.dev/v1alpha1",
            "kind": "ServiceNetworkServiceAssociation",
            "metadata": {
                "name": "app",
                "namespace": "payments",
                "uid": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                "generation": 2,
                "finalizers": ["vpclattice.operator.dev/association"],
                "annotations": { LAST_APPLIED: "{\"a\":\"whole manifest\"}", "team": "payments" },
                "managedFields": [{ "manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {} }],
            },
            "spec": { "serviceIdentifier": "svc-0123456789abcdef0", "serviceNetworkIdentifier": "sn-0123456789abcdef0" },
            "status": { "id": "snsa-0123456789abcdef0" },
        }))
        .unwrap();
        let before = obj.clone();
        strip_unread(&mut obj);
        assert_eq!(obj.metadata.managed_fields, None);
        assert_eq!(
            obj.metadata.annotations,
            Some([("team".to_string(), "payments".to_string())].into())
        );
        // What the reconciler reads is untouched.
        assert_eq!(obj.spec, before.spec);
        assert_eq!(obj.status, before.status);
        assert_eq!(obj.metadata.uid, before.metadata.uid);
        assert_eq!(obj.metadata.generation, before.metadata.generation);
        assert_eq!(obj.metadata.finalizers, before.metadata.finalizers);
        // Only the applied manifest: nothing left, no empty map.
        let mut only = before.clone();
        only.metadata.annotations = Some([(LAST_APPLIED.to_string(), "{}".to_string())].into());
        strip_unread(&mut only);
        assert_eq!(only.metadata.annotations, None);
    }
}
