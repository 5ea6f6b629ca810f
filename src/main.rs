//! The `vpc-lattice-operator` binary: command line and wiring only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing::{error, info};
use vpc_lattice_operator::lattice::guard::limiter;
use vpc_lattice_operator::lattice::sdk::SdkLattice;
use vpc_lattice_operator::metrics::Metrics;
use vpc_lattice_operator::reconcile::{Config, Context};
use vpc_lattice_operator::runtime::controller::shutdown_signal;
use vpc_lattice_operator::runtime::drift::DriftOptions;
use vpc_lattice_operator::runtime::telemetry::{self, LogFormat};
use vpc_lattice_operator::runtime::tenancy::NamespaceRoles;
use vpc_lattice_operator::runtime::{ControllerOptions, admin, leader, run_controller};

#[derive(Parser)]
#[command(
    version,
    about = "Amazon VPC Lattice service-network/service associations as Kubernetes objects"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the controller.
    Run(RunArgs),
    /// Print the CustomResourceDefinition as YAML.
    Crd,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Objects reconciled at once.
    #[arg(long, env = "CONCURRENCY", default_value_t = 8)]
    concurrency: u16,
    /// Period of the drift scan (±10% jitter), e.g. `10m`, `30s`.
    #[arg(long, env = "RESYNC_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    resync_interval: Duration,
    /// Maximum VPC Lattice calls per second, across all objects.
    #[arg(long, env = "AWS_MAX_RPS", default_value_t = 10)]
    aws_max_rps: u32,
    /// Name of this cluster, written to the ownership tag of every association.
    #[arg(long, env = "CLUSTER_NAME", default_value = "default")]
    cluster_name: String,
    /// Elect a leader through a Lease so that only one replica reconciles.
    #[arg(long, env = "LEADER_ELECT", default_value_t = false, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// Namespace of the leader Lease (default: the pod's namespace, else `default`).
    #[arg(long, env = "LEASE_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Address of the admin server (`/livez`, `/readyz`, `/metrics`).
    #[arg(long, env = "ADMIN_ADDR", default_value = "0.0.0.0:8080")]
    admin_addr: SocketAddr,
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter in `RUST_LOG` syntax.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log_filter: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match Cli::parse().command {
        Command::Crd => {
            print!("{}", vpc_lattice_operator::api::crd_yaml());
            std::process::ExitCode::SUCCESS
        }
        Command::Run(args) => {
            telemetry::init(args.log_format, &args.log_filter);
            match run(args).await {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    error!(error = %e, "operator failed");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}

async fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    let client = kube::Client::try_default().await?;
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(args.admin_addr)
        .await
        .map_err(|e| format!("failed to bind the admin server to {}: {e}", args.admin_addr))?;
    let admin = tokio::spawn(admin::serve(listener, ready.clone(), metrics.clone()));

    let aws = SdkLattice::load_config().await;
    let lattice = Arc::new(NamespaceRoles::new(
        client.clone(),
        aws,
        limiter(args.aws_max_rps),
        metrics.clone(),
    ));
    let ctx = Arc::new(Context::new(
        client.clone(),
        lattice,
        metrics.clone(),
        Config {
            cluster_name: args.cluster_name,
        },
    ));
    let opts = ControllerOptions {
        namespace: args.namespace,
        concurrency: args.concurrency,
        drift: DriftOptions {
            interval: args.resync_interval,
            ..DriftOptions::default()
        },
    };

    let leader = if args.leader_elect {
        let ns = args
            .lease_namespace
            .or_else(|| std::env::var("POD_NAMESPACE").ok())
            .unwrap_or_else(|| "default".into());
        let identity =
            std::env::var("POD_NAME").unwrap_or_else(|_| format!("vpc-lattice-operator-{}", std::process::id()));
        // A standby replica is healthy and ready while it waits; otherwise a rolling update whose new
        // pod must be Ready before the old one (the leader) goes would never finish.
        ready.store(true, std::sync::atomic::Ordering::SeqCst);
        let held = tokio::select! {
            l = leader::acquire(client.clone(), &ns, &identity) => l?,
            _ = shutdown_signal() => return Ok(()),
        };
        // Leading now: ready again once the watch has synced.
        ready.store(false, std::sync::atomic::Ordering::SeqCst);
        Some(held)
    } else {
        None
    };

    let (lost, leader) = match leader {
        Some(mut l) => {
            let lost = std::mem::replace(&mut l.lost, tokio::sync::oneshot::channel().1);
            (Some(lost), Some(l))
        }
        None => (None, None),
    };
    let stop = async move {
        match lost {
            Some(lost) => tokio::select! {
                _ = shutdown_signal() => {},
                _ = lost => {},
            },
            None => shutdown_signal().await,
        }
    };
    info!("starting controller");
    metrics.leader.set(1);
    run_controller(ctx, opts, ready, stop).await;
    metrics.leader.set(0);
    if let Some(l) = leader {
        l.release().await;
    }
    admin.abort();
    Ok(())
}
