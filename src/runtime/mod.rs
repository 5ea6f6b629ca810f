//! The edge of the process: controller wiring, the admin server, leader election, the run loop
//! around them (`run`), per-namespace AWS identities and logging.

pub mod admin;
pub mod changes;
pub mod check;
pub mod controller;
pub mod leader;
pub mod routes;
pub mod run;
pub mod telemetry;
pub mod tenancy;

pub use controller::{ControllerOptions, run_controller};
