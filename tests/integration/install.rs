//! The install path, proven on a control plane with nodes: `helm install --wait` of the chart into a
//! namespace that enforces the `restricted` Pod Security level, onto kwok-managed nodes (the real
//! kube-controller-manager and kube-scheduler make and place the Pods); then the real operator binary,
//! running out of cluster with a token of the chart's ServiceAccount, does a full lifecycle — so the
//! chart's RBAC is proven sufficient — and `kubectl auth can-i` proves it is no more than that.
//! Upgrade rolls the Deployment; uninstall leaves the CRD and users' objects; the documented CRD
//! upgrade path applies a changed CRD.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

use crate::e2e::{NETWORK, SERVICE, apply_app, emulator, get, manifest, ok, wait_ready};
use crate::support::cluster::{self, REPO, kubectl};
use crate::support::operator::Binary;
use crate::support::tools;
use crate::support::{copy_dir, eventually, text};

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
    ns: String,
    deployment: String,
}

impl Release {
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

fn install(release: &str, ns: &str, values: &str) -> Release {
    let file = std::env::temp_dir().join(format!("vlo-values-{ns}.yaml"));
    std::fs::write(&file, values).unwrap();
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
    let deployments = json(&["get", "deployments", "-n", ns, "-o", "json"]);
    let items = deployments["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the chart makes one Deployment");
    Release {
        ns: ns.into(),
        deployment: items[0]["metadata"]["name"].as_str().unwrap().into(),
    }
}

/// Runs the real operator out of cluster as the chart's ServiceAccount, with leader election in the
/// release namespace as the chart configures it, and drives one object through its whole life.
async fn lifecycle_as(release: &Release, app_ns: &str) {
    let emu = emulator().await;
    let kubeconfig = release.token_kubeconfig();
    let op = Binary::spawn_with_env(
        app_ns,
        &emu.url,
        &["--leader-elect", "true", "--lease-namespace", &release.ns],
        &[("KUBECONFIG", kubeconfig.to_str().unwrap())],
    );
    eventually("operator /readyz", LIMIT, || async {
        op.admin_get("/readyz").await.filter(|r| r.0 == 200)
    })
    .await;
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
    let _ = std::fs::remove_file(kubeconfig);
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
    for what in [
        ["create", "leases.coordination.k8s.io"],
        ["get", "leases.coordination.k8s.io/vpc-lattice-operator-leader"],
        ["patch", "leases.coordination.k8s.io/vpc-lattice-operator-leader"],
    ] {
        assert!(can_i(&user, Some(&ns), &what), "{user} can {what:?} in {ns}");
        assert!(
            !can_i(&user, Some("default"), &what),
            "{user} cannot {what:?} outside {ns}"
        );
    }
    assert!(
        !can_i(&user, Some(&ns), &["patch", "leases.coordination.k8s.io/someone-else"]),
        "{user} writes only its own Lease"
    );
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

    lifecycle_as(&release, &app_ns).await;

    // Upgrade with changed values rolls the Deployment onto the tainted, dedicated node.
    let before = d["metadata"]["generation"].as_i64().unwrap();
    let dedicated = "nodeSelector:\n  node-role.example.com/operators: \"true\"\ntolerations:\n- key: dedicated\n  \
                     operator: Equal\n  value: operators\n  effect: NoSchedule\n";
    let file = std::env::temp_dir().join(format!("vlo-values-{ns}-2.yaml"));
    std::fs::write(&file, format!("clusterName: test-cluster\n{spread}{dedicated}")).unwrap();
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

/// Runs a README block with bash in `dir`, with the test control plane's kubeconfig and helm on PATH.
fn run_block(dir: &Path, name: &str, block: &str) {
    let helm_dir = tools::helm().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", helm_dir.display(), std::env::var("PATH").unwrap_or_default());
    let out = cluster::helm_env(&mut Command::new("bash"), &dir.join(".helm"))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_install_upgrade_and_uninstall_work_as_written() {
    cluster::with_nodes();
    let readme = std::fs::read_to_string(format!("{REPO}/README.md")).unwrap();
    let dir = std::env::temp_dir().join(format!("vlo-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A checkout as the reader has it: the chart and crds/ at the top.
    copy_dir(Path::new(&format!("{REPO}/{CHART}")), &dir.join(CHART));
    copy_dir(Path::new(&format!("{REPO}/crds")), &dir.join("crds"));
    let ns = "vpc-lattice-operator";
    let deployed = || json(&["get", "deployment", "vpc-lattice-operator", "-n", ns, "-o", "json"]);

    run_block(&dir, "install-helm", &readme_block(&readme, "install-helm"));
    let d = deployed();
    assert_eq!(d["status"]["readyReplicas"], 2, "{}", d["status"]);
    let sa = json(&["get", "serviceaccount", "vpc-lattice-operator", "-n", ns, "-o", "json"]);
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:iam::")),
        "the IRSA annotation as the README sets it: {sa}"
    );

    // The next chart version changes the CRD: the documented upgrade applies it.
    let marker = format!("(upgrade-check-{:08x})", rand::random::<u32>());
    let crd_file = dir.join(format!("{CHART}/crds/{CRD}.yaml"));
    let text = std::fs::read_to_string(&crd_file).expect("the chart ships the CRD in crds/");
    let from = "The observed state of the association, as the operator last saw it in AWS.";
    assert!(text.contains(from), "the CRD describes its status as `{from}`");
    std::fs::write(&crd_file, text.replacen(from, &format!("{from} {marker}"), 1)).unwrap();
    run_block(&dir, "upgrade", &readme_block(&readme, "upgrade"));
    let live = ok(kubectl(&["get", "crd", CRD, "-o", "json"], None));
    assert!(
        live.contains(&marker),
        "the changed CRD is live after the documented upgrade"
    );
    assert_eq!(deployed()["status"]["readyReplicas"], 2);

    // Uninstall leaves the CRD and users' objects.
    let client = cluster::client().await;
    let app_ns = cluster::namespace(&client, "readme-app").await;
    let kept = format!("  serviceIdentifier: {SERVICE}\n  serviceNetworkIdentifier: {NETWORK}");
    ok(kubectl(
        &["apply", "-n", &app_ns, "-f", "-"],
        Some(&manifest("kept", &kept)),
    ));
    run_block(&dir, "uninstall", &readme_block(&readme, "uninstall"));
    ok(kubectl(&["get", "crd", CRD], None));
    assert!(get(&app_ns, "kept").is_some(), "users' objects survive uninstall");
    assert!(
        !kubectl(&["get", "deployment", "vpc-lattice-operator", "-n", ns], None)
            .status
            .success()
    );

    // Plain manifests rendered from the chart, into a fresh namespace of the same name; this also
    // puts the shipped CRD (from crds/) back.
    ok(kubectl(
        &["delete", "namespace", ns, "--wait=true", "--timeout=120s"],
        None,
    ));
    run_block(&dir, "install-manifests", &readme_block(&readme, "install-manifests"));
    assert_eq!(deployed()["status"]["readyReplicas"], 2);
    let live = ok(kubectl(&["get", "crd", CRD, "-o", "json"], None));
    assert!(!live.contains(&marker), "crds/ of the repository is applied again");
    ok(kubectl(
        &[
            "delete",
            "-n",
            ns,
            "-f",
            dir.join("vpc-lattice-operator.yaml").to_str().unwrap(),
        ],
        None,
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
