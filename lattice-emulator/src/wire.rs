//! The fault-injecting VPC Lattice emulator: the [`FakeLattice`] state machine served over the AWS
//! REST/JSON wire protocol (restJson1) that aws-sdk-vpclattice speaks, so the real operator binary can
//! be pointed at it with `AWS_ENDPOINT_URL_VPC_LATTICE`. Routes, shapes and error names follow the
//! service model (`vpc-lattice` 2022-11-30): errors are an HTTP status, an `x-amzn-ErrorType` header
//! and a JSON body with `message` (plus `resourceId`/`resourceType`; on throttling `serviceCode`,
//! `quotaCode`, `retryAfterSeconds` and the `Retry-After` header the model binds it to).
//!
//! Each request's SigV4 access key ID stands for its account: the request quota (a token bucket per
//! account, [`Faults::request_rate`]) is kept per key. Fault knobs, the request log and seeding live
//! under `/_emulator/`, which is never throttled. Written by hand: no library emulates
//! VPC Lattice. Dev and test only: the operator's image never contains it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use vpc_lattice_operator::lattice::{
    Association, CreateAssociation, ErrorKind, LatticeApi, LatticeError, ListFilter, Tags,
};

use crate::fake::{Caller, FakeLattice, Faults, Target};

type Shared = Arc<FakeLattice>;

/// An error on the wire.
struct WireError(LatticeError);

impl From<LatticeError> for WireError {
    fn from(e: LatticeError) -> Self {
        Self(e)
    }
}

impl IntoResponse for WireError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = match e.kind {
            ErrorKind::Validation | ErrorKind::Other => StatusCode::BAD_REQUEST,
            ErrorKind::AccessDenied => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Throttled => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::QuotaExceeded => StatusCode::PAYMENT_REQUIRED,
            ErrorKind::Transient => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut body = json!({ "message": e.message });
        match e.kind {
            ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::QuotaExceeded => {
                body["resourceId"] = json!(e.resource_id.clone().unwrap_or_default());
                body["resourceType"] = json!(e.resource_type.clone().unwrap_or_default());
            }
            ErrorKind::Validation => body["reason"] = json!("fieldValidationFailed"),
            _ => {}
        }
        if matches!(e.kind, ErrorKind::QuotaExceeded | ErrorKind::Throttled) {
            body["serviceCode"] = json!("vpc-lattice");
            body["quotaCode"] = json!("L-0123ABCD");
        }
        if let Some(after) = e.retry_after.filter(|_| e.kind == ErrorKind::Throttled) {
            body["retryAfterSeconds"] = json!(after.as_secs());
        }
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&e.code) {
            headers.insert("x-amzn-ErrorType", v);
        }
        if let Some(after) = e.retry_after {
            headers.insert("Retry-After", HeaderValue::from(after.as_secs()));
        }
        (status, headers, Json(body)).into_response()
    }
}

type Reply = Result<Json<Value>, WireError>;

fn association(a: &Association) -> Value {
    let mut v = json!({
        "id": a.id,
        "arn": a.arn,
        "status": a.status.as_str(),
    });
    for (k, value) in a.optional_fields() {
        if let Some(value) = value {
            v[k] = json!(value);
        }
    }
    if let Some(d) = &a.dns_entry {
        v["dnsEntry"] = json!({ "domainName": d.domain_name, "hostedZoneId": d.hosted_zone_id });
    }
    v
}

fn target(t: &Target) -> Value {
    json!({ "id": t.id, "arn": t.arn, "name": t.name })
}

/// Query parameters, with repeated keys kept (`tagKeys=a&tagKeys=b`).
fn query(raw: Option<String>) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        out.entry(k.into_owned()).or_default().push(v.into_owned());
    }
    out
}

fn first(q: &HashMap<String, Vec<String>>, k: &str) -> Option<String> {
    q.get(k).and_then(|v| v.first().cloned())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    client_token: Option<String>,
    service_identifier: String,
    service_network_identifier: String,
    #[serde(default)]
    tags: Tags,
}

async fn create_association(State(f): State<Shared>, Json(b): Json<CreateBody>) -> Reply {
    let req = CreateAssociation {
        client_token: b
            .client_token
            .unwrap_or_else(|| format!("auto-{}", rand::random::<u64>())),
        service_identifier: b.service_identifier,
        service_network_identifier: b.service_network_identifier,
        tags: b.tags,
    };
    let a = f.create_association(&req).await?;
    let mut v = association(&a);
    // Create reports only these fields.
    v.as_object_mut().expect("object").retain(|k, _| {
        matches!(
            k.as_str(),
            "id" | "arn" | "status" | "createdBy" | "customDomainName" | "dnsEntry"
        )
    });
    Ok(Json(v))
}

async fn get_association(State(f): State<Shared>, Path(id): Path<String>) -> Reply {
    Ok(Json(association(&f.get_association(&id).await?)))
}

async fn delete_association(State(f): State<Shared>, Path(id): Path<String>) -> Reply {
    let before = f.get_quietly(&id);
    let state = f.delete_association(&id).await?;
    Ok(Json(
        json!({ "id": id, "arn": before.map(|a| a.arn).unwrap_or_default(), "status": state.as_str() }),
    ))
}

async fn list_associations(State(f): State<Shared>, RawQuery(raw): RawQuery) -> Reply {
    let q = query(raw);
    // The fake checks the range (1-100) and the nextToken; only a non-number is refused here.
    let filter = ListFilter {
        service_network_identifier: first(&q, "serviceNetworkIdentifier"),
        service_identifier: first(&q, "serviceIdentifier"),
        max_results: match first(&q, "maxResults").map(|m| m.parse::<i32>()) {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(_)) => {
                let e = LatticeError::new(
                    ErrorKind::Validation,
                    "ValidationException",
                    "maxResults must be an integer from 1 to 100",
                );
                return Err(e.into());
            }
        },
    };
    let page = f.list_associations(&filter, first(&q, "nextToken")).await?;
    let mut v = json!({ "items": page.items.iter().map(|a| {
        let mut s = association(a);
        let o = s.as_object_mut().expect("object");
        o.remove("failureCode");
        o.remove("failureMessage");
        s
    }).collect::<Vec<_>>() });
    if let Some(t) = page.next_token {
        v["nextToken"] = json!(t);
    }
    Ok(Json(v))
}

async fn list_tags(State(f): State<Shared>, Path(arn): Path<String>) -> Reply {
    Ok(Json(json!({ "tags": f.list_tags(&arn).await? })))
}

#[derive(Deserialize)]
struct TagBody {
    tags: Tags,
}

async fn tag_resource(State(f): State<Shared>, Path(arn): Path<String>, Json(b): Json<TagBody>) -> Reply {
    f.tag_resource(&arn, &b.tags).await?;
    Ok(Json(json!({})))
}

async fn untag_resource(State(f): State<Shared>, Path(arn): Path<String>, RawQuery(raw): RawQuery) -> Reply {
    let keys = query(raw).remove("tagKeys").unwrap_or_default();
    f.untag_resource(&arn, &keys).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
struct TargetBody {
    name: String,
    /// Admin only: create with this ID.
    id: Option<String>,
    #[serde(default)]
    tags: Tags,
}

async fn create_service(State(f): State<Shared>, Json(b): Json<TargetBody>) -> Result<Response, WireError> {
    let t = f.create_service(&b.name, b.id.as_deref())?;
    tag_target(&f, &t, &b.tags);
    let mut v = target(&t);
    v["status"] = json!("ACTIVE");
    v["authType"] = json!("NONE");
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn create_service_network(State(f): State<Shared>, Json(b): Json<TargetBody>) -> Result<Response, WireError> {
    let t = f.create_service_network(&b.name, b.id.as_deref())?;
    tag_target(&f, &t, &b.tags);
    let mut v = target(&t);
    v["authType"] = json!("NONE");
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

fn tag_target(f: &FakeLattice, t: &Target, tags: &Tags) {
    if !tags.is_empty() {
        f.set_tags(&t.arn, tags.clone());
    }
}

async fn get_service(State(f): State<Shared>, Path(id): Path<String>) -> Reply {
    let mut v = target(&f.target(&id, false)?);
    v["status"] = json!("ACTIVE");
    Ok(Json(v))
}

async fn get_service_network(State(f): State<Shared>, Path(id): Path<String>) -> Reply {
    Ok(Json(target(&f.target(&id, true)?)))
}

async fn list_targets(f: &FakeLattice, networks: bool) -> Reply {
    Ok(Json(
        json!({ "items": f.targets(networks).iter().map(target).collect::<Vec<_>>() }),
    ))
}

async fn faults(State(f): State<Shared>) -> Json<Faults> {
    Json(f.faults())
}

async fn set_faults(State(f): State<Shared>, Json(faults): Json<Faults>) -> Response {
    if let Some(why) = faults.invalid() {
        return (StatusCode::BAD_REQUEST, Json(json!({ "message": why }))).into_response();
    }
    f.set_faults(faults);
    Json(f.faults()).into_response()
}

async fn calls(State(f): State<Shared>) -> Json<Value> {
    Json(json!({ "calls": f.calls() }))
}

async fn clear_calls(State(f): State<Shared>) -> StatusCode {
    f.clear_calls();
    StatusCode::NO_CONTENT
}

async fn callers(State(f): State<Shared>) -> Json<Value> {
    Json(json!({ "callers": f.callers() }))
}

/// Logs the access key ID each API request was signed with (`Credential=<key>/…` in SigV4) and
/// serves the request as that account (its request quota, its calls' `accessKeyId`).
async fn record_caller(State(f): State<Shared>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_emulator/") {
        return next.run(req).await;
    }
    let key = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').next())
        .unwrap_or_default()
        .to_string();
    f.record_caller(Caller {
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        access_key_id: key.clone(),
    });
    crate::fake::as_caller(key, next.run(req)).await
}

async fn all_associations(State(f): State<Shared>) -> Json<Value> {
    let items: Vec<Value> = f
        .associations()
        .iter()
        .map(|a| {
            let mut v = association(a);
            v["tags"] = json!(f.tags_of(&a.arn));
            v
        })
        .collect();
    Json(json!({ "items": items }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedBody {
    service_network_identifier: String,
    service_identifier: String,
    #[serde(default)]
    tags: Tags,
}

/// Seeds ACTIVE associations (one object or an array of them), as someone outside the operator
/// would have made them: no call logged, no quota or fault applied. All or nothing per item: the
/// first one that fails ends the request with its error, those before it stay.
async fn seed_associations(State(f): State<Shared>, Json(body): Json<Value>) -> Result<Response, WireError> {
    let many = body.is_array();
    let items: Vec<SeedBody> = if many {
        serde_json::from_value(body)
    } else {
        serde_json::from_value(body).map(|one| vec![one])
    }
    .map_err(|e| LatticeError::new(ErrorKind::Validation, "ValidationException", e.to_string()))?;
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        let a = f.try_seed_association(&i.service_network_identifier, &i.service_identifier, i.tags)?;
        out.push(association(&a));
    }
    let reply = if many { json!({ "items": out }) } else { out.remove(0) };
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

async fn delete_out_of_band(State(f): State<Shared>, Path(id): Path<String>) -> StatusCode {
    if f.delete_out_of_band(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// The wire API and the `/_emulator/` admin routes over one fake.
pub fn router(fake: Shared) -> Router {
    Router::new()
        .route(
            "/servicenetworkserviceassociations",
            post(create_association).get(list_associations),
        )
        .route(
            "/servicenetworkserviceassociations/{id}",
            get(get_association).delete(delete_association),
        )
        .route("/tags/{arn}", get(list_tags).post(tag_resource).delete(untag_resource))
        .route(
            "/services",
            post(create_service).get(|State(f): State<Shared>| async move { list_targets(&f, false).await }),
        )
        .route("/services/{id}", get(get_service))
        .route(
            "/servicenetworks",
            post(create_service_network).get(|State(f): State<Shared>| async move { list_targets(&f, true).await }),
        )
        .route("/servicenetworks/{id}", get(get_service_network))
        .route("/_emulator/faults", get(faults).put(set_faults))
        .route("/_emulator/calls", get(calls).delete(clear_calls))
        .route("/_emulator/callers", get(callers))
        .route("/_emulator/associations", get(all_associations).post(seed_associations))
        .route("/_emulator/associations/{id}", delete(delete_out_of_band))
        .layer(middleware::from_fn_with_state(fake.clone(), record_caller))
        .with_state(fake)
}

/// Serves the emulator on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, fake: Shared) -> std::io::Result<()> {
    axum::serve(listener, router(fake)).await
}
