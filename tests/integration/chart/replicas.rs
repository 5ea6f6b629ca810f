//! Replicas, leader election and the PodDisruptionBudget.

use super::{NAMESPACE, RELEASE, render, template_in};

#[test]
fn chart_replicas_leader_election_and_disruption_budget() {
    let r = render(&["--set", "replicaCount=1"]);
    assert_eq!(r.deployment()["spec"]["replicas"], 1);
    assert!(r.all("PodDisruptionBudget").is_empty(), "no PDB for one replica");

    let r = render(&["--set", "replicaCount=3"]);
    assert_eq!(r.deployment()["spec"]["replicas"], 3);
    assert_eq!(r.one("PodDisruptionBudget")["spec"]["minAvailable"], 1);

    let r = render(&["--set", "podDisruptionBudget.maxUnavailable=1"]);
    let spec = &r.one("PodDisruptionBudget")["spec"];
    assert_eq!(spec["maxUnavailable"], 1);
    assert!(spec["minAvailable"].is_null(), "maxUnavailable replaces minAvailable");
    let r = render(&["--set-string", "podDisruptionBudget.minAvailable=50%"]);
    assert_eq!(r.one("PodDisruptionBudget")["spec"]["minAvailable"], "50%");
    let r = render(&["--set", "podDisruptionBudget.enabled=false"]);
    assert!(r.all("PodDisruptionBudget").is_empty());

    // Without leader election: no Lease, its Role or flag, and more than one replica is refused.
    let r = render(&["--set", "leaderElection.enabled=false", "--set", "replicaCount=1"]);
    let args = r.args();
    assert!(args.contains(&"--leader-elect=false".to_string()));
    assert!(
        !args
            .iter()
            .any(|a| a.starts_with("--lease-namespace") || a.starts_with("--leader-election-id"))
    );
    assert!(r.all("Role").is_empty() && r.all("RoleBinding").is_empty());
    let err = template_in(RELEASE, NAMESPACE, &["--set", "leaderElection.enabled=false"]).unwrap_err();
    assert!(err.contains("leaderElection.enabled"), "{err}");
}
