//! moto's server (the third-party VPC Lattice emulator), started from the virtualenv that
//! hack/moto.sh installs, with AWS-shaped IDs (see hack/moto_server.py). It stops when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::cluster::REPO;
use super::operator::free_port;

pub struct Moto {
    child: Child,
    pub url: String,
}

fn python() -> String {
    if let Ok(p) = std::env::var("VLO_MOTO_PYTHON") {
        return p;
    }
    let out = Command::new("bash")
        .arg(format!("{REPO}/hack/moto.sh"))
        .output()
        .expect("run hack/moto.sh");
    assert!(
        out.status.success(),
        "hack/moto.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .expect("python path")
        .trim()
        .to_string()
}

impl Moto {
    pub fn start() -> Self {
        let port = free_port();
        let mut child = Command::new(python())
            .arg(format!("{REPO}/hack/moto_server.py"))
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("moto output");
        assert!(line.contains("listening"), "moto did not start: {line}");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
