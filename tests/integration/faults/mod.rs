//! The fault table (docs/reliability.md): the real operator binary against the real API server and
//! the emulator, under faults; each test asserts what must hold and counts what it saw (from the
//! emulator's request log), not how long things took.

use std::time::Duration;

mod apiserver;
mod crash;
mod failover;
mod outage;
mod shutdown;
mod storm;

pub const LIMIT: Duration = Duration::from_secs(90);
