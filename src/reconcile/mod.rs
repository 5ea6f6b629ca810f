//! The reconciler: observe (the object and AWS), [`decide`] (pure), act (at most one mutating AWS
//! call), then write the status (only when it changed) and publish Events.

pub mod decide;
pub mod drift;
pub mod status;

mod act;
mod context;
mod error;

pub use act::{error_policy, reconcile};
pub use context::{Config, Context};
pub use error::Error;
