//! `big-network` (issue 18 part 0): N objects applied at once, all in ONE service network, against
//! the operator at its default rate (10 calls per second) and a quota of as many (D = 2 s); 500 and
//! 3,000 objects, each on a fresh rig. One network is where a listing costs the most: every look at
//! it is N / 100 List pages, so an operator that looks often spends its rate on List pages instead of
//! Creates, and the time to Ready shows it. The bound is burst-1k's: the Creates and one look at
//! the network at the rate, plus D. The calls per second (Creates and List pages apart) and the
//! objects Ready over time are kept, and the largest run is plotted.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use super::fair::OPERATOR_RATE;
use crate::calls::{self, Call, Counts};
use crate::env::require_flags;
use crate::model::{RateSeries, Row, Target, per_second};
use crate::rig::{Bench, FRESH_WATCH_SETTLE, Record, Rig, Say, Topology, count, quota_args, secs, wait_all};
use crate::{Result, bounds, now_ms};

/// The provisioning delay: short, so the time is the calls'.
const D_MS: u64 = 2000;
/// The sizes, each on a fresh rig (before `--scale`).
const SIZES: [usize; 2] = [500, 3000];

pub(super) async fn big_network(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
    let say = Say {
        scenario: "big-network",
        start: Instant::now(),
    };
    require_flags(&b.bin("lattice-emulator"), &["--request-rate", "--request-burst"])?;
    let sizes = SIZES.map(|n| b.scaled(n));
    rec.config.insert(
        "bigNetwork".into(),
        json!({ "sizes": sizes, "networks": 1, "provisioningDelayMs": D_MS,
                "quota": { "requestRate": OPERATOR_RATE, "requestBurst": OPERATOR_RATE },
                "operatorRate": OPERATOR_RATE,
                "operator": "its default --aws-max-rps (10) and --concurrency; --namespace bench",
                "createConcurrency": crate::rig::CREATE_CONCURRENCY }),
    );
    for (i, n) in sizes.into_iter().enumerate() {
        let sub = dir.join(format!("n{n}"));
        std::fs::create_dir_all(&sub)?;
        one(b, &sub, &say, rec, n, i + 1 == sizes.len()).await?;
    }
    Ok(())
}

/// One size on its fresh rig; `plot`: keep its time series for the plot.
async fn one(b: &Bench, dir: &Path, say: &Say, rec: &mut Record, n: usize, plot: bool) -> Result<()> {
    let d = secs(D_MS);
    let rate = OPERATOR_RATE;
    let topo = Topology::new(n, 1);
    let pages = topo.pages();
    let mut args = topo.emulator_args();
    args.extend(["--provisioning-delay-ms".into(), D_MS.to_string()]);
    args.extend(quota_args(rate));
    let rig = Rig::up(b, dir, say, &args).await?;
    // No --aws-max-rps: the operator's default rate is what this scenario measures.
    let mut op = rig.operator(b, "operator.log", &[])?;
    rec.config.insert("operatorArgs".into(), json!(op.args));
    op.wait_ready(Duration::from_secs(120)).await?;
    // As in `burst-1k`: past the fresh API server's slow first watch events.
    tokio::time::sleep(FRESH_WATCH_SETTLE).await;

    let label = format!("{} objects in one network, rate 10/s, D = 2 s", count(n));
    let needed = n + pages;
    let bound = bounds::burst_ready(n, pages, rate, d);
    let bound_how = format!(
        "({} Creates + {pages} List pages of the one network) / 10 per s + D = {needed} / 10 + 2",
        count(n)
    );
    let names: Vec<String> = (0..n).map(|i| format!("n-{i:05}")).collect();
    say.say(&format!("applying {} objects at once, all in one network", count(n)));
    let (t0, applied) = rig.create(topo.objects(&names)).await?;
    say.say(&format!("applied in {:.1} s", secs(applied - t0)));
    let limit = Duration::from_secs_f64(bounds::give_up_after(bound));
    let all = wait_all(&rig, &mut op, say, "Ready", &names, limit, false).await?;
    let seen = rig.watch.seen(&names);
    let t_all = if all {
        seen.iter().filter_map(|s| s.ready_at).max().unwrap_or(t0)
    } else {
        now_ms()
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let calls = rig.emulator.api.calls().await?;
    let counters = op.counters().await.ok();
    op.process.stop(Duration::from_secs(30));
    let c = Counts::of(calls::window(&calls, t0, t_all));
    let took = secs(t_all - t0);
    say.say(&format!(
        "all Ready after {took:.1} s (bound {bound:.1} s), {} AWS calls ({}), {:.2} % throttled",
        c.total,
        c.describe(),
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
        Row::new(&format!("{label}: AWS calls"), Some(c.total as f64), "calls")
            .bound(
                needed as f64,
                format!(
                    "{} Creates + {pages} List pages (one look at the network, 100 a page)",
                    count(n)
                ),
            )
            .target(Target::RatioAtMost(1.2))
            .capped(!all)
            .note(c.describe()),
    );
    rec.row(
        Row::new(&format!("{label}: throttled share"), Some(c.throttled_pct()), "%")
            .target(Target::Below(2.0))
            .note(format!(
                "{} of {} calls answered ThrottlingException",
                c.throttled, c.total
            )),
    );

    // The time series: calls per second by kind, and objects Ready, since the first create.
    let since = |f: &dyn Fn(&Call) -> bool| -> Vec<u64> {
        calls
            .iter()
            .filter(|c| c.at() >= t0 && c.at() <= t_all && f(c))
            .map(|c| c.at() - t0)
            .collect()
    };
    let creates = per_second(&since(&|c| calls::short(&c.operation) == "Create"));
    let lists = per_second(&since(&|c| c.operation == calls::LIST));
    let mut ready_ms: Vec<u64> = seen
        .iter()
        .filter_map(|s| s.ready_at)
        .map(|t| t.saturating_sub(t0))
        .collect();
    ready_ms.sort_unstable();
    let after = Counts::of(calls::window(&calls, t_all + 1, u64::MAX));
    rec.phase(
        &format!("{n} objects"),
        json!({ "objects": n, "listPagesPerLook": pages, "boundS": bound,
                "applyStartMs": t0, "appliedMs": applied, "allReadyMs": t_all, "allReady": all,
                "lastCreateMs": calls.iter().filter(|c| calls::short(&c.operation) == "Create" && c.error.is_none())
                    .map(Call::at).max(),
                "calls": c, "callsAfterLastReady5s": after,
                "createsPerS": creates, "listsPerS": lists, "readyPerS": per_second(&ready_ms),
                "associations": rig.emulator.api.associations().await?.len(),
                "operator": counters }),
    );
    if plot {
        rec.rates = Some(RateSeries {
            objects: n,
            rate,
            creates_per_s: creates,
            lists_per_s: lists,
            ready_ms,
            applied_ms: applied - t0,
            bound_ms: (bound * 1000.0) as u64,
        });
    }
    Ok(())
}
