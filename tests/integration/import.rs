//! `vpc-lattice-operator import`, the real binary over the AWS wire: against the emulator (many
//! networks, a listing past 100, tags, the associations it must skip, name collisions, the same bytes
//! on every run and from either tag source), against moto (what it serves), and end to end: the
//! output applied to a control plane with the operator running, every object Ready with no Create,
//! Delete or Untag, and only the ownership tags written.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

use lattice_emulator::FakeLattice;
use serde_json::Value;
use vpc_lattice_operator::api::{ALLOW_ADOPTION_LABEL, CLUSTER_TAG, GATEWAY_MANAGED_TAG, OWNER_TAG};
use vpc_lattice_operator::lattice::{AssociationState, Tags};

use crate::support::cluster::Private;
use crate::support::lattice::Emulator;
use crate::support::operator::{Binary, CLUSTER, aws_at};

const ACCOUNT: &str = "111122223333";
const OTHER_ACCOUNT: &str = "444455556666";

/// `import` with `args` against the endpoint `url`: exit code, stdout, stderr.
fn import(url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vpc-lattice-operator"));
    let out = aws_at(&mut cmd, url)
        .arg("import")
        .args(args)
        .env("VPC_LATTICE_OPERATOR_CLUSTER_NAME", CLUSTER)
        .env_remove("RUST_LOG")
        .output()
        .expect("run the import");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `import` that must succeed: its standard output.
fn imported(url: &str, args: &[&str]) -> String {
    let (code, stdout, stderr) = import(url, args);
    assert_eq!(code, Some(0), "import {args:?} failed: {stderr}");
    stdout
}

/// The documents of a YAML stream, as JSON.
fn documents(stream: &str) -> Vec<Value> {
    stream
        .split("\n---\n")
        .skip(1)
        .map(|d| serde_norway::from_str(d).expect("a YAML document"))
        .collect()
}

/// The lines of the header comment that say an association was skipped: (ID, reason).
fn skipped(stream: &str) -> BTreeMap<String, String> {
    stream
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# skipped "))
        .map(|l| {
            let (id, rest) = l.split_once(' ').unwrap();
            (id.to_string(), rest.split_once("): ").unwrap().1.to_string())
        })
        .collect()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// What the emulator holds for the first test: ten networks of the account, one of them with 150
/// associations; a network shared from another account with the name of one of them; and, among
/// the associations, one of each kind the import skips.
struct Estate {
    emu: Emulator,
    /// The IDs of the associations the import writes, and their tags.
    written: BTreeMap<String, Tags>,
    /// The IDs of the associations it skips, and a word of each reason.
    skipped: BTreeMap<String, &'static str>,
    /// How the scope is given on the command line.
    scope: Vec<String>,
}

async fn estate() -> Estate {
    let fake = Arc::new(FakeLattice::new(ACCOUNT, "us-east-1"));
    let services: Vec<String> = (0..150)
        .map(|i| fake.create_service(&format!("app-{i:03}"), None).unwrap().id)
        .collect();
    let big = fake.create_service_network("big", None).unwrap();
    let small: Vec<_> = (1..10)
        .map(|i| fake.create_service_network(&format!("net-{i}"), None).unwrap())
        .collect();
    let shared = fake.share_service_network("net-1", OTHER_ACCOUNT, true);
    let (mut written, mut skipped) = (BTreeMap::new(), BTreeMap::new());
    for (i, service) in services.iter().enumerate() {
        let user = tags(&[("team", &format!("t{}", i % 3))]);
        let a = fake.seed_association(&big.id, service, user.clone());
        // A key only AWS sets (CloudFormation's): never carried.
        let mut all = user.clone();
        all.insert("aws:cloudformation:stack-name".into(), "legacy".into());
        fake.set_tags(&a.arn, all);
        written.insert(a.id, user);
    }
    for (i, net) in small.iter().enumerate() {
        for service in &services[i * 2..i * 2 + 2] {
            let a = fake.seed_association(&net.id, service, Tags::new());
            written.insert(a.id, Tags::new());
        }
    }
    // The kinds the import skips, in net-9 and net-8 (services 140-149).
    let skip = |net: &str, service: &str, t: Tags, why: &'static str, skipped: &mut BTreeMap<_, _>| {
        let a = fake.seed_association(net, service, t);
        skipped.insert(a.id.clone(), why);
        a.id
    };
    let failed = skip(&small[8].id, &services[140], Tags::new(), "CREATE_FAILED", &mut skipped);
    fake.set_status(&failed, AssociationState::CreateFailed);
    let creating = skip(
        &small[8].id,
        &services[141],
        Tags::new(),
        "CREATE_IN_PROGRESS",
        &mut skipped,
    );
    fake.set_status(&creating, AssociationState::CreateInProgress);
    let gateway = tags(&[(GATEWAY_MANAGED_TAG, "123456789012/prod/web")]);
    skip(
        &small[8].id,
        &services[142],
        gateway,
        "Gateway API Controller",
        &mut skipped,
    );
    let ours = tags(&[(OWNER_TAG, "team/kept"), (CLUSTER_TAG, CLUSTER)]);
    skip(&small[8].id, &services[143], ours, "of this cluster", &mut skipped);
    let theirs = tags(&[(OWNER_TAG, "team/kept"), (CLUSTER_TAG, "staging")]);
    skip(&small[8].id, &services[144], theirs, "cluster staging", &mut skipped);
    // app-000 in the account's net-1 (written above) and in the shared net-1: both would be named
    // app-000-in-net-1.
    let twin = fake.seed_association(&shared.arn, &services[0], Tags::new());
    let own_twin = written
        .keys()
        .find(|id| {
            let a = fake.get_quietly(id).unwrap();
            a.service_id.as_deref() == Some(&services[0]) && a.service_network_id.as_deref() == Some(&small[0].id)
        })
        .unwrap()
        .clone();
    written.remove(&own_twin);
    skipped.insert(own_twin, "would be named app-000-in-net-1");
    skipped.insert(twin.id, "would be named app-000-in-net-1");

    // The scope: "big" by name, the others by ID and ARN, the shared one by ARN.
    let mut scope = vec!["--service-network".to_string(), "big".to_string()];
    for (i, net) in small.iter().enumerate() {
        let given = if i % 2 == 0 { &net.id } else { &net.arn };
        scope.extend(["--service-network".to_string(), given.clone()]);
    }
    scope.extend(["--service-network".to_string(), shared.arn.clone()]);
    Estate {
        emu: Emulator::serve(fake).await,
        written,
        skipped,
        scope,
    }
}

/// Every association of ten networks (and a shared one), 174 in all, one network past a List page:
/// each written once with exactly its user tags, each skipped one named with its reason; two runs,
/// and either tag source, give the same bytes; the YAML, JSON and `--out` forms hold the same
/// objects; the calls are the bound's (one List page per 100 associations of a network, one
/// `GetResources` per 100 associations, one `ListServiceNetworks` for the name), and none writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_writes_each_association_of_the_scope_once_and_says_why_it_skips_the_others() {
    let e = estate().await;
    let fake = &e.emu.fake;
    let mut args: Vec<&str> = e.scope.iter().map(String::as_str).collect();
    args.extend(["--namespace", "team"]);

    fake.clear_calls();
    let first = imported(&e.emu.url, &args);
    let found = fake.associations().len();
    assert_eq!(
        found, 174,
        "the estate: 150 + 9 × 2 + the five to skip + the twin in the shared network"
    );
    let calls: BTreeMap<String, usize> = fake.calls().iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c.operation.clone()).or_default() += 1;
        m
    });
    assert_eq!(
        calls,
        BTreeMap::from([
            ("ListServiceNetworks".to_string(), 1),
            // big: 150 associations in 2 pages; nine small networks and the shared one: 1 each.
            ("ListServiceNetworkServiceAssociations".to_string(), 12),
            // 174 associations, 100 a call.
            ("GetResources".to_string(), 2),
        ]),
        "reads only, at the bound"
    );

    let objects = documents(&first);
    let by_id: BTreeMap<String, &Value> = objects
        .iter()
        .map(|o| {
            let arn = o["metadata"]["annotations"]["vpclattice.operator.dev/imported-from"]
                .as_str()
                .unwrap();
            (arn.rsplit('/').next().unwrap().to_string(), o)
        })
        .collect();
    assert_eq!(by_id.len(), objects.len(), "one object per association");
    assert_eq!(
        by_id.keys().collect::<Vec<_>>(),
        e.written.keys().collect::<Vec<_>>(),
        "exactly the associations to write"
    );
    for (id, o) in &by_id {
        let a = fake.get_quietly(id).unwrap();
        let spec = &o["spec"];
        assert_eq!(o["metadata"]["namespace"], "team");
        let name = o["metadata"]["name"].as_str().unwrap();
        assert_eq!(
            name,
            format!("{}-in-{}", a.service_name.unwrap(), a.service_network_name.unwrap())
        );
        assert_eq!(spec["serviceIdentifier"].as_str(), a.service_arn.as_deref());
        assert_eq!(
            spec["serviceNetworkIdentifier"].as_str(),
            a.service_network_arn.as_deref()
        );
        assert_eq!(spec["region"], "us-east-1");
        assert_eq!(spec["adoptionPolicy"], "Always");
        assert_eq!(spec["deletionPolicy"], "Retain");
        let spec_tags: Tags =
            serde_json::from_value(spec.get("tags").cloned().unwrap_or(Value::Null)).unwrap_or_default();
        assert_eq!(spec_tags, e.written[id], "{id}: exactly its user tags");
        assert!(o.get("status").is_none());
    }
    let names: Vec<&str> = objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "in name order");

    let reasons = skipped(&first);
    assert_eq!(
        reasons.keys().collect::<Vec<_>>(),
        e.skipped.keys().collect::<Vec<_>>(),
        "every other association is named in the header: {first:.2000}"
    );
    for (id, word) in &e.skipped {
        assert!(reasons[id].contains(word), "{id}: {word:?} in {:?}", reasons[id]);
    }
    assert!(first.starts_with(&format!(
        "# vpc-lattice-operator import from service network big, service network {}",
        e.scope[3]
    )));

    // The same bytes again, and with the other tag source (one ListTagsForResource each).
    assert_eq!(imported(&e.emu.url, &args), first, "a second run");
    fake.clear_calls();
    let mut per_association = args.clone();
    per_association.extend(["--tags-from", "list-tags-for-resource", "--aws-max-rps", "100"]);
    assert_eq!(imported(&e.emu.url, &per_association), first, "tags read one by one");
    assert_eq!(fake.count("ListTagsForResource"), found);
    assert_eq!(fake.count("GetResources"), 0);

    // JSON: the same objects. --out: a file each, and the kustomization with the header.
    let mut json_args = args.clone();
    json_args.extend(["-o", "json"]);
    let list: Value = serde_json::from_str(&imported(&e.emu.url, &json_args)).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap(), &objects);
    let dir = tempdir("import-out");
    let mut out_args = args.clone();
    out_args.extend(["--out", dir.to_str().unwrap()]);
    assert_eq!(imported(&e.emu.url, &out_args), "", "nothing on standard output");
    let kustomization = std::fs::read_to_string(dir.join("kustomization.yaml")).unwrap();
    assert_eq!(skipped(&kustomization), reasons);
    let listed: Vec<&str> = kustomization.lines().filter_map(|l| l.strip_prefix("- ")).collect();
    assert_eq!(listed, names.iter().map(|n| format!("{n}.yaml")).collect::<Vec<_>>());
    for (file, o) in listed.iter().zip(&objects) {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert_eq!(&serde_norway::from_str::<Value>(&text).unwrap(), o, "{file}");
    }

    // --dry-run: a row per association, written or skipped, and nothing else.
    let mut dry = args.clone();
    dry.push("--dry-run");
    let table = imported(&e.emu.url, &dry);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert!(table.starts_with("ACTION"), "{table:.500}");
    assert_eq!(rows.iter().filter(|r| r.starts_with("write ")).count(), objects.len());
    assert_eq!(rows.iter().filter(|r| r.starts_with("skip ")).count(), e.skipped.len());
    assert_eq!(rows.len(), found);

    // The switches: failed ones (not the one in progress), the Gateway's as ObserveOnly, another
    // cluster's; this cluster's own never.
    let mut all = args.clone();
    all.extend([
        "--include-failed",
        "--include-gateway-managed",
        "--include-other-clusters",
    ]);
    let wider = imported(&e.emu.url, &all);
    assert_eq!(documents(&wider).len(), objects.len() + 3);
    let left = skipped(&wider);
    assert_eq!(
        left.len(),
        4,
        "in progress, this cluster's, and the two that collide: {wider:.1500}"
    );
    let observed: Vec<Value> = documents(&wider)
        .into_iter()
        .filter(|o| o["spec"]["managementPolicy"] == "ObserveOnly")
        .collect();
    assert_eq!(observed.len(), 1, "the Gateway API Controller's");
    assert!(observed[0]["spec"].get("tags").is_none());

    // An association gone from AWS: a second --out run removes its file, and only its file.
    let gone = listed[0];
    let gone_id = by_id
        .iter()
        .find(|(_, o)| format!("{}.yaml", o["metadata"]["name"].as_str().unwrap()) == gone)
        .unwrap()
        .0;
    std::fs::write(dir.join("notes.yaml"), "kept: true\n").unwrap();
    assert!(fake.delete_out_of_band(gone_id));
    imported(&e.emu.url, &out_args);
    assert!(!dir.join(gone).exists(), "{gone} pruned");
    assert!(
        dir.join(listed[1]).exists() && dir.join("notes.yaml").exists(),
        "nothing else removed"
    );
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        files,
        listed.len() - 1 + 2,
        "the objects, the kustomization and the notes"
    );

    // Nothing written in AWS by any run.
    for op in ["CreateServiceNetworkServiceAssociation", "TagResource", "UntagResource"] {
        assert_eq!(fake.count(op), 0, "{op}");
    }
}

/// The Tagging API reports the caller's account's associations only, and of those only the tagged
/// ones: an untagged association of the account is known untagged from the others' ARNs (no call),
/// another account's is read with ListTagsForResource, and skipped saying why when that is refused;
/// refused for every association, the import fails naming the permission.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_associations_are_read_one_by_one_and_skipped_when_refused() {
    let fake = Arc::new(FakeLattice::new(ACCOUNT, "us-east-1"));
    let net = fake.create_service_network("net", None).unwrap();
    let svc: Vec<String> = (0..3)
        .map(|i| fake.create_service(&format!("app-{i}"), None).unwrap().id)
        .collect();
    fake.seed_association(&net.id, &svc[0], tags(&[("team", "a")]));
    fake.seed_association(&net.id, &svc[1], Tags::new());
    let theirs = fake.seed_foreign_association(&net.id, &svc[2], OTHER_ACCOUNT, tags(&[("team", "c")]));
    let emu = Emulator::serve(fake).await;
    let args = ["--service-network", net.id.as_str()];

    emu.fake.clear_calls();
    let stream = imported(&emu.url, &args);
    assert_eq!(emu.fake.count("GetResources"), 1);
    assert_eq!(emu.fake.count("ListTagsForResource"), 1, "only the other account's");
    let objects = documents(&stream);
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["spec"]["tags"]["team"], "a");
    assert!(
        objects[1]["spec"].get("tags").is_none(),
        "app-1's association has no tags"
    );
    let reasons = skipped(&stream);
    assert!(
        reasons[&theirs.id].starts_with("its tags cannot be read by this identity")
            && reasons[&theirs.id].contains(OTHER_ACCOUNT),
        "{reasons:?}"
    );

    // Nothing tagged at all: the account is unknown, so each association is read.
    let fake = Arc::new(FakeLattice::new(ACCOUNT, "us-east-1"));
    let net = fake.create_service_network("net", None).unwrap();
    for i in 0..2 {
        let s = fake.create_service(&format!("app-{i}"), None).unwrap();
        fake.seed_association(&net.id, &s.id, Tags::new());
    }
    let emu = Emulator::serve(fake).await;
    let args = ["--service-network", net.id.as_str()];
    assert_eq!(documents(&imported(&emu.url, &args)).len(), 2);
    assert_eq!(emu.fake.count("ListTagsForResource"), 2);

    // Only another account's associations, every read refused: the permission is named.
    let fake = Arc::new(FakeLattice::new(ACCOUNT, "us-east-1"));
    let net = fake.create_service_network("net", None).unwrap();
    let s = fake.create_service("app", None).unwrap();
    fake.seed_foreign_association(&net.id, &s.id, OTHER_ACCOUNT, Tags::new());
    let emu = Emulator::serve(fake).await;
    let (code, stdout, stderr) = import(&emu.url, &["--service-network", net.id.as_str()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("refused for every one") && stderr.contains("vpc-lattice:ListTagsForResource"),
        "{stderr}"
    );
    assert_eq!(stdout, "");
}

/// A scope the import cannot read says so, naming what to do, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_that_cannot_be_read_fails_saying_why() {
    let fake = Arc::new(FakeLattice::new(ACCOUNT, "us-east-1"));
    fake.create_service_network("one", None).unwrap();
    fake.create_service_network("two", None).unwrap();
    fake.share_service_network("two", OTHER_ACCOUNT, true);
    let emu = Emulator::serve(fake).await;
    for (args, says) in [
        (&["--service-network", "three"][..], "no service network named three"),
        (&["--service-network", "two"][..], "2 service networks are named two"),
        (&["--service", "nothing"][..], "no service named nothing"),
        (&[][..], "--service-network"),
    ] {
        let (code, stdout, stderr) = import(&emu.url, args);
        assert_ne!(code, Some(0), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {says:?} in {stderr}");
        assert_eq!(stdout, "", "{args:?}: nothing written");
    }
}

/// Throttled and failing calls are tried again as the operator tries them (AWS's `Retry-After`,
/// else backoff), and the output is the one an undisturbed run writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_and_failing_calls_are_retried_to_the_same_output() {
    let fake = Arc::new(FakeLattice::new(ACCOUNT, "us-east-1"));
    let net = fake.create_service_network("net", None).unwrap();
    for i in 0..3 {
        let s = fake.create_service(&format!("app-{i}"), None).unwrap();
        fake.seed_association(&net.id, &s.id, tags(&[("team", "a")]));
    }
    let emu = Emulator::serve(fake).await;
    let args = ["--service-network", net.id.as_str()];
    let calm = imported(&emu.url, &args);
    emu.fake.clear_calls();
    emu.fake.set_faults(lattice_emulator::Faults {
        throttle: 2,
        retry_after_seconds: Some(1),
        server_errors: 1,
        ..lattice_emulator::Faults::default()
    });
    assert_eq!(imported(&emu.url, &args), calm);
    let errors: Vec<Option<String>> = emu.fake.calls().into_iter().map(|c| c.error).collect();
    assert_eq!(
        errors,
        [
            Some("ThrottlingException".to_string()),
            Some("ThrottlingException".to_string()),
            Some("InternalServerException".to_string()),
            None,
            None,
        ],
        "the List tried four times, then the tags read"
    );
}

fn tempdir(prefix: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The import's output applied to a control plane with the operator running: the CRD accepts every
/// object, and each adopts its association with no Create, Delete or Untag; the only writes are one
/// TagResource per object adding its two ownership tags (what keeps every other object and cluster
/// from taking it over), and the user tags stay as they were. A second import then skips them all
/// as this cluster's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_manifests_are_adopted_without_a_create_and_become_ready() {
    let cp = Private::start("import");
    let fake = Arc::new(FakeLattice::new(ACCOUNT, "us-east-1"));
    let networks: Vec<_> = (0..3)
        .map(|i| fake.create_service_network(&format!("net-{i}"), None).unwrap())
        .collect();
    let mut before = BTreeMap::new();
    for i in 0..12 {
        let service = fake.create_service(&format!("app-{i}"), None).unwrap();
        let t = tags(&[("team", "payments"), ("tier", &format!("{}", i % 2))]);
        let a = fake.seed_association(&networks[i % 3].id, &service.id, t.clone());
        before.insert(a.arn, t);
    }
    let emu = Emulator::serve(fake).await;
    let ns = "payments";
    cp.ok(&["create", "namespace", ns], None);
    cp.ok(
        &["label", "namespace", ns, &format!("{ALLOW_ADOPTION_LABEL}=true")],
        None,
    );
    let mut args = vec!["--namespace", ns];
    for n in &networks {
        args.extend(["--service-network", n.name.as_str()]);
    }
    let stream = imported(&emu.url, &args);
    assert_eq!(documents(&stream).len(), 12);

    let kubeconfig = cp.kubeconfig().to_string_lossy().to_string();
    let _op = Binary::spawn_with_env("", &emu.url, &[], &[("KUBECONFIG", kubeconfig.as_str())]);
    emu.fake.clear_calls();
    cp.ok(&["apply", "-f", "-"], Some(&stream));
    cp.ok(
        &[
            "wait",
            "snsa",
            "--all",
            "-n",
            ns,
            "--for=condition=Ready",
            "--timeout=120s",
        ],
        None,
    );
    let objects: Value = serde_json::from_str(&cp.ok(&["get", "snsa", "-n", ns, "-o", "json"], None)).unwrap();
    let objects = objects["items"].as_array().unwrap();
    assert_eq!(objects.len(), 12);
    for o in objects {
        let name = o["metadata"]["name"].as_str().unwrap();
        let arn = o["metadata"]["annotations"]["vpclattice.operator.dev/imported-from"]
            .as_str()
            .unwrap();
        assert_eq!(
            o["status"]["arn"], arn,
            "{name} adopted the association it was imported from"
        );
        let mut expect = before[arn].clone();
        expect.insert(OWNER_TAG.into(), format!("{ns}/{name}"));
        expect.insert(CLUSTER_TAG.into(), CLUSTER.into());
        assert_eq!(
            emu.fake.tags_of(arn),
            expect,
            "{name}: its tags, and the ownership tags"
        );
    }
    for op in [
        "CreateServiceNetworkServiceAssociation",
        "DeleteServiceNetworkServiceAssociation",
        "UntagResource",
    ] {
        assert_eq!(emu.fake.count(op), 0, "{op}");
    }
    assert_eq!(emu.fake.count("TagResource"), 12, "one ownership tag write per object");
    assert_eq!(emu.fake.associations().len(), 12);

    // Imported again: every association is now this cluster's.
    let again = imported(&emu.url, &args);
    assert!(documents(&again).is_empty(), "{again}");
    assert_eq!(skipped(&again).len(), 12);
    assert!(
        skipped(&again)
            .values()
            .all(|r| r.starts_with("already owned by payments/"))
    );
}

/// moto serves the List (filtered by IDs) and ListTagsForResource, but not the Tagging API for VPC
/// Lattice, and its List leaves out the names and ARNs of the service and network: the import fills
/// them from ListServices and ListServiceNetworks, and writes what the emulator would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_against_moto() {
    use aws_sdk_vpclattice::config::{BehaviorVersion, Credentials, Region};
    let moto = crate::support::moto::Moto::start();
    let config = aws_sdk_vpclattice::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&moto.url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .build();
    let sdk = aws_sdk_vpclattice::Client::from_conf(config);
    let network = sdk.create_service_network().name("moto-net").send().await.unwrap();
    let mut services = Vec::new();
    for name in ["moto-a", "moto-b"] {
        let s = sdk.create_service().name(name).send().await.unwrap();
        sdk.create_service_network_service_association()
            .service_identifier(s.id().unwrap())
            .service_network_identifier(network.id().unwrap())
            .tags("team", name)
            .send()
            .await
            .unwrap();
        services.push(s);
    }
    let args = [
        "--service-network",
        network.id().unwrap(),
        "--tags-from",
        "list-tags-for-resource",
    ];
    let objects = documents(&imported(&moto.url, &args));
    assert_eq!(objects.len(), 2);
    for (o, s) in objects.iter().zip(&services) {
        assert_eq!(o["metadata"]["name"], format!("{}-in-moto-net", s.name().unwrap()));
        assert_eq!(o["spec"]["serviceIdentifier"].as_str(), s.arn());
        assert_eq!(o["spec"]["serviceNetworkIdentifier"].as_str(), network.arn());
        assert_eq!(o["spec"]["tags"]["team"].as_str(), s.name());
    }
}
