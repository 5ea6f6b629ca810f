//! Error classes of the AWS boundary. SDK errors are classified once, here: modeled variants first,
//! the error code for unhandled ones, then the transport class (timeouts and connection failures are
//! transient, a request that could not be built is a bug).

use std::time::Duration;

use aws_sdk_vpclattice::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

/// What went wrong, as the reconciler needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is invalid (ValidationException): retrying the same spec will not help.
    Validation,
    /// The identity may not do this (AccessDeniedException).
    AccessDenied,
    /// The resource does not exist (ResourceNotFoundException).
    NotFound,
    /// The request conflicts with the resource's state (ConflictException).
    Conflict,
    /// Too many requests (ThrottlingException).
    Throttled,
    /// An account quota is used up (ServiceQuotaExceededException).
    QuotaExceeded,
    /// A server error, timeout or connection failure: retry with backoff.
    Transient,
    /// Any other error AWS returned.
    Other,
    /// No AWS call was made: the namespace names no IAM role and the operator requires one
    /// (`--require-namespace-role`).
    NoRole,
    /// No AWS call was made: the namespace names a role outside the allow-list (`--allowed-role-arn`).
    RoleNotAllowed,
    /// No credentials could be had (STS refused the role or the web identity, none are configured,
    /// STS answered nonsense) or no region is configured: a human must fix the identity.
    Credentials,
    /// No credentials could be had because STS could not be reached or failed (timeout, 5xx): retried.
    CredentialsTransient,
}

/// A classified error from VPC Lattice.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct LatticeError {
    pub kind: ErrorKind,
    /// The AWS error code (`ThrottlingException`, …) or a transport class (`TimeoutError`, …).
    pub code: String,
    pub message: String,
    /// How long AWS asked the caller to wait (the `Retry-After` header of throttling and 5xx).
    pub retry_after: Option<Duration>,
    /// The resource AWS named in the error, when it named one.
    pub resource_id: Option<String>,
    /// The type of that resource (`SERVICE`, `SERVICE_NETWORK`, …).
    pub resource_type: Option<String>,
}

impl LatticeError {
    pub fn new(kind: ErrorKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: code.into(),
            message: message.into(),
            retry_after: None,
            resource_id: None,
            resource_type: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: Option<i32>) -> Self {
        self.retry_after = seconds.filter(|s| *s >= 0).map(|s| Duration::from_secs(s as u64));
        self
    }

    /// Names the resource the error is about (empty strings leave a field unset).
    pub fn with_resource(mut self, id: &str, resource_type: &str) -> Self {
        self.resource_id = (!id.is_empty()).then(|| id.to_string());
        self.resource_type = (!resource_type.is_empty()).then(|| resource_type.to_string());
        self
    }

    /// Classifies an error code AWS returned that the operation's model does not name.
    pub fn from_code(code: Option<&str>, message: Option<&str>, http_status: Option<u16>) -> Self {
        let code = code.unwrap_or("Unknown");
        let kind = match code {
            "ValidationException" => ErrorKind::Validation,
            "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException" => ErrorKind::AccessDenied,
            "ResourceNotFoundException" => ErrorKind::NotFound,
            "ConflictException" => ErrorKind::Conflict,
            "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded" => ErrorKind::Throttled,
            "ServiceQuotaExceededException" => ErrorKind::QuotaExceeded,
            "InternalServerException" | "ServiceUnavailableException" => ErrorKind::Transient,
            _ => match http_status {
                Some(429) => ErrorKind::Throttled,
                Some(s) if s >= 500 => ErrorKind::Transient,
                Some(403) => ErrorKind::AccessDenied,
                _ => ErrorKind::Other,
            },
        };
        Self::new(kind, code, message.unwrap_or("no message"))
    }
}

/// An operation error whose modeled variants map to a class.
pub trait Classify {
    /// `None` for the operation's `Unhandled` variant, which is classified by its code.
    fn classify(&self) -> Option<LatticeError>;
}

/// Classifies any SDK error of an operation (a credential provider's failure is told apart before
/// this, by the adapter: `credentials::credentials_failure`).
pub fn classify<E>(err: SdkError<E, Response>) -> LatticeError
where
    E: Classify + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            ctx.err()
                .classify()
                .unwrap_or_else(|| LatticeError::from_code(ctx.err().code(), ctx.err().message(), Some(status)))
        }
        SdkError::TimeoutError(_) => transport("TimeoutError", &err),
        SdkError::DispatchFailure(_) => transport("DispatchFailure", &err),
        SdkError::ResponseError(_) => transport("ResponseError", &err),
        SdkError::ConstructionFailure(_) => LatticeError::new(ErrorKind::Other, "ConstructionFailure", readable(&err)),
        // SdkError is non-exhaustive: whatever comes next is retried.
        _ => transport("SdkError", &err),
    }
}

fn transport<E: std::error::Error + 'static>(code: &str, err: &SdkError<E, Response>) -> LatticeError {
    LatticeError::new(ErrorKind::Transient, code, readable(err))
}

/// An error and its sources as a person reads them: each one's `Display`, joined by `: `, a source
/// whose words the text already holds, or that prints a Rust struct (`Error { code: … }`), left
/// out. (The SDK's `DisplayErrorContext` appends the whole `Debug` form, hundreds of characters of
/// Rust structs, which must not reach a condition or Event.)
pub fn readable(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let words = e.to_string();
        if !words.is_empty() && !text.contains(&words) && !words.contains(" { ") {
            text.push_str(": ");
            text.push_str(&words);
        }
        next = e.source();
    }
    text
}

/// One modeled variant of an operation error, mapped to its class.
macro_rules! modeled {
    (ValidationException, $e:ident) => {
        LatticeError::new(ErrorKind::Validation, "ValidationException", $e.message())
    };
    (AccessDeniedException, $e:ident) => {
        LatticeError::new(ErrorKind::AccessDenied, "AccessDeniedException", $e.message())
    };
    (ResourceNotFoundException, $e:ident) => {
        LatticeError::new(ErrorKind::NotFound, "ResourceNotFoundException", $e.message())
            .with_resource($e.resource_id(), $e.resource_type())
    };
    (ConflictException, $e:ident) => {
        LatticeError::new(ErrorKind::Conflict, "ConflictException", $e.message())
            .with_resource($e.resource_id(), $e.resource_type())
    };
    (ThrottlingException, $e:ident) => {
        LatticeError::new(ErrorKind::Throttled, "ThrottlingException", $e.message())
            .with_retry_after($e.retry_after_seconds())
    };
    (ServiceQuotaExceededException, $e:ident) => {
        LatticeError::new(ErrorKind::QuotaExceeded, "ServiceQuotaExceededException", $e.message())
            .with_resource($e.resource_id().unwrap_or_default(), $e.resource_type())
    };
    (ThrottledException, $e:ident) => {
        LatticeError::new(
            ErrorKind::Throttled,
            "ThrottledException",
            $e.message().unwrap_or("throttled"),
        )
    };
    (InvalidParameterException, $e:ident) => {
        LatticeError::new(
            ErrorKind::Validation,
            "InvalidParameterException",
            $e.message().unwrap_or("invalid parameter"),
        )
    };
    (InternalServiceException, $e:ident) => {
        LatticeError::new(
            ErrorKind::Transient,
            "InternalServiceException",
            $e.message().unwrap_or("internal error"),
        )
    };
    (PaginationTokenExpiredException, $e:ident) => {
        LatticeError::new(
            ErrorKind::Transient,
            "PaginationTokenExpiredException",
            $e.message().unwrap_or("pagination token expired"),
        )
    };
    (InternalServerException, $e:ident) => {
        LatticeError::new(ErrorKind::Transient, "InternalServerException", $e.message())
            .with_retry_after($e.retry_after_seconds())
    };
}

/// Implements [`Classify`] for an operation error type with the given modeled variants.
macro_rules! impl_classify {
    ($($ty:path { $($variant:ident),+ $(,)? })+) => {$(
        impl Classify for $ty {
            fn classify(&self) -> Option<LatticeError> {
                use $ty as E;
                match self {
                    $(E::$variant(e) => Some(modeled!($variant, e)),)+
                    _ => None,
                }
            }
        }
    )+};
}

use aws_sdk_vpclattice::operation as op;

impl_classify! {
    op::create_service_network_service_association::CreateServiceNetworkServiceAssociationError {
        ValidationException, AccessDeniedException, ConflictException, ResourceNotFoundException,
        ThrottlingException, ServiceQuotaExceededException, InternalServerException,
    }
    op::get_service_network_service_association::GetServiceNetworkServiceAssociationError {
        ValidationException, AccessDeniedException, ResourceNotFoundException, ThrottlingException,
        InternalServerException,
    }
    op::delete_service_network_service_association::DeleteServiceNetworkServiceAssociationError {
        ValidationException, AccessDeniedException, ConflictException, ResourceNotFoundException,
        ThrottlingException, InternalServerException,
    }
    op::list_service_network_service_associations::ListServiceNetworkServiceAssociationsError {
        ValidationException, AccessDeniedException, ThrottlingException, InternalServerException,
    }
    op::list_tags_for_resource::ListTagsForResourceError {
        ValidationException, AccessDeniedException, ResourceNotFoundException, InternalServerException,
    }
    op::tag_resource::TagResourceError {
        ValidationException, AccessDeniedException, ResourceNotFoundException, ThrottlingException,
        InternalServerException,
    }
    op::untag_resource::UntagResourceError {
        ValidationException, AccessDeniedException, ResourceNotFoundException, InternalServerException,
    }
    op::list_services::ListServicesError {
        ValidationException, AccessDeniedException, ThrottlingException, InternalServerException,
    }
    op::list_service_networks::ListServiceNetworksError {
        ValidationException, AccessDeniedException, ThrottlingException, InternalServerException,
    }
    aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesError {
        ThrottledException, InvalidParameterException, InternalServiceException, PaginationTokenExpiredException,
    }
}
