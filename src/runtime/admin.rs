//! The admin server: `/livez` (the process serves), `/readyz` (true only after the first watch
//! sync) and `/metrics` (Prometheus text format).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::metrics::Metrics;

#[derive(Clone)]
struct Admin {
    ready: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
}

/// The admin routes.
pub fn router(ready: Arc<AtomicBool>, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/livez", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(a): State<Admin>| async move {
                if a.ready.load(Ordering::SeqCst) {
                    (StatusCode::OK, "ok")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "waiting for the first watch sync")
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(a): State<Admin>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    a.metrics.encode(),
                )
                    .into_response()
            }),
        )
        .with_state(Admin { ready, metrics })
}

/// Serves the admin routes on `listener` (bound by the caller, so a taken port fails start-up
/// instead of silently leaving the operator without probes) until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ready: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    axum::serve(listener, router(ready, metrics)).await
}
