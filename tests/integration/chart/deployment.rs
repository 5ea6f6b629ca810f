//! Values that reach the Deployment: the image reference, every operator flag, and the escape hatches
//! and scheduling values.

use std::collections::BTreeSet;
use std::process::Command;

use super::{RELEASE, render, s, seq, values_file, yaml};

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
        image(&[
            "--set",
            "image.tag=1.2.3",
            "--set",
            "global.imageRegistry=mirror.example.test"
        ]),
        "mirror.example.test/vpc-lattice-operator/vpc-lattice-operator:1.2.3",
        "a parent chart's global.imageRegistry wins"
    );
    let r = render(&[
        "--set",
        "imagePullSecrets[0].name=own",
        "--set",
        "global.imagePullSecrets[0].name=shared",
    ]);
    assert_eq!(r.pod_spec()["imagePullSecrets"], yaml("[{name: own}, {name: shared}]"));
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
        "observationMaxAge=2500ms",
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
        "--set",
        "allowedRoleArns[0]=arn:aws:iam::111122223333:role/lattice-*",
        "--set",
        "allowedRoleArns[1]=arn:aws-cn:iam::*:role/platform/team-?",
        "--set",
        "adoption.allowedNamespaceLabel=platform.example.com/adopt=yes",
    ]);
    let args = r.args();
    for want in [
        "--cluster-name=prod eu/1",
        "--namespace=team-a",
        "--concurrency=3",
        "--resync-interval=45s",
        "--observation-max-age=2500ms",
        "--aws-max-rps=25",
        "--allow-adoption-label=platform.example.com/adopt=yes",
        "--leader-elect=true",
        "--lease-namespace=lattice-system",
        "--leader-election-id=vpc-lattice-operator-leader",
        "--admin-addr=[::]:9090",
        "--log-format=text",
        "--log-filter=warn,vpc_lattice_operator=debug",
    ] {
        assert!(args.contains(&want.to_string()), "{want} in {args:?}");
    }
    // One --allowed-role-arn per entry, in order; none when the list is empty (any role).
    let roles: Vec<&str> = args
        .iter()
        .filter_map(|a| a.strip_prefix("--allowed-role-arn="))
        .collect();
    assert_eq!(
        roles,
        [
            "arn:aws:iam::111122223333:role/lattice-*",
            "arn:aws-cn:iam::*:role/platform/team-?"
        ]
    );
    assert!(
        !render(&[]).args().iter().any(|a| a.starts_with("--allowed-role-arn")),
        "no allow-list by default"
    );
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
deploymentAnnotations: {reloader.stakater.com/auto: "true"}
revisionHistoryLimit: 3
extraObjects:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: "{{ .Release.Name }}-extra", namespace: "{{ .Release.Namespace }}"}
    data: {a: b}
  - |
    apiVersion: v1
    kind: Secret
    metadata: {name: {{ .Release.Name }}-extra-string}
"#,
    );
    let r = render(&["-f", &values.path]);
    let d = r.deployment();
    assert_eq!(d["metadata"]["annotations"]["reloader.stakater.com/auto"], "true");
    assert_eq!(d["spec"]["revisionHistoryLimit"], 3);
    let extra = r.one("ConfigMap");
    assert_eq!(
        extra["metadata"]["name"],
        format!("{RELEASE}-extra"),
        "maps are rendered with tpl"
    );
    assert_eq!(extra["metadata"]["namespace"], super::NAMESPACE);
    assert_eq!(
        r.one("Secret")["metadata"]["name"],
        format!("{RELEASE}-extra-string"),
        "strings too"
    );
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
