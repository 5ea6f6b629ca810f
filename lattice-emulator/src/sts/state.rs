//! The STS part of the fake's state: the fault script, the call log and the credentials it issued
//! (held by `FakeLattice`; the STS wire and knobs are in `sts.rs` and `sts/query.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// STS faults. Role ARNs are matched exactly; `*` stands for every role. `PUT /_emulator/sts/faults`
/// replaces the whole script; every field has a default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StsFaults {
    /// Roles whose `AssumeRole` is denied: AccessDenied (HTTP 403), `User: <caller> is not authorized
    /// to perform: sts:AssumeRole on resource: <role>`.
    pub deny_assume_role: BTreeSet<String>,
    /// Role ARN → the external ID its trust policy requires: an `AssumeRole` without it, or with
    /// another, is denied as above (AWS does not say why).
    pub external_ids: BTreeMap<String, String>,
    /// Roles whose `AssumeRoleWithWebIdentity` is denied: AccessDenied (HTTP 403), `Not authorized to
    /// perform sts:AssumeRoleWithWebIdentity`.
    pub deny_web_identity: BTreeSet<String>,
    /// While set, every `AssumeRoleWithWebIdentity` is answered InvalidIdentityToken (HTTP 400) with
    /// this message (empty: AWS's wording for a token whose issuer it cannot reach).
    pub invalid_identity_token: Option<String>,
    /// While set, the calls it names are answered with this error.
    pub error: Option<InjectedStsError>,
    /// Every STS error message is padded to at least this many bytes (0: as is), for tests of how
    /// long messages are truncated.
    pub error_message_bytes: usize,
    /// A broken STS: every call is answered HTTP 200 with an HTML page instead of STS XML (as a
    /// proxy or captive portal would), which the SDK cannot parse.
    pub broken: bool,
}

/// An error every matching STS call is answered with, until cleared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct InjectedStsError {
    /// The action it answers (`AssumeRole`, …); `None` is every action.
    pub action: Option<String>,
    /// The error code (`AccessDenied`, `ExpiredTokenException`, `RegionDisabledException`, …).
    pub code: String,
    pub message: String,
    /// The HTTP status; `None` is the model's for the code (403 for AccessDenied,
    /// RegionDisabledException, IDPRejectedClaim; 500 for InternalFailure; 503 for
    /// ServiceUnavailable; 400 otherwise).
    pub status: Option<u16>,
}

/// One STS call, as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StsCall {
    /// The `Action` (empty when the request had none).
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The access key ID the request was signed with (`None` when unsigned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The HTTP status it was answered with.
    pub status: u16,
    /// The error code, or `None` when the call succeeded (or was answered by a broken STS).
    pub error: Option<String>,
    /// The access key ID of the credentials it issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_access_key_id: Option<String>,
    /// Answered by a broken STS (an HTML page).
    #[serde(default)]
    pub broken: bool,
    /// When it arrived, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// Credentials the fake issued, and the role session they stand for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StsSession {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// The role assumed.
    pub role_arn: String,
    pub session_name: String,
    /// `arn:aws:sts::<account>:assumed-role/<role name>/<session name>`.
    pub assumed_role_arn: String,
    /// `<role ID>:<session name>`.
    pub assumed_role_id: String,
    /// The `Expiration` reported (ISO-8601, UTC).
    pub expiration: String,
    /// The action that issued them.
    pub action: String,
}

#[derive(Default)]
pub(super) struct StsState {
    pub(super) faults: StsFaults,
    pub(super) calls: Vec<StsCall>,
    /// Issued credentials by access key ID.
    pub(super) sessions: HashMap<String, StsSession>,
    /// Each role's unique ID (`AROA…`), stable per role ARN.
    pub(super) role_ids: HashMap<String, String>,
}

/// The STS part of a [`FakeLattice`].
#[derive(Default)]
pub(crate) struct Sts(Mutex<StsState>);

impl Sts {
    pub(super) fn lock(&self) -> MutexGuard<'_, StsState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
