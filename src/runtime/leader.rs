//! Leader election over a Kubernetes Lease (kube-lease-manager): only the holder reconciles; losing
//! the lease stops the controller so another replica can take over.

use std::sync::Arc;

use kube::Client;
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder, LeaseManagerError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Default name of the Lease object (`--leader-election-id`).
pub const LEASE_NAME: &str = "vpc-lattice-operator-leader";

/// A held lease, renewed in the background.
pub struct Leader {
    manager: Arc<LeaseManager>,
    renew: JoinHandle<()>,
}

/// Waits until this process holds the lease `lease` in `namespace`, then renews it in the background
/// and cancels `lost` when it is lost or can no longer be renewed.
pub async fn acquire(
    client: Client,
    namespace: &str,
    lease: &str,
    identity: &str,
    lost: CancellationToken,
) -> Result<Leader, LeaseManagerError> {
    let manager = LeaseManagerBuilder::new(client, lease)
        .with_namespace(namespace)
        .with_identity(identity)
        .build()
        .await?;
    info!(lease, namespace, identity, "waiting for the leader lease");
    while !manager.changed().await? {}
    info!("leader lease acquired");
    let manager = Arc::new(manager);
    let renewing = manager.clone();
    let renew = tokio::spawn(async move {
        loop {
            match renewing.changed().await {
                Ok(true) => continue,
                Ok(false) => warn!("leader lease lost"),
                Err(e) => warn!(error = %e, "leader lease could not be renewed"),
            }
            lost.cancel();
            return;
        }
    });
    Ok(Leader { manager, renew })
}

impl Leader {
    /// Stops renewing and frees the lease for the next replica.
    pub async fn release(self) {
        self.renew.abort();
        if let Err(e) = self.manager.release().await {
            warn!(error = %e, "failed to release the leader lease");
        }
    }
}
