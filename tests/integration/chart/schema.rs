//! What guards the chart: the schema refuses typos and wrong types, `helm lint --strict` passes for
//! every variant, the README is what helm-docs generates from values.yaml, and the package ships the
//! chart without its tests.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_norway::Value;

use super::{
    CHART, KUBE_VERSION, NAMESPACE, RELEASE, TEST_VALUES, chart_yaml, run, template_in, values_file, variants, yaml,
};
use crate::support::tools::{helm, helm_docs};
use crate::support::{copy_dir, text};

/// `helm template` and `helm lint --strict` both refuse `values` with a message naming `key`.
fn refused(values: &str, key: &str) {
    let f = values_file(values);
    let err = template_in(RELEASE, NAMESPACE, &["-f", &f.path]).expect_err(values);
    assert!(err.contains(key), "helm template names {key}: {err}");
    let lint = run(
        &helm(),
        &[
            "lint",
            "--strict",
            "--kube-version",
            KUBE_VERSION,
            CHART,
            "-f",
            TEST_VALUES,
            "-f",
            &f.path,
        ],
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
    refused("observationMaxAge: one second\n", "observationMaxAge");
    refused("watchNamespace: Team_A\n", "watchNamespace");
    refused("serviceAccount:\n  anotations: {}\n", "anotations");
    refused("leaderElection: true\n", "leaderElection");
    refused("podSecurityContext:\n  runAsNonroot: true\n", "runAsNonroot");
    refused("resources:\n  limit: {memory: 1Gi}\n", "limit");
    refused("prometheusRule:\n  disabledAlerts: [NoSuchAlert]\n", "disabledAlerts");
    refused("serviceMonitor:\n  interval: often\n", "interval");
    refused("podDisruptionBudget:\n  maxUnavailable: some\n", "maxUnavailable");
    // clusterName: an AWS tag value (letters, digits, white space and _ . : / = + - @), 1-256 long.
    refused("clusterName: 'prod#1'\n", "clusterName");
    refused("clusterName: '   '\n", "clusterName");
    refused(&format!("clusterName: {}\n", "c".repeat(257)), "clusterName");
    refused("clusterName: 42\n", "clusterName");
    for ok in ["prod-eu-1", "prod eu/1", "équipe_α:2=+@.", &"c".repeat(256)] {
        let f = values_file(&format!("clusterName: '{ok}'\n"));
        template_in(RELEASE, NAMESPACE, &["-f", &f.path]).unwrap_or_else(|e| panic!("clusterName {ok}: {e}"));
    }
    // allowedRoleArns: IAM role ARN patterns, without commas (the operator splits the flag at them).
    refused("allowedRoleArns: arn:aws:iam::111122223333:role/a\n", "allowedRoleArns");
    refused("allowedRoleArns: ['lattice-*']\n", "allowedRoleArns");
    refused(
        "allowedRoleArns: ['arn:aws:iam::111122223333:role/a,b']\n",
        "allowedRoleArns",
    );
    refused(
        "allowedRoleArns: ['arn:aws:iam::111122223333:user/a']\n",
        "allowedRoleArns",
    );
    refused(
        "allowedRoleArns: ['arn:aws:iam::1:role/a', 'arn:aws:iam::1:role/a']\n",
        "allowedRoleArns",
    );
    // adoption: typed, no unknown keys.
    refused("adoption:\n  allowedNamespaceLabels: a=b\n", "allowedNamespaceLabels");
    refused("adoption:\n  admissionPolicy: true\n", "admissionPolicy");
    refused("adoption:\n  admissionPolicy:\n    enable: true\n", "enable");
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
            "-f",
            TEST_VALUES,
        ];
        all.extend(args.iter().map(String::as_str));
        let out = run(&helm(), &all, None);
        assert!(out.status.success(), "helm lint --strict ({name}): {}", text(&out));
        assert!(text(&out).contains("0 chart(s) failed"), "{}", text(&out));
    }
    // The minimum supported Kubernetes, too (deprecation checks at that version), where the admission
    // policy (admissionregistration.k8s.io/v1 since 1.30) must be off.
    let out = run(
        &helm(),
        &[
            "lint",
            "--strict",
            "--kube-version",
            "1.28.0",
            CHART,
            "-f",
            TEST_VALUES,
            "--set",
            "adoption.admissionPolicy.enabled=false",
        ],
        None,
    );
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
        "kubectl apply --server-side --force-conflicts -f crds/",
        "--take-ownership",
        "crds.install=false",
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
        "vpc-lattice-operator/files/crds/servicenetworkserviceassociations.vpclattice.operator.dev.yaml",
        "vpc-lattice-operator/templates/crds.yaml",
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
