//! `scale` (issue 18 part 3): fleets of 1,000, 10,000 and 50,000 ACTIVE objects, 500 to a service
//! network, each on a fresh rig; the operator started over each, and its memory and its first full
//! pass measured against the fleet's size. Seeding through the operator (as `fleet-10k` does) would
//! take most of an hour at 50,000, so every fleet is seeded *straight*: its associations ACTIVE in
//! the emulator through the admin API, with exactly the tags the operator sets (the spec's, the
//! owner `<namespace>/<name>` and the cluster), and its objects created in the API server with the
//! operator's finalizer and given, through the status subresource and under the operator's own field
//! manager, the status the operator writes for a Ready object. So the operator's first pass over
//! them has nothing to write and nothing to create: one List page per 100 objects of each network,
//! and a reconcile per object that finds it in sync. A short steady window follows, for the RSS once
//! the pass is over; then a line is fitted to the peak RSS over the three sizes, and the step from
//! 10,000 to 50,000 set against the slope from 1,000 to 10,000.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::calls::{self, Counts};
use crate::env::{CLUSTER_NAME, ControlPlane};
use crate::model::{Row, ScalePoint, Target};
use crate::rig::{
    Bench, NAMESPACE, RATE, Record, Rig, Say, Topology, count, emulator_quota_args, first_pass, pass_timeline, secs,
    wait,
};
use crate::{Result, bounds, now_ms, prom};

/// The fleet sizes, each on a fresh rig (before `--scale`); the middle one carries the memory target.
const SIZES: [usize; 3] = [1_000, 10_000, 50_000];
/// Objects per service network.
const PER_NETWORK: usize = 500;
/// The operator's peak RSS at 10,000 objects (issue 8): at most this, MiB.
const RSS_TARGET_MIB: f64 = 40.0;
/// Objects created (each then given its status) at once while seeding: enough to keep the API
/// server and etcd busy on two cores, few enough not to queue behind their in-flight limits.
const SEED_CONCURRENCY: usize = 48;
/// Associations per `POST /_emulator/associations` (the emulator holds its lock for a request).
const SEED_CHUNK: usize = 1000;
/// The operator's finalizer (`FINALIZER` in src/api.rs; the bench depends on no crate of the
/// workspace, so it is spelled out), its owner tag and its cluster tag.
const FINALIZER: &str = "vpclattice.operator.dev/association-cleanup";
const OWNER_TAG: &str = "vpclattice.operator.dev/owner";
const CLUSTER_TAG: &str = "vpclattice.operator.dev/cluster";
/// The operator's field manager (`FIELD_MANAGER` in src/lib.rs): the seeded status is applied
/// under it, so the operator's own later applies own the same fields.
const FIELD_MANAGER: &str = "vpc-lattice-operator";
const RESYNC_S: u64 = 60;

pub(super) async fn scale(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
    let say = Say {
        scenario: "scale",
        start: Instant::now(),
    };
    let sizes = SIZES.map(|n| b.scaled(n));
    rec.config.insert(
        "scale".into(),
        json!({ "sizes": sizes, "perNetwork": PER_NETWORK,
                "networks": sizes.map(|n| bounds::networks_for(n, PER_NETWORK)),
                "quota": { "requestRate": RATE, "requestBurst": RATE },
                "resyncS": RESYNC_S, "steadyS": b.scale_steady.as_secs(),
                "seedConcurrency": SEED_CONCURRENCY, "seedChunk": SEED_CHUNK,
                "seed": "straight: associations ACTIVE through POST /_emulator/associations with the \
                         operator's tags; objects created with its finalizer, then their Ready status \
                         applied through the status subresource under its field manager" }),
    );
    for (i, n) in sizes.into_iter().enumerate() {
        let sub = dir.join(format!("n{n}"));
        std::fs::create_dir_all(&sub)?;
        let point = one(b, &sub, &say, rec, n, i == 1).await?;
        rec.sizes.push(point);
    }
    fit_rows(rec, &sizes);
    Ok(())
}

/// The status the operator writes for a Ready object (src/reconcile/status.rs `record` and
/// `conditions`, outcome `in_sync`): the association's fields as AWS reports them (`association`,
/// as the emulator's admin API answers), the client token of the first create (`<uid>-0`), the
/// generation's tags verified, and the three kstatus conditions with reason `Active`.
pub(crate) fn ready_status(association: &Value, uid: &str, generation: i64, now: &str) -> Value {
    let id = association["id"].as_str().unwrap_or_default();
    let message = format!("association {id} is ACTIVE and its tags match");
    let condition = |type_: &str, on: bool| {
        json!({ "type": type_, "status": if on { "True" } else { "False" }, "reason": "Active",
                "message": message, "observedGeneration": generation, "lastTransitionTime": now })
    };
    let mut status = json!({
        "id": id,
        "arn": association["arn"],
        "associationStatus": association["status"],
        "clientToken": format!("{uid}-0"),
        "recreateAttempts": 0,
        "tagsSyncedGeneration": generation,
        "observedGeneration": generation,
        "conditions": [condition("Ready", true), condition("Reconciling", false), condition("Stalled", false)],
    });
    for field in [
        "createdBy",
        "customDomainName",
        "dnsEntry",
        "serviceId",
        "serviceArn",
        "serviceName",
        "serviceNetworkId",
        "serviceNetworkArn",
        "serviceNetworkName",
        "failureCode",
        "failureMessage",
    ] {
        if let Some(v) = association.get(field) {
            status[field] = v.clone();
        }
    }
    status
}

/// The tags the operator sets on an object's association: the spec's and its two ownership tags.
fn tags_of(o: &DynamicObject) -> Value {
    let mut tags = o.data.pointer("/spec/tags").cloned().unwrap_or_else(|| json!({}));
    let owner = format!(
        "{}/{}",
        o.metadata.namespace.as_deref().unwrap_or(NAMESPACE),
        o.metadata.name.as_deref().unwrap_or_default()
    );
    tags[OWNER_TAG] = json!(owner);
    tags[CLUSTER_TAG] = json!(CLUSTER_NAME);
    tags
}

/// Sends one request of the seeding, retrying it a few times (`what` names it in messages).
async fn retried<T, F, Fut>(what: &str, mut send: F) -> Result<T>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = std::result::Result<T, kube::Error>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match send(attempt).await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < 6 => {
                eprintln!("{what}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => return Err(format!("{what}: {e}").into()),
        }
    }
}

/// Creates `o` with the finalizer; returns its uid and generation.
async fn create(api: &Api<DynamicObject>, mut o: DynamicObject) -> Result<(String, i64)> {
    o.metadata.finalizers = Some(vec![FINALIZER.to_string()]);
    let name = o.metadata.name.clone().unwrap_or_default();
    let created = retried(&format!("seed create {name}"), |attempt| {
        let (api, o, name) = (api, &o, &name);
        async move {
            match api.create(&PostParams::default(), o).await {
                // A retry of a create that did land.
                Err(kube::Error::Api(e)) if e.code == 409 && attempt > 1 => api.get(name).await,
                other => other,
            }
        }
    })
    .await?;
    Ok((
        created.metadata.uid.unwrap_or_default(),
        created.metadata.generation.unwrap_or(1),
    ))
}

/// Applies `status` to the object `name` through the status subresource, under the operator's
/// field manager.
async fn apply_status(api: &Api<DynamicObject>, name: &str, status: Value) -> Result<()> {
    let patch = json!({
        "apiVersion": "vpclattice.operator.dev/v1alpha1",
        "kind": "ServiceNetworkServiceAssociation",
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let patch = Patch::Apply(&patch);
    retried(&format!("seed status {name}"), |_| {
        api.patch_status(name, &params, &patch)
    })
    .await?;
    Ok(())
}

/// What seeding one fleet took (Unix ms).
struct Seeded {
    start: u64,
    emulator_done: u64,
    created: u64,
    statuses_start: u64,
    api_done: u64,
    all_ready_seen: u64,
}

/// Runs `f` over `items`, [`SEED_CONCURRENCY`] at a time, saying progress every tenth; returns
/// the results in the order of `items`.
async fn in_flight<I, T, F, Fut>(say: &Say, what: &str, items: Vec<I>, f: F) -> Result<Vec<T>>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let n = items.len();
    let start = now_ms();
    let done = AtomicUsize::new(0);
    let every = (n / 10).max(1);
    futures::stream::iter(items)
        .map(|item| {
            let fut = f(item);
            let done = &done;
            async move {
                let v = fut.await?;
                let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                if k.is_multiple_of(every) && k < n {
                    say.say(&format!(
                        "{what}: {}/{} ({:.0} per s)",
                        count(k),
                        count(n),
                        k as f64 / secs(now_ms() - start).max(0.001)
                    ));
                }
                Ok::<T, crate::Error>(v)
            }
        })
        .buffered(SEED_CONCURRENCY)
        .try_collect()
        .await
}

/// The associations of `objects`, seeded ACTIVE into the emulator [`SEED_CHUNK`] at a time, in
/// their order; and when that was done (Unix ms).
async fn seed_emulator(rig: &Rig, objects: &[DynamicObject]) -> Result<(Vec<Value>, u64)> {
    let mut associations = Vec::with_capacity(objects.len());
    for chunk in objects.chunks(SEED_CHUNK) {
        let items: Vec<Value> = chunk
            .iter()
            .map(|o| {
                json!({ "serviceNetworkIdentifier": o.data["spec"]["serviceNetworkIdentifier"],
                        "serviceIdentifier": o.data["spec"]["serviceIdentifier"],
                        "tags": tags_of(o) })
            })
            .collect();
        associations.extend(rig.emulator.api.seed_associations(&items).await?);
    }
    Ok((associations, now_ms()))
}

/// Seeds the fleet straight: the associations into the emulator and, alongside, the objects into
/// the API server; then the objects' status, [`SEED_CONCURRENCY`] requests at a time; returns once
/// the bench's watch has seen every object Ready.
async fn seed(rig: &Rig, say: &Say, objects: Vec<DynamicObject>, names: &[String]) -> Result<Seeded> {
    let n = objects.len();
    let start = now_ms();
    let api = &rig.api;
    let creates = async {
        let made = in_flight(say, "objects created", objects.clone(), |o| create(api, o)).await?;
        Ok::<_, crate::Error>((made, now_ms()))
    };
    let ((associations, emulator_done), (made, created)) = futures::try_join!(seed_emulator(rig, &objects), creates)?;
    say.say(&format!(
        "seeded {} ACTIVE associations into the emulator in {:.1} s and, alongside, created the objects in \
         {:.1} s ({:.0} per s)",
        count(n),
        secs(emulator_done - start),
        secs(created - start),
        n as f64 / secs(created - start).max(0.001)
    ));
    let statuses_start = now_ms();
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let statuses: Vec<(&String, Value)> = names
        .iter()
        .zip(made.iter().zip(&associations))
        .map(|(name, ((uid, generation), a))| (name, ready_status(a, uid, *generation, &now)))
        .collect();
    in_flight(say, "statuses applied", statuses, |(name, status)| {
        apply_status(api, name, status)
    })
    .await?;
    let api_done = now_ms();
    say.say(&format!(
        "applied {} statuses in {:.1} s ({:.0} per s)",
        count(n),
        secs(api_done - statuses_start),
        n as f64 / secs(api_done - statuses_start).max(0.001)
    ));
    let limit = Duration::from_secs_f64((n as f64 / 100.0).max(120.0));
    wait("the bench's watch to see every seeded object Ready", limit, || async {
        Ok((rig.watch.ready_count(names) == n).then_some(()))
    })
    .await?;
    Ok(Seeded {
        start,
        emulator_done,
        created,
        statuses_start,
        api_done,
        all_ready_seen: now_ms(),
    })
}

/// etcd's database size as the API server reports it (for the record: what 50,000 objects weigh).
/// (Its per-resource object count, `apiserver_resource_objects`, stays 0 for the custom resource
/// here, so it is not kept.)
fn etcd_bytes(samples: &[prom::Sample]) -> f64 {
    prom::sum(samples, "apiserver_storage_size_bytes", |_| true)
}

/// One fleet size on its fresh rig: seed, start the operator, its first full pass, the steady
/// window; its rows; `target`: the size the memory target is for.
async fn one(b: &Bench, dir: &Path, say: &Say, rec: &mut Record, n: usize, target: bool) -> Result<ScalePoint> {
    let topo = Topology::new(n, bounds::networks_for(n, PER_NETWORK));
    let networks = topo.networks.len();
    let pages = topo.pages();
    let mut args = topo.emulator_args();
    args.extend(emulator_quota_args());
    let rig = Rig::up(b, dir, say, &args).await?;
    let names: Vec<String> = (0..n).map(|i| format!("s-{i:05}")).collect();
    let in_networks = format!("{networks} network{}", if networks == 1 { "" } else { "s" });
    say.say(&format!(
        "seeding {} ACTIVE objects in {in_networks} straight ({SEED_CONCURRENCY} requests in flight)",
        count(n)
    ));
    let s = seed(&rig, say, topo.objects(&names), &names).await?;
    let seed_s = secs(s.all_ready_seen - s.start);
    let seeding = format!(
        "{} associations into the emulator in {:.1} s and, alongside, {} objects created with the \
         finalizer in {:.1} s ({:.0} per s); their statuses applied in {:.1} s ({:.0} per s); \
         {SEED_CONCURRENCY} requests in flight; all seen Ready {:.1} s later",
        count(n),
        secs(s.emulator_done - s.start),
        count(n),
        secs(s.created - s.start),
        n as f64 / secs(s.created - s.start).max(0.001),
        secs(s.api_done - s.statuses_start),
        n as f64 / secs(s.api_done - s.statuses_start).max(0.001),
        secs(s.all_ready_seen - s.api_done)
    );
    say.say(&format!("seeded in {seed_s:.1} s: {seeding}"));
    let seeded_calls = rig.emulator.api.calls().await?.len();
    rig.emulator.api.clear().await?;

    // The measured operator, over the seeded fleet.
    let w0 = rig.cp.metrics().await?;
    let resync = format!("{RESYNC_S}s");
    let mut op = rig.operator(
        b,
        "operator.log",
        &["--aws-max-rps", "20", "--resync-interval", &resync],
    )?;
    rec.config.insert("operatorArgs".into(), json!(op.args));
    let t_spawn = op.process.spawned_at;
    let t_ready = op.wait_ready(Duration::from_secs(600)).await?;
    say.say(&format!(
        "operator ready {:.1} s after its start",
        secs(t_ready - t_spawn)
    ));
    let pass_bound = bounds::restart_pass(pages, RATE);
    let cap = Duration::from_secs_f64((10.0 * pass_bound).max(300.0).max(n as f64 / 100.0));
    // Looked at every 100 ms: the smallest fleet's bound is half a second.
    let every = (Duration::from_secs(15), Duration::from_millis(100));
    let seen = first_pass(&mut op, say, n, cap, every).await?;
    let (t_pass, capped) = (seen.at, seen.capped);
    let c_pass = op.counters().await?;
    let w1 = rig.cp.metrics().await?;
    let pass_rss = op.peak_rss_mib();
    let pass_s = secs(t_pass - t_ready);
    say.say(&format!(
        "first full pass {} {pass_s:.1} s after ready (bound {pass_bound:.1} s); steady for {} s",
        if capped { "not done" } else { "done" },
        b.scale_steady.as_secs()
    ));

    // The steady window.
    let t_s0 = now_ms();
    let steady_end = Instant::now() + b.scale_steady;
    while Instant::now() < steady_end {
        op.process.check_alive()?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let t_s1 = now_ms();
    let c_end = op.counters().await?;
    let w2 = rig.cp.metrics().await?;
    let peak = op.peak_rss_mib();
    let end_rss = op.process.status_kib("VmRSS").map(|k| k as f64 / 1024.0);
    let calls = rig.emulator.api.calls().await?;
    op.process.stop(Duration::from_secs(30));

    let pass_calls = calls::window(&calls, t_spawn, t_pass);
    let pass_span = calls::span(&pass_calls);
    let pass = Counts::of(pass_calls);
    let steady = Counts::of(calls::window(&calls, t_s0, t_s1));
    let creates = Counts::of(calls::window(&calls, t_spawn, t_s1)).op("Create");
    let status_writes = ControlPlane::writes(&w1, "status") - ControlPlane::writes(&w0, "status");
    let object_writes = ControlPlane::writes(&w1, "") - ControlPlane::writes(&w0, "");
    let steady_writes = ControlPlane::writes(&w2, "status") - ControlPlane::writes(&w1, "status");
    say.say(&format!(
        "{} AWS calls in the pass ({}), {status_writes} status writes, {creates} Creates; peak RSS {:.1} MiB, \
         {:.1} MiB at the end",
        pass.total,
        pass.describe(),
        peak.unwrap_or_default(),
        end_rss.unwrap_or_default()
    ));

    let label = format!("{} ACTIVE objects in {in_networks}", count(n));
    rec.row(
        Row::new(&format!("{label}: seeded straight"), Some(seed_s), "s")
            .note(format!("set-up, not a target: {seeding}")),
    );
    rec.row(
        Row::new(&format!("{label}: time to the first full pass"), Some(pass_s), "s")
            .bound(pass_bound, format!("{pages} List pages / 20 per s"))
            .target(Target::RatioAtMost(1.2))
            .capped(capped)
            .note(format!(
                "target ≤ 1.2 × bound; from /readyz (the watch synced, {:.1} s after the start) until the \
                 operator's reconciles_total reached {n}{}",
                secs(t_ready - t_spawn),
                pass_timeline(pass_span, t_ready, &seen)
            )),
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
        .note(format!("target ≤ 2 × bound; {}", pass.describe())),
    );
    rec.row(
        Row::new(
            &format!("{label}: status writes in the first full pass"),
            Some(status_writes),
            "writes",
        )
        .bound(0.0, "every status already says what the operator would write")
        .target(Target::Zero)
        .capped(capped)
        .note(format!(
            "apiserver_request_total, /status, PATCH + APPLY + UPDATE; object writes (finalizers) {object_writes}; \
             Creates from the start to the end of the steady window {creates}"
        )),
    );
    let mut rss_row = Row::new(&format!("{label}: peak RSS of the operator"), peak, "MiB").note(format!(
        "VmHWM after the first pass and the {} s steady window ({:.1} MiB at the end of the pass)",
        b.scale_steady.as_secs(),
        pass_rss.unwrap_or_default()
    ));
    if target {
        rss_row = rss_row.target(Target::AtMost(RSS_TARGET_MIB));
    }
    rec.row(rss_row);
    rec.row(
        Row::new(
            &format!("{label}: peak RSS per object"),
            peak.map(|m| m * 1024.0 / n as f64),
            "KiB",
        )
        .note("peak RSS / objects, the fixed part included (the slope below is the part that grows)"),
    );
    rec.row(
        Row::new(
            &format!(
                "{label}: RSS at the end of the {} s steady window",
                b.scale_steady.as_secs()
            ),
            end_rss,
            "MiB",
        )
        .note(format!(
            "VmRSS; {} AWS calls ({}), {steady_writes} status writes, {:.0} reconciles in the window",
            steady.total,
            steady.describe(),
            (c_end - c_pass).reconciles
        )),
    );
    rec.phase(
        &format!("{n} objects"),
        json!({ "objects": n, "networks": networks, "services": topo.services.len(), "listPagesPerLook": pages,
                "seed": { "startMs": s.start, "emulatorDoneMs": s.emulator_done, "createdMs": s.created,
                          "statusesStartMs": s.statuses_start, "apiDoneMs": s.api_done,
                          "allReadySeenMs": s.all_ready_seen, "callsLogged": seeded_calls },
                "etcdDbBytes": { "beforeStart": etcd_bytes(&w0), "afterSteady": etcd_bytes(&w2) },
                "pass": { "spawnMs": t_spawn, "readyMs": t_ready, "passMs": t_pass, "capped": capped,
                          "capS": cap.as_secs(), "boundS": pass_bound, "calls": pass, "operator": c_pass,
                          "statusWrites": status_writes, "objectWrites": object_writes,
                          "operatorPeakRssMiB": pass_rss, "operatorCpuS": seen.cpu_s, "progress": seen.progress,
                          "firstCallMs": pass_span.map(|s| s.0), "lastCallMs": pass_span.map(|s| s.1) },
                "steady": { "startMs": t_s0, "endMs": t_s1, "calls": steady, "statusWrites": steady_writes,
                            "objectWrites": ControlPlane::writes(&w2, "") - ControlPlane::writes(&w1, ""),
                            "operator": c_end - c_pass },
                "creates": creates, "operatorPeakRssMiB": peak, "operatorEndRssMiB": end_rss }),
    );
    Ok(ScalePoint {
        objects: n,
        networks,
        peak_rss_mib: peak,
        end_rss_mib: end_rss,
        pass_s,
        pass_capped: capped,
        pass_bound_s: pass_bound,
    })
}

/// The rows across sizes: the least-squares line of peak RSS over the fleet size, and whether the
/// cost per object from the middle size to the largest stays within 1.2 × the slope below it.
fn fit_rows(rec: &mut Record, sizes: &[usize; 3]) {
    let points: Vec<(f64, f64)> = rec
        .sizes
        .iter()
        .filter_map(|p| Some((p.objects as f64, p.peak_rss_mib?)))
        .collect();
    let over = sizes.map(count).join(", ");
    let fit = (points.len() == 3).then(|| bounds::fit_line(&points)).flatten();
    rec.row(
        Row::new(
            &format!("peak RSS = a + b·N over {over} objects: slope b"),
            fit.map(|(_, b)| b * 1024.0),
            "KiB/object",
        )
        .note(fit.map_or_else(
            || "not measured at every size".to_string(),
            |(a, _)| format!("least squares over the three sizes' peak RSS; intercept a = {a:.1} MiB"),
        )),
    );
    rec.row(
        Row::new(
            &format!("peak RSS = a + b·N over {over} objects: intercept a"),
            fit.map(|(a, _)| a),
            "MiB",
        )
        .note("the RSS the fitted line gives an operator with no objects"),
    );
    let (step, below) = match points.as_slice() {
        [p0, p1, p2] => (bounds::slope(*p1, *p2), bounds::slope(*p0, *p1)),
        _ => (None, None),
    };
    let mut row = Row::new(
        &format!(
            "no step: peak RSS per added object from {} to {} objects",
            count(sizes[1]),
            count(sizes[2])
        ),
        step.map(|b| b * 1024.0),
        "KiB/object",
    )
    .target(Target::RatioAtMost(1.2))
    .note("target ≤ 1.2 × the slope below it");
    if let Some(below) = below {
        row = row.bound(
            below * 1024.0,
            format!(
                "the slope from {} to {} objects: (peak RSS({}) − peak RSS({})) / {}",
                count(sizes[0]),
                count(sizes[1]),
                count(sizes[1]),
                count(sizes[0]),
                count(sizes[1] - sizes[0])
            ),
        );
    }
    rec.row(row);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rig::object;

    #[test]
    fn the_seeded_status_is_the_one_the_operator_writes_for_a_ready_object() {
        let a = json!({ "id": "snsa-0123456789abcdef0", "arn": "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef0",
                        "status": "ACTIVE", "createdBy": "111122223333", "serviceId": "svc-1",
                        "serviceName": "s", "dnsEntry": { "domainName": "d", "hostedZoneId": "Z" } });
        let s = ready_status(&a, "u-1", 3, "2026-01-01T00:00:00Z");
        assert_eq!(s["associationStatus"], "ACTIVE");
        assert_eq!(s["clientToken"], "u-1-0", "the first create's token");
        assert_eq!(s["observedGeneration"], 3);
        assert_eq!(s["tagsSyncedGeneration"], 3);
        assert_eq!(s["dnsEntry"]["hostedZoneId"], "Z");
        assert_eq!(s["createdBy"], "111122223333");
        assert!(s.get("customDomainName").is_none(), "absent fields stay absent");
        let conditions = s["conditions"].as_array().unwrap();
        let on: Vec<&str> = conditions
            .iter()
            .filter(|c| c["status"] == "True")
            .map(|c| c["type"].as_str().unwrap())
            .collect();
        assert_eq!(on, ["Ready"]);
        assert!(conditions.iter().all(|c| c["reason"] == "Active"
            && c["message"] == "association snsa-0123456789abcdef0 is ACTIVE and its tags match"
            && c["observedGeneration"] == 3));
    }

    #[test]
    fn the_seeded_tags_are_the_spec_s_and_the_ownership_tags() {
        let o = object("s-00001", "svc-a", "sn-b");
        let tags = tags_of(&o);
        assert_eq!(tags[OWNER_TAG], "bench/s-00001");
        assert_eq!(tags[CLUSTER_TAG], CLUSTER_NAME);
        assert_eq!(tags["bench"], "vlo-bench", "the spec's tags too");
        assert_eq!(tags.as_object().unwrap().len(), 3);
    }
}
