//! An in-process VPC Lattice that keeps real state (services, service networks, associations, tags)
//! and behaves as AWS documents: associations go through CREATE_IN_PROGRESS and DELETE_IN_PROGRESS,
//! a clientToken makes Create idempotent, a second association of the same pair is a
//! ConflictException. Faults can be scripted: provisioning delay (with jitter), CREATE_FAILED,
//! DELETE_FAILED, throttling with `retryAfterSeconds`, 5xx and added latency. AWS's limits are kept:
//! a token-bucket request quota per account (the access key a wire request was signed with), and
//! List pages of at most 100 with an opaque `nextToken`. The Resource Groups Tagging API's
//! `GetResources` reads the associations' tags in pages of up to 100, under the same quota and
//! faults. Every call is logged, with its arrival time, so tests and benchmarks can count them.
//! Written by hand: no library emulates VPC Lattice's association state machine.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use vpc_lattice_operator::lattice::{
    ASSOCIATION_RESOURCE_TYPE, Association, AssociationState, CreateAssociation, DnsEntry, ErrorKind, LatticeApi,
    LatticeError, ListFilter, Page, TAGGED_PAGE_SIZE, Tagged, Tags,
};

/// Faults to inject, and AWS's limits to keep. Counters are consumed one per matching call. Every
/// field has a default, so a client that sends only some of them (or none of the newer ones) still
/// works; `PUT /_emulator/faults` replaces the whole script.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// How long CREATE_IN_PROGRESS and DELETE_IN_PROGRESS last, in milliseconds.
    pub provisioning_delay_ms: u64,
    /// Up to this many milliseconds added to each create's and delete's provisioning delay, drawn
    /// uniformly from `0..=provisioningJitterMs` per association.
    pub provisioning_jitter_ms: u64,
    /// The next N associations created end in CREATE_FAILED.
    pub fail_creates: u32,
    /// The next N deletes end in DELETE_FAILED.
    pub fail_deletes: u32,
    /// The next N calls are answered with ThrottlingException (HTTP 429).
    pub throttle: u32,
    /// The `Retry-After` a throttled call carries.
    pub retry_after_seconds: Option<i32>,
    /// The next N calls are answered with InternalServerException (HTTP 500).
    pub server_errors: u32,
    /// Added to every call, in milliseconds.
    pub latency_ms: u64,
    /// The next Create is answered with this error code (`AccessDeniedException`,
    /// `ValidationException`, `ServiceQuotaExceededException`, …).
    pub create_error: Option<String>,
    /// The message of that error, padded to at least this many bytes (0: a short message), for the
    /// tests of what reaches a condition and an Event.
    pub create_error_message_bytes: usize,
    /// The request quota: requests per second each account (access key ID) may make, refilling a
    /// token bucket; beyond it calls are answered with ThrottlingException (HTTP 429, `Retry-After`).
    /// 0 (the default) is unlimited.
    pub request_rate: f64,
    /// The quota's bucket size (the burst an idle account may make at once); `None` is
    /// `max(1, ceil(requestRate))`.
    pub request_burst: Option<u32>,
}

impl Faults {
    /// The quota as (rate, bucket size), or `None` when unlimited.
    fn quota(&self) -> Option<(f64, f64)> {
        let rate = self.request_rate;
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let burst = match self.request_burst {
            Some(b) => f64::from(b.max(1)),
            None => rate.ceil().max(1.0),
        };
        Some((rate, burst))
    }

    /// Why these faults cannot be set, if they cannot.
    pub fn invalid(&self) -> Option<String> {
        if !(self.request_rate.is_finite() && self.request_rate >= 0.0) {
            return Some(format!(
                "requestRate must be a finite number >= 0 (0 = unlimited), not {}",
                self.request_rate
            ));
        }
        if self.request_burst == Some(0) {
            return Some("requestBurst must be at least 1".into());
        }
        None
    }
}

/// One logged call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub operation: String,
    /// The error code, or `None` when the call succeeded.
    pub error: Option<String>,
    /// The clientToken of a Create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// When the call arrived (before any injected latency), in milliseconds since the Unix epoch.
    #[serde(default)]
    pub at_ms: u64,
    /// The access key ID the wire request was signed with (absent for in-process calls and
    /// unsigned requests); the account whose request quota the call counted against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The `Retry-After` a throttled call was answered with, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
}

tokio::task_local! {
    /// The access key ID of the wire request being served (set by the wire layer).
    static ACCESS_KEY_ID: String;
}

/// Runs `f` as a request signed with `access_key_id`: its calls count against that account's
/// request quota and are logged with it.
pub async fn as_caller<F: std::future::Future>(access_key_id: String, f: F) -> F::Output {
    ACCESS_KEY_ID.scope(access_key_id, f).await
}

/// One account's token bucket.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Who made a wire request: the access key ID of its SigV4 signature (filled by the emulator).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Caller {
    pub method: String,
    pub path: String,
    pub access_key_id: String,
}

/// A service or service network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub id: String,
    pub arn: String,
    pub name: String,
}

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
    associations: BTreeMap<String, Record>,
    tags: HashMap<String, Tags>,
    /// clientToken → (association id, service id, network id).
    tokens: HashMap<String, (String, String, String)>,
    faults: Faults,
    /// Token buckets by access key ID, for the request quota in `faults`.
    buckets: HashMap<String, Bucket>,
    calls: Vec<Call>,
    callers: Vec<Caller>,
}

/// The fake itself; cheap to share behind an `Arc`.
pub struct FakeLattice {
    account: String,
    region: String,
    state: Mutex<State>,
    /// STS: its faults, call log and issued credentials (see [`crate::sts`]).
    pub(crate) sts: crate::sts::Sts,
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
            sts: crate::sts::Sts::default(),
            token_key: std::collections::hash_map::RandomState::new(),
        }
    }

    pub fn account(&self) -> &str {
        &self.account
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
        let access_key_id = ACCESS_KEY_ID.try_with(Clone::clone).ok();
        let (latency, quota) = {
            let mut s = self.lock();
            let quota = take_token(&mut s, access_key_id.as_deref().unwrap_or_default(), Instant::now());
            (Duration::from_millis(s.faults.latency_ms), quota)
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

    /// The checksum binding a pagination token to this instance, the query it pages (`scope`: the
    /// List's filter, or the GetResources filters) and its position.
    fn token_mac(&self, scope: &impl Hash, after: &str) -> u64 {
        self.token_key.hash_one((scope, after))
    }

    /// An opaque pagination token: the last ID of the page (hex) and its checksum.
    fn next_token(&self, scope: &impl Hash, after: &str) -> String {
        let mut t = String::with_capacity(after.len() * 2 + 16);
        for b in after.bytes() {
            let _ = write!(t, "{b:02x}");
        }
        let _ = write!(t, "{:016x}", self.token_mac(scope, after));
        t
    }

    /// The last ID of the previous page, from a token this instance issued for this `scope`; `None`
    /// for any other string.
    fn token_position(&self, token: &str, scope: &impl Hash) -> Option<String> {
        if !(17..=2048).contains(&token.len()) || !token.is_ascii() || !token.len().is_multiple_of(2) {
            return None;
        }
        let (id_hex, mac_hex) = token.split_at(token.len() - 16);
        let mac = u64::from_str_radix(mac_hex, 16).ok()?;
        let bytes = (0..id_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&id_hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()?;
        let after = String::from_utf8(bytes).ok()?;
        (is_id(&after, "snsa-") && self.token_mac(scope, &after) == mac).then_some(after)
    }

    /// One page of the Tagging API's `GetResources`: the associations (in any status) that match
    /// `q`, in ID order, each with all its tags; a page resumes after the last ID of the one before,
    /// so associations created or deleted between pages never repeat or shift the others. An empty
    /// token is the first page, as on the wire. Logged as `GetResources`, under the same quota and
    /// faults as every call; its errors are named as the Tagging API names them.
    pub(crate) async fn get_resources(
        &self,
        q: &ResourceQuery,
        token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.call_with("GetResources", None, tagging_api_error, |s, _| {
            let page = q.check()?;
            let scope = ("GetResources", &q.resource_types, &q.tag_filters);
            let after = match token.as_deref().filter(|t| !t.is_empty()) {
                Some(t) => Some(
                    self.token_position(t, &scope)
                        .ok_or_else(|| validation(format!("Invalid PaginationToken '{t}'")))?,
                ),
                None => None,
            };
            if !q.wants_associations() {
                return Ok(Page {
                    items: Vec::new(),
                    next_token: None,
                });
            }
            let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
            let s = &*s;
            let mut items = Vec::with_capacity(page.min(s.associations.len()));
            let mut last = "";
            for (id, r) in s.associations.range::<String, _>((start, std::ops::Bound::Unbounded)) {
                let Some(tags) = s.tags.get(&r.association.arn).filter(|t| q.matches(t)) else {
                    continue;
                };
                if items.len() == page {
                    return Ok(Page {
                        items,
                        next_token: Some(self.next_token(&scope, last)),
                    });
                }
                items.push(Tagged {
                    arn: r.association.arn.clone(),
                    tags: tags.clone(),
                });
                last = id;
            }
            Ok(Page {
                items,
                next_token: None,
            })
        })
        .await
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

/// One `GetResources` of the Resource Groups Tagging API, as far as the emulator serves it: its only
/// tagged resources are service-network/service associations ([`ASSOCIATION_RESOURCE_TYPE`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourceQuery {
    /// `ResourceTypeFilters` (`service` or `service:resourceType`); empty matches every type.
    pub resource_types: Vec<String>,
    /// `TagFilters`, all of which a resource must match: a key, and the values any one of which
    /// matches (none: any value of the key). Without any, every resource with a tag matches.
    pub tag_filters: Vec<(String, Vec<String>)>,
    /// `ResourcesPerPage` (1-100); `None` is the maximum, [`TAGGED_PAGE_SIZE`].
    pub per_page: Option<i32>,
}

impl ResourceQuery {
    /// The query for one tag, as [`LatticeApi::tagged_associations`] makes it.
    fn one_tag(key: &str, value: &str) -> Self {
        Self {
            resource_types: vec![ASSOCIATION_RESOURCE_TYPE.to_string()],
            tag_filters: vec![(key.to_string(), vec![value.to_string()])],
            per_page: Some(TAGGED_PAGE_SIZE),
        }
    }

    /// The page size, or why the query is invalid (the Tagging API's limits).
    fn check(&self) -> Result<usize, LatticeError> {
        if self.tag_filters.len() > 50 {
            return Err(validation("TagFilters can have at most 50 filters"));
        }
        for (key, values) in &self.tag_filters {
            if key.is_empty() || key.chars().count() > 128 {
                return Err(validation(format!(
                    "TagFilters: the key '{key}' must be 1 to 128 characters long"
                )));
            }
            if values.len() > 20 {
                return Err(validation(format!(
                    "TagFilters: the key '{key}' can have at most 20 values"
                )));
            }
            if let Some(v) = values.iter().find(|v| v.chars().count() > 256) {
                return Err(validation(format!(
                    "TagFilters: the value '{v}' is longer than 256 characters"
                )));
            }
        }
        match self.per_page {
            None => Ok(TAGGED_PAGE_SIZE.unsigned_abs() as usize),
            Some(n) if (1..=TAGGED_PAGE_SIZE).contains(&n) => Ok(n.unsigned_abs() as usize),
            Some(n) => Err(validation(format!(
                "ResourcesPerPage must be between 1 and {TAGGED_PAGE_SIZE}, not {n}"
            ))),
        }
    }

    /// Whether the resource types asked for include associations.
    fn wants_associations(&self) -> bool {
        self.resource_types.is_empty()
            || self
                .resource_types
                .iter()
                .any(|t| t == "vpc-lattice" || t == ASSOCIATION_RESOURCE_TYPE)
    }

    /// Whether a resource with these tags matches the tag filters.
    fn matches(&self, tags: &Tags) -> bool {
        if self.tag_filters.is_empty() {
            return !tags.is_empty();
        }
        self.tag_filters.iter().all(|(key, values)| {
            tags.get(key)
                .is_some_and(|v| values.is_empty() || values.iter().any(|w| w == v))
        })
    }
}

/// An error of a Resource Groups Tagging API operation, named as that API names it.
fn tagging_api_error(e: LatticeError) -> LatticeError {
    let code = match e.kind {
        ErrorKind::Throttled => "ThrottledException",
        ErrorKind::Validation => "InvalidParameterException",
        ErrorKind::Transient => "InternalServiceException",
        ErrorKind::AccessDenied => "AccessDeniedException",
        _ => return e,
    };
    LatticeError {
        code: code.to_string(),
        ..e
    }
}

/// Takes a token from `account`'s bucket, or says in how many whole seconds (at least 1) one will be
/// there. Always succeeds while the quota is unlimited.
fn take_token(s: &mut State, account: &str, now: Instant) -> Result<(), u64> {
    let Some((rate, burst)) = s.faults.quota() else {
        return Ok(());
    };
    let bucket = s
        .buckets
        .entry(account.to_string())
        .or_insert(Bucket { tokens: burst, at: now });
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return Ok(());
    }
    // Whole seconds, at least 1: a finite, positive float, so the cast is exact.
    let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0);
    Err(wait as u64)
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

#[async_trait]
impl LatticeApi for FakeLattice {
    async fn create_association(&self, req: &CreateAssociation) -> Result<Association, LatticeError> {
        self.call(
            "CreateServiceNetworkServiceAssociation",
            Some(&req.client_token),
            |s, now| self.create_locked(s, req, now),
        )
        .await
    }

    async fn get_association(&self, id: &str) -> Result<Association, LatticeError> {
        self.call("GetServiceNetworkServiceAssociation", None, |s, _| {
            Ok(Self::resolve(s, id)?.association.clone())
        })
        .await
    }

    async fn delete_association(&self, id: &str) -> Result<AssociationState, LatticeError> {
        self.call("DeleteServiceNetworkServiceAssociation", None, |s, now| {
            let delay = Self::provisioning(&s.faults);
            let fail = s.faults.fail_deletes > 0;
            let rec = Self::resolve(s, id)?;
            match rec.association.status {
                AssociationState::CreateInProgress => {
                    return Err(err(
                        ErrorKind::Conflict,
                        "ConflictException",
                        format!("association {id} is being created; delete it once it is ACTIVE or CREATE_FAILED"),
                    )
                    .with_resource(id, "SERVICE_NETWORK_SERVICE_ASSOCIATION"));
                }
                AssociationState::DeleteInProgress => return Ok(AssociationState::DeleteInProgress),
                _ => {}
            }
            rec.association.status = AssociationState::DeleteInProgress;
            rec.pending = Some((now + delay, fail));
            if fail {
                s.faults.fail_deletes -= 1;
            }
            Ok(AssociationState::DeleteInProgress)
        })
        .await
    }

    async fn list_associations(
        &self,
        filter: &ListFilter,
        next_token: Option<String>,
    ) -> Result<Page<Association>, LatticeError> {
        self.call("ListServiceNetworkServiceAssociations", None, |s, _| {
            let network = match &filter.service_network_identifier {
                Some(i) => Some(
                    id_of(i, "servicenetwork", "sn-")
                        .ok_or_else(|| validation(format!("invalid serviceNetworkIdentifier {i}")))?
                        .to_string(),
                ),
                None => None,
            };
            let service = match &filter.service_identifier {
                Some(i) => Some(
                    id_of(i, "service", "svc-")
                        .ok_or_else(|| validation(format!("invalid serviceIdentifier {i}")))?
                        .to_string(),
                ),
                None => None,
            };
            let page = match filter.max_results {
                None => DEFAULT_PAGE_SIZE,
                Some(m @ 1..=100) => m.unsigned_abs() as usize,
                Some(m) => {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{m}' at 'maxResults' failed to satisfy constraint: \
                         Member must have value between 1 and 100"
                    )));
                }
            };
            let (n, v) = (network.as_deref(), service.as_deref());
            let after = match &next_token {
                Some(t) => Some(
                    self.token_position(t, &(n, v))
                        .ok_or_else(|| validation(format!("Invalid nextToken '{t}'")))?,
                ),
                None => None,
            };
            // Pages follow the IDs in order and resume after the last one seen, so associations
            // created or deleted between pages never repeat or shift the others.
            let start = after
                .as_ref()
                .map_or(std::ops::Bound::Unbounded, |a| std::ops::Bound::Excluded(a.clone()));
            let mut items: Vec<Association> = s
                .associations
                .range((start, std::ops::Bound::Unbounded))
                .filter(|(_, r)| n.is_none_or(|n| n == r.network_id) && v.is_none_or(|v| v == r.service_id))
                .take(page + 1)
                .map(|(_, r)| r.association.clone())
                .collect();
            let next_token = (items.len() > page).then(|| self.next_token(&(n, v), &items[page - 1].id));
            items.truncate(page);
            Ok(Page { items, next_token })
        })
        .await
    }

    async fn list_tags(&self, arn: &str) -> Result<Tags, LatticeError> {
        self.call("ListTagsForResource", None, |s, _| Ok(Self::tagged(s, arn)?.clone()))
            .await
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), LatticeError> {
        self.call("TagResource", None, |s, _| {
            let current = Self::tagged(s, arn)?;
            let mut merged = current.clone();
            merged.extend(tags.clone());
            check_tags(tags, merged.len())?;
            *current = merged;
            Ok(())
        })
        .await
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), LatticeError> {
        self.call("UntagResource", None, |s, _| {
            let current = Self::tagged(s, arn)?;
            for k in keys {
                current.remove(k);
            }
            Ok(())
        })
        .await
    }

    async fn tagged_associations(
        &self,
        (key, value): (&str, &str),
        next_token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.get_resources(&ResourceQuery::one_tag(key, value), next_token)
            .await
    }
}
