//! The `vpc-lattice-operator` binary: command line and wiring only.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing::error;
use vpc_lattice_operator::drift::DriftOptions;
use vpc_lattice_operator::import::cli::ImportArgs;
use vpc_lattice_operator::lattice::aws::Aws;
use vpc_lattice_operator::limiter::Limiter;
use vpc_lattice_operator::reconcile::{Config, Context, DEFAULT_OBSERVATION_MAX_AGE, DEFAULT_WORKERS};
use vpc_lattice_operator::runtime::run::{Election, Operator, ServedMetrics, stop_on_signal};
use vpc_lattice_operator::runtime::telemetry::{self, LogFormat};
use vpc_lattice_operator::runtime::tenancy::{NamespaceRoles, TenancyRules};
use vpc_lattice_operator::runtime::{ControllerOptions, admin, check};

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
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinition as YAML.
    Crd,
    /// Check that a ready operator of this version answers at an admin address (what the chart's
    /// `helm test` Pod runs against the release's Service); exit 1 saying what is wrong otherwise.
    Check(CheckArgs),
    Import(Box<ImportArgs>),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The admin server's base URL, e.g. `http://vpc-lattice-operator.vpc-lattice-operator.svc:8080`.
    #[arg(long)]
    url: String,
    /// How long to keep asking while the answer is not yet right, e.g. `30s`.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "VPC_LATTICE_OPERATOR_WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// Objects reconciled at once.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_CONCURRENCY", default_value_t = DEFAULT_WORKERS)]
    concurrency: u16,
    /// Period of the drift scan (±10% jitter), e.g. `10m`, `30s`.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_RESYNC_INTERVAL", default_value = "10m", value_parser = humantime::parse_duration)]
    resync_interval: Duration,
    /// How long one listing of a service network's associations answers for its objects (their
    /// polls, a restart, the drift scan's wake-ups) before it is listed again, e.g. `1s`, `500ms`.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_OBSERVATION_MAX_AGE", default_value_t = DEFAULT_OBSERVATION_MAX_AGE.into())]
    observation_max_age: humantime::Duration,
    /// After SIGTERM, how long in-flight reconciles may take to finish before they are stopped where
    /// they are (the next start resumes them); keep it below the pod's termination grace period.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_SHUTDOWN_TIMEOUT", default_value = "20s", value_parser = humantime::parse_duration)]
    shutdown_timeout: Duration,
    /// Give objects of namespaces without the `vpclattice.operator.dev/aws-role-arn` annotation no AWS
    /// identity (Stalled `NoRoleForNamespace`, no call) instead of the operator's own.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_REQUIRE_NAMESPACE_ROLE", default_value_t = false, action = clap::ArgAction::Set)]
    require_namespace_role: bool,
    /// IAM role ARN patterns a namespace's `vpclattice.operator.dev/aws-role-arn` annotation may
    /// name (repeatable, or comma-separated; `*` matches any run of characters, `?` one). A namespace
    /// naming another role is Stalled (`RoleNotAllowed`) without an STS call. None given: any role.
    #[arg(
        long = "allowed-role-arn",
        env = "VPC_LATTICE_OPERATOR_ALLOWED_ROLE_ARNS",
        value_delimiter = ','
    )]
    allowed_role_arns: Vec<String>,
    /// The Namespace label, `KEY=VALUE`, that allows `adoptionPolicy: Always` in a namespace: only
    /// there may an object take over an association no live object of this cluster owns.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_ALLOW_ADOPTION_LABEL", default_value = vpc_lattice_operator::api::ALLOW_ADOPTION_SELECTOR, value_parser = parse_label)]
    allow_adoption_label: (String, String),
    /// Maximum VPC Lattice calls per second, across all objects; namespaces take turns for them.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_AWS_MAX_RPS", default_value_t = 10)]
    aws_max_rps: u32,
    /// Name of this cluster (required), written to the `vpclattice.operator.dev/cluster` tag of every
    /// association: give each cluster that shares an AWS account its own, and use it in the
    /// tag-scoped IAM policy (docs/security.md). Keep it once chosen: it is how this cluster knows its
    /// associations.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_CLUSTER_NAME", value_parser = vpc_lattice_operator::api::parse_cluster_name)]
    cluster_name: String,
    /// Elect a leader through a Lease so that only one replica reconciles.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_LEADER_ELECT", default_value_t = false, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// Name of the leader Lease; give each installation in one namespace its own (the chart uses
    /// `<release fullname>-leader`).
    #[arg(long, env = "VPC_LATTICE_OPERATOR_LEADER_ELECTION_ID", default_value = vpc_lattice_operator::runtime::leader::LEASE_NAME)]
    leader_election_id: String,
    /// Namespace of the leader Lease (default: the pod's namespace, else `default`).
    #[arg(long, env = "VPC_LATTICE_OPERATOR_LEASE_NAMESPACE")]
    lease_namespace: Option<String>,
    /// Address of the admin server (`/livez`, `/readyz`, `/metrics`).
    #[arg(long, env = "VPC_LATTICE_OPERATOR_ADMIN_ADDR", default_value = "0.0.0.0:8080")]
    admin_addr: SocketAddr,
    /// Log line format.
    #[arg(long, env = "VPC_LATTICE_OPERATOR_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter in `RUST_LOG` syntax; an invalid one stops the start.
    #[arg(long, env = "RUST_LOG", default_value = "info", value_parser = telemetry::parse_filter)]
    log_filter: telemetry::LogFilter,
}

/// A label selector of one `KEY=VALUE`.
fn parse_label(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err("expected KEY=VALUE, e.g. vpclattice.operator.dev/allow-adoption=true".into()),
    }
}

/// What `import` logs (on standard error): its retries; the AWS SDK's own warnings (each provider of
/// the credentials chain that found none) only as errors, since the import's message says it all.
const IMPORT_LOG: &str = "warn,aws_config=error";

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crd => {
            print!("{}", vpc_lattice_operator::api::crd_yaml());
            ExitCode::SUCCESS
        }
        Command::Check(args) => match check::check(&args.url, args.timeout).await {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("check failed: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Import(args) => {
            telemetry::init(
                LogFormat::Text,
                &telemetry::parse_filter(IMPORT_LOG).expect("a valid filter"),
            );
            match vpc_lattice_operator::import::cli::run(*args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("import failed: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run(args) => {
            telemetry::init(args.log_format, &args.log_filter);
            match run(*args).await {
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
    // This replica's name: its Lease holder identity and its Events' reporting instance.
    let pod_name = std::env::var("POD_NAME").ok();
    let client = kube::Client::try_default().await?;
    let ServedMetrics {
        metrics,
        aws_calls,
        limiter,
        leader,
    } = ServedMetrics::default();
    let metrics = Arc::new(metrics);
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(args.admin_addr)
        .await
        .map_err(|e| format!("failed to bind the admin server to {}: {e}", args.admin_addr))?;
    let admin = tokio::spawn(admin::serve(listener, ready.clone(), metrics.clone()));

    let aws = Aws::load().await;
    // Said in the background: an STS that does not answer must not hold the start.
    tokio::spawn(aws.clone().log_caller(args.cluster_name.clone()));
    let home_region = aws.region();
    let lattice = Arc::new(
        NamespaceRoles::new(client.clone(), aws, aws_calls).with_rules(TenancyRules {
            require_role: args.require_namespace_role,
            allowed_roles: args.allowed_role_arns,
            adoption_label: args.allow_adoption_label,
        }),
    );
    let limiter = Arc::new(
        Limiter::new(args.aws_max_rps)
            .with_metrics(limiter)
            .with_home_region(home_region),
    );
    let ctx = Arc::new(Context::new(
        client,
        lattice,
        limiter,
        metrics,
        Config {
            cluster_name: args.cluster_name,
            observation_max_age: args.observation_max_age.into(),
            workers: usize::from(args.concurrency),
            instance: pod_name.clone(),
        },
    ));
    let operator = Operator {
        ctx,
        controller: ControllerOptions {
            namespace: args.namespace,
            drift: DriftOptions {
                interval: args.resync_interval,
                ..DriftOptions::default()
            },
        },
        election: args
            .leader_elect
            .then(|| Election::from_env(args.lease_namespace, args.leader_election_id, pod_name)),
        ready,
        leader,
        shutdown_timeout: args.shutdown_timeout,
    };
    let result = operator.run(stop).await;
    admin.abort();
    Ok(result?)
}
