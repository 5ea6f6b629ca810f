//! The chart rendered with its defaults and the naming values: versions follow the Cargo package,
//! the defaults make an HA operator with the recommended labels, the Pods are `restricted`, names
//! follow the overrides and commonLabels reach every object.

use std::collections::BTreeSet;

use serde_norway::Value;

use super::{
    CHART, CLUSTER_NAME, LEASE, NAMESPACE, RELEASE, TEST_VALUES, chart_yaml, render, render_in, run, s, seq,
    template_bare_in, variants, yaml,
};
use crate::support::text;
use crate::support::tools::helm;

fn labels_of(doc: &Value) -> &serde_norway::Mapping {
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
    // Below 1.30 (no admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy) the admission policy
    // must be turned off, and the chart says so.
    let at = |v: &str, more: &[&str]| {
        let mut args = vec!["template", "x", CHART, "-f", TEST_VALUES, "--kube-version", v];
        args.extend_from_slice(more);
        run(&helm(), &args, None)
    };
    let off = ["--set", "adoption.admissionPolicy.enabled=false"];
    assert!(at("1.28.0", &off).status.success(), "{}", text(&at("1.28.0", &off)));
    let old = at("1.27.9", &off);
    assert!(
        !old.status.success() && text(&old).contains("kubeVersion"),
        "{}",
        text(&old)
    );
    let no_vap = at("1.29.9", &[]);
    assert!(
        !no_vap.status.success()
            && text(&no_vap).contains(
                "adoption.admissionPolicy.enabled needs Kubernetes 1.30 or newer (admissionregistration.k8s.io/v1 \
                 ValidatingAdmissionPolicy): set it to false on older clusters"
            ),
        "{}",
        text(&no_vap)
    );
    assert!(at("1.30.0", &[]).status.success());
}

#[test]
fn chart_requires_the_cluster_name() {
    let message = "clusterName is required: the name of this cluster, written to the vpclattice.operator.dev/cluster \
                   tag of every association and used by the tag-scoped IAM policy; give each cluster that shares an \
                   AWS account its own";
    for args in [
        &[][..],
        &["--set", "clusterName="][..],
        &["--set", "clusterName=null"][..],
        &["--set", "replicaCount=1", "--set", "watchNamespace=team-a"][..],
    ] {
        let err = template_bare_in(RELEASE, NAMESPACE, args).expect_err("no clusterName");
        assert!(err.contains(message), "{args:?}: helm names the missing value: {err}");
    }
    // helm lint renders leniently (`required` and `fail` do not fail it) but says it.
    let lint = run(
        &helm(),
        &["lint", "--strict", "--kube-version", super::KUBE_VERSION, CHART],
        None,
    );
    assert!(text(&lint).contains(message), "{}", text(&lint));
    let r = render(&["--set", "clusterName=prod-eu-1"]);
    assert!(r.args().contains(&"--cluster-name=prod-eu-1".to_string()));
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
            "Pod",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        ]
        .into_iter()
        .map(String::from)
        .collect::<BTreeSet<_>>(),
        "{kinds:?}"
    );
    let d = r.deployment();
    assert_eq!(d["metadata"]["name"], RELEASE);
    let cluster_scoped = format!("{NAMESPACE}.{RELEASE}");
    for kind in [
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ] {
        assert_eq!(r.one(kind)["metadata"]["name"], cluster_scoped.as_str(), "{kind}");
        assert!(
            r.one(kind)["metadata"]["namespace"].is_null(),
            "{kind} is cluster-scoped"
        );
    }
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
            format!("--cluster-name={CLUSTER_NAME}").as_str(),
            "--concurrency=8",
            "--resync-interval=10m",
            "--observation-max-age=1s",
            "--shutdown-timeout=20s",
            "--aws-max-rps=10",
            "--require-namespace-role=false",
            "--allow-adoption-label=vpclattice.operator.dev/allow-adoption=true",
            "--leader-elect=true",
            "--lease-namespace=lattice-system",
            format!("--leader-election-id={LEASE}").as_str(),
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
    assert!(pod["priorityClassName"].is_null() && pod["affinity"].is_null());
    assert_eq!(
        pod["nodeSelector"],
        yaml("{kubernetes.io/os: linux}"),
        "Linux nodes only: the image is Linux"
    );
    assert_eq!(r.deployment()["spec"]["revisionHistoryLimit"], 10);
    assert!(r.deployment()["metadata"]["annotations"].is_null());
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
    // The recommended labels on every object (the `helm test` Pod leaves out the name, which the
    // operator's Pods are selected by).
    for doc in &r.docs {
        let l = labels_of(doc);
        for key in [
            "helm.sh/chart",
            "app.kubernetes.io/name",
            "app.kubernetes.io/instance",
            "app.kubernetes.io/version",
            "app.kubernetes.io/managed-by",
        ] {
            let test_pod = doc["kind"] == "Pod" && key == "app.kubernetes.io/name";
            assert_eq!(l.contains_key(key), !test_pod, "{key} on {:?}", doc["kind"]);
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
        let want = if doc["metadata"]["namespace"].is_null() {
            format!("{NAMESPACE}.lattice-operator")
        } else if doc["kind"] == "Pod" {
            "lattice-operator-test".to_string()
        } else {
            "lattice-operator".to_string()
        };
        assert_eq!(doc["metadata"]["name"], want.as_str(), "{:?}", doc["kind"]);
    }
    assert!(
        r.args()
            .contains(&"--leader-election-id=lattice-operator-leader".to_string())
    );
}

#[test]
fn chart_installs_the_generated_crd_and_keeps_it_by_default() {
    let crds_of = |args: &[&str]| -> Vec<Value> {
        let mut all = vec!["--set", "clusterName=test-cluster"];
        all.extend_from_slice(args);
        let yaml = template_bare_in(RELEASE, NAMESPACE, &all).expect("render");
        super::parse_docs(&yaml)
            .into_iter()
            .filter(|d| d["kind"] == "CustomResourceDefinition")
            .collect()
    };
    let generated: Value = yaml(&vpc_lattice_operator::api::crd_yaml());

    // Defaults: the generated CRD, with the release's labels and Helm's keep policy.
    let crds = crds_of(&[]);
    assert_eq!(crds.len(), 1, "the chart renders the CRD by default");
    let crd = &crds[0];
    assert_eq!(crd["metadata"]["name"], generated["metadata"]["name"]);
    assert_eq!(crd["spec"], generated["spec"], "the rendered CRD is the generated one");
    assert_eq!(crd["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
    assert_eq!(
        crd["metadata"]["annotations"]["argocd.argoproj.io/sync-options"], "Delete=false,Prune=false",
        "Argo CD keeps it too"
    );
    let labels = labels_of(crd);
    assert_eq!(labels["app.kubernetes.io/instance"], RELEASE);
    assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");

    // crds.keep=false: Helm deletes it with the release (and every object with it).
    let crds = crds_of(&["--set", "crds.keep=false"]);
    assert_eq!(crds.len(), 1);
    assert!(
        crds[0]["metadata"]["annotations"].is_null(),
        "{:?}",
        crds[0]["metadata"]
    );

    // crds.install=false: another release, or the platform team, owns it.
    assert!(crds_of(&["--set", "crds.install=false"]).is_empty());
}

#[test]
fn chart_helm_test_pod_checks_the_release_service_and_is_no_operator_pod() {
    let r = render(&[]);
    let pod = r.one("Pod");
    assert_eq!(pod["metadata"]["annotations"]["helm.sh/hook"], "test");
    let service = r.one("Service");
    let port = service["spec"]["ports"][0]["port"].as_u64().unwrap();
    let url = format!(
        "--url=http://{}.{NAMESPACE}.svc:{port}",
        s(&service["metadata"]["name"])
    );
    assert_eq!(
        super::strings(&pod["spec"]["containers"][0]["args"]),
        ["check", url.as_str(), "--timeout=60s"]
    );
    assert_eq!(pod["spec"]["containers"][0]["image"], r.container()["image"]);
    // No selector of the operator's Pods takes it for one of them.
    let labels = labels_of(pod);
    for selector in [
        &service["spec"]["selector"],
        &r.one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    ] {
        let selector = selector.as_mapping().unwrap();
        assert!(
            selector.iter().any(|(k, v)| labels.get(k) != Some(v)),
            "{selector:?} does not select the test Pod ({labels:?})"
        );
    }
    assert!(render(&["--set", "helmTest.enabled=false"]).all("Pod").is_empty());
    assert!(
        render(&["--set", "service.enabled=false"]).all("Pod").is_empty(),
        "no Service, nothing to check"
    );
}
