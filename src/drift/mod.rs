//! The drift scan: every `--resync-interval` it lists each service network's associations once and
//! wakes only the objects whose AWS state differs from their status (and, every few rounds, every
//! ACTIVE object so its tags are compared). [`diff`] decides which, purely; [`scan`] is the loop.

pub mod diff;
pub mod scan;

pub use scan::{DriftOptions, drift_scan};
