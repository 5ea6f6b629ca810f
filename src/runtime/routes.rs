//! Wakes the objects that read their service's ARN from an HTTPRoute (`spec.serviceFrom`) when that
//! route changes, instead of polling it: a watch on HTTPRoutes (only their metadata is read) whose
//! events name the objects of the route's namespace that name it and have not pinned an ARN yet.
//! The Gateway API is optional: without its HTTPRoute the operator says so once and watches nothing
//! (such objects say what they wait for; the operator must be restarted once the Gateway API CRDs
//! are installed).

use futures::channel::mpsc::Sender;
use futures::{SinkExt, StreamExt};
use kube::api::{Api, DynamicObject, PartialObjectMeta};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher::{self, watcher};
use tracing::{info, warn};

use crate::api::Watched;
use crate::reconcile::routes::{SERVICE_ARN_ANNOTATION, http_route};

/// Whether the API server serves the Gateway API's HTTPRoute (`gateway.networking.k8s.io/v1`).
pub async fn served(client: &kube::Client) -> bool {
    match client.list_api_group_resources("gateway.networking.k8s.io/v1").await {
        Ok(list) => list.resources.iter().any(|r| r.name == "httproutes"),
        Err(_) => false,
    }
}

/// Runs until `wake` is closed (module doc). `namespace`: the one watched, or all.
pub async fn wake_on_routes(
    client: kube::Client,
    namespace: Option<String>,
    store: Store<Watched>,
    mut wake: Sender<ObjectRef<Watched>>,
) {
    if !served(&client).await {
        info!(
            "the Gateway API's HTTPRoute is not installed: objects with spec.serviceFrom.httpRouteRef wait \
             (DependencyNotFound) until it is, and the operator is restarted"
        );
        return;
    }
    let resource = http_route();
    let routes: Api<PartialObjectMeta<DynamicObject>> = match &namespace {
        Some(ns) => Api::namespaced_with(client, ns, &resource),
        None => Api::all_with(client, &resource),
    };
    let mut events = watcher(routes, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(event) = events.next().await {
        let route = match event {
            Ok(route) => route,
            Err(e) => {
                warn!(error = %e, "watching HTTPRoutes");
                continue;
            }
        };
        let annotated = route
            .metadata
            .annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(SERVICE_ARN_ANNOTATION));
        if !annotated {
            continue;
        }
        let (ns, name) = (route.metadata.namespace.as_deref(), route.metadata.name.as_deref());
        for obj in store.state() {
            let waiting = obj.metadata.namespace.as_deref() == ns
                && obj.spec.http_route().as_deref() == name
                && obj.status.as_ref().and_then(|s| s.resolved_service()).is_none();
            if waiting && wake.send(ObjectRef::from(obj.as_ref())).await.is_err() {
                return;
            }
        }
    }
}
