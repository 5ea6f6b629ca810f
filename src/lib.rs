#![forbid(unsafe_code)]
//! vpc-lattice-operator: Amazon VPC Lattice service-network/service associations as Kubernetes objects.

pub mod api;
pub mod drift;
pub mod lattice;
pub mod metrics;
pub mod reconcile;
pub mod runtime;

/// Name of the controller, in Events and leases.
pub const CONTROLLER_NAME: &str = "vpc-lattice-operator.vpclattice.operator.dev";
/// Server-side apply field manager of status writes.
pub const FIELD_MANAGER: &str = "vpc-lattice-operator";
