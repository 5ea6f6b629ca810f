//! The emulator's data: the fault script and AWS's limits ([`Faults`]), a logged call ([`Call`]),
//! who signed a wire request ([`Caller`]), and a service or service network ([`Target`]).

use serde::{Deserialize, Serialize};

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
    pub(super) fn quota(&self) -> Option<(f64, f64)> {
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
