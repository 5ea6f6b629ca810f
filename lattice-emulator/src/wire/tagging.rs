//! The Resource Groups Tagging API's `GetResources`, in its own protocol (awsJson1_1, as
//! aws-sdk-resourcegroupstagging sends it): `POST /` with
//! `X-Amz-Target: ResourceGroupsTaggingAPI_20170126.GetResources`; errors as an HTTP status, the
//! `x-amzn-ErrorType` header and a `{"__type", "Message"}` body. Both its forms: a query (filters,
//! paged) and, when the body has a `ResourceARNList`, the tags of those ARNs in one answer.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use vpc_lattice_operator::lattice::{ErrorKind, LatticeError, Tagged};

use super::Shared;
use crate::fake::{FakeLattice, ResourceQuery};

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

/// A `GetResources` request; the fields the emulator does not serve (compliance details, and
/// `TagsPerPage` but to refuse it with `ResourceARNList`) are accepted and ignored. A field missing
/// (or `null`) is `None`: sent empty, it is there (an empty `ResourceARNList` is refused, not the
/// query form).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetResourcesBody {
    pagination_token: Option<String>,
    tag_filters: Option<Vec<TagFilterBody>>,
    resources_per_page: Option<i32>,
    tags_per_page: Option<i32>,
    resource_type_filters: Option<Vec<String>>,
    #[serde(rename = "ResourceARNList")]
    resource_arn_list: Option<Vec<String>>,
}

impl GetResourcesBody {
    /// The parameters sent that AWS refuses together with `ResourceARNList`, by their wire names.
    fn not_with_arn_list(&self) -> Vec<&'static str> {
        [
            ("ResourceTypeFilters", self.resource_type_filters.is_some()),
            ("TagFilters", self.tag_filters.is_some()),
            ("ResourcesPerPage", self.resources_per_page.is_some()),
            ("TagsPerPage", self.tags_per_page.is_some()),
            ("PaginationToken", self.pagination_token.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, sent)| sent.then_some(name))
        .collect()
    }
}

/// An awsJson1_1 `GetResources` answer: the resources with their tags, and the token of the next
/// page (empty on the last page, and on the one answer by ARN, as AWS sends it).
fn resources_reply(items: &[Tagged], next_token: Option<String>) -> Response {
    let list: Vec<Value> = items
        .iter()
        .map(|t| {
            let tags: Vec<Value> = t.tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect();
            json!({ "ResourceARN": t.arn, "Tags": tags })
        })
        .collect();
    let reply = json!({
        "PaginationToken": next_token.unwrap_or_default(),
        "ResourceTagMappingList": list,
    });
    aws_json(StatusCode::OK, HeaderMap::new(), &reply)
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
    // By ARN: the fake checks the list and the parameters sent with it, so every such refusal is a
    // logged call.
    if let Some(arns) = &b.resource_arn_list {
        return match f.get_resources_by_arn(arns, &b.not_with_arn_list()).await {
            Ok(items) => resources_reply(&items, None),
            Err(e) => tagging_error(&e),
        };
    }
    // The fake checks the filters, the page size and the token (a missing key is an empty one, which
    // it refuses), so every such refusal is a logged call.
    let q = ResourceQuery {
        resource_types: b.resource_type_filters.unwrap_or_default(),
        tag_filters: b
            .tag_filters
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.values))
            .collect(),
        per_page: b.resources_per_page,
    };
    match f.get_resources(&q, b.pagination_token).await {
        // The last page says so with an empty token, as AWS does.
        Ok(page) => resources_reply(&page.items, page.next_token),
        Err(e) => tagging_error(&e),
    }
}

/// The awsJson1_1 operations, by their `X-Amz-Target`.
pub(super) async fn aws_json_operation(State(f): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
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
