//! The edge of the process: controller wiring, the drift scan, the admin server, leader election,
//! the run loop around them and logging.

pub mod admin;
pub mod controller;
pub mod leader;
pub mod run;
pub mod telemetry;
pub mod tenancy;

pub use controller::{ControllerOptions, run_controller};
