//! The scenarios of issue 8 part 3. Each starts its own control plane, emulator and operator, and
//! records rows (value, bound, target) and the raw numbers behind them into a [`Record`].
//!
//! - `single`: one object with provisioning delay D = 20 s, first ever, then after 20 others.
//! - `burst-1k`: 1,000 objects applied at once against a 20 req/s quota (D = 5 s), then all deleted.
//! - `fleet-10k`: 10,000 ACTIVE objects in 20 networks: the operator restarted over them, then 5
//!   minutes of steady state with a 60 s resync; the operator's peak RSS.
//! - `fair-3k` (issue 10, in [`crate::fair`]): 100 healthy objects applied while 3,000 failing ones
//!   in other namespaces keep the rate limiter busy; the healthy objects' time to Ready.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use rand::Rng;
use serde_json::{Value, json};

use crate::calls::{self, Call, Counts};
use crate::env::{ControlPlane, Emulator, Operator, operator_crd, require_flags};
use crate::model::{Row, Series, Target};
use crate::watch::Watch;
use crate::{Result, now_ms};

/// Every scenario, in the order a full run takes them.
pub const ALL: [&str; 4] = ["single", "burst-1k", "fair-3k", "fleet-10k"];

const NAMESPACE: &str = "bench";
/// How long the single and burst scenarios wait after the operator is ready before their first
/// object: a fresh API server delivers the first watch events of a just-registered CRD ~2 s late.
pub(crate) const FRESH_WATCH_SETTLE: Duration = Duration::from_secs(3);

/// The account's request quota (emulator) and the operator's `--aws-max-rps`, as issue 8 sets it.
pub(crate) const RATE: f64 = 20.0;
/// Objects the bench creates at once (the API server is on the same two cores).
pub(crate) const CREATE_CONCURRENCY: usize = 16;

/// What the whole run shares.
pub struct Bench {
    pub repo: PathBuf,
    pub bin_dir: PathBuf,
    pub work: PathBuf,
    pub scale: f64,
    pub steady: Duration,
}

impl Bench {
    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// `n` divided by the scale knob, at least 1.
    pub(crate) fn scaled(&self, n: usize) -> usize {
        ((n as f64 * self.scale).round() as usize).max(1)
    }
}

/// What a scenario has measured so far (kept when it fails half-way).
#[derive(Default)]
pub struct Record {
    pub config: serde_json::Map<String, Value>,
    pub rows: Vec<Row>,
    pub phases: serde_json::Map<String, Value>,
    pub series: Option<Series>,
}

impl Record {
    pub(crate) fn row(&mut self, row: Row) {
        self.rows.push(row);
    }
    pub(crate) fn phase(&mut self, name: &str, v: Value) {
        self.phases.insert(name.into(), v);
    }
}

/// Progress on stderr, with the scenario's elapsed time.
pub(crate) struct Say {
    pub(crate) scenario: &'static str,
    pub(crate) start: Instant,
}

impl Say {
    pub(crate) fn say(&self, msg: &str) {
        let s = self.start.elapsed().as_secs();
        eprintln!("[{} {:02}:{:02}] {msg}", self.scenario, s / 60, s % 60);
    }
}

pub async fn run(b: &Bench, name: &str, rec: &mut Record) -> Result<()> {
    let dir = b.work.join(name);
    std::fs::create_dir_all(&dir)?;
    match name {
        "single" => single(b, &dir, rec).await,
        "burst-1k" => burst(b, &dir, rec).await,
        "fair-3k" => crate::fair::fair(b, &dir, rec).await,
        "fleet-10k" => fleet(b, &dir, rec).await,
        other => Err(format!("no scenario {other}; scenarios: {}", ALL.join(", ")).into()),
    }
}

/// `1,000`.
pub fn count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(crate) fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// `n` distinct AWS-shaped IDs: `prefix` and 17 of `[0-9a-z]`.
pub(crate) fn ids(prefix: &str, n: usize, taken: &mut HashSet<String>) -> Vec<String> {
    const CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let id: String = std::iter::once(prefix.to_string())
            .chain((0..17).map(|_| (CHARS[rng.random_range(0..CHARS.len())] as char).to_string()))
            .collect();
        if taken.insert(id.clone()) {
            out.push(id);
        }
    }
    out
}

/// Services and networks for the emulator's flags, and the (service, network) pair of each object:
/// object `i` gets network `i % networks` and service `i / networks`, so every pair is unique.
pub(crate) struct Topology {
    pub(crate) services: Vec<String>,
    pub(crate) networks: Vec<String>,
    objects: usize,
}

impl Topology {
    pub(crate) fn new(objects: usize, networks: usize) -> Self {
        Self::new_taking(objects, networks, &mut HashSet::new())
    }

    /// [`Topology::new`], its IDs distinct from those in `taken` (and added to it).
    pub(crate) fn new_taking(objects: usize, networks: usize, taken: &mut HashSet<String>) -> Self {
        let networks = networks.clamp(1, objects.max(1));
        let services = objects.div_ceil(networks);
        Self {
            services: ids("svc-", services, taken),
            networks: ids("sn-", networks, taken),
            objects,
        }
    }

    pub(crate) fn pair(&self, i: usize) -> (&str, &str) {
        let n = self.networks.len();
        (&self.services[i / n], &self.networks[i % n])
    }

    /// Objects per network.
    fn per_network(&self) -> Vec<usize> {
        let n = self.networks.len();
        (0..n).map(|k| (self.objects + n - 1 - k) / n).collect()
    }

    /// List pages one look at every network takes (100 associations a page).
    pub(crate) fn pages(&self) -> usize {
        self.per_network().iter().map(|c| c.div_ceil(100).max(1)).sum()
    }

    pub(crate) fn emulator_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        for (i, s) in self.services.iter().enumerate() {
            a.push("--service".into());
            a.push(format!("{s}=bench-svc-{i}"));
        }
        for (i, n) in self.networks.iter().enumerate() {
            a.push("--service-network".into());
            a.push(format!("{n}=bench-net-{i}"));
        }
        a
    }
}

pub(crate) fn resource() -> ApiResource {
    ApiResource {
        group: "vpclattice.operator.dev".into(),
        version: "v1alpha1".into(),
        api_version: "vpclattice.operator.dev/v1alpha1".into(),
        kind: "ServiceNetworkServiceAssociation".into(),
        plural: "servicenetworkserviceassociations".into(),
    }
}

fn object(name: &str, service: &str, network: &str) -> DynamicObject {
    object_in(NAMESPACE, name, service, network)
}

/// An object of `namespace`.
pub(crate) fn object_in(namespace: &str, name: &str, service: &str, network: &str) -> DynamicObject {
    let mut o = DynamicObject::new(name, &resource()).within(namespace);
    o.data = json!({ "spec": {
        "serviceIdentifier": service,
        "serviceNetworkIdentifier": network,
        "tags": { "bench": "vlo-bench" },
    }});
    o
}

/// A control plane with the namespaces, an emulator and the bench's watch on the objects.
pub(crate) struct Rig {
    pub(crate) cp: ControlPlane,
    pub(crate) emulator: Emulator,
    /// The objects of the first namespace.
    api: Api<DynamicObject>,
    pub(crate) watch: Watch,
    dir: PathBuf,
}

impl Rig {
    /// The rig of one namespace, `bench`, watched alone.
    async fn up(b: &Bench, dir: &Path, say: &Say, emulator_args: &[String]) -> Result<Self> {
        Self::up_in(b, dir, say, emulator_args, &[NAMESPACE]).await
    }

    /// The rig with `namespaces` (at least one): the watch covers that namespace when there is one,
    /// every namespace when there are more.
    pub(crate) async fn up_in(
        b: &Bench,
        dir: &Path,
        say: &Say,
        emulator_args: &[String],
        namespaces: &[&str],
    ) -> Result<Self> {
        let first = *namespaces.first().ok_or("a rig needs a namespace")?;
        say.say("starting a fresh control plane (hack/control-plane.sh up)");
        let (crd, _) = operator_crd(&b.bin("vpc-lattice-operator"), &b.repo)?;
        let cp = ControlPlane::up(&b.repo, &dir.join("cp"), &crd).await?;
        for name in namespaces {
            let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } }))?;
            Api::<Namespace>::all(cp.client.clone())
                .create(&PostParams::default(), &ns)
                .await?;
        }
        say.say("starting the emulator");
        let emulator = Emulator::start(&b.bin("lattice-emulator"), emulator_args, &dir.join("emulator.log")).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(cp.client.clone(), first, &resource());
        let watch = if namespaces.len() == 1 {
            Watch::start(api.clone())
        } else {
            Watch::start(Api::all_with(cp.client.clone(), &resource()))
        };
        wait("the bench's watch to sync", Duration::from_secs(60), || async {
            Ok(watch.synced().then_some(()))
        })
        .await?;
        Ok(Self {
            cp,
            emulator,
            api,
            watch,
            dir: dir.into(),
        })
    }

    /// The operator, watching namespace `bench` only.
    fn operator(&self, b: &Bench, log: &str, args: &[&str]) -> Result<Operator> {
        self.operator_in(b, log, Some(NAMESPACE), args)
    }

    /// The operator, watching `namespace` (`--namespace`), or every namespace when `None`.
    pub(crate) fn operator_in(&self, b: &Bench, log: &str, namespace: Option<&str>, args: &[&str]) -> Result<Operator> {
        let mut all: Vec<String> = namespace
            .map(|ns| vec!["--namespace".into(), ns.into()])
            .unwrap_or_default();
        all.extend(args.iter().map(|a| (*a).to_string()));
        Operator::start(
            &b.bin("vpc-lattice-operator"),
            &self.cp.kubeconfig,
            &self.emulator.api.url,
            &all,
            &self.dir.join(log),
        )
    }

    /// Creates the objects, `CREATE_CONCURRENCY` at a time, each in its own namespace (the rig's
    /// first when it names none); returns when the first create was sent and when the last one was
    /// accepted (Unix ms).
    pub(crate) async fn create(&self, objects: Vec<DynamicObject>) -> Result<(u64, u64)> {
        let start = now_ms();
        futures::stream::iter(objects)
            .map(|o| {
                let api = match o.metadata.namespace.as_deref() {
                    Some(ns) if Some(ns) != self.api.namespace() => {
                        Api::namespaced_with(self.cp.client.clone(), ns, &resource())
                    }
                    _ => self.api.clone(),
                };
                async move { create_one(&api, o).await }
            })
            .buffer_unordered(CREATE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok((start, now_ms()))
    }

    /// Waits until the emulator has had no call for `quiet` (at most `limit`).
    async fn quiet(&self, quiet: Duration, limit: Duration) -> Result<()> {
        let q = quiet.as_millis() as u64;
        wait("the operator to go quiet", limit, || async {
            let calls = self.emulator.api.calls().await?;
            let last = calls.iter().map(Call::at).max().unwrap_or(0);
            Ok((now_ms().saturating_sub(last) >= q).then_some(()))
        })
        .await
    }
}

async fn create_one(api: &Api<DynamicObject>, o: DynamicObject) -> Result<()> {
    let name = o.metadata.name.clone().unwrap_or_default();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match api.create(&PostParams::default(), &o).await {
            Ok(_) => return Ok(()),
            // A retry of a create that did land.
            Err(kube::Error::Api(e)) if e.code == 409 && attempt > 1 => return Ok(()),
            Err(e) if attempt < 6 => {
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
                eprintln!("create {name}: {e}; retrying");
            }
            Err(e) => return Err(format!("create {name}: {e}").into()),
        }
    }
}

/// Polls `check` every 250 ms until it yields a value; fails after `limit`.
pub(crate) async fn wait<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {limit:?} waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every one of `names` passes `done` per the watch, or `limit` passes; keeps the
/// operator checked for life and says progress every 15 s. Returns whether all got there.
pub(crate) async fn wait_all(
    rig: &Rig,
    op: &mut Operator,
    say: &Say,
    what: &str,
    names: &[String],
    limit: Duration,
    gone: bool,
) -> Result<bool> {
    let deadline = Instant::now() + limit;
    let mut next_say = Instant::now() + Duration::from_secs(15);
    loop {
        let n = if gone {
            rig.watch.gone_count(names)
        } else {
            rig.watch.ready_count(names)
        };
        if n == names.len() {
            return Ok(true);
        }
        op.process.check_alive()?;
        if Instant::now() > deadline {
            say.say(&format!(
                "{what}: {n}/{} after {limit:?}: giving up (capped)",
                names.len()
            ));
            return Ok(false);
        }
        if Instant::now() > next_say {
            let calls = op.counters().await.map(|c| c.aws_calls).unwrap_or_default();
            say.say(&format!("{what}: {n}/{} ({calls} AWS calls so far)", names.len()));
            next_say += Duration::from_secs(15);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The calls of `[from, to]` as `[operation, seconds since from, error]`.
fn timeline(calls: &[Call], from: u64, to: u64) -> Vec<Value> {
    calls::window(calls, from, to)
        .iter()
        .map(|c| json!([calls::short(&c.operation), secs(c.at() - from), c.error]))
        .collect()
}

pub(crate) fn emulator_quota_args() -> Vec<String> {
    vec![
        "--request-rate".into(),
        RATE.to_string(),
        "--request-burst".into(),
        (RATE as u32).to_string(),
    ]
}

// ---------------------------------------------------------------------------------------------
// single

async fn single(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
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

// ---------------------------------------------------------------------------------------------
// burst-1k (and the delete of the same objects)

async fn burst(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
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
    let bound = needed as f64 / RATE + d;
    let bound_how = format!(
        "({} Creates + {pages} List pages) / 20 per s + D = {needed} / 20 + 5",
        count(n)
    );
    let names: Vec<String> = (0..n).map(|i| format!("b-{i:05}")).collect();
    let objs = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (svc, sn) = topo.pair(i);
            object(name, svc, sn)
        })
        .collect();
    say.say(&format!("applying {} objects at once", count(n)));
    let (t0, applied) = rig.create(objs).await?;
    say.say(&format!("applied in {:.1} s", secs(applied - t0)));
    let limit = Duration::from_secs_f64((10.0 * bound).max(300.0));
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
    let bound_d = n as f64 / RATE + d;
    let bound_d_how = format!("{} Deletes / 20 per s + D = {} / 20 + 5", count(n), n);
    say.say(&format!("deleting {} objects", count(n)));
    let td0 = now_ms();
    rig.api
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    let limit = Duration::from_secs_f64((10.0 * bound_d).max(300.0));
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

// ---------------------------------------------------------------------------------------------
// fleet-10k: restart over 10,000 ACTIVE objects, steady state, peak RSS

async fn fleet(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
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
    let objs = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (svc, sn) = topo.pair(i);
            object(name, svc, sn)
        })
        .collect();
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
    // The first full pass ends when the operator has reconciled as many times as there are objects
    // (its `reconciles_total`; the family shows only once it has a sample). A retried reconcile
    // counts twice, so this can end the pass early, never late.
    // Cap: twice what a Get and a ListTags per object take at 20 per s (the per-object design).
    let cap = Duration::from_secs_f64((2.0 * 2.0 * n as f64 / RATE).max(300.0));
    let deadline = Instant::now() + cap;
    let mut next_say = Instant::now() + Duration::from_secs(30);
    let (t_pass, capped) = loop {
        op.process.check_alive()?;
        let c = op.counters().await?;
        if c.reconciles >= n as f64 {
            break (now_ms(), false);
        }
        if Instant::now() > deadline {
            break (now_ms(), true);
        }
        if Instant::now() > next_say {
            say.say(&format!(
                "restart pass: {:.0}/{} reconciles, {:.0} AWS calls",
                c.reconciles, n, c.aws_calls
            ));
            next_say += Duration::from_secs(30);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
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
    let pass = Counts::of(calls::window(&calls, t_spawn, t_pass));
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
    let pass_bound = pages as f64 / RATE;
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
             reconciles_total reached {n}",
            secs(t_ready - t_spawn)
        )),
    );
    rec.phase(
        "restart",
        json!({ "spawnMs": t_spawn, "readyMs": t_ready, "passMs": t_pass, "capped": capped,
                "capS": cap.as_secs(), "calls": pass, "operator": c_pass, "faults": quota,
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
