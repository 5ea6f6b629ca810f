//! AWS STS on the emulator's port, in its own protocol (awsQuery): `POST /` with a form-encoded
//! body (`Action=AssumeRole&Version=2011-06-15&…`), answered in XML, so the operator can run as EKS
//! runs it: IRSA (aws-config's default chain calls `AssumeRoleWithWebIdentity`) and per-namespace
//! roles (`AssumeRoleProvider`, a signed `AssumeRole`), with `AWS_ENDPOINT_URL_STS` pointing here.
//! Served: `AssumeRole` and `GetCallerIdentity` (signed: the caller is the SigV4 access key ID) and
//! `AssumeRoleWithWebIdentity` (unsigned). Every issued credential has a fresh access key ID the fake
//! remembers, so tests can map the Lattice calls' callers back to roles ([`FakeLattice::role_of_key`]).
//! A caller's key the fake did not issue stands for an IAM user named after the key in the
//! emulator's account: `GetCallerIdentity` answers `arn:aws:iam::<account>:user/<key>` (its `UserId`
//! the key), and that ARN is the `User:` of an AccessDenied. The protocol itself is in `query`.
//!
//! Shapes, error codes and their HTTP statuses follow the STS service model `sts` 2011-06-15 (as
//! botocore 1.44.8 ships it, `data/sts/2011-06-15/service-2.json`); error messages use AWS's own
//! wording where it is known. Faults ([`StsFaults`]) are scriptable in-process and over
//! `/_emulator/sts/faults`: denied roles, required external IDs, denied or invalid web identities, an
//! injected error per action, long error messages, and a broken STS that answers HTTP 200 with an
//! HTML page. STS calls have their own log ([`FakeLattice::sts_calls`]); they are never in the
//! Lattice call log, its caller log or its request quota, and the Lattice faults do not apply to
//! them. Issued credentials never expire in the fake (the `Expiration` it reports is informative).
//! Written by hand: no library emulates STS faults.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::fake::FakeLattice;

mod query;
pub(crate) mod state;
#[cfg(test)]
mod tests;

pub(crate) use query::{is_query, serve};
use state::StsState;
pub use state::{InjectedStsError, StsCall, StsFaults, StsSession};

/// The XML namespace of every STS answer.
pub const XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// The STS knobs, log and issued credentials of the fake.
impl FakeLattice {
    /// Replaces the STS fault script.
    pub fn set_sts_faults(&self, faults: StsFaults) {
        self.sts.lock().faults = faults;
    }

    /// The STS fault script as it stands.
    pub fn sts_faults(&self) -> StsFaults {
        self.sts.lock().faults.clone()
    }

    /// Changes the STS fault script in place.
    pub fn update_sts_faults(&self, change: impl FnOnce(&mut StsFaults)) {
        change(&mut self.sts.lock().faults);
    }

    /// Denies `AssumeRole` on `role_arn` (`*`: every role) with AccessDenied.
    pub fn deny_assume_role(&self, role_arn: &str) {
        self.update_sts_faults(|f| {
            f.deny_assume_role.insert(role_arn.to_string());
        });
    }

    /// Makes `AssumeRole` on `role_arn` require `external_id` (AccessDenied without it or with another).
    pub fn require_external_id(&self, role_arn: &str, external_id: &str) {
        self.update_sts_faults(|f| {
            f.external_ids.insert(role_arn.to_string(), external_id.to_string());
        });
    }

    /// Denies `AssumeRoleWithWebIdentity` on `role_arn` (`*`: every role) with AccessDenied.
    pub fn deny_web_identity(&self, role_arn: &str) {
        self.update_sts_faults(|f| {
            f.deny_web_identity.insert(role_arn.to_string());
        });
    }

    /// Turns the broken STS (HTTP 200 with an HTML page) on or off.
    pub fn set_sts_broken(&self, broken: bool) {
        self.update_sts_faults(|f| f.broken = broken);
    }

    /// Every STS call so far, oldest first.
    pub fn sts_calls(&self) -> Vec<StsCall> {
        self.sts.lock().calls.clone()
    }

    /// How many STS calls of this action were made.
    pub fn sts_count(&self, action: &str) -> usize {
        self.sts.lock().calls.iter().filter(|c| c.action == action).count()
    }

    /// Forgets the STS call log (issued credentials are kept).
    pub fn clear_sts_calls(&self) {
        self.sts.lock().calls.clear();
    }

    /// The role ARN an access key ID the fake issued stands for; `None` for any other key.
    pub fn role_of_key(&self, access_key_id: &str) -> Option<String> {
        self.sts.lock().sessions.get(access_key_id).map(|s| s.role_arn.clone())
    }

    /// The role session an access key ID the fake issued stands for.
    pub fn session_of_key(&self, access_key_id: &str) -> Option<StsSession> {
        self.sts.lock().sessions.get(access_key_id).cloned()
    }

    /// Every credential issued so far, by access key ID.
    pub fn sts_sessions(&self) -> Vec<StsSession> {
        let mut all: Vec<StsSession> = self.sts.lock().sessions.values().cloned().collect();
        all.sort_by(|a, b| a.access_key_id.cmp(&b.access_key_id));
        all
    }
}

// --- The admin routes under /_emulator/sts/ ---

type Shared = Arc<FakeLattice>;

async fn faults(State(f): State<Shared>) -> Json<StsFaults> {
    Json(f.sts_faults())
}

async fn set_faults(State(f): State<Shared>, Json(faults): Json<StsFaults>) -> Json<StsFaults> {
    f.set_sts_faults(faults);
    Json(f.sts_faults())
}

async fn calls(State(f): State<Shared>) -> Json<Value> {
    Json(json!({ "calls": f.sts_calls() }))
}

async fn clear_calls(State(f): State<Shared>) -> StatusCode {
    f.clear_sts_calls();
    StatusCode::NO_CONTENT
}

async fn sessions(State(f): State<Shared>) -> Json<Value> {
    Json(json!({ "sessions": f.sts_sessions() }))
}

async fn session(State(f): State<Shared>, Path(key): Path<String>) -> Response {
    match f.session_of_key(&key) {
        Some(s) => Json(s).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET|PUT /_emulator/sts/faults`, `GET|DELETE /_emulator/sts/calls`, `GET /_emulator/sts/sessions`
/// and `GET /_emulator/sts/sessions/{accessKeyId}` (404 for a key the fake did not issue).
pub(crate) fn admin_routes() -> Router<Shared> {
    Router::new()
        .route("/_emulator/sts/faults", get(faults).put(set_faults))
        .route("/_emulator/sts/calls", get(calls).delete(clear_calls))
        .route("/_emulator/sts/sessions", get(sessions))
        .route("/_emulator/sts/sessions/{key}", get(session))
}
