//! The reconciler's error type. AWS failures are handled inside the reconcile (condition, Event,
//! classified requeue); what reaches `error_policy` is a Kubernetes failure or a deletion that is
//! still waiting for AWS.

use std::time::Duration;

use kube::runtime::finalizer;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed: the status write, or reading the object's namespace.
    #[error("failed to talk to the Kubernetes API: {0}")]
    Kube(#[source] kube::Error),

    /// The finalizer itself failed (adding or removing it). What Apply and Cleanup return is never
    /// wrapped here: [`Error::from_finalizer`] unwraps it.
    #[error("failed to run the finalizer: {0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),

    /// Deletion is under way in AWS; look again after this long. It travels as an error because of
    /// kube's finalizer contract: a Cleanup that returns `Ok` has its finalizer removed (and the
    /// object goes), so a cleanup that must wait for AWS has to return `Err`. `error_policy` requeues
    /// it after the delay it carries, and it is not counted as a failure.
    #[error("association cleanup is still in progress; checking again in {0:?}")]
    CleanupPending(Duration),

    #[error("object has no {0}")]
    MissingField(&'static str),
}

impl Error {
    /// kube's finalizer wraps what Apply and Cleanup return; this unwraps it, once, so that everything
    /// after `reconcile` sees the reconciler's own error.
    pub fn from_finalizer(err: finalizer::Error<Error>) -> Self {
        match err {
            finalizer::Error::ApplyFailed(e) | finalizer::Error::CleanupFailed(e) => e,
            other => Error::Finalizer(Box::new(other)),
        }
    }

    /// A label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Finalizer(_) => "finalizer",
            Error::CleanupPending(_) => "cleanup_pending",
            Error::MissingField(_) => "invalid_object",
        }
    }
}
