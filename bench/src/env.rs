//! The processes a scenario runs: a fresh control plane (`hack/control-plane.sh up … --owner-pid`),
//! the release `lattice-emulator` and the release `vpc-lattice-operator`, each on loopback, each
//! logging into the scenario's work directory. Every child's pid is registered so that a deadline,
//! a signal or a panic stops exactly the processes this bench started (by pid), and nothing else.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::Client;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::{Error, Result, loopback, now_ms, prom};

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn register(pid: u32) {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).push(pid);
}

fn unregister(pid: u32) {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).retain(|p| *p != pid);
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Stops every child still registered (SIGTERM, then SIGKILL after 3 s). For the deadline, signal and
/// panic paths; the normal path stops each child itself.
pub fn stop_children() {
    let pids: Vec<u32> = CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for p in &pids {
        signal(*p, "-TERM");
    }
    std::thread::sleep(Duration::from_secs(3));
    for p in &pids {
        if Path::new(&format!("/proc/{p}")).exists() {
            signal(*p, "-KILL");
        }
    }
}

/// The last `n` lines of a log, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `sysconf(_SC_CLK_TCK)`: 100 on Linux for every architecture the bench runs on.
const CLOCK_TICKS: f64 = 100.0;

/// A running child process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Process {
    child: Child,
    pub name: String,
    pub log: PathBuf,
    pub spawned_at: u64,
}

impl Process {
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Result<Self> {
        let out = File::create(log)?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("start {name}: {e}"))?;
        register(child.id());
        Ok(Self {
            child,
            name: name.into(),
            log: log.into(),
            spawned_at: now_ms(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the log's tail if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            return Err(format!(
                "{} exited ({status}); last lines of {}:\n{}",
                self.name,
                self.log.display(),
                tail(&self.log, 30)
            )
            .into());
        }
        Ok(())
    }

    /// A line of `/proc/<pid>/status` in KiB (`VmHWM`, `VmRSS`).
    pub fn status_kib(&self, field: &str) -> Option<u64> {
        let text = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    }

    /// CPU time the process has used so far (user + system, `/proc/<pid>/stat`), in seconds.
    pub fn cpu_s(&self) -> Option<f64> {
        let text = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // The fields after the command's name, which is in parentheses and may hold spaces.
        let rest = text.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3.
        let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / CLOCK_TICKS)
    }

    /// SIGTERM, then SIGKILL after `grace`. Returns how long the exit took.
    pub fn stop(&mut self, grace: Duration) -> Duration {
        let start = Instant::now();
        if matches!(self.child.try_wait(), Ok(None)) {
            signal(self.pid(), "-TERM");
            while start.elapsed() < grace {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        unregister(self.pid());
        start.elapsed()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Runs `hack/control-plane.sh down DIR` when dropped, and frees the etcd data (the logs stay).
struct Down {
    repo: PathBuf,
    dir: PathBuf,
}

impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(self.repo.join("hack/control-plane.sh"))
            .arg("down")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(self.dir.join("etcd-data"));
    }
}

/// A fresh etcd + kube-apiserver on loopback, with the CRD installed; stopped when dropped.
pub struct ControlPlane {
    pub kubeconfig: PathBuf,
    pub client: Client,
    _down: Down,
}

impl ControlPlane {
    /// Starts it and installs `crd` (the YAML of the CRD the measured operator binary prints).
    pub async fn up(repo: &Path, dir: &Path, crd: &str) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let log = dir.with_extension("log");
        let down = Down {
            repo: repo.into(),
            dir: dir.into(),
        };
        let out = tokio::task::block_in_place(|| {
            Command::new("bash")
                .arg(repo.join("hack/control-plane.sh"))
                .arg("up")
                .arg(dir)
                .args(["--owner-pid", &std::process::id().to_string()])
                .stdin(Stdio::null())
                .stderr(File::create(&log)?)
                .output()
        })?;
        if !out.status.success() {
            return Err(format!(
                "hack/control-plane.sh up failed; {}:\n{}",
                log.display(),
                tail(&log, 40)
            )
            .into());
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let kubeconfig = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        let kc = Kubeconfig::read_from(&kubeconfig)?;
        let mut config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
        config.read_timeout = Some(Duration::from_secs(120));
        let cp = Self {
            client: Client::try_from(config)?,
            kubeconfig,
            _down: down,
        };
        cp.kubectl_with(&["apply", "-f", "-"], Some(crd))?;
        cp.kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=120s",
            "crd/servicenetworkserviceassociations.vpclattice.operator.dev",
        ])?;
        Ok(cp)
    }

    pub fn kubectl(&self, args: &[&str]) -> Result<String> {
        self.kubectl_with(args, None)
    }

    /// kubectl against this control plane, fed `stdin`.
    pub fn kubectl_with(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let out = tokio::task::block_in_place(|| {
            let mut child = Command::new("kubectl")
                .env("KUBECONFIG", &self.kubeconfig)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()?;
            let mut input = child.stdin.take().ok_or("kubectl has no stdin")?;
            std::io::Write::write_all(&mut input, stdin.unwrap_or_default().as_bytes())?;
            drop(input);
            Ok::<_, Error>(child.wait_with_output()?)
        })?;
        if !out.status.success() {
            return Err(format!("kubectl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The API server's `/metrics`, read with the admin kubeconfig's credentials.
    pub async fn metrics(&self) -> Result<Vec<prom::Sample>> {
        let req = ::http::Request::get("/metrics").body(Vec::new())?;
        Ok(prom::parse(&self.client.request_text(req).await?))
    }

    /// Writes to the objects (`subresource` "status", or "" for the objects themselves: finalizers).
    pub fn writes(samples: &[prom::Sample], subresource: &str) -> f64 {
        prom::sum(samples, "apiserver_request_total", |l| {
            l.get("resource").map(String::as_str) == Some("servicenetworkserviceassociations")
                && l.get("subresource").map_or("", String::as_str) == subresource
                && matches!(l.get("verb").map(String::as_str), Some("PATCH" | "APPLY" | "UPDATE"))
        })
    }
}

/// The CRD the operator binary prints (`vpc-lattice-operator crd`), and whether it is the one in
/// crds/ (it is, in any committed tree: a test fails while they differ).
pub fn operator_crd(bin: &Path, repo: &Path) -> Result<(String, bool)> {
    let out = Command::new(bin)
        .arg("crd")
        .output()
        .map_err(|e| format!("run {} crd: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!("{} crd failed", bin.display()).into());
    }
    let crd = String::from_utf8(out.stdout)?;
    let tree =
        std::fs::read_to_string(repo.join("crds/servicenetworkserviceassociations.vpclattice.operator.dev.yaml"))
            .unwrap_or_default();
    let same = tree == crd;
    Ok((crd, same))
}

/// The release emulator, seeded through its flags.
pub struct Emulator {
    /// Held so the emulator stops with the scenario.
    _process: Process,
    pub api: crate::calls::EmulatorApi,
}

/// Fails clearly when the emulator binary lacks a flag the bench needs.
pub fn require_flags(bin: &Path, flags: &[&str]) -> Result<()> {
    let out = Command::new(bin)
        .arg("--help")
        .output()
        .map_err(|e| format!("run {} --help: {e}", bin.display()))?;
    let help = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<&str> = flags
        .iter()
        .copied()
        .filter(|f| !help.contains(&format!("{f} ")) && !help.contains(&format!("{f}=")))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} has no {} (issue 8 part 1: the per-account request quota): this scenario needs it",
            bin.display(),
            missing.join(", ")
        )
        .into());
    }
    Ok(())
}

impl Emulator {
    pub async fn start(bin: &Path, args: &[String], log: &Path) -> Result<Self> {
        let mut cmd = Command::new(bin);
        cmd.args(["--addr", "127.0.0.1:0"]).args(args);
        let mut process = Process::spawn("lattice-emulator", &mut cmd, log)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(url) = text
                .lines()
                .find_map(|l| l.split("listening on ").nth(1))
                .map(|u| u.trim().to_string())
            {
                return Ok(Self {
                    _process: process,
                    api: crate::calls::EmulatorApi { url },
                });
            }
            process.check_alive()?;
            if Instant::now() > deadline {
                return Err("the emulator did not report its address within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The operator's `--cluster-name` in every scenario: the value of its cluster tag.
pub const CLUSTER_NAME: &str = "bench";

/// The release operator binary, `run` against the control plane and the emulator.
pub struct Operator {
    pub process: Process,
    pub admin: String,
    pub args: Vec<String>,
}

/// The environment the image sets (the Dockerfile's `ENV`, hack/image.sh's `--config.env`): the
/// operator is measured as it runs in the image.
pub const IMAGE_ENV: (&str, &str) = ("MALLOC_ARENA_MAX", "1");

impl Operator {
    pub fn start(bin: &Path, kubeconfig: &Path, endpoint: &str, args: &[String], log: &Path) -> Result<Self> {
        let admin = format!("127.0.0.1:{}", free_port()?);
        let mut all: Vec<String> = vec![
            "run".into(),
            "--admin-addr".into(),
            admin.clone(),
            "--cluster-name".into(),
            CLUSTER_NAME.into(),
        ];
        all.extend(args.iter().cloned());
        let mut cmd = Command::new(bin);
        // The AWS environment of hack/demo.sh, and none of the caller's own AWS settings nor its
        // flags' environment fallbacks (every namespace when no --namespace, the default
        // concurrency, …).
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_") || k.starts_with("VPC_LATTICE_OPERATOR_") {
                cmd.env_remove(k);
            }
        }
        // As the image runs it.
        let (k, v) = IMAGE_ENV;
        cmd.env(k, v);
        cmd.args(&all)
            .env("KUBECONFIG", kubeconfig)
            .env("AWS_ENDPOINT_URL_VPC_LATTICE", endpoint)
            .env("AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API", endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env_remove("RUST_LOG");
        let process = Process::spawn("vpc-lattice-operator", &mut cmd, log)?;
        Ok(Self {
            process,
            admin,
            args: all,
        })
    }

    /// Waits for `/readyz` (the watch's first sync); returns when it answered 200 (Unix ms).
    pub async fn wait_ready(&mut self, limit: Duration) -> Result<u64> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(r) = loopback::get(&format!("http://{}/readyz", self.admin)).await
                && r.status == 200
            {
                return Ok(now_ms());
            }
            self.process.check_alive()?;
            if Instant::now() > deadline {
                return Err(format!("the operator was not ready within {limit:?}").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The operator's `/metrics`, as text.
    pub async fn metrics_text(&self) -> Result<String> {
        let r = loopback::get(&format!("http://{}/metrics", self.admin)).await?;
        if r.status != 200 {
            return Err(format!("operator /metrics: HTTP {}", r.status).into());
        }
        Ok(r.text())
    }

    pub async fn metrics(&self) -> Result<Vec<prom::Sample>> {
        Ok(prom::parse(&self.metrics_text().await?))
    }

    /// The operator's own counters the bench reads: reconciles, status writes, AWS calls.
    pub async fn counters(&self) -> Result<OperatorCounters> {
        let m = self.metrics().await?;
        Ok(OperatorCounters {
            reconciles: prom::sum(&m, "vpc_lattice_operator_reconciles_total", |_| true),
            status_patches: prom::sum(&m, "vpc_lattice_operator_status_patches_total", |_| true),
            aws_calls: prom::sum(&m, "vpc_lattice_operator_aws_calls_total", |_| true),
        })
    }

    /// Peak resident set size so far (`VmHWM`), in MiB.
    pub fn peak_rss_mib(&self) -> Option<f64> {
        self.process.status_kib("VmHWM").map(|k| k as f64 / 1024.0)
    }
}

#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperatorCounters {
    pub reconciles: f64,
    pub status_patches: f64,
    pub aws_calls: f64,
}

impl std::ops::Sub for OperatorCounters {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self {
            reconciles: self.reconciles - o.reconciles,
            status_patches: self.status_patches - o.status_patches,
            aws_calls: self.aws_calls - o.aws_calls,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_operator_is_run_with_the_images_environment() {
        let dockerfile = std::fs::read_to_string(format!("{}/Dockerfile", crate::REPO)).unwrap();
        let (k, v) = super::IMAGE_ENV;
        assert!(
            dockerfile.lines().any(|l| l == format!("ENV {k}={v}")),
            "the Dockerfile sets {k}={v}"
        );
    }
}
