//! The scenarios of issue 8 part 3 and issue 10, one file each. Each starts its own control plane,
//! emulator and operator ([`crate::rig`]), and records rows (value, bound, target) and the raw
//! numbers behind them into a [`Record`]; the bounds' arithmetic is [`crate::bounds`].
//!
//! - `single`: one object with provisioning delay D = 20 s, first ever, then after 20 others.
//! - `burst-1k`: 1,000 objects applied at once against a 20 req/s quota (D = 5 s), then all deleted.
//! - `fair-3k` (issue 10): 100 healthy objects applied while 3,000 failing ones in other namespaces
//!   keep the rate limiter busy; the healthy objects' time to Ready.
//! - `fleet-10k`: 10,000 ACTIVE objects in 20 networks: the operator restarted over them, then 5
//!   minutes of steady state with a 60 s resync; the operator's peak RSS.

mod burst;
mod fair;
mod fleet;
mod single;

use crate::Result;
use crate::rig::{Bench, Record};

/// Every scenario, in the order a full run takes them.
pub const ALL: [&str; 4] = ["single", "burst-1k", "fair-3k", "fleet-10k"];

pub async fn run(b: &Bench, name: &str, rec: &mut Record) -> Result<()> {
    let dir = b.work.join(name);
    std::fs::create_dir_all(&dir)?;
    match name {
        "single" => single::single(b, &dir, rec).await,
        "burst-1k" => burst::burst(b, &dir, rec).await,
        "fair-3k" => fair::fair(b, &dir, rec).await,
        "fleet-10k" => fleet::fleet(b, &dir, rec).await,
        other => Err(format!("no scenario {other}; scenarios: {}", ALL.join(", ")).into()),
    }
}
