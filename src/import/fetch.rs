//! What the import reads from AWS, and nothing else: the scope's names resolved to identifiers
//! (`ListServiceNetworks` / `ListServices`, only for a scope given by name), every association of
//! the scope (`ListServiceNetworkServiceAssociations`, 100 a page), and their tags (the Tagging
//! API's `GetResources` by ARN, 100 a call, or `ListTagsForResource` one by one). Every call goes
//! through the client it is given (the operator's rate limiter wraps it) and is retried as the
//! operator retries one (`reconcile::requeue::retry_in`: AWS's `Retry-After`, else exponential
//! backoff) when throttled or transient. Read-only: it changes nothing in AWS.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::plan::Found;
use crate::lattice::names::{Kind, Named, account_of, matching};
use crate::lattice::{
    Association, ErrorKind, LatticeApi, LatticeError, ListFilter, Page, TAGS_BY_ARN_MAX, Tags, each_page,
};
use crate::reconcile::observe::unless_gone;
use crate::reconcile::requeue::retry_in;

/// Where to look: associations of these service networks, and of these services (each an ID, an
/// ARN or a name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    pub service_networks: Vec<String>,
    pub services: Vec<String>,
}

impl Scope {
    /// The scope in words, for the output's header: `service network X, service Y`.
    pub fn describe(&self) -> String {
        let networks = self.service_networks.iter().map(|n| format!("service network {n}"));
        let services = self.services.iter().map(|s| format!("service {s}"));
        networks.chain(services).collect::<Vec<_>>().join(", ")
    }
}

/// How the associations' tags are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum TagSource {
    /// The Resource Groups Tagging API's `GetResources`, 100 associations a call (`tag:GetResources`).
    #[default]
    TaggingApi,
    /// VPC Lattice's `ListTagsForResource`, one call an association (`vpc-lattice:ListTagsForResource`):
    /// for an identity without `tag:GetResources`, or tags changed in the last minutes (the Tagging
    /// API can lag behind them).
    ListTagsForResource,
}

/// Why the import could not read what it needs: what it was doing, and what to do about it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// How many times a throttled or transient call is tried in all.
pub const ATTEMPTS: u32 = 6;
/// The longest wait between two tries.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// Every association of `scope`, by ID, with all its tags.
pub async fn fetch(api: &dyn LatticeApi, scope: &Scope, tags: TagSource) -> Result<Vec<Found>, ImportError> {
    let mut found: BTreeMap<String, Association> = BTreeMap::new();
    let mut listed: HashMap<Kind, Vec<Named>> = HashMap::new();
    for (kind, given) in scope
        .service_networks
        .iter()
        .map(|n| (Kind::ServiceNetwork, n))
        .chain(scope.services.iter().map(|s| (Kind::Service, s)))
    {
        let identifier = resolve(api, kind, given, &mut listed).await?;
        let filter = match kind {
            Kind::ServiceNetwork => ListFilter {
                service_network_identifier: Some(identifier),
                service_identifier: None,
                max_results: Some(100),
            },
            Kind::Service => ListFilter {
                service_network_identifier: None,
                service_identifier: Some(identifier),
                max_results: Some(100),
            },
        };
        let what = format!("listing the associations of {} {given}", kind.noun());
        let action = "vpc-lattice:ListServiceNetworkServiceAssociations";
        let associations = paged(&what, action, |token| api.list_associations(&filter, token)).await?;
        found.extend(associations.into_iter().map(|a| (a.id.clone(), a)));
    }
    complete_names(api, found.values_mut(), &mut listed).await?;
    let associations: Vec<Association> = found.into_values().collect();
    let mut tagged = read_tags(api, &associations, tags).await?;
    Ok(associations
        .into_iter()
        .filter_map(|association| {
            let tags = tagged.remove(&association.arn)?;
            Some(Found { association, tags })
        })
        .collect())
}

/// True when `s` is an ID of `kind` (`sn-` / `svc-` and 17 lower-case letters or digits).
fn is_id(kind: Kind, s: &str) -> bool {
    let prefix = match kind {
        Kind::Service => "svc-",
        Kind::ServiceNetwork => "sn-",
    };
    s.strip_prefix(prefix)
        .is_some_and(|r| r.len() == 17 && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// `given` as an identifier List takes: an ID or ARN as it is, a name resolved to its ARN.
async fn resolve(
    api: &dyn LatticeApi,
    kind: Kind,
    given: &str,
    listed: &mut HashMap<Kind, Vec<Named>>,
) -> Result<String, ImportError> {
    if is_id(kind, given) || given.starts_with("arn:") {
        return Ok(given.to_string());
    }
    let noun = kind.noun();
    let all = names(api, kind, listed).await?;
    match matching(given, None, all).as_slice() {
        [one] => Ok(one.arn.clone()),
        [] => {
            let ram = match kind {
                Kind::ServiceNetwork => "; one shared through AWS RAM can be missing from that listing: give its ARN",
                Kind::Service => "",
            };
            Err(ImportError(format!(
                "no {noun} named {given} is owned by or shared with this account in this region ({}){ram}",
                kind.operation()
            )))
        }
        several => Err(ImportError(format!(
            "{} {noun}s are named {given} (one owned, others shared with the account): {}; give the ARN of the one \
             to import",
            several.len(),
            several.iter().map(|n| n.arn.as_str()).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The whole listing of `kind`, listed once a run.
async fn names<'a>(
    api: &dyn LatticeApi,
    kind: Kind,
    listed: &'a mut HashMap<Kind, Vec<Named>>,
) -> Result<&'a [Named], ImportError> {
    use std::collections::hash_map::Entry;
    Ok(match listed.entry(kind) {
        Entry::Occupied(kept) => kept.into_mut(),
        Entry::Vacant(none) => {
            let what = format!("listing the {}s", kind.noun());
            let action = format!("vpc-lattice:{}", kind.operation());
            none.insert(paged(&what, &action, |token| api.list_named(kind, token)).await?)
        }
    })
}

/// Fills the service's and network's names and ARNs that a List left out (VPC Lattice reports them;
/// other implementations may not) from `ListServices` / `ListServiceNetworks`, listed only if one
/// is missing.
async fn complete_names<'a>(
    api: &dyn LatticeApi,
    associations: impl Iterator<Item = &'a mut Association>,
    listed: &mut HashMap<Kind, Vec<Named>>,
) -> Result<(), ImportError> {
    for a in associations {
        if a.service_name.is_none() || a.service_arn.is_none() {
            let all = names(api, Kind::Service, listed).await?;
            fill(all, &a.service_id, &mut a.service_name, &mut a.service_arn);
        }
        if a.service_network_name.is_none() || a.service_network_arn.is_none() {
            let all = names(api, Kind::ServiceNetwork, listed).await?;
            fill(
                all,
                &a.service_network_id,
                &mut a.service_network_name,
                &mut a.service_network_arn,
            );
        }
    }
    Ok(())
}

fn fill(all: &[Named], id: &Option<String>, name: &mut Option<String>, arn: &mut Option<String>) {
    if let Some(n) = all.iter().find(|n| Some(&n.id) == id.as_ref()) {
        name.get_or_insert_with(|| n.name.clone());
        arn.get_or_insert_with(|| n.arn.clone());
    }
}

/// The tags of each association, by ARN, or why this identity cannot read them; an association
/// deleted since it was listed is left out.
///
/// The Tagging API reports the caller's account's resources only, and of those only the ones with
/// tags: an association it does not name is untagged when its ARN names the caller's account (known
/// from any ARN it did name), else it is read with `ListTagsForResource` (another account's
/// association, whose tags that account alone may read, or an account of which nothing is tagged).
async fn read_tags(
    api: &dyn LatticeApi,
    associations: &[Association],
    source: TagSource,
) -> Result<BTreeMap<String, Result<Tags, String>>, ImportError> {
    let mut out = BTreeMap::new();
    let one_by_one: Vec<&Association> = match source {
        TagSource::ListTagsForResource => associations.iter().collect(),
        TagSource::TaggingApi => {
            let arns: Vec<String> = associations.iter().map(|a| a.arn.clone()).collect();
            let mut own: Option<String> = None;
            for chunk in arns.chunks(TAGS_BY_ARN_MAX) {
                let what = "reading the associations' tags (the Tagging API's GetResources; \
                    --tags-from list-tags-for-resource reads them from VPC Lattice instead)";
                let tagged = retried(what, "tag:GetResources", || api.tags_of(chunk)).await?;
                for t in tagged {
                    if own.is_none() {
                        own = account_of(&t.arn).map(str::to_string);
                    }
                    out.insert(t.arn, Ok(t.tags));
                }
            }
            let mut unsure = Vec::new();
            let unanswered: Vec<&Association> = associations.iter().filter(|a| !out.contains_key(&a.arn)).collect();
            for a in unanswered {
                match own.as_deref().is_some_and(|o| account_of(&a.arn) == Some(o)) {
                    true => {
                        out.insert(a.arn.clone(), Ok(Tags::new()));
                    }
                    false => unsure.push(a),
                }
            }
            unsure
        }
    };
    let mut refused = None;
    for a in &one_by_one {
        let what = format!("reading the tags of association {}", a.id);
        let read = || async { unless_gone(api.list_tags(&a.arn).await) };
        let action = "vpc-lattice:ListTagsForResource";
        match tried(&what, read).await {
            Ok(Some(tags)) => {
                out.insert(a.arn.clone(), Ok(tags));
            }
            // Deleted since it was listed.
            Ok(None) => {}
            Err(e) if e.kind == ErrorKind::AccessDenied => {
                let owner = account_of(&a.arn).unwrap_or("?");
                let why = format!(
                    "its tags cannot be read by this identity ({e}): an association of another account ({owner}) is \
                     imported from that account; else the identity needs {action}"
                );
                refused.get_or_insert(e);
                out.insert(a.arn.clone(), Err(why));
            }
            Err(e) => return Err(explain(&what, action, &e)),
        }
    }
    // Refused every time: the identity's permissions, not the associations' owners.
    if let Some(e) = refused
        && !one_by_one.is_empty()
        && out.values().all(Result::is_err)
    {
        return Err(ImportError(format!(
            "reading the associations' tags: refused for every one ({e}); the identity needs \
             vpc-lattice:ListTagsForResource (docs/iam.md lists what the import needs)"
        )));
    }
    Ok(out)
}

/// Every item of a paged call (`lattice::each_page`), each page tried as [`retried`] says.
async fn paged<T, F, Fut>(what: &str, action: &str, page: F) -> Result<Vec<T>, ImportError>
where
    F: Fn(Option<String>) -> Fut + Copy,
    Fut: Future<Output = Result<Page<T>, LatticeError>>,
{
    let mut items = Vec::new();
    each_page(
        |token| tried(what, move || page(token.clone())),
        |next| items.extend(next),
    )
    .await
    .map_err(|e| explain(what, action, &e))?;
    Ok(items)
}

/// `call`'s answer, tried up to [`ATTEMPTS`] times while AWS throttles it or fails transiently,
/// waiting as the operator would between tries; any other failure says what was being done
/// (`what`) and, when refused, which IAM `action` the identity lacks.
async fn retried<T, F, Fut>(what: &str, action: &str, call: F) -> Result<T, ImportError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, LatticeError>>,
{
    tried(what, call).await.map_err(|e| explain(what, action, &e))
}

/// Whether a failure of this kind is tried again.
fn retryable(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::CredentialsTransient
    )
}

/// `call`'s answer, or its last error ([`retried`]'s tries).
async fn tried<T, F, Fut>(what: &str, mut call: F) -> Result<T, LatticeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, LatticeError>>,
{
    let mut failures = 0;
    loop {
        let e = match call().await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        failures += 1;
        if !retryable(e.kind) || failures >= ATTEMPTS {
            return Err(e);
        }
        let wait = retry_in(&e, failures).min(LONGEST_WAIT);
        tracing::warn!(error = %e, tries = failures, ?wait, "{what}: trying again");
        tokio::time::sleep(wait).await;
    }
}

/// The failure of `what` in words a person can act on.
fn explain(what: &str, action: &str, e: &LatticeError) -> ImportError {
    ImportError(match e.kind {
        ErrorKind::AccessDenied => {
            format!("{what}: refused ({e}); the identity needs {action} (docs/iam.md lists what the import needs)")
        }
        ErrorKind::Credentials => format!(
            "{what}: no AWS credentials could be had (the import signs with the AWS chain's identity: AWS_PROFILE, \
             AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, SSO, an instance role; or the role of --role-arn): {e}"
        ),
        // Only a retryable failure tried every time reaches here.
        kind if retryable(kind) => format!("{what}: failed {ATTEMPTS} times, the last: {e}"),
        _ => format!("{what}: {e}"),
    })
}
