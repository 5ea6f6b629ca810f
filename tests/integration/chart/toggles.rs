//! The optional monitoring and network objects: off by default; when on, the ServiceMonitor,
//! PrometheusRule, dashboard ConfigMap and NetworkPolicy carry their values.

use super::{NAMESPACE, RELEASE, render, s, seq, template_in, values_file, yaml};

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

/// Every alert the chart renders can be turned off: the schema's `disabledAlerts` enum names exactly
/// the rendered alerts, and disabling all of them leaves none.
#[test]
fn chart_every_alert_can_be_disabled() {
    let alerts = |r: &super::Rendered| -> Vec<String> {
        let pr = r.one("PrometheusRule");
        seq(&pr["spec"]["groups"][0]["rules"])
            .iter()
            .filter_map(|rule| rule["alert"].as_str().map(String::from))
            .collect()
    };
    let on = values_file("prometheusRule:\n  enabled: true\n");
    let mut rendered = alerts(&render(&["-f", &on.path]));
    rendered.sort();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/charts/vpc-lattice-operator/values.schema.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let mut allowed: Vec<String> =
        schema["properties"]["prometheusRule"]["properties"]["disabledAlerts"]["items"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
    allowed.sort();
    assert_eq!(allowed, rendered, "the schema's enum names exactly the chart's alerts");
    // Each one turned off (with all but the first, so the group keeps a rule) leaves exactly the first.
    let off = values_file(&format!(
        "prometheusRule:\n  enabled: true\n  disabledAlerts: [{}]\n",
        rendered[1..].join(", ")
    ));
    assert_eq!(
        alerts(&render(&["-f", &off.path])),
        rendered[..1],
        "every other alert turned off"
    );
}
