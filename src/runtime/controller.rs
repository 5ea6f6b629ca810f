//! Wires the reconciler into a kube-runtime `Controller`: a watch (filtered to changes that matter:
//! generation, finalizers), the drift scan's wake-ups, bounded concurrency and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use tracing::{debug, info};

use super::changes::Changes;
use crate::api::Watched;
use crate::drift::{DriftOptions, drift_scan};
use crate::reconcile::{Context, error_policy, reconcile};

/// Objects per page of the watch's initial (and re-) list. Each page's response is read whole
/// before it is parsed: at 500 objects (~3.3 KiB each, with `managedFields`) the body buffer grew to
/// 3.3 MB, the largest single allocation of a start over 2,000 objects (heaptrack); at 100 a fifth.
/// The API server answers 100 pages of 100 as readily as 20 of 500.
pub const WATCH_PAGE_SIZE: u32 = 100;

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
    let api: Api<Watched> = match &opts.namespace {
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
        // The store keeps every object for the life of the process: only what the operator reads
        // (`api::Watched`, read from the API server's JSON without building the rest).
        .reflect(writer)
        .inspect_ok({
            let ctx = ctx.clone();
            move |event| match event {
                watcher::Event::InitDone => {
                    synced_tx.send_replace(true);
                }
                // An object gone without a cleanup step (one that held no finalizer: observed
                // only) leaves no memory or per-object metric behind.
                watcher::Event::Delete(obj) => ctx.forget(obj),
                _ => {}
            }
        })
        // Reconciles start for new objects and changed generations or finalizers, not for status
        // writes (`Changes`, which keeps two digests an object).
        .try_filter_map({
            let mut changes = Changes::default();
            move |event| std::future::ready(Ok(changes.pass(event)))
        });

    let (wake_tx, wake_rx) = futures::channel::mpsc::channel(1024);
    // Objects parked while a List of their network runs are woken through the same channel.
    ctx.parked.wake_through(wake_tx.clone());
    // Objects waiting for an HTTPRoute's annotation are woken when the route changes.
    let routes = tokio::spawn(super::routes::wake_on_routes(
        ctx.client.clone(),
        opts.namespace.clone(),
        reader.clone(),
        wake_tx.clone(),
    ));
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
    routes.abort();
    info!("controller stopped");
}
