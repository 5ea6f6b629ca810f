//! The drift scan loop: every `interval` (±10% jitter) it pages through each service network's
//! associations and wakes the objects [`diff::woken`](super::diff::woken) names (through the shared
//! rate limiter, as their reconciles read AWS). It also refreshes the objects-by-status gauge.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::SinkExt;
use futures::channel::mpsc::Sender;
use kube::runtime::reflector::{ObjectRef, Store};
use tracing::{debug, warn};

use crate::api::ServiceNetworkServiceAssociation as Snsa;
use crate::drift::diff::{Tracked, compares_tags, scopes, woken};
use crate::lattice::provider::Tenant;
use crate::lattice::{LatticeApi, ListFilter, list_all};
use crate::metrics::StatusLabels;
use crate::reconcile::Context;

/// How often the drift scan runs.
#[derive(Clone, Debug)]
pub struct DriftOptions {
    pub interval: Duration,
    /// Every n-th scan also wakes ACTIVE objects to compare tags (0: never).
    pub tag_every: u32,
}

impl Default for DriftOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(600),
            tag_every: 6,
        }
    }
}

/// Runs until the receiver is dropped.
pub async fn drift_scan(store: Store<Snsa>, ctx: Arc<Context>, opts: DriftOptions, mut wake: Sender<ObjectRef<Snsa>>) {
    let mut round: u32 = 0;
    loop {
        // The gauge is refreshed before each wait, so it is filled as soon as the watch has synced.
        update_gauge(&ctx, &store.state());
        tokio::time::sleep(opts.interval.mul_f64(0.9 + rand::random::<f64>() * 0.2)).await;
        round = round.wrapping_add(1);
        let objects = store.state();
        // Each namespace's identity, resolved once per scan.
        let mut tenants: HashMap<String, Tenant> = HashMap::new();
        let mut tracked: Vec<Tracked<ObjectRef<Snsa>>> = Vec::new();
        for o in objects.iter().filter(|o| o.metadata.deletion_timestamp.is_none()) {
            let ns = o.metadata.namespace.clone().unwrap_or_default();
            let tenant = match tenants.get(&ns) {
                Some(t) => t.clone(),
                None => match ctx.lattice.for_namespace(&ns).await {
                    Ok(t) => tenants.entry(ns).or_insert(t).clone(),
                    Err(e) => {
                        warn!(namespace = ns, error = %e, "drift scan has no AWS identity for the namespace");
                        continue;
                    }
                },
            };
            let s = o.status.clone().unwrap_or_default();
            tracked.push(Tracked {
                key: ObjectRef::from(o.as_ref()),
                scope: (tenant.key, o.spec.service_network_identifier.clone()),
                id: s.id,
                association_status: s.association_status,
            });
        }
        let apis: HashMap<String, Arc<dyn LatticeApi>> = tenants.into_values().map(|t| (t.key, t.api)).collect();
        let mut scanned = Vec::new();
        let mut listed = HashMap::new();
        for scope in scopes(&tracked) {
            let filter = ListFilter {
                service_network_identifier: Some(scope.1.clone()),
                ..ListFilter::default()
            };
            match list_all(apis[&scope.0].as_ref(), &filter).await {
                Ok(items) => {
                    listed.extend(items.into_iter().map(|a| (a.id, a.status.to_string())));
                    scanned.push(scope);
                }
                Err(e) => {
                    warn!(tenant = scope.0, network = scope.1, error = %e, "drift scan could not list associations")
                }
            }
        }
        let woken = woken(&tracked, &scanned, &listed, compares_tags(round, opts.tag_every));
        debug!(objects = tracked.len(), woken = woken.len(), "drift scan done");
        for obj in woken {
            if wake.send(obj).await.is_err() {
                return;
            }
        }
    }
}

fn update_gauge(ctx: &Context, objects: &[Arc<Snsa>]) {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for o in objects {
        let s = o
            .status
            .as_ref()
            .and_then(|s| s.association_status.clone())
            .unwrap_or_else(|| "NONE".into());
        *counts.entry(s).or_default() += 1;
    }
    ctx.metrics.objects.clear();
    for (status, n) in counts {
        ctx.metrics
            .objects
            .get_or_create(&StatusLabels {
                association_status: status,
            })
            .set(n);
    }
}
