//! `lattice-emulator`: serves the fault-injecting VPC Lattice emulator (and STS, for
//! `AWS_ENDPOINT_URL_STS`) on a loopback port, seeded with services and service networks, for
//! `make demo` and local runs of the operator (the tests serve the same router in-process). Dev and
//! test only.

use std::sync::Arc;

use clap::Parser;
use lattice_emulator::{FakeLattice, Faults, StsFaults};

#[derive(Parser)]
#[command(about = "A fault-injecting VPC Lattice emulator speaking the AWS REST/JSON wire protocol")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566")]
    addr: String,
    /// Account ID in ARNs.
    #[arg(long, default_value = "111122223333")]
    account: String,
    /// Region in ARNs.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// A service to create at start, as `ID=NAME` (repeatable).
    #[arg(long = "service")]
    services: Vec<String>,
    /// A service network to create at start, as `ID=NAME` (repeatable).
    #[arg(long = "service-network")]
    networks: Vec<String>,
    /// Provisioning delay of creates and deletes, in milliseconds.
    #[arg(long, default_value_t = 0)]
    provisioning_delay_ms: u64,
    /// Up to this many milliseconds added to each create's and delete's provisioning delay
    /// (uniformly drawn per association).
    #[arg(long, default_value_t = 0)]
    provisioning_jitter_ms: u64,
    /// Request quota per account (access key ID), in requests per second; 0 is unlimited. Beyond it
    /// calls are answered with ThrottlingException (HTTP 429, Retry-After).
    #[arg(long, default_value_t = 0.0, value_parser = rate)]
    request_rate: f64,
    /// The request quota's bucket size (default: max(1, ceil(request rate))).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    request_burst: Option<u32>,
    /// STS: deny `AssumeRole` on this role ARN (`*`: every role) with AccessDenied (repeatable).
    #[arg(long = "sts-deny-assume-role")]
    sts_deny_assume_role: Vec<String>,
    /// STS: deny `AssumeRoleWithWebIdentity` on this role ARN (`*`: every role) (repeatable).
    #[arg(long = "sts-deny-web-identity")]
    sts_deny_web_identity: Vec<String>,
    /// STS: answer every call with HTTP 200 and an HTML page (a broken STS).
    #[arg(long)]
    sts_broken: bool,
}

fn rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 0.0 => Ok(r),
        _ => Err(format!("'{s}' is not a number of requests per second >= 0")),
    }
}

fn split(seed: &str) -> Result<(&str, &str), String> {
    seed.split_once('=').ok_or_else(|| format!("'{seed}' is not ID=NAME"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let fake = Arc::new(FakeLattice::new(&args.account, &args.region));
    for s in &args.services {
        let (id, name) = split(s)?;
        fake.create_service(name, Some(id))?;
    }
    for s in &args.networks {
        let (id, name) = split(s)?;
        fake.create_service_network(name, Some(id))?;
    }
    fake.set_faults(Faults {
        provisioning_delay_ms: args.provisioning_delay_ms,
        provisioning_jitter_ms: args.provisioning_jitter_ms,
        request_rate: args.request_rate,
        request_burst: args.request_burst,
        ..Default::default()
    });
    fake.set_sts_faults(StsFaults {
        deny_assume_role: args.sts_deny_assume_role.into_iter().collect(),
        deny_web_identity: args.sts_deny_web_identity.into_iter().collect(),
        broken: args.sts_broken,
        ..Default::default()
    });
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!("lattice-emulator listening on http://{}", listener.local_addr()?);
    lattice_emulator::serve(listener, fake).await?;
    Ok(())
}
