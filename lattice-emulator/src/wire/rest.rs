//! VPC Lattice's restJson1 routes: errors as an HTTP status, an `x-amzn-ErrorType` header and a JSON
//! body with `message` (plus `resourceId`/`resourceType`; on throttling `serviceCode`, `quotaCode`,
//! `retryAfterSeconds` and the `Retry-After` header the model binds it to).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use vpc_lattice_operator::lattice::names::Kind;
use vpc_lattice_operator::lattice::{
    Association, CreateAssociation, ErrorKind, LatticeApi, LatticeError, ListFilter, Tags,
};

use super::Shared;
use crate::fake::{FakeLattice, Target};

/// An error on the wire.
pub(super) struct WireError(LatticeError);

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

pub(super) type Reply = Result<Json<Value>, WireError>;

pub(super) fn association(a: &Association) -> Value {
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

pub(super) fn target(t: &Target) -> Value {
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
pub(super) struct CreateBody {
    client_token: Option<String>,
    service_identifier: String,
    service_network_identifier: String,
    #[serde(default)]
    tags: Tags,
}

pub(super) async fn create_association(State(f): State<Shared>, Json(b): Json<CreateBody>) -> Reply {
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

pub(super) async fn get_association(State(f): State<Shared>, Path(id): Path<String>) -> Reply {
    Ok(Json(association(&f.get_association(&id).await?)))
}

pub(super) async fn delete_association(State(f): State<Shared>, Path(id): Path<String>) -> Reply {
    let before = f.get_quietly(&id);
    let state = f.delete_association(&id).await?;
    Ok(Json(
        json!({ "id": id, "arn": before.map(|a| a.arn).unwrap_or_default(), "status": state.as_str() }),
    ))
}

pub(super) async fn list_associations(State(f): State<Shared>, RawQuery(raw): RawQuery) -> Reply {
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

pub(super) async fn list_tags(State(f): State<Shared>, Path(arn): Path<String>) -> Reply {
    Ok(Json(json!({ "tags": f.list_tags(&arn).await? })))
}

#[derive(Deserialize)]
pub(super) struct TagBody {
    tags: Tags,
}

pub(super) async fn tag_resource(State(f): State<Shared>, Path(arn): Path<String>, Json(b): Json<TagBody>) -> Reply {
    f.tag_resource(&arn, &b.tags).await?;
    Ok(Json(json!({})))
}

pub(super) async fn untag_resource(State(f): State<Shared>, Path(arn): Path<String>, RawQuery(raw): RawQuery) -> Reply {
    let keys = query(raw).remove("tagKeys").unwrap_or_default();
    f.untag_resource(&arn, &keys).await?;
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
pub(super) struct TargetBody {
    name: String,
    /// Admin only: create with this ID.
    id: Option<String>,
    #[serde(default)]
    tags: Tags,
}

pub(super) async fn create_service(State(f): State<Shared>, Json(b): Json<TargetBody>) -> Result<Response, WireError> {
    let t = f.create_service(&b.name, b.id.as_deref())?;
    tag_target(&f, &t, &b.tags);
    let mut v = target(&t);
    v["status"] = json!("ACTIVE");
    v["authType"] = json!("NONE");
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub(super) async fn create_service_network(
    State(f): State<Shared>,
    Json(b): Json<TargetBody>,
) -> Result<Response, WireError> {
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

pub(super) async fn get_service(State(f): State<Shared>, Path(id): Path<String>) -> Reply {
    let mut v = target(&f.target(&id, false)?);
    v["status"] = json!("ACTIVE");
    Ok(Json(v))
}

pub(super) async fn get_service_network(State(f): State<Shared>, Path(id): Path<String>) -> Reply {
    Ok(Json(target(&f.target(&id, true)?)))
}

/// ListServices (`kind` Service) or ListServiceNetworks: pages of up to 100, `nextToken`.
pub(super) async fn list_named(f: &FakeLattice, kind: Kind, raw: Option<String>) -> Reply {
    let page = f.list_named(kind, first(&query(raw), "nextToken")).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|n| json!({ "id": n.id, "arn": n.arn, "name": n.name }))
        .collect();
    let mut v = json!({ "items": items });
    if let Some(t) = page.next_token {
        v["nextToken"] = json!(t);
    }
    Ok(Json(v))
}
