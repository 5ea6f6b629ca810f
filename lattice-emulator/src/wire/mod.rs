//! The fault-injecting VPC Lattice emulator: the [`FakeLattice`] state machine served over the AWS
//! REST/JSON wire protocol (restJson1) that aws-sdk-vpclattice speaks, so the real operator binary can
//! be pointed at it with `AWS_ENDPOINT_URL_VPC_LATTICE`. Routes, shapes and error names follow the
//! service model (`vpc-lattice` 2022-11-30): errors are an HTTP status, an `x-amzn-ErrorType` header
//! and a JSON body with `message` (plus `resourceId`/`resourceType`; on throttling `serviceCode`,
//! `quotaCode`, `retryAfterSeconds` and the `Retry-After` header the model binds it to).
//!
//! The Resource Groups Tagging API's `GetResources` is served on the same port, in its own protocol
//! (awsJson1_1, as aws-sdk-resourcegroupstagging sends it): `POST /` with
//! `X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources`, errors as an HTTP status, the
//! `x-amzn-ErrorType` header and a `{"__type", "Message"}` body, so the operator's tagging client can
//! be pointed here with `AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API`.
//!
//! AWS STS (`AssumeRole`, `AssumeRoleWithWebIdentity`, `GetCallerIdentity`) is served on the same
//! port too, in awsQuery: `POST /` with a form-encoded body and no `X-Amz-Target` (see [`crate::sts`]),
//! for `AWS_ENDPOINT_URL_STS`.
//!
//! Several regions can share one endpoint ([`regional_router`]): a request goes to the fake of the
//! region its SigV4 credential scope names, as AWS's regional endpoints would.
//!
//! Each request's SigV4 access key ID stands for its account: the request quota (a token bucket per
//! account, [`Faults::request_rate`]) is kept per key. Fault knobs, the request log and seeding live
//! under `/_emulator/`, which is never throttled. Written by hand: no library emulates
//! VPC Lattice. Dev and test only: the operator's image never contains it.

mod admin;
mod rest;
mod tagging;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};

use crate::fake::{Caller, FakeLattice};
use vpc_lattice_operator::lattice::names::Kind;

type Shared = Arc<FakeLattice>;

/// `POST /`: STS (awsQuery, a form-encoded body) or an awsJson1_1 operation (`X-Amz-Target`).
async fn post_root(State(f): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if crate::sts::is_query(&headers) {
        return crate::sts::serve(&f, &headers, &body);
    }
    tagging::aws_json_operation(State(f), headers, body).await
}

/// The region a request was signed for (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
fn signing_region(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .map(str::to_string)
}

/// The access key ID a request was signed with (`Credential=<key>/…` in SigV4's `Authorization`).
pub(crate) fn signing_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
        .map(str::to_string)
}

/// Logs the access key ID each API request was signed with and serves the request as that account
/// (its request quota, its calls' `accessKeyId`). STS requests are not Lattice calls: they keep
/// their own log ([`FakeLattice::sts_calls`]).
async fn record_caller(State(f): State<Shared>, req: Request, next: Next) -> Response {
    let sts =
        req.method() == axum::http::Method::POST && req.uri().path() == "/" && crate::sts::is_query(req.headers());
    if sts || req.uri().path().starts_with("/_emulator/") {
        return next.run(req).await;
    }
    let key = signing_key(req.headers()).unwrap_or_default();
    f.record_caller(Caller {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        access_key_id: key.clone(),
    });
    crate::fake::as_caller(key, next.run(req)).await
}

/// The wire APIs (VPC Lattice's restJson1 routes; on `POST /`, the Tagging API's awsJson1_1 and STS's
/// awsQuery) and the `/_emulator/` admin routes over one fake.
pub fn router(fake: Shared) -> Router {
    Router::new()
        .route("/", post(post_root))
        .route(
            "/servicenetworkserviceassociations",
            post(rest::create_association).get(rest::list_associations),
        )
        .route(
            "/servicenetworkserviceassociations/{id}",
            get(rest::get_association).delete(rest::delete_association),
        )
        .route(
            "/tags/{arn}",
            get(rest::list_tags)
                .post(rest::tag_resource)
                .delete(rest::untag_resource),
        )
        .route(
            "/services",
            post(rest::create_service).get(|State(f): State<Shared>, RawQuery(q): RawQuery| async move {
                rest::list_named(&f, Kind::Service, q).await
            }),
        )
        .route("/services/{id}", get(rest::get_service))
        .route(
            "/servicenetworks",
            post(rest::create_service_network).get(|State(f): State<Shared>, RawQuery(q): RawQuery| async move {
                rest::list_named(&f, Kind::ServiceNetwork, q).await
            }),
        )
        .route("/servicenetworks/{id}", get(rest::get_service_network))
        .route("/_emulator/faults", get(admin::faults).put(admin::set_faults))
        .route("/_emulator/calls", get(admin::calls).delete(admin::clear_calls))
        .route("/_emulator/callers", get(admin::callers))
        .route(
            "/_emulator/associations",
            get(admin::all_associations).post(admin::seed_associations),
        )
        .route("/_emulator/associations/{id}", delete(admin::delete_out_of_band))
        .merge(crate::sts::admin_routes())
        .layer(middleware::from_fn_with_state(fake.clone(), record_caller))
        .with_state(fake)
}

/// Several regions behind one endpoint, as one account sees them: each request goes to the fake of
/// the region its SigV4 credential scope names (each fake's own state, quota, faults and call log);
/// a request without a signature, or signed for a region not served, to the first fake.
pub fn regional_router(fakes: Vec<Shared>) -> Router {
    assert!(!fakes.is_empty(), "at least one region");
    let routers: Arc<Vec<(String, Router)>> =
        Arc::new(fakes.into_iter().map(|f| (f.region().to_string(), router(f))).collect());
    Router::new().fallback(move |req: Request| {
        let region = signing_region(req.headers());
        let (_, to) = routers
            .iter()
            .find(|(served, _)| region.as_deref() == Some(served.as_str()))
            .unwrap_or(&routers[0]);
        tower::ServiceExt::oneshot(to.clone(), req)
    })
}

/// Serves the emulator on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, fake: Shared) -> std::io::Result<()> {
    axum::serve(listener, router(fake)).await
}
