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
//! Each request's SigV4 access key ID stands for its account: the request quota (a token bucket per
//! account, [`Faults::request_rate`]) is kept per key. Fault knobs, the request log and seeding live
//! under `/_emulator/`, which is never throttled. Written by hand: no library emulates
//! VPC Lattice. Dev and test only: the operator's image never contains it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use vpc_lattice_operator::lattice::{
    Association, CreateAssociation, ErrorKind, LatticeApi, LatticeError, ListFilter, Tags,
};

use crate::fake::{Caller, FakeLattice, Faults, ResourceQuery, Target};

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
            // NoRole, RoleNotAllowed and the credentials kinds are the operator's own and never
            // come from VPC Lattice.
            ErrorKind::Validation
            | ErrorKind::Other
            | ErrorKind::NoRole
            | ErrorKind::RoleNotAllowed
            | ErrorKind::Credentials
            | ErrorKind::CredentialsTransient => StatusCode::BAD_REQUEST,
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

// --- The Resource Groups Tagging API (awsJson1_1) ---

/// The content type of awsJson1_1 requests and replies.
const AWS_JSON_1_1: &str = "application/x-amz-json-1.1";

/// The `X-Amz-Target` of `GetResources`.
const GET_RESOURCES: &str = "ResourceGroupsTaggingAPI_20170126.GetResources";

/// An awsJson1_1 reply.
fn aws_json(status: StatusCode, mut headers: HeaderMap, body: &Value) -> Response {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(AWS_JSON_1_1));
    (status, headers, body.to_string()).into_response()
}

/// An awsJson1_1 error: the status, `x-amzn-ErrorType: <code>` and `{"__type", "Message"}`.
fn aws_json_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-ErrorType", v);
    }
    aws_json(status, headers, &json!({ "__type": code, "Message": message }))
}

/// An error of the fake, already named as the Tagging API names it: server errors are 500, every
/// other error (throttling included, as awsJson1_1 services send `ThrottledException`) is 400.
fn tagging_error(e: &LatticeError) -> Response {
    let status = match e.kind {
        ErrorKind::Transient => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    aws_json_error(status, &e.code, &e.message)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagFilterBody {
    key: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

/// A `GetResources` request; the fields the emulator does not serve (`TagsPerPage`, compliance
/// details) are accepted and ignored.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetResourcesBody {
    pagination_token: Option<String>,
    #[serde(default)]
    tag_filters: Vec<TagFilterBody>,
    resources_per_page: Option<i32>,
    #[serde(default)]
    resource_type_filters: Vec<String>,
    #[serde(rename = "ResourceARNList", default)]
    resource_arn_list: Vec<String>,
}

async fn get_resources(f: &FakeLattice, body: &[u8]) -> Response {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    let b: GetResourcesBody = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => return aws_json_error(StatusCode::BAD_REQUEST, "SerializationException", &e.to_string()),
    };
    if !b.resource_arn_list.is_empty() {
        return aws_json_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterException",
            "ResourceARNList is not supported by the emulator",
        );
    }
    // The fake checks the filters, the page size and the token (a missing key is an empty one, which
    // it refuses), so every such refusal is a logged call.
    let q = ResourceQuery {
        resource_types: b.resource_type_filters,
        tag_filters: b
            .tag_filters
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.values))
            .collect(),
        per_page: b.resources_per_page,
    };
    match f.get_resources(&q, b.pagination_token).await {
        Ok(page) => {
            let list: Vec<Value> = page
                .items
                .iter()
                .map(|t| {
                    let tags: Vec<Value> = t.tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect();
                    json!({ "ResourceARN": t.arn, "Tags": tags })
                })
                .collect();
            let reply = json!({
                // The last page says so with an empty token, as AWS does.
                "PaginationToken": page.next_token.unwrap_or_default(),
                "ResourceTagMappingList": list,
            });
            aws_json(StatusCode::OK, HeaderMap::new(), &reply)
        }
        Err(e) => tagging_error(&e),
    }
}

/// The awsJson1_1 operations, by their `X-Amz-Target`.
async fn aws_json_operation(State(f): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match target {
        GET_RESOURCES => get_resources(&f, &body).await,
        _ => aws_json_error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!("Unknown operation '{target}'"),
        ),
    }
}

/// `POST /`: STS (awsQuery, a form-encoded body) or an awsJson1_1 operation (`X-Amz-Target`).
async fn post_root(State(f): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if crate::sts::is_query(&headers) {
        return crate::sts::serve(&f, &headers, &body);
    }
    aws_json_operation(State(f), headers, body).await
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

/// The wire APIs (VPC Lattice's restJson1 routes; on `POST /`, the Tagging API's awsJson1_1 and STS's
/// awsQuery) and the `/_emulator/` admin routes over one fake.
pub fn router(fake: Shared) -> Router {
    Router::new()
        .route("/", post(post_root))
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
        .merge(crate::sts::admin_routes())
        .layer(middleware::from_fn_with_state(fake.clone(), record_caller))
        .with_state(fake)
}

/// Serves the emulator on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, fake: Shared) -> std::io::Result<()> {
    axum::serve(listener, router(fake)).await
}
