//! The chart against the real API server: every rendered variant passes a server-side dry run (with
//! the pinned prometheus-operator CRDs installed for the ServiceMonitor and PrometheusRule), the Pods
//! pass the `restricted` Pod Security level with the values an install onto dedicated nodes uses, and
//! `helm install --dry-run=server` renders the NOTES. (install.rs installs the chart for real.)

use std::sync::OnceLock;

use serde_norway::Value;

use super::{
    CHART, CLUSTER_NAME, LEASE, NAMESPACE, RELEASE, TEST_VALUES, monitoring_crds, parse_docs, template_in, variants,
};
use crate::support::cluster::{self, kubectl};
use crate::support::text;
use crate::support::tools::helm;

/// Installs the ServiceMonitor and PrometheusRule CRDs once per test binary.
fn install_monitoring_crds() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = monitoring_crds().to_string_lossy().to_string();
        let out = kubectl(&["apply", "--server-side", "--force-conflicts", "-f", &dir], None);
        assert!(out.status.success(), "install the monitoring CRDs: {}", text(&out));
        for crd in [
            "servicemonitors.monitoring.coreos.com",
            "prometheusrules.monitoring.coreos.com",
        ] {
            crate::support::cluster::wait_established(crate::support::cluster::kubeconfig(), crd);
        }
    });
}

/// `kubectl apply --dry-run=server` of `yaml`: its output, or the error.
fn dry_run(yaml: &str) -> Result<String, String> {
    let out = kubectl(&["apply", "--dry-run=server", "-f", "-"], Some(yaml));
    if out.status.success() {
        Ok(text(&out))
    } else {
        Err(text(&out))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_variants_pass_a_server_side_dry_run() {
    install_monitoring_crds();
    let client = cluster::client().await;
    let release_ns = cluster::namespace(&client, "chart-release").await;
    let watch_ns = cluster::namespace(&client, "chart-watch").await;
    let dashboards_ns = cluster::namespace(&client, "chart-dashboards").await;
    for (name, args) in variants(&watch_ns, &dashboards_ns) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let yaml = template_in(RELEASE, &release_ns, &args).unwrap_or_else(|e| panic!("{name}: {e}"));
        let docs = parse_docs(&yaml);
        let out = dry_run(&yaml).unwrap_or_else(|e| panic!("the API server refuses the {name} variant: {e}"));
        assert!(!out.contains("Warning"), "{name}: the API server warns: {out}");
        for doc in &docs {
            let kind = doc["kind"].as_str().unwrap().to_lowercase();
            let name = doc["metadata"]["name"].as_str().unwrap();
            assert!(out.contains(&kind) && out.contains(name), "{kind}/{name} in {out}");
        }
        assert_eq!(
            out.lines().filter(|l| l.contains("(server dry run)")).count(),
            docs.len(),
            "{name}: every object accepted: {out}"
        );
        if name == "ha-full" {
            for kind in [
                "ServiceMonitor",
                "PrometheusRule",
                "NetworkPolicy",
                "ConfigMap",
                "PodDisruptionBudget",
            ] {
                assert!(docs.iter().any(|d| d["kind"] == kind), "{name} has a {kind}");
            }
        }
    }
}

/// The Pod the Deployment of `yaml` would make, in `namespace`.
fn pod_of(yaml: &str, namespace: &str) -> Value {
    let docs = parse_docs(yaml);
    let d = docs.iter().find(|d| d["kind"] == "Deployment").expect("a Deployment");
    let mut pod: Value = serde_norway::from_str("apiVersion: v1\nkind: Pod\nmetadata: {name: operator-probe}").unwrap();
    pod["metadata"]["namespace"] = namespace.into();
    pod["metadata"]["labels"] = d["spec"]["template"]["metadata"]["labels"].clone();
    pod["spec"] = d["spec"]["template"]["spec"].clone();
    pod
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_pods_pass_the_restricted_pod_security_level() {
    let client = cluster::client().await;
    let ns = cluster::restricted_namespace(&client, "chart-restricted").await;
    // What an install onto dedicated (e.g. kwok) nodes from a private registry sets.
    let overrides = [
        "--set",
        "image.registry=registry.example.test:5000",
        "--set",
        "image.repository=platform/vpc-lattice-operator",
        "--set",
        "image.tag=test",
        "--set",
        "nodeSelector.type=kwok",
        "--set",
        "tolerations[0].key=kwok.x-k8s.io/node",
        "--set",
        "tolerations[0].operator=Exists",
        "--set",
        "tolerations[0].effect=NoSchedule",
        "--set",
        "aws.region=us-east-1",
        "--set",
        "extraVolumes[0].name=cache",
        "--set",
        "extraVolumes[0].emptyDir.medium=Memory",
        "--set",
        "extraVolumeMounts[0].name=cache",
        "--set",
        "extraVolumeMounts[0].mountPath=/var/cache/operator",
    ];
    let yaml = template_in(RELEASE, &ns, &overrides).expect("render");
    let out = dry_run(&yaml).unwrap_or_else(|e| panic!("the chart in a restricted namespace: {e}"));
    assert!(
        !out.contains("PodSecurity"),
        "the Deployment's Pod template meets `restricted`: {out}"
    );
    let pod = pod_of(&yaml, &ns);
    assert_eq!(pod["spec"]["nodeSelector"]["type"], "kwok");
    assert_eq!(
        pod["spec"]["containers"][0]["image"],
        "registry.example.test:5000/platform/vpc-lattice-operator:test"
    );
    dry_run(&serde_norway::to_string(&pod).unwrap()).unwrap_or_else(|e| panic!("the Pod is admitted: {e}"));

    // The control: the same Pod without the security contexts is refused, so the check is real.
    let mut bare = pod.clone();
    bare["spec"]["securityContext"] = Value::Null;
    bare["spec"]["containers"][0]["securityContext"] = Value::Null;
    let err = dry_run(&serde_norway::to_string(&bare).unwrap()).expect_err("a Pod without security contexts");
    assert!(err.contains("violates PodSecurity \"restricted"), "{err}");
}

#[test]
fn chart_install_dry_run_renders_the_notes() {
    let home = tempfile::tempdir().unwrap();
    let out = cluster::helm_env(&mut std::process::Command::new(helm()), home.path())
        .args([
            "install",
            RELEASE,
            CHART,
            "--namespace",
            NAMESPACE,
            "--dry-run=server",
            "-f",
            TEST_VALUES,
            "--set",
            "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/lattice",
        ])
        .output()
        .expect("helm install --dry-run");
    let notes = text(&out);
    assert!(out.status.success(), "helm install --dry-run=server: {notes}");
    for needle in [
        format!("kubectl -n {NAMESPACE} rollout status deployment/{RELEASE}"),
        format!("kubectl -n {NAMESPACE} get pods -l app.kubernetes.io/instance={RELEASE}"),
        format!("kubectl -n {NAMESPACE} logs deployment/{RELEASE}"),
        "kubectl get snsa -A".into(),
        "aws vpc-lattice list-services".into(),
        "aws vpc-lattice list-service-networks".into(),
        "IRSA role arn:aws:iam::111122223333:role/lattice".into(),
        "CRD: crds.install=false, so this release neither installs nor upgrades it".into(),
        format!("for cluster \"{CLUSTER_NAME}\""),
        format!("kubectl -n {NAMESPACE} get lease {LEASE} -o jsonpath"),
        "kubectl label namespace <namespace> vpclattice.operator.dev/allow-adoption=true".into(),
        format!("ValidatingAdmissionPolicy {NAMESPACE}.{RELEASE} refuses"),
    ] {
        assert!(notes.contains(&needle), "NOTES tell `{needle}`: {notes}");
    }

    // Without clusterName helm install refuses, saying why.
    let out = cluster::helm_env(&mut std::process::Command::new(helm()), home.path())
        .args(["install", RELEASE, CHART, "--namespace", NAMESPACE, "--dry-run=server"])
        .output()
        .expect("helm install --dry-run");
    assert!(
        !out.status.success() && text(&out).contains("clusterName is required: the name of this cluster"),
        "{}",
        text(&out)
    );
}
