//! The adoption rule as the chart renders it: `--allow-adoption-label` always, and (on by default) a
//! ValidatingAdmissionPolicy with its binding refusing `spec.adoptionPolicy: Always` outside the
//! namespaces carrying that label, whose key and value the template splits out of `key=value`.
//! (install.rs proves the policy on a real API server.)

use serde_norway::Value;

use super::{NAMESPACE, RELEASE, Rendered, render, s, seq, strings, template_in, values_file, yaml};

fn policy(r: &Rendered) -> &Value {
    r.one("ValidatingAdmissionPolicy")
}

/// The one validation's expression, with its lines joined.
fn validation(r: &Rendered) -> String {
    let validations = seq(&policy(r)["spec"]["validations"]);
    assert_eq!(validations.len(), 1);
    s(&validations[0]["expression"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The CEL test of the namespace label `key` = `value`.
fn label_test(key: &str, value: &str) -> String {
    format!(
        "has(namespaceObject.metadata.labels) && '{key}' in namespaceObject.metadata.labels && \
         namespaceObject.metadata.labels['{key}'] == '{value}'"
    )
}

#[test]
fn chart_admission_policy_refuses_always_outside_labelled_namespaces() {
    let r = render(&[]);
    let name = format!("{NAMESPACE}.{RELEASE}");
    let vap = policy(&r);
    assert_eq!(vap["apiVersion"], "admissionregistration.k8s.io/v1");
    assert_eq!(vap["metadata"]["name"], name.as_str());
    let spec = &vap["spec"];
    assert_eq!(spec["failurePolicy"], "Fail");
    assert_eq!(
        spec["matchConstraints"]["resourceRules"],
        yaml(
            "- apiGroups: [vpclattice.operator.dev]\n  apiVersions: ['*']\n  operations: [CREATE, UPDATE]\n  \
             resources: [servicenetworkserviceassociations]\n  scope: Namespaced"
        ),
        "creates and updates of the resource itself (not /status)"
    );
    // Only requests that make an object `Always`: a create, or an update from another policy.
    let conditions = seq(&spec["matchConditions"]);
    assert_eq!(conditions.len(), 1);
    let condition = s(&conditions[0]["expression"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        condition,
        "has(object.spec.adoptionPolicy) && object.spec.adoptionPolicy == 'Always' && \
         (request.operation == 'CREATE' || !has(oldObject.spec.adoptionPolicy) || \
         oldObject.spec.adoptionPolicy != 'Always')"
    );
    assert_eq!(
        validation(&r),
        label_test("vpclattice.operator.dev/allow-adoption", "true")
    );
    let v = &seq(&spec["validations"])[0];
    assert_eq!(v["reason"], "Forbidden");
    let rule = "spec.adoptionPolicy: Always is allowed only in namespaces labelled \
                vpclattice.operator.dev/allow-adoption=true (set by the platform team; see docs/security.md)";
    assert_eq!(
        v["message"],
        format!("{rule}: use IfOwned, or ask for the label").as_str()
    );
    let message = s(&v["messageExpression"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        message,
        format!("'{rule}, and namespace ' + request.namespace + ' is not: use IfOwned, or ask for the label'")
    );

    let binding = r.one("ValidatingAdmissionPolicyBinding");
    assert_eq!(binding["metadata"]["name"], name.as_str());
    assert_eq!(binding["spec"]["policyName"], name.as_str());
    assert_eq!(strings(&binding["spec"]["validationActions"]), ["Deny"]);
    assert!(binding["spec"]["matchResources"].is_null(), "every namespace");
    assert!(
        r.args()
            .contains(&"--allow-adoption-label=vpclattice.operator.dev/allow-adoption=true".to_string())
    );

    // With watchNamespace the binding applies to that namespace only.
    let r = render(&["--set", "watchNamespace=team-a", "--set", "replicaCount=1"]);
    assert_eq!(
        r.one("ValidatingAdmissionPolicyBinding")["spec"]["matchResources"],
        yaml("namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: team-a}}")
    );

    // Off: neither object, and the operator still gets the label.
    let r = render(&["--set", "adoption.admissionPolicy.enabled=false"]);
    assert!(r.all("ValidatingAdmissionPolicy").is_empty());
    assert!(r.all("ValidatingAdmissionPolicyBinding").is_empty());
    assert!(
        r.args()
            .contains(&"--allow-adoption-label=vpclattice.operator.dev/allow-adoption=true".to_string())
    );
}

#[test]
fn chart_adoption_label_is_split_into_key_and_value() {
    for (label, key, value) in [
        ("adopt=yes", "adopt", "yes"),
        (
            "platform.example.com/adoption=allowed",
            "platform.example.com/adoption",
            "allowed",
        ),
        (
            "a.b-c.example/Team_Adopt.x=A-1_b.2",
            "a.b-c.example/Team_Adopt.x",
            "A-1_b.2",
        ),
        // An empty value is a valid label value: the label must be there, empty.
        ("example.com/adopt=", "example.com/adopt", ""),
    ] {
        let f = values_file(&format!("adoption:\n  allowedNamespaceLabel: '{label}'\n"));
        let r = render(&["-f", &f.path]);
        assert_eq!(validation(&r), label_test(key, value), "{label}");
        let v = &seq(&policy(&r)["spec"]["validations"])[0];
        assert!(
            s(&v["message"]).contains(&format!("only in namespaces labelled {label} (")),
            "{label}: {:?}",
            v["message"]
        );
        assert!(r.args().contains(&format!("--allow-adoption-label={label}")), "{label}");
    }
    // Not `key=value`: refused by the schema, naming the value.
    for bad in [
        "adopt",
        "=true",
        "adopt=yes=no",
        "adopt=yes please",
        "Example.com/adopt=true",
        "example.com/=true",
        "adopt='true'",
        &format!("adopt={}", "v".repeat(64)),
        &format!("{}=true", "k".repeat(64)),
    ] {
        let f = values_file(&format!("adoption:\n  allowedNamespaceLabel: \"{bad}\"\n"));
        let err = template_in(RELEASE, NAMESPACE, &["-f", &f.path]).expect_err(bad);
        assert!(err.contains("allowedNamespaceLabel"), "{bad}: {err}");
    }
    // The template checks the shape too, when the schema is skipped.
    let err = template_in(
        RELEASE,
        NAMESPACE,
        &[
            "--skip-schema-validation",
            "--set",
            "adoption.allowedNamespaceLabel=adopt",
        ],
    )
    .expect_err("no =");
    assert!(
        err.contains("adoption.allowedNamespaceLabel \"adopt\" is not KEY=VALUE"),
        "{err}"
    );
}
