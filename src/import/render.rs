//! A plan as text: a YAML stream (the skipped associations in its header comment), a JSON `v1 List`,
//! one file per object with a `kustomization.yaml`, or the `--dry-run` table. Pure, and the same
//! bytes for the same plan (no time, no host, objects in name order).

use std::fmt::Write as _;

use super::plan::{Manifest, Plan, Skipped, names};
use crate::api::ManagementPolicy;

/// What the command writes on standard output (or in its files).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A YAML stream, `---` between objects, the skipped associations in a header comment.
    #[default]
    Yaml,
    /// A JSON `v1 List` of the objects (the skipped associations are said on standard error).
    Json,
}

/// The name of the file that lists the objects' files for kustomize.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

/// The header comment: what was imported from where (`source`), and each association skipped with
/// its reason.
pub fn header(plan: &Plan, source: &str) -> String {
    let mut out = format!(
        "# vpc-lattice-operator import from {source}: {} manifest{}, {} association{} skipped.\n",
        plan.manifests.len(),
        plural(plan.manifests.len()),
        plan.skipped.len(),
        plural(plan.skipped.len()),
    );
    for s in &plan.skipped {
        let line = format!("{}: {}", about(&s.association), s.reason);
        let _ = writeln!(out, "# skipped {}", one_line(&line));
    }
    out
}

/// `s` on one line whatever it holds: control characters and the line and paragraph separators
/// (which YAML parsers may take for line breaks, even in a comment) escaped as `\u{…}`. Reasons quote
/// tag values, which anyone who may tag an association in the scope chooses.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(
            |c| match c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') {
                true => c.escape_unicode().to_string(),
                false => c.to_string(),
            },
        )
        .collect()
}

/// `snsa-… (service in network, STATUS)`.
fn about(a: &crate::lattice::Association) -> String {
    let (service, network) = names(a);
    format!("{} ({service} in {network}, {})", a.id, a.status)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// One object as YAML.
fn yaml(m: &Manifest) -> String {
    serde_norway::to_string(&m.object).expect("an object serialises")
}

/// The YAML stream: the header, then the objects with `---` before each.
pub fn yaml_stream(plan: &Plan, source: &str) -> String {
    let mut out = header(plan, source);
    for m in &plan.manifests {
        out.push_str("---\n");
        out.push_str(&yaml(m));
    }
    out
}

/// The objects as a JSON `v1 List` (what `kubectl apply -f` takes), pretty-printed.
pub fn json_list(plan: &Plan) -> String {
    let items: Vec<serde_json::Value> = plan
        .manifests
        .iter()
        .map(|m| serde_json::to_value(&m.object).expect("an object serialises"))
        .collect();
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    let mut out = serde_json::to_string_pretty(&list).expect("a list serialises");
    out.push('\n');
    out
}

/// The files of `--out DIR`: `<name>.yaml` per object, and a `kustomization.yaml` that lists them
/// under the header comment. In name order, the kustomization last.
pub fn files(plan: &Plan, source: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = plan.manifests.iter().map(|m| (file_name(m), yaml(m))).collect();
    let mut kustomization = header(plan, source);
    kustomization.push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:");
    if out.is_empty() {
        kustomization.push_str(" []");
    }
    kustomization.push('\n');
    for (file, _) in &out {
        let _ = writeln!(kustomization, "- {file}");
    }
    out.push((KUSTOMIZATION.to_string(), kustomization));
    out
}

fn file_name(m: &Manifest) -> String {
    format!("{}.yaml", m.object.metadata.name.as_deref().unwrap_or_default())
}

/// The `--dry-run` table: a row per object to write, then one per association skipped with why.
pub fn table(plan: &Plan) -> String {
    let mut rows = vec![["ACTION", "NAME", "ASSOCIATION", "SERVICE", "NETWORK", "STATUS", "NOTE"].map(String::from)];
    for m in &plan.manifests {
        let (service, network) = names(&m.association);
        let note = match m.object.spec.management_policy {
            ManagementPolicy::ObserveOnly => "managementPolicy: ObserveOnly (the Gateway API Controller's)",
            ManagementPolicy::Managed => "",
        };
        rows.push([
            "write".into(),
            m.object.metadata.name.clone().unwrap_or_default(),
            m.association.id.clone(),
            service.into(),
            network.into(),
            m.association.status.to_string(),
            note.into(),
        ]);
    }
    for Skipped { association: a, reason } in &plan.skipped {
        let (service, network) = names(a);
        rows.push([
            "skip".into(),
            "-".into(),
            a.id.clone(),
            service.into(),
            network.into(),
            a.status.to_string(),
            reason.clone(),
        ]);
    }
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| one_line(c)).collect()).collect();
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            match c {
                6 => line.push_str(cell),
                _ => {
                    let _ = write!(line, "{cell:<w$}   ", w = widths[c]);
                }
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GATEWAY_MANAGED_TAG;
    use crate::import::plan::{Found, Identifiers, Settings, plan};
    use crate::lattice::{Association, AssociationState, Tags};

    #[test]
    fn a_tag_value_cannot_break_out_of_the_header_comment() {
        let mut a = Association::new("snsa-1", "arn:snsa-1", AssociationState::Active);
        a.service_id = Some("svc-1".into());
        a.service_network_id = Some("sn-1".into());
        let sneaky = "x\u{2028}---\napiVersion: v1\rkind: Secret\u{85}";
        let found = Found {
            association: a,
            tags: Ok(Tags::from([(GATEWAY_MANAGED_TAG.to_string(), sneaky.to_string())])),
        };
        let settings = Settings {
            namespace: None,
            region: "us-east-1".into(),
            cluster: "prod".into(),
            identifiers: Identifiers::Arn,
            deletion: crate::api::DeletionPolicy::Retain,
            include_failed: false,
            include_gateway_managed: false,
            include_other_clusters: false,
        };
        let p = plan(vec![found], &settings);
        let stream = yaml_stream(&p, "service network sn-1 in us-east-1");
        assert_eq!(stream.lines().count(), 2, "{stream:?}");
        assert!(stream.lines().all(|l| l.starts_with("# ")), "{stream:?}");
        assert!(!stream.contains(['\u{2028}', '\r', '\u{85}']), "{stream:?}");
        assert!(
            stream.contains("\\u{2028}---\\u{a}apiVersion"),
            "escaped, still readable: {stream:?}"
        );
        assert_eq!(table(&p).lines().count(), 2);
    }
}
