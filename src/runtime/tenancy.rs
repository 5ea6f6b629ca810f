//! Per-namespace AWS identity. A Namespace annotated `vpclattice.operator.dev/aws-role-arn: <role ARN>`
//! has its objects reconciled with credentials from STS AssumeRole on that role (aws-config's
//! `AssumeRoleProvider`, which caches and refreshes them); other namespaces use the operator's own
//! identity, or, when the operator requires a role per namespace (`--require-namespace-role`), none:
//! their objects are Stalled without an AWS call. A role that demands an external ID gets it from
//! `vpclattice.operator.dev/aws-external-id`. One client per (role, external ID) is kept; every
//! client shares the process's rate limiter.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_config::SdkConfig;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use tokio::sync::Mutex;

use crate::lattice::guard::{AwsCallMetrics, Caller, Guarded, SharedLimiter, Turn};
use crate::lattice::provider::{LatticeProvider, Tenant, TenantError};
use crate::lattice::sdk::SdkLattice;
use crate::lattice::{ErrorKind, LatticeApi, LatticeError};

/// The Namespace annotation naming the IAM role for its objects.
pub const ROLE_ANNOTATION: &str = "vpclattice.operator.dev/aws-role-arn";
/// The Namespace annotation with the external ID its role's trust policy demands (optional).
pub const EXTERNAL_ID_ANNOTATION: &str = "vpclattice.operator.dev/aws-external-id";
/// How long a namespace's annotation is trusted before it is read again.
const ANNOTATION_TTL: Duration = Duration::from_secs(30);

/// Resolves each namespace to the operator's own identity or its annotated role.
pub struct NamespaceRoles {
    namespaces: Api<Namespace>,
    base: SdkConfig,
    own: Arc<dyn LatticeApi>,
    limiter: SharedLimiter,
    metrics: AwsCallMetrics,
    annotations: Mutex<HashMap<String, (Instant, Option<Role>)>>,
    roles: Mutex<HashMap<Role, Arc<dyn LatticeApi>>>,
    /// Namespaces without a role annotation get no AWS identity (`--require-namespace-role`).
    require_role: bool,
}

/// A namespace's role annotation and its optional external ID annotation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Role {
    arn: String,
    external_id: Option<String>,
}

impl NamespaceRoles {
    pub fn new(client: kube::Client, base: SdkConfig, limiter: SharedLimiter, metrics: AwsCallMetrics) -> Self {
        let own: Arc<dyn LatticeApi> = Arc::new(Guarded::new(
            SdkLattice::from_config(&base),
            limiter.clone(),
            metrics.clone(),
        ));
        Self {
            namespaces: Api::all(client),
            base,
            own,
            limiter,
            metrics,
            annotations: Mutex::default(),
            roles: Mutex::default(),
            require_role: false,
        }
    }

    /// Namespaces without a role annotation get no AWS identity: their objects are Stalled
    /// (`NoRoleForNamespace`) and no AWS call is made for them.
    #[must_use]
    pub fn requiring_a_role(mut self, require: bool) -> Self {
        self.require_role = require;
        self
    }

    async fn role_of(&self, namespace: &str) -> Result<Option<Role>, TenantError> {
        let mut cache = self.annotations.lock().await;
        if let Some((at, role)) = cache.get(namespace)
            && at.elapsed() < ANNOTATION_TTL
        {
            return Ok(role.clone());
        }
        let ns = self
            .namespaces
            .get_opt(namespace)
            .await
            .map_err(|source| TenantError::Namespace {
                namespace: namespace.to_string(),
                source,
            })?;
        let role = ns.and_then(|n| {
            let annotations = n.metadata.annotations?;
            Some(Role {
                arn: annotations.get(ROLE_ANNOTATION)?.clone(),
                external_id: annotations.get(EXTERNAL_ID_ANNOTATION).cloned(),
            })
        });
        cache.insert(namespace.to_string(), (Instant::now(), role.clone()));
        Ok(role)
    }

    async fn client_for_role(&self, role: &Role) -> Arc<dyn LatticeApi> {
        let mut roles = self.roles.lock().await;
        if let Some(api) = roles.get(role) {
            return api.clone();
        }
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(&role.arn).session_name("vpc-lattice-operator");
        if let Some(id) = &role.external_id {
            builder = builder.external_id(id);
        }
        let credentials = builder.configure(&self.base).build().await;
        let config = self
            .base
            .to_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
                credentials,
            ))
            .build();
        let sdk = SdkLattice::from_config(&config);
        let api: Arc<dyn LatticeApi> = Arc::new(Guarded::new(sdk, self.limiter.clone(), self.metrics.clone()));
        roles.insert(role.clone(), api.clone());
        api
    }
}

/// True when `s` has the shape of an IAM role ARN.
pub fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if !partition.is_empty()
            && account.len() == 12
            && account.bytes().all(|b| b.is_ascii_digit())
            && resource.strip_prefix("role/").is_some_and(|r| !r.is_empty()))
}

#[async_trait]
impl LatticeProvider for NamespaceRoles {
    async fn for_namespace(&self, namespace: &str) -> Result<Tenant, TenantError> {
        match self.role_of(namespace).await? {
            None if self.require_role => Err(TenantError::Identity(LatticeError::new(
                ErrorKind::NoRole,
                "NoRoleForNamespace",
                format!(
                    "namespace {namespace} has no {ROLE_ANNOTATION} annotation and this operator requires one \
                     (--require-namespace-role): annotate the namespace with the IAM role its objects use"
                ),
            ))),
            None => Ok(Tenant {
                key: "default".into(),
                api: self.own.clone(),
            }),
            Some(role) if is_role_arn(&role.arn) => Ok(Tenant {
                key: role
                    .external_id
                    .as_ref()
                    .map_or_else(|| role.arn.clone(), |id| format!("{} (external ID {id})", role.arn)),
                api: self.client_for_role(&role).await,
            }),
            Some(Role { arn: role, .. }) => Err(TenantError::Identity(LatticeError::new(
                ErrorKind::Validation,
                "InvalidRoleAnnotation",
                format!(
                    "namespace {namespace} has annotation {ROLE_ANNOTATION}={role:?}, which is not an IAM role ARN \
                     (arn:<partition>:iam::<account>:role/<name>); fix or remove the annotation"
                ),
            ))),
        }
    }

    fn saturated(&self, namespace: &str) -> bool {
        self.limiter.saturated(namespace)
    }

    fn turn(&self, caller: &Caller) -> Turn {
        self.limiter.turn(caller)
    }

    fn reserve(&self, caller: &Caller) -> Duration {
        self.limiter.reserve(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::is_role_arn;

    #[test]
    fn role_arns() {
        assert!(is_role_arn("arn:aws:iam::111122223333:role/lattice"));
        assert!(is_role_arn("arn:aws-cn:iam::111122223333:role/path/lattice"));
        assert!(!is_role_arn("arn:aws:iam::111122223333:user/lattice"));
        assert!(!is_role_arn("arn:aws:iam::1111:role/lattice"));
        assert!(!is_role_arn("lattice"));
        assert!(!is_role_arn("arn:aws:iam::111122223333:role/"));
    }
}
