//! The AWS SDK's configuration and the identities built from it: the operator's own (the standard
//! chain: IRSA, Pod Identity, instance profile, environment) and a role assumed through STS for a
//! namespace. The one place that builds SDK configurations and STS clients; the rest of the operator
//! holds [`Aws`] and the [`SdkLattice`] clients it makes.
//!
//! Also who the operator is, said once at start-up ([`Aws::log_caller`]): the region and the caller
//! identity (`sts:GetCallerIdentity`, which no IAM policy can deny). The start goes on whatever that
//! call answers: a failure is logged with what it means, and the objects then show the same failure
//! (reason `CredentialsUnavailable`) with the namespace's identity.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::provider::SharedCredentialsProvider;
use tracing::{info, warn};

use super::credentials::credentials_failure;
use super::error::readable;
use super::sdk::SdkLattice;

/// How long a connection to AWS may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one AWS call may take in all (the SDK has no limit of its own: an endpoint that accepts
/// and never answers would hold a reconcile, and a shutdown, forever). A call that times out is a
/// transient error, retried with backoff.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the start-up waits for the caller identity before it goes on without.
const CALLER_TIMEOUT: Duration = Duration::from_secs(10);
/// The session name of every role the operator assumes (CloudTrail shows it).
const SESSION_NAME: &str = "vpc-lattice-operator";

/// The operator's AWS configuration, loaded once.
#[derive(Clone, Debug)]
pub struct Aws {
    base: SdkConfig,
}

impl Aws {
    /// The standard AWS configuration chain (credentials, region, endpoint overrides), with the SDK's
    /// own retries off: the reconciler owns retrying (classified, with per-object backoff, honouring
    /// `Retry-After`), and SDK retries would bypass the shared rate limiter.
    pub async fn load() -> Self {
        let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(CALL_TIMEOUT)
                    .build(),
            )
            .load()
            .await;
        Self { base }
    }

    /// The operator's region (`AWS_REGION`, the profile, or the instance metadata), if it has one.
    pub fn region(&self) -> Option<String> {
        self.base.region().map(|r| r.to_string())
    }

    /// The configuration for calls to `region` (the operator's own when `None`).
    fn in_region(&self, region: Option<&str>) -> SdkConfig {
        match region {
            Some(r) => self
                .base
                .to_builder()
                .region(aws_config::Region::new(r.to_string()))
                .build(),
            None => self.base.clone(),
        }
    }

    /// A client as the operator itself (`AWS_ROLE_ARN`, when set, names its web identity role), for
    /// calls to `region` (the operator's own when `None`).
    pub fn own(&self, region: Option<&str>) -> SdkLattice {
        let who = match std::env::var("AWS_ROLE_ARN") {
            Ok(role) if !role.is_empty() => format!("the operator's own identity, web identity role {role}"),
            _ => "the operator's own identity".to_string(),
        };
        SdkLattice::from_config(&self.in_region(region)).signing_as(who)
    }

    /// A client as role `arn`, assumed through STS (with `external_id` when its trust policy demands
    /// one), for calls to `region` (the operator's own when `None`); `why` says in failures whose
    /// role this is.
    pub async fn assuming(&self, arn: &str, external_id: Option<&str>, why: &str, region: Option<&str>) -> SdkLattice {
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(arn).session_name(SESSION_NAME);
        if let Some(id) = external_id {
            builder = builder.external_id(id);
        }
        let base = self.in_region(region);
        let credentials = builder.configure(&base).build().await;
        let config = base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .build();
        SdkLattice::from_config(&config).signing_as(format!("role {arn} assumed for {why}"))
    }

    /// Logs the region, the cluster name and the caller identity; never fails.
    pub async fn log_caller(self, cluster: String) {
        let (config, cluster) = (&self.base, cluster.as_str());
        let region = config.region().map(|r| r.to_string());
        if region.is_none() {
            warn!(
                cluster,
                "no AWS region is configured (AWS_REGION, the chart's aws.region, or the instance metadata): every \
                 object will show CredentialsUnavailable until one is"
            );
            return;
        }
        let sts = aws_sdk_sts::Client::new(config);
        match tokio::time::timeout(CALLER_TIMEOUT, sts.get_caller_identity().send()).await {
            Ok(Ok(me)) => info!(
                region,
                cluster,
                account = me.account().unwrap_or_default(),
                arn = me.arn().unwrap_or_default(),
                "AWS identity"
            ),
            Ok(Err(e)) => {
                let why = credentials_failure(&e).map_or_else(|| readable(&e), |f| f.message);
                warn!(
                    region,
                    cluster,
                    error = why,
                    "could not tell the operator's AWS identity (sts:GetCallerIdentity); going on"
                );
            }
            Err(_) => warn!(
                region,
                cluster,
                "could not tell the operator's AWS identity: sts:GetCallerIdentity did not answer in 10 s; going on"
            ),
        }
    }
}
