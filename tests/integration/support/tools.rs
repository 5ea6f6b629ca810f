//! Tools the tests drive, each built from its pinned Go module by `hack/go-tool.sh` (cached by
//! version) the first time a test binary asks for it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::cluster::REPO;

/// Runs `bash hack/<script> <args>` (its stderr goes to the test's) and returns the path it prints
/// on its last line: how the hack/ scripts report what they built, fetched or started.
pub fn hack_path(script: &str, args: &[&str]) -> PathBuf {
    let out = Command::new("bash")
        .arg(format!("{REPO}/hack/{script}"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run hack/{script}: {e}"));
    assert!(out.status.success(), "hack/{script} {} failed", args.join(" "));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("hack/{script} printed no path"));
    PathBuf::from(last.trim())
}

static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// The path of executable `exe` built from `hack/tools/<module>/`.
pub fn go_tool(module: &str, exe: &str) -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let dirs = built.get_or_insert_with(HashMap::new);
    let dir = dirs
        .entry(module.to_string())
        .or_insert_with(|| hack_path("go-tool.sh", &[module]));
    let path = dir.join(exe);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// helm, built from hack/tools/helm.
pub fn helm() -> PathBuf {
    go_tool("helm", "helm")
}

/// helm-docs, built from hack/tools/helm-docs.
pub fn helm_docs() -> PathBuf {
    go_tool("helm-docs", "helm-docs")
}

/// promtool, built from hack/tools/promtool.
pub fn promtool() -> PathBuf {
    go_tool("promtool", "promtool")
}
