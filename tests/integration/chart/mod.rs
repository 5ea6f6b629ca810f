//! The Helm chart (charts/vpc-lattice-operator), rendered by the pinned helm (support/tools.rs builds
//! it and helm-docs from their pinned Go modules, once per test binary): what each test file proves
//! is in its own header. The alerts and the dashboard are tested in monitoring.rs, a real install in
//! install.rs. Here: the chart's constants and the helpers that render it and read what it renders.

pub mod adoption;
pub mod cluster;
pub mod deployment;
pub mod names;
pub mod rbac;
pub mod render;
pub mod replicas;
pub mod schema;
pub mod toggles;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_norway::Value;

use crate::support::tools::{hack_path, helm};
use crate::support::{output, text};

pub const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/vpc-lattice-operator");
/// The release the render tests use; its name contains the chart's, so objects are named after it.
pub const RELEASE: &str = "vpc-lattice-operator";
pub const NAMESPACE: &str = "lattice-system";
/// The Kubernetes version `helm template`/`helm lint` assume (the test control plane's); helm's own
/// default is older than the chart's kubeVersion.
pub const KUBE_VERSION: &str = "1.37.0";
/// The leader Lease of [`RELEASE`]: `<full name>-leader` (`--leader-election-id`).
pub const LEASE: &str = "vpc-lattice-operator-leader";
/// The values every render starts from (`-f`, so a test's own `-f` and `--set` win): `clusterName`,
/// which the chart requires.
pub const TEST_VALUES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/chart/test-values.yaml");
/// The `clusterName` of [`TEST_VALUES`].
pub const CLUSTER_NAME: &str = "test-cluster";

/// The directory holding the ServiceMonitor and PrometheusRule CRDs of the pinned prometheus-operator.
pub fn monitoring_crds() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| hack_path("module-files.sh", &["prometheus-operator-crds"]))
}

/// Runs a command, feeding `stdin`.
pub fn run(program: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    output(Command::new(program).args(args), stdin)
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// `helm template` of the chart as `release` in `namespace` with [`TEST_VALUES`] and more arguments
/// (`--set …`, `-f …`).
pub fn template_in(release: &str, namespace: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["-f", TEST_VALUES];
    all.extend_from_slice(args);
    template_bare_in(release, namespace, &all)
}

/// `helm template` of the chart as `release` in `namespace` with only `args` (not [`TEST_VALUES`]).
pub fn template_bare_in(release: &str, namespace: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec![
        "template",
        release,
        CHART,
        "--namespace",
        namespace,
        "--kube-version",
        KUBE_VERSION,
    ];
    all.extend_from_slice(args);
    let out = run(&helm(), &all, None);
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).expect("utf-8"))
    } else {
        Err(text(&out))
    }
}

/// The chart rendered with `args`, as parsed documents.
pub struct Rendered {
    pub yaml: String,
    pub docs: Vec<Value>,
}

pub fn render_in(release: &str, namespace: &str, args: &[&str]) -> Rendered {
    let yaml = template_in(release, namespace, args).unwrap_or_else(|e| panic!("helm template {args:?}: {e}"));
    let docs = parse_docs(&yaml);
    Rendered { yaml, docs }
}

pub fn render(args: &[&str]) -> Rendered {
    render_in(RELEASE, NAMESPACE, args)
}

/// Parses a multi-document YAML stream, dropping empty documents.
pub fn parse_docs(yaml: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).expect("rendered YAML parses"))
        .filter(|v| !v.is_null())
        .collect()
}

impl Rendered {
    pub fn all(&self, kind: &str) -> Vec<&Value> {
        self.docs.iter().filter(|d| d["kind"] == kind).collect()
    }

    /// The only object of `kind`.
    pub fn one(&self, kind: &str) -> &Value {
        let all = self.all(kind);
        assert_eq!(all.len(), 1, "expected one {kind}, got {}: {}", all.len(), self.yaml);
        all[0]
    }

    pub fn kinds(&self) -> BTreeSet<String> {
        self.docs.iter().map(|d| s(&d["kind"]).to_string()).collect()
    }

    pub fn deployment(&self) -> &Value {
        self.one("Deployment")
    }

    pub fn pod_spec(&self) -> &Value {
        &self.deployment()["spec"]["template"]["spec"]
    }

    /// The operator container.
    pub fn container(&self) -> &Value {
        let containers = seq(&self.pod_spec()["containers"]);
        assert_eq!(containers.len(), 1);
        &containers[0]
    }

    pub fn args(&self) -> Vec<String> {
        strings(&self.container()["args"])
    }

    /// The container's env, name → the EnvVar.
    pub fn env(&self) -> BTreeMap<String, Value> {
        seq(&self.container()["env"])
            .iter()
            .map(|e| (s(&e["name"]).to_string(), e.clone()))
            .collect()
    }
}

pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v:?}"))
}

pub fn seq(v: &Value) -> &Vec<Value> {
    v.as_sequence().unwrap_or_else(|| panic!("not a list: {v:?}"))
}

pub fn strings(v: &Value) -> Vec<String> {
    seq(v).iter().map(|x| s(x).to_string()).collect()
}

pub fn yaml(text: &str) -> Value {
    serde_norway::from_str(text).expect("test YAML")
}

/// A values file in a temporary directory, for `-f`.
pub struct ValuesFile {
    _dir: tempfile::TempDir,
    pub path: String,
}

pub fn values_file(content: &str) -> ValuesFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("values.yaml");
    std::fs::write(&path, content).unwrap();
    ValuesFile {
        path: path.to_string_lossy().into_owned(),
        _dir: dir,
    }
}

/// The variants every cluster-facing test exercises: defaults; namespaced (`watchNamespace`); and HA
/// with every optional object (PDB, ServiceMonitor, PrometheusRule, NetworkPolicy, dashboard, the CRD).
pub fn variants(watch_namespace: &str, dashboard_namespace: &str) -> Vec<(&'static str, Vec<String>)> {
    let set = |v: &[&str]| {
        v.iter()
            .flat_map(|x| ["--set".to_string(), x.to_string()])
            .collect::<Vec<_>>()
    };
    vec![
        ("defaults", vec![]),
        (
            "namespaced",
            set(&[&format!("watchNamespace={watch_namespace}"), "replicaCount=1"]),
        ),
        (
            "ha-full",
            set(&[
                "replicaCount=3",
                "podDisruptionBudget.maxUnavailable=1",
                "serviceMonitor.enabled=true",
                "prometheusRule.enabled=true",
                "networkPolicy.enabled=true",
                "networkPolicy.ingressFrom[0].podSelector.matchLabels.app\\.kubernetes\\.io/name=prometheus",
                "networkPolicy.egress[0].ports[0].port=443",
                "networkPolicy.egress[0].ports[0].protocol=TCP",
                "dashboard.enabled=true",
                &format!("dashboard.namespace={dashboard_namespace}"),
                "aws.region=eu-west-1",
                "commonLabels.team=platform",
                "crds.install=true",
            ]),
        ),
    ]
}

/// Chart.yaml, parsed.
pub fn chart_yaml() -> Value {
    yaml(&std::fs::read_to_string(format!("{CHART}/Chart.yaml")).unwrap())
}
