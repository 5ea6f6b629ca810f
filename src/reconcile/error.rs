//! The reconciler's error type. AWS failures are handled inside the reconcile (condition, Event,
//! classified requeue); what reaches `error_policy` is a Kubernetes failure or a deletion that is
//! still waiting for AWS.

use std::time::Duration;

use kube::runtime::finalizer;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("failed to talk to the Kubernetes API: {0}")]
    Kube(#[source] kube::Error),

    #[error("failed to run the finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),

    /// Deletion is under way in AWS: the finalizer stays and the object is looked at again later.
    #[error("association cleanup is still in progress; checking again in {0:?}")]
    CleanupPending(Duration),

    #[error("object has no {0}")]
    MissingField(&'static str),
}

impl Error {
    /// The error inside the finalizer wrapper, where there is one.
    pub fn inner(&self) -> &Error {
        match self {
            Error::Finalizer(f) => match f.as_ref() {
                finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e.inner(),
                _ => self,
            },
            _ => self,
        }
    }

    /// A label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self.inner() {
            Error::Kube(_) => "kube",
            Error::Finalizer(_) => "finalizer",
            Error::CleanupPending(_) => "cleanup_pending",
            Error::MissingField(_) => "invalid_object",
        }
    }
}
