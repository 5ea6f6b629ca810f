//! Prometheus metrics (prometheus-client): the process's registry, served on the admin port, and the
//! reconciler's own families. Every other component owns the families it records and registers them
//! into [`Metrics::registry`] at start-up (the AWS calls in `lattice::guard`, the leader gauge in
//! `runtime::run`), so this module depends on none of them.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ServedLabels {
    pub served: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReadyLabels {
    /// The Ready condition's reason.
    pub reason: String,
    /// `true` when the object is Stalled.
    pub stalled: String,
}

/// One object waiting for a human (Stalled) or for a dependency that does not exist.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WaitingLabels {
    pub object_namespace: String,
    pub object_name: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub association_status: String,
}

/// The registry of the process and the reconciler's metrics.
pub struct Metrics {
    /// Every family the process serves. Other components register theirs here before the metrics are
    /// shared.
    pub registry: Registry,
    pub reconciles: Family<ResultLabels, Counter>,
    pub reconcile_duration: Histogram,
    pub objects: Family<StatusLabels, Gauge>,
    pub recreate_attempts: Counter,
    pub status_patches: Family<ResultLabels, Counter>,
    pub events: Family<ReasonLabels, Counter>,
    /// Reads of the shared observation by how they were served: `kept` (the listing kept for the
    /// network), `joined` (a List another reconcile had started), `listed` (a new List).
    pub observations: Family<ServedLabels, Counter>,
    /// Reconciles that gave their worker back because their namespace's calls queued long for the
    /// rate limiter (retries of failing objects sooner).
    pub deferred: Counter,
    /// Objects by their Ready reason and whether they are Stalled, as of their last step.
    pub ready: Family<ReadyLabels, Gauge>,
    /// 1 for each object that is Stalled or waits for a missing dependency (`DependencyNotFound`),
    /// as of its last step; absent for every other object (so the series are as few as such objects).
    pub waiting: Family<WaitingLabels, Gauge>,
    /// What each object (by `<namespace>/<name>`) counts as in `ready` and `waiting` now: its
    /// reason and whether it is stalled (a reason is one of a fixed set: no string per object).
    counted: std::sync::Mutex<std::collections::HashMap<String, (&'static str, bool)>>,
    /// Tag rounds of the drift scan per AWS identity, by result (`ok`, `error`).
    pub tag_rounds: Family<ResultLabels, Counter>,
}

/// A duration histogram with buckets from 5 ms to about 41 s (the AWS-call histogram uses the same).
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vpc_lattice_operator");
        let reconciles = Family::<ResultLabels, Counter>::default();
        let reconcile_duration = duration_histogram();
        let objects = Family::<StatusLabels, Gauge>::default();
        let recreate_attempts = Counter::default();
        let status_patches = Family::<ResultLabels, Counter>::default();
        let events = Family::<ReasonLabels, Counter>::default();
        let observations = Family::<ServedLabels, Counter>::default();
        let deferred = Counter::default();
        let ready = Family::<ReadyLabels, Gauge>::default();
        let waiting = Family::<WaitingLabels, Gauge>::default();
        let tag_rounds = Family::<ResultLabels, Counter>::default();
        registry.register(
            "objects_ready",
            "Objects by their Ready condition's reason and whether they are Stalled, updated on every step",
            ready.clone(),
        );
        registry.register(
            "object_waiting",
            "1 per object that is Stalled or waits for a missing dependency (DependencyNotFound), by reason",
            waiting.clone(),
        );
        registry.register(
            "tag_rounds",
            "Batched tag reads of the drift scan (tag:GetResources), per AWS identity, by result",
            tag_rounds.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
            })
            .set(1);
        registry.register("build_info", "1, labelled with the operator's version", build_info);
        registry.register("reconciles", "Reconciles by result", reconciles.clone());
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            reconcile_duration.clone(),
        );
        registry.register(
            "objects",
            "Objects by association status (from the drift scan)",
            objects.clone(),
        );
        registry.register(
            "recreate_attempts",
            "Associations recreated after failure or loss",
            recreate_attempts.clone(),
        );
        registry.register("status_patches", "Status writes by result", status_patches.clone());
        registry.register("events", "Kubernetes Events published, by reason", events.clone());
        registry.register(
            "observations",
            "Reads of the shared per-network observation, by how they were served (kept, joined, listed)",
            observations.clone(),
        );
        registry.register(
            "reconciles_deferred",
            "Reconciles put off without an AWS call while their namespace's calls queued long for the rate limiter",
            deferred.clone(),
        );
        Self {
            registry,
            deferred,
            ready,
            waiting,
            counted: std::sync::Mutex::default(),
            tag_rounds,
            reconciles,
            reconcile_duration,
            objects,
            recreate_attempts,
            status_patches,
            events,
            observations,
        }
    }
}

impl Metrics {
    /// Counts one labelled outcome in a `result`-labelled family.
    pub fn count(family: &Family<ResultLabels, Counter>, result: &str) {
        family.get_or_create(&ResultLabels { result: result.into() }).inc();
    }

    /// Counts one published Event.
    pub fn event(&self, reason: &str) {
        self.events.get_or_create(&ReasonLabels { reason: reason.into() }).inc();
    }

    /// Counts one read of the shared observation, by how it was served.
    pub fn observed(&self, served: &str) {
        self.observations
            .get_or_create(&ServedLabels { served: served.into() })
            .inc();
    }

    /// Counts the object `namespace/name` under its Ready `reason` (and in `waiting` when it is
    /// Stalled or waits for a missing dependency), instead of what it counted as before.
    pub fn condition(&self, namespace: &str, name: &str, reason: &'static str, stalled: bool) {
        let key = format!("{namespace}/{name}");
        let mut counted = crate::lock(&self.counted);
        if counted.get(&key) == Some(&(reason, stalled)) {
            return;
        }
        let before = counted.insert(key, (reason, stalled));
        self.uncount(namespace, name, before);
        self.ready.get_or_create(&ready(reason, stalled)).inc();
        if stalled || reason == "DependencyNotFound" {
            self.waiting.get_or_create(&waiting(namespace, name, reason)).set(1);
        }
    }

    /// Counts the object no more (it is gone).
    pub fn forget_object(&self, namespace: &str, name: &str) {
        let before = crate::lock(&self.counted).remove(&format!("{namespace}/{name}"));
        self.uncount(namespace, name, before);
    }

    fn uncount(&self, namespace: &str, name: &str, before: Option<(&'static str, bool)>) {
        if let Some((reason, stalled)) = before {
            self.ready.get_or_create(&ready(reason, stalled)).dec();
            self.waiting.remove(&waiting(namespace, name, reason));
        }
    }

    /// The registry in the Prometheus text format (`build_info` among it).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

fn ready(reason: &str, stalled: bool) -> ReadyLabels {
    ReadyLabels {
        reason: reason.into(),
        stalled: stalled.to_string(),
    }
}

fn waiting(namespace: &str, name: &str, reason: &str) -> WaitingLabels {
    WaitingLabels {
        object_namespace: namespace.into(),
        object_name: name.into(),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    #[test]
    fn objects_are_counted_once_under_their_latest_reason_and_waiting_ones_named() {
        let m = Metrics::default();
        m.condition("team-a", "app", "Creating", false);
        m.condition("team-a", "app", "AccessDenied", true);
        m.condition("team-a", "app", "AccessDenied", true);
        m.condition("team-a", "db", "DependencyNotFound", false);
        let text = m.encode();
        for line in [
            r#"vpc_lattice_operator_objects_ready{reason="Creating",stalled="false"} 0"#,
            r#"vpc_lattice_operator_objects_ready{reason="AccessDenied",stalled="true"} 1"#,
            r#"vpc_lattice_operator_object_waiting{object_namespace="team-a",object_name="app",reason="AccessDenied"} 1"#,
            r#"vpc_lattice_operator_object_waiting{object_namespace="team-a",object_name="db",reason="DependencyNotFound"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in {text}");
        }
        m.condition("team-a", "app", "Active", false);
        m.forget_object("team-a", "db");
        let text = m.encode();
        assert!(!text.contains("object_waiting{"), "no object waits any more: {text}");
        assert!(text.contains(r#"vpc_lattice_operator_objects_ready{reason="Active",stalled="false"} 1"#));
        assert!(text.contains(r#"vpc_lattice_operator_objects_ready{reason="DependencyNotFound",stalled="false"} 0"#));
    }

    #[test]
    fn build_info_names_the_version() {
        let text = Metrics::default().encode();
        let line = format!(
            "vpc_lattice_operator_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.lines().any(|l| l == line), "{text}");
    }
}
