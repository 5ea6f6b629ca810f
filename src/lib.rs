#![forbid(unsafe_code)]
//! vpc-lattice-operator: Amazon VPC Lattice service-network/service associations as Kubernetes objects.

pub mod api;
pub mod drift;
pub mod import;
pub mod lattice;
pub mod limiter;
pub mod metrics;
pub mod pack;
pub mod reconcile;
pub mod runtime;

/// Locks `m`. A poisoned lock's data is still used: every holder in this crate leaves it whole (a
/// count, a map entry, a queue), so one panicked task does not stop the others.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Name of the controller, in Events and leases.
pub const CONTROLLER_NAME: &str = "vpc-lattice-operator.vpclattice.operator.dev";
/// Server-side apply field manager of status writes.
pub const FIELD_MANAGER: &str = "vpc-lattice-operator";
