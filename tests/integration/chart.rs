//! The Helm chart (charts/vpc-lattice-operator), rendered by the pinned helm: every value reaches the
//! objects it should, the schema refuses typos and wrong types, `helm lint --strict` passes, and the
//! README is what helm-docs generates. The tests against the API server are in chart_cluster.rs, the
//! alerts and the dashboard in monitoring.rs. The tools are built from their pinned Go modules by
//! hack/go-tool.sh, once per test binary (support/tools.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_yaml::Value;

use crate::support::cluster::REPO;
use crate::support::tools;

pub const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/vpc-lattice-operator");
/// The release the render tests use; its name contains the chart's, so objects are named after it.
pub const RELEASE: &str = "vpc-lattice-operator";
pub const NAMESPACE: &str = "lattice-system";
/// The Kubernetes version `helm template`/`helm lint` assume (the test control plane's); helm's own
/// default is older than the chart's kubeVersion.
pub const KUBE_VERSION: &str = "1.37.0";
/// The name of the Lease (src/runtime/leader.rs).
pub const LEASE: &str = vpc_lattice_operator::runtime::leader::LEASE_NAME;

// ---------------------------------------------------------------------------------------------
// Tools

/// helm, from hack/tools/helm.
pub fn helm() -> PathBuf {
    tools::helm()
}

/// helm-docs, from hack/tools/helm-docs.
pub fn helm_docs() -> PathBuf {
    tools::go_tool("helm-docs", "helm-docs")
}

/// promtool, from hack/tools/promtool.
pub fn promtool() -> PathBuf {
    tools::go_tool("promtool", "promtool")
}

/// The directory holding the ServiceMonitor and PrometheusRule CRDs of the pinned prometheus-operator.
pub fn monitoring_crds() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let out = Command::new("bash")
            .arg(format!("{REPO}/hack/tools/prometheus-operator-crds/crds.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run crds.sh");
        assert!(
            out.status.success(),
            "hack/tools/prometheus-operator-crds/crds.sh failed"
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).lines().last().expect("dir").trim())
    })
}

/// Runs a command, feeding `stdin`.
pub fn run(program: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).expect("write stdin");
    }
    drop(input);
    child.wait_with_output().expect("output")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---------------------------------------------------------------------------------------------
// Rendering

/// `helm template` of the chart as `release` in `namespace` with more arguments (`--set …`, `-f …`).
pub fn template_in(release: &str, namespace: &str, args: &[&str]) -> Result<String, String> {
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
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| Value::deserialize(d).expect("rendered YAML parses"))
        .filter(|v| !v.is_null())
        .collect()
}

use serde::Deserialize;

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
    serde_yaml::from_str(text).expect("test YAML")
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
/// with every optional object (PDB, ServiceMonitor, PrometheusRule, NetworkPolicy, dashboard).
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
            ]),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Tests

fn chart_yaml() -> Value {
    yaml(&std::fs::read_to_string(format!("{CHART}/Chart.yaml")).unwrap())
}

fn labels_of(doc: &Value) -> &serde_yaml::Mapping {
    doc["metadata"]["labels"]
        .as_mapping()
        .unwrap_or_else(|| panic!("no labels: {doc:?}"))
}

#[test]
fn chart_versions_follow_the_cargo_package() {
    let chart = chart_yaml();
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["name"], "vpc-lattice-operator");
    assert_eq!(
        chart["appVersion"],
        env!("CARGO_PKG_VERSION"),
        "Chart.yaml appVersion is the Cargo version (the image tag)"
    );
    assert_eq!(chart["version"], "0.1.0");
    assert_eq!(chart["kubeVersion"], ">=1.28.0-0");
    for key in ["description", "home", "sources", "keywords", "maintainers"] {
        assert!(!chart[key].is_null(), "Chart.yaml has {key}");
    }
    // The kubeVersion constraint is enforced: the oldest supported minor renders, an older one not.
    let at = |v: &str| run(&helm(), &["template", "x", CHART, "--kube-version", v], None);
    assert!(at("1.28.0").status.success());
    let old = at("1.27.9");
    assert!(
        !old.status.success() && text(&old).contains("kubeVersion"),
        "{}",
        text(&old)
    );
}

#[test]
fn chart_defaults_render_an_ha_operator() {
    let r = render(&[]);
    let kinds: Vec<&str> = r.docs.iter().map(|d| s(&d["kind"])).collect();
    assert_eq!(
        r.kinds(),
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount"
        ]
        .into_iter()
        .map(String::from)
        .collect::<BTreeSet<_>>(),
        "{kinds:?}"
    );
    let d = r.deployment();
    assert_eq!(d["metadata"]["name"], RELEASE);
    assert_eq!(d["metadata"]["namespace"], NAMESPACE);
    assert_eq!(d["spec"]["replicas"], 2);
    let selector =
        yaml("app.kubernetes.io/name: vpc-lattice-operator\napp.kubernetes.io/instance: vpc-lattice-operator");
    assert_eq!(d["spec"]["selector"]["matchLabels"], selector);
    let c = r.container();
    assert_eq!(
        c["image"],
        format!(
            "ghcr.io/vpc-lattice-operator/vpc-lattice-operator:{}",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        r.args(),
        [
            "run",
            "--cluster-name=default",
            "--concurrency=8",
            "--resync-interval=10m",
            "--aws-max-rps=10",
            "--leader-elect=true",
            "--lease-namespace=lattice-system",
            "--admin-addr=0.0.0.0:8080",
            "--log-format=json",
            "--log-filter=info",
        ]
    );
    // Leader election: the Pod's name is the holder identity, its namespace the Lease's fallback.
    let env = r.env();
    assert_eq!(env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
    assert_eq!(
        env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert!(!env.contains_key("AWS_REGION"), "no region unless set");
    assert_eq!(c["ports"], yaml("- {name: admin, containerPort: 8080, protocol: TCP}"));
    assert_eq!(c["livenessProbe"]["httpGet"], yaml("{path: /livez, port: admin}"));
    assert_eq!(c["readinessProbe"]["httpGet"], yaml("{path: /readyz, port: admin}"));
    assert_eq!(
        c["resources"],
        yaml("{requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 256Mi}}")
    );
    assert_eq!(c["volumeMounts"], yaml("- {name: tmp, mountPath: /tmp}"));
    let pod = r.pod_spec();
    assert_eq!(pod["volumes"], yaml("- {name: tmp, emptyDir: {sizeLimit: 64Mi}}"));
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["serviceAccountName"], RELEASE);
    assert_eq!(pod["automountServiceAccountToken"], true);
    assert!(pod["priorityClassName"].is_null() && pod["nodeSelector"].is_null() && pod["affinity"].is_null());
    let spread = seq(&pod["topologySpreadConstraints"]);
    assert_eq!(spread.len(), 2);
    assert_eq!(spread[0]["topologyKey"], "topology.kubernetes.io/zone");
    assert_eq!(spread[1]["topologyKey"], "kubernetes.io/hostname");
    for c in spread {
        assert_eq!(c["whenUnsatisfiable"], "ScheduleAnyway");
        assert_eq!(c["maxSkew"], 1);
        assert_eq!(
            c["labelSelector"]["matchLabels"], selector,
            "spread over this release's Pods"
        );
    }
    let pdb = r.one("PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert!(pdb["spec"]["maxUnavailable"].is_null());
    assert_eq!(pdb["spec"]["selector"]["matchLabels"], selector);
    let svc = r.one("Service");
    assert_eq!(svc["spec"]["selector"], selector);
    assert_eq!(
        svc["spec"]["ports"],
        yaml("- {name: admin, port: 8080, targetPort: admin, protocol: TCP}")
    );
    // The recommended labels on every object.
    for doc in &r.docs {
        let l = labels_of(doc);
        for key in [
            "helm.sh/chart",
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by",
        ] {
            assert!(l.contains_key(key), "{key} on {:?}", doc["kind"]);
        }
        assert_eq!(l["app.kubernetes.io/version"], env!("CARGO_PKG_VERSION"));
    }
}

#[test]
fn chart_pods_are_restricted() {
    let r = render(&[]);
    let pod = r.pod_spec();
    assert_eq!(
        pod["securityContext"],
        yaml(
            "{runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, \
             seccompProfile: {type: RuntimeDefault}}"
        )
    );
    assert_eq!(
        r.container()["securityContext"],
        yaml("{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}")
    );
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        assert!(pod[key].is_null(), "{key}");
    }
    for v in seq(&pod["volumes"]) {
        assert!(v["hostPath"].is_null(), "no hostPath volumes");
    }
}

#[test]
fn chart_image_registry_repository_tag_and_digest() {
    let image = |args: &[&str]| s(&render(args).container()["image"]).to_string();
    assert_eq!(
        image(&["--set", "image.tag=1.2.3"]),
        "ghcr.io/vpc-lattice-operator/vpc-lattice-operator:1.2.3"
    );
    let digest = format!("sha256:{}", "a".repeat(64));
    assert_eq!(
        image(&["--set", "image.tag=1.2.3", "--set", &format!("image.digest={digest}")]),
        format!("ghcr.io/vpc-lattice-operator/vpc-lattice-operator@{digest}"),
        "a digest wins over the tag"
    );
    assert_eq!(
        image(&[
            "--set",
            "image.registry=registry.example.test:5000",
            "--set",
            "image.repository=team/operator",
            "--set",
            "image.tag=dev"
        ]),
        "registry.example.test:5000/team/operator:dev"
    );
    assert_eq!(
        image(&["--set", "image.registry=", "--set", "image.repository=local/operator"]),
        format!("local/operator:{}", env!("CARGO_PKG_VERSION"))
    );
    let r = render(&[
        "--set",
        "image.pullPolicy=Always",
        "--set",
        "imagePullSecrets[0].name=pull",
    ]);
    assert_eq!(r.container()["imagePullPolicy"], "Always");
    assert_eq!(r.pod_spec()["imagePullSecrets"], yaml("- name: pull"));
}

#[test]
fn chart_every_operator_flag_is_a_value() {
    let r = render(&[
        "--set",
        "clusterName=prod eu/1",
        "--set",
        "watchNamespace=team-a",
        "--set",
        "concurrency=3",
        "--set",
        "resyncInterval=45s",
        "--set",
        "awsMaxRps=25",
        "--set",
        "logFormat=text",
        "--set",
        "logFilter=warn\\,vpc_lattice_operator=debug",
        "--set",
        "admin.bindAddress=::",
        "--set",
        "admin.port=9090",
        "--set",
        "aws.region=eu-west-1",
        "--set",
        "aws.endpointUrl=https://vpc-lattice.example.test",
    ]);
    let args = r.args();
    for want in [
        "--cluster-name=prod eu/1",
        "--namespace=team-a",
        "--concurrency=3",
        "--resync-interval=45s",
        "--aws-max-rps=25",
        "--leader-elect=true",
        "--lease-namespace=lattice-system",
        "--admin-addr=[::]:9090",
        "--log-format=text",
        "--log-filter=warn,vpc_lattice_operator=debug",
    ] {
        assert!(args.contains(&want.to_string()), "{want} in {args:?}");
    }
    let env = r.env();
    assert_eq!(env["AWS_REGION"]["value"], "eu-west-1");
    assert_eq!(
        env["AWS_ENDPOINT_URL_VPC_LATTICE"]["value"],
        "https://vpc-lattice.example.test"
    );
    assert_eq!(r.container()["ports"][0]["containerPort"], 9090);
    assert_eq!(r.container()["livenessProbe"]["httpGet"]["port"], "admin");

    // Every flag of `vpc-lattice-operator run` is set by the chart (a new flag needs a value).
    let help = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"))
        .args(["run", "--help"])
        .output()
        .expect("run --help");
    let help = String::from_utf8_lossy(&help.stdout);
    let flags: BTreeSet<&str> = help
        .split_whitespace()
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.trim_end_matches([',', '=', '.']).split('=').next().unwrap())
        .filter(|f| !matches!(*f, "--help" | "--version"))
        .collect();
    assert!(flags.contains("--cluster-name") && flags.len() >= 10, "{flags:?}");
    for flag in flags {
        assert!(
            args.iter().any(|a| a.starts_with(&format!("{flag}="))),
            "`run {flag}` has no chart value: add one to values.yaml and templates/deployment.yaml"
        );
    }
}

#[test]
fn chart_escape_hatches_and_scheduling_values() {
    let values = values_file(
        r#"
extraArgs: ["--some-future-flag=1"]
env:
  - {name: AWS_STS_REGIONAL_ENDPOINTS, value: regional}
envFrom:
  - configMapRef: {name: operator-env}
extraVolumes:
  - name: ca
    configMap: {name: corporate-ca}
extraVolumeMounts:
  - {name: ca, mountPath: /etc/ssl/corporate, readOnly: true}
podLabels: {sidecar.istio.io/inject: "false"}
podAnnotations: {example.test/scrape: "yes"}
nodeSelector: {kubernetes.io/os: linux, node-role.example.test/system: "true"}
tolerations:
  - {key: CriticalAddonsOnly, operator: Exists}
affinity:
  nodeAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
      nodeSelectorTerms:
        - matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64, arm64]}]
topologySpreadConstraints:
  - maxSkew: 2
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: DoNotSchedule
    labelSelector: {matchLabels: {custom: selector}}
priorityClassName: system-cluster-critical
terminationGracePeriodSeconds: 60
strategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 0, maxSurge: 1}}
resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 512Mi}}
serviceAccount:
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/lattice"}
"#,
    );
    let r = render(&["-f", &values.path]);
    let args = r.args();
    assert_eq!(args.last().unwrap(), "--some-future-flag=1", "extraArgs come last");
    let env = r.env();
    assert_eq!(env["AWS_STS_REGIONAL_ENDPOINTS"]["value"], "regional");
    assert!(env.contains_key("POD_NAME"), "the chart's env stays");
    let c = r.container();
    assert_eq!(c["envFrom"], yaml("- configMapRef: {name: operator-env}"));
    assert_eq!(
        c["volumeMounts"],
        yaml("[{name: tmp, mountPath: /tmp}, {name: ca, mountPath: /etc/ssl/corporate, readOnly: true}]")
    );
    assert_eq!(c["resources"]["limits"]["memory"], "512Mi");
    let pod = r.pod_spec();
    assert_eq!(seq(&pod["volumes"])[1]["configMap"]["name"], "corporate-ca");
    assert_eq!(pod["nodeSelector"]["node-role.example.test/system"], "true");
    assert_eq!(
        pod["tolerations"],
        yaml("- {key: CriticalAddonsOnly, operator: Exists}")
    );
    assert_eq!(
        pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
            [0]["key"],
        "kubernetes.io/arch"
    );
    assert_eq!(
        pod["topologySpreadConstraints"],
        yaml(
            "- {maxSkew: 2, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: DoNotSchedule, \
             labelSelector: {matchLabels: {custom: selector}}}"
        ),
        "a given labelSelector is kept"
    );
    assert_eq!(pod["priorityClassName"], "system-cluster-critical");
    assert_eq!(pod["terminationGracePeriodSeconds"], 60);
    let template = &r.deployment()["spec"]["template"]["metadata"];
    assert_eq!(template["labels"]["sidecar.istio.io/inject"], "false");
    assert_eq!(template["annotations"]["example.test/scrape"], "yes");
    assert_eq!(r.deployment()["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0);
    assert_eq!(
        r.one("ServiceAccount")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::111122223333:role/lattice"
    );
}

#[test]
fn chart_replicas_leader_election_and_disruption_budget() {
    let r = render(&["--set", "replicaCount=1"]);
    assert_eq!(r.deployment()["spec"]["replicas"], 1);
    assert!(r.all("PodDisruptionBudget").is_empty(), "no PDB for one replica");

    let r = render(&["--set", "replicaCount=3"]);
    assert_eq!(r.deployment()["spec"]["replicas"], 3);
    assert_eq!(r.one("PodDisruptionBudget")["spec"]["minAvailable"], 1);

    let r = render(&["--set", "podDisruptionBudget.maxUnavailable=1"]);
    let spec = &r.one("PodDisruptionBudget")["spec"];
    assert_eq!(spec["maxUnavailable"], 1);
    assert!(spec["minAvailable"].is_null(), "maxUnavailable replaces minAvailable");
    let r = render(&["--set-string", "podDisruptionBudget.minAvailable=50%"]);
    assert_eq!(r.one("PodDisruptionBudget")["spec"]["minAvailable"], "50%");
    let r = render(&["--set", "podDisruptionBudget.enabled=false"]);
    assert!(r.all("PodDisruptionBudget").is_empty());

    // Without leader election: no Lease, its Role or flag, and more than one replica is refused.
    let r = render(&["--set", "leaderElection.enabled=false", "--set", "replicaCount=1"]);
    let args = r.args();
    assert!(args.contains(&"--leader-elect=false".to_string()));
    assert!(!args.iter().any(|a| a.starts_with("--lease-namespace")));
    assert!(r.all("Role").is_empty() && r.all("RoleBinding").is_empty());
    let err = template_in(RELEASE, NAMESPACE, &["--set", "leaderElection.enabled=false"]).unwrap_err();
    assert!(err.contains("leaderElection.enabled"), "{err}");
}

/// The rules of a (Cluster)Role as (apiGroup, resource, verb, resourceNames) tuples.
fn grants(role: &Value) -> BTreeSet<(String, String, String, Vec<String>)> {
    let mut out = BTreeSet::new();
    for rule in seq(&role["rules"]) {
        let names = if rule["resourceNames"].is_null() {
            vec![]
        } else {
            strings(&rule["resourceNames"])
        };
        for g in strings(&rule["apiGroups"]) {
            for r in strings(&rule["resources"]) {
                for v in strings(&rule["verbs"]) {
                    out.insert((g.clone(), r.clone(), v, names.clone()));
                }
            }
        }
    }
    out
}

fn grant(g: &str, r: &str, v: &str, names: &[&str]) -> (String, String, String, Vec<String>) {
    (
        g.into(),
        r.into(),
        v.into(),
        names.iter().map(|n| n.to_string()).collect(),
    )
}

fn operator_grants() -> BTreeSet<(String, String, String, Vec<String>)> {
    let g = "vpclattice.operator.dev";
    let mut want = BTreeSet::new();
    for v in ["get", "list", "watch", "patch", "update"] {
        want.insert(grant(g, "servicenetworkserviceassociations", v, &[]));
    }
    for v in ["patch", "update"] {
        want.insert(grant(g, "servicenetworkserviceassociations/status", v, &[]));
    }
    want.insert(grant(g, "servicenetworkserviceassociations/finalizers", "update", &[]));
    for v in ["create", "patch"] {
        want.insert(grant("events.k8s.io", "events", v, &[]));
    }
    want
}

fn subject_is_the_service_account(binding: &Value, sa: &str) {
    assert_eq!(
        binding["subjects"],
        yaml(&format!(
            "- {{kind: ServiceAccount, name: {sa}, namespace: {NAMESPACE}}}"
        ))
    );
}

#[test]
fn chart_rbac_cluster_wide_or_namespaced() {
    let leader_grants: BTreeSet<_> = [
        grant("coordination.k8s.io", "leases", "create", &[]),
        grant("coordination.k8s.io", "leases", "get", &[LEASE]),
        grant("coordination.k8s.io", "leases", "patch", &[LEASE]),
    ]
    .into();

    // Cluster-wide: one ClusterRole (the resource, Events, get Namespaces) and the Lease's Role.
    let r = render(&[]);
    let cr = r.one("ClusterRole");
    let mut want = operator_grants();
    want.insert(grant("", "namespaces", "get", &[]));
    assert_eq!(grants(cr), want);
    let crb = r.one("ClusterRoleBinding");
    assert_eq!(crb["roleRef"]["name"], cr["metadata"]["name"]);
    subject_is_the_service_account(crb, RELEASE);
    let lease_role = r.one("Role");
    assert_eq!(lease_role["metadata"]["namespace"], NAMESPACE);
    assert_eq!(grants(lease_role), leader_grants);
    let rb = r.one("RoleBinding");
    assert_eq!(rb["metadata"]["namespace"], NAMESPACE);
    assert_eq!(
        rb["roleRef"],
        yaml(&format!(
            "{{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {}}}",
            s(&lease_role["metadata"]["name"])
        ))
    );
    subject_is_the_service_account(rb, RELEASE);

    // Namespaced: the operator's rules in a Role of the watched namespace; `get` on that Namespace
    // alone through a ClusterRole (Namespaces are cluster-scoped); the Lease stays in the release's.
    let r = render(&["--set", "watchNamespace=team-a"]);
    let roles = r.all("Role");
    assert_eq!(roles.len(), 2);
    let ops = roles
        .iter()
        .find(|x| x["metadata"]["namespace"] == "team-a")
        .expect("Role in team-a");
    assert_eq!(grants(ops), operator_grants());
    let lease_role = roles
        .iter()
        .find(|x| x["metadata"]["namespace"] == NAMESPACE)
        .expect("Lease Role");
    assert_eq!(grants(lease_role), leader_grants);
    let rbs = r.all("RoleBinding");
    assert_eq!(rbs.len(), 2);
    for rb in &rbs {
        subject_is_the_service_account(rb, RELEASE);
        assert_eq!(rb["roleRef"]["kind"], "Role");
    }
    let ops_binding = rbs.iter().find(|x| x["metadata"]["namespace"] == "team-a").unwrap();
    assert_eq!(ops_binding["roleRef"]["name"], ops["metadata"]["name"]);
    let cr = r.one("ClusterRole");
    assert_eq!(grants(cr), [grant("", "namespaces", "get", &["team-a"])].into());
    let crb = r.one("ClusterRoleBinding");
    assert_eq!(crb["roleRef"]["name"], cr["metadata"]["name"]);
    subject_is_the_service_account(crb, RELEASE);

    // Nothing else, anywhere: no Secrets, Pods, core Events or wildcards.
    for args in [&[][..], &["--set", "watchNamespace=team-a"][..]] {
        for role in render(args)
            .docs
            .iter()
            .filter(|d| d["kind"] == "Role" || d["kind"] == "ClusterRole")
        {
            for (group, resource, verb, _) in grants(role) {
                assert!(!["secrets", "pods", "*"].contains(&resource.as_str()), "{resource}");
                assert!(verb != "*" && group != "*" && !(group.is_empty() && resource == "events"));
                assert!(verb != "delete" && verb != "deletecollection", "{resource} {verb}");
            }
        }
    }

    // rbac.create=false: none; an existing ServiceAccount is used by name.
    let r = render(&[
        "--set",
        "rbac.create=false",
        "--set",
        "serviceAccount.create=false",
        "--set",
        "serviceAccount.name=existing",
    ]);
    for kind in [
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
    ] {
        assert!(r.all(kind).is_empty(), "{kind}");
    }
    assert_eq!(r.pod_spec()["serviceAccountName"], "existing");
    let r = render(&["--set", "serviceAccount.name=custom"]);
    assert_eq!(r.one("ServiceAccount")["metadata"]["name"], "custom");
    subject_is_the_service_account(r.one("ClusterRoleBinding"), "custom");
}

#[test]
fn chart_monitoring_and_network_objects_toggle() {
    let r = render(&[]);
    for kind in ["ServiceMonitor", "PrometheusRule", "NetworkPolicy", "ConfigMap"] {
        assert!(r.all(kind).is_empty(), "{kind} off by default");
    }
    let values = values_file(
        r#"
serviceMonitor:
  enabled: true
  labels: {release: kube-prometheus-stack}
  interval: 15s
  scrapeTimeout: 10s
  metricRelabelings: [{action: drop, sourceLabels: [__name__], regex: go_.*}]
prometheusRule:
  enabled: true
  labels: {release: kube-prometheus-stack}
  alertLabels: {team: platform}
  runbookUrl: https://runbooks.example.test/vpc-lattice-operator
  disabledAlerts: [VpcLatticeOperatorAwsThrottled]
  extraRules:
    - {alert: Custom, expr: vector(1)}
dashboard:
  enabled: true
  namespace: monitoring
  annotations: {grafana_folder: AWS}
networkPolicy:
  enabled: true
  ingressFrom:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
"#,
    );
    let r = render(&["-f", &values.path]);
    let selector = &r.one("Service")["metadata"]["labels"];
    let sm = r.one("ServiceMonitor");
    assert_eq!(sm["metadata"]["labels"]["release"], "kube-prometheus-stack");
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_mapping().unwrap() {
        assert_eq!(
            &selector[k.as_str().unwrap()],
            v,
            "the ServiceMonitor selects the Service"
        );
    }
    assert_eq!(
        sm["spec"]["namespaceSelector"]["matchNames"],
        yaml(&format!("[{NAMESPACE}]"))
    );
    let ep = &sm["spec"]["endpoints"][0];
    assert_eq!(ep["port"], "admin");
    assert_eq!(ep["path"], "/metrics");
    assert_eq!(ep["interval"], "15s");
    assert_eq!(ep["scrapeTimeout"], "10s");
    assert_eq!(ep["metricRelabelings"][0]["action"], "drop");

    let pr = r.one("PrometheusRule");
    assert_eq!(pr["metadata"]["labels"]["release"], "kube-prometheus-stack");
    let rules = seq(&pr["spec"]["groups"][0]["rules"]);
    let names: Vec<&str> = rules.iter().map(|r| s(&r["alert"])).collect();
    assert!(
        names.contains(&"VpcLatticeOperatorDown") && names.contains(&"Custom"),
        "{names:?}"
    );
    assert!(!names.contains(&"VpcLatticeOperatorAwsThrottled"), "disabled");
    for rule in rules.iter().filter(|r| r["alert"] != "Custom") {
        assert_eq!(rule["labels"]["team"], "platform");
        assert!(!rule["labels"]["severity"].is_null());
        let alert = s(&rule["alert"]).to_lowercase();
        assert_eq!(
            rule["annotations"]["runbook_url"],
            format!("https://runbooks.example.test/vpc-lattice-operator#{alert}")
        );
        assert!(
            s(&rule["expr"]).contains(&format!(r#"job="{RELEASE}",namespace="{NAMESPACE}""#)),
            "alerts select this release's series"
        );
    }
    let pr = render(&[
        "--set",
        "prometheusRule.enabled=true",
        "--set",
        r#"prometheusRule.selector=service="lattice"\,cluster="eu-1""#,
    ]);
    for rule in seq(&pr.one("PrometheusRule")["spec"]["groups"][0]["rules"]) {
        assert!(
            s(&rule["expr"]).contains(r#"service="lattice",cluster="eu-1""#),
            "{:?}",
            rule["expr"]
        );
    }

    let cm = r.one("ConfigMap");
    assert_eq!(cm["metadata"]["namespace"], "monitoring");
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(cm["metadata"]["annotations"]["grafana_folder"], "AWS");
    let dashboard: serde_json::Value =
        serde_json::from_str(s(&cm["data"]["vpc-lattice-operator.json"])).expect("dashboard JSON");
    assert_eq!(dashboard["uid"], "vpc-lattice-operator");

    let np = r.one("NetworkPolicy");
    assert_eq!(np["spec"]["policyTypes"], yaml("[Ingress]"), "egress open unless given");
    assert_eq!(
        np["spec"]["podSelector"]["matchLabels"],
        r.deployment()["spec"]["selector"]["matchLabels"]
    );
    let ingress = seq(&np["spec"]["ingress"]);
    assert_eq!(ingress.len(), 1);
    assert_eq!(ingress[0]["ports"], yaml("- {port: admin, protocol: TCP}"));
    assert_eq!(
        ingress[0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    assert!(np["spec"]["egress"].is_null());
    let np = render(&[
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "networkPolicy.egress[0].ports[0].port=443",
    ]);
    let np = np.one("NetworkPolicy");
    assert_eq!(np["spec"]["policyTypes"], yaml("[Ingress, Egress]"));
    assert_eq!(np["spec"]["egress"][0]["ports"][0]["port"], 443);
    assert!(np["spec"]["ingress"][0]["from"].is_null(), "no peers: any source");

    // The ServiceMonitor scrapes the Service, so it needs it.
    let err = template_in(
        RELEASE,
        NAMESPACE,
        &["--set", "serviceMonitor.enabled=true", "--set", "service.enabled=false"],
    )
    .unwrap_err();
    assert!(err.contains("service.enabled"), "{err}");
}

#[test]
fn chart_common_labels_reach_every_object() {
    let (_, args) = variants("team-a", "monitoring").remove(2);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.extend([
        "--set",
        "commonLabels.cost-center=lattice",
        "--set",
        "watchNamespace=team-a",
    ]);
    let r = render(&args);
    assert!(r.docs.len() >= 14, "every optional object rendered: {:?}", r.kinds());
    for doc in r.docs.iter() {
        let l = labels_of(doc);
        assert_eq!(l["team"], "platform", "{:?} {:?}", doc["kind"], doc["metadata"]["name"]);
        assert_eq!(l["cost-center"], "lattice");
    }
    let pod_labels = &r.deployment()["spec"]["template"]["metadata"]["labels"];
    assert_eq!(pod_labels["team"], "platform");
    assert_eq!(
        r.deployment()["spec"]["selector"]["matchLabels"]
            .as_mapping()
            .unwrap()
            .len(),
        2,
        "commonLabels stay out of the immutable selector"
    );
}

#[test]
fn chart_names_follow_the_overrides() {
    let r = render_in("prod", NAMESPACE, &[]);
    assert_eq!(r.deployment()["metadata"]["name"], "prod-vpc-lattice-operator");
    let r = render_in("prod", NAMESPACE, &["--set", "nameOverride=lattice"]);
    assert_eq!(r.deployment()["metadata"]["name"], "prod-lattice");
    assert_eq!(
        r.deployment()["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
        "lattice"
    );
    let r = render_in("prod", NAMESPACE, &["--set", "fullnameOverride=lattice-operator"]);
    for doc in r
        .docs
        .iter()
        .filter(|d| d["kind"] != "Role" && d["kind"] != "RoleBinding")
    {
        assert_eq!(doc["metadata"]["name"], "lattice-operator", "{:?}", doc["kind"]);
    }
}

/// `helm template` and `helm lint --strict` both refuse `values` with a message naming `key`.
fn refused(values: &str, key: &str) {
    let f = values_file(values);
    let err = template_in(RELEASE, NAMESPACE, &["-f", &f.path]).expect_err(values);
    assert!(err.contains(key), "helm template names {key}: {err}");
    let lint = run(
        &helm(),
        &["lint", "--strict", "--kube-version", KUBE_VERSION, CHART, "-f", &f.path],
        None,
    );
    assert!(!lint.status.success(), "helm lint refuses {values}");
    assert!(text(&lint).contains(key), "helm lint names {key}: {}", text(&lint));
}

#[test]
fn chart_schema_refuses_typos_and_wrong_types() {
    refused("replicaCont: 2\n", "replicaCont");
    refused("replicaCount: two\n", "replicaCount");
    refused("image:\n  tagg: v1\n", "tagg");
    refused("image:\n  pullPolicy: Sometimes\n", "pullPolicy");
    refused("image:\n  digest: v1\n", "digest");
    refused("logFormat: xml\n", "logFormat");
    refused("concurrency: 0\n", "concurrency");
    refused("resyncInterval: ten minutes\n", "resyncInterval");
    refused("watchNamespace: Team_A\n", "watchNamespace");
    refused("serviceAccount:\n  anotations: {}\n", "anotations");
    refused("leaderElection: true\n", "leaderElection");
    refused("podSecurityContext:\n  runAsNonroot: true\n", "runAsNonroot");
    refused("resources:\n  limit: {memory: 1Gi}\n", "limit");
    refused("prometheusRule:\n  disabledAlerts: [NoSuchAlert]\n", "disabledAlerts");
    refused("serviceMonitor:\n  interval: often\n", "interval");
    refused("podDisruptionBudget:\n  maxUnavailable: some\n", "maxUnavailable");
    // An umbrella chart's (or Rancher's) `global` is allowed.
    let f = values_file("global:\n  imageRegistry: mirror.example.test\n  cattle: {clusterId: c-1}\n");
    template_in(RELEASE, NAMESPACE, &["-f", &f.path]).expect("global is allowed");
}

#[test]
fn chart_lint_strict_passes_for_every_variant() {
    for (name, args) in variants("team-a", "monitoring") {
        let mut all = vec![
            "lint",
            "--strict",
            "--kube-version",
            KUBE_VERSION,
            CHART,
            "--namespace",
            NAMESPACE,
        ];
        all.extend(args.iter().map(String::as_str));
        let out = run(&helm(), &all, None);
        assert!(out.status.success(), "helm lint --strict ({name}): {}", text(&out));
        assert!(text(&out).contains("0 chart(s) failed"), "{}", text(&out));
    }
    // The minimum supported Kubernetes, too (deprecation checks at that version).
    let out = run(&helm(), &["lint", "--strict", "--kube-version", "1.28.0", CHART], None);
    assert!(out.status.success(), "{}", text(&out));
}

/// The flags `make chart-docs` gives helm-docs.
pub const HELM_DOCS_FLAGS: [&str; 2] = ["--sort-values-order", "file"];

#[test]
fn chart_readme_is_generated_from_values() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("vpc-lattice-operator");
    copy_dir(Path::new(CHART), &copy);
    let copy_str = copy.to_string_lossy().to_string();
    let mut args = vec!["--chart-search-root", &copy_str];
    args.extend(HELM_DOCS_FLAGS);
    let out = run(&helm_docs(), &args, None);
    assert!(out.status.success(), "helm-docs: {}", text(&out));
    let generated = std::fs::read_to_string(copy.join("README.md")).unwrap();
    let committed = std::fs::read_to_string(format!("{CHART}/README.md")).unwrap_or_default();
    assert!(
        generated == committed,
        "charts/vpc-lattice-operator/README.md is not what helm-docs generates from values.yaml: run `make chart-docs`"
    );

    // Every value is documented: each key path of values.yaml is a row of the table, or below one.
    let rows: BTreeSet<String> = committed
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" |").next())
        .map(|k| k.trim().to_string())
        .filter(|k| k != "Key" && !k.starts_with('-'))
        .collect();
    let values: Value = yaml(&std::fs::read_to_string(format!("{CHART}/values.yaml")).unwrap());
    let mut paths = vec![];
    key_paths(&values, "", &mut paths);
    for p in &paths {
        assert!(
            rows.iter().any(|r| p == r || p.starts_with(&format!("{r}."))),
            "values.yaml key {p} has no `# --` description"
        );
    }
    for r in &rows {
        assert!(
            paths.iter().any(|p| p == r || p.starts_with(&format!("{r}."))),
            "README row {r} is no value"
        );
    }
    for needle in [
        "kubectl apply --server-side --force-conflicts -f",
        "upgrade.crds: CreateReplace",
        "eks.amazonaws.com/role-arn",
        "create-pod-identity-association",
        "helm uninstall",
    ] {
        assert!(committed.contains(needle), "the README explains {needle}");
    }
}

fn key_paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v.as_mapping() {
        Some(m) if !m.is_empty() => {
            for (k, child) in m {
                let key = k.as_str().unwrap();
                let path = if prefix.is_empty() {
                    key.to_string()
                } else {
                    format!("{prefix}.{key}")
                };
                key_paths(child, &path, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn chart_package_ships_the_chart_without_its_tests() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().to_string_lossy().to_string();
    let out = run(&helm(), &["package", CHART, "--destination", &dest], None);
    assert!(out.status.success(), "helm package: {}", text(&out));
    let archive = dir.path().join(format!(
        "vpc-lattice-operator-{}.tgz",
        chart_yaml()["version"].as_str().unwrap()
    ));
    let list = Command::new("tar").arg("tzf").arg(&archive).output().expect("tar");
    let files = String::from_utf8_lossy(&list.stdout);
    for want in [
        "vpc-lattice-operator/Chart.yaml",
        "vpc-lattice-operator/values.schema.json",
        "vpc-lattice-operator/README.md",
        "vpc-lattice-operator/crds/servicenetworkserviceassociations.vpclattice.operator.dev.yaml",
        "vpc-lattice-operator/dashboards/vpc-lattice-operator.json",
        "vpc-lattice-operator/templates/NOTES.txt",
    ] {
        assert!(files.lines().any(|l| l == want), "{want} in the package: {files}");
    }
    assert!(
        !files.contains("/tests/") && !files.contains(".gotmpl"),
        "rule tests and the README template stay out of the package: {files}"
    );
}
