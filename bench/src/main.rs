//! `vlo-bench`: `make bench` (issue 8 part 3). Runs the release operator binary against a fresh real
//! control plane and the release Lattice emulator per scenario, measures what issues 8, 10 and 18 ask
//! (times, AWS calls, status writes, reconciles, memory, fairness across namespaces) and sets each
//! figure beside its physical bound.
//!
//! - `vlo-bench run [--scenario NAME]…` writes `bench/results/<date>-<scenario>.json` per scenario,
//!   prints the table and regenerates BENCHMARKS.md (full scale only).
//! - `vlo-bench report` regenerates BENCHMARKS.md and the plots from the latest results, running nothing.

mod bounds;
mod calls;
mod env;
mod loopback;
mod model;
mod prom;
mod report;
mod rig;
mod scenarios;
mod svg;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use serde_json::Value;

use crate::model::{Machine, Revision, RunResult};
use crate::rig::{Bench, Record};
use crate::scenarios::ALL;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T> = std::result::Result<T, Error>;

/// The repository root (this crate is `bench/` in it).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Now, in Unix milliseconds (the clock of the emulator's `atMs`).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[derive(Parser)]
#[command(about = "Benchmarks of vpc-lattice-operator against its physical bounds (make bench)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios, write their results, print the table (and, at full scale, BENCHMARKS.md).
    Run(RunArgs),
    /// Regenerate BENCHMARKS.md and the plots from the latest results, without running anything.
    Report(ReportArgs),
}

#[derive(clap::Args)]
struct RunArgs {
    /// Run only this scenario (repeatable): single, burst-1k, big-network, fair-3k, fleet-10k, scale.
    /// Default: all.
    #[arg(long = "scenario", value_parser = clap::builder::PossibleValuesParser::new(ALL))]
    scenarios: Vec<String>,
    /// Multiply every object count by this (0.1: a tenth). Results of a scaled run go to
    /// target/bench/results/, never into bench/results/ or BENCHMARKS.md.
    #[arg(long, env = "VLO_BENCH_SCALE", default_value_t = 1.0)]
    scale: f64,
    /// Length of the fleet's steady-state window, in seconds: 6.5 resyncs of 60 s, so that the window
    /// holds one tag round (every 6th drift scan reads the tags) and its cost is counted.
    #[arg(long, env = "VLO_BENCH_STEADY_SECS", default_value_t = 390)]
    steady_secs: u64,
    /// Length of scale's steady window after each size's first full pass, in seconds (short: it
    /// is there for the RSS once the pass is over, not for the resync's cost, which fleet-10k measures).
    #[arg(long, env = "VLO_BENCH_SCALE_STEADY_SECS", default_value_t = 60)]
    scale_steady_secs: u64,
    /// Where the release binaries are (default: beside this one, as `cargo build --release
    /// --workspace --bins` puts them).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Where result files go (default: bench/results at full scale, target/bench/results otherwise).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stop everything after this many minutes (a guard; every phase has its own limit).
    #[arg(long, env = "VLO_BENCH_DEADLINE_MINS", default_value_t = 90)]
    deadline_mins: u64,
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The result files (default: bench/results).
    #[arg(long)]
    results: Option<PathBuf>,
    /// The report to write (default: BENCHMARKS.md at the repository's root).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn repo() -> PathBuf {
    Path::new(REPO).canonicalize().unwrap_or_else(|_| PathBuf::from(REPO))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Report(a) => {
            let repo = repo();
            let results = a.results.unwrap_or_else(|| repo.join("bench/results"));
            let out = a.out.unwrap_or_else(|| repo.join("BENCHMARKS.md"));
            report::write(&repo, &results, &out).map(|()| {
                println!("wrote {}", out.display());
                true
            })
        }
        Command::Run(a) => runtime.block_on(run(a)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Stops the children this bench started on a deadline, SIGINT or SIGTERM, then exits; the control
/// planes' watchdogs stop them once this process is gone.
fn guard(deadline: Duration) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        env::stop_children();
        hook(info);
    }));
    tokio::spawn(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("warning: no SIGTERM handler: {e}");
                return;
            }
        };
        let why = tokio::select! {
            () = tokio::time::sleep(deadline) => format!("the bench's deadline ({deadline:?}) passed"),
            _ = tokio::signal::ctrl_c() => "interrupted".to_string(),
            _ = term.recv() => "terminated".to_string(),
        };
        eprintln!("vlo-bench: {why}; stopping the processes it started");
        env::stop_children();
        std::process::exit(3);
    });
}

async fn run(a: RunArgs) -> Result<bool> {
    if !(a.scale > 0.0 && a.scale <= 1.0) {
        return Err(format!("--scale must be in (0, 1], not {}", a.scale).into());
    }
    guard(Duration::from_secs(a.deadline_mins * 60));
    let repo = repo();
    let bin_dir = match a.bin_dir.clone() {
        Some(d) => d,
        None => std::env::current_exe()?
            .parent()
            .ok_or("the bench binary has no directory")?
            .to_path_buf(),
    };
    for bin in ["vpc-lattice-operator", "lattice-emulator"] {
        if !bin_dir.join(bin).is_file() {
            return Err(format!(
                "{} is missing: build the release binaries first (cargo build --release --locked --workspace --bins)",
                bin_dir.join(bin).display()
            )
            .into());
        }
    }
    let full = a.scale == 1.0;
    let out = a.out.clone().unwrap_or_else(|| {
        if full {
            repo.join("bench/results")
        } else {
            repo.join("target/bench/results")
        }
    });
    std::fs::create_dir_all(&out)?;
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let work = repo
        .join("target/bench")
        .join(format!("work-{}", stamp.replace(':', "")));
    let b = Bench {
        repo: repo.clone(),
        bin_dir: bin_dir.clone(),
        work: work.clone(),
        scale: a.scale,
        steady: Duration::from_secs(a.steady_secs),
        scale_steady: Duration::from_secs(a.scale_steady_secs),
    };
    let names: Vec<String> = if a.scenarios.is_empty() {
        ALL.iter().map(|s| (*s).to_string()).collect()
    } else {
        ALL.iter()
            .filter(|s| a.scenarios.iter().any(|x| x == *s))
            .map(|s| (*s).to_string())
            .collect()
    };
    if !bin_dir.ends_with("release") {
        eprintln!(
            "warning: {} is not a release build directory: the figures will not be the release binaries'",
            bin_dir.display()
        );
    }
    eprintln!(
        "vlo-bench: scenarios {}, scale {}, binaries {}, logs under {}",
        names.join(", "),
        a.scale,
        bin_dir.display(),
        work.display()
    );
    // Read once, right after the build: the tree may change while the scenarios run.
    let revision = Revision::read(&repo, &bin_dir.join("vpc-lattice-operator"));
    let mut results = Vec::new();
    let mut ok = true;
    for name in &names {
        let start = Instant::now();
        let date = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let mut machine = Machine::read();
        let operator = revision.clone();
        let mut rec = Record::default();
        let outcome = scenarios::run(&b, name, &mut rec).await;
        machine.load_after = model::loadavg();
        let error = outcome.err().map(|e| e.to_string());
        if let Some(e) = &error {
            ok = false;
            eprintln!("[{name}] failed: {e}");
        }
        rec.config.insert("scale".into(), Value::from(a.scale));
        if let Ok((_, same)) = env::operator_crd(&bin_dir.join("vpc-lattice-operator"), &repo) {
            rec.config.insert("crdAsInTree".into(), Value::from(same));
        }
        rec.config
            .insert("binaries".into(), Value::from(bin_dir.display().to_string()));
        let result = RunResult {
            scenario: name.clone(),
            date: date.clone(),
            scale: a.scale,
            machine,
            operator,
            config: Value::Object(rec.config),
            rows: rec.rows,
            phases: Value::Object(rec.phases),
            series: rec.series,
            rates: rec.rates,
            sizes: rec.sizes,
            wall_s: start.elapsed().as_secs_f64(),
            error,
        };
        let path = out.join(format!("{}-{name}.json", &date[..10]));
        std::fs::write(&path, serde_json::to_string_pretty(&result)? + "\n")?;
        eprintln!("[{name}] wrote {}", path.display());
        results.push(result);
    }
    report::print_table(&results);
    if out == repo.join("bench/results") {
        report::write(&repo, &out, &repo.join("BENCHMARKS.md"))?;
        println!("\nwrote BENCHMARKS.md");
    }
    Ok(ok)
}
