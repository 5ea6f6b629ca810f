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
        let _ = writeln!(out, "# skipped {}: {}", about(&s.association), s.reason);
    }
    out
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
