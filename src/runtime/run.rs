//! The life of the process around the controller: leader election when enabled, readiness while
//! standing by, the leader gauge, and one cancellation token that stops everything (SIGTERM, Ctrl-C,
//! or the lease lost).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use kube_lease_manager::LeaseManagerError;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::controller::{ControllerOptions, run_controller};
use super::leader;
use crate::lattice::guard::AwsCallMetrics;
use crate::limiter::LimiterMetrics;
use crate::metrics::Metrics;
use crate::reconcile::Context;

/// Leader election: where the Lease lives and who this replica is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Election {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease (`--leader-election-id`).
    pub lease: String,
    /// This replica's name in the Lease.
    pub identity: String,
}

impl Election {
    /// The Lease `lease` in `namespace`, else in the pod's namespace (`POD_NAMESPACE`), else in
    /// `default`; the pod's name as identity, else one made of the process id.
    pub fn from_env(namespace: Option<String>, lease: String, pod_name: Option<String>) -> Self {
        Self {
            lease,
            namespace: namespace
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .unwrap_or_else(|| "default".into()),
            identity: pod_name.unwrap_or_else(|| format!("vpc-lattice-operator-{}", std::process::id())),
        }
    }
}

/// The `leader` gauge: 1 while this process reconciles. Cloning shares the gauge.
#[derive(Clone, Debug, Default)]
pub struct LeaderGauge(Gauge);

impl LeaderGauge {
    /// Registers the gauge into `registry` (the process's, prefixed `vpc_lattice_operator`).
    #[must_use]
    pub fn register(self, registry: &mut Registry) -> Self {
        registry.register(
            "leader",
            "1 while this process reconciles: it holds the leader Lease, or runs without leader election",
            self.0.clone(),
        );
        self
    }
}

/// Every metric family the process serves, in one registry (`metrics.registry`): the reconciler's,
/// the AWS calls' and the leader gauge, each registered by the component that records it.
pub struct ServedMetrics {
    pub metrics: Metrics,
    pub aws_calls: AwsCallMetrics,
    pub limiter: LimiterMetrics,
    pub leader: LeaderGauge,
}

impl Default for ServedMetrics {
    fn default() -> Self {
        let mut metrics = Metrics::default();
        let aws_calls = AwsCallMetrics::default().register(&mut metrics.registry);
        let limiter = LimiterMetrics::default().register(&mut metrics.registry);
        let leader = LeaderGauge::default().register(&mut metrics.registry);
        Self {
            metrics,
            aws_calls,
            limiter,
            leader,
        }
    }
}

/// Everything the process runs besides the admin server.
pub struct Operator {
    pub ctx: Arc<Context>,
    pub controller: ControllerOptions,
    /// Elect a leader first, or reconcile at once when `None`.
    pub election: Option<Election>,
    /// What `/readyz` reports.
    pub ready: Arc<AtomicBool>,
    pub leader: LeaderGauge,
    /// After `stop`, how long in-flight reconciles may take (`--shutdown-timeout`).
    pub shutdown_timeout: Duration,
}

/// How long releasing the Lease may take at the end (an unreachable API server must not hold the
/// exit; the Lease then expires on its own).
pub const LEASE_RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

impl Operator {
    /// Runs until `stop` is cancelled: waits for the lease (ready meanwhile), runs the controller
    /// until `stop` is cancelled or the lease is lost, lets in-flight reconciles finish and frees the
    /// lease.
    pub async fn run(self, stop: CancellationToken) -> Result<(), LeaseManagerError> {
        let lease = match &self.election {
            Some(election) => {
                // A standby replica is healthy and ready while it waits; otherwise a rolling update whose
                // new pod must be Ready before the old one (the leader) goes would never finish.
                self.ready.store(true, Ordering::SeqCst);
                // Losing the lease cancels `stop`, which stops the controller.
                let acquired = leader::acquire(
                    self.ctx.client.clone(),
                    &election.namespace,
                    &election.lease,
                    &election.identity,
                    stop.clone(),
                );
                let held = tokio::select! {
                    held = acquired => held?,
                    () = stop.cancelled() => return Ok(()),
                };
                // Leading now: ready again once the watch has synced.
                self.ready.store(false, Ordering::SeqCst);
                Some(held)
            }
            None => None,
        };
        info!("starting controller");
        self.leader.0.set(1);
        let stopped = stop.clone();
        let controller = run_controller(self.ctx, self.controller, self.ready, async move {
            stopped.cancelled().await;
        });
        // In-flight reconciles finish within the shutdown timeout, else they are dropped where they
        // wait (an AWS or API server call that does not answer, a rate-limiter token): every step is
        // safe to interrupt and resumes on the next start (client tokens, ownership tags).
        let timeout = self.shutdown_timeout;
        tokio::select! {
            () = controller => {}
            () = async { stop.cancelled().await; tokio::time::sleep(timeout).await } => {
                warn!(?timeout, "in-flight reconciles did not finish within the shutdown timeout; stopped them");
            }
        }
        self.leader.0.set(0);
        if let Some(lease) = lease
            && tokio::time::timeout(LEASE_RELEASE_TIMEOUT, lease.release())
                .await
                .is_err()
        {
            warn!("could not release the Lease in time; it expires on its own");
        }
        Ok(())
    }
}

/// A token cancelled on SIGTERM or Ctrl-C.
pub fn stop_on_signal() -> CancellationToken {
    let stop = CancellationToken::new();
    let cancel = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        cancel.cancel();
    });
    stop
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
    info!("shutdown requested");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leader_gauge_is_served_as_before() {
        let mut registry = Registry::with_prefix("vpc_lattice_operator");
        let gauge = LeaderGauge::default().register(&mut registry);
        gauge.0.set(1);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
        assert!(out.contains(
            "# HELP vpc_lattice_operator_leader 1 while this process reconciles: it holds the leader Lease, or runs without leader election.\n"
        ));
        assert!(out.contains("# TYPE vpc_lattice_operator_leader gauge\n"));
        assert!(out.contains("\nvpc_lattice_operator_leader 1\n"));
    }

    #[test]
    fn election_prefers_the_given_namespace_and_names_itself_after_the_pod() {
        let e = Election::from_env(Some("ops".into()), "l".into(), Some("op-7f9c".into()));
        assert_eq!((e.namespace.as_str(), e.identity.as_str()), ("ops", "op-7f9c"));
        let e = Election::from_env(Some("ops".into()), "l".into(), None);
        assert_eq!(e.identity, format!("vpc-lattice-operator-{}", std::process::id()));
    }
}
