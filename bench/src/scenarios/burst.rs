//! `burst-1k`: 1,000 objects applied at once against a 20 req/s quota (D = 5 s), then all deleted.

use std::path::Path;
use std::time::{Duration, Instant};

use kube::api::{DeleteParams, ListParams};
use serde_json::json;

use crate::calls::{self, Call, Counts};
use crate::env::require_flags;
use crate::model::{Row, Series, Target};
use crate::rig::{
    Bench, CREATE_CONCURRENCY, FRESH_WATCH_SETTLE, RATE, Record, Rig, Say, Topology, count, emulator_quota_args, secs,
    wait_all,
};
use crate::{Result, bounds, now_ms};

pub(super) async fn burst(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
    let say = Say {
        scenario: "burst-1k",
        start: Instant::now(),
    };
    require_flags(&b.bin("lattice-emulator"), &["--request-rate", "--request-burst"])?;
    let n = b.scaled(1000);
    let d_ms: u64 = 5000;
    let d = secs(d_ms);
    let topo = Topology::new(n, n.div_ceil(100));
    let pages = topo.pages();
    let mut args = topo.emulator_args();
    args.extend(["--provisioning-delay-ms".into(), d_ms.to_string()]);
    args.extend(emulator_quota_args());
    rec.config.insert(
        "burst".into(),
        json!({ "objects": n, "networks": topo.networks.len(), "services": topo.services.len(),
                "provisioningDelayMs": d_ms, "quota": { "requestRate": RATE, "requestBurst": RATE },
                "createConcurrency": CREATE_CONCURRENCY }),
    );
    let rig = Rig::up(b, dir, &say, &args).await?;
    let mut op = rig.operator(b, "operator.log", &["--aws-max-rps", "20"])?;
    rec.config.insert("operatorArgs".into(), json!(op.args));
    op.wait_ready(Duration::from_secs(120)).await?;
    // As in `single`: past the fresh API server's slow first watch events.
    tokio::time::sleep(FRESH_WATCH_SETTLE).await;

    let label = format!("{} objects at once, quota 20/s, D = 5 s", count(n));
    let needed = n + pages;
    let bound = bounds::burst_ready(n, pages, RATE, d);
    let bound_how = format!(
        "({} Creates + {pages} List pages) / 20 per s + D = {needed} / 20 + 5",
        count(n)
    );
    let names: Vec<String> = (0..n).map(|i| format!("b-{i:05}")).collect();
    let objs = topo.objects(&names);
    say.say(&format!("applying {} objects at once", count(n)));
    let (t0, applied) = rig.create(objs).await?;
    say.say(&format!("applied in {:.1} s", secs(applied - t0)));
    let limit = Duration::from_secs_f64(bounds::give_up_after(bound));
    let all = wait_all(&rig, &mut op, &say, "Ready", &names, limit, false).await?;
    let seen = rig.watch.seen(&names);
    let t_all = if all {
        seen.iter().filter_map(|s| s.ready_at).max().unwrap_or(t0)
    } else {
        now_ms()
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let calls = rig.emulator.api.calls().await?;
    let c = Counts::of(calls::window(&calls, t0, t_all));
    let took = secs(t_all - t0);
    say.say(&format!(
        "all Ready after {took:.1} s (bound {bound:.1} s), {} AWS calls, {:.2} % throttled",
        c.total,
        c.throttled_pct()
    ));
    rec.row(
        Row::new(&format!("{label}: all Ready"), Some(took), "s")
            .bound(bound, bound_how)
            .target(Target::RatioAtMost(1.2))
            .capped(!all)
            .note(format!(
                "from the first create, applied {} s after the operator's /readyz; the API server accepted \
                 the last create after {:.1} s",
                FRESH_WATCH_SETTLE.as_secs(),
                secs(applied - t0)
            )),
    );
    rec.row(
        Row::new(&format!("{label}: throttled share"), Some(c.throttled_pct()), "%")
            .target(Target::Below(2.0))
            .note(format!(
                "{} of {} calls answered ThrottlingException",
                c.throttled, c.total
            )),
    );
    rec.row(
        Row::new(&format!("{label}: AWS calls"), Some(c.total as f64), "calls")
            .bound(needed as f64, format!("{} Creates + {pages} List pages", count(n)))
            .note(c.describe()),
    );
    let after = Counts::of(calls::window(&calls, t_all + 1, u64::MAX));
    let mut ready_ms: Vec<u64> = seen
        .iter()
        .filter_map(|s| s.ready_at)
        .map(|t| t.saturating_sub(t0))
        .collect();
    ready_ms.sort_unstable();
    let rel = |f: &dyn Fn(&Call) -> bool| -> Vec<u64> {
        let mut v: Vec<u64> = calls
            .iter()
            .filter(|c| f(c))
            .map(|c| c.at().saturating_sub(t0))
            .collect();
        v.sort_unstable();
        v
    };
    rec.series = Some(Series {
        objects: n,
        ready_ms,
        calls_ms: rel(&|c| c.at() >= t0),
        throttled_ms: rel(&|c| c.at() >= t0 && c.throttled()),
        applied_ms: applied - t0,
        bound_ms: (bound * 1000.0) as u64,
    });
    rec.phase(
        "create",
        json!({ "applyStartMs": t0, "appliedMs": applied, "allReadyMs": t_all, "allReady": all,
                "lastCreateMs": calls.iter().filter(|c| calls::short(&c.operation) == "Create" && c.error.is_none())
                    .map(Call::at).max(),
                "calls": c, "callsAfterLastReady5s": after,
                "associations": rig.emulator.api.associations().await?.len(),
                "operator": op.counters().await.ok() }),
    );

    // Delete them all: one DELETE of the collection, as `kubectl delete snsa --all` would.
    rig.quiet(Duration::from_secs(5), Duration::from_secs(120)).await?;
    let bound_d = bounds::burst_gone(n, RATE, d);
    let bound_d_how = format!("{} Deletes / 20 per s + D = {} / 20 + 5", count(n), n);
    say.say(&format!("deleting {} objects", count(n)));
    let td0 = now_ms();
    rig.api
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    let limit = Duration::from_secs_f64(bounds::give_up_after(bound_d));
    let all = wait_all(&rig, &mut op, &say, "gone", &names, limit, true).await?;
    let t_gone = if all {
        rig.watch
            .seen(&names)
            .iter()
            .filter_map(|s| s.gone_at)
            .max()
            .unwrap_or(td0)
    } else {
        now_ms()
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let calls = rig.emulator.api.calls().await?;
    let c = Counts::of(calls::window(&calls, td0, t_gone));
    let took = secs(t_gone - td0);
    say.say(&format!(
        "all gone after {took:.1} s (bound {bound_d:.1} s), {} AWS calls",
        c.total
    ));
    let label = format!("delete {} objects", count(n));
    rec.row(
        Row::new(&format!("{label}: all gone"), Some(took), "s")
            .bound(bound_d, bound_d_how)
            .target(Target::RatioAtMost(1.2))
            .capped(!all)
            .note("from the collection DELETE to the last object's deletion (finalizer removed)"),
    );
    rec.row(
        Row::new(&format!("{label}: AWS calls"), Some(c.total as f64), "calls")
            .bound(
                (n + pages) as f64,
                format!("{} Deletes + {pages} List pages to see them gone", count(n)),
            )
            .note(c.describe()),
    );
    rec.row(
        Row::new(&format!("{label}: throttled share"), Some(c.throttled_pct()), "%")
            .note(format!("{} of {} calls", c.throttled, c.total)),
    );
    rec.phase(
        "delete",
        json!({ "deleteMs": td0, "allGoneMs": t_gone, "allGone": all, "calls": c,
                "associationsLeft": rig.emulator.api.associations().await?.len() }),
    );
    op.process.stop(Duration::from_secs(30));
    Ok(())
}
