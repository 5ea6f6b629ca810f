//! GitOps health: the Argo CD health check shipped in docs/gitops/argocd/ (Lua, run by Debian's
//! `lua5.1` as Argo CD's gopher-lua runs it: `obj` set, the script's returned table read) against its
//! own health_test.yaml, and live objects of the real binary read by that Lua and by kstatus
//! (sigs.k8s.io/cli-utils' `status.Compute`, what Flux and Helm 4 `--wait` use, built from
//! hack/tools/kstatus) at each phase of their life. The install examples for Flux and Argo CD against
//! their own CRDs.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use lattice_emulator::Faults;
use serde_json::Value;

use crate::e2e::{self, get, manifest, ok};
use crate::support::cluster::{REPO, kubectl};
use crate::support::operator::Binary;
use crate::support::tools::{go_tool, hack_path};
use crate::support::{eventually, output};

const LIMIT: Duration = Duration::from_secs(90);
const CUSTOMIZATION: &str =
    "docs/gitops/argocd/resource_customizations/vpclattice.operator.dev/ServiceNetworkServiceAssociation";
const ARGOCD_CM: &str = "docs/gitops/argocd/argocd-cm.yaml";
const ARGOCD_CM_KEY: &str = "resource.customizations.health.vpclattice.operator.dev_ServiceNetworkServiceAssociation";

fn customization() -> PathBuf {
    Path::new(REPO).join(CUSTOMIZATION)
}

/// `lua5.1`, installed by hack/debian-packages.sh the first time a test asks.
fn lua() -> &'static str {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let status = Command::new("bash")
            .arg(format!("{REPO}/hack/debian-packages.sh"))
            .arg("lua5.1")
            .status()
            .expect("run hack/debian-packages.sh");
        assert!(status.success(), "hack/debian-packages.sh lua5.1 failed");
    });
    "lua5.1"
}

/// `value` as a Lua table constructor, the shape Argo CD hands a script in `obj`: objects and arrays
/// become tables (arrays 1-based), JSON null becomes nil (an object's null key is left out).
fn lua_literal(value: &Value) -> String {
    let mut out = String::new();
    write_lua(value, &mut out);
    out
}

fn write_lua(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => lua_string(s, out),
        Value::Array(items) => {
            out.push('{');
            for item in items {
                write_lua(item, out);
                out.push_str(", ");
            }
            out.push('}');
        }
        Value::Object(map) => {
            out.push('{');
            for (key, item) in map.iter().filter(|(_, v)| !v.is_null()) {
                out.push('[');
                lua_string(key, out);
                out.push_str("] = ");
                write_lua(item, out);
                out.push_str(", ");
            }
            out.push('}');
        }
    }
}

/// A Lua 5.1 string literal holding exactly the bytes of `s`: printable ASCII as is (quote and
/// backslash escaped), every other byte (controls, newlines, UTF-8) as a three-digit `\ddd`.
fn lua_string(s: &str, out: &mut String) {
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => write!(out, "\\{b:03}").unwrap(),
        }
    }
    out.push('"');
}

/// Argo CD's verdict on `obj`: health.lua run with `obj` set, in a sandbox without the libraries
/// Argo CD leaves out (`io`, `os`, `debug`); returns `(status, message)`.
fn argo_health(obj: &Value) -> (String, String) {
    let mut path = String::new();
    lua_string(&customization().join("health.lua").to_string_lossy(), &mut path);
    let harness = format!(
        "local run, write = dofile, io.write\n\
         io, os, debug = nil, nil, nil\n\
         obj = {}\n\
         local hs = run({path})\n\
         write(tostring(hs.status), \"\\n\", tostring(hs.message))\n",
        lua_literal(obj)
    );
    let out = output(Command::new(lua()).arg("-"), Some(&harness));
    assert!(
        out.status.success(),
        "lua5.1 health.lua failed: {}\n{harness}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 from lua");
    let (status, message) = stdout.split_once('\n').expect("status and message");
    (status.to_string(), message.to_string())
}

/// kstatus's verdict on every object in `input` (JSON or YAML; objects or Lists, as `kubectl get -o
/// json` prints them): `(name, status, message)` per object.
fn kstatus(input: &str) -> Vec<(String, String, String)> {
    let out = output(&mut Command::new(go_tool("kstatus", "kstatus")), Some(input));
    assert!(
        out.status.success(),
        "kstatus failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_kstatus(&String::from_utf8_lossy(&out.stdout))
}

fn parse_kstatus(stdout: &str) -> Vec<(String, String, String)> {
    stdout
        .lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let mut next = || parts.next().unwrap_or_default().to_string();
            (next(), next(), next())
        })
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn yaml(path: &Path) -> Value {
    serde_norway::from_str(&read(path)).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// The cases of health_test.yaml: `(inputPath, status, message)`.
fn health_tests() -> Vec<(String, String, String)> {
    let tests = yaml(&customization().join("health_test.yaml"));
    tests["tests"]
        .as_array()
        .expect("tests: [...]")
        .iter()
        .map(|t| {
            let field = |v: &Value| v.as_str().unwrap_or_else(|| panic!("string in {t}")).to_string();
            (
                field(&t["inputPath"]),
                field(&t["healthStatus"]["status"]),
                field(&t["healthStatus"]["message"]),
            )
        })
        .collect()
}

#[test]
fn lua_literals_keep_every_byte_of_a_string() {
    let tricky = "quote \" backslash \\ newline \n tab \t nul \0 bell \u{7} ünïcødé 1\u{1}2 ]] [[";
    let obj = serde_json::json!({ "metadata": { "name": tricky, "skip": null }, "n": [1, -2, 2.5, true] });
    let script = format!(
        "local o = {}\nio.write(o.metadata.name, \"|\", tostring(o.metadata.skip), \"|\", o.n[1] + o.n[2] + o.n[3], \"|\", tostring(o.n[4]))",
        lua_literal(&obj)
    );
    let out = output(Command::new(lua()).arg("-"), Some(&script));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{tricky}|nil|1.5|true"));
}

#[test]
fn argo_cd_health_lua_passes_its_health_test_yaml() {
    let dir = customization();
    let cases = health_tests();
    for (input, status, message) in &cases {
        let obj = yaml(&dir.join(input));
        assert_eq!(
            argo_health(&obj),
            (status.clone(), message.clone()),
            "health.lua on {input}"
        );
    }
    // Every fixture is a case, as in Argo CD's own resource_customizations.
    let mut fixtures: Vec<String> = std::fs::read_dir(dir.join("testdata"))
        .unwrap()
        .map(|e| format!("testdata/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    fixtures.sort();
    let mut inputs: Vec<String> = cases.into_iter().map(|c| c.0).collect();
    inputs.sort();
    assert_eq!(inputs, fixtures, "health_test.yaml covers testdata/");
}

#[test]
fn kstatus_reads_the_argo_cd_fixtures_alike_except_before_the_first_status() {
    let dir = customization();
    let cases = health_tests();
    let files: Vec<PathBuf> = cases.iter().map(|c| dir.join(&c.0)).collect();
    // The files as arguments, YAML, several at once.
    let out = Command::new(go_tool("kstatus", "kstatus"))
        .args(&files)
        .output()
        .expect("run kstatus");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verdicts = parse_kstatus(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(verdicts.len(), cases.len(), "one line per object: {verdicts:?}");
    for ((input, argo, message), (_, kstatus, kmessage)) in cases.iter().zip(&verdicts) {
        let want = match (argo.as_str(), message.as_str()) {
            ("Healthy", _) => "Current",
            ("Degraded", _) => "Failed",
            ("Progressing", "Deleting") => "Terminating",
            // kstatus takes an object without conditions for current: Argo CD waits for the operator.
            ("Progressing", m) if m.starts_with("Waiting for the operator to report") => "Current",
            ("Progressing", _) => "InProgress",
            other => panic!("unexpected Argo CD verdict {other:?}"),
        };
        assert_eq!(kstatus, want, "kstatus on {input}: {kmessage}");
        if argo == "Degraded" {
            assert_eq!(kmessage, message, "kstatus's Failed message on {input}");
        }
    }
}

#[test]
fn argocd_cm_embeds_health_lua_and_merges_into_an_existing_argocd_cm() {
    let lua = read(&customization().join("health.lua"));
    let cm = yaml(&Path::new(REPO).join(ARGOCD_CM));
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "argocd-cm");
    assert_eq!(
        cm["data"][ARGOCD_CM_KEY].as_str(),
        Some(lua.as_str()),
        "{ARGOCD_CM} embeds {CUSTOMIZATION}/health.lua verbatim: copy it over after an edit"
    );
    // The install command in docs/gitops/argocd/README.md keeps what argocd-cm already holds.
    let ns = "argocd";
    let exists = kubectl(&["get", "namespace", ns], None).status.success();
    if !exists {
        ok(kubectl(&["create", "namespace", ns], None));
    }
    ok(kubectl(
        &[
            "create",
            "configmap",
            "argocd-cm",
            "-n",
            ns,
            "--from-literal=url=https://argocd.example.com",
        ],
        None,
    ));
    ok(kubectl(
        &[
            "-n",
            ns,
            "patch",
            "configmap",
            "argocd-cm",
            "--type",
            "merge",
            "--patch-file",
            &format!("{REPO}/{ARGOCD_CM}"),
        ],
        None,
    ));
    let live: Value = serde_json::from_str(&ok(kubectl(
        &["get", "configmap", "argocd-cm", "-n", ns, "-o", "json"],
        None,
    )))
    .unwrap();
    assert_eq!(live["data"]["url"], "https://argocd.example.com");
    assert_eq!(live["data"][ARGOCD_CM_KEY].as_str(), Some(lua.as_str()));
    assert_eq!(live["metadata"]["labels"]["app.kubernetes.io/part-of"], "argocd");
}

/// Asserts what kstatus and Argo CD say of one live object: `(status, message)` of each.
fn verdicts(phase: &str, obj: &Value, kstatus_want: (&str, &str), argo_want: (&str, &str)) {
    let name = obj["metadata"]["name"].as_str().unwrap();
    let got = kstatus(&obj.to_string());
    assert_eq!(
        got,
        [(name.to_string(), kstatus_want.0.to_string(), kstatus_want.1.to_string())],
        "kstatus while {phase}: {obj:#}"
    );
    assert_eq!(
        argo_health(obj),
        (argo_want.0.to_string(), argo_want.1.to_string()),
        "Argo CD while {phase}: {obj:#}"
    );
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

fn message(obj: &Value, type_: &str) -> String {
    condition(obj, type_).unwrap()["message"].as_str().unwrap().to_string()
}

fn is(obj: &Value, type_: &str, status: &str) -> bool {
    condition(obj, type_).is_some_and(|c| c["status"] == status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_objects_read_alike_in_kstatus_and_argo_cd_through_their_life() {
    let (ns, emu) = e2e::setup("gitops-life").await;
    emu.fake.set_faults(Faults {
        provisioning_delay_ms: 3000,
        ..Default::default()
    });

    // Applied before any operator runs: the API server gives it the schema's default status,
    // observedGeneration 0, so kstatus (Flux, Helm --wait) and Argo CD both wait for the operator
    // from the first instant.
    e2e::apply_app(&ns);
    let fresh = get(&ns, "app").unwrap();
    assert_eq!(fresh["status"]["observedGeneration"], 0, "{fresh}");
    assert!(fresh["status"]["conditions"].is_null(), "no report yet: {fresh}");
    let kstatus_says = kstatus(&fresh.to_string());
    assert_eq!(kstatus_says.len(), 1);
    assert_eq!(
        kstatus_says[0].1, "InProgress",
        "kstatus before the operator's first status: {kstatus_says:?}"
    );
    assert_eq!(
        argo_health(&fresh),
        (
            "Progressing".to_string(),
            "Waiting for the operator to observe generation 1".to_string()
        ),
    );

    // Creating: AWS reports CREATE_IN_PROGRESS for 3 s.
    let mut op = Binary::spawn(&ns, &emu.url, &[]);
    let creating = eventually("app reported as creating", LIMIT, || async {
        let o = get(&ns, "app")?;
        (o["status"]["associationStatus"] == "CREATE_IN_PROGRESS"
            && is(&o, "Reconciling", "True")
            && o["status"]["observedGeneration"] == o["metadata"]["generation"])
            .then_some(o)
    })
    .await;
    assert_eq!(condition(&creating, "Reconciling").unwrap()["reason"], "Creating");
    let note = message(&creating, "Reconciling");
    verdicts("creating", &creating, ("InProgress", &note), ("Progressing", &note));

    // Ready: read as `kubectl get snsa -o json` prints a namespace, a List.
    e2e::wait_ready(&ns, "app");
    let list: Value = serde_json::from_str(&ok(kubectl(&["get", "snsa", "-n", &ns, "-o", "json"], None))).unwrap();
    assert_eq!(list["kind"], "List");
    let ready = list["items"][0].clone();
    let note = message(&ready, "Ready");
    assert_eq!(
        kstatus(&list.to_string()),
        [(
            "app".to_string(),
            "Current".to_string(),
            "Resource is Ready".to_string()
        )]
    );
    verdicts("ready", &ready, ("Current", "Resource is Ready"), ("Healthy", &note));

    // A spec change the operator has not seen: it is stopped, the tags change, generation moves on.
    let status = op.terminate(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    let spec = format!(
        "  serviceIdentifier: {}\n  serviceNetworkIdentifier: {}\n  tags: {{team: payments}}",
        e2e::SERVICE,
        e2e::NETWORK
    );
    ok(kubectl(&["apply", "-n", &ns, "-f", "-"], Some(&manifest("app", &spec))));
    let edited = get(&ns, "app").unwrap();
    let (generation, observed) = (
        edited["metadata"]["generation"].as_i64().unwrap(),
        edited["status"]["observedGeneration"].as_i64().unwrap(),
    );
    assert!(generation > observed, "{edited}");
    assert!(
        is(&edited, "Ready", "True"),
        "still Ready for the old generation: {edited}"
    );
    verdicts(
        "a new generation is unobserved",
        &edited,
        (
            "InProgress",
            &format!(
                "ServiceNetworkServiceAssociation generation is {generation}, but latest observed generation is {observed}"
            ),
        ),
        (
            "Progressing",
            &format!("Waiting for the operator to observe generation {generation}"),
        ),
    );

    // Deleting: the finalizer holds the object while no operator runs.
    ok(kubectl(&["delete", "snsa", "app", "-n", &ns, "--wait=false"], None));
    let deleting = get(&ns, "app").expect("held by the finalizer");
    assert!(deleting["metadata"]["deletionTimestamp"].is_string(), "{deleting}");
    assert_eq!(
        deleting["metadata"]["finalizers"][0],
        vpc_lattice_operator::api::FINALIZER
    );
    verdicts(
        "deleting",
        &deleting,
        ("Terminating", "Resource scheduled for deletion"),
        ("Progressing", "Deleting"),
    );

    // The operator comes back, deletes the association and releases the object.
    let _op = Binary::spawn(&ns, &emu.url, &[]);
    eventually("app gone", LIMIT, || async { get(&ns, "app").is_none().then_some(()) }).await;
    assert!(emu.fake.associations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_live_object_is_failed_in_kstatus_and_degraded_in_argo_cd() {
    let (ns, emu) = e2e::setup("gitops-stalled").await;
    emu.fake.set_faults(Faults {
        create_error: Some("AccessDeniedException".into()),
        ..Default::default()
    });
    let _op = Binary::spawn(&ns, &emu.url, &[]);
    e2e::apply_app(&ns);
    let stalled = eventually("app Stalled", LIMIT, || async {
        let o = get(&ns, "app")?;
        is(&o, "Stalled", "True").then_some(o)
    })
    .await;
    let note = message(&stalled, "Stalled");
    assert!(note.contains("AccessDeniedException"), "{note}");
    assert!(is(&stalled, "Ready", "False") && is(&stalled, "Reconciling", "False"));
    verdicts("stalled", &stalled, ("Failed", &note), ("Degraded", &note));
}

/// The CRDs of Flux's OCIRepository and HelmRelease and of Argo CD's Application, as the pinned
/// releases ship them (hack/tools/gitops-crds), installed on the shared control plane once.
fn install_gitops_crds() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = hack_path("module-files.sh", &["gitops-crds"]);
        ok(kubectl(
            &[
                "apply",
                "--server-side",
                "--force-conflicts",
                "-f",
                &dir.to_string_lossy(),
            ],
            None,
        ));
        // Polled, not `kubectl wait` (nor a jsonpath filter): both fail on a CRD whose status has no
        // conditions yet.
        for crd in [
            "ocirepositories.source.toolkit.fluxcd.io",
            "helmreleases.helm.toolkit.fluxcd.io",
            "applications.argoproj.io",
        ] {
            let deadline = std::time::Instant::now() + LIMIT;
            let established = || {
                let live: Value = serde_json::from_str(&ok(kubectl(&["get", "crd", crd, "-o", "json"], None))).unwrap();
                live["status"]["conditions"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Established" && c["status"] == "True"))
            };
            while !established() {
                assert!(std::time::Instant::now() < deadline, "CRD {crd} not Established");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    });
}

/// The chart rendered with `values` (what the example hands it) and nothing else: its Deployment's args.
fn chart_args_with(values: &Value) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, serde_json::to_string(values).unwrap()).unwrap();
    let yaml = crate::chart::template_bare_in("example", "vpc-lattice-operator", &["-f", &file.to_string_lossy()])
        .unwrap_or_else(|e| panic!("the example's values render the chart: {e}"));
    let docs = crate::chart::parse_docs(&yaml);
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").expect("a Deployment");
    crate::chart::strings(&deployment["spec"]["template"]["spec"]["containers"][0]["args"])
}

/// examples/install/: the Flux HelmRelease (with its OCIRepository) and the Argo CD Application (with
/// its repository Secret) are applied for real to the API server with Flux's and Argo CD's own CRDs
/// installed, so their schemas check every field (no Flux or Argo CD controller runs: nothing is
/// installed from them). The values each hands the chart render it, schema included.
#[test]
fn the_install_examples_are_accepted_by_flux_and_argo_cd_crds() {
    install_gitops_crds();
    ok(kubectl(
        &["apply", "-f", "-"],
        Some("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: argocd\n"),
    ));
    let flux = format!("{REPO}/examples/install/flux-helmrelease.yaml");
    let argo = format!("{REPO}/examples/install/argocd-application.yaml");
    for file in [&flux, &argo] {
        ok(kubectl(&["apply", "--server-side", "-f", file], None));
    }
    let get = |what: &[&str]| -> Value {
        let mut args = vec!["get"];
        args.extend_from_slice(what);
        args.extend(["-o", "json"]);
        serde_json::from_str(&ok(kubectl(&args, None))).expect("kubectl JSON")
    };
    let ns = ["-n", "vpc-lattice-operator"];
    let release = get(&[&["helmrelease", "vpc-lattice-operator"][..], &ns].concat());
    assert_eq!(release["spec"]["chartRef"]["name"], "vpc-lattice-operator");
    get(&[&["ocirepository", "vpc-lattice-operator"][..], &ns].concat());
    let app = get(&["application", "vpc-lattice-operator", "-n", "argocd"]);
    assert_eq!(app["spec"]["source"]["chart"], "vpc-lattice-operator");

    for values in [
        &release["spec"]["values"],
        &app["spec"]["source"]["helm"]["valuesObject"],
    ] {
        let args = chart_args_with(values);
        assert!(args.contains(&"--cluster-name=prod-eu-1".to_string()), "{args:?}");
    }

    // The control: the same HelmRelease with a malformed interval is refused by Flux's schema.
    let text = std::fs::read_to_string(&flux).unwrap();
    let broken = text.replacen("  interval: 1h\n  chartRef:", "  interval: one hour\n  chartRef:", 1);
    assert_ne!(broken, text);
    let out = kubectl(
        &["apply", "--server-side", "--dry-run=server", "-f", "-"],
        Some(&broken),
    );
    assert!(
        !out.status.success() && crate::support::text(&out).contains("spec.interval"),
        "{}",
        crate::support::text(&out)
    );
}
