//! The drift scan loop: every `interval` (±10% jitter) it pages through each service network's
//! associations (a fresh listing of the shared observation, which the reconciles it triggers then
//! reuse) and wakes the objects [`diff::stale`](super::diff::stale) names; on a tag round it reads the
//! tags of every association of this cluster in batches (the Resource Groups Tagging API, 100 per
//! call) and wakes those of the objects [`diff::tag_checks`](super::diff::tag_checks) names whose tags
//! drifted (all through the shared rate limiter). It also refreshes the objects-by-status gauge.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::SinkExt;
use futures::channel::mpsc::Sender;
use kube::runtime::reflector::{ObjectRef, Store};
use tracing::{debug, warn};

use crate::api::CLUSTER_TAG;
use crate::api::{Recorded, Watched};
use crate::drift::diff::{Tracked, compares_tags, scopes, stale, tag_checks, tag_drift};
use crate::lattice::provider::Tenant;
use crate::lattice::{LatticeApi, Tags, tagged_all};
use crate::limiter::{Admitted, Caller, Priority};
use crate::metrics::{Metrics, StatusLabels};
use crate::reconcile::memory::{self, Memory};
use crate::reconcile::requeue::jittered;
use crate::reconcile::{Context, desired_tags};

/// The scan's period varies ±10%, so replicas and restarts do not line up.
const PERIOD_SPREAD: (f64, f64) = (-0.1, 0.1);

/// How often the drift scan runs.
#[derive(Clone, Debug)]
pub struct DriftOptions {
    pub interval: Duration,
    /// Every n-th scan also reads the tags of every ACTIVE object and wakes those whose tags differ
    /// from their spec (0: never).
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
pub async fn drift_scan(
    store: Store<Watched>,
    ctx: Arc<Context>,
    opts: DriftOptions,
    mut wake: Sender<ObjectRef<Watched>>,
) {
    let mut round: u32 = 0;
    loop {
        // The gauge is refreshed before each wait, so it is filled as soon as the watch has synced.
        update_gauge(&ctx, &store.state());
        tokio::time::sleep(jittered(opts.interval, PERIOD_SPREAD, rand::random())).await;
        round = round.wrapping_add(1);
        let objects = store.state();
        // Each namespace's identity, resolved once per scan.
        let mut tenants: HashMap<String, Tenant> = HashMap::new();
        let mut tracked: Vec<Tracked<ObjectRef<Watched>>> = Vec::new();
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
            tracked.push(Tracked {
                key: ObjectRef::from(o.as_ref()),
                scope: (tenant.key, o.spec.service_network_identifier.clone()),
                id: o.status.as_ref().and_then(|s| s.id.clone()),
                association_status: o.status.as_ref().and_then(|s| s.association_status.clone()),
                arn: o.status.as_ref().and_then(Recorded::arn),
                tags: desired_tags(o, &ctx.config.cluster_name),
            });
        }
        // The scan's calls wait in no namespace's turn, at drift priority.
        let calls = ctx.limiter.calls(Caller {
            namespace: String::new(),
            priority: Priority::Drift,
        });
        let apis: HashMap<String, Arc<dyn LatticeApi>> = tenants
            .into_values()
            .map(|t| (t.key.clone(), Admitted::wrap(t.api, &t.key, calls.clone())))
            .collect();
        let mut scanned = Vec::new();
        let mut listed = HashMap::new();
        // Listed afresh, through the shared observation: the objects this scan wakes are answered
        // by the same listings.
        let scan_start = Instant::now();
        for scope in scopes(&tracked) {
            match ctx
                .observations
                .listing(&scope, &apis[&scope.0], Some(scan_start))
                .await
            {
                Ok((listing, _)) => {
                    listed.extend(listing.associations().map(|a| (a.id.clone(), a.status.to_string())));
                    scanned.push(scope);
                }
                Err(e) => {
                    warn!(tenant = scope.0, network = scope.1, error = %e, "drift scan could not list associations")
                }
            }
        }
        let mut woken: Vec<ObjectRef<Watched>> = stale(&tracked, &scanned, &listed).into_iter().cloned().collect();
        if compares_tags(round, opts.tag_every) {
            let stale: Vec<&ObjectRef<Watched>> = woken.iter().collect();
            let checks = tag_checks(&tracked, &stale);
            let drifted = drifted_tags(&ctx, &apis, &checks).await;
            woken.extend(drifted);
        }
        debug!(objects = tracked.len(), woken = woken.len(), "drift scan done");
        for obj in woken {
            if wake.send(obj).await.is_err() {
                return;
            }
        }
    }
}

/// A tag round: reads, per AWS identity, the tags of every association carrying this cluster's tag
/// through the Resource Groups Tagging API (`GetResources`, 100 associations per call, through the
/// shared rate limiter) and returns the objects of `checks` whose tags drifted from their spec
/// ([`tag_drift`]), marked so that their reconcile reads the tags again instead of trusting its
/// status. A read that fails leaves its identity's objects for the next tag round.
async fn drifted_tags(
    ctx: &Context,
    apis: &HashMap<String, Arc<dyn LatticeApi>>,
    checks: &[&Tracked<ObjectRef<Watched>>],
) -> Vec<ObjectRef<Watched>> {
    let cluster = ctx.config.cluster_name.as_str();
    let mut read: HashMap<String, HashMap<String, Tags>> = HashMap::new();
    let mut identities: Vec<&String> = checks.iter().map(|t| &t.scope.0).collect();
    identities.sort();
    identities.dedup();
    for identity in identities {
        let Some(api) = apis.get(identity) else { continue };
        match tagged_all(api.as_ref(), (CLUSTER_TAG, cluster)).await {
            Ok(items) => {
                Metrics::count(&ctx.metrics.tag_rounds, "ok");
                read.insert(identity.clone(), items.into_iter().map(|t| (t.arn, t.tags)).collect());
            }
            Err(e) => {
                Metrics::count(&ctx.metrics.tag_rounds, "error");
                warn!(tenant = identity, error = %e, "drift scan could not read the associations' tags")
            }
        }
    }
    let mut drifted = Vec::new();
    for t in tag_drift(checks, &read) {
        let key = memory::key(t.key.namespace.as_deref().unwrap_or_default(), &t.key.name);
        ctx.memories.with(&key, Memory::drifted);
        drifted.push(t.key.clone());
    }
    drifted
}

fn update_gauge(ctx: &Context, objects: &[Arc<Watched>]) {
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
