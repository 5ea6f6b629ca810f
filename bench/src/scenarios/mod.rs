//! The scenarios of issue 8 part 3, issue 10 and issue 18 (parts 0 and 3), one file each. Each
//! starts its own control plane, emulator and operator ([`crate::rig`]), and records rows (value,
//! bound, target) and the raw numbers behind them into a [`Record`]; the bounds' arithmetic is
//! [`crate::bounds`].
//!
//! - `single`: one object with provisioning delay D = 20 s, first ever, then after 20 others.
//! - `burst-1k`: 1,000 objects applied at once against a 20 req/s quota (D = 5 s), then all deleted.
//! - `big-network` (issue 18 part 0): 500, then 3,000 objects applied at once, all in one service
//!   network, against the operator's default rate and a quota of 10 req/s (D = 2 s); calls per
//!   second and objects Ready over time.
//! - `fair-3k` (issue 10): 100 healthy objects applied while 3,000 failing ones in other namespaces
//!   keep the rate limiter busy; the healthy objects' time to Ready.
//! - `fleet-10k`: 10,000 ACTIVE objects in 20 networks: the operator restarted over them, then 5
//!   minutes of steady state with a 60 s resync; the operator's peak RSS.
//! - `scale` (issue 18 part 3): 1,000, 10,000 and 50,000 ACTIVE objects, 500 a network, seeded
//!   straight into the API server and the emulator; the operator started over each: its first full
//!   pass and its RSS against the fleet's size.
//! - `import-1k` (issue 20): `vpc-lattice-operator import` of 1,000 associations in 10 networks:
//!   time and AWS calls beside one List page and one `GetResources` per 100 associations.

mod big_network;
mod burst;
mod fair;
mod fleet;
mod import;
mod scale;
mod single;

use crate::Result;
use crate::rig::{Bench, Record};

/// Every scenario, in the order a full run takes them.
pub const ALL: [&str; 7] = [
    "single",
    "burst-1k",
    "big-network",
    "fair-3k",
    "fleet-10k",
    "scale",
    "import-1k",
];

pub async fn run(b: &Bench, name: &str, rec: &mut Record) -> Result<()> {
    let dir = b.work.join(name);
    std::fs::create_dir_all(&dir)?;
    match name {
        "single" => single::single(b, &dir, rec).await,
        "burst-1k" => burst::burst(b, &dir, rec).await,
        "big-network" => big_network::big_network(b, &dir, rec).await,
        "fair-3k" => fair::fair(b, &dir, rec).await,
        "fleet-10k" => fleet::fleet(b, &dir, rec).await,
        "scale" => scale::scale(b, &dir, rec).await,
        "import-1k" => import::import(b, &dir, rec).await,
        other => Err(format!("no scenario {other}; scenarios: {}", ALL.join(", ")).into()),
    }
}
