//! `fleet-10k`: 10,000 ACTIVE objects in 20 networks: the operator restarted over them, then 5
//! minutes of steady state with a 60 s resync; the operator's peak RSS.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::calls::{self, Counts};
use crate::env::ControlPlane;
use crate::model::{Row, Target};
use crate::rig::{Bench, RATE, Record, Rig, Say, Topology, count, first_pass, pass_timeline, secs, wait_all};
use crate::{Result, bounds, now_ms};

pub(super) async fn fleet(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
    let say = Say {
        scenario: "fleet-10k",
        start: Instant::now(),
    };
    let n = b.scaled(10_000);
    let resync_s: u64 = 60;
    let topo = Topology::new(n, 20);
    let pages = topo.pages();
    // Seeding needs no quota; the measured operator runs under it, set through the admin API.
    rec.config.insert(
        "fleet".into(),
        json!({ "objects": n, "networks": topo.networks.len(), "services": topo.services.len(),
                "perNetwork": topo.per_network(), "listPagesPerLook": pages,
                "resyncS": resync_s, "steadyS": b.steady.as_secs(),
                "quota": { "requestRate": RATE, "requestBurst": RATE },
                "seed": "created through the operator itself: emulator with no quota and D = 0, \
                         operator --aws-max-rps 1000 --concurrency 32, until every object is Ready" }),
    );
    let rig = Rig::up(b, dir, &say, &topo.emulator_args()).await?;

    // Seed: every object ACTIVE and Ready, through the operator at a high rate.
    let mut seed = rig.operator(
        b,
        "operator-seed.log",
        &[
            "--aws-max-rps",
            "1000",
            "--concurrency",
            "32",
            "--resync-interval",
            "1h",
        ],
    )?;
    seed.wait_ready(Duration::from_secs(120)).await?;
    let names: Vec<String> = (0..n).map(|i| format!("f-{i:05}")).collect();
    let objs = topo.objects(&names);
    say.say(&format!(
        "seeding {} objects through the operator (1000 rps, D = 0)",
        count(n)
    ));
    let (t0, applied) = rig.create(objs).await?;
    say.say(&format!("applied in {:.1} s", secs(applied - t0)));
    let limit = Duration::from_secs_f64((n as f64 * 0.15).max(600.0));
    if !wait_all(&rig, &mut seed, &say, "seed Ready", &names, limit, false).await? {
        return Err(format!("seeding: not every object was Ready within {limit:?}").into());
    }
    let t_seeded = rig
        .watch
        .seen(&names)
        .iter()
        .filter_map(|s| s.ready_at)
        .max()
        .unwrap_or(t0);
    let seed_rss = seed.peak_rss_mib();
    seed.process.stop(Duration::from_secs(30));
    let calls = rig.emulator.api.calls().await?;
    let seed_counts = Counts::of(&calls);
    rig.emulator.api.clear().await?;
    say.say(&format!(
        "seeded in {:.1} s ({} AWS calls); seeding operator peaked at {:.1} MiB",
        secs(t_seeded - t0),
        seed_counts.total,
        seed_rss.unwrap_or_default()
    ));
    rec.row(
        Row::new(
            &format!("seed {} objects (operator at 1000 rps, D = 0): all Ready", count(n)),
            Some(secs(t_seeded - t0)),
            "s",
        )
        .note(format!("set-up, not a target; {}", seed_counts.describe())),
    );
    rec.phase(
        "seed",
        json!({ "applyStartMs": t0, "appliedMs": applied, "allReadyMs": t_seeded, "calls": seed_counts,
                "operatorPeakRssMiB": seed_rss }),
    );

    // Restart: the measured operator, under the quota, over the ACTIVE objects.
    let quota = rig
        .emulator
        .api
        .update_faults(&json!({ "requestRate": RATE, "requestBurst": RATE as u32 }))
        .await?;
    let w0 = rig.cp.metrics().await?;
    let resync = format!("{resync_s}s");
    let mut op = rig.operator(
        b,
        "operator.log",
        &["--aws-max-rps", "20", "--resync-interval", &resync],
    )?;
    rec.config.insert("operatorArgs".into(), json!(op.args));
    let t_spawn = op.process.spawned_at;
    say.say("restarted the operator (20 rps, resync 60 s)");
    let t_ready = op.wait_ready(Duration::from_secs(300)).await?;
    // Cap: twice what a Get and a ListTags per object take at 20 per s (the per-object design).
    let cap = Duration::from_secs_f64((2.0 * 2.0 * n as f64 / RATE).max(300.0));
    // Looked at every 100 ms, as scale does: at 250 ms the look alone added 0.125 s on average
    // (2.5 % of the bound) to a pass that ends between two looks.
    let every = (Duration::from_secs(30), Duration::from_millis(100));
    let seen = first_pass(&mut op, &say, n, cap, every).await?;
    let (t_pass, capped) = (seen.at, seen.capped);
    let c_pass = op.counters().await?;
    let w1 = rig.cp.metrics().await?;
    say.say(&format!(
        "first full pass {} {:.1} s after ready",
        if capped { "not done" } else { "done" },
        secs(t_pass - t_ready)
    ));

    // Steady state.
    say.say(&format!("steady state for {} s", b.steady.as_secs()));
    let t_s0 = now_ms();
    let steady_end = Instant::now() + b.steady;
    let mut next_say = Instant::now() + Duration::from_secs(60);
    while Instant::now() < steady_end {
        op.process.check_alive()?;
        if Instant::now() > next_say {
            let c = op.counters().await? - c_pass;
            say.say(&format!(
                "steady: {:.0} AWS calls, {:.0} reconciles so far",
                c.aws_calls, c.reconciles
            ));
            next_say += Duration::from_secs(60);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let t_s1 = now_ms();
    let c_end = op.counters().await?;
    let w2 = rig.cp.metrics().await?;
    let rss = op.peak_rss_mib();
    let calls = rig.emulator.api.calls().await?;
    op.process.stop(Duration::from_secs(30));

    // Restart rows.
    let creates = Counts::of(calls::window(&calls, t_spawn, t_s1)).op("Create");
    let pass_calls = calls::window(&calls, t_spawn, t_pass);
    let pass_span = calls::span(&pass_calls);
    let pass = Counts::of(pass_calls);
    let label = format!("restart over {} ACTIVE objects", count(n));
    rec.row(
        Row::new(&format!("{label}: Creates"), Some(creates as f64), "calls")
            .bound(0.0, "nothing to create")
            .target(Target::Zero)
            .note("Creates from the restart to the end of the steady state"),
    );
    rec.row(
        Row::new(
            &format!("{label}: AWS calls in the first full pass"),
            Some(pass.total as f64),
            "calls",
        )
        .bound(
            pages as f64,
            format!("one List page per 100 objects of each network: {pages}"),
        )
        .target(Target::RatioAtMost(2.0))
        .capped(capped)
        .note(pass.describe()),
    );
    let pass_bound = bounds::restart_pass(pages, RATE);
    rec.row(
        Row::new(
            &format!("{label}: time to the first full pass"),
            Some(secs(t_pass - t_ready)),
            "s",
        )
        .bound(pass_bound, format!("{pages} calls / 20 per s"))
        .target(Target::RatioAtMost(1.1))
        .capped(capped)
        .note(format!(
            "from /readyz (the watch synced, {:.1} s after the start) until the operator's \
             reconciles_total reached {n}{}",
            secs(t_ready - t_spawn),
            pass_timeline(pass_span, t_ready, &seen)
        )),
    );
    rec.phase(
        "restart",
        json!({ "spawnMs": t_spawn, "readyMs": t_ready, "passMs": t_pass, "capped": capped,
                "capS": cap.as_secs(), "calls": pass,
                "firstCallMs": pass_span.map(|s| s.0), "lastCallMs": pass_span.map(|s| s.1),
                "operatorCpuS": seen.cpu_s, "progress": seen.progress, "operator": c_pass, "faults": quota,
                "statusWrites": ControlPlane::writes(&w1, "status") - ControlPlane::writes(&w0, "status"),
                "objectWrites": ControlPlane::writes(&w1, "") - ControlPlane::writes(&w0, "") }),
    );

    // Steady rows.
    let steady = Counts::of(calls::window(&calls, t_s0, t_s1));
    let rounds: Vec<(u64, u64)> = calls::list_rounds(&calls, resync_s * 1000 / 3)
        .into_iter()
        .filter(|r| (t_s0..=t_s1).contains(&r.0))
        .collect();
    let nominal = b.steady.as_secs_f64() / resync_s as f64;
    let (per_resync, rounds_how) = if rounds.is_empty() {
        (
            steady.total as f64 / nominal,
            format!("no List round began in the window; divided by the nominal {nominal:.1} resyncs"),
        )
    } else {
        (
            steady.total as f64 / rounds.len() as f64,
            format!("{} drift-scan rounds (List bursts) began in the window", rounds.len()),
        )
    };
    let per_round: Vec<Value> = rounds
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let end = rounds.get(i + 1).map_or(t_s1, |next| next.0 - 1);
            json!({ "startMs": r.0, "calls": Counts::of(calls::window(&calls, r.0, end)) })
        })
        .collect();
    let writes = ControlPlane::writes(&w2, "status") - ControlPlane::writes(&w1, "status");
    let reconciles = c_end.reconciles - c_pass.reconciles;
    let label = format!(
        "steady, {} ACTIVE objects in {} networks, resync 60 s, {} s",
        count(n),
        topo.networks.len(),
        b.steady.as_secs()
    );
    rec.row(
        Row::new(&format!("{label}: AWS calls per resync"), Some(per_resync), "calls")
            .bound(
                pages as f64,
                format!("one List page per 100 objects of each network: {pages}"),
            )
            .target(Target::RatioAtMost(2.0))
            .note(format!(
                "{} calls in the window; {rounds_how}; {}",
                steady.total,
                steady.describe()
            )),
    );
    rec.row(
        Row::new(&format!("{label}: status writes"), Some(writes), "writes")
            .bound(0.0, "nothing changed")
            .target(Target::Zero)
            .note("apiserver_request_total, /status, PATCH + APPLY + UPDATE"),
    );
    rec.row(
        Row::new(&format!("{label}: reconciles"), Some(reconciles), "reconciles")
            .bound(0.0, "nothing changed")
            .note("the operator's reconciles_total"),
    );
    rec.row(
        Row::new(&format!("{label}: throttled share"), Some(steady.throttled_pct()), "%")
            .note(format!("{} of {} calls", steady.throttled, steady.total)),
    );
    rec.row(
        Row::new(&format!("{} objects: peak RSS of the operator", count(n)), rss, "MiB")
            .target(Target::AtMost(40.0))
            .note(format!(
                "VmHWM of the restarted operator after the restart and the steady state; the seeding \
                 operator (concurrency 32) peaked at {:.1} MiB",
                seed_rss.unwrap_or_default()
            )),
    );
    rec.phase(
        "steady",
        json!({ "startMs": t_s0, "endMs": t_s1, "calls": steady, "rounds": per_round,
                "nominalResyncs": nominal, "statusWrites": writes,
                "objectWrites": ControlPlane::writes(&w2, "") - ControlPlane::writes(&w1, ""),
                "operator": c_end - c_pass, "operatorPeakRssMiB": rss,
                "operatorAwsCallsVsEmulator": { "operator": (c_end - c_pass).aws_calls,
                                                "emulator": steady.total } }),
    );
    let mut by_op: BTreeMap<String, u64> = BTreeMap::new();
    for c in calls::window(&calls, t_spawn, t_s1) {
        *by_op.entry(calls::short(&c.operation)).or_default() += 1;
    }
    rec.phase("restartAndSteadyByOperation", json!(by_op));
    Ok(())
}
