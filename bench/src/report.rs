//! BENCHMARKS.md and the plots, from the result files alone (`vlo-bench report`, `make bench-report`):
//! the latest full-scale result of each scenario, the table, what each missed target is made of, the
//! method and how each bound is computed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Result;
use crate::model::{Row, RunResult, Target, trim};
use crate::scenarios::ALL;

/// Every result file in `dir`, parsed, with its path.
pub fn load(dir: &Path) -> Result<Vec<(PathBuf, RunResult)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(format!("read {}: {e}", dir.display()).into()),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let r: RunResult = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((path, r));
    }
    Ok(out)
}

/// The latest result of each scenario: a full-scale one when there is one.
pub fn latest(all: Vec<(PathBuf, RunResult)>) -> Vec<(PathBuf, RunResult)> {
    let mut by: BTreeMap<String, Vec<(PathBuf, RunResult)>> = BTreeMap::new();
    for (p, r) in all {
        by.entry(r.scenario.clone()).or_default().push((p, r));
    }
    let mut out = Vec::new();
    for name in ALL {
        let Some(mut runs) = by.remove(name) else {
            continue;
        };
        runs.sort_by(|a, b| (a.1.scale == 1.0, &a.1.date).cmp(&(b.1.scale == 1.0, &b.1.date)));
        if let Some(last) = runs.pop() {
            out.push(last);
        }
    }
    out
}

/// The table printed at the end of a run: every figure beside its bound, as a ratio.
pub fn print_table(results: &[RunResult]) {
    let rows: Vec<[String; 6]> = results
        .iter()
        .flat_map(|r| {
            r.rows.iter().map(|row| {
                [
                    row.measure.clone(),
                    row.value_text(),
                    row.bound_text(),
                    row.ratio_text(),
                    row.target_text(),
                    row.held_text().replace('*', ""),
                ]
            })
        })
        .collect();
    let head = ["measure", "value", "bound", "ratio", "target", "held"];
    let mut widths = head.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    println!();
    println!("{}", line(&head.map(String::from)));
    println!("{}", widths.map(|w| "-".repeat(w)).join("-+-"));
    for r in &rows {
        println!("{}", line(r));
    }
    for r in results {
        if let Some(e) = &r.error {
            println!("\n{} stopped early: {e}", r.scenario);
        }
    }
}

fn num(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(Value::as_f64).unwrap_or_default()
}

fn find<'a>(results: &'a [(PathBuf, RunResult)], scenario: &str) -> Option<&'a RunResult> {
    results.iter().map(|(_, r)| r).find(|r| r.scenario == scenario)
}

/// What a miss is made of, read from the raw numbers: a few sentences per scenario.
/// Whether a row of `r` whose measure contains `part` missed its target.
fn missed(r: &RunResult, part: &str) -> bool {
    r.rows
        .iter()
        .any(|row| row.measure.contains(part) && row.held() == Some(false))
}

/// Per-object reads (Gets and ListTags) in a phase's calls.
fn reads(calls: &Value) -> f64 {
    num(calls, "/byOperation/Get") + num(calls, "/byOperation/ListTags")
}

/// Why the missed targets were missed, from the raw numbers only (so it stays true whatever the
/// operator does): a paragraph per scenario with a miss, and whether per-object reads dominate.
fn why(results: &[(PathBuf, RunResult)]) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut per_object_reads = false;
    if let Some(r) = find(results, "single") {
        for (phase, what, rows) in [
            ("first", "The first object", "first ever"),
            ("later", "The object after the others", "others:"),
        ] {
            let Some(p) = r.phases.get(phase).filter(|_| missed(r, rows)) else {
                continue;
            };
            let timeline: Vec<(String, f64)> = p
                .get("timeline")
                .and_then(Value::as_array)
                .map(|t| {
                    t.iter()
                        .map(|e| (e[0].as_str().unwrap_or("?").to_string(), e[1].as_f64().unwrap_or(0.0)))
                        .collect()
                })
                .unwrap_or_default();
            let create = timeline.iter().find(|(op, _)| op == "Create").map_or(0.0, |c| c.1);
            let active = create + 20.0;
            let reads: Vec<String> = timeline
                .iter()
                .filter(|(op, _)| op != "Create")
                .map(|(op, t)| format!("{op} +{}", trim(*t)))
                .collect();
            let first_after = timeline.iter().find(|(op, t)| op != "Create" && *t >= active);
            let ready = (num(p, "/readyMs") - num(p, "/applyMs")) / 1000.0;
            out.push(format!(
                "{what}: Create at +{} s after the apply, so ACTIVE from +{} s (D = 20 s); the operator read \
                 AWS at {} (seconds after the apply); {}; Ready at +{} s.",
                trim(create),
                trim(active),
                if reads.is_empty() {
                    "no time".to_string()
                } else {
                    reads.join(", ")
                },
                first_after.map_or_else(
                    || "no read after D".to_string(),
                    |(_, t)| format!("the first read after D came {} s late", trim(t - active))
                ),
                trim(ready)
            ));
        }
    }
    if let Some(r) = find(results, "burst-1k") {
        let n = num(&r.config, "/burst/objects");
        let p = r.phases.get("create").cloned().unwrap_or_default();
        let c = p.get("calls").cloned().unwrap_or_default();
        let total = num(&c, "/total");
        if n > 0.0 && total > 0.0 && missed(r, "at once") {
            let bound = r.rows.first().and_then(|row| row.bound).unwrap_or(1.0);
            let mut text = format!(
                "{} objects at once: {} AWS calls ({:.2} per object: {}). At 20 calls per second these \
                 calls alone take {} s, {:.2} × the bound.",
                crate::rig::count(n as usize),
                trim(total),
                total / n,
                describe(Some(&c)),
                trim(total / 20.0),
                total / 20.0 / bound
            );
            let needed = n + num(&r.config, "/burst/networks");
            text.push_str(&excess(total, needed, &c));
            if reads(&c) > n / 2.0 {
                per_object_reads = true;
                text.push_str(&format!(
                    " {} of them read one object each (Gets, ListTags), where one List page answers for 100 \
                     objects with their status.",
                    trim(reads(&c))
                ));
            }
            let start = num(&p, "/applyStartMs");
            if let Some(last_create) = p.get("lastCreateMs").and_then(Value::as_f64) {
                let a = (last_create - start) / 1000.0;
                let b = (num(&p, "/allReadyMs") - start) / 1000.0;
                text.push_str(&format!(
                    " The last Create reached AWS at {} s ({} Creates need {} s at 20 per s; the API server \
                     accepted the last object at {} s); its association was ACTIVE from {} s; the last object \
                     was seen Ready at {} s, {} s after that.",
                    trim(a),
                    trim(n),
                    trim(n / 20.0),
                    trim((num(&p, "/appliedMs") - start) / 1000.0),
                    trim(a + 5.0),
                    trim(b),
                    trim(b - a - 5.0)
                ));
            }
            out.push(text);
            let throttled = num(&c, "/throttled");
            if throttled > 0.0 {
                out.push(format!(
                    "Throttled calls ({} of {}): the operator's limiter (`--aws-max-rps 20`) and the account's \
                     quota (20 per s, burst 20) are token buckets of the same size on different clocks; each \
                     ThrottlingException costs its object a `Retry-After` of at least 1 s.",
                    trim(throttled),
                    trim(total)
                ));
            }
        }
        if let Some(d) = r.phases.get("delete").filter(|_| missed(r, "delete")) {
            let c = d.get("calls").cloned().unwrap_or_default();
            out.push(format!(
                "Deleting {} objects: {} calls ({}).{}",
                crate::rig::count(n as usize),
                trim(num(&c, "/total")),
                describe(Some(&c)),
                excess(num(&c, "/total"), n + num(&r.config, "/burst/networks"), &c)
            ));
        }
    }
    if let Some(r) = find(results, "big-network") {
        let (texts, reads) = why_big_network(r);
        out.extend(texts);
        per_object_reads |= reads;
    }
    if let Some(text) = find(results, "fair-3k").and_then(why_fair) {
        out.push(text);
    }
    if let Some(r) = find(results, "fleet-10k") {
        let n = num(&r.config, "/fleet/objects");
        let pages = num(&r.config, "/fleet/listPagesPerLook");
        if let Some(p) = r.phases.get("restart").filter(|_| missed(r, "restart")) {
            let c = p.get("calls").cloned().unwrap_or_default();
            let mut text = format!(
                "Restarted over {} ACTIVE objects, the operator's first full pass {} and made {} calls ({}), \
                 against {} List pages that say everything about these objects; at 20 per s its calls take {} s.",
                crate::rig::count(n as usize),
                if p.get("capped").and_then(Value::as_bool) == Some(true) {
                    format!("did not finish within the {} s limit", trim(num(p, "/capS")))
                } else {
                    format!("took {} s", trim((num(p, "/passMs") - num(p, "/readyMs")) / 1000.0))
                },
                trim(num(&c, "/total")),
                describe(Some(&c)),
                trim(pages),
                trim(num(&c, "/total") / 20.0)
            );
            let lists = num(&c, "/byOperation/List");
            if lists > 2.0 * pages {
                let networks = num(&r.config, "/fleet/networks").max(1.0);
                let per_listing = (pages / networks).max(1.0);
                let listings = lists / per_listing;
                text.push_str(&format!(
                    " The {} List pages are about {:.0} listings of a network ({} pages each) for {} \
                     reconciles, one listing per {:.1} reconciles, where one look at each network would do \
                     for all of its objects.",
                    trim(lists),
                    listings,
                    trim(per_listing),
                    crate::rig::count(n as usize),
                    n / listings
                ));
            }
            if reads(&c) > n / 2.0 {
                per_object_reads = true;
                text.push_str(
                    " Most are reads of one object each: the restart reconciles every object with its own reads.",
                );
            }
            out.push(text);
        }
        if let Some(p) = r.phases.get("steady").filter(|_| missed(r, "steady")) {
            let c = p.get("calls").cloned().unwrap_or_default();
            let mut text = format!(
                "In the steady state ({} s, resync 60 s) the operator made {} calls ({}); {} drift-scan rounds \
                 began in the window; {} status writes, {} reconciles.",
                trim(num(&r.config, "/fleet/steadyS")),
                trim(num(&c, "/total")),
                describe(Some(&c)),
                p.get("rounds").and_then(Value::as_array).map_or(0, Vec::len),
                trim(num(p, "/statusWrites")),
                trim(num(p, "/operator/reconciles"))
            );
            let steady_reconciles = num(p, "/operator/reconciles");
            if reads(&c) > 0.0 && steady_reconciles < reads(&c) / 2.0 {
                text.push_str(&format!(
                    " The {} per-object reads ({} ListTags, {} Get) were made outside reconciles (only {} ran), so by the \
                     drift scan itself, one call per object: reading the tags of {} objects at 20 calls per \
                     second takes {:.0} s, longer than the 60 s resync, so the scan is always reading tags, \
                     the reads fill the rate limit, and the List rounds wait.",
                    trim(reads(&c)),
                    trim(num(&c, "/byOperation/ListTags")),
                    trim(num(&c, "/byOperation/Get")),
                    trim(steady_reconciles),
                    crate::rig::count(n as usize),
                    n / 20.0
                ));
            } else if reads(&c) > 0.0 {
                text.push_str(&format!(
                    " The {} per-object reads come with {} reconciles: objects woken one by one (by the drift \
                     scan's tag comparison, or still queued since the restart); at 20 calls per second a read \
                     of each of {} objects takes {:.0} s, longer than the 60 s resync, so the operator never \
                     becomes idle.",
                    trim(reads(&c)),
                    trim(steady_reconciles),
                    crate::rig::count(n as usize),
                    n / 20.0
                ));
            }
            out.push(text);
        }
    }
    if let Some(r) = find(results, "scale") {
        out.extend(why_scale(r));
    }
    (out, per_object_reads)
}

/// Why a size of `big-network` missed: its calls against the strictly needed ones, how many looks
/// at the one network its List pages make, and when the last Create and the last Ready came. Also
/// whether per-object reads were most of the calls.
fn why_big_network(r: &RunResult) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let mut per_object_reads = false;
    let sizes: Vec<f64> = r
        .config
        .pointer("/bigNetwork/sizes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let rate = num(&r.config, "/bigNetwork/operatorRate").max(1.0);
    let d = num(&r.config, "/bigNetwork/provisioningDelayMs") / 1000.0;
    for n in sizes {
        let label = format!("{} objects in one network", crate::rig::count(n as usize));
        let Some(p) = r.phases.get(format!("{n} objects")).filter(|_| missed(r, &label)) else {
            continue;
        };
        let c = p.get("calls").cloned().unwrap_or_default();
        let total = num(&c, "/total");
        let pages = num(p, "/listPagesPerLook").max(1.0);
        let lists = num(&c, "/byOperation/List");
        let bound = num(p, "/boundS").max(f64::MIN_POSITIVE);
        let mut text = format!(
            "{label}: {} AWS calls ({}) where {} are strictly needed ({} Creates and one look at the network, \
             {} List pages); at {} per s these calls alone take {} s, {:.2} × the bound. The {} List pages are \
             {:.1} looks at the network.",
            trim(total),
            describe(Some(&c)),
            trim(n + pages),
            trim(n),
            trim(pages),
            trim(rate),
            trim(total / rate),
            total / rate / bound,
            trim(lists),
            lists / pages
        );
        if reads(&c) > n / 2.0 {
            per_object_reads = true;
            let _ = write!(
                text,
                " {} of the calls read one object each (Gets, ListTags).",
                trim(reads(&c))
            );
        }
        let start = num(p, "/applyStartMs");
        if let Some(last_create) = p.get("lastCreateMs").and_then(Value::as_f64) {
            let a = (last_create - start) / 1000.0;
            let b = (num(p, "/allReadyMs") - start) / 1000.0;
            let _ = write!(
                text,
                " The last Create reached AWS at {} s ({} Creates need {} s at {} per s); its association was \
                 ACTIVE from {} s; the last object was seen Ready at {} s, {} s after that.",
                trim(a),
                trim(n),
                trim(n / rate),
                trim(rate),
                trim(a + d),
                trim(b),
                trim(b - a - d)
            );
        }
        out.push(text);
    }
    (out, per_object_reads)
}

/// Why a size of `scale` missed: how long the start and the first pass took and at what rate of
/// reconciles, the pass's calls and writes, and the memory.
fn why_scale(r: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    for s in &r.sizes {
        let n = s.objects as f64;
        let label = format!("{} ACTIVE objects", crate::rig::count(s.objects));
        let Some(p) = r.phases.get(format!("{n} objects")).filter(|_| missed(r, &label)) else {
            continue;
        };
        let pass = p.get("pass").cloned().unwrap_or_default();
        let c = pass.get("calls").cloned().unwrap_or_default();
        let took = (num(&pass, "/passMs") - num(&pass, "/readyMs")) / 1000.0;
        out.push(format!(
            "{label} in {} networks: the operator was ready {} s after its start; its first full pass {} ({} \
             reconciles per s) with {} AWS calls ({}) against {} List pages, {} status writes and {} Creates; \
             peak RSS {} MiB ({} KiB per object), {} MiB at the end of the steady window.",
            s.networks,
            trim((num(&pass, "/readyMs") - num(&pass, "/spawnMs")) / 1000.0),
            if s.pass_capped {
                format!("did not end within the {} s limit", trim(num(&pass, "/capS")))
            } else {
                format!("took {} s from /readyz", trim(took))
            },
            trim(num(&pass, "/operator/reconciles") / took.max(0.001)),
            trim(num(&c, "/total")),
            describe(Some(&c)),
            trim(num(p, "/listPagesPerLook")),
            trim(num(&pass, "/statusWrites")),
            trim(num(p, "/creates")),
            s.peak_rss_mib.map_or_else(|| "?".into(), trim),
            s.peak_rss_mib.map_or_else(|| "?".into(), |m| trim(m * 1024.0 / n)),
            s.end_rss_mib.map_or_else(|| "?".into(), trim)
        ));
    }
    let points: Vec<(f64, f64)> = r
        .sizes
        .iter()
        .filter_map(|s| Some((s.objects as f64, s.peak_rss_mib?)))
        .collect();
    if missed(r, "no step")
        && let [p0, p1, p2] = points.as_slice()
        && let (Some(below), Some(step)) = (crate::bounds::slope(*p0, *p1), crate::bounds::slope(*p1, *p2))
    {
        out.push(format!(
            "Memory per added object: {} KiB from {} to {} objects, {} KiB from {} to {}: {:.2} × the slope below.",
            trim(below * 1024.0),
            crate::rig::count(p0.0 as usize),
            crate::rig::count(p1.0 as usize),
            trim(step * 1024.0),
            crate::rig::count(p1.0 as usize),
            crate::rig::count(p2.0 as usize),
            step / below
        ));
    }
    out
}

/// Why the healthy objects of `fair-3k` were late, when they were: how far the failing work had got
/// when they came, when their Creates reached AWS and at what rate against their fair share, what
/// the failing namespaces did meanwhile, and how long after their last Create they were Ready.
fn why_fair(r: &RunResult) -> Option<String> {
    let h = r.phases.get("healthy").filter(|_| missed(r, "all healthy Ready"))?;
    let f = r.phases.get("failing").cloned().unwrap_or_default();
    let count = |v: f64| crate::rig::count(v as usize);
    let healthy = num(&r.config, "/fair/healthyObjects");
    let failing = num(&r.config, "/fair/failingObjects");
    let hns = r
        .config
        .pointer("/fair/healthyNamespaces")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let fns = r
        .config
        .pointer("/fair/failingNamespaces")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let t0 = num(h, "/applyStartMs");
    let at = |key: &str| h.get(key).and_then(Value::as_f64).map(|ms| (ms - t0) / 1000.0);
    let share = num(h, "/fairShare");
    let mut text = format!(
        "{} healthy objects in {hns} namespaces beside {} failing in {fns}: applied after {} failing Creates, with \
         {} failing objects not yet tried.",
        count(healthy),
        count(failing),
        trim(num(&f, "/failingCreatesBeforeHealthy")),
        trim(num(&f, "/failingObjectsUntriedAtHealthyApply"))
    );
    match (at("firstHealthyCreateMs"), at("lastHealthyCreateMs")) {
        (Some(first), Some(last)) => {
            let creates = num(h, "/healthyCalls/byOperation/Create");
            let _ = write!(
                text,
                " The first healthy Create reached AWS at +{} s, call number {} from the apply on (round-robin: \
                 at most {}); the last succeeded at +{} s: {} healthy Creates in {} s, {} per s against a fair share of \
                 {} per s.",
                trim(first),
                trim(num(h, "/firstHealthyCreatePosition")),
                fns + 1,
                trim(last),
                trim(creates),
                trim(last - first),
                trim(if last > first {
                    creates / (last - first)
                } else {
                    creates
                }),
                trim(share)
            );
        }
        _ => text.push_str(" No healthy Create reached AWS."),
    }
    let _ = write!(
        text,
        " Until all healthy Ready the failing namespaces made {} calls ({}), the healthy ones {} ({}), with {} List \
         pages of the shared network; {} reconciles were deferred.",
        trim(num(h, "/failingCalls/total")),
        describe(h.get("failingCalls")),
        trim(num(h, "/healthyCalls/total")),
        describe(h.get("healthyCalls")),
        trim(num(h, "/sharedCalls/total")),
        trim(num(h, "/reconcilesDeferred"))
    );
    if let (Some(last), Some(ready)) = (at("lastHealthyCreateMs"), at("allReadyMs")) {
        let active = last + num(&r.config, "/fair/provisioningDelayMs") / 1000.0;
        // The List pages of the healthy objects' network (`[operation, s since the apply, error]`).
        let lists: Vec<f64> = h
            .get("healthyTimeline")
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter(|e| e[0].as_str() == Some("List"))
                    .filter_map(|e| e[1].as_f64())
                    .collect()
            })
            .unwrap_or_default();
        let _ = write!(
            text,
            " The last healthy association was ACTIVE from +{} s; the network was listed at {}; the last healthy \
             object was seen Ready at +{} s, {} s after it was ACTIVE.",
            trim(active),
            if lists.is_empty() {
                "no time".to_string()
            } else {
                let at: Vec<String> = lists.iter().map(|t| format!("+{}", trim(*t))).collect();
                format!("{} s", at.join(", "))
            },
            trim(ready),
            trim(ready - active)
        );
    }
    Some(text)
}

/// The calls beyond the strictly needed, and the time they take at 20 per s: when the figure is
/// rate-bound, about what separates it from its bound.
fn excess(total: f64, needed: f64, calls: &Value) -> String {
    let extra = total - needed;
    if extra <= 0.0 {
        return String::new();
    }
    format!(
        " The {} calls beyond the {} strictly needed ({} List pages where one look per network would do) \
         take {} s at 20 per s.",
        trim(extra),
        trim(needed),
        trim(num(calls, "/byOperation/List")),
        trim(extra / 20.0)
    )
}

fn describe(calls: Option<&Value>) -> String {
    let Some(ops) = calls.and_then(|c| c.get("byOperation")).and_then(Value::as_object) else {
        return "no calls".into();
    };
    let mut v: Vec<(&String, f64)> = ops.iter().map(|(k, n)| (k, n.as_f64().unwrap_or_default())).collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.iter()
        .map(|(k, n)| format!("{} {k}", trim(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn miss(row: &Row) -> Option<String> {
    if row.held() != Some(false) {
        return None;
    }
    let v = row.value?;
    let allowed = row.allowed()?;
    let by = if allowed > 0.0 {
        format!(
            "{}{} over, {:.2} × what the target allows",
            if row.capped { "more than " } else { "" },
            crate::model::with_unit(v - allowed, &row.unit),
            v / allowed
        )
    } else {
        format!("{} where the target is 0", row.value_text())
    };
    Some(format!(
        "- **{}**: {} against a target of {} ({}): missed by {by}.{}",
        row.measure,
        row.value_text(),
        row.target_text(),
        row.allowed()
            .map_or_else(String::new, |a| crate::model::with_unit(a, &row.unit)),
        if row.note.is_empty() {
            String::new()
        } else {
            format!(" Made of: {}.", row.note)
        }
    ))
}

const METHOD: &str = r#"## Method

One command, `make bench`, builds the release binaries (`cargo build --release --locked --workspace
--bins`) and runs `vlo-bench run`, which takes each scenario in turn on a **fresh** control plane
(`hack/control-plane.sh up DIR --owner-pid <bench pid>`: etcd and kube-apiserver on loopback, the CRD
applied with kubectl: the one the measured binary prints, `vpc-lattice-operator crd`, which is crds/ in any
committed tree; each result records whether they were equal), the **release** `lattice-emulator` seeded with the scenario's
services and service networks through `--service ID=NAME` / `--service-network ID=NAME` (AWS-shaped IDs,
`svc-`/`sn-` and 17 of `[0-9a-z]`, random per run; object *i* gets network *i* mod *networks* and service
*i* div *networks*, so every pair is unique) and the **release** operator (`run --namespace bench`, or
over every namespace in `fair-3k`; the AWS environment of `hack/demo.sh`, flags per scenario below).
Everything listens on 127.0.0.1 only; every phase has a time limit, and a figure that hit its limit is
shown as "> value". The operator's revision (commit, uncommitted paths, the binary's build time) is read
once, right after the build.

Where the numbers come from:

- **AWS calls**: the emulator's request log (`GET /_emulator/calls`), every call with its arrival time
  (`atMs`), operation and error code, cut into the phase's time window; throttled = answered
  `ThrottlingException`. The operator's own `aws_calls_total` is kept beside it in the JSON as a
  cross-check.
- **Times**: the bench's own clock (the same host clock as `atMs`): from just before the first create
  request to the moment the bench's watch on the objects delivers the event that shows `Ready=True` (or
  the deletion). One watch, not polling, so measuring adds no list load to the API server.
- **Status writes**: the API server's `/metrics` (read with the admin kubeconfig's token),
  `apiserver_request_total` for resource `servicenetworkserviceassociations`, subresource `status`, verbs
  PATCH, APPLY and UPDATE, before and after the window.
- **Reconciles**: the operator's `vpc_lattice_operator_reconciles_total`.
- **Memory**: `VmHWM` (peak resident set) in `/proc/<operator pid>/status`; `VmRSS` where a row says RSS
  at a moment.
- Objects are created by the bench with kube-rs, 16 creates in flight (one request per object; `kubectl
  apply` of a multi-document file would add a GET per object and OpenAPI downloads), and deleted with one
  DELETE of the collection.

The account's request quota is the emulator's token bucket (`--request-rate 20 --request-burst 20`, or
`requestRate`/`requestBurst` through `PUT /_emulator/faults`), and the operator runs with
`--aws-max-rps 20` to match: the rate in every bound below is 20 calls per second, except in `fair-3k`
and `big-network`, whose operator runs with its defaults (10 calls per second; `big-network`'s quota is
10 per s, burst 10, to match). The bench checks `lattice-emulator --help`
for the quota flags and the request log for `atMs`, and stops with a message when they are missing.

### Scenarios and bounds

**`single`**: provisioning delay D = 20 s (`--provisioning-delay-ms 20000`), one network, default resync.
One object is applied into a new operator ("first ever"); then 20 others at once (all Ready, then 5 s
without a call); then one more ("after 20 others"). Each is measured from its create to `Ready=True`, and
its calls are those from its create to 5 s after Ready. Bound: D for the time; 2 calls (the Create, and
one read once D has passed). Targets: first ≤ 1.15 × D and ≤ 8 calls; later ≤ D + 1 s and ≤ 5 calls.

**`burst-1k`**: 1,000 objects in 10 networks of 100, quota 20 per s, D = 5 s, default resync. All
applied at once; measured to the last `Ready=True`. Bound = (calls strictly needed) / 20 + D, where the
calls strictly needed are the 1,000 Creates and the fewest reads that can see them all ACTIVE: one List
page per 100 objects of each network, once, after the last create has provisioned (10 pages), so
(1,000 + 10) / 20 + 5 = 55.5 s. Target ≤ 1.2 × bound, and under 2 % of the calls throttled. Then the
same objects are **deleted** (one collection DELETE, after 5 s without a call), measured to the last
object's removal (its finalizer released): bound = Deletes / rate + D = 1,000 / 20 + 5 = 55 s, target
≤ 1.2 × bound; its calls are shown against 1,000 Deletes + 10 List pages.

**`big-network`** (issue 18 part 0): N objects in **one** service network (N services), D = 2 s, quota
10 per s (burst 10), the operator at its default rate (no `--aws-max-rps`: 10 calls per s) and default
resync; N = 500, then N = 3,000, each on a fresh control plane, emulator and operator. All applied at
once; measured to the last `Ready=True`. One network is where a look at the associations costs the most,
N / 100 List pages, so every extra look takes rate from the Creates. Bound = (N Creates + N / 100 List
pages, one look at the network after the last create has provisioned) / 10 + D: (500 + 5) / 10 + 2 =
52.5 s and (3,000 + 30) / 10 + 2 = 305 s; target ≤ 1.2 × bound. AWS calls until all Ready against N +
N / 100 (target ≤ 1.2 × bound), and the throttled share (target < 2 %). The JSON keeps, per size, the
Create calls and the List pages counted per second since the first create and the objects that became
Ready per second; the plot below shows the 3,000-object run in 5-second means.

**`fair-3k`** (issue 10: one namespace's failures never starve another's work): 3,000 *failing* objects in 3
namespaces (`failing-0` to `failing-2`, 1,000 each) name a well-formed service ID the emulator does not have,
so every Create is answered `ResourceNotFoundException` and retried on the operator's backoff; 100 *healthy*
objects in 4 namespaces (`healthy-0` to `healthy-3`, 25 each) name services that exist; all name one
service network. Quota 20 per s, D = 5 s; the operator runs with its defaults (10 calls per s, 8 workers)
over every namespace (no `--namespace`). The failing objects are applied first; the healthy ones come, all
at once, when the failing work fills the limiter: at least 30 s after the last failing object was accepted
and once the emulator has logged 1,000 failing Creates. Measured from the first healthy create to the last
healthy `Ready=True`. The limiter serves namespaces round-robin, so while F = 3 namespaces are busy the
H = 4 healthy ones together get H / (H + F) of the rate: bound = D + (healthy Creates + List pages) / (10 ×
4/7) = 5 + (100 + 1) / 5.71 = 22.7 s; target ≤ 1.2 × bound. Reported beside it: the median and p95
healthy time to Ready; the position of the first healthy Create among the calls from the healthy apply
on (round-robin: one turn of each failing namespace, then a healthy one's, so 4); the calls until all
healthy Ready from healthy and from failing namespaces (a Create by the object of its client token,
`<uid>-<attempt>`; any other call but a List names an association, which only healthy objects have; the
shared network's List pages counted apart); the throttled share; the operator's
`reconciles_deferred_total` (reconciles that gave their worker back) in that window.

**`fleet-10k`**: 10,000 objects in 20 networks of 500 (500 services). *Seeding* is done through the
operator itself (fastest honest way: the emulator without quota and with D = 0, the operator at
`--aws-max-rps 1000 --concurrency 32`), until every object is Ready; that operator is then stopped
(SIGTERM), the request log cleared and the quota set (20 per s, burst 20, `PUT /_emulator/faults`).
Then the measured operator starts (`--aws-max-rps 20 --resync-interval 60s`):
- *restart*: Creates (bound 0, target 0, counted from the start to the end of the steady state); AWS
  calls until the first full pass (bound: one List page per 100 objects of each network = 100; target
  ≤ 1 call per 50 objects, i.e. ≤ 2 × bound = 200); time from `/readyz` (the watch synced) to the first
  full pass, i.e. until the operator's `reconciles_total` reaches the object count (bound: 100 calls / 20
  per s = 5 s; target ≤ 1.1 × bound). A retried reconcile counts twice, so this can end the pass early,
  never late. Limit: twice the time a Get and a ListTags per object take at 20 per s (2,000 s).
- *steady state*: the 5 minutes right after the first pass. AWS calls per resync = the window's calls
  (every operation, the tag-drift reads included) divided by the drift-scan rounds that began in it (a
  round = a burst of List calls, separated from the next by more than 20 s), or, when none began, by the
  nominal 300 s / 60 s = 5; bound 100, target ≤ 1 call per 50 objects, i.e. ≤ 2 × bound = 200.
  Status writes: bound 0, target 0. Reconciles: bound 0, reported.
- *peak RSS*: `VmHWM` of the measured operator at the end (it has held the 10,000 objects through the
  restart and the steady state); target ≤ 40 MiB. The seeding operator's peak is in the JSON.

**`scale`** (issue 18 part 3): fleets of 1,000, 10,000 and 50,000 ACTIVE objects, 500 to a network (2,
20 and 100 networks, 500 services), each on a fresh control plane and emulator (quota 20 per s, burst 20).
*Seeding* is straight, not through the operator: the associations are made ACTIVE in the emulator through
its admin API (`POST /_emulator/associations`, 1,000 a request; no call logged, no quota used), each with
the tags the operator sets (the spec's, `vpclattice.operator.dev/owner` = `<namespace>/<name>` and
`vpclattice.operator.dev/cluster` = the operator's `--cluster-name`); the objects are created with the
operator's finalizer and then given, by server-side apply on the status subresource under the
operator's field manager, the status it writes for a Ready object (the association's fields, the first
create's client token, `observedGeneration` and `tagsSyncedGeneration` = the generation, `Ready=True`,
`Reconciling=False` and `Stalled=False` with reason `Active`): the associations and, alongside, every
create, then every status, 48 requests in flight; seeding ends when the bench's watch has seen every
object Ready. Its time is reported, not held to a target. Then the measured
operator starts (`--aws-max-rps 20 --resync-interval 60s`): time from `/readyz` to the first full pass
(`reconciles_total` reaches the object count; bound: one List page per 100 objects of each network / 20
per s = 0.5, 5 and 25 s; target ≤ 1.2 × bound); AWS calls in it (bound 10, 100 and 500 List pages;
target ≤ 2 × bound); status writes in it (target 0: every status already says what the operator would
write); then a steady window (60 s, `VLO_BENCH_SCALE_STEADY_SECS`). Per size: the operator's peak RSS
(`VmHWM`) at the end of the window (target ≤ 40 MiB at 10,000), the peak per object, and the RSS
(`VmRSS`) at the end of the window. Across sizes: the least-squares line peak RSS = a + b·N (b in KiB per
object, a in MiB), and "no step": the peak RSS per object added from 10,000 to 50,000, against the slope
from 1,000 to 10,000 as its bound (target ≤ 1.2 × bound). The control plane has no request-rate limit on
the bench (its admin is in `system:masters`, which API Priority and Fairness exempts; the in-flight limits
are the defaults, 400 and 200 mutating) and no object-count quota (no ResourceQuota; etcd's backend quota
is its default 2 GiB); the JSON records etcd's database size per size (`apiserver_storage_size_bytes`).

The 1,000-object delete and the 10,000-object rows share their scenario's control plane with the
creates before them (a fresh one per scenario, not per row): deleting needs the objects, and the restart,
steady state and memory are all about the same 10,000 ACTIVE objects.

`VLO_BENCH_SCALE=0.1` divides every object count (the bounds follow; scaled results go to
`target/bench/results/` and never into this file); `--scenario NAME` runs one scenario;
`VLO_BENCH_STEADY_SECS` shortens fleet-10k's steady state for a quick check,
`VLO_BENCH_SCALE_STEADY_SECS` scale's steady window.
"#;

/// Writes BENCHMARKS.md (at `out`) and the plots next to the results, from the latest results in `dir`.
pub fn write(repo: &Path, dir: &Path, out: &Path) -> Result<()> {
    let results = latest(load(dir)?);
    if results.is_empty() {
        return Err(format!("no results in {}: run `make bench` first", dir.display()).into());
    }
    let rel = |p: &Path| {
        p.strip_prefix(repo)
            .map_or_else(|_| p.display().to_string(), |r| r.display().to_string())
    };
    let mut md = String::new();
    md.push_str("# Benchmarks\n\n<!-- Generated by `make bench-report` (`vlo-bench report`) from the latest results in\nbench/results/. Do not edit: change bench/src/report.rs and regenerate. -->\n\n");
    md.push_str(
        "`make bench` runs the **release** operator against a real kube-apiserver + etcd and the Lattice \
         emulator, and sets every figure beside its physical bound (issues 8, 10 and 18). Below: the latest result of \
         each scenario, as measured. Ratio = value / bound.\n\n",
    );
    let first = &results[0].1;
    let _ = writeln!(
        md,
        "- **Machine**: {} cores ({}), {:.1} GiB, Linux {}; shared with other builds while measured \
         (load averages per run below).",
        first.machine.cores,
        first.machine.cpu,
        first.machine.mem_mib as f64 / 1024.0,
        first.machine.kernel
    );
    for (p, r) in &results {
        let _ = writeln!(
            md,
            "- **{}**: {}{}, {:.0} s wall, load {} → {}; operator {}; `{}`{}",
            r.scenario,
            r.date,
            if r.scale == 1.0 {
                String::new()
            } else {
                format!(" (**scaled run**, VLO_BENCH_SCALE={})", r.scale)
            },
            r.wall_s,
            r.machine.load_before,
            r.machine.load_after,
            r.operator.text(),
            rel(p),
            r.error
                .as_ref()
                .map_or_else(String::new, |e| format!("; **stopped early**: {e}"))
        );
    }
    md.push_str("\n| scenario | measure | value | bound | ratio | target | held? |\n|---|---|---|---|---|---|---|\n");
    for (_, r) in &results {
        for row in &r.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.scenario,
                row.measure,
                row.value_text(),
                row.bound_text(),
                row.ratio_text(),
                row.target_text(),
                row.held_text()
            );
        }
    }
    md.push_str("\nHow each bound is computed, per row:\n\n");
    for (_, r) in &results {
        for row in r.rows.iter().filter(|r| !r.bound_how.is_empty()) {
            let _ = writeln!(md, "- {}: {}", row.measure, row.bound_how);
        }
    }
    let misses: Vec<String> = results
        .iter()
        .flat_map(|(_, r)| r.rows.iter().filter_map(miss))
        .collect();
    md.push_str("\n## Where a target is missed, by how much and why\n\n");
    if misses.is_empty() {
        md.push_str("Every target holds.\n");
    } else {
        for m in &misses {
            md.push_str(m);
            md.push('\n');
        }
        md.push_str("\nWhat the misses are made of (from the raw numbers in the result files):\n\n");
        let (whys, per_object_reads) = why(&results);
        for w in whys {
            md.push_str("- ");
            md.push_str(&w);
            md.push('\n');
        }
        if per_object_reads {
            md.push_str(
                "\nPer-object reads dominate: what closes the gap is issue 8 part 2, one shared, paged List \
                 observation per identity and service network, reused by every reconcile while fresh, instead \
                 of a Get per object per poll; a Get only where a List cannot answer; no ListTags right after a \
                 Create that set the tags; tag drift found in batches; a restart reconciled from the listing.\n",
            );
        }
    }
    if let Some((p, r)) = results.iter().find(|(_, r)| r.scenario == "burst-1k")
        && let Some(s) = &r.series
    {
        let svg_path = dir.join("burst-1k.svg");
        let title = format!(
            "{} objects applied at once (quota 20/s, D = 5 s), {}",
            crate::rig::count(s.objects),
            r.date
        );
        std::fs::write(&svg_path, crate::svg::plot(s, &title))?;
        let _ = write!(
            md,
            "\n## {} objects at once\n\nObjects Ready and cumulative AWS calls over time (from `{}`; \
             drawn by `vlo-bench report`):\n\n![objects Ready and AWS calls over time]({})\n",
            crate::rig::count(s.objects),
            rel(p),
            rel(&svg_path)
        );
    }
    if let Some((p, r)) = results.iter().find(|(_, r)| r.scenario == "big-network")
        && let Some(s) = &r.rates
    {
        let svg_path = dir.join("big-network.svg");
        let title = format!(
            "{} objects in one network (rate 10/s, D = 2 s), {}",
            crate::rig::count(s.objects),
            r.date
        );
        std::fs::write(&svg_path, crate::svg::plot_rates(s, &title))?;
        let _ = write!(
            md,
            "\n## {} objects in one network\n\nCreates and List pages per second (5-second means) and objects \
             Ready over time (from `{}`; drawn by `vlo-bench report`):\n\n![Creates, List pages and objects \
             Ready over time]({})\n",
            crate::rig::count(s.objects),
            rel(p),
            rel(&svg_path)
        );
    }
    if let Some((p, r)) = results.iter().find(|(_, r)| r.scenario == "scale")
        && !r.sizes.is_empty()
    {
        let svg_path = dir.join("scale.svg");
        let points: Vec<(f64, f64)> = r
            .sizes
            .iter()
            .filter_map(|s| Some((s.objects as f64, s.peak_rss_mib?)))
            .collect();
        let fit = (points.len() == r.sizes.len())
            .then(|| crate::bounds::fit_line(&points))
            .flatten();
        // The memory target, as the run held its middle size (10,000 at full scale) to it.
        let target = r.rows.iter().find_map(|row| match row.target {
            Target::AtMost(mib) if row.measure.contains("peak RSS of the operator") => Some(mib),
            _ => None,
        });
        let middle = r.sizes.get(r.sizes.len() / 2).map_or(0, |s| s.objects);
        let title = format!("The operator over fleets of ACTIVE objects, {}", r.date);
        std::fs::write(
            &svg_path,
            crate::svg::plot_scale(&r.sizes, fit, target.map(|t| (middle as f64, t)), &title),
        )?;
        let _ = write!(
            md,
            "\n## The operator against the fleet's size\n\nPeak RSS, RSS at the end of the steady window and \
             the first full pass after the start, per fleet size (from `{}`; drawn by `vlo-bench report`):\n\n\
             ![RSS and first full pass against the fleet's size]({})\n",
            rel(p),
            rel(&svg_path)
        );
    }
    md.push_str("\n## How to run\n\n```sh\nmake bench                       # everything, 30-60 minutes on two cores; writes bench/results/ and this file\nmake bench BENCH_ARGS='--scenario single'      # one scenario\nVLO_BENCH_SCALE=0.1 make bench   # a tenth of the objects, results under target/bench/results/\nmake bench-report                # this file again, from the latest results, without running anything\n```\n\n`make bench` is no part of `make test`. Each run leaves its logs (control plane, emulator, operator) under\n`target/bench/work-<time>/`.\n\n");
    md.push_str(METHOD);
    std::fs::write(out, md)?;
    Ok(())
}
