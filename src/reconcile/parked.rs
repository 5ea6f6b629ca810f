//! Objects that gave their worker back while a List of their network runs, and their wake-up.
//!
//! A reconcile of a settled object (ACTIVE, no work of its own under way) whose look at AWS would
//! only wait for a List that another reconcile began
//! ([`crate::lattice::observation::Observations::under_way`]) parks its object here and returns: the
//! worker goes to other objects (those of networks listed already, or a network no one lists yet).
//! When the List ends, every object parked for it is sent to the controller's `reconcile_on`
//! stream and is reconciled again with the listing kept. Without this, at a restart over 10,000
//! objects of 20 networks, the eight workers all waited for Lists while the objects of networks
//! listed already queued behind them: 122 were done when the last List page arrived, the other
//! 9,878 after it.
//!
//! An object is parked as the `Arc` the store shares (8 bytes), and one task per List waits for its
//! end, not one per object.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::SinkExt;
use futures::channel::mpsc::Sender;
use futures::future::BoxFuture;
use kube::runtime::reflector::ObjectRef;

use crate::api::Watched;
use crate::lattice::observation::Scope;
use crate::lock;

/// The parked objects of each (identity, service network), and where they are woken.
#[derive(Default)]
pub struct Parked {
    /// The controller's wake-ups; until it is set (reconciles run by hand, in tests), nothing parks.
    wake: Mutex<Option<Sender<ObjectRef<Watched>>>>,
    waiting: Mutex<HashMap<Scope, Vec<Arc<Watched>>>>,
}

impl Parked {
    /// Objects parked from now on are reconciled again through `wake`.
    pub fn wake_through(&self, wake: Sender<ObjectRef<Watched>>) {
        *lock(&self.wake) = Some(wake);
    }

    /// Whether objects can park (the controller's wake-ups are set).
    pub fn enabled(&self) -> bool {
        lock(&self.wake).is_some()
    }

    /// Parks `object` until the List of `scope` under way has `ended`; returns whether it did. The
    /// first object parked for the network starts the task that wakes them all.
    pub fn park(self: &Arc<Self>, scope: Scope, object: &Arc<Watched>, ended: BoxFuture<'static, ()>) -> bool {
        let Some(mut wake) = lock(&self.wake).clone() else {
            return false;
        };
        let first = {
            let mut waiting = lock(&self.waiting);
            let parked = waiting.entry(scope.clone()).or_default();
            parked.push(object.clone());
            parked.len() == 1
        };
        if first {
            let this = self.clone();
            tokio::spawn(async move {
                ended.await;
                let objects = lock(&this.waiting).remove(&scope).unwrap_or_default();
                for object in objects {
                    // Fails only once the controller has stopped: then nothing is reconciled any more.
                    if wake.send(ObjectRef::from(object.as_ref())).await.is_err() {
                        return;
                    }
                }
            });
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;
    use futures::channel::oneshot;

    use super::*;
    use crate::api::ServiceNetworkServiceAssociation as Snsa;

    fn object(name: &str) -> Arc<Watched> {
        let spec = serde_json::from_value(serde_json::json!({
            "serviceIdentifier": "svc-00000000000000000",
            "serviceNetworkIdentifier": "sn-00000000000000000",
        }))
        .expect("a spec");
        let mut obj = Snsa::new(name, spec);
        obj.metadata.namespace = Some("team-a".into());
        Arc::new(Watched::from(obj))
    }

    fn scope(network: &str) -> Scope {
        ("identity".to_string(), network.to_string())
    }

    #[tokio::test]
    async fn parked_objects_are_woken_when_their_list_ends_and_not_before() {
        let parked = Arc::new(Parked::default());
        let (a, b) = (object("a"), object("b"));
        assert!(
            !parked.park(scope("sn-1"), &a, Box::pin(async {})),
            "without the controller's wake-ups nothing parks"
        );
        let (tx, mut rx) = futures::channel::mpsc::channel(8);
        parked.wake_through(tx);
        let (end, ended) = oneshot::channel::<()>();
        let ended = futures::FutureExt::shared(ended);
        let wait = |e: futures::future::Shared<oneshot::Receiver<()>>| -> BoxFuture<'static, ()> {
            Box::pin(async move {
                let _ = e.await;
            })
        };
        assert!(parked.park(scope("sn-1"), &a, wait(ended.clone())));
        assert!(parked.park(scope("sn-1"), &b, wait(ended.clone())));
        tokio::task::yield_now().await;
        assert!(rx.try_recv().is_err(), "nothing is woken while the List runs");
        end.send(()).expect("the waker waits");
        let woken: Vec<String> = rx.by_ref().take(2).map(|r| r.name).collect().await;
        assert_eq!(woken, ["a", "b"], "every object parked for the List, once");
        assert!(lock(&parked.waiting).is_empty(), "nothing stays parked");
    }
}
