//! One real control plane per test binary, started through hack/control-plane.sh (which builds
//! kube-apiserver and etcd from their Go modules, cached by version), the CRD installed with kubectl
//! from crds/, and a fresh namespace per test. `with_nodes()` adds controllers, a scheduler and fake
//! nodes for tests that need Pods to run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use super::output;
use super::tools::hack_path;

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

struct ControlPlane {
    dir: PathBuf,
    kubeconfig: PathBuf,
}

static CONTROL_PLANE: OnceLock<ControlPlane> = OnceLock::new();

fn start() -> ControlPlane {
    start_in(
        std::env::temp_dir().join(format!("vlo-cp-{}", std::process::id())),
        true,
    )
}

/// Held while hack/control-plane.sh picks and binds ports (`up`, `nodes`) or rebinds them
/// (`restart`): the script picks free ports by probing, so a control plane starting while another
/// restarts could take the port the restarting kube-apiserver is about to bind again.
static PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ports() -> std::sync::MutexGuard<'static, ()> {
    PORTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts a control plane in `dir` (stopped by its watchdog when this process exits), with the CRD
/// from crds/ when `crd`.
fn start_in(dir: PathBuf, crd: bool) -> ControlPlane {
    std::fs::create_dir_all(&dir).expect("create control plane dir");
    let ports = ports();
    let pid = std::process::id().to_string();
    let kubeconfig = hack_path("control-plane.sh", &["up", &dir.to_string_lossy(), "--owner-pid", &pid]);
    drop(ports);
    let cp = ControlPlane { dir, kubeconfig };
    if !crd {
        return cp;
    }
    let apply = kubectl_at(&cp.kubeconfig, &["apply", "-f", &format!("{REPO}/crds/")], None);
    assert!(
        apply.status.success(),
        "kubectl apply crds/: {}",
        String::from_utf8_lossy(&apply.stderr)
    );
    wait_established(
        &cp.kubeconfig,
        "servicenetworkserviceassociations.vpclattice.operator.dev",
    );
    cp
}

fn control_plane() -> &'static ControlPlane {
    CONTROL_PLANE.get_or_init(start)
}

static NODES: OnceLock<()> = OnceLock::new();

/// `hack/control-plane.sh nodes` for the control plane in `dir`.
fn nodes(dir: &Path) {
    let _ports = ports();
    let out = Command::new("bash")
        .arg(format!("{REPO}/hack/control-plane.sh"))
        .arg("nodes")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run hack/control-plane.sh nodes");
    assert!(
        out.status.success(),
        "hack/control-plane.sh nodes failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Gives the shared control plane kube-controller-manager, kube-scheduler and three kwok fake nodes
/// (`hack/control-plane.sh nodes`: zones zone-a, zone-b and zone-c; the zone-c node tainted
/// `dedicated=operators:NoSchedule`), so that Deployments get Pods that are scheduled and become
/// Ready. Once per test binary; later calls return at once.
pub fn with_nodes() {
    NODES.get_or_init(|| nodes(&control_plane().dir));
}

/// The kubeconfig of the shared control plane (started on first use).
pub fn kubeconfig() -> &'static Path {
    &control_plane().kubeconfig
}

/// Runs kubectl against the shared control plane, optionally feeding `stdin`.
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> Output {
    kubectl_at(kubeconfig(), args, stdin)
}

fn kubectl_at(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    output(Command::new("kubectl").env("KUBECONFIG", kubeconfig).args(args), stdin)
}

/// Waits (up to 60 s) until the CRD `name` is Established on the control plane of `kubeconfig`.
/// Not `kubectl wait --for=condition=Established`: right after the CRD is created its status has
/// no conditions yet, and kubectl 1.32 then fails at once ("conditions accessor error") instead of
/// waiting (seen on a loaded machine).
pub fn wait_established(kubeconfig: &Path, name: &str) {
    let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="Established")].status}"#;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = kubectl_at(kubeconfig, &["get", "crd", name, "-o", jsonpath], None);
        if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "True" {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "CRD {name} not Established within 60 s: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `cmd` (helm, or a shell that runs it) pointed at the shared control plane, with helm's cache,
/// config and data under `home` rather than the user's.
pub fn helm_env<'a>(cmd: &'a mut Command, home: &Path) -> &'a mut Command {
    helm_env_at(cmd, kubeconfig(), home)
}

/// [`helm_env`] pointed at the control plane of `kubeconfig`.
pub fn helm_env_at<'a>(cmd: &'a mut Command, kubeconfig: &Path, home: &Path) -> &'a mut Command {
    cmd.env("KUBECONFIG", kubeconfig)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
}

/// A control plane of one test's own, for faults that would disturb the shared one (restarts, etcd
/// compaction); stopped when dropped.
pub struct Private(ControlPlane);

impl Private {
    pub fn start(name: &str) -> Self {
        Self::start_with(name, true)
    }

    /// A control plane without the CRD, as a new cluster is before anything is installed.
    pub fn start_empty(name: &str) -> Self {
        Self::start_with(name, false)
    }

    fn start_with(name: &str, crd: bool) -> Self {
        Self(start_in(
            std::env::temp_dir().join(format!("vlo-cp-{}-{name}", std::process::id())),
            crd,
        ))
    }

    /// Gives it kube-controller-manager, kube-scheduler and the kwok nodes of [`with_nodes`].
    pub fn with_nodes(&self) {
        nodes(&self.0.dir);
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.0.kubeconfig
    }

    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        kubectl_at(&self.0.kubeconfig, args, stdin)
    }

    /// [`Private::kubectl`] that must succeed; its stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// `hack/control-plane.sh restart`: kube-apiserver and etcd stopped and started again.
    pub fn restart(&self) {
        let _ports = ports();
        self.script("restart");
    }

    /// `hack/control-plane.sh compact`: etcd's history compacted; older watches get 410 Gone.
    pub fn compact(&self) {
        self.script("compact");
    }

    fn script(&self, command: &str) {
        let status = Command::new("bash")
            .arg(format!("{REPO}/hack/control-plane.sh"))
            .args([command, &self.0.dir.to_string_lossy()])
            .stdout(Stdio::null())
            .status()
            .expect("run hack/control-plane.sh");
        assert!(status.success(), "hack/control-plane.sh {command} failed");
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(format!("{REPO}/hack/control-plane.sh"))
            .args(["down", &self.0.dir.to_string_lossy()])
            .stdout(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.0.dir);
    }
}

/// A client for the shared control plane, bound to the calling test's runtime.
pub async fn client() -> Client {
    client_at(kubeconfig()).await
}

async fn client_at(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig");
    Client::try_from(config).expect("client")
}

/// Creates a namespace with a unique name for one test.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{:08x}", rand::random::<u32>());
    let ns: Namespace = serde_json::from_value(serde_json::json!({ "metadata": { "name": name } })).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    name
}

/// Creates a namespace with a unique name for one test whose Pods must meet the `restricted` Pod
/// Security level.
pub async fn restricted_namespace(client: &Client, prefix: &str) -> String {
    let ns = namespace(client, prefix).await;
    let out = kubectl(
        &[
            "label",
            "namespace",
            &ns,
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/enforce-version=latest",
        ],
        None,
    );
    assert!(out.status.success(), "label {ns} restricted: {}", super::text(&out));
    ns
}
