//! The AWS adapter (`lattice::sdk::SdkLattice`) against `aws-smithy-mocks`: every response is a raw
//! restJson1 HTTP response (status, `x-amzn-ErrorType`, JSON body, modeled headers), so the SDK's own
//! deserialisation runs and the adapter classifies what the SDK really produces.
//!
//! `mock_client!` needs the `test-util` feature of aws-sdk-vpclattice (for `with_test_defaults_v2`),
//! which is not enabled here, so [`client`] builds the same client by hand: mock HTTP client, mock
//! interceptor, static test credentials, a region, and an explicit retry configuration.

use std::time::Duration;

use aws_sdk_resourcegroupstagging as tagging;
use aws_sdk_vpclattice::Client;
use aws_sdk_vpclattice::config::retry::RetryConfig;
use aws_sdk_vpclattice::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use vpc_lattice_operator::lattice::sdk::SdkLattice;
use vpc_lattice_operator::lattice::{
    ASSOCIATION_RESOURCE_TYPE, Association, AssociationState, CreateAssociation, DnsEntry, ErrorKind, LatticeApi,
    LatticeError, ListFilter, TAGGED_PAGE_SIZE, Tagged, Tags, list_all, tagged_all,
};

const SERVICE_ID: &str = "svc-0123456789abcdef0";
const SERVICE_ARN: &str = "arn:aws:vpc-lattice:us-east-1:111122223333:service/svc-0123456789abcdef0";
const NETWORK_ID: &str = "sn-0123456789abcdef0";
const NETWORK_ARN: &str = "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/sn-0123456789abcdef0";
const ASSOCIATION_ID: &str = "snsa-0123456789abcdef0";
const ASSOCIATION_ARN: &str =
    "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef0";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A VPC Lattice client whose every call is answered by `rules`.
fn client_with(mode: RuleMode, rules: &[&Rule], retry: RetryConfig) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(mode);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_vpclattice::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "test-secret", None, None, "sdk_adapter"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(retry)
        .build();
    Client::from_conf(config)
}

/// A Tagging API client whose every call is answered by `rules` in order, never retried.
fn tagging_with(rules: &[&Rule]) -> tagging::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = tagging::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "test-secret", None, None, "sdk_adapter"))
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .retry_config(RetryConfig::disabled())
        .build();
    tagging::Client::from_conf(config)
}

/// The adapter over a client that answers with `rules` in order and never retries, so every rule's
/// `num_calls` is the number of calls the adapter made.
fn lattice(rules: &[&Rule]) -> SdkLattice {
    SdkLattice::new(
        client_with(RuleMode::Sequential, rules, RetryConfig::disabled()),
        tagging_with(&[]),
    )
}

/// The adapter whose Tagging API calls are answered by `rules` in order.
fn tagging_lattice(rules: &[&Rule]) -> SdkLattice {
    SdkLattice::new(
        client_with(RuleMode::Sequential, &[], RetryConfig::disabled()),
        tagging_with(rules),
    )
}

/// A raw HTTP response with a JSON body and extra headers.
fn http(status: u16, headers: &[(&'static str, &'static str)], body: &str) -> HttpResponse {
    let mut response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body.to_string()));
    response.headers_mut().insert("content-type", "application/json");
    response
        .headers_mut()
        .insert("x-amzn-RequestId", "5f1c9a5e-0000-4000-8000-000000000000");
    for (name, value) in headers {
        response.headers_mut().insert(*name, *value);
    }
    response
}

/// A restJson1 error as VPC Lattice sends it: status, `x-amzn-ErrorType`, JSON body.
fn aws_error(
    status: u16,
    error_type: &'static str,
    extra_headers: &[(&'static str, &'static str)],
    body: &str,
) -> HttpResponse {
    let mut headers = vec![("x-amzn-ErrorType", error_type)];
    headers.extend_from_slice(extra_headers);
    http(status, &headers, body)
}

fn create_request() -> CreateAssociation {
    CreateAssociation {
        client_token: "7c9e6679-7425-40de-944b-e07fc1f90ae7-0".into(),
        service_identifier: SERVICE_ID.into(),
        service_network_identifier: NETWORK_ARN.into(),
        tags: Tags::from([
            ("team".to_string(), "payments".to_string()),
            (
                "vpclattice.operator.dev/owner".to_string(),
                "payments/payments-in-shared".to_string(),
            ),
            ("vpclattice.operator.dev/cluster".to_string(), "prod-eu".to_string()),
        ]),
    }
}

/// Runs one Create whose response is `response`, asserts it was the only call, returns its error.
async fn create_error(response: fn() -> HttpResponse) -> LatticeError {
    let rule = mock!(Client::create_service_network_service_association).then_http_response(response);
    let api = lattice(&[&rule]);
    let err = api
        .create_association(&create_request())
        .await
        .expect_err("Create must fail");
    assert_eq!(rule.num_calls(), 1, "retries are disabled: exactly one HTTP call");
    err
}

#[track_caller]
fn assert_error(
    err: &LatticeError,
    kind: ErrorKind,
    code: &str,
    message: &str,
    retry_after: Option<Duration>,
    resource_id: Option<&str>,
) {
    assert_eq!(
        err,
        &LatticeError {
            kind,
            code: code.to_string(),
            message: message.to_string(),
            retry_after,
            resource_id: resource_id.map(str::to_string),
            // Checked where it matters, in the tests of the exceptions that carry it.
            resource_type: err.resource_type.clone(),
        }
    );
}

// ---------------------------------------------------------------------------------------------
// The seven modeled exceptions, through Create (the one operation that models all of them).
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn validation_exception_400_is_validation() {
    let err = create_error(|| {
        aws_error(
            400,
            "ValidationException",
            &[],
            r#"{"message":"1 validation error detected: Value at 'serviceIdentifier' failed to satisfy constraint","reason":"fieldValidationFailed","fieldList":[{"name":"serviceIdentifier","message":"must match pattern"}]}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::Validation,
        "ValidationException",
        "1 validation error detected: Value at 'serviceIdentifier' failed to satisfy constraint",
        None,
        None,
    );
}

#[tokio::test]
async fn access_denied_exception_403_is_access_denied() {
    let err = create_error(|| {
        aws_error(
            403,
            "AccessDeniedException",
            &[],
            r#"{"message":"User: arn:aws:sts::111122223333:assumed-role/operator/x is not authorized to perform: vpc-lattice:CreateServiceNetworkServiceAssociation"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::AccessDenied,
        "AccessDeniedException",
        "User: arn:aws:sts::111122223333:assumed-role/operator/x is not authorized to perform: \
         vpc-lattice:CreateServiceNetworkServiceAssociation",
        None,
        None,
    );
}

#[tokio::test]
async fn resource_not_found_exception_404_is_not_found_with_resource_id() {
    let err = create_error(|| {
        aws_error(
            404,
            "ResourceNotFoundException",
            &[],
            r#"{"message":"Service svc-0123456789abcdef0 not found","resourceId":"svc-0123456789abcdef0","resourceType":"SERVICE"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::NotFound,
        "ResourceNotFoundException",
        "Service svc-0123456789abcdef0 not found",
        None,
        Some(SERVICE_ID),
    );
}

#[tokio::test]
async fn conflict_exception_409_is_conflict_with_resource_id() {
    let err = create_error(|| {
        aws_error(
            409,
            "ConflictException",
            &[],
            r#"{"message":"The service is already associated with the service network","resourceId":"snsa-0123456789abcdef0","resourceType":"SERVICE_NETWORK_SERVICE_ASSOCIATION"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::Conflict,
        "ConflictException",
        "The service is already associated with the service network",
        None,
        Some(ASSOCIATION_ID),
    );
    assert_eq!(
        err.resource_type.as_deref(),
        Some("SERVICE_NETWORK_SERVICE_ASSOCIATION")
    );
}

#[tokio::test]
async fn service_quota_exceeded_exception_402_is_quota_exceeded() {
    let err = create_error(|| {
        aws_error(
            402,
            "ServiceQuotaExceededException",
            &[],
            r#"{"message":"Quota exceeded for service network associations per service network","resourceId":"sn-0123456789abcdef0","resourceType":"SERVICE_NETWORK","serviceCode":"vpc-lattice","quotaCode":"L-689E7A50"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::QuotaExceeded,
        "ServiceQuotaExceededException",
        "Quota exceeded for service network associations per service network",
        None,
        Some(NETWORK_ID),
    );
}

#[tokio::test]
async fn service_quota_exceeded_without_resource_id_has_none() {
    let err = create_error(|| {
        aws_error(
            402,
            "ServiceQuotaExceededException",
            &[],
            r#"{"message":"Quota exceeded","resourceType":"SERVICE_NETWORK","serviceCode":"vpc-lattice","quotaCode":"L-689E7A50"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::QuotaExceeded,
        "ServiceQuotaExceededException",
        "Quota exceeded",
        None,
        None,
    );
}

#[tokio::test]
async fn throttling_exception_429_is_throttled_with_retry_after_header() {
    let err = create_error(|| {
        aws_error(
            429,
            "ThrottlingException",
            &[("Retry-After", "7")],
            r#"{"message":"Rate exceeded","serviceCode":"vpc-lattice","quotaCode":"L-RATE"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::Throttled,
        "ThrottlingException",
        "Rate exceeded",
        Some(Duration::from_secs(7)),
        None,
    );
}

#[tokio::test]
async fn throttling_exception_without_retry_after_has_none() {
    let err = create_error(|| aws_error(429, "ThrottlingException", &[], r#"{"message":"Rate exceeded"}"#)).await;
    assert_error(
        &err,
        ErrorKind::Throttled,
        "ThrottlingException",
        "Rate exceeded",
        None,
        None,
    );
}

/// `retryAfterSeconds` is bound to the `Retry-After` header in the AWS model: a value only in the JSON
/// body is not what the SDK reports. (An emulator must send the header.)
#[tokio::test]
async fn throttling_retry_after_comes_from_the_header_not_the_body() {
    let err = create_error(|| {
        aws_error(
            429,
            "ThrottlingException",
            &[],
            r#"{"message":"Rate exceeded","retryAfterSeconds":30}"#,
        )
    })
    .await;
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.retry_after, None);
}

#[tokio::test]
async fn internal_server_exception_500_is_transient_with_retry_after() {
    let err = create_error(|| {
        aws_error(
            500,
            "InternalServerException",
            &[("Retry-After", "3")],
            r#"{"message":"An internal error occurred"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::Transient,
        "InternalServerException",
        "An internal error occurred",
        Some(Duration::from_secs(3)),
        None,
    );
}

// ---------------------------------------------------------------------------------------------
// Errors that no operation models, and errors of the other operations.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unmodeled_error_code_with_503_is_transient() {
    let err = create_error(|| {
        aws_error(
            503,
            "SomethingNewException",
            &[],
            r#"{"message":"a brand new failure mode"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::Transient,
        "SomethingNewException",
        "a brand new failure mode",
        None,
        None,
    );
}

#[tokio::test]
async fn unmodeled_error_code_with_400_is_other() {
    let err = create_error(|| aws_error(400, "SomethingNewException", &[], r#"{"message":"nope"}"#)).await;
    assert_error(&err, ErrorKind::Other, "SomethingNewException", "nope", None, None);
}

#[tokio::test]
async fn bare_502_without_error_type_or_body_is_transient() {
    let err = create_error(|| HttpResponse::new(StatusCode::try_from(502).unwrap(), SdkBody::empty())).await;
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code, "Unknown");
}

#[tokio::test]
async fn error_code_with_namespace_suffix_is_sanitised() {
    // AWS may send `Code:http://internal/...` in x-amzn-ErrorType; the SDK keeps only the code.
    let err = create_error(|| {
        aws_error(
            429,
            "ThrottlingException:http://internal.amazon.com/coral/com.amazonaws.vpclattice/",
            &[("Retry-After", "2")],
            r#"{"message":"Rate exceeded"}"#,
        )
    })
    .await;
    assert_error(
        &err,
        ErrorKind::Throttled,
        "ThrottlingException",
        "Rate exceeded",
        Some(Duration::from_secs(2)),
        None,
    );
}

#[tokio::test]
async fn resource_not_found_on_delete_is_not_found() {
    let rule = mock!(Client::delete_service_network_service_association)
        .match_requests(|req| req.service_network_service_association_identifier() == Some(ASSOCIATION_ID))
        .then_http_response(|| {
            aws_error(
                404,
                "ResourceNotFoundException",
                &[],
                r#"{"message":"Association snsa-0123456789abcdef0 not found","resourceId":"snsa-0123456789abcdef0","resourceType":"SERVICE_NETWORK_SERVICE_ASSOCIATION"}"#,
            )
        });
    let api = lattice(&[&rule]);
    let err = api
        .delete_association(ASSOCIATION_ID)
        .await
        .expect_err("Delete must fail");
    assert_eq!(rule.num_calls(), 1);
    assert_error(
        &err,
        ErrorKind::NotFound,
        "ResourceNotFoundException",
        "Association snsa-0123456789abcdef0 not found",
        None,
        Some(ASSOCIATION_ID),
    );
}

#[tokio::test]
async fn resource_not_found_on_get_is_not_found() {
    let rule = mock!(Client::get_service_network_service_association).then_http_response(|| {
        aws_error(
            404,
            "ResourceNotFoundException",
            &[],
            r#"{"message":"not found","resourceId":"snsa-0123456789abcdef0","resourceType":"SERVICE_NETWORK_SERVICE_ASSOCIATION"}"#,
        )
    });
    let err = lattice(&[&rule])
        .get_association(ASSOCIATION_ID)
        .await
        .expect_err("Get must fail");
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.resource_id.as_deref(), Some(ASSOCIATION_ID));
}

#[tokio::test]
async fn conflict_on_delete_is_conflict() {
    let rule = mock!(Client::delete_service_network_service_association).then_http_response(|| {
        aws_error(
            409,
            "ConflictException",
            &[],
            r#"{"message":"association is being created","resourceId":"snsa-0123456789abcdef0","resourceType":"SERVICE_NETWORK_SERVICE_ASSOCIATION"}"#,
        )
    });
    let err = lattice(&[&rule]).delete_association(ASSOCIATION_ID).await.unwrap_err();
    assert_error(
        &err,
        ErrorKind::Conflict,
        "ConflictException",
        "association is being created",
        None,
        Some(ASSOCIATION_ID),
    );
}

#[tokio::test]
async fn throttling_on_list_is_throttled_with_retry_after() {
    let rule = mock!(Client::list_service_network_service_associations).then_http_response(|| {
        aws_error(
            429,
            "ThrottlingException",
            &[("Retry-After", "11")],
            r#"{"message":"slow down"}"#,
        )
    });
    let err = lattice(&[&rule])
        .list_associations(&ListFilter::default(), None)
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::Throttled,
        "ThrottlingException",
        "slow down",
        Some(Duration::from_secs(11)),
        None,
    );
}

/// ListTagsForResource does not model ThrottlingException: the adapter falls back to the error code.
#[tokio::test]
async fn throttling_on_list_tags_is_classified_by_code() {
    let rule = mock!(Client::list_tags_for_resource).then_http_response(|| {
        aws_error(
            429,
            "ThrottlingException",
            &[("Retry-After", "4")],
            r#"{"message":"slow down"}"#,
        )
    });
    let err = lattice(&[&rule]).list_tags(ASSOCIATION_ARN).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.code, "ThrottlingException");
    assert_eq!(err.message, "slow down");
}

#[tokio::test]
async fn access_denied_on_tag_resource_is_access_denied() {
    let rule = mock!(Client::tag_resource)
        .then_http_response(|| aws_error(403, "AccessDeniedException", &[], r#"{"message":"not allowed to tag"}"#));
    let err = lattice(&[&rule])
        .tag_resource(ASSOCIATION_ARN, &Tags::from([("a".to_string(), "b".to_string())]))
        .await
        .unwrap_err();
    assert_error(
        &err,
        ErrorKind::AccessDenied,
        "AccessDeniedException",
        "not allowed to tag",
        None,
        None,
    );
}

// ---------------------------------------------------------------------------------------------
// Successful responses map into the domain types.
// ---------------------------------------------------------------------------------------------

const GET_BODY: &str = r#"{
    "arn": "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef0",
    "createdAt": "2024-05-01T12:34:56.789Z",
    "createdBy": "111122223333",
    "customDomainName": "payments.example.com",
    "dnsEntry": {
        "domainName": "payments-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-east-1.on.aws",
        "hostedZoneId": "Z07613172BXXXXXXXXXX"
    },
    "failureCode": "INTERNAL_ERROR",
    "failureMessage": "The association could not be created",
    "id": "snsa-0123456789abcdef0",
    "serviceArn": "arn:aws:vpc-lattice:us-east-1:111122223333:service/svc-0123456789abcdef0",
    "serviceId": "svc-0123456789abcdef0",
    "serviceName": "payments",
    "serviceNetworkArn": "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/sn-0123456789abcdef0",
    "serviceNetworkId": "sn-0123456789abcdef0",
    "serviceNetworkName": "shared",
    "status": "CREATE_FAILED"
}"#;

#[tokio::test]
async fn get_maps_every_field_into_the_association() {
    let rule = mock!(Client::get_service_network_service_association)
        .match_requests(|req| req.service_network_service_association_identifier() == Some(ASSOCIATION_ID))
        .then_http_response(|| http(200, &[], GET_BODY));
    let got = lattice(&[&rule])
        .get_association(ASSOCIATION_ID)
        .await
        .expect("Get succeeds");
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        got,
        Association {
            id: ASSOCIATION_ID.into(),
            arn: ASSOCIATION_ARN.into(),
            status: AssociationState::CreateFailed,
            created_by: Some("111122223333".into()),
            custom_domain_name: Some("payments.example.com".into()),
            dns_entry: Some(DnsEntry {
                domain_name: Some("payments-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-east-1.on.aws".into()),
                hosted_zone_id: Some("Z07613172BXXXXXXXXXX".into()),
            }),
            service_id: Some(SERVICE_ID.into()),
            service_arn: Some(SERVICE_ARN.into()),
            service_name: Some("payments".into()),
            service_network_id: Some(NETWORK_ID.into()),
            service_network_arn: Some(NETWORK_ARN.into()),
            service_network_name: Some("shared".into()),
            failure_code: Some("INTERNAL_ERROR".into()),
            failure_message: Some("The association could not be created".into()),
        }
    );
}

#[tokio::test]
async fn get_maps_each_of_the_five_statuses_and_keeps_unknown_ones() {
    for (wire, state) in [
        ("CREATE_IN_PROGRESS", AssociationState::CreateInProgress),
        ("ACTIVE", AssociationState::Active),
        ("DELETE_IN_PROGRESS", AssociationState::DeleteInProgress),
        ("CREATE_FAILED", AssociationState::CreateFailed),
        ("DELETE_FAILED", AssociationState::DeleteFailed),
        ("SOMETHING_NEW", AssociationState::Other("SOMETHING_NEW".into())),
    ] {
        let body = format!(r#"{{"id":"{ASSOCIATION_ID}","arn":"{ASSOCIATION_ARN}","status":"{wire}"}}"#);
        let rule =
            mock!(Client::get_service_network_service_association).then_http_response(move || http(200, &[], &body));
        let got = lattice(&[&rule]).get_association(ASSOCIATION_ID).await.unwrap();
        assert_eq!(got, Association::new(ASSOCIATION_ID, ASSOCIATION_ARN, state), "{wire}");
    }
}

#[tokio::test]
async fn create_sends_token_pair_and_tags_and_maps_the_response() {
    let rule = mock!(Client::create_service_network_service_association)
        .match_requests(|req| {
            let tags = req.tags().cloned().unwrap_or_default();
            req.client_token() == Some("7c9e6679-7425-40de-944b-e07fc1f90ae7-0")
                && req.service_identifier() == Some(SERVICE_ID)
                && req.service_network_identifier() == Some(NETWORK_ARN)
                && tags.len() == 3
                && tags.get("team").map(String::as_str) == Some("payments")
                && tags.get("vpclattice.operator.dev/owner").map(String::as_str) == Some("payments/payments-in-shared")
                && tags.get("vpclattice.operator.dev/cluster").map(String::as_str) == Some("prod-eu")
        })
        .then_http_response(|| {
            http(
                200,
                &[],
                r#"{"arn":"arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef0","createdBy":"111122223333","customDomainName":"payments.example.com","dnsEntry":{"domainName":"payments.on.aws","hostedZoneId":"Z1"},"id":"snsa-0123456789abcdef0","status":"CREATE_IN_PROGRESS"}"#,
            )
        });
    let got = lattice(&[&rule])
        .create_association(&create_request())
        .await
        .expect("Create succeeds");
    assert_eq!(rule.num_calls(), 1);
    let mut want = Association::new(ASSOCIATION_ID, ASSOCIATION_ARN, AssociationState::CreateInProgress);
    want.created_by = Some("111122223333".into());
    want.custom_domain_name = Some("payments.example.com".into());
    want.dns_entry = Some(DnsEntry {
        domain_name: Some("payments.on.aws".into()),
        hosted_zone_id: Some("Z1".into()),
    });
    assert_eq!(got, want);
}

#[tokio::test]
async fn create_without_tags_sends_no_tags() {
    let rule = mock!(Client::create_service_network_service_association)
        .match_requests(|req| req.tags().is_none())
        .then_http_response(|| {
            http(
                200,
                &[],
                &format!(r#"{{"id":"{ASSOCIATION_ID}","arn":"{ASSOCIATION_ARN}","status":"ACTIVE"}}"#),
            )
        });
    let req = CreateAssociation {
        tags: Tags::new(),
        ..create_request()
    };
    let got = lattice(&[&rule]).create_association(&req).await.unwrap();
    assert_eq!(got.status, AssociationState::Active);
}

#[tokio::test]
async fn delete_returns_the_reported_status() {
    let rule = mock!(Client::delete_service_network_service_association).then_http_response(|| {
        http(
            200,
            &[],
            &format!(r#"{{"id":"{ASSOCIATION_ID}","arn":"{ASSOCIATION_ARN}","status":"DELETE_IN_PROGRESS"}}"#),
        )
    });
    let got = lattice(&[&rule]).delete_association(ASSOCIATION_ID).await.unwrap();
    assert_eq!(got, AssociationState::DeleteInProgress);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn list_tags_tag_and_untag_round_trip() {
    let list = mock!(Client::list_tags_for_resource)
        .match_requests(|req| req.resource_arn() == Some(ASSOCIATION_ARN))
        .then_http_response(|| {
            http(
                200,
                &[],
                r#"{"tags":{"team":"payments","aws:cloudformation:stack-name":"net","vpclattice.operator.dev/owner":"payments/x"}}"#,
            )
        });
    let tag = mock!(Client::tag_resource)
        .match_requests(|req| {
            req.resource_arn() == Some(ASSOCIATION_ARN)
                && req
                    .tags()
                    .is_some_and(|t| t.len() == 1 && t.get("env").map(String::as_str) == Some("prod"))
        })
        .then_http_response(|| http(200, &[], "{}"));
    let untag = mock!(Client::untag_resource)
        .match_requests(|req| req.resource_arn() == Some(ASSOCIATION_ARN) && req.tag_keys() == ["stale", "old"])
        .then_http_response(|| http(200, &[], "{}"));
    let api = lattice(&[&list, &tag, &untag]);

    let tags = api.list_tags(ASSOCIATION_ARN).await.unwrap();
    assert_eq!(
        tags,
        Tags::from([
            ("team".to_string(), "payments".to_string()),
            ("aws:cloudformation:stack-name".to_string(), "net".to_string()),
            ("vpclattice.operator.dev/owner".to_string(), "payments/x".to_string()),
        ])
    );
    api.tag_resource(ASSOCIATION_ARN, &Tags::from([("env".to_string(), "prod".to_string())]))
        .await
        .unwrap();
    api.untag_resource(ASSOCIATION_ARN, &["stale".to_string(), "old".to_string()])
        .await
        .unwrap();
    assert_eq!((list.num_calls(), tag.num_calls(), untag.num_calls()), (1, 1, 1));
}

// ---------------------------------------------------------------------------------------------
// Pagination
// ---------------------------------------------------------------------------------------------

fn summary(n: u8, status: &str) -> String {
    format!(
        r#"{{"id":"snsa-0123456789abcdef{n}","arn":"arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef{n}","status":"{status}","createdAt":"2024-05-01T12:34:56Z","createdBy":"111122223333","serviceId":"svc-0123456789abcdef{n}","serviceArn":"arn:aws:vpc-lattice:us-east-1:111122223333:service/svc-0123456789abcdef{n}","serviceName":"svc{n}","serviceNetworkId":"sn-0123456789abcdef0","serviceNetworkArn":"{NETWORK_ARN}","serviceNetworkName":"shared","dnsEntry":{{"domainName":"svc{n}.on.aws","hostedZoneId":"Z{n}"}},"customDomainName":"svc{n}.example.com"}}"#
    )
}

fn expected_summary(n: u8, status: AssociationState) -> Association {
    let mut a = Association::new(
        format!("snsa-0123456789abcdef{n}"),
        format!("arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef{n}"),
        status,
    );
    a.created_by = Some("111122223333".into());
    a.custom_domain_name = Some(format!("svc{n}.example.com"));
    a.dns_entry = Some(DnsEntry {
        domain_name: Some(format!("svc{n}.on.aws")),
        hosted_zone_id: Some(format!("Z{n}")),
    });
    a.service_id = Some(format!("svc-0123456789abcdef{n}"));
    a.service_arn = Some(format!(
        "arn:aws:vpc-lattice:us-east-1:111122223333:service/svc-0123456789abcdef{n}"
    ));
    a.service_name = Some(format!("svc{n}"));
    a.service_network_id = Some(NETWORK_ID.into());
    a.service_network_arn = Some(NETWORK_ARN.into());
    a.service_network_name = Some("shared".into());
    a
}

#[tokio::test]
async fn list_all_follows_next_token_across_two_pages() {
    let first = mock!(Client::list_service_network_service_associations)
        .match_requests(|req| {
            req.next_token().is_none()
                && req.service_network_identifier() == Some(NETWORK_ARN)
                && req.service_identifier().is_none()
                && req.max_results() == Some(100)
        })
        .then_http_response(|| {
            http(
                200,
                &[],
                &format!(
                    r#"{{"items":[{},{}],"nextToken":"page-2-token"}}"#,
                    summary(1, "ACTIVE"),
                    summary(2, "CREATE_IN_PROGRESS")
                ),
            )
        });
    let second = mock!(Client::list_service_network_service_associations)
        .match_requests(|req| {
            req.next_token() == Some("page-2-token") && req.service_network_identifier() == Some(NETWORK_ARN)
        })
        .then_http_response(|| http(200, &[], &format!(r#"{{"items":[{}]}}"#, summary(3, "DELETE_FAILED"))));
    // Sequential: the first page must be asked for first, the second with its token.
    let api = lattice(&[&first, &second]);
    let filter = ListFilter {
        service_network_identifier: Some(NETWORK_ARN.into()),
        ..ListFilter::default()
    };
    let all = list_all(&api, &filter).await.expect("List succeeds");
    assert_eq!(first.num_calls(), 1);
    assert_eq!(second.num_calls(), 1);
    assert_eq!(
        all,
        vec![
            expected_summary(1, AssociationState::Active),
            expected_summary(2, AssociationState::CreateInProgress),
            expected_summary(3, AssociationState::DeleteFailed),
        ]
    );
}

#[tokio::test]
async fn list_page_reports_next_token() {
    let rule = mock!(Client::list_service_network_service_associations)
        .match_requests(|req| {
            req.service_network_identifier() == Some(NETWORK_ID)
                && req.service_identifier() == Some(SERVICE_ID)
                && req.next_token() == Some("abc")
        })
        .then_http_response(|| http(200, &[], r#"{"items":[],"nextToken":"def"}"#));
    let filter = ListFilter {
        service_network_identifier: Some(NETWORK_ID.into()),
        service_identifier: Some(SERVICE_ID.into()),
        max_results: None,
    };
    let page = lattice(&[&rule])
        .list_associations(&filter, Some("abc".into()))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_token.as_deref(), Some("def"));
}

#[tokio::test]
async fn list_all_stops_on_empty_next_token() {
    let rule = mock!(Client::list_service_network_service_associations).then_http_response(|| {
        http(
            200,
            &[],
            &format!(r#"{{"items":[{}],"nextToken":""}}"#, summary(1, "ACTIVE")),
        )
    });
    let api = lattice(&[&rule]);
    let all = list_all(&api, &ListFilter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn list_all_propagates_an_error_on_the_second_page() {
    let first = mock!(Client::list_service_network_service_associations).then_http_response(|| {
        http(
            200,
            &[],
            &format!(r#"{{"items":[{}],"nextToken":"t2"}}"#, summary(1, "ACTIVE")),
        )
    });
    let second = mock!(Client::list_service_network_service_associations)
        .then_http_response(|| aws_error(403, "AccessDeniedException", &[], r#"{"message":"denied"}"#));
    let api = lattice(&[&first, &second]);
    let err = list_all(&api, &ListFilter::default()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

// ---------------------------------------------------------------------------------------------
// SDK retries: with them on, the adapter sees the final answer; the sequence shows each attempt.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sdk_retries_a_500_then_succeeds_when_retries_are_enabled() {
    let rule = mock!(Client::get_service_network_service_association)
        .sequence()
        .http_response(|| aws_error(500, "InternalServerException", &[], r#"{"message":"oops"}"#))
        .times(2)
        .http_response(|| http(200, &[], GET_BODY))
        .build();
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5));
    let api = SdkLattice::new(client_with(RuleMode::Sequential, &[&rule], retry), tagging_with(&[]));
    let got = api
        .get_association(ASSOCIATION_ID)
        .await
        .expect("third attempt succeeds");
    assert_eq!(got.status, AssociationState::CreateFailed);
    assert_eq!(rule.num_calls(), 3, "two failed attempts and one success");
}

#[tokio::test]
async fn sdk_gives_up_after_max_attempts_and_the_adapter_classifies_the_last_error() {
    let rule = mock!(Client::get_service_network_service_association)
        .sequence()
        .http_response(|| aws_error(429, "ThrottlingException", &[], r#"{"message":"Rate exceeded"}"#))
        .times(2)
        .build();
    let retry = RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(1))
        .with_max_backoff(Duration::from_millis(5));
    let api = SdkLattice::new(client_with(RuleMode::Sequential, &[&rule], retry), tagging_with(&[]));
    let err = api.get_association(ASSOCIATION_ID).await.unwrap_err();
    assert_eq!(rule.num_calls(), 2);
    assert_error(
        &err,
        ErrorKind::Throttled,
        "ThrottlingException",
        "Rate exceeded",
        None,
        None,
    );
}

// ---------------------------------------------------------------------------------------------
// Tagging API (GetResources): the batched tag reads (the drift scan's by tag, and by ARN list)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn get_resources_pages_are_read_to_the_end_with_every_tag_and_the_filter_sent() {
    let first = mock!(tagging::Client::get_resources)
        .match_requests(|r| {
            r.pagination_token().is_none_or(str::is_empty)
                && r.resources_per_page() == Some(TAGGED_PAGE_SIZE)
                && r.resource_type_filters() == [ASSOCIATION_RESOURCE_TYPE]
                && r.tag_filters().len() == 1
                && r.tag_filters()[0].key() == Some("vpclattice.operator.dev/cluster")
                && r.tag_filters()[0].values() == ["prod"]
        })
        .then_http_response(|| {
            http(
                200,
                &[("content-type", "application/x-amz-json-1.1")],
                &format!(
                    r#"{{"PaginationToken":"page-2","ResourceTagMappingList":[{{"ResourceARN":"{ASSOCIATION_ARN}",
                    "Tags":[{{"Key":"vpclattice.operator.dev/cluster","Value":"prod"}},{{"Key":"team","Value":"payments"}}]}}]}}"#
                ),
            )
        });
    let second = mock!(tagging::Client::get_resources)
        .match_requests(|r| r.pagination_token() == Some("page-2"))
        .then_http_response(|| {
            http(
                200,
                &[("content-type", "application/x-amz-json-1.1")],
                r#"{"PaginationToken":"","ResourceTagMappingList":[{"ResourceARN":"arn:other","Tags":[]}]}"#,
            )
        });
    let api = tagging_lattice(&[&first, &second]);
    let all = tagged_all(&api, ("vpclattice.operator.dev/cluster", "prod"))
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "an empty token ends the paging");
    assert_eq!(all[0].arn, ASSOCIATION_ARN);
    assert_eq!(
        all[0].tags,
        Tags::from([
            ("vpclattice.operator.dev/cluster".to_string(), "prod".to_string()),
            ("team".to_string(), "payments".to_string()),
        ])
    );
    assert_eq!(all[1].tags, Tags::new());
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

/// The classified error of one GetResources answered with `response`.
async fn get_resources_error(response: fn() -> HttpResponse) -> LatticeError {
    let rule = mock!(tagging::Client::get_resources).then_http_response(response);
    tagging_lattice(&[&rule])
        .tagged_associations(("k", "v"), None)
        .await
        .unwrap_err()
}

/// An awsJson1_1 error answer.
fn json_error(status: u16, code: &'static str, message: &str) -> HttpResponse {
    http(
        status,
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-errortype", code),
        ],
        &format!(r#"{{"__type":"{code}","Message":"{message}"}}"#),
    )
}

#[tokio::test]
async fn get_resources_errors_are_classified_like_lattice_ones() {
    let err = get_resources_error(|| json_error(400, "ThrottledException", "Rate exceeded")).await;
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::Throttled, "ThrottledException")
    );
    let err = get_resources_error(|| json_error(400, "InvalidParameterException", "bad filter")).await;
    assert_eq!(
        (err.kind, err.code.as_str(), err.message.as_str()),
        (ErrorKind::Validation, "InvalidParameterException", "bad filter")
    );
    let err = get_resources_error(|| json_error(500, "InternalServiceException", "oops")).await;
    assert_eq!(err.kind, ErrorKind::Transient);
    let err = get_resources_error(|| json_error(400, "AccessDeniedException", "no tag:GetResources")).await;
    assert_eq!(
        (err.kind, err.code.as_str()),
        (ErrorKind::AccessDenied, "AccessDeniedException")
    );
}

#[tokio::test]
async fn tags_of_sends_the_arn_list_alone_and_maps_the_one_answer() {
    let arns = vec![ASSOCIATION_ARN.to_string(), "arn:unknown".to_string()];
    let sent = arns.clone();
    let rule = mock!(tagging::Client::get_resources)
        .match_requests(move |r| {
            // The ARN list and nothing else: AWS refuses it with filters or paging parameters.
            r.resource_arn_list.as_deref() == Some(sent.as_slice())
                && r.pagination_token.is_none()
                && r.resources_per_page.is_none()
                && r.tags_per_page.is_none()
                && r.tag_filters.is_none()
                && r.resource_type_filters.is_none()
                && r.include_compliance_details.is_none()
                && r.exclude_compliant_resources.is_none()
        })
        .then_http_response(|| {
            http(
                200,
                &[("content-type", "application/x-amz-json-1.1")],
                &format!(
                    r#"{{"PaginationToken":"","ResourceTagMappingList":[{{"ResourceARN":"{ASSOCIATION_ARN}",
                    "Tags":[{{"Key":"vpclattice.operator.dev/cluster","Value":"prod"}},{{"Key":"team","Value":"payments"}}]}},
                    {{"ResourceARN":"arn:untagged","Tags":[]}}]}}"#
                ),
            )
        });
    let api = tagging_lattice(&[&rule]);
    let items = api.tags_of(&arns).await.unwrap();
    assert_eq!(
        items,
        [
            Tagged {
                arn: ASSOCIATION_ARN.into(),
                tags: Tags::from([
                    ("vpclattice.operator.dev/cluster".to_string(), "prod".to_string()),
                    ("team".to_string(), "payments".to_string()),
                ]),
            },
            Tagged {
                arn: "arn:untagged".into(),
                tags: Tags::new(),
            },
        ]
    );
    assert_eq!(rule.num_calls(), 1, "one call");

    // An answer that says more follow is refused, not read as "the others have no tags".
    let rule = mock!(tagging::Client::get_resources).then_http_response(|| {
        http(
            200,
            &[("content-type", "application/x-amz-json-1.1")],
            r#"{"PaginationToken":"more","ResourceTagMappingList":[]}"#,
        )
    });
    let e = tagging_lattice(&[&rule]).tags_of(&arns).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Other, "UnexpectedPaginationToken")
    );

    let rule = mock!(tagging::Client::get_resources)
        .then_http_response(|| json_error(400, "InvalidParameterException", "too many ARNs"));
    let e = tagging_lattice(&[&rule]).tags_of(&arns).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str(), e.message.as_str()),
        (ErrorKind::Validation, "InvalidParameterException", "too many ARNs")
    );
    let rule =
        mock!(tagging::Client::get_resources).then_http_response(|| json_error(400, "ThrottledException", "slow"));
    let e = tagging_lattice(&[&rule]).tags_of(&arns).await.unwrap_err();
    assert_eq!((e.kind, e.code.as_str()), (ErrorKind::Throttled, "ThrottledException"));
}

#[tokio::test]
async fn list_services_and_networks_page_with_max_results_and_report_id_arn_and_name() {
    use vpc_lattice_operator::lattice::names::{Kind, Named};
    let services = mock!(Client::list_services)
        .match_requests(|req| req.max_results() == Some(100) && req.next_token() == Some("abc"))
        .then_http_response(|| {
            http(
                200,
                &[],
                &format!(
                    r#"{{"items":[{{"id":"{SERVICE_ID}","arn":"{SERVICE_ARN}","name":"payments"}}],"nextToken":"def"}}"#
                ),
            )
        });
    let networks = mock!(Client::list_service_networks)
        .match_requests(|req| req.max_results() == Some(100) && req.next_token().is_none())
        .then_http_response(|| {
            http(
                200,
                &[],
                &format!(r#"{{"items":[{{"id":"{NETWORK_ID}","arn":"{NETWORK_ARN}","name":"shared"}}]}}"#),
            )
        });
    let api = lattice(&[&services, &networks]);
    let page = api.list_named(Kind::Service, Some("abc".into())).await.unwrap();
    assert_eq!(
        page.items,
        vec![Named {
            id: SERVICE_ID.into(),
            arn: SERVICE_ARN.into(),
            name: "payments".into()
        }]
    );
    assert_eq!(page.next_token.as_deref(), Some("def"));
    let page = api.list_named(Kind::ServiceNetwork, None).await.unwrap();
    assert_eq!(page.items[0].name, "shared");
    assert_eq!(page.items[0].arn, NETWORK_ARN);
    assert_eq!(page.next_token, None);
    assert_eq!((services.num_calls(), networks.num_calls()), (1, 1));
}
