//! The chart's alerts and dashboard: the PrometheusRule rendered out of the template passes
//! `promtool check rules` and the unit tests in charts/vpc-lattice-operator/tests/ (`promtool test
//! rules`), every alert has a unit test, the dashboard's PromQL parses, and every metric the alerts and
//! the dashboard use is one the operator serves (read from its own registry, not from a list).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_norway::Value;
use vpc_lattice_operator::lattice::{ErrorKind, LatticeError};
use vpc_lattice_operator::metrics::{Metrics, StatusLabels};
use vpc_lattice_operator::runtime::run::ServedMetrics;

use crate::chart::{CHART, render_in, run, s, seq};
use crate::support::text;
use crate::support::tools::promtool;

/// Series Prometheus itself adds to every target, which the alerts may use too.
const SCRAPE_SERIES: &[&str] = &["up"];
/// The release and namespace the rule unit tests assume (the default selector's job and namespace).
const RULES_RELEASE: &str = "vpc-lattice-operator";
const RULES_NAMESPACE: &str = "vpc-lattice-operator";

/// The sample names the operator's /metrics serves, after one sample of every family.
fn served_series() -> BTreeSet<String> {
    let ServedMetrics {
        metrics: m,
        aws_calls,
        limiter,
        ..
    } = ServedMetrics::default();
    Metrics::count(&m.reconciles, "ok");
    m.reconcile_duration.observe(0.01);
    let throttled = LatticeError::new(ErrorKind::Throttled, "ThrottlingException", "slow down");
    aws_calls.record(
        ("CreateServiceNetworkServiceAssociation", "us-east-1"),
        Some(&throttled),
        Duration::from_millis(3),
    );
    m.objects
        .get_or_create(&StatusLabels {
            association_status: "ACTIVE".into(),
        })
        .set(1);
    m.recreate_attempts.inc();
    limiter.queued("payments").set(0);
    limiter.waited("payments", Duration::from_millis(3));
    Metrics::count(&m.status_patches, "ok");
    m.event("Active");
    m.observed("kept");
    m.condition("team-a", "app", "AccessDenied", true);
    Metrics::count(&m.tag_rounds, "ok");
    let encoded = m.encode();
    let families: Vec<&str> = encoded
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let series: BTreeSet<String> = encoded
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect();
    assert!(families.len() >= 8, "{encoded}");
    for f in &families {
        assert!(
            series.iter().any(|x| x.starts_with(f)),
            "family {f} has no sample here: record one in served_series()"
        );
    }
    series
}

/// The metric names an expression selects (PromQL, with Grafana's `$variables` allowed): every
/// identifier outside strings, label matchers, ranges and grouping lists that is not a function,
/// an aggregation or a keyword.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &[&str] = &[
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "inf",
        "nan",
        "atan2",
        // Aggregations, whose `by (…)`/`without (…)` may come before the parenthesis.
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ];
    const GROUPING: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let skip_to = |i: usize, close: char| -> usize {
        let mut j = i + 1;
        let mut quote: Option<char> = None;
        while j < chars.len() {
            let c = chars[j];
            match quote {
                Some(_) if c == '\\' => j += 1,
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' || c == '`' => quote = Some(c),
                None if c == close => return j + 1,
                None => {}
            }
            j += 1;
        }
        panic!("unclosed {close} in {expr}");
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            let mut j = i + 1;
            while chars[j] != c {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            i = j + 1;
        } else if c == '{' {
            i = skip_to(i, '}');
        } else if c == '[' {
            i = skip_to(i, ']');
        } else if c == '$' {
            i += 1;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '{' || chars[i] == '}')
            {
                i += 1;
            }
        } else if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) {
            // A number or a duration (5m, 1e3, 0x1f).
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let called = chars.get(next) == Some(&'(');
            if GROUPING.contains(&word.as_str()) {
                if called {
                    i = skip_to(next, ')');
                }
            } else if !called && !KEYWORDS.contains(&word.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn monitoring_metric_name_extraction() {
    let e = r#"sum by (namespace, job) (rate(a_total{job="x",reason=~"A|B"}[5m] offset 1h)) / on(job) group_left(pod) b
        > 0.2 and absent(up{job="y"} == 1) or histogram_quantile(0.99, sum by (le) (rate(c_bucket{x=~"$job"}[$__rate_interval])))"#;
    assert_eq!(
        metric_names(e),
        ["a_total", "b", "c_bucket", "up"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

/// The rendered PrometheusRule's rules (every alert on).
fn rendered_rules() -> Value {
    let r = render_in(
        RULES_RELEASE,
        RULES_NAMESPACE,
        &[
            "--set",
            "prometheusRule.enabled=true",
            // The promtool cases compare every annotation; the runbook links are tested apart.
            "--set",
            "prometheusRule.runbookUrl=",
            "--show-only",
            "templates/prometheusrule.yaml",
        ],
    );
    r.one("PrometheusRule")["spec"].clone()
}

fn dashboard() -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{CHART}/dashboards/vpc-lattice-operator.json")).unwrap();
    serde_json::from_str(&text).expect("dashboard JSON")
}

/// Every PromQL expression of the dashboard: panel targets and variable queries (inside
/// `label_values(…, label)`).
fn dashboard_exprs() -> Vec<String> {
    let d = dashboard();
    let mut exprs = vec![];
    for panel in d["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().expect("expr").to_string());
        }
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        if v["type"] == "query" {
            let q = v["query"]["query"].as_str().unwrap();
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|x| x.rsplit_once(','))
                .map(|(metric, _)| metric.to_string())
                .unwrap_or_else(|| panic!("variable query {q}"));
            exprs.push(inner);
        }
    }
    exprs
}

#[test]
fn monitoring_alerts_and_dashboard_use_only_served_metrics() {
    let served = served_series();
    let known = |name: &str| served.contains(name) || SCRAPE_SERIES.contains(&name);
    let rules = rendered_rules();
    let mut used = BTreeSet::new();
    for group in seq(&rules["groups"]) {
        for rule in seq(&group["rules"]) {
            for name in metric_names(s(&rule["expr"])) {
                assert!(
                    known(&name),
                    "alert {:?} uses {name}, which the operator does not serve",
                    rule["alert"]
                );
                used.insert(name);
            }
        }
    }
    for expr in dashboard_exprs() {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for name in names {
            assert!(
                known(&name),
                "the dashboard uses {name}, which the operator does not serve: {expr}"
            );
            used.insert(name);
        }
    }
    // The dashboard covers every family.
    for family in served.iter().filter(|x| !x.ends_with("_sum") && !x.ends_with("_count")) {
        let base = family.trim_end_matches("_bucket");
        assert!(
            used.iter().any(|u| u.starts_with(base)),
            "{family} appears in no alert or panel"
        );
    }
}

#[test]
fn monitoring_rules_pass_promtool_check_and_unit_tests() {
    let dir = tempfile::tempdir().unwrap();
    let rules = serde_norway::to_string(&rendered_rules()).unwrap();
    std::fs::write(dir.path().join("prometheus-rules.yaml"), &rules).unwrap();
    let tests = Path::new(CHART).join("tests/prometheus-rules.test.yaml");
    std::fs::copy(&tests, dir.path().join("prometheus-rules.test.yaml")).unwrap();
    let promtool = promtool();
    let check = run(
        &promtool,
        &[
            "check",
            "rules",
            &dir.path().join("prometheus-rules.yaml").to_string_lossy(),
        ],
        None,
    );
    assert!(check.status.success(), "promtool check rules: {}", text(&check));
    let test = run(
        &promtool,
        &[
            "test",
            "rules",
            &dir.path().join("prometheus-rules.test.yaml").to_string_lossy(),
        ],
        None,
    );
    assert!(test.status.success(), "promtool test rules: {}", text(&test));
    assert!(text(&test).contains("SUCCESS"), "{}", text(&test));

    // Every alert has at least one unit test that expects it to fire.
    let spec: Value = serde_norway::from_str(&std::fs::read_to_string(&tests).unwrap()).unwrap();
    let mut firing = BTreeSet::new();
    for t in seq(&spec["tests"]) {
        for a in t["alert_rule_test"].as_sequence().into_iter().flatten() {
            if a["exp_alerts"].as_sequence().is_some_and(|x| !x.is_empty()) {
                firing.insert(s(&a["alertname"]).to_string());
            }
        }
    }
    for group in seq(&rendered_rules()["groups"]) {
        for rule in seq(&group["rules"]) {
            let alert = s(&rule["alert"]);
            assert!(
                firing.contains(alert),
                "{alert} has no unit test in {}",
                tests.display()
            );
        }
    }
}

#[test]
fn monitoring_dashboard_is_grafana_json_with_valid_promql() {
    let d = dashboard();
    assert_eq!(d["uid"], "vpc-lattice-operator");
    let mut ids = BTreeSet::new();
    for panel in d["panels"].as_array().unwrap() {
        assert!(ids.insert(panel["id"].as_i64().unwrap()), "panel ids are unique");
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{}", panel["title"]);
        for t in panel["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            assert!(
                expr.contains(r#"job=~"$job",namespace=~"$namespace""#),
                "panel {} follows the variables: {expr}",
                panel["title"]
            );
        }
    }
    // promtool parses each expression, as a recording rule, with Grafana's variables filled in.
    let rules: Vec<serde_json::Value> = dashboard_exprs()
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let e = e
                .replace("$__rate_interval", "5m")
                .replace("$namespace", ".*")
                .replace("$job", ".*");
            serde_json::json!({"record": format!("dashboard:expr_{i}:check"), "expr": e})
        })
        .collect();
    let file = serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dashboard-exprs.yaml");
    std::fs::write(&path, serde_norway::to_string(&file).unwrap()).unwrap();
    let check = run(&promtool(), &["check", "rules", &path.to_string_lossy()], None);
    assert!(check.status.success(), "the dashboard's PromQL: {}", text(&check));
}

/// Every alert has its runbook: docs/runbooks.md has one `## <alert>` section per rendered alert and
/// no other alert section, and the default `runbook_url` of each alert points at its section.
#[test]
fn monitoring_every_alert_has_a_runbook_section_its_url_points_at() {
    let r = render_in(
        RULES_RELEASE,
        RULES_NAMESPACE,
        &["--set", "prometheusRule.enabled=true"],
    );
    let rules = r.one("PrometheusRule")["spec"].clone();
    let runbooks = std::fs::read_to_string(format!("{}/docs/runbooks.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let sections: BTreeSet<String> = runbooks
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter(|h| h.starts_with("VpcLattice"))
        .map(String::from)
        .collect();
    let mut alerts = BTreeSet::new();
    for rule in seq(&rules["groups"][0]["rules"]) {
        let alert = s(&rule["alert"]).to_string();
        let url = s(&rule["annotations"]["runbook_url"]);
        assert!(
            url.ends_with(&format!("/docs/runbooks.md#{}", alert.to_lowercase())),
            "{alert}'s runbook_url: {url}"
        );
        alerts.insert(alert);
    }
    assert_eq!(sections, alerts, "docs/runbooks.md has exactly one section per alert");
}
