//! Who the operator is in AWS, said once at start-up: the region and the caller identity
//! (`sts:GetCallerIdentity`, which no IAM policy can deny). The start goes on whatever that call
//! answers: a failure is logged with what it means, and the objects then show the same failure
//! (reason `CredentialsUnavailable`) with the namespace's identity.

use aws_config::SdkConfig;
use tracing::{info, warn};

use crate::lattice::credentials::credentials_failure;
use crate::lattice::error::readable;

/// How long the start-up waits for the caller identity before it goes on without.
const CALLER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Logs the region, the cluster name and the caller identity of `config`; never fails.
pub async fn log_caller(config: SdkConfig, cluster: String) {
    let (config, cluster) = (&config, cluster.as_str());
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
