//! The drift scan loop: every `interval` (±10% jitter) it pages through each service network's
//! associations (a fresh listing of the shared observation, which the reconciles it triggers then
//! reuse) and wakes the objects [`diff::stale`](super::diff::stale) names; on a tag round it reads the
//! tags of every association of this cluster in batches (the Resource Groups Tagging API, 100 per
//! call) and wakes those of the objects [`diff::tag_checks`](super::diff::tag_checks) names whose tags
//! drifted (all through the shared rate limiter). It also refreshes the objects-by-status gauge.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::SinkExt;
use futures::channel::mpsc::Sender;
use kube::runtime::reflector::{ObjectRef, Store};
use tracing::{debug, warn};

use crate::api::CLUSTER_TAG;
use crate::api::{ManagementPolicy, Recorded, Watched};
use crate::drift::diff::{checks_tags, compares_tags, stale, tags_drifted};
use crate::lattice::LatticeApi;
use crate::lattice::provider::Tenant;
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
        let woken = scan(&ctx, &objects, compares_tags(round, opts.tag_every)).await;
        debug!(objects = objects.len(), woken = woken.len(), "drift scan done");
        for i in woken {
            if wake.send(ObjectRef::from(objects[i].as_ref())).await.is_err() {
                return;
            }
        }
    }
}

/// One scan over `objects` (the store's), network by network: the indices of the objects to wake.
/// It keeps no table per object beyond a flag and the groups' indices: each object is compared with
/// its network's listing as that listing arrives, and on a tag round with each page of tags.
async fn scan(ctx: &Context, objects: &[Arc<Watched>], tag_round: bool) -> Vec<usize> {
    // Each (namespace, fixed region)'s identity and region, resolved once per scan.
    let mut tenants: HashMap<(&str, Option<String>), Option<Tenant>> = HashMap::new();
    for o in objects {
        let ns = o.metadata.namespace.as_deref().unwrap_or_default();
        let key = (ns, o.region());
        if tenants.contains_key(&key) {
            continue;
        }
        let tenant = match ctx.lattice.for_namespace(ns, key.1.as_deref()).await {
            Ok(t) => Some(t),
            Err(e) => {
                warn!(namespace = ns, error = %e, "drift scan has no AWS identity for the namespace");
                None
            }
        };
        tenants.insert(key, tenant);
    }
    // The objects of each (identity, service network), in a stable order.
    let mut groups: BTreeMap<(&str, String), Vec<usize>> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        let ns = o.metadata.namespace.as_deref().unwrap_or_default();
        if o.metadata.deletion_timestamp.is_some() {
            continue;
        }
        // An object whose network is named by a reference not resolved yet has nothing to compare.
        if let (Some(Some(tenant)), Some(network)) = (tenants.get(&(ns, o.region())), o.service_network()) {
            groups.entry((tenant.key.as_str(), network)).or_default().push(i);
        }
    }
    // The scan's calls wait in no namespace's turn, at drift priority.
    let calls = ctx.limiter.calls(Caller {
        namespace: String::new(),
        priority: Priority::Drift,
    });
    let apis: HashMap<&str, Arc<dyn LatticeApi>> = tenants
        .values()
        .flatten()
        .map(|t| (t.key.as_str(), Admitted::tenant(t, &calls)))
        .collect();
    let mut woken = vec![false; objects.len()];
    // Listed afresh, through the shared observation: the objects this scan wakes are answered by the
    // same listings.
    let scan_start = Instant::now();
    for ((identity, network), members) in &groups {
        let scope = (identity.to_string(), network.clone());
        match ctx
            .observations
            .listing(&scope, &apis[identity], Some(scan_start))
            .await
        {
            Ok((listing, _)) => {
                for &i in members {
                    let (id, recorded) = objects[i].status.as_ref().map_or((None, None), Recorded::id_and_state);
                    let listed = id.as_deref().and_then(|id| listing.state_of(id));
                    let observing = objects[i].spec.management_policy == ManagementPolicy::ObserveOnly;
                    woken[i] = stale(id.as_deref(), recorded.as_deref(), listed, observing);
                }
            }
            Err(e) => warn!(tenant = identity, network, error = %e, "drift scan could not list associations"),
        }
    }
    if tag_round {
        let mut by_identity: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for ((identity, _), members) in &groups {
            by_identity.entry(identity).or_default().extend(members);
        }
        for (identity, members) in by_identity {
            for i in drifted_tags(ctx, identity, &apis[identity], objects, &members, &woken).await {
                let key = memory::key(
                    objects[i].metadata.namespace.as_deref().unwrap_or_default(),
                    objects[i].metadata.name.as_deref().unwrap_or_default(),
                );
                ctx.memories.with(&key, Memory::drifted);
                woken[i] = true;
            }
        }
    }
    woken.iter().enumerate().filter(|(_, w)| **w).map(|(i, _)| i).collect()
}

/// A tag round for one AWS identity: reads the tags of every association carrying this cluster's
/// tag through the Resource Groups Tagging API (`GetResources`, 100 associations per call, through
/// the shared rate limiter), comparing each page as it arrives with the objects of `members` whose
/// tags are checked ([`checks_tags`]), and returns those whose tags drifted from their spec
/// ([`tags_drifted`]; missing from the complete read counts as drifted; objects under
/// `managementPolicy: ObserveOnly` are never compared: their tags are not theirs to keep), to be marked so that their
/// reconcile reads the tags again instead of trusting its status. A read that fails leaves the
/// identity's objects for the next tag round.
async fn drifted_tags(
    ctx: &Context,
    identity: &str,
    api: &Arc<dyn LatticeApi>,
    objects: &[Arc<Watched>],
    members: &[usize],
    woken: &[bool],
) -> Vec<usize> {
    let cluster = ctx.config.cluster_name.as_str();
    let mut unread: HashMap<String, usize> = members
        .iter()
        .filter_map(|&i| {
            let status = objects[i].status.as_ref()?;
            let arn = status.arn();
            let managed = objects[i].spec.management_policy == ManagementPolicy::Managed;
            (managed && checks_tags(status.association_status().as_deref(), arn.is_some(), woken[i]))
                .then_some((arn?, i))
        })
        .collect();
    if unread.is_empty() {
        return Vec::new();
    }
    let mut drifted = Vec::new();
    let mut token = None;
    loop {
        let page = match api.tagged_associations((CLUSTER_TAG, cluster), token).await {
            Ok(page) => page,
            Err(e) => {
                Metrics::count(&ctx.metrics.tag_rounds, "error");
                warn!(tenant = identity, error = %e, "drift scan could not read the associations' tags");
                return Vec::new();
            }
        };
        for item in page.items {
            if let Some(i) = unread.remove(&item.arn)
                && tags_drifted(&desired_tags(&objects[i], cluster), Some(&item.tags))
            {
                drifted.push(i);
            }
        }
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    Metrics::count(&ctx.metrics.tag_rounds, "ok");
    drifted.extend(unread.into_values());
    drifted
}

fn update_gauge(ctx: &Context, objects: &[Arc<Watched>]) {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for o in objects {
        let s = o
            .status
            .as_ref()
            .and_then(Recorded::association_status)
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
