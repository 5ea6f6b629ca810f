//! Per-namespace AWS identity and adoption rights. A Namespace annotated
//! `vpclattice.operator.dev/aws-role-arn: <role ARN>` has its objects reconciled with credentials from
//! STS AssumeRole on that role (aws-config's `AssumeRoleProvider`, which caches and refreshes them),
//! provided the role matches the allow-list (`--allowed-role-arn`; else Stalled `RoleNotAllowed`, no
//! STS call); other namespaces use the operator's own identity, or, when the operator requires a role
//! per namespace (`--require-namespace-role`), none: their objects are Stalled without an AWS call. A
//! role that demands an external ID gets it from `vpclattice.operator.dev/aws-external-id`. One client
//! per (role, external ID) is kept; every client shares the process's rate limiter.
//!
//! The same Namespace read says whether `adoptionPolicy: Always` may take over associations there:
//! only when the Namespace carries the label of `--allow-adoption-label` (set by whoever may edit
//! Namespaces: the platform team).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use tokio::sync::Mutex;

use crate::lattice::aws::Aws;
use crate::lattice::guard::{AwsCallMetrics, Guarded};
use crate::lattice::provider::AlwaysAdoption;
use crate::lattice::provider::{LatticeProvider, Tenant, TenantError};
use crate::lattice::{ErrorKind, LatticeApi, LatticeError};

pub use crate::api::{EXTERNAL_ID_ANNOTATION, REGION_ANNOTATION, ROLE_ANNOTATION};
/// How long a namespace's annotation is trusted before it is read again.
const ANNOTATION_TTL: Duration = Duration::from_secs(30);

/// Resolves each namespace to the operator's own identity or its annotated role.
pub struct NamespaceRoles {
    namespaces: Api<Namespace>,
    aws: Aws,
    /// The operator's region (the default of every namespace without the region annotation).
    home: Option<String>,
    metrics: AwsCallMetrics,
    namespaces_seen: Mutex<HashMap<String, (Instant, Facts)>>,
    /// One client per (identity, region): the operator's own (`None`) or a namespace's role.
    clients: Mutex<HashMap<ClientKey, Arc<dyn LatticeApi>>>,
    rules: TenancyRules,
}

/// An identity (the operator's own: `None`) in a region.
type ClientKey = (Option<Role>, Option<String>);

/// What the platform team decides for every namespace (flags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenancyRules {
    /// Namespaces without a role annotation get no AWS identity (`--require-namespace-role`).
    pub require_role: bool,
    /// Role ARN patterns a namespace may name (`--allowed-role-arn`; `*` and `?` wildcards); empty:
    /// any role.
    pub allowed_roles: Vec<String>,
    /// The Namespace label (key, value) that allows `adoptionPolicy: Always` (`--allow-adoption-label`).
    pub adoption_label: (String, String),
}

/// What one Namespace read says.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Facts {
    role: Option<Role>,
    /// The namespace's default region ([`REGION_ANNOTATION`]).
    region: Option<String>,
    /// Whether the namespace's label allows `adoptionPolicy: Always` (and if not, the message).
    always_adoption: AlwaysAdoption,
}

/// A namespace's role annotation and its optional external ID annotation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Role {
    arn: String,
    external_id: Option<String>,
}

impl NamespaceRoles {
    pub fn new(client: kube::Client, aws: Aws, metrics: AwsCallMetrics) -> Self {
        Self {
            namespaces: Api::all(client),
            home: aws.region(),
            aws,
            metrics,
            namespaces_seen: Mutex::default(),
            clients: Mutex::default(),
            rules: TenancyRules::default(),
        }
    }

    /// Applies the platform team's rules (flags) to every namespace.
    #[must_use]
    pub fn with_rules(mut self, rules: TenancyRules) -> Self {
        self.rules = rules;
        self
    }

    async fn facts_of(&self, namespace: &str) -> Result<Facts, TenantError> {
        let mut cache = self.namespaces_seen.lock().await;
        if let Some((at, facts)) = cache.get(namespace)
            && at.elapsed() < ANNOTATION_TTL
        {
            return Ok(facts.clone());
        }
        let ns = self
            .namespaces
            .get_opt(namespace)
            .await
            .map_err(|source| TenantError::Namespace {
                namespace: namespace.to_string(),
                source,
            })?;
        let metadata = ns.map(|n| n.metadata).unwrap_or_default();
        let role = metadata.annotations.as_ref().and_then(|annotations| {
            Some(Role {
                arn: annotations.get(ROLE_ANNOTATION)?.clone(),
                external_id: annotations.get(EXTERNAL_ID_ANNOTATION).cloned(),
            })
        });
        let (key, value) = &self.rules.adoption_label;
        let always_adoption = if metadata.labels.as_ref().and_then(|l| l.get(key)) == Some(value) {
            AlwaysAdoption::Allowed
        } else {
            AlwaysAdoption::Refused(format!(
                "namespace {namespace} lacks the label {key}={value} that allows it (set on the Namespace by \
                 the platform team; see docs/security.md)"
            ))
        };
        let region = metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(REGION_ANNOTATION))
            .filter(|r| !r.is_empty())
            .cloned();
        let facts = Facts {
            role,
            region,
            always_adoption,
        };
        cache.insert(namespace.to_string(), (Instant::now(), facts.clone()));
        Ok(facts)
    }

    /// The client of `role` (the operator's own identity when `None`) for calls to `region`.
    async fn client(&self, role: Option<&Role>, region: Option<&str>) -> Arc<dyn LatticeApi> {
        let mut clients = self.clients.lock().await;
        let key = (role.cloned(), region.map(str::to_string));
        if let Some(api) = clients.get(&key) {
            return api.clone();
        }
        let sdk = match role {
            None => self.aws.own(region),
            Some(role) => {
                let why = format!("the namespace's {ROLE_ANNOTATION} annotation");
                self.aws
                    .assuming(&role.arn, role.external_id.as_deref(), &why, region)
                    .await
            }
        };
        let api: Arc<dyn LatticeApi> = Arc::new(Guarded::new(sdk, self.metrics.clone()).in_region(region));
        clients.insert(key, api.clone());
        api
    }

    /// The key of `identity` in `region`: the identity's alone in the operator's region.
    fn key(&self, identity: String, region: Option<&str>) -> String {
        match region {
            Some(r) if Some(r) != self.home.as_deref() => format!("{identity} in {r}"),
            _ => identity,
        }
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

/// True when `arn` matches `pattern`, where `*` stands for any run of characters and `?` for one
/// (IAM's ARN wildcards). Pure; written by hand: a dozen lines that no dependency is worth.
pub fn matches_pattern(pattern: &str, arn: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), arn.chars().collect());
    // Positions of `p` that can match the prefix of `s` read so far.
    let mut at = vec![false; p.len() + 1];
    at[0] = true;
    let close = |at: &mut Vec<bool>| {
        for i in 0..p.len() {
            if at[i] && p[i] == '*' {
                at[i + 1] = true;
            }
        }
    };
    close(&mut at);
    for c in s {
        let mut next = vec![false; p.len() + 1];
        for i in 0..p.len() {
            if at[i] && (p[i] == '*' || p[i] == '?' || p[i] == c) {
                next[if p[i] == '*' { i } else { i + 1 }] = true;
            }
        }
        close(&mut next);
        at = next;
    }
    at[p.len()]
}

#[async_trait]
impl LatticeProvider for NamespaceRoles {
    async fn for_namespace(&self, namespace: &str, region: Option<&str>) -> Result<Tenant, TenantError> {
        let Facts {
            role,
            region: default_region,
            always_adoption,
        } = self.facts_of(namespace).await?;
        // spec.region, else the namespace's annotation, else the operator's.
        let region = region
            .map(str::to_string)
            .or(default_region)
            .or_else(|| self.home.clone());
        let region = region.as_deref();
        let refuse = |kind, code, message| Err(TenantError::Identity(LatticeError::new(kind, code, message)));
        match role {
            None if self.rules.require_role => refuse(
                ErrorKind::NoRole,
                "NoRoleForNamespace",
                format!(
                    "namespace {namespace} has no {ROLE_ANNOTATION} annotation and this operator requires one \
                     (--require-namespace-role): annotate the namespace with the IAM role its objects use"
                ),
            ),
            None => Ok(Tenant {
                key: self.key("default".into(), region),
                region: region.map(str::to_string),
                api: self.client(None, region).await,
                always_adoption,
            }),
            Some(Role { arn: role, .. }) if !is_role_arn(&role) => refuse(
                ErrorKind::Validation,
                "InvalidRoleAnnotation",
                format!(
                    "namespace {namespace} has annotation {ROLE_ANNOTATION}={role:?}, which is not an IAM role ARN \
                     (arn:<partition>:iam::<account>:role/<name>); fix or remove the annotation"
                ),
            ),
            Some(Role { arn: role, .. })
                if !self.rules.allowed_roles.is_empty()
                    && !self.rules.allowed_roles.iter().any(|p| matches_pattern(p, &role)) =>
            {
                refuse(
                    ErrorKind::RoleNotAllowed,
                    "RoleNotAllowed",
                    format!(
                        "namespace {namespace} names the role {role} ({ROLE_ANNOTATION}), which this operator may \
                         not assume: it matches none of --allowed-role-arn {}; the platform team fixes the \
                         annotation or the allow-list (chart value allowedRoleArns)",
                        self.rules.allowed_roles.join(", ")
                    ),
                )
            }
            Some(role) => Ok(Tenant {
                key: self.key(
                    role.external_id
                        .as_ref()
                        .map_or_else(|| role.arn.clone(), |id| format!("{} (external ID {id})", role.arn)),
                    region,
                ),
                region: region.map(str::to_string),
                api: self.client(Some(&role), region).await,
                always_adoption,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_role_arn, matches_pattern};

    #[test]
    fn role_patterns() {
        let role = "arn:aws:iam::111122223333:role/lattice-payments";
        assert!(matches_pattern(role, role));
        assert!(matches_pattern("arn:aws:iam::111122223333:role/lattice-*", role));
        assert!(matches_pattern("arn:aws:iam::*:role/lattice-*", role));
        assert!(matches_pattern("*", role));
        assert!(matches_pattern("arn:aws:iam::11112222333?:role/lattice-payments", role));
        assert!(!matches_pattern("arn:aws:iam::111122223333:role/lattice-", role));
        assert!(!matches_pattern("arn:aws:iam::444455556666:role/*", role));
        assert!(!matches_pattern(
            "arn:aws:iam::111122223333:role/lattice-payments-*",
            role
        ));
        assert!(!matches_pattern("", role));
        assert!(matches_pattern("a**b", "ab"));
    }

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
