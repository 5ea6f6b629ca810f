//! What every reconcile shares: clients, the Event recorder, metrics, settings, and a small
//! per-object memory (consecutive failures, polls, recreates) that drives backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;
use kube::runtime::events::Recorder;

use crate::lattice::provider::LatticeProvider;
use crate::metrics::Metrics;

/// Operator settings the reconciler needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Written to the cluster ownership tag.
    pub cluster_name: String,
}

/// Counters kept per object between reconciles (not persisted: a restart starts afresh).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Memory {
    /// Consecutive failed reconciles.
    pub failures: u32,
    /// Consecutive polls while AWS works.
    pub polls: u32,
    /// Recover (delete-to-recreate) cycles since the association was last ACTIVE.
    pub recoveries: u32,
}

/// Shared state of all reconciles.
pub struct Context {
    pub client: Client,
    /// The Lattice client of each namespace.
    pub lattice: Arc<dyn LatticeProvider>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub config: Config,
    memory: Mutex<HashMap<String, Memory>>,
}

impl Context {
    pub fn new(client: Client, lattice: Arc<dyn LatticeProvider>, metrics: Arc<Metrics>, config: Config) -> Self {
        let reporter = kube::runtime::events::Reporter {
            controller: crate::CONTROLLER_NAME.into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            lattice,
            metrics,
            config,
            memory: Mutex::default(),
        }
    }

    /// Changes an object's memory and returns the result.
    pub(crate) fn remember(&self, key: &str, f: impl FnOnce(&mut Memory)) -> Memory {
        let mut all = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        let m = all.entry(key.to_string()).or_default();
        f(m);
        *m
    }

    /// Drops an object's memory (it is gone).
    pub(crate) fn forget(&self, key: &str) {
        self.memory.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// Adds up to +20% random jitter, so objects that failed together do not retry together.
pub(crate) fn jitter(d: Duration) -> Duration {
    d.mul_f64(1.0 + rand::random::<f64>() * 0.2)
}
