//! The edge of the process: controller wiring, the drift scan, the admin server, leader election
//! and logging.

pub mod admin;
pub mod controller;
pub mod drift;
pub mod leader;
pub mod telemetry;
pub mod tenancy;

pub use controller::{ControllerOptions, run_controller};
