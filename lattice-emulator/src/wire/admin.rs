//! The `/_emulator/` admin routes: the fault script, the call and caller logs, and associations
//! seeded or deleted as someone outside the operator would (no call logged, no quota or fault).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;
use super::rest::{WireError, association};
use vpc_lattice_operator::lattice::{ErrorKind, LatticeError, Tags};

use crate::fake::Faults;

pub(super) async fn faults(State(f): State<Shared>) -> Json<Faults> {
    Json(f.faults())
}

pub(super) async fn set_faults(State(f): State<Shared>, Json(faults): Json<Faults>) -> Response {
    if let Some(why) = faults.invalid() {
        return (StatusCode::BAD_REQUEST, Json(json!({ "message": why }))).into_response();
    }
    f.set_faults(faults);
    Json(f.faults()).into_response()
}

pub(super) async fn calls(State(f): State<Shared>) -> Json<Value> {
    Json(json!({ "calls": f.calls() }))
}

pub(super) async fn clear_calls(State(f): State<Shared>) -> StatusCode {
    f.clear_calls();
    StatusCode::NO_CONTENT
}

pub(super) async fn callers(State(f): State<Shared>) -> Json<Value> {
    Json(json!({ "callers": f.callers() }))
}

pub(super) async fn all_associations(State(f): State<Shared>) -> Json<Value> {
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
pub(super) struct SeedBody {
    service_network_identifier: String,
    service_identifier: String,
    #[serde(default)]
    tags: Tags,
}

/// Seeds ACTIVE associations (one object or an array of them), as someone outside the operator
/// would have made them: no call logged, no quota or fault applied. All or nothing per item: the
/// first one that fails ends the request with its error, those before it stay.
pub(super) async fn seed_associations(State(f): State<Shared>, Json(body): Json<Value>) -> Result<Response, WireError> {
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

pub(super) async fn delete_out_of_band(State(f): State<Shared>, Path(id): Path<String>) -> StatusCode {
    if f.delete_out_of_band(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}
