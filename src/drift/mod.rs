//! The drift scan: every `--resync-interval` it lists each service network's associations once and
//! wakes only the objects whose AWS state differs from their status; every few rounds it also reads
//! the tags of every ACTIVE object and wakes those whose tags drifted from their spec. [`diff`]
//! decides which, purely; [`scan`] is the loop.

pub mod diff;
pub mod scan;

pub use scan::{DriftOptions, drift_scan};
