//! What every scenario stands on: the run's settings ([`Bench`]), what a scenario has measured
//! ([`Record`]), progress lines ([`Say`]), the services and networks of a run ([`Topology`]), and the
//! rig of a fresh control plane, an emulator and the bench's watch ([`Rig`]), with the waits and the
//! object builders the scenarios share.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use rand::Rng;
use serde_json::{Value, json};

use crate::bounds;
use crate::calls::{self, Call};
use crate::env::{ControlPlane, Emulator, Operator, operator_crd};
use crate::model::{RateSeries, Row, ScalePoint, Series};
use crate::watch::Watch;
use crate::{Result, now_ms};

/// The namespace of the single, burst and fleet scenarios' objects.
pub(crate) const NAMESPACE: &str = "bench";
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
    /// fleet-10k's steady-state window.
    pub steady: Duration,
    /// scale's steady window after each size's first full pass.
    pub scale_steady: Duration,
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
    pub rates: Option<RateSeries>,
    pub sizes: Vec<ScalePoint>,
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

    /// The objects named `names` in namespace [`NAMESPACE`], object `i` given pair `i`.
    pub(crate) fn objects(&self, names: &[String]) -> Vec<DynamicObject> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let (svc, sn) = self.pair(i);
                object(name, svc, sn)
            })
            .collect()
    }

    /// Objects per network ([`bounds::per_network`]).
    pub(crate) fn per_network(&self) -> Vec<usize> {
        bounds::per_network(self.objects, self.networks.len())
    }

    /// List pages one look at every network takes ([`bounds::pages`]).
    pub(crate) fn pages(&self) -> usize {
        bounds::pages(self.objects, self.networks.len())
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

/// An object of namespace [`NAMESPACE`].
pub(crate) fn object(name: &str, service: &str, network: &str) -> DynamicObject {
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
    pub(crate) api: Api<DynamicObject>,
    pub(crate) watch: Watch,
    dir: PathBuf,
}

impl Rig {
    /// The rig of one namespace, `bench`, watched alone.
    pub(crate) async fn up(b: &Bench, dir: &Path, say: &Say, emulator_args: &[String]) -> Result<Self> {
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
    pub(crate) fn operator(&self, b: &Bench, log: &str, args: &[&str]) -> Result<Operator> {
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
    pub(crate) async fn quiet(&self, quiet: Duration, limit: Duration) -> Result<()> {
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
/// Waits for the operator's first full pass over `n` objects: until its `reconciles_total` reaches
/// `n` (the family shows only once it has a sample; a retried reconcile counts twice, so this can
/// end the pass early, never late), or `cap` passes. Says the progress every `every`, looks every
/// `poll`. Returns when it ended (Unix ms) and whether the cap ended it.
pub(crate) async fn first_pass(
    op: &mut Operator,
    say: &Say,
    n: usize,
    cap: Duration,
    (every, poll): (Duration, Duration),
) -> Result<Pass> {
    let deadline = Instant::now() + cap;
    let mut next_say = Instant::now() + every;
    let mut progress = Vec::new();
    let cpu_start = op.process.cpu_s();
    loop {
        op.process.check_alive()?;
        let c = op.counters().await?;
        let at = now_ms();
        progress.push((at, c.reconciles as u64, c.aws_calls as u64));
        if c.reconciles >= n as f64 || Instant::now() > deadline {
            let capped = c.reconciles < n as f64;
            let cpu_s = op.process.cpu_s().zip(cpu_start).map(|(end, start)| end - start);
            return Ok(Pass {
                at,
                capped,
                progress,
                cpu_s,
            });
        }
        if Instant::now() > next_say {
            say.say(&format!(
                "first pass: {:.0}/{} reconciles, {:.0} AWS calls",
                c.reconciles, n, c.aws_calls
            ));
            next_say += every;
        }
        tokio::time::sleep(poll).await;
    }
}

/// A restart's first full pass as [`first_pass`] saw it.
pub(crate) struct Pass {
    /// When the count was seen complete (or the cap was reached), Unix ms.
    pub at: u64,
    /// The cap was reached first.
    pub capped: bool,
    /// Each look: when (Unix ms), the operator's reconciles and AWS calls so far.
    pub progress: Vec<(u64, u64, u64)>,
    /// The operator's CPU time over the pass, in seconds (when `/proc` tells).
    pub cpu_s: Option<f64>,
}

/// Where a restart's first full pass spent its time: its first AWS call after `/readyz` (`ready`),
/// its last before the pass was seen complete, and the operator's CPU time over it (empty when
/// unknown).
pub(crate) fn pass_timeline(span: Option<(u64, u64)>, ready: u64, pass: &Pass) -> String {
    let mut out = String::new();
    if let Some((first, last)) = span {
        out += &format!(
            "; its first AWS call {:.2} s after /readyz, its last {:.2} s before the pass was seen \
             complete",
            secs(first.saturating_sub(ready)),
            secs(pass.at.saturating_sub(last))
        );
    }
    if let Some(cpu) = pass.cpu_s {
        out += &format!("; the operator's CPU time over it {cpu:.2} s");
    }
    out
}

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
pub(crate) fn timeline(calls: &[Call], from: u64, to: u64) -> Vec<Value> {
    calls::window(calls, from, to)
        .iter()
        .map(|c| json!([calls::short(&c.operation), secs(c.at() - from), c.error]))
        .collect()
}

/// The emulator's flags for a quota of [`RATE`] requests per second, burst as many.
pub(crate) fn emulator_quota_args() -> Vec<String> {
    quota_args(RATE)
}

/// The emulator's flags for a quota of `rate` requests per second, burst as many.
pub(crate) fn quota_args(rate: f64) -> Vec<String> {
    vec![
        "--request-rate".into(),
        rate.to_string(),
        "--request-burst".into(),
        (rate as u32).to_string(),
    ]
}
