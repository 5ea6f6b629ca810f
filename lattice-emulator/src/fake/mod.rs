//! An in-process VPC Lattice that keeps real state (services, service networks, associations, tags)
//! and behaves as AWS documents: associations go through CREATE_IN_PROGRESS and DELETE_IN_PROGRESS,
//! a clientToken makes Create idempotent, a second association of the same pair is a
//! ConflictException. Faults can be scripted: provisioning delay (with jitter), CREATE_FAILED,
//! DELETE_FAILED, throttling with `retryAfterSeconds`, 5xx and added latency. AWS's limits are kept:
//! a token-bucket request quota per account (the access key a wire request was signed with), and
//! List pages of at most 100 with an opaque `nextToken`. The Resource Groups Tagging API's
//! `GetResources` reads the associations' tags in pages of up to 100 (or those of a list of up to 100
//! ARNs, in one answer), under the same quota and faults. Every call is logged, with its arrival
//! time, so tests and benchmarks can count them.
//! Written by hand: no library emulates VPC Lattice's association state machine.

//!
//! This file holds the state and its transitions; beside it: the fault script and the data types
//! (`faults.rs`), the request quota (`quota.rs`), pagination tokens (`tokens.rs`), the Tagging API's
//! `GetResources` (`tagging.rs`) and the `LatticeApi` the operator's in-process tests call (`api.rs`).

mod api;
mod faults;
mod quota;
mod tagging;
mod tokens;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use vpc_lattice_operator::lattice::{
    Association, AssociationState, CreateAssociation, DnsEntry, ErrorKind, LatticeError, Tags,
};

pub use faults::{Call, Caller, Faults, Target};
pub use quota::as_caller;
pub(crate) use tagging::ResourceQuery;

struct Record {
    association: Association,
    service_id: String,
    network_id: String,
    /// When the current *_IN_PROGRESS ends, and whether it ends in failure.
    pending: Option<(Instant, bool)>,
}

#[derive(Default)]
struct State {
    services: BTreeMap<String, Target>,
    networks: BTreeMap<String, Target>,
    /// Service networks ListServiceNetworks leaves out (as it may a network shared through RAM).
    unlisted: std::collections::HashSet<String>,
    associations: BTreeMap<String, Record>,
    tags: HashMap<String, Tags>,
    /// clientToken → (association id, service id, network id).
    tokens: HashMap<String, (String, String, String)>,
    faults: Faults,
    /// Token buckets by access key ID, for the request quota in `faults`.
    buckets: HashMap<String, quota::Bucket>,
    calls: Vec<Call>,
    callers: Vec<Caller>,
}

/// The fake itself; cheap to share behind an `Arc`.
pub struct FakeLattice {
    account: String,
    region: String,
    state: Mutex<State>,
    /// STS: its faults, call log and issued credentials (see [`crate::sts`]).
    pub(crate) sts: crate::sts::state::Sts,
    /// Keys the checksum of `nextToken`s, so a token this instance did not issue (or issued for
    /// another filter) is refused.
    token_key: std::collections::hash_map::RandomState,
}

impl Default for FakeLattice {
    fn default() -> Self {
        Self::new("111122223333", "us-east-1")
    }
}

/// The page size of a List without `maxResults`. AWS documents none (the API reference and the
/// service model give only the range 1-100), so the emulator uses the maximum, as the operator does.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// A random AWS-shaped identifier suffix: 17 characters of `[0-9a-f]`.
fn suffix() -> String {
    format!(
        "{:017x}",
        rand::random::<u64>() & 0x0fff_ffff_ffff_ffff | 0x1000_0000_0000_0000
    )
}

fn err(kind: ErrorKind, code: &str, message: impl Into<String>) -> LatticeError {
    LatticeError::new(kind, code, message)
}

fn not_found(id: &str, resource_type: &str) -> LatticeError {
    err(
        ErrorKind::NotFound,
        "ResourceNotFoundException",
        format!("{resource_type} {id} not found"),
    )
    .with_resource(id, resource_type)
}

fn validation(message: impl Into<String>) -> LatticeError {
    err(ErrorKind::Validation, "ValidationException", message)
}

/// `prefix` followed by 17 of `[0-9a-z]`.
fn is_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 17 && rest.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()))
}

/// The ID inside an identifier that is an ID or an ARN ending `/<kind>/<id>`.
fn id_of<'a>(identifier: &'a str, resource: &str, prefix: &str) -> Option<&'a str> {
    let id = match identifier.strip_prefix("arn:") {
        Some(_) => identifier.rsplit_once(&format!(":{resource}/"))?.1,
        None => identifier,
    };
    is_id(id, prefix).then_some(id)
}

/// Checks the tags of a request (`requested`) and the count the resource would end up with.
fn check_tags(requested: &Tags, total: usize) -> Result<(), LatticeError> {
    if total > 50 {
        return Err(validation(format!(
            "a resource can have at most 50 tags, would have {total}"
        )));
    }
    if let Some(k) = requested
        .keys()
        .find(|k| k.is_empty() || k.chars().count() > 128 || k.starts_with("aws:"))
    {
        return Err(validation(format!("invalid tag key '{k}'")));
    }
    Ok(())
}

impl FakeLattice {
    pub fn new(account: &str, region: &str) -> Self {
        Self {
            account: account.into(),
            region: region.into(),
            state: Mutex::new(State::default()),
            sts: crate::sts::state::Sts::default(),
            token_key: std::collections::hash_map::RandomState::new(),
        }
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// The region whose ARNs it makes (and whose requests [`crate::wire::regional_router`] sends it).
    pub fn region(&self) -> &str {
        &self.region
    }

    fn arn(&self, resource: &str, id: &str) -> String {
        format!("arn:aws:vpc-lattice:{}:{}:{resource}/{id}", self.region, self.account)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the fault script. A changed request quota starts every account with a full bucket;
    /// an unchanged one keeps the buckets as they are.
    pub fn set_faults(&self, faults: Faults) {
        let mut s = self.lock();
        if s.faults.quota() != faults.quota() {
            s.buckets.clear();
        }
        s.faults = faults;
    }

    /// The fault script as it stands (counters already consumed are gone).
    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// How many calls of this operation were made.
    pub fn count(&self, operation: &str) -> usize {
        self.lock().calls.iter().filter(|c| c.operation == operation).count()
    }

    /// Records who made a wire request.
    pub fn record_caller(&self, caller: Caller) {
        self.lock().callers.push(caller);
    }

    /// Every wire request's caller so far, oldest first.
    pub fn callers(&self) -> Vec<Caller> {
        self.lock().callers.clone()
    }

    /// Forgets the call log.
    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// Creates a service, with this ID when given.
    pub fn create_service(&self, name: &str, id: Option<&str>) -> Result<Target, LatticeError> {
        self.create_target("service", "svc-", name, id)
    }

    /// Creates a service network, with this ID when given.
    pub fn create_service_network(&self, name: &str, id: Option<&str>) -> Result<Target, LatticeError> {
        self.create_target("servicenetwork", "sn-", name, id)
    }

    fn create_target(
        &self,
        resource: &str,
        prefix: &str,
        name: &str,
        id: Option<&str>,
    ) -> Result<Target, LatticeError> {
        let id = id
            .map(str::to_string)
            .unwrap_or_else(|| format!("{prefix}{}", suffix()));
        if !is_id(&id, prefix) {
            return Err(validation(format!("{id} is not a valid {resource} id")));
        }
        let mut s = self.lock();
        let map = if prefix == "svc-" {
            &mut s.services
        } else {
            &mut s.networks
        };
        if map.values().any(|t| t.name == name || t.id == id) {
            return Err(err(
                ErrorKind::Conflict,
                "ConflictException",
                format!("{resource} {name} already exists"),
            )
            .with_resource(&id, &resource.to_uppercase()));
        }
        let target = Target {
            arn: self.arn(resource, &id),
            id: id.clone(),
            name: name.into(),
        };
        map.insert(id, target.clone());
        Ok(target)
    }

    /// A service network another account (`owner`) shares with this one through RAM: its ARN names
    /// that account. `listed`: whether ListServiceNetworks reports it (RAM-shared networks can be
    /// missing from it).
    /// Names are unique per account only: it may have the name of one of this account's.
    pub fn share_service_network(&self, name: &str, owner: &str, listed: bool) -> Target {
        let id = format!("sn-{}", suffix());
        let t = Target {
            arn: self
                .arn("servicenetwork", &id)
                .replace(&format!(":{}:", self.account), &format!(":{owner}:")),
            id,
            name: name.into(),
        };
        let mut s = self.lock();
        s.networks.insert(t.id.clone(), t.clone());
        if !listed {
            s.unlisted.insert(t.id.clone());
        }
        t
    }

    /// Services, or service networks when `networks`.
    pub fn targets(&self, networks: bool) -> Vec<Target> {
        let s = self.lock();
        let map = if networks { &s.networks } else { &s.services };
        map.values().cloned().collect()
    }

    /// A service or service network by ID or ARN.
    pub fn target(&self, identifier: &str, network: bool) -> Result<Target, LatticeError> {
        let (resource, prefix) = if network {
            ("servicenetwork", "sn-")
        } else {
            ("service", "svc-")
        };
        let id = id_of(identifier, resource, prefix)
            .ok_or_else(|| validation(format!("{identifier} is not a valid {resource} identifier")))?;
        let s = self.lock();
        let map = if network { &s.networks } else { &s.services };
        map.get(id)
            .cloned()
            .ok_or_else(|| not_found(id, if network { "SERVICE_NETWORK" } else { "SERVICE" }))
    }

    /// Creates an ACTIVE association directly, as someone outside the operator would.
    pub fn seed_association(&self, network: &str, service: &str, tags: Tags) -> Association {
        self.try_seed_association(network, service, tags)
            .expect("seed_association: valid pair")
    }

    /// Creates an ACTIVE association directly (no call logged, no fault or quota applied), or says
    /// why it cannot (an unknown service or network, a pair already associated, bad tags).
    pub fn try_seed_association(&self, network: &str, service: &str, tags: Tags) -> Result<Association, LatticeError> {
        let req = CreateAssociation {
            client_token: format!("seed-{}", suffix()),
            service_identifier: service.into(),
            service_network_identifier: network.into(),
            tags,
        };
        let mut s = self.lock();
        // Seeding neither consumes nor is changed by the scripted faults.
        let faults = std::mem::take(&mut s.faults);
        let created = self.create_locked(&mut s, &req, Instant::now());
        s.faults = faults;
        let id = created?.id;
        let rec = s.associations.get_mut(&id).expect("just created");
        rec.pending = None;
        rec.association.status = AssociationState::Active;
        Ok(rec.association.clone())
    }

    /// Creates an ACTIVE association directly as account `owner` would have made it in this
    /// account's view (a service owner associating its service with a network shared with it): its
    /// ARN names `owner`, so this account's Tagging API does not report it and its
    /// `ListTagsForResource` is refused, as AWS answers a resource of another account.
    pub fn seed_foreign_association(&self, network: &str, service: &str, owner: &str, tags: Tags) -> Association {
        let a = self.seed_association(network, service, tags);
        let arn = a.arn.replace(&format!(":{}:", self.account), &format!(":{owner}:"));
        let mut s = self.lock();
        if let Some(t) = s.tags.remove(&a.arn) {
            s.tags.insert(arn.clone(), t);
        }
        let rec = s.associations.get_mut(&a.id).expect("just seeded");
        rec.association.arn = arn;
        rec.association.clone()
    }

    /// True when `arn` names a resource of this account.
    pub(crate) fn owns(&self, arn: &str) -> bool {
        vpc_lattice_operator::lattice::names::account_of(arn) == Some(self.account.as_str())
    }

    /// Puts an association in `status` at once and for good (no work pending), as AWS may leave one
    /// (`CREATE_FAILED`, a `CREATE_IN_PROGRESS` that lasts); false when there is no such association.
    pub fn set_status(&self, id: &str, status: AssociationState) -> bool {
        let mut s = self.lock();
        let Some(rec) = s.associations.get_mut(id) else {
            return false;
        };
        rec.pending = None;
        if matches!(status, AssociationState::CreateFailed | AssociationState::DeleteFailed) {
            rec.association.failure_code = Some("InternalFailure".into());
            rec.association.failure_message = Some("set by the test".into());
        }
        rec.association.status = status;
        true
    }

    /// Deletes an association at once, as someone outside the operator would.
    pub fn delete_out_of_band(&self, id: &str) -> bool {
        let mut s = self.lock();
        let removed = s.associations.remove(id);
        if let Some(r) = &removed {
            s.tags.remove(&r.association.arn);
        }
        removed.is_some()
    }

    /// Every association as it stands now.
    pub fn associations(&self) -> Vec<Association> {
        let mut s = self.lock();
        advance(&mut s, Instant::now());
        s.associations.values().map(|r| r.association.clone()).collect()
    }

    /// An association by ID or ARN, without logging a call or applying faults.
    pub fn get_quietly(&self, identifier: &str) -> Option<Association> {
        let mut s = self.lock();
        advance(&mut s, Instant::now());
        Self::resolve(&mut s, identifier).ok().map(|r| r.association.clone())
    }

    /// Replaces a resource's tags directly.
    pub fn set_tags(&self, arn: &str, tags: Tags) {
        self.lock().tags.insert(arn.to_string(), tags);
    }

    /// The tags of a resource by ARN (empty when it has none).
    pub fn tags_of(&self, arn: &str) -> Tags {
        self.lock().tags.get(arn).cloned().unwrap_or_default()
    }

    /// Applies the common part of every call: takes a token from the caller's request quota, logs
    /// the call, applies latency and injected errors.
    async fn call<T>(
        &self,
        operation: &str,
        client_token: Option<&str>,
        f: impl FnOnce(&mut State, Instant) -> Result<T, LatticeError>,
    ) -> Result<T, LatticeError> {
        self.call_with(operation, client_token, std::convert::identity, f).await
    }

    /// [`call`](Self::call) for an operation of another AWS API: `errors` renames every error of the
    /// call (injected ones included) as that API does, before it is logged and returned.
    async fn call_with<T>(
        &self,
        operation: &str,
        client_token: Option<&str>,
        errors: fn(LatticeError) -> LatticeError,
        f: impl FnOnce(&mut State, Instant) -> Result<T, LatticeError>,
    ) -> Result<T, LatticeError> {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let access_key_id = quota::ACCESS_KEY_ID.try_with(Clone::clone).ok();
        let (latency, quota) = {
            let mut guard = self.lock();
            let State { faults, buckets, .. } = &mut *guard;
            let account = access_key_id.as_deref().unwrap_or_default();
            let quota = quota::take_token(faults, buckets, account, Instant::now());
            (Duration::from_millis(faults.latency_ms), quota)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut s = self.lock();
        let now = Instant::now();
        advance(&mut s, now);
        let result = if let Err(after) = quota {
            Err(err(
                ErrorKind::Throttled,
                "ThrottlingException",
                format!(
                    "Rate exceeded: request quota of {} requests per second",
                    s.faults.request_rate
                ),
            )
            .with_retry_after(Some(i32::try_from(after).unwrap_or(i32::MAX))))
        } else if s.faults.throttle > 0 {
            s.faults.throttle -= 1;
            let retry = s.faults.retry_after_seconds;
            Err(err(ErrorKind::Throttled, "ThrottlingException", "Rate exceeded").with_retry_after(retry))
        } else if let Some(code) = s
            .faults
            .create_error
            .clone()
            .filter(|_| operation.starts_with("Create"))
        {
            s.faults.create_error = None;
            let kind = LatticeError::from_code(Some(&code), None, None).kind;
            let mut message = format!("{code} (injected)");
            while message.len() < s.faults.create_error_message_bytes {
                message.push_str(" and more words of the message");
            }
            Err(err(kind, &code, message))
        } else if s.faults.server_errors > 0 {
            s.faults.server_errors -= 1;
            Err(err(
                ErrorKind::Transient,
                "InternalServerException",
                "Internal server error (injected)",
            ))
        } else {
            f(&mut s, now)
        }
        .map_err(errors);
        let error = result.as_ref().err();
        s.calls.push(Call {
            operation: operation.into(),
            error: error.map(|e| e.code.clone()),
            client_token: client_token.map(str::to_string),
            at_ms,
            access_key_id: access_key_id.filter(|k| !k.is_empty()),
            retry_after_seconds: error.and_then(|e| e.retry_after).map(|d| d.as_secs()),
        });
        result
    }

    /// How long a create or delete provisions: the delay plus a uniform jitter.
    fn provisioning(faults: &Faults) -> Duration {
        let jitter = match faults.provisioning_jitter_ms {
            0 => 0,
            j => rand::random_range(0..=j),
        };
        Duration::from_millis(faults.provisioning_delay_ms.saturating_add(jitter))
    }

    fn create_locked(&self, s: &mut State, req: &CreateAssociation, now: Instant) -> Result<Association, LatticeError> {
        check_tags(&req.tags, req.tags.len())?;
        let service_id = id_of(&req.service_identifier, "service", "svc-")
            .ok_or_else(|| validation(format!("invalid serviceIdentifier {}", req.service_identifier)))?
            .to_string();
        let network_id = id_of(&req.service_network_identifier, "servicenetwork", "sn-")
            .ok_or_else(|| {
                validation(format!(
                    "invalid serviceNetworkIdentifier {}",
                    req.service_network_identifier
                ))
            })?
            .to_string();
        if let Some((id, svc, sn)) = s.tokens.get(&req.client_token)
            && let Some(rec) = s.associations.get(id)
        {
            if (svc, sn) != (&service_id, &network_id) {
                return Err(err(
                    ErrorKind::Conflict,
                    "ConflictException",
                    "the clientToken was already used with other parameters",
                )
                .with_resource(id, "SERVICE_NETWORK_SERVICE_ASSOCIATION"));
            }
            return Ok(rec.association.clone());
        }
        let service = s
            .services
            .get(&service_id)
            .cloned()
            .ok_or_else(|| not_found(&service_id, "SERVICE"))?;
        let network = s
            .networks
            .get(&network_id)
            .cloned()
            .ok_or_else(|| not_found(&network_id, "SERVICE_NETWORK"))?;
        if let Some(existing) = s
            .associations
            .values()
            .find(|r| r.service_id == service_id && r.network_id == network_id)
        {
            return Err(err(
                ErrorKind::Conflict,
                "ConflictException",
                format!(
                    "service {service_id} is already associated with service network {network_id} ({})",
                    existing.association.id
                ),
            )
            .with_resource(&existing.association.id, "SERVICE_NETWORK_SERVICE_ASSOCIATION"));
        }
        let id = format!("snsa-{}", suffix());
        let arn = self.arn("servicenetworkserviceassociation", &id);
        let mut a = Association::new(&id, &arn, AssociationState::CreateInProgress);
        a.created_by = Some(self.account.clone());
        a.dns_entry = Some(DnsEntry {
            domain_name: Some(format!(
                "{}-{}.{}.vpc-lattice-svcs.{}.on.aws",
                service.name,
                &service.id[4..11],
                &id[5..12],
                self.region
            )),
            hosted_zone_id: Some("Z0123456789ABCDEFGHIJ".into()),
        });
        a.service_id = Some(service.id.clone());
        a.service_arn = Some(service.arn.clone());
        a.service_name = Some(service.name.clone());
        a.service_network_id = Some(network.id.clone());
        a.service_network_arn = Some(network.arn.clone());
        a.service_network_name = Some(network.name.clone());
        let fail = s.faults.fail_creates > 0;
        if fail {
            s.faults.fail_creates -= 1;
        }
        let ends = now + Self::provisioning(&s.faults);
        s.tokens.insert(
            req.client_token.clone(),
            (id.clone(), service_id.clone(), network_id.clone()),
        );
        if !req.tags.is_empty() {
            s.tags.insert(arn, req.tags.clone());
        }
        s.associations.insert(
            id.clone(),
            Record {
                association: a.clone(),
                service_id,
                network_id,
                pending: Some((ends, fail)),
            },
        );
        Ok(a)
    }

    fn resolve<'a>(s: &'a mut State, identifier: &str) -> Result<&'a mut Record, LatticeError> {
        let id = id_of(identifier, "servicenetworkserviceassociation", "snsa-")
            .ok_or_else(|| validation(format!("invalid association identifier {identifier}")))?;
        s.associations
            .get_mut(id)
            .ok_or_else(|| not_found(id, "SERVICE_NETWORK_SERVICE_ASSOCIATION"))
    }

    fn tagged<'a>(s: &'a mut State, arn: &str) -> Result<&'a mut Tags, LatticeError> {
        let known = s.associations.values().any(|r| r.association.arn == arn)
            || s.services.values().any(|t| t.arn == arn)
            || s.networks.values().any(|t| t.arn == arn);
        if !known {
            return Err(not_found(arn, "RESOURCE"));
        }
        Ok(s.tags.entry(arn.to_string()).or_default())
    }
}

/// Ends every *_IN_PROGRESS whose time has come.
fn advance(s: &mut State, now: Instant) {
    let mut gone = Vec::new();
    for (id, rec) in s.associations.iter_mut() {
        let Some((ends, fail)) = rec.pending else {
            continue;
        };
        if ends > now {
            continue;
        }
        rec.pending = None;
        let a = &mut rec.association;
        match (&a.status, fail) {
            (AssociationState::CreateInProgress, false) => a.status = AssociationState::Active,
            (AssociationState::CreateInProgress, true) => {
                a.status = AssociationState::CreateFailed;
                a.failure_code = Some("InternalFailure".into());
                a.failure_message = Some("The association could not be created (injected failure)".into());
            }
            (AssociationState::DeleteInProgress, false) => gone.push(id.clone()),
            (AssociationState::DeleteInProgress, true) => {
                a.status = AssociationState::DeleteFailed;
                a.failure_code = Some("InternalFailure".into());
                a.failure_message = Some("The association could not be deleted (injected failure)".into());
            }
            _ => {}
        }
    }
    for id in gone {
        if let Some(r) = s.associations.remove(&id) {
            s.tags.remove(&r.association.arn);
        }
    }
}
