//! The operator under test: in-process (the real controller wiring over a given `LatticeApi`, so
//! tests can script and count calls directly) or the real binary pointed at an emulator endpoint.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use kube::Client;
use tokio::sync::oneshot;
use vpc_lattice_operator::drift::DriftOptions;
use vpc_lattice_operator::lattice::LatticeApi;
use vpc_lattice_operator::lattice::provider::{AlwaysAdoption, LatticeProvider, Tenant, TenantError};
use vpc_lattice_operator::metrics::Metrics;
use vpc_lattice_operator::reconcile::{Config, Context};
use vpc_lattice_operator::runtime::{ControllerOptions, run_controller};

use super::cluster;

pub const CLUSTER: &str = "test-cluster";

/// The controller running in this test's runtime.
pub struct InProcess {
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl InProcess {
    /// Runs the controller for one namespace, with a 1 s drift scan that compares tags every round.
    pub async fn start(client: Client, namespace: &str, lattice: Arc<dyn LatticeApi>) -> Self {
        let drift = DriftOptions {
            interval: Duration::from_secs(1),
            tag_every: 1,
        };
        Self::start_with(client, namespace, lattice, drift).await
    }

    /// Runs the controller for one namespace with these drift-scan settings.
    pub async fn start_with(
        client: Client,
        namespace: &str,
        lattice: Arc<dyn LatticeApi>,
        drift: DriftOptions,
    ) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .with_test_writer()
            .try_init();
        let metrics = Arc::new(Metrics::default());
        let config = Config {
            workers: 4,
            ..Config::new(CLUSTER)
        };
        let provider = Arc::new(Single(lattice));
        // A rate that never binds: these tests count calls, not their pace (fairness.rs and the
        // benchmarks run the real operator at a binding one).
        let limiter = vpc_lattice_operator::limiter::limiter(10_000);
        let ctx = Arc::new(Context::new(client, provider, limiter, metrics.clone(), config));
        let opts = ControllerOptions {
            namespace: Some(namespace.into()),
            drift,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run_controller(
            ctx,
            opts,
            Arc::new(AtomicBool::new(false)),
            async move {
                let _ = stopped.await;
            },
        ));
        Self {
            metrics,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the controller and waits for in-flight reconciles.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// The real `vpc-lattice-operator run` process.
/// Points `cmd` (the binary) at the Lattice and Tagging API endpoint `endpoint`, as a test
/// identity in us-east-1, with no instance metadata to wait for.
pub fn aws_at<'a>(cmd: &'a mut Command, endpoint: &str) -> &'a mut Command {
    cmd.env("AWS_ENDPOINT_URL_VPC_LATTICE", endpoint)
        .env("AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

pub struct Binary {
    child: Child,
    pub admin: String,
}

impl Binary {
    /// Starts the binary for one namespace against the Lattice endpoint `endpoint`.
    pub fn spawn(namespace: &str, endpoint: &str, extra: &[&str]) -> Self {
        Self::spawn_with_env(namespace, endpoint, extra, &[])
    }

    /// Like [`Binary::spawn`], with more environment variables.
    pub fn spawn_with_env(namespace: &str, endpoint: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start(namespace, endpoint, extra, env, Stdio::inherit())
    }

    /// Like [`Binary::spawn_with_env`], its log (stderr) written to `log`.
    pub fn spawn_logged(
        namespace: &str,
        endpoint: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        log: &std::path::Path,
    ) -> Self {
        let file = std::fs::File::create(log).expect("create the log file");
        Self::start(namespace, endpoint, extra, env, Stdio::from(file))
    }

    /// `env` is set after the defaults below; an empty value removes the variable instead.
    fn start(namespace: &str, endpoint: &str, extra: &[&str], env: &[(&str, &str)], stderr: Stdio) -> Self {
        let port = free_port();
        let admin = format!("127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"));
        command
            .args(["run", "--admin-addr", &admin, "--cluster-name", CLUSTER])
            // An empty namespace: every namespace (only on a control plane of the test's own).
            .args(if namespace.is_empty() {
                vec![]
            } else {
                vec!["--namespace", namespace]
            })
            .args(["--resync-interval", "2s"])
            .args(extra)
            .env("KUBECONFIG", cluster::kubeconfig())
            .env("RUST_LOG", "info,vpc_lattice_operator=debug");
        aws_at(&mut command, endpoint);
        for (key, value) in env {
            match value.is_empty() {
                true => command.env_remove(key),
                false => command.env(key, value),
            };
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the operator binary");
        Self { child, admin }
    }

    /// Sends SIGTERM and waits (up to `limit`) for the process to exit.
    pub fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("run kill");
        assert!(sent.success());
        super::wait_for_exit(&mut self.child, limit, "the operator")
    }

    /// SIGKILL: the process stops wherever it is, as on a node failure or an OOM kill.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `GET` a path of the admin server, if it answers.
    pub async fn admin_get(&self, path: &str) -> Option<(u16, String)> {
        super::http_get(&format!("http://{}{path}", self.admin)).await
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One AWS identity for every namespace, and `adoptionPolicy: Always` allowed in all of them: the
/// in-process operator's provider (the operator's own is `runtime::tenancy::NamespaceRoles`).
struct Single(Arc<dyn LatticeApi>);

#[async_trait::async_trait]
impl LatticeProvider for Single {
    async fn for_namespace(&self, _namespace: &str, _region: Option<&str>) -> Result<Tenant, TenantError> {
        Ok(Tenant {
            key: "default".into(),
            region: None,
            api: self.0.clone(),
            always_adoption: AlwaysAdoption::Allowed,
        })
    }
}
