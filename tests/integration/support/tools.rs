//! Tools the tests drive, each built from its pinned Go module by `hack/go-tool.sh` (cached by
//! version) the first time a test binary asks for it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::cluster::REPO;

static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);

/// The path of executable `exe` built from `hack/tools/<module>/`.
pub fn go_tool(module: &str, exe: &str) -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let dirs = built.get_or_insert_with(HashMap::new);
    if !dirs.contains_key(module) {
        let out = Command::new("bash")
            .arg(format!("{REPO}/hack/go-tool.sh"))
            .arg(module)
            .stderr(Stdio::inherit())
            .output()
            .expect("run hack/go-tool.sh");
        assert!(out.status.success(), "hack/go-tool.sh {module} failed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let dir = PathBuf::from(stdout.lines().last().expect("bin dir").trim());
        dirs.insert(module.to_string(), dir);
    }
    let path = dirs[module].join(exe);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// helm, built from hack/tools/helm.
pub fn helm() -> PathBuf {
    go_tool("helm", "helm")
}
