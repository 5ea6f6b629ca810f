//! `import-1k` (issue 20): `vpc-lattice-operator import` over 1,000 ACTIVE associations in 10
//! service networks, each with user tags, written to a folder with `--out`: its wall time and AWS
//! calls, beside the bound of one List page per 100 associations of a network plus one Tagging API
//! read (`GetResources` by ARN) per 100 associations, at the import's default 10 calls per second.
//! No control plane: the import reads AWS only.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::json;

use crate::Result;
use crate::calls::Counts;
use crate::env::Emulator;
use crate::model::{Row, Target};
use crate::rig::{Bench, RATE, Record, Say, Topology, emulator_quota_args, secs};

/// The import's default `--aws-max-rps`.
const IMPORT_RPS: f64 = 10.0;
/// Associations a `GetResources` by ARN answers (a List page: `bounds::PAGE`, in `topo.pages()`).
const PER_CALL: usize = 100;
/// Timed runs; the median is reported.
const RUNS: usize = 3;

pub(super) async fn import(b: &Bench, dir: &Path, rec: &mut Record) -> Result<()> {
    let say = Say {
        scenario: "import-1k",
        start: Instant::now(),
    };
    let (objects, networks) = (b.scaled(1000), 10);
    let topo = Topology::new(objects, networks);
    let mut args = topo.emulator_args();
    args.extend(emulator_quota_args());
    let emulator = Emulator::start(&b.bin("lattice-emulator"), &args, &dir.join("emulator.log")).await?;
    let seeds: Vec<_> = (0..objects)
        .map(|i| {
            let (svc, sn) = topo.pair(i);
            json!({ "serviceNetworkIdentifier": sn, "serviceIdentifier": svc,
                    "tags": { "team": format!("team-{}", i % 7), "cost-center": "4711" } })
        })
        .collect();
    for chunk in seeds.chunks(500) {
        emulator.api.seed_associations(chunk).await?;
    }
    say.say(&format!("{objects} associations seeded in {networks} networks"));

    let mut cmd_args: Vec<String> = vec!["import".into(), "--cluster-name".into(), "bench".into()];
    for n in &topo.networks {
        cmd_args.extend(["--service-network".into(), n.clone()]);
    }
    let mut took = Vec::new();
    let mut counts = None;
    let mut written = 0;
    for run in 0..RUNS {
        emulator.api.clear().await?;
        let out_dir = dir.join(format!("out-{run}"));
        let start = Instant::now();
        let out = Command::new(b.bin("vpc-lattice-operator"))
            .args(&cmd_args)
            .arg("--out")
            .arg(&out_dir)
            .env("AWS_ENDPOINT_URL_VPC_LATTICE", &emulator.api.url)
            .env("AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API", &emulator.api.url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()?;
        let elapsed = start.elapsed();
        if !out.status.success() {
            return Err(format!("import failed: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        written = std::fs::read_dir(&out_dir)?.count() - 1;
        if written != objects {
            return Err(format!("import wrote {written} objects of {objects}").into());
        }
        let calls = emulator.api.calls().await?;
        let c = Counts::of(calls.iter());
        say.say(&format!(
            "run {run}: {:.2} s, {} AWS calls",
            elapsed.as_secs_f64(),
            c.total
        ));
        took.push(elapsed);
        counts = Some(c);
    }
    took.sort();
    let median = took[RUNS / 2].as_secs_f64();
    let c = counts.expect("at least one run");
    let pages = topo.pages();
    let tag_reads = objects.div_ceil(PER_CALL);
    let bound_calls = (pages + tag_reads) as f64;
    // The limiter's bucket starts with two tokens (its burst), then one every 1/rate.
    let bound_time = (bound_calls - 2.0).max(0.0) / IMPORT_RPS;
    rec.config.insert(
        "import-1k".into(),
        json!({ "associations": objects, "networks": networks, "runs": RUNS, "importMaxRps": IMPORT_RPS,
                "quota": { "requestRate": RATE, "requestBurst": RATE } }),
    );
    rec.row(
        Row::new(
            &format!("import of {objects} associations in {networks} networks: AWS calls"),
            Some(c.total as f64),
            "calls",
        )
        .bound(
            bound_calls,
            format!("{pages} List pages (100 a page) + {tag_reads} GetResources (100 ARNs a call)"),
        )
        .target(Target::AtMost(bound_calls))
        .note(c.describe()),
    );
    rec.row(
        Row::new(
            &format!("import of {objects} associations in {networks} networks: wall time"),
            Some(median),
            "s",
        )
        .bound(
            bound_time,
            "those calls at the import's 10 calls/s (2 at once, then one each 0.1 s)",
        )
        .target(Target::AtMost(bound_time + 1.0))
        .note(format!(
            "median of {RUNS} runs ({}), process start to exit, {written} files written",
            took.iter()
                .map(|t| format!("{:.2} s", t.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    );
    rec.phase(
        "import",
        json!({ "runsS": took.iter().map(|t| secs(t.as_millis() as u64)).collect::<Vec<_>>(), "calls": c }),
    );
    Ok(())
}
