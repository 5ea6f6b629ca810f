//! The container image, built as `make image` builds it (hack/image.sh: an OCI image archive, no
//! container engine): its config and its one layer hold exactly what was promised, the Dockerfile
//! agrees with it, and the image runs the operator with crun (hack/run-image.sh) against the real
//! API server (TLS with the kubeconfig's CA, inside the image) and the emulator, named `localhost`
//! so that name resolution inside the image is exercised too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::e2e::{apply_app, get, setup, wait_ready};
use crate::support::cluster::{self, REPO};
use crate::support::operator::{CLUSTER, free_port};
use crate::support::{eventually, wait_for_exit};

const NAME: &str = "vpc-lattice-operator";
const VERSION: &str = env!("CARGO_PKG_VERSION");
const LIMIT: Duration = Duration::from_secs(90);
/// The files of the image's one layer (directories end in `/`).
const LAYER: [&str; 6] = [
    "etc/",
    "etc/nsswitch.conf",
    "etc/ssl/",
    "etc/ssl/certs/",
    "etc/ssl/certs/ca-certificates.crt",
    "vpc-lattice-operator",
];
/// The environment the image sets (and the Dockerfile): glibc's malloc in one arena.
const IMAGE_ENV: &str = "MALLOC_ARENA_MAX=1";
const LABELS: [&str; 5] = [
    "org.opencontainers.image.description",
    "org.opencontainers.image.licenses",
    "org.opencontainers.image.source",
    "org.opencontainers.image.title",
    "org.opencontainers.image.version",
];

fn run(cmd: &mut Command) -> String {
    let out = cmd.stderr(Stdio::inherit()).output().expect("run command");
    assert!(out.status.success(), "{cmd:?} failed: {}", out.status);
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The image archive, built once per test binary by hack/image.sh (minutes on a cold cache).
fn archive() -> &'static Path {
    static ARCHIVE: OnceLock<PathBuf> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let out = run(Command::new("bash").arg("hack/image.sh").current_dir(REPO));
        let path = Path::new(REPO).join(out.lines().last().expect("archive path").trim());
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!("{NAME}-{VERSION}.oci.tar")
        );
        path
    })
}

/// The archive's image: its config and the listing and files of its one layer.
struct Image {
    config: Value,
    /// Path (directories end in `/`) to `(mode, uid:gid)`, as `tar -tv` shows them.
    entries: BTreeMap<String, (String, String)>,
    dir: tempfile::TempDir,
}

impl Image {
    fn read(archive: &Path) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("layout");
        std::fs::create_dir(&layout).unwrap();
        run(Command::new("tar").arg("-C").arg(&layout).arg("-xf").arg(archive));
        let json = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
        let blob = |d: &Value| {
            layout
                .join("blobs")
                .join(d["digest"].as_str().unwrap().replacen(':', "/", 1))
        };

        assert_eq!(json(&layout.join("oci-layout"))["imageLayoutVersion"], "1.0.0");
        let index = json(&layout.join("index.json"));
        let manifests = index["manifests"].as_array().unwrap();
        assert_eq!(manifests.len(), 1, "one image in {index}");
        assert_eq!(
            manifests[0]["annotations"]["org.opencontainers.image.ref.name"], VERSION,
            "tagged with the Cargo version"
        );
        assert_eq!(manifests[0]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        let manifest = json(&blob(&manifests[0]));
        let config = json(&blob(&manifest["config"]));
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1, "exactly one layer: {manifest}");
        assert_eq!(layers[0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip");
        assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);

        let layer = blob(&layers[0]);
        let listing = run(Command::new("tar").arg("--numeric-owner").arg("-tvzf").arg(&layer));
        let entries = listing
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                assert_eq!(f.len(), 6, "one name per entry, no links: {l}");
                (f[5].to_string(), (f[0].to_string(), f[1].to_string()))
            })
            .collect();
        let files = dir.path().join("rootfs");
        std::fs::create_dir(&files).unwrap();
        run(Command::new("tar").arg("-C").arg(&files).arg("-xzf").arg(&layer));
        Self { config, entries, dir }
    }

    fn file(&self, path: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join("rootfs").join(path)).unwrap()
    }
}

#[test]
fn the_image_has_one_layer_with_only_the_static_binary_ca_bundle_and_nsswitch() {
    let image = Image::read(archive());
    let c = &image.config;
    assert_eq!(c["os"], "linux");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => panic!("unsupported architecture {other}"),
    };
    assert_eq!(c["architecture"], arch, "the machine's own architecture");
    assert_eq!(c["config"]["User"], "65532:65532");
    assert_eq!(c["config"]["Entrypoint"], serde_json::json!([format!("/{NAME}")]));
    assert_eq!(c["config"]["Cmd"], serde_json::json!(["run"]));
    assert_eq!(
        c["config"]["Env"],
        serde_json::json!([IMAGE_ENV]),
        "glibc's malloc in one arena"
    );
    let labels = c["config"]["Labels"].as_object().expect("labels");
    assert_eq!(
        labels.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        LABELS.into()
    );
    assert_eq!(labels["org.opencontainers.image.title"], NAME);
    assert_eq!(labels["org.opencontainers.image.version"], VERSION);
    assert_eq!(labels["org.opencontainers.image.licenses"], env!("CARGO_PKG_LICENSE"));
    assert_eq!(
        labels["org.opencontainers.image.description"],
        env!("CARGO_PKG_DESCRIPTION")
    );

    assert_eq!(image.entries.keys().map(String::as_str).collect::<Vec<_>>(), LAYER);
    for (path, (mode, owner)) in &image.entries {
        assert_eq!(owner, "0/0", "{path} owned by root");
        let want = match path.as_str() {
            NAME => "-rwxr-xr-x",
            p if p.ends_with('/') => "drwxr-xr-x",
            _ => "-rw-r--r--",
        };
        assert_eq!(mode, want, "{path}");
    }
    assert_eq!(image.file("etc/nsswitch.conf"), b"hosts: files dns\n");

    // Only the ca-certificates package's own certificates: none added on the building machine.
    let bundle = String::from_utf8(image.file("etc/ssl/certs/ca-certificates.crt")).unwrap();
    let packaged = std::fs::read_dir("/usr/share/ca-certificates/mozilla")
        .expect("the ca-certificates package")
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "crt"))
        .count();
    assert!(packaged > 100, "{packaged} packaged certificates");
    assert_eq!(bundle.matches("-----BEGIN CERTIFICATE-----").count(), packaged);

    let binary = image.dir.path().join("rootfs").join(NAME);
    let kind = run(Command::new("file").arg("-b").arg(&binary));
    assert!(
        kind.contains("static-pie linked") || kind.contains("statically linked"),
        "{kind}"
    );
    assert!(kind.contains("x86-64"), "{kind}");
}

/// The Dockerfile's instructions with continuation lines joined, comments dropped.
fn dockerfile() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(format!("{REPO}/Dockerfile")).expect("Dockerfile");
    let mut out = Vec::new();
    let mut line = String::new();
    for l in text.lines() {
        let t = l.trim();
        if t.starts_with('#') || (t.is_empty() && line.is_empty()) {
            continue;
        }
        line.push_str(t.strip_suffix('\\').unwrap_or(t));
        line.push(' ');
        if !t.ends_with('\\') {
            let (op, rest) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
            out.push((op.to_ascii_uppercase(), rest.trim().to_string()));
            line.clear();
        }
    }
    out
}

/// `key="value"` pairs of a LABEL instruction.
fn labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim();
    while let Some((key, after)) = rest.split_once("=\"") {
        let (value, after) = after.split_once('"').expect("closing quote");
        out.insert(key.trim().to_string(), value.to_string());
        rest = after.trim();
    }
    assert!(rest.is_empty(), "unparsed LABEL text: {rest}");
    out
}

#[test]
fn the_dockerfile_builds_the_same_image() {
    let image = Image::read(archive());
    let c = &image.config["config"];
    let instructions = dockerfile();
    let last_from = instructions.iter().rposition(|(op, _)| op == "FROM").expect("FROM");
    assert_eq!(instructions[last_from].1, "scratch", "the final stage is FROM scratch");
    let last = |op: &str| {
        instructions[last_from..]
            .iter()
            .rev()
            .find(|(o, _)| o == op)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {op} in the final stage"))
    };
    assert_eq!(last("USER"), c["User"].as_str().unwrap());
    let entrypoint: Value = serde_json::from_str(&last("ENTRYPOINT")).expect("ENTRYPOINT in exec form");
    assert_eq!(entrypoint, c["Entrypoint"]);
    let cmd: Value = serde_json::from_str(&last("CMD")).expect("CMD in exec form");
    assert_eq!(cmd, c["Cmd"]);
    assert_eq!(last("ENV").replacen(' ', "=", 1), IMAGE_ENV, "the same environment");

    // Labels: the same keys; the same values but for the build arguments (version, source).
    let docker_labels: BTreeMap<String, String> = instructions[last_from..]
        .iter()
        .filter(|(op, _)| op == "LABEL")
        .flat_map(|(_, v)| labels(v))
        .collect();
    assert_eq!(docker_labels.keys().map(String::as_str).collect::<Vec<_>>(), LABELS);
    for (k, v) in &docker_labels {
        if v.starts_with("${") {
            continue;
        }
        assert_eq!(c["Labels"][k], v.as_str(), "label {k}");
    }

    // One COPY into the final stage, of the builder's /out: the files staged there are the layer's.
    let copies: Vec<&String> = instructions[last_from..]
        .iter()
        .filter(|(op, _)| op == "COPY" || op == "ADD")
        .map(|(_, v)| v)
        .collect();
    assert_eq!(copies, [&"--from=builder /out/ /".to_string()], "one layer");
    let text = std::fs::read_to_string(format!("{REPO}/Dockerfile")).unwrap();
    let staged: BTreeSet<&str> = text
        .match_indices("/out/")
        .map(|(i, _)| {
            let rest = &text[i + "/out/".len()..];
            &rest[..rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || "._-/".contains(ch)))
                .unwrap()]
        })
        .filter(|p| !p.is_empty())
        .collect();
    for p in &staged {
        let p = p.trim_end_matches('/');
        assert!(
            LAYER.contains(&p) || LAYER.contains(&format!("{p}/").as_str()),
            "the Dockerfile stages /out/{p}, which the image's layer lacks"
        );
    }
    for f in LAYER.iter().filter(|p| !p.ends_with('/')) {
        assert!(staged.contains(f), "the Dockerfile does not stage /out/{f}");
    }
    let binary = entrypoint[0].as_str().unwrap().trim_start_matches('/');
    assert_eq!(binary, NAME, "ENTRYPOINT names the staged binary");
    assert!(
        text.contains("printf 'hosts: files dns\\n' > /out/etc/nsswitch.conf"),
        "the Dockerfile writes the same nsswitch.conf"
    );
    for built_as in [
        "RUSTFLAGS=\"-C target-feature=+crt-static\"",
        "--target \"$(uname -m)-unknown-linux-gnu\"",
    ] {
        assert!(
            text.contains(built_as),
            "the Dockerfile builds with {built_as}, as hack/image.sh"
        );
    }
}

/// A container of the image, run by hack/run-image.sh; killed and deleted when dropped.
struct Container {
    id: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Container {
    fn command(id: &str, bundle: &Path) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(format!("{REPO}/hack/run-image.sh"))
            .args(["run", "--name", id, "--bundle"])
            .arg(bundle);
        cmd
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("bash")
            .arg(format!("{REPO}/hack/run-image.sh"))
            .args(["kill", &self.id, signal])
            .status();
    }

    /// SIGTERM through crun, then the exit status of the container's process.
    fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let mut child = self.child.take().expect("running");
        wait_for_exit(&mut child, Duration::from_secs(30), "the container")
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.signal("KILL");
            let _ = child.wait();
        }
        let _ = Command::new("bash")
            .arg(format!("{REPO}/hack/run-image.sh"))
            .args(["delete", &self.id])
            .status();
        let _ = std::fs::remove_dir_all(self.dir.path());
    }
}

fn container_id(what: &str) -> String {
    format!(
        "vlo-test-{what}-{}-{:06x}",
        std::process::id(),
        rand::random::<u32>() >> 8
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_the_operator_with_crun_against_the_api_server_and_lattice() {
    let archive = archive();

    // --version: the image's entrypoint is the binary of this version.
    let dir = tempfile::tempdir().unwrap();
    let out = run(Container::command(&container_id("version"), &dir.path().join("bundle"))
        .arg(archive)
        .arg("--version"));
    assert_eq!(out.trim(), format!("{NAME} {VERSION}"));
    drop(dir);

    // `run`, as a pod would: the kubeconfig mounted read-only (readable by the image's user only),
    // and a minimal /etc/hosts as every container runtime provides one (the image ships none), so
    // that `localhost` resolves through /etc/nsswitch.conf's `files`.
    let (ns, emu) = setup("image").await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::copy(cluster::kubeconfig(), &kubeconfig).unwrap();
    std::os::unix::fs::chown(&kubeconfig, Some(65532), Some(65532)).unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
    )
    .unwrap();
    for (file, mode) in [(&kubeconfig, 0o400), (&hosts, 0o644)] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let port = emu.url.rsplit(':').next().unwrap();
    let endpoint = format!("http://localhost:{port}");
    let admin = format!("127.0.0.1:{}", free_port());
    let id = container_id("run");
    let mut cmd = Container::command(&id, &dir.path().join("bundle"));
    cmd.arg("--mount")
        .arg(format!("{}:/etc/vlo/kubeconfig", kubeconfig.display()))
        .arg("--mount")
        .arg(format!("{}:/etc/hosts", hosts.display()));
    for env in [
        "KUBECONFIG=/etc/vlo/kubeconfig".to_string(),
        format!("AWS_ENDPOINT_URL_VPC_LATTICE={endpoint}"),
        format!("AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API={endpoint}"),
        "AWS_ACCESS_KEY_ID=test".into(),
        "AWS_SECRET_ACCESS_KEY=test".into(),
        "AWS_REGION=us-east-1".into(),
        "AWS_EC2_METADATA_DISABLED=true".into(),
        "RUST_LOG=info,vpc_lattice_operator=debug".into(),
    ] {
        cmd.arg("--env").arg(env);
    }
    cmd.arg(archive)
        .args([
            "run",
            "--namespace",
            &ns,
            "--admin-addr",
            &admin,
            "--cluster-name",
            CLUSTER,
        ])
        .args(["--resync-interval", "2s"])
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let mut container = Container {
        id,
        child: Some(cmd.spawn().expect("start hack/run-image.sh")),
        dir,
    };

    eventually("the operator's /readyz in the container", LIMIT, || async {
        crate::support::http_get(&format!("http://{admin}/readyz"))
            .await
            .filter(|r| r.0 == 200)
    })
    .await;
    apply_app(&ns);
    wait_ready(&ns, "app");
    let status = &get(&ns, "app").unwrap()["status"];
    assert_eq!(status["associationStatus"], "ACTIVE");
    let created = emu.fake.associations();
    assert_eq!(created.len(), 1, "created through http://localhost:{port}");
    assert_eq!(status["id"], created[0].id.as_str());

    let exit = container.stop();
    assert!(
        exit.success(),
        "the operator in the container exits cleanly on SIGTERM: {exit}"
    );
}
