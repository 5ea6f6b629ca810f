//! `single`: one object with provisioning delay D = 20 s, first ever, then after 20 others.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::calls::{self, Counts};
use crate::env::require_flags;
use crate::model::{Row, Target};
use crate::rig::{
    Bench, FRESH_WATCH_SETTLE, RATE, Record, Rig, Say, Topology, emulator_quota_args, object, secs, timeline, wait_all,
};
use crate::{Result, now_ms};

pub(super) async fn single(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
    let say = Say {
        scenario: "single",
        start: Instant::now(),
    };
    require_flags(&b.bin("lattice-emulator"), &["--request-rate", "--request-burst"])?;
    let d_ms: u64 = 20_000;
    let d = secs(d_ms);
    let others = b.scaled(20);
    let topo = Topology::new(others + 2, 1);
    let mut args = topo.emulator_args();
    args.extend(["--provisioning-delay-ms".into(), d_ms.to_string()]);
    args.extend(emulator_quota_args());
    rec.config.insert(
        "single".into(),
        json!({ "provisioningDelayMs": d_ms, "others": others, "networks": 1,
                "quota": { "requestRate": RATE, "requestBurst": RATE } }),
    );
    let rig = Rig::up(b, dir, &say, &args).await?;
    let mut op = rig.operator(b, "operator.log", &["--aws-max-rps", "20"])?;
    rec.config.insert("operatorArgs".into(), json!(op.args));
    op.wait_ready(Duration::from_secs(120)).await?;
    let limit = Duration::from_millis(d_ms * 8);
    // A fresh API server delivers the first watch events of a just-registered CRD ~2 s late (its
    // watch cache is still starting: measured, the operator's reconcile began 2.1 s after an apply
    // made 70 ms after /readyz, 0.01 s once it had run a few seconds). That start-up cost is the
    // API server's, not the poll schedule's this row measures: the object comes once it is over.
    tokio::time::sleep(FRESH_WATCH_SETTLE).await;

    // The first object this operator ever sees.
    say.say("1 object, first ever");
    let (svc, sn) = topo.pair(0);
    let first = vec!["first".to_string()];
    let (t0, _) = rig.create(vec![object("first", svc, sn)]).await?;
    let done = wait_all(&rig, &mut op, &say, "first Ready", &first, limit, false).await?;
    let t_ready = rig.watch.seen(&first)[0].ready_at.unwrap_or_else(now_ms);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let calls = rig.emulator.api.calls().await?;
    let c = Counts::of(calls::window(&calls, t0, t_ready + 5000));
    let took = secs(t_ready - t0);
    say.say(&format!("first: Ready after {took:.1} s, {} AWS calls", c.total));
    rec.row(
        Row::new("1 object, D = 20 s, first ever: apply → Ready", Some(took), "s")
            .bound(d, "D, the provisioning delay")
            .target(Target::RatioAtMost(1.15))
            .capped(!done)
            .note(format!(
                "applied {} s after the operator's /readyz (a just-started API server delivers a new CRD's \
                 first watch events ~2 s late)",
                FRESH_WATCH_SETTLE.as_secs()
            )),
    );
    rec.row(
        Row::new(
            "1 object, D = 20 s, first ever: AWS calls",
            Some(c.total as f64),
            "calls",
        )
        .bound(2.0, "a Create and one read once D has passed")
        .target(Target::AtMost(8.0))
        .note(c.describe()),
    );
    rec.phase(
        "first",
        json!({ "applyMs": t0, "readyMs": t_ready, "calls": c,
                "timeline": timeline(&calls, t0, t_ready + 5000) }),
    );
    if !done {
        return Err("the first object was not Ready within 8 × D; the other phases would not be either".into());
    }

    // Twenty others, so the operator has seen this network provision.
    say.say(&format!("{others} others at once"));
    let names: Vec<String> = (0..others).map(|i| format!("other-{i:02}")).collect();
    let objs = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let (svc, sn) = topo.pair(i + 1);
            object(n, svc, sn)
        })
        .collect();
    let (t1, _) = rig.create(objs).await?;
    let all = wait_all(&rig, &mut op, &say, "others Ready", &names, limit, false).await?;
    let last = rig
        .watch
        .seen(&names)
        .iter()
        .filter_map(|s| s.ready_at)
        .max()
        .unwrap_or(t1);
    rig.quiet(Duration::from_secs(5), Duration::from_secs(120)).await?;
    let calls = rig.emulator.api.calls().await?;
    rec.phase(
        "others",
        json!({ "objects": others, "allReady": all, "applyMs": t1, "lastReadyMs": last,
                "allReadyS": secs(last - t1), "calls": Counts::of(calls::window(&calls, t1, now_ms())) }),
    );

    // One more, in the network the operator has now seen.
    say.say(&format!("1 object after {others} others"));
    let (svc, sn) = topo.pair(others + 1);
    let later = vec!["later".to_string()];
    let (t2, _) = rig.create(vec![object("later", svc, sn)]).await?;
    let done = wait_all(&rig, &mut op, &say, "later Ready", &later, limit, false).await?;
    let t_ready = rig.watch.seen(&later)[0].ready_at.unwrap_or_else(now_ms);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let calls = rig.emulator.api.calls().await?;
    let c = Counts::of(calls::window(&calls, t2, t_ready + 5000));
    let took = secs(t_ready - t2);
    say.say(&format!("later: Ready after {took:.1} s, {} AWS calls", c.total));
    let after = format!("1 object, D = 20 s, after {others} others");
    rec.row(
        Row::new(&format!("{after}: apply → Ready"), Some(took), "s")
            .bound(d, "D, the provisioning delay")
            .target(Target::AtMost(d + 1.0))
            .capped(!done),
    );
    rec.row(
        Row::new(&format!("{after}: AWS calls"), Some(c.total as f64), "calls")
            .bound(2.0, "a Create and one read once D has passed")
            .target(Target::AtMost(5.0))
            .note(c.describe()),
    );
    rec.phase(
        "later",
        json!({ "applyMs": t2, "readyMs": t_ready, "calls": c,
                "timeline": timeline(&calls, t2, t_ready + 5000) }),
    );
    op.process.stop(Duration::from_secs(30));
    Ok(())
}
