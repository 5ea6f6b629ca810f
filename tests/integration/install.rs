//! The install path, proven on a control plane with nodes: `helm install --wait` of the chart into a
//! namespace that enforces the `restricted` Pod Security level, onto kwok-managed nodes (the real
//! kube-controller-manager and kube-scheduler make and place the Pods); then the real operator binary,
//! running out of cluster with a token of the chart's ServiceAccount, does a full lifecycle — so the
//! chart's RBAC is proven sufficient — and `kubectl auth can-i` proves it is no more than that.
//! Upgrade rolls the Deployment; uninstall leaves the CRD and users' objects; the documented CRD
//! upgrade path applies a changed CRD. Two releases share a namespace (no object of one is the
//! other's, each leads through its own Lease), and the chart's ValidatingAdmissionPolicy refuses
//! `adoptionPolicy: Always` outside labelled namespaces on a real API server.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use crate::e2e::{NETWORK, SERVICE, apply_app, emulator, get, manifest, ok, wait_ready};
use crate::support::cluster::{self, REPO, kubectl};
use crate::support::operator::free_port;
use crate::support::tools;
use crate::support::{copy_dir, eventually, http_get, text};

const CHART: &str = "charts/vpc-lattice-operator";
const CRD: &str = "servicenetworkserviceassociations.vpclattice.operator.dev";
const LIMIT: Duration = Duration::from_secs(180);

/// Runs helm against the shared control plane, with its state in a temporary home.
fn helm(args: &[&str]) -> Output {
    let home = std::env::temp_dir().join(format!("vlo-helm-{}", std::process::id()));
    cluster::helm_env(&mut Command::new(tools::helm()), &home)
        .args(args)
        .output()
        .expect("run helm")
}

fn helm_ok(args: &[&str]) -> String {
    let out = helm(args);
    assert!(out.status.success(), "helm {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(kubectl(args, None))).expect("kubectl JSON")
}

/// `kubectl auth can-i` as `user`: true for yes, false for no.
fn can_i(user: &str, ns: Option<&str>, what: &[&str]) -> bool {
    let mut args = vec!["auth", "can-i"];
    args.extend_from_slice(what);
    let as_user = format!("--as={user}");
    args.push(&as_user);
    match ns {
        Some(ns) => args.extend_from_slice(&["-n", ns]),
        None => args.push("--all-namespaces"),
    }
    let out = kubectl(&args, None);
    let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        answer == "yes" || answer == "no",
        "can-i {what:?}: {answer} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    answer == "yes"
}

/// The installed release: its namespace, the ServiceAccount the Deployment runs as, and its Pods.
struct Release {
    name: String,
    ns: String,
    deployment: String,
}

impl Release {
    /// The leader Lease the chart gives the operator (`--leader-election-id`): `<full name>-leader`.
    fn lease(&self) -> String {
        format!("{}-leader", self.deployment)
    }

    /// The name of the release's objects outside its namespace: `<namespace>.<full name>`.
    fn qualified(&self) -> String {
        format!("{}.{}", self.ns, self.deployment)
    }

    /// The container args of the Deployment, as the chart rendered them.
    fn args(&self) -> Vec<String> {
        self.deployment()["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .expect("the operator container's args")
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    /// The args of the release's `helm test` Pod, as `helm get hooks` shows them.
    fn test_args(&self) -> Vec<String> {
        let hooks = helm_ok(&["get", "hooks", &self.name, "-n", &self.ns]);
        let pod = serde_norway::Deserializer::from_str(&hooks)
            .map(|d| <serde_norway::Value as serde::Deserialize>::deserialize(d).expect("hooks parse"))
            .find(|h| h["kind"] == "Pod" && h["metadata"]["annotations"]["helm.sh/hook"] == "test")
            .expect("the release has a `helm test` Pod");
        pod["spec"]["containers"][0]["args"]
            .as_sequence()
            .expect("the test Pod's args")
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    fn deployment(&self) -> Value {
        json(&["get", "deployment", &self.deployment, "-n", &self.ns, "-o", "json"])
    }

    fn service_account(&self) -> String {
        self.deployment()["spec"]["template"]["spec"]["serviceAccountName"]
            .as_str()
            .expect("the Deployment names its ServiceAccount")
            .into()
    }

    fn user(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.ns, self.service_account())
    }

    /// The release's Pods that are not being deleted.
    fn pods(&self) -> Vec<Value> {
        let d = self.deployment();
        let labels = d["spec"]["selector"]["matchLabels"].as_object().unwrap();
        let selector: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        let pods = json(&["get", "pods", "-n", &self.ns, "-l", &selector.join(","), "-o", "json"]);
        pods["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .cloned()
            .collect()
    }

    /// The zone of the node each Pod runs on, checking each Pod is Ready and bound.
    fn ready_pod_zones(&self) -> Vec<String> {
        self.pods()
            .iter()
            .map(|p| {
                let ready = p["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True");
                assert!(ready, "pod not Ready: {}", p["status"]);
                let node = p["spec"]["nodeName"].as_str().expect("scheduled");
                let n = json(&["get", "node", node, "-o", "json"]);
                n["metadata"]["labels"]["topology.kubernetes.io/zone"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    /// A kubeconfig for the shared API server that authenticates with a token of the chart's
    /// ServiceAccount (`kubectl create token`), as the operator's Pod would.
    fn token_kubeconfig(&self) -> PathBuf {
        let token = ok(kubectl(
            &[
                "create",
                "token",
                &self.service_account(),
                "-n",
                &self.ns,
                "--duration=1h",
            ],
            None,
        ));
        let admin: serde_norway::Value =
            serde_norway::from_str(&std::fs::read_to_string(cluster::kubeconfig()).unwrap()).unwrap();
        let cluster = &admin["clusters"][0]["cluster"];
        let config = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {
                "server": cluster["server"].as_str().unwrap(),
                "certificate-authority-data": cluster["certificate-authority-data"].as_str().unwrap(),
            }}],
            "users": [{"name": "operator", "user": {"token": token.trim()}}],
            "contexts": [{"name": "local", "context": {"cluster": "local", "user": "operator"}}],
            "current-context": "local",
        });
        let path = std::env::temp_dir().join(format!("vlo-sa-{}-{}.kubeconfig", self.ns, std::process::id()));
        std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
        path
    }
}

/// Installs the chart on the shared control plane, whose CRD the test harness installed: as every
/// release but the one that owns it, with `crds.install: false` (`values` may not set it).
fn install(release: &str, ns: &str, values: &str) -> Release {
    let file = std::env::temp_dir().join(format!("vlo-values-{ns}-{release}.yaml"));
    std::fs::write(&file, format!("crds:\n  install: false\n{values}")).unwrap();
    helm_ok(&[
        "install",
        release,
        &format!("{REPO}/{CHART}"),
        "-n",
        ns,
        "-f",
        file.to_str().unwrap(),
        "--wait",
        "--timeout",
        "5m",
    ]);
    let instance = format!("app.kubernetes.io/instance={release}");
    let deployments = json(&["get", "deployments", "-n", ns, "-l", &instance, "-o", "json"]);
    let items = deployments["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the chart makes one Deployment");
    Release {
        name: release.into(),
        ns: ns.into(),
        deployment: items[0]["metadata"]["name"].as_str().unwrap().into(),
    }
}

/// The real operator binary, run out of cluster as a Pod of a release runs it (the kwok nodes run
/// no containers): the Deployment's args as the chart rendered them (the admin server moved to a
/// free loopback port), a token of the release's ServiceAccount, and the Pod's `POD_NAME` and
/// `POD_NAMESPACE` (the Lease holder's identity).
struct Deployed {
    child: Mutex<Child>,
    admin: String,
    log: PathBuf,
    kubeconfig: PathBuf,
}

impl Deployed {
    /// Starts it with `more` args after the Deployment's, against the Lattice endpoint `endpoint`.
    fn start(release: &Release, pod: &str, endpoint: &str, more: &[String]) -> Self {
        let admin = format!("127.0.0.1:{}", free_port());
        let mut args: Vec<String> = release
            .args()
            .into_iter()
            .map(|a| {
                if a.starts_with("--admin-addr=") {
                    format!("--admin-addr={admin}")
                } else {
                    a
                }
            })
            .collect();
        assert!(args.contains(&format!("--admin-addr={admin}")), "{args:?}");
        args.extend_from_slice(more);
        let kubeconfig = release.token_kubeconfig();
        let log = std::env::temp_dir().join(format!("vlo-{}-{pod}-{}.log", release.ns, std::process::id()));
        let child = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
            .args(&args)
            .env("KUBECONFIG", &kubeconfig)
            .env("POD_NAME", pod)
            .env("POD_NAMESPACE", &release.ns)
            .env("AWS_ENDPOINT_URL_VPC_LATTICE", endpoint)
            .env("AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API", endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create the operator's log"))
            .spawn()
            .expect("start the operator binary");
        Self {
            child: Mutex::new(child),
            admin,
            log,
            kubeconfig,
        }
    }

    /// Panics with the operator's log if it has exited (e.g. it refused an argument).
    fn assert_running(&self) {
        let exited = {
            let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
            child.try_wait().expect("wait for the operator")
        };
        if let Some(status) = exited {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            panic!("the operator run with the chart's args exited ({status}):\n{log}");
        }
    }

    /// Waits until `/readyz` answers 200.
    async fn ready(&self) {
        eventually("operator /readyz", LIMIT, || {
            self.assert_running();
            async {
                http_get(&format!("http://{}/readyz", self.admin))
                    .await
                    .filter(|r| r.0 == 200)
            }
        })
        .await;
    }
}

impl Drop for Deployed {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(&self.kubeconfig);
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The name of one of the release's Pods.
fn a_pod_of(release: &Release) -> String {
    let pods = release.pods();
    pods.first()
        .and_then(|p| p["metadata"]["name"].as_str())
        .expect("the release has a Pod")
        .into()
}

/// Runs the real operator out of cluster as the chart configures it (its args, its ServiceAccount,
/// one of its Pods' identity; confined to `app_ns` when the release watches every namespace, so as
/// not to reconcile other tests' objects) and drives one object through its whole life.
async fn lifecycle_as(release: &Release, app_ns: &str) {
    let emu = emulator().await;
    let more = if release.args().iter().any(|a| a.starts_with("--namespace=")) {
        vec![]
    } else {
        vec![format!("--namespace={app_ns}")]
    };
    let op = Deployed::start(release, &a_pod_of(release), &emu.url, &more);
    op.ready().await;
    // What the release's `helm test` Pod runs (a kwok node runs no container), against this operator:
    // the Service's address swapped for the admin address it runs at.
    let args: Vec<String> = release
        .test_args()
        .into_iter()
        .map(|a| match a.strip_prefix("--url=") {
            Some(url) => {
                assert!(url.ends_with(".svc:8080"), "the test asks the release's Service: {url}");
                format!("--url=http://{}", op.admin)
            }
            None => a,
        })
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
        .args(&args)
        .output()
        .expect("run check");
    assert!(
        out.status.success() && text(&out).contains("is ready and serves its metrics"),
        "{args:?}: {}",
        text(&out)
    );
    apply_app(app_ns);
    wait_ready(app_ns, "app");
    assert_eq!(emu.fake.associations().len(), 1);
    let events = ok(kubectl(&["get", "events", "-n", app_ns, "-o", "json"], None));
    assert!(events.contains("Active"), "the operator may publish Events: {events}");
    ok(kubectl(&["delete", "snsa", "app", "-n", app_ns, "--wait=false"], None));
    eventually("app deleted", LIMIT, || async {
        get(app_ns, "app").is_none().then_some(())
    })
    .await;
    assert!(
        emu.fake.associations().is_empty(),
        "the association went with the object"
    );
    op.assert_running();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_schedules_restricted_pods_whose_rbac_runs_a_full_lifecycle() {
    cluster::with_nodes();
    let client = cluster::client().await;
    let ns = cluster::restricted_namespace(&client, "vlo-system").await;
    let app_ns = cluster::namespace(&client, "install-app").await;
    // Two replicas that must land in two zones; the tainted node (zone-c) is not tolerated yet.
    let spread = "topologySpreadConstraints:\n- maxSkew: 1\n  topologyKey: topology.kubernetes.io/zone\n  \
                  whenUnsatisfiable: DoNotSchedule\n";
    let release = install("vlo-ha", &ns, &format!("clusterName: test-cluster\n{spread}"));

    let d = release.deployment();
    assert_eq!(d["status"]["readyReplicas"], 2, "{}", d["status"]);
    let mut zones = release.ready_pod_zones();
    zones.sort();
    assert_eq!(zones, ["zone-a", "zone-b"], "one Pod per untainted zone");
    let pdbs = json(&["get", "pdb", "-n", &ns, "-o", "json"]);
    let pdb = &pdbs["items"][0]["status"];
    assert!(
        pdb["currentHealthy"].as_i64() >= pdb["desiredHealthy"].as_i64() && pdb["disruptionsAllowed"] == 1,
        "the PDB sees healthy Pods: {pdb}"
    );

    // RBAC: exactly what the operator uses.
    let user = release.user();
    let snsa = CRD.to_string();
    for what in [
        vec!["list", snsa.as_str()],
        vec!["watch", snsa.as_str()],
        vec!["patch", snsa.as_str()],
        vec!["patch", snsa.as_str(), "--subresource=status"],
        vec!["create", "events.events.k8s.io"],
        vec!["get", "namespaces"],
    ] {
        assert!(can_i(&user, Some(&app_ns), &what), "{user} can {what:?}");
        assert!(can_i(&user, None, &what), "{user} can {what:?} in all namespaces");
    }
    let lease = format!("leases.coordination.k8s.io/{}", release.lease());
    assert_eq!(lease, "leases.coordination.k8s.io/vlo-ha-vpc-lattice-operator-leader");
    for what in [
        ["create", "leases.coordination.k8s.io"],
        ["get", lease.as_str()],
        ["patch", lease.as_str()],
    ] {
        assert!(can_i(&user, Some(&ns), &what), "{user} can {what:?} in {ns}");
        assert!(
            !can_i(&user, Some("default"), &what),
            "{user} cannot {what:?} outside {ns}"
        );
    }
    for other in ["someone-else", "vpc-lattice-operator-leader"] {
        assert!(
            !can_i(
                &user,
                Some(&ns),
                &["patch", &format!("leases.coordination.k8s.io/{other}")]
            ),
            "{user} writes only its own Lease, not {other}"
        );
    }
    for what in [
        vec!["get", "secrets"],
        vec!["list", "secrets"],
        vec!["get", "pods"],
        vec!["create", "pods"],
        vec!["create", snsa.as_str()],
        vec!["delete", snsa.as_str()],
        vec!["delete", "namespaces"],
    ] {
        assert!(!can_i(&user, Some(&app_ns), &what), "{user} cannot {what:?}");
        assert!(
            !can_i(&user, Some(&ns), &what),
            "{user} cannot {what:?} in its own namespace"
        );
    }

    // `helm test`: its Pod passes the restricted level, is scheduled with the operator's
    // nodeSelector and tolerations and succeeds (on kwok by the stage helm-test-complete, so this
    // proves the hook's plumbing; lifecycle_as runs its check against a real operator).
    let out = helm_ok(&["test", "vlo-ha", "-n", &ns, "--timeout", "2m"]);
    assert!(out.contains("Phase:          Succeeded"), "{out}");
    lifecycle_as(&release, &app_ns).await;
    // Nothing listening: the check fails, saying where it looked.
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let out = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
        .args(["check", &format!("--url={nowhere}"), "--timeout=1s"])
        .output()
        .expect("run check");
    assert!(
        !out.status.success() && text(&out).contains(&format!("could not reach {nowhere}/readyz")),
        "{}",
        text(&out)
    );

    // Upgrade with changed values rolls the Deployment onto the tainted, dedicated node.
    let before = d["metadata"]["generation"].as_i64().unwrap();
    let dedicated = "nodeSelector:\n  node-role.example.com/operators: \"true\"\ntolerations:\n- key: dedicated\n  \
                     operator: Equal\n  value: operators\n  effect: NoSchedule\n";
    let file = std::env::temp_dir().join(format!("vlo-values-{ns}-2.yaml"));
    std::fs::write(
        &file,
        format!("crds:\n  install: false\nclusterName: test-cluster\n{spread}{dedicated}"),
    )
    .unwrap();
    helm_ok(&[
        "upgrade",
        "vlo-ha",
        &format!("{REPO}/{CHART}"),
        "-n",
        &ns,
        "-f",
        file.to_str().unwrap(),
        "--wait",
        "--timeout",
        "5m",
    ]);
    let zones = eventually("the rollout replaced every Pod", LIMIT, || async {
        let d = release.deployment();
        let done = d["status"]["updatedReplicas"] == 2
            && d["status"]["readyReplicas"] == 2
            && d["status"]["replicas"] == 2
            && d["status"]["observedGeneration"] == d["metadata"]["generation"];
        done.then(|| release.ready_pod_zones())
    })
    .await;
    assert!(release.deployment()["metadata"]["generation"].as_i64().unwrap() > before);
    assert_eq!(zones, ["zone-c", "zone-c"], "the Pods moved to the dedicated node");

    // Uninstall leaves the CRD and users' objects.
    let kept = format!("  serviceIdentifier: {SERVICE}\n  serviceNetworkIdentifier: {NETWORK}");
    ok(kubectl(
        &["apply", "-n", &app_ns, "-f", "-"],
        Some(&manifest("kept", &kept)),
    ));
    helm_ok(&["uninstall", "vlo-ha", "-n", &ns, "--wait"]);
    ok(kubectl(&["get", "crd", CRD], None));
    assert!(get(&app_ns, "kept").is_some(), "users' objects survive uninstall");
    let left = json(&["get", "deployments", "-n", &ns, "-o", "json"]);
    assert_eq!(left["items"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespaced_release_is_confined_to_its_namespace() {
    cluster::with_nodes();
    let client = cluster::client().await;
    let ns = cluster::restricted_namespace(&client, "vlo-ns").await;
    let app_ns = cluster::namespace(&client, "install-watched").await;
    let other = cluster::namespace(&client, "install-other").await;
    let release = install(
        "vlo-ns",
        &ns,
        &format!("clusterName: test-cluster\nreplicaCount: 1\nwatchNamespace: {app_ns}\n"),
    );
    assert_eq!(release.ready_pod_zones().len(), 1);
    let user = release.user();
    let snsa = CRD;
    for what in [["list", snsa], ["watch", snsa], ["patch", snsa]] {
        assert!(can_i(&user, Some(&app_ns), &what), "{user} can {what:?} in {app_ns}");
        assert!(!can_i(&user, Some(&other), &what), "{user} cannot {what:?} in {other}");
        assert!(!can_i(&user, None, &what), "{user} cannot {what:?} in all namespaces");
    }
    assert!(can_i(&user, Some(&app_ns), &["get", &format!("namespace/{app_ns}")]));
    assert!(!can_i(&user, Some(&app_ns), &["get", &format!("namespace/{other}")]));
    assert!(!can_i(&user, Some(&app_ns), &["get", "secrets"]));
    lifecycle_as(&release, &app_ns).await;
    helm_ok(&["uninstall", "vlo-ns", "-n", &ns, "--wait"]);
}

/// The shell block of README.md that follows `<!-- tested: NAME -->`.
fn readme_block(readme: &str, name: &str) -> String {
    let marker = format!("<!-- tested: {name} -->\n```sh\n");
    let start = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README.md has no block `{name}`"))
        + marker.len();
    let len = readme[start..].find("```").expect("the block ends");
    readme[start..start + len].to_string()
}

/// Runs a README block with bash in `dir`, against the control plane of `kubeconfig`, with helm on PATH.
fn run_block(kubeconfig: &Path, dir: &Path, name: &str, block: &str) {
    let helm_dir = tools::helm().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", helm_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = cluster::helm_env_at(&mut Command::new("bash"), kubeconfig, &dir.join(".helm"))
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(dir)
        .env("PATH", path)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "README block `{name}` failed:\n{block}\n{}",
        text(&out)
    );
}

/// The README's install, upgrade and uninstall blocks, run as written on a new cluster of their own
/// (the CRD is the release's here, which the shared control plane's tests could not share): the
/// chart installs the CRD; an upgrade whose chart changes the CRD applies it; uninstall keeps CRD and
/// objects; a release whose CRD Helm does not own (as the chart that shipped it in crds/ left it)
/// takes it over with the documented block; the plain-manifest install leaves the CRD out of the file
/// it deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_install_upgrade_and_uninstall_work_as_written() {
    let cp = cluster::Private::start_empty("readme");
    cp.with_nodes();
    let kubeconfig = cp.kubeconfig();
    let readme = std::fs::read_to_string(format!("{REPO}/README.md")).unwrap();
    let dir = std::env::temp_dir().join(format!("vlo-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A checkout as the reader has it: the chart and crds/ at the top.
    copy_dir(Path::new(&format!("{REPO}/{CHART}")), &dir.join(CHART));
    copy_dir(Path::new(&format!("{REPO}/crds")), &dir.join("crds"));
    let ns = "vpc-lattice-operator";
    let json = |args: &[&str]| -> Value { serde_json::from_str(&cp.ok(args, None)).expect("kubectl JSON") };
    let deployed = || json(&["get", "deployment", "vpc-lattice-operator", "-n", ns, "-o", "json"]);
    let crd = || json(&["get", "crd", CRD, "-o", "json"]);
    let block = |name: &str| run_block(kubeconfig, &dir, name, &readme_block(&readme, name));

    assert!(
        !cp.kubectl(&["get", "crd", CRD], None).status.success(),
        "a new cluster"
    );
    block("install-helm");
    let d = deployed();
    assert_eq!(d["status"]["readyReplicas"], 2, "{}", d["status"]);
    let sa = json(&["get", "serviceaccount", "vpc-lattice-operator", "-n", ns, "-o", "json"]);
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:iam::")),
        "the IRSA annotation as the README sets it: {sa}"
    );
    let live = crd();
    assert_eq!(
        live["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "vpc-lattice-operator"
    );
    assert_eq!(live["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");

    // The next chart version changes the CRD: the documented upgrade applies it.
    let marker = format!("(upgrade-check-{:08x})", rand::random::<u32>());
    let crd_file = dir.join(format!("{CHART}/files/crds/{CRD}.yaml"));
    let shipped = std::fs::read_to_string(&crd_file).expect("the chart ships the CRD in files/crds/");
    let from = "The observed state of the association, as the operator last saw it in AWS.";
    assert!(shipped.contains(from), "the CRD describes its status as `{from}`");
    std::fs::write(&crd_file, shipped.replacen(from, &format!("{from} {marker}"), 1)).unwrap();
    block("upgrade");
    assert!(
        crd().to_string().contains(&marker),
        "the changed CRD is live after the documented upgrade"
    );
    assert_eq!(deployed()["status"]["readyReplicas"], 2);

    // Uninstall leaves the CRD and users' objects.
    cp.ok(&["create", "namespace", "readme-app"], None);
    let kept = format!("  serviceIdentifier: {SERVICE}\n  serviceNetworkIdentifier: {NETWORK}");
    cp.ok(
        &["apply", "-n", "readme-app", "-f", "-"],
        Some(&manifest("kept", &kept)),
    );
    block("uninstall");
    assert!(crd().to_string().contains(&marker), "the CRD stays");
    cp.ok(&["get", "snsa", "kept", "-n", "readme-app"], None);
    assert!(
        !cp.kubectl(&["get", "deployment", "vpc-lattice-operator", "-n", ns], None)
            .status
            .success()
    );

    // A release of the chart that shipped the CRD in crds/: the CRD applied apart, no Helm owner.
    cp.ok(&["apply", "--server-side", "--force-conflicts", "-f", "crds/"], None);
    cp.ok(
        &[
            "annotate",
            "crd",
            CRD,
            "meta.helm.sh/release-name-",
            "meta.helm.sh/release-namespace-",
        ],
        None,
    );
    cp.ok(&["label", "crd", CRD, "app.kubernetes.io/managed-by-"], None);
    assert!(!crd().to_string().contains(&marker), "crds/ of the checkout is live");
    let helm = |args: &[&str]| {
        cluster::helm_env_at(&mut Command::new(tools::helm()), kubeconfig, &dir.join(".helm"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("run helm")
    };
    let chart = CHART.to_string();
    let old = ["-n", ns, "--set", "clusterName=prod-eu-1", "--wait", "--timeout", "5m"];
    let install = |more: &[&str]| {
        let mut args = vec!["install", "vpc-lattice-operator", chart.as_str()];
        args.extend_from_slice(&old);
        args.extend_from_slice(more);
        helm(&args)
    };
    let refused = install(&[]);
    assert!(
        !refused.status.success() && text(&refused).contains("invalid ownership metadata"),
        "Helm will not take a CRD it does not own without being told: {}",
        text(&refused)
    );
    let out = install(&["--set", "crds.install=false"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(crd()["metadata"]["annotations"]["meta.helm.sh/release-name"].is_null());
    block("upgrade-take-ownership");
    let live = crd();
    assert_eq!(
        live["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "vpc-lattice-operator"
    );
    assert_eq!(live["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
    assert!(
        live.to_string().contains(&marker),
        "the chart's (changed) CRD is applied"
    );
    cp.ok(&["get", "snsa", "kept", "-n", "readme-app"], None);
    block("uninstall");

    // Plain manifests rendered from the chart, into a fresh namespace of the same name: the CRD
    // from crds/, the operator from the rendered file, whose deletion leaves the CRD.
    cp.ok(&["delete", "namespace", ns, "--wait=true", "--timeout=120s"], None);
    block("install-manifests");
    assert_eq!(deployed()["status"]["readyReplicas"], 2);
    let manifests = dir.join("vpc-lattice-operator.yaml");
    assert!(
        !std::fs::read_to_string(&manifests)
            .unwrap()
            .contains("kind: CustomResourceDefinition"),
        "the rendered file holds no CRD, so deleting it cannot delete every object"
    );
    cp.ok(&["delete", "-n", ns, "-f", manifests.to_str().unwrap()], None);
    cp.ok(&["get", "snsa", "kept", "-n", "readme-app"], None);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Installs two releases of the chart into one namespace, each watching a namespace of its own.
async fn two_releases(prefix: &str) -> (String, [(Release, String); 2]) {
    cluster::with_nodes();
    let client = cluster::client().await;
    let ns = cluster::restricted_namespace(&client, &format!("vlo-{prefix}")).await;
    let mut releases = vec![];
    for side in ["a", "b"] {
        let watched = cluster::namespace(&client, &format!("{prefix}-team-{side}")).await;
        let values = format!("clusterName: test-cluster\nreplicaCount: 1\nwatchNamespace: {watched}\n");
        releases.push((install(&format!("{prefix}-{side}"), &ns, &values), watched));
    }
    let [a, b]: [(Release, String); 2] = releases.try_into().ok().unwrap();
    (ns, [a, b])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_releases_in_one_namespace_install_side_by_side() {
    let (ns, releases) = two_releases("pair").await;
    let [(a, _), (b, _)] = &releases;
    assert_ne!(a.deployment, b.deployment);
    for ((r, watched), (other, _)) in [(&releases[0], &releases[1]), (&releases[1], &releases[0])] {
        assert_eq!(r.ready_pod_zones().len(), 1);
        // Its objects outside the release namespace are named `<namespace>.<full name>`.
        let instance = format!("app.kubernetes.io/instance={}", r.name);
        for (kind, namespace) in [
            ("clusterrole", None),
            ("clusterrolebinding", None),
            ("validatingadmissionpolicy", None),
            ("validatingadmissionpolicybinding", None),
            ("role", Some(watched.as_str())),
            ("rolebinding", Some(watched.as_str())),
        ] {
            let mut args = vec!["get", kind, "-l", &instance, "-o", "json"];
            if let Some(n) = namespace {
                args.extend(["-n", n]);
            }
            let items = json(&args);
            let names: Vec<&str> = items["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"]["name"].as_str().unwrap())
                .collect();
            assert_eq!(names, [r.qualified()], "{kind} of {}", r.name);
        }
        let vapb = json(&["get", "validatingadmissionpolicybinding", &r.qualified(), "-o", "json"]);
        assert_eq!(vapb["spec"]["policyName"], r.qualified().as_str());
        assert_eq!(
            vapb["spec"]["matchResources"]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            watched.as_str(),
            "each release's admission policy applies where it watches"
        );
        // Each reads and writes its own Lease, not the other's.
        let user = r.user();
        let own = format!("leases.coordination.k8s.io/{}", r.lease());
        let theirs = format!("leases.coordination.k8s.io/{}", other.lease());
        assert!(can_i(&user, Some(&ns), &["patch", &own]), "{user} patches {own}");
        assert!(
            !can_i(&user, Some(&ns), &["patch", &theirs]),
            "{user} cannot patch {theirs}"
        );
        assert!(can_i(&user, Some(watched.as_str()), &["watch", CRD]));
    }
    // Helm tracks them apart: uninstalling one leaves the other whole.
    helm_ok(&["uninstall", &a.name, "-n", &ns, "--wait"]);
    assert!(!kubectl(&["get", "clusterrole", &a.qualified()], None).status.success());
    for kind in ["clusterrole", "clusterrolebinding", "validatingadmissionpolicy"] {
        ok(kubectl(&["get", kind, &b.qualified()], None));
    }
    assert_eq!(b.deployment()["status"]["readyReplicas"], 1);
    helm_ok(&["uninstall", &b.name, "-n", &ns, "--wait"]);
}

/// Each release's operator, run with the chart's args (`--leader-election-id=<full name>-leader`), holds a
/// Lease of its own, so both lead at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_releases_in_one_namespace_each_lead_through_their_own_lease() {
    let (ns, releases) = two_releases("lead").await;
    let emu = emulator().await;
    let ops: Vec<(&Release, String, Deployed)> = releases
        .iter()
        .map(|(r, _)| {
            let pod = a_pod_of(r);
            let op = Deployed::start(r, &pod, &emu.url, &[]);
            (r, pod, op)
        })
        .collect();
    for (r, pod, op) in &ops {
        op.ready().await;
        let holder = eventually(&format!("{} holds Lease {}", r.name, r.lease()), LIMIT, || {
            op.assert_running();
            async {
                let out = kubectl(&["get", "lease", &r.lease(), "-n", &ns, "-o", "json"], None);
                let lease: Value = serde_json::from_slice(&out.stdout).ok()?;
                lease["spec"]["holderIdentity"].as_str().map(String::from)
            }
        })
        .await;
        assert_eq!(
            &holder,
            pod,
            "Lease {} is held by a Pod of release {}",
            r.lease(),
            r.name
        );
        let metrics = http_get(&format!("http://{}/metrics", op.admin))
            .await
            .expect("/metrics");
        assert!(
            metrics.1.lines().any(|l| l == "vpc_lattice_operator_leader 1"),
            "{} leads: {}",
            r.name,
            metrics.1
        );
    }
    for (_, _, op) in &ops {
        op.assert_running();
    }
    drop(ops);
    for (r, _) in &releases {
        helm_ok(&["uninstall", &r.name, "-n", &ns, "--wait"]);
    }
}

/// helm against a control plane of the test's own.
fn helm_at(cp: &cluster::Private, args: &[&str]) -> String {
    let home = std::env::temp_dir().join(format!("vlo-helm-private-{}", std::process::id()));
    let out = cluster::helm_env_at(&mut Command::new(tools::helm()), cp.kubeconfig(), &home)
        .args(args)
        .output()
        .expect("run helm");
    assert!(out.status.success(), "helm {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into()
}

/// The chart's ValidatingAdmissionPolicy on a real API server, installed cluster-wide as by default:
/// on a control plane of the test's own, since it refuses `Always` in every unlabelled namespace
/// (other tests may use it in theirs). No nodes: the policy needs no Pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admission_policy_refuses_adoption_outside_labelled_namespaces() {
    let cp = cluster::Private::start("adoption");
    let label = "vpclattice.operator.dev/allow-adoption=true";
    let (key, value) = label.split_once('=').unwrap();
    cp.ok(
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: vlo-system}}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {{name: plain}}\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata: {{name: adopters, labels: {{{key}: \"{value}\"}}}}\n"
        )),
    );
    let spec = |policy: &str| {
        let mut s = format!("  serviceIdentifier: {SERVICE}\n  serviceNetworkIdentifier: {NETWORK}");
        if !policy.is_empty() {
            s.push_str(&format!("\n  adoptionPolicy: {policy}"));
        }
        s
    };
    let apply = |ns: &str, name: &str, policy: &str, dry_run: bool| {
        let mut args = vec!["apply", "-n", ns, "-f", "-"];
        if dry_run {
            args.push("--dry-run=server");
        }
        let out = cp.kubectl(&args, Some(&manifest(name, &spec(policy))));
        if out.status.success() {
            Ok(text(&out))
        } else {
            Err(text(&out))
        }
    };
    // Made before the policy exists: an object that is `Always` already in an unlabelled namespace.
    apply("plain", "legacy", "Always", false).expect("no policy yet");

    helm_at(
        &cp,
        &[
            "install",
            "vlo",
            &format!("{REPO}/{CHART}"),
            "-n",
            "vlo-system",
            "--set",
            "clusterName=test-cluster",
            // The CRD came first (the object above); the README test installs it with the chart.
            "--set",
            "crds.install=false",
        ],
    );
    let name = "vlo-system.vlo-vpc-lattice-operator";
    cp.ok(&["get", "validatingadmissionpolicy", name], None);
    let binding: Value =
        serde_json::from_str(&cp.ok(&["get", "validatingadmissionpolicybinding", name, "-o", "json"], None)).unwrap();
    assert_eq!(binding["spec"]["policyName"], name);
    assert_eq!(binding["spec"]["validationActions"], serde_json::json!(["Deny"]));

    // The API server loads a new policy asynchronously: wait (bounded) until it refuses a create,
    // then check what it says.
    let err = eventually("the admission policy takes effect", LIMIT, || async {
        apply("plain", "adopt", "Always", true).err()
    })
    .await;
    let rule = format!(
        "spec.adoptionPolicy: Always is allowed only in namespaces labelled {label} (set by the platform team; \
         see docs/security.md), and namespace plain is not: use IfOwned, or ask for the label"
    );
    let denied = format!("ValidatingAdmissionPolicy '{name}' with binding '{name}' denied request: {rule}");
    assert!(
        err.contains(&denied),
        "the refusal names the rule and what to do: {err}"
    );
    assert!(err.contains("is forbidden"), "{err}");

    // A real create is refused the same way and stores nothing.
    let err = apply("plain", "adopt", "Always", false).expect_err("Always in an unlabelled namespace");
    assert!(err.contains(&denied), "{err}");
    assert!(
        !cp.kubectl(&["get", "snsa", "adopt", "-n", "plain"], None)
            .status
            .success()
    );

    // IfOwned, Never and the default are accepted anywhere.
    for policy in ["IfOwned", "Never", ""] {
        apply("plain", "dry", policy, true).unwrap_or_else(|e| panic!("{policy:?} in plain: {e}"));
    }
    apply("plain", "owned", "IfOwned", false).expect("IfOwned in plain");

    // An update that changes the policy to Always is refused; the object stays as it was.
    let err = apply("plain", "owned", "Always", false).expect_err("IfOwned -> Always in plain");
    assert!(err.contains(&denied), "{err}");
    let owned: Value =
        serde_json::from_str(&cp.ok(&["get", "snsa", "owned", "-n", "plain", "-o", "json"], None)).unwrap();
    assert_eq!(owned["spec"]["adoptionPolicy"], "IfOwned");

    // An object that is Always already stays updatable (the operator must still remove its
    // finalizer), may leave Always, but not come back.
    cp.ok(&["label", "snsa", "legacy", "-n", "plain", "touched=yes"], None);
    cp.ok(
        &["annotate", "snsa", "legacy", "-n", "plain", "example.test/note=kept"],
        None,
    );
    apply("plain", "legacy", "IfOwned", false).expect("Always -> IfOwned");
    let err = apply("plain", "legacy", "Always", false).expect_err("IfOwned -> Always again");
    assert!(err.contains(&denied), "{err}");

    // In the labelled namespace Always is accepted, on create and on update.
    apply("adopters", "adopt", "Always", true).expect("Always in a labelled namespace (dry run)");
    apply("adopters", "adopt", "Always", false).expect("Always in a labelled namespace");
    apply("adopters", "owned", "IfOwned", false).expect("IfOwned in a labelled namespace");
    apply("adopters", "owned", "Always", false).expect("IfOwned -> Always in a labelled namespace");
    let adopted: Value =
        serde_json::from_str(&cp.ok(&["get", "snsa", "owned", "-n", "adopters", "-o", "json"], None)).unwrap();
    assert_eq!(adopted["spec"]["adoptionPolicy"], "Always");

    // Objects are deleted whatever their policy.
    cp.ok(&["delete", "snsa", "--all", "-n", "plain", "--wait=false"], None);
    cp.ok(&["delete", "snsa", "--all", "-n", "adopters", "--wait=false"], None);
    helm_at(&cp, &["uninstall", "vlo", "-n", "vlo-system"]);
}
