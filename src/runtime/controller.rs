//! Wires the reconciler into a kube-runtime `Controller`: a watch (filtered to changes that matter:
//! generation, finalizers), the drift scan's wake-ups, bounded concurrency and graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::{Predicate, predicates};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use tracing::{debug, info};

use super::drift::{DriftOptions, drift_scan};
use crate::api::ServiceNetworkServiceAssociation as Snsa;
use crate::reconcile::{Context, error_policy, reconcile};

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct ControllerOptions {
    /// Watch one namespace, or all when `None`.
    pub namespace: Option<String>,
    /// Objects reconciled at once.
    pub concurrency: u16,
    /// The drift scan's period and cadence.
    pub drift: DriftOptions,
}

/// Runs the controller until `shutdown` completes and in-flight reconciles finish. `ready` turns
/// true once the first watch list has synced.
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
    let changes = watcher(api, watcher::Config::default().any_semantic())
        .default_backoff()
        .reflect(writer)
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
        synced(&store).await;
        info!("watch synced; ready");
        ready.store(true, Ordering::SeqCst);
        drift_scan(store, scan_ctx, drift, wake_tx).await;
    });

    Controller::for_stream(changes, reader)
        .with_config(controller::Config::default().concurrency(opts.concurrency))
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

/// Waits until the store has seen the first full list. `Store::wait_until_ready` wakes only the waiter
/// that polled last (its one-shot channel keeps a single waker), and the controller waits on the same
/// store, so poll it again at short intervals instead of once.
async fn synced(store: &reflector::Store<Snsa>) {
    while tokio::time::timeout(Duration::from_millis(250), store.wait_until_ready())
        .await
        .is_err()
    {}
}

/// A future that completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
    info!("shutdown requested");
}
