//! The `vpc-lattice-operator` binary: command line and wiring only.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing::error;
use vpc_lattice_operator::drift::DriftOptions;
use vpc_lattice_operator::lattice::guard::limiter;
use vpc_lattice_operator::lattice::sdk::SdkLattice;
use vpc_lattice_operator::reconcile::{Config, Context};
use vpc_lattice_operator::runtime::run::{Election, Operator, ServedMetrics, stop_on_signal};
use vpc_lattice_operator::runtime::telemetry::{self, LogFormat};
use vpc_lattice_operator::runtime::tenancy::NamespaceRoles;
use vpc_lattice_operator::runtime::{ControllerOptions, admin};

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
    /// How long one listing of a service network's associations answers for its objects (their
    /// polls, a restart, the drift scan's wake-ups) before it is listed again, e.g. `1s`, `500ms`.
    #[arg(long, env = "OBSERVATION_MAX_AGE", default_value = "1s", value_parser = humantime::parse_duration)]
    observation_max_age: Duration,
    /// After SIGTERM, how long in-flight reconciles may take to finish before they are stopped where
    /// they are (the next start resumes them); keep it below the pod's termination grace period.
    #[arg(long, env = "SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    shutdown_timeout: Duration,
    /// Give objects of namespaces without the `vpclattice.operator.dev/aws-role-arn` annotation no AWS
    /// identity (Stalled `NoRoleForNamespace`, no call) instead of the operator's own.
    #[arg(long, env = "REQUIRE_NAMESPACE_ROLE", default_value_t = false, action = clap::ArgAction::Set)]
    require_namespace_role: bool,
    /// Maximum VPC Lattice calls per second, across all objects; namespaces take turns for them.
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
    /// Log filter in `RUST_LOG` syntax; an invalid one stops the start.
    #[arg(long, env = "RUST_LOG", default_value = "info", value_parser = telemetry::parse_filter)]
    log_filter: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd => {
            print!("{}", vpc_lattice_operator::api::crd_yaml());
            ExitCode::SUCCESS
        }
        Command::Run(args) => {
            if let Err(e) = telemetry::init(args.log_format, &args.log_filter) {
                eprintln!("error: invalid --log-filter {:?}: {e}", args.log_filter);
                return ExitCode::from(2);
            }
            match run(args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    error!(error = %e, "operator failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn run(args: RunArgs) -> Result<(), Box<dyn std::error::Error>> {
    let stop = stop_on_signal();
    let client = kube::Client::try_default().await?;
    let ServedMetrics {
        metrics,
        aws_calls,
        leader,
    } = ServedMetrics::default();
    let metrics = Arc::new(metrics);
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(args.admin_addr)
        .await
        .map_err(|e| format!("failed to bind the admin server to {}: {e}", args.admin_addr))?;
    let admin = tokio::spawn(admin::serve(listener, ready.clone(), metrics.clone()));

    let lattice = Arc::new(
        NamespaceRoles::new(
            client.clone(),
            SdkLattice::load_config().await,
            limiter(args.aws_max_rps),
            aws_calls,
        )
        .requiring_a_role(args.require_namespace_role),
    );
    let ctx = Arc::new(Context::new(
        client,
        lattice,
        metrics,
        Config {
            cluster_name: args.cluster_name,
            observation_max_age: args.observation_max_age,
            workers: usize::from(args.concurrency),
        },
    ));
    let operator = Operator {
        ctx,
        controller: ControllerOptions {
            namespace: args.namespace,
            concurrency: args.concurrency,
            drift: DriftOptions {
                interval: args.resync_interval,
                ..DriftOptions::default()
            },
        },
        election: args.leader_elect.then(|| Election::from_env(args.lease_namespace)),
        ready,
        leader,
        shutdown_timeout: args.shutdown_timeout,
    };
    let result = operator.run(stop).await;
    admin.abort();
    Ok(result?)
}
