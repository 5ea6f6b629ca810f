//! `fair-3k` (issue 10, "fair under load: one namespace's failures never starve another's work"):
//! 3,000 objects in 3 namespaces whose service does not exist, so every Create is answered
//! `ResourceNotFoundException` and retried on the operator's backoff, keep the operator's rate limiter
//! busy; then 100 healthy objects in 4 other namespaces are applied at once, and their time to Ready
//! is set against the bound: the provisioning delay plus their calls at the healthy namespaces' fair
//! share of the rate (the limiter serves namespaces round-robin, so while F namespaces are busy, H
//! others together get H / (H + F) of it). The operator runs with its defaults (10 calls per s, 8
//! workers) over every namespace.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};

use crate::calls::{Call, Counts};
use crate::env::{Operator, require_flags};
use crate::model::{Row, Target};
use crate::prom;
use crate::rig::{
    Bench, CREATE_CONCURRENCY, FRESH_WATCH_SETTLE, RATE, Record, Rig, Say, Topology, count, emulator_quota_args, ids,
    object_in, resource, secs, wait_all,
};
use crate::{Result, bounds, now_ms};

/// The operator's default `--aws-max-rps`: this scenario runs it with its defaults.
pub(crate) const OPERATOR_RATE: f64 = 10.0;
/// Namespaces of the failing and of the healthy objects (fewer when scaled below one object each).
const FAILING_NAMESPACES: usize = 3;
const HEALTHY_NAMESPACES: usize = 4;
/// How long after the last failing object was accepted the healthy ones come at the earliest…
const SATURATE_AFTER: Duration = Duration::from_secs(30);
/// …and how many failing Creates the emulator must have logged by then (fewer if there are fewer
/// failing objects): the failing work fills the limiter, first attempts and retries alike.
const SATURATE_CREATES: usize = 1000;
/// What the emulator answers a Create naming a service it does not have.
const NOT_FOUND: &str = "ResourceNotFoundException";
const DEFERRED: &str = "vpc_lattice_operator_reconciles_deferred_total";

/// Whose a logged call is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Healthy,
    Failing,
    /// List pages of the one network every object names: they answer for both sides.
    Shared,
    Unknown,
}

/// The side of `call`: a Create by its client token (`<object uid>-<attempt>`) and the object's
/// namespace, else by its answer; a List is shared; any other call (Get, ListTags, Tag…) names an
/// association, which only healthy objects have.
fn side(call: &Call, namespace_of_uid: &HashMap<String, String>) -> Side {
    match crate::calls::short(&call.operation).as_str() {
        "Create" => {
            let ns = call
                .client_token
                .as_deref()
                .and_then(|t| t.rsplit_once('-'))
                .and_then(|(uid, _)| namespace_of_uid.get(uid));
            match ns {
                Some(ns) if ns.starts_with("healthy-") => Side::Healthy,
                Some(ns) if ns.starts_with("failing-") => Side::Failing,
                _ if call.error.as_deref() == Some(NOT_FOUND) => Side::Failing,
                _ => Side::Unknown,
            }
        }
        "List" => Side::Shared,
        _ if call.error.as_deref() == Some(NOT_FOUND) => Side::Unknown,
        _ => Side::Healthy,
    }
}

fn failing_create(c: &Call) -> bool {
    crate::calls::short(&c.operation) == "Create" && c.error.as_deref() == Some(NOT_FOUND)
}

/// The `p`-th percentile (nearest rank) of `sorted` (ms, and whether the value is only a lower limit).
fn percentile(sorted: &[(u64, bool)], p: f64) -> Option<(u64, bool)> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The operator's metrics the scenario keeps: deferred reconciles, and the limiter's queue and wait
/// by namespace.
async fn limiter_state(op: &Operator) -> Result<(f64, Value)> {
    let m = op.metrics().await?;
    let by_ns = |name: &str| -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for s in m.iter().filter(|s| s.name == name) {
            let ns = s.labels.get("object_namespace").cloned().unwrap_or_default();
            *out.entry(ns).or_default() += s.value;
        }
        out
    };
    let deferred = prom::sum(&m, DEFERRED, |_| true);
    Ok((
        deferred,
        json!({ "reconcilesDeferred": deferred,
                "limiterQueuedCalls": by_ns("vpc_lattice_operator_aws_limiter_queued_calls"),
                "limiterWaitSecondsSum": by_ns("vpc_lattice_operator_aws_limiter_wait_seconds_sum"),
                "limiterWaitCount": by_ns("vpc_lattice_operator_aws_limiter_wait_seconds_count"),
                "counters": op.counters().await.ok() }),
    ))
}

pub(crate) async fn fair(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
    let say = Say {
        scenario: "fair-3k",
        start: Instant::now(),
    };
    require_flags(&b.bin("lattice-emulator"), &["--request-rate", "--request-burst"])?;
    let failing = b.scaled(3000);
    let healthy = b.scaled(100);
    let fns = FAILING_NAMESPACES.min(failing);
    let hns = HEALTHY_NAMESPACES.min(healthy);
    let failing_ns: Vec<String> = (0..fns).map(|k| format!("failing-{k}")).collect();
    let healthy_ns: Vec<String> = (0..hns).map(|k| format!("healthy-{k}")).collect();
    let d_ms: u64 = 5000;
    let d = secs(d_ms);
    // The healthy objects' services and the one network every object names; the failing objects'
    // services are well-formed IDs the emulator never hears of.
    let mut taken = HashSet::new();
    let topo = Topology::new_taking(healthy, 1, &mut taken);
    let unknown = ids("svc-", failing, &mut taken);
    let network = topo.networks[0].clone();
    let pages = topo.pages();
    let mut args = topo.emulator_args();
    args.extend(["--provisioning-delay-ms".into(), d_ms.to_string()]);
    args.extend(emulator_quota_args());
    let want_failing = SATURATE_CREATES.min(failing);
    rec.config.insert(
        "fair".into(),
        json!({ "failingObjects": failing, "failingNamespaces": failing_ns, "healthyObjects": healthy,
                "healthyNamespaces": healthy_ns, "networks": 1, "listPagesPerLook": pages,
                "provisioningDelayMs": d_ms, "quota": { "requestRate": RATE, "requestBurst": RATE },
                "operatorRate": OPERATOR_RATE, "createConcurrency": CREATE_CONCURRENCY,
                "saturateAfterS": SATURATE_AFTER.as_secs(), "saturateFailingCreates": want_failing }),
    );
    let namespaces: Vec<&str> = failing_ns.iter().chain(&healthy_ns).map(String::as_str).collect();
    let rig = Rig::up_in(b, dir, &say, &args, &namespaces).await?;
    let mut op = rig.operator_in(b, "operator.log", None, &[])?;
    rec.config.insert("operatorArgs".into(), json!(op.args));
    op.wait_ready(Duration::from_secs(120)).await?;
    // As in `single`: past the fresh API server's slow first watch events.
    tokio::time::sleep(FRESH_WATCH_SETTLE).await;

    // The failing objects, and time for their Creates and retries to fill the limiter.
    let failing_names: Vec<String> = (0..failing).map(|i| format!("x-{i:05}")).collect();
    let objs = failing_names
        .iter()
        .enumerate()
        .map(|(i, name)| object_in(&failing_ns[i % fns], name, &unknown[i], &network))
        .collect();
    say.say(&format!(
        "applying {} failing objects in {fns} namespaces",
        count(failing)
    ));
    let (tf0, tf_applied) = rig.create(objs).await?;
    say.say(&format!("applied in {:.1} s", secs(tf_applied - tf0)));
    let earliest = tf_applied + SATURATE_AFTER.as_millis() as u64;
    // Twice the time the Creates take at the operator's rate, and some.
    let limit = Duration::from_secs_f64((2.0 * want_failing as f64 / OPERATOR_RATE).max(120.0)) + SATURATE_AFTER;
    let deadline = Instant::now() + limit;
    let mut next_say = Instant::now() + Duration::from_secs(15);
    let failing_before = loop {
        op.process.check_alive()?;
        if now_ms() >= earliest {
            let n = rig
                .emulator
                .api
                .calls()
                .await?
                .iter()
                .filter(|c| failing_create(c))
                .count();
            if n >= want_failing {
                break n;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the failing objects' Creates did not fill the limiter: {n} of {want_failing} failing \
                     Creates logged within {limit:?} of the last failing object's apply"
                )
                .into());
            }
            if Instant::now() > next_say {
                say.say(&format!("failing Creates so far: {n}/{want_failing}"));
                next_say += Duration::from_secs(15);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let (deferred0, state0) = limiter_state(&op).await?;
    say.say(&format!(
        "{failing_before} failing Creates logged, {deferred0} reconciles deferred so far; applying {} healthy objects in \
         {hns} namespaces",
        count(healthy)
    ));

    // The healthy objects, all at once.
    let share = bounds::fair_share(OPERATOR_RATE, hns, fns);
    let needed = healthy + pages;
    let bound = bounds::fair_ready(d, needed, OPERATOR_RATE, hns, fns);
    let bound_how = format!(
        "D + (healthy Creates + List pages) / (rate × H / (H + F)) = 5 + ({} + {pages}) / (10 per s × {hns}/{}) \
         = 5 + {needed} / {}",
        count(healthy),
        hns + fns,
        crate::model::trim(share)
    );
    let healthy_names: Vec<String> = (0..healthy).map(|i| format!("h-{i:04}")).collect();
    let objs = healthy_names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (svc, sn) = topo.pair(i);
            object_in(&healthy_ns[i % hns], name, svc, sn)
        })
        .collect();
    let (t0, applied) = rig.create(objs).await?;
    let limit = Duration::from_secs_f64(bounds::give_up_after(bound));
    let all = wait_all(&rig, &mut op, &say, "healthy Ready", &healthy_names, limit, false).await?;
    let t_end = now_ms();
    let seen = rig.watch.seen(&healthy_names);
    let t_all = if all {
        seen.iter().filter_map(|s| s.ready_at).max().unwrap_or(t0)
    } else {
        t_end
    };
    let (deferred1, state1) = limiter_state(&op).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut calls = rig.emulator.api.calls().await?;
    calls.sort_by_key(Call::at);
    let objects = Api::<DynamicObject>::all_with(rig.cp.client.clone(), &resource())
        .list(&ListParams::default())
        .await?;
    let namespace_of_uid: HashMap<String, String> = objects
        .items
        .iter()
        .filter_map(|o| Some((o.metadata.uid.clone()?, o.metadata.namespace.clone()?)))
        .collect();
    op.process.stop(Duration::from_secs(30));

    // What happened in [t0, all healthy Ready].
    let window = crate::calls::window(&calls, t0, t_all);
    let by_side = |s: Side| Counts::of(window.iter().copied().filter(|c| side(c, &namespace_of_uid) == s));
    let (ch, cf, cs, cu) = (
        by_side(Side::Healthy),
        by_side(Side::Failing),
        by_side(Side::Shared),
        by_side(Side::Unknown),
    );
    let c = Counts::of(window.iter().copied());
    let since_t0: Vec<&Call> = calls.iter().filter(|c| c.at() >= t0).collect();
    let healthy_create =
        |c: &Call| crate::calls::short(&c.operation) == "Create" && side(c, &namespace_of_uid) == Side::Healthy;
    let first_healthy = since_t0.iter().position(|c| healthy_create(c));
    let first_healthy_ms = first_healthy.map(|i| since_t0[i].at());
    let last_healthy_ms = since_t0
        .iter()
        .filter(|c| healthy_create(c) && c.error.is_none())
        .map(|c| c.at())
        .max();
    // The failing objects' first attempts still to come when the healthy ones were applied.
    let tried_before: HashSet<&str> = calls
        .iter()
        .filter(|c| c.at() < t0 && side(c, &namespace_of_uid) == Side::Failing)
        .filter_map(|c| c.client_token.as_deref()?.rsplit_once('-').map(|(uid, _)| uid))
        .collect();
    let untried_at_t0 = failing.saturating_sub(tried_before.len());

    let mut ready: Vec<(u64, bool)> = seen
        .iter()
        .map(|s| {
            s.ready_at
                .map_or((t_end.saturating_sub(t0), true), |r| (r.saturating_sub(t0), false))
        })
        .collect();
    ready.sort_unstable();
    let took = secs(t_all - t0);
    say.say(&format!(
        "all healthy Ready: {} after {took:.1} s (bound {bound:.1} s); in the window {} calls from healthy \
         namespaces, {} from failing ones, {} List pages",
        if all { "yes" } else { "no" },
        ch.total,
        cf.total,
        cs.total
    ));

    let label = format!(
        "{} healthy objects beside {} failing, rate 10/s, D = 5 s",
        count(healthy),
        count(failing)
    );
    rec.row(
        Row::new(&format!("{label}: all healthy Ready"), Some(took), "s")
            .bound(bound, bound_how.clone())
            .target(Target::RatioAtMost(1.2))
            .capped(!all)
            .note(format!(
                "from the first healthy create ({hns} namespaces) to the last healthy object's Ready, while \
                 {} objects in {fns} namespaces failed and retried; applied after {failing_before} failing Creates, \
                 {untried_at_t0} failing objects not yet tried; the API server accepted the last healthy create \
                 after {:.1} s",
                count(failing),
                secs(applied - t0)
            )),
    );
    for (name, p) in [("median", 50.0), ("p95", 95.0)] {
        let v = percentile(&ready, p);
        rec.row(
            Row::new(
                &format!("{label}: {name} healthy time to Ready"),
                v.map(|(ms, _)| secs(ms)),
                "s",
            )
            .bound(bound, "as for all healthy Ready (for reference)")
            .capped(v.is_some_and(|(_, capped)| capped))
            .note("from the first healthy create to each healthy object's Ready"),
        );
    }
    rec.row(
        Row::new(
            &format!("{label}: first healthy Create, call number from the apply on"),
            first_healthy.map(|i| (i + 1) as f64),
            "calls",
        )
        .bound(
            (fns + 1) as f64,
            format!("one turn of each of the {fns} failing namespaces, then a healthy one's"),
        )
        .note(first_healthy_ms.map_or_else(
            || "no healthy Create reached AWS".to_string(),
            |at| {
                format!(
                    "its position among the calls from the healthy apply on (itself included); it reached AWS \
                     {:.2} s after the apply",
                    secs(at - t0)
                )
            },
        )),
    );
    rec.row(
        Row::new(
            &format!("{label}: calls from healthy namespaces until all Ready"),
            Some(ch.total as f64),
            "calls",
        )
        .bound(healthy as f64, format!("{} Creates", count(healthy)))
        .note(format!(
            "{}; Creates by the object of their client token, other calls name an association, which only healthy \
             objects have; besides: {} List pages of the shared network ({}){}",
            ch.describe(),
            cs.total,
            cs.describe(),
            if cu.total > 0 {
                format!(", {} calls of neither side ({})", cu.total, cu.describe())
            } else {
                String::new()
            }
        )),
    );
    let window_s = secs(t_all - t0);
    rec.row(
        Row::new(
            &format!("{label}: calls from failing namespaces until all Ready"),
            Some(cf.total as f64),
            "calls",
        )
        .note(format!(
            "{}; the whole window ({window_s:.1} s) at 10 per s is {:.0} calls",
            cf.describe(),
            window_s * OPERATOR_RATE
        )),
    );
    rec.row(
        Row::new(&format!("{label}: throttled share"), Some(c.throttled_pct()), "%")
            .note(format!("{} of {} calls until all healthy Ready", c.throttled, c.total)),
    );
    rec.row(
        Row::new(
            &format!("{label}: reconciles deferred until all Ready"),
            Some(deferred1 - deferred0),
            "reconciles",
        )
        .note(format!(
            "the operator's reconciles_deferred_total (reconciles that gave their worker back); \
             {deferred0} before the healthy apply, {deferred1} in all"
        )),
    );
    // The healthy and shared calls from the healthy apply to 5 s after the last Ready, as
    // `[operation, seconds since the apply, error]`: what the healthy objects waited for.
    let healthy_timeline: Vec<Value> = crate::calls::window(&calls, t0, t_all + 5000)
        .into_iter()
        .filter(|c| matches!(side(c, &namespace_of_uid), Side::Healthy | Side::Shared))
        .map(|c| json!([crate::calls::short(&c.operation), secs(c.at() - t0), c.error]))
        .collect();
    let mut by_ns: BTreeMap<String, u64> = BTreeMap::new();
    for call in &window {
        if crate::calls::short(&call.operation) == "Create"
            && let Some(ns) = call
                .client_token
                .as_deref()
                .and_then(|t| t.rsplit_once('-'))
                .and_then(|(uid, _)| namespace_of_uid.get(uid))
        {
            *by_ns.entry(ns.clone()).or_default() += 1;
        }
    }
    rec.phase(
        "failing",
        json!({ "applyStartMs": tf0, "appliedMs": tf_applied, "healthyApplyMs": t0,
                "failingCreatesBeforeHealthy": failing_before, "failingObjectsTriedBeforeHealthy": tried_before.len(),
                "failingObjectsUntriedAtHealthyApply": untried_at_t0,
                "calls": Counts::of(calls.iter().filter(|c| c.at() < t0)), "operator": state0 }),
    );
    rec.phase(
        "healthy",
        json!({ "applyStartMs": t0, "appliedMs": applied, "allReadyMs": t_all, "allReady": all,
                "boundS": bound, "fairShare": share, "needed": needed,
                "firstHealthyCreateMs": first_healthy_ms, "firstHealthyCreatePosition": first_healthy.map(|i| i + 1),
                "lastHealthyCreateMs": last_healthy_ms,
                "readyMs": ready.iter().map(|r| r.0).collect::<Vec<_>>(),
                "calls": c, "healthyCalls": ch, "failingCalls": cf, "sharedCalls": cs, "unknownCalls": cu,
                "createsByNamespace": by_ns, "reconcilesDeferred": deferred1 - deferred0, "operator": state1,
                "healthyTimeline": healthy_timeline }),
    );
    Ok(())
}
