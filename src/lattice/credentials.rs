//! Failures to get AWS credentials, told apart from failures of the call itself. The SDK resolves
//! credentials while it sends a request, so a credential provider's failure (a web identity or an
//! AssumeRole that STS refuses, no credentials at all, an STS endpoint that answers nonsense) comes
//! back as a `DispatchFailure` of the Lattice call: without this module it would read as a network
//! error. The provider's own words (STS's error code and message) are kept, and where the fix lies.

use std::error::Error as StdError;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError;

use super::error::{ErrorKind, LatticeError, readable};

/// The reason code of every credentials failure (condition reason, Event reason, metric label).
pub const CREDENTIALS_UNAVAILABLE: &str = "CredentialsUnavailable";

/// What STS said, when a credential provider's failure was an STS call's.
struct StsAnswer {
    call: &'static str,
    /// STS answered with an error code: it refused (rather than answered nonsense or nothing).
    refused: bool,
    /// STS's words: its error code and message, or what was wrong with its answer.
    said: Option<String>,
    /// The call may succeed later unchanged (timeout, connection failure, 5xx, throttling).
    transient: bool,
}

fn sts_answer<E: ProvideErrorMetadata + StdError + 'static>(call: &'static str, e: &SdkError<E>) -> StsAnswer {
    let (said, transient, refused) = match e {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            match ctx.err().code() {
                Some(code) => (
                    Some(format!(
                        "STS {call} answered {code}: {}",
                        ctx.err().message().unwrap_or("no message")
                    )),
                    status >= 500 || code.starts_with("Throttling"),
                    true,
                ),
                // Not an STS answer at all (e.g. an HTML page from a proxy): it will not fix itself.
                None => (
                    Some(format!(
                        "STS {call} answered HTTP {status} with something that is not an STS answer ({}): check \
                         AWS_ENDPOINT_URL_STS, AWS_STS_REGIONAL_ENDPOINTS and any proxy on the way",
                        readable(ctx.err())
                    )),
                    status >= 500,
                    false,
                ),
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (None, true, false),
        _ => (None, false, false),
    };
    StsAnswer {
        call,
        refused,
        said,
        transient,
    }
}

/// The STS answer somewhere in `err`'s sources, if one is there.
fn find_sts(err: &(dyn StdError + 'static)) -> Option<StsAnswer> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(e) = e.downcast_ref::<SdkError<AssumeRoleError>>() {
            return Some(sts_answer("AssumeRole", e));
        }
        if let Some(e) = e.downcast_ref::<SdkError<AssumeRoleWithWebIdentityError>>() {
            return Some(sts_answer("AssumeRoleWithWebIdentity", e));
        }
        next = e.source();
    }
    None
}

/// What to do about a credentials failure, by the STS call that failed.
fn remedy(call: Option<&str>, not_loaded: bool) -> &'static str {
    match call {
        _ if not_loaded => {
            "no credentials were found: give the operator an identity (IRSA: the ServiceAccount annotation \
             eks.amazonaws.com/role-arn; or an EKS Pod Identity association); see docs/security.md"
        }
        Some("AssumeRoleWithWebIdentity") => {
            "the role's trust policy must trust this cluster's OIDC provider for the operator's ServiceAccount \
             (IRSA; see docs/iam.md), and the role ARN must be right"
        }
        Some(_) => {
            "the role's trust policy must let the operator's identity assume it (and expect the namespace's \
             external ID, if it demands one), and the operator's identity needs sts:AssumeRole on it; see \
             docs/iam.md"
        }
        None => {
            "check the operator's AWS identity settings (IRSA, Pod Identity, AWS_* variables); see docs/security.md"
        }
    }
}

/// A credentials failure in `err`'s sources, classified: the provider's words, where the fix lies,
/// and whether waiting may help (STS unreachable) or a human must act (refused, none configured).
/// `None` when `err` is not about credentials.
pub fn credentials_failure(err: &(dyn StdError + 'static)) -> Option<LatticeError> {
    let mut next = Some(err);
    let failure = loop {
        let e = next?;
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            break c;
        }
        next = e.source();
    };
    let sts = find_sts(failure);
    let transient = match failure {
        CredentialsError::ProviderTimedOut(_) => true,
        _ => sts.as_ref().is_some_and(|s| s.transient),
    };
    let not_loaded = matches!(failure, CredentialsError::CredentialsNotLoaded(_));
    let said = match &sts {
        Some(StsAnswer { said: Some(said), .. }) => said.clone(),
        Some(StsAnswer { call, .. }) => format!("STS {call} failed: {}", readable(failure)),
        None => readable(failure),
    };
    let kind = if transient {
        ErrorKind::CredentialsTransient
    } else {
        ErrorKind::Credentials
    };
    let message = match &sts {
        // Not a refusal: what was wrong is said already.
        Some(s) if !s.refused && s.said.is_some() => format!("could not get AWS credentials: {said}"),
        _ => format!(
            "could not get AWS credentials: {said}; {}",
            remedy(sts.as_ref().map(|s| s.call), not_loaded)
        ),
    };
    Some(LatticeError::new(kind, CREDENTIALS_UNAVAILABLE, message))
}
