//! The emulator through the operator's own adapter (`SdkLattice` over aws-sdk-vpclattice) on a
//! loopback port: the wire protocol, the association state machine, the fault knobs and the
//! `/_emulator/` endpoints, AWS's limits (request quota, pagination, provisioning jitter), with no
//! control plane. The Resource Groups Tagging API's `GetResources` through aws-sdk-resourcegroupstagging
//! (and the adapter's `tagged_associations` and `tags_of`) on the same port.

use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::error::ProvideErrorMetadata;
use aws_sdk_resourcegroupstagging::types::TagFilter;
use aws_sdk_vpclattice::config::retry::RetryConfig;
use aws_sdk_vpclattice::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};
use vpc_lattice_operator::lattice::sdk::SdkLattice;
use vpc_lattice_operator::lattice::{
    ASSOCIATION_RESOURCE_TYPE, AssociationState, CreateAssociation, ErrorKind, LatticeApi, LatticeError, ListFilter,
    Tags, list_all, tagged_all,
};

use crate::{Call, FakeLattice, Faults, Target};

/// The emulator on a loopback port, the operator's adapter pointed at it and direct access to its state.
struct Running {
    fake: Arc<FakeLattice>,
    url: String,
    api: SdkLattice,
    /// The SDK client under `api`, for its paginators.
    client: aws_sdk_vpclattice::Client,
    /// The Tagging API client under `api`.
    tagging: aws_sdk_resourcegroupstagging::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An emulator with one service network and one service.
async fn start() -> (Running, Target, Target) {
    let fake = Arc::new(FakeLattice::default());
    let network = fake.create_service_network("shared", None).unwrap();
    let service = fake.create_service("payments", None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = fake.clone();
    let task = tokio::spawn(async move {
        let _ = crate::serve(listener, served).await;
    });
    let client = sdk_client(&url, KEY);
    let tagging = tagging_client(&url, KEY);
    let api = SdkLattice::new(client.clone(), tagging.clone());
    (
        Running {
            fake,
            url,
            api,
            client,
            tagging,
            task,
        },
        network,
        service,
    )
}

/// The access key the tests' SDK client signs with.
const KEY: &str = "AKIDEMULATORTEST";

/// An SDK client for the emulator at `url`, signing with `access_key_id`, with no retries.
fn sdk_client(url: &str, access_key_id: &str) -> aws_sdk_vpclattice::Client {
    let config = aws_sdk_vpclattice::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key_id, "secret", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_vpclattice::Client::from_conf(config)
}

/// A Resource Groups Tagging API client for the emulator at `url`, as [`sdk_client`].
fn tagging_client(url: &str, access_key_id: &str) -> aws_sdk_resourcegroupstagging::Client {
    let config = aws_sdk_resourcegroupstagging::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(access_key_id, "secret", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_resourcegroupstagging::Client::from_conf(config)
}

fn create(network: &Target, service: &Target, token: &str, tags: Tags) -> CreateAssociation {
    CreateAssociation {
        client_token: token.into(),
        service_identifier: service.id.clone(),
        service_network_identifier: network.arn.clone(),
        tags,
    }
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Polls `check` every 20 ms until it yields a value; panics naming `what` after five seconds.
async fn until<T, F: std::future::Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn create_is_idempotent_per_token_and_one_association_per_pair() {
    let (emu, network, service) = start().await;
    let created = emu
        .api
        .create_association(&create(&network, &service, "token-1", Tags::new()))
        .await
        .unwrap();
    assert_eq!(created.status, AssociationState::CreateInProgress);
    assert!(created.dns_entry.is_some_and(|d| d.domain_name.is_some()));
    let again = emu
        .api
        .create_association(&create(&network, &service, "token-1", Tags::new()))
        .await
        .unwrap();
    assert_eq!(
        again.id, created.id,
        "the same clientToken answers the same association"
    );
    let other: LatticeError = emu
        .api
        .create_association(&create(&network, &service, "token-2", Tags::new()))
        .await
        .unwrap_err();
    assert_eq!(other.kind, ErrorKind::Conflict);
    assert_eq!(other.resource_id.as_deref(), Some(created.id.as_str()));
    assert_eq!(emu.fake.count("CreateServiceNetworkServiceAssociation"), 3);
    let callers = emu.fake.callers();
    assert_eq!(callers.len(), 3);
    assert!(callers.iter().all(|c| c.access_key_id == KEY), "{callers:?}");
}

#[tokio::test]
async fn an_association_provisions_keeps_its_tags_and_is_deleted() {
    let (emu, network, service) = start().await;
    emu.fake.set_faults(Faults {
        provisioning_delay_ms: 500,
        ..Faults::default()
    });
    let created = emu
        .api
        .create_association(&create(&network, &service, "t", tags(&[("team", "payments")])))
        .await
        .unwrap();
    assert_eq!(
        emu.api.get_association(&created.id).await.unwrap().status,
        AssociationState::CreateInProgress
    );
    let got = until("ACTIVE", || async {
        let a = emu.api.get_association(&created.arn).await.unwrap();
        (a.status == AssociationState::Active).then_some(a)
    })
    .await;
    assert_eq!(got.service_name.as_deref(), Some("payments"));
    assert_eq!(got.service_network_id.as_deref(), Some(network.id.as_str()));
    assert_eq!(
        emu.api.list_tags(&got.arn).await.unwrap(),
        tags(&[("team", "payments")])
    );

    emu.api.tag_resource(&got.arn, &tags(&[("env", "test")])).await.unwrap();
    emu.api.untag_resource(&got.arn, &["team".to_string()]).await.unwrap();
    assert_eq!(emu.api.list_tags(&got.arn).await.unwrap(), tags(&[("env", "test")]));
    let reserved = emu
        .api
        .tag_resource(&got.arn, &tags(&[("aws:owner", "x")]))
        .await
        .unwrap_err();
    assert_eq!(reserved.kind, ErrorKind::Validation);

    let state = emu.api.delete_association(&got.id).await.unwrap();
    assert_eq!(state, AssociationState::DeleteInProgress);
    assert_eq!(
        emu.api.get_association(&got.id).await.unwrap().status,
        AssociationState::DeleteInProgress
    );
    until("deleted", || async {
        let gone = emu.api.get_association(&got.id).await.err()?;
        assert_eq!(gone.kind, ErrorKind::NotFound, "{gone:?}");
        Some(())
    })
    .await;
    assert!(emu.fake.associations().is_empty());
}

#[tokio::test]
async fn lists_page_and_filter() {
    let (emu, network, first) = start().await;
    let mut services = vec![first];
    for name in ["checkout", "ledger"] {
        services.push(emu.fake.create_service(name, None).unwrap());
    }
    for (i, s) in services.iter().enumerate() {
        let req = create(&network, s, &format!("t{i}"), Tags::new());
        emu.api.create_association(&req).await.unwrap();
    }
    let by_network = ListFilter {
        service_network_identifier: Some(network.id.clone()),
        service_identifier: None,
        max_results: Some(1),
    };
    let page = emu.api.list_associations(&by_network, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert!(page.next_token.is_some());
    assert_eq!(list_all(&emu.api, &by_network).await.unwrap().len(), 3);
    assert_eq!(
        emu.fake.count("ListServiceNetworkServiceAssociations"),
        4,
        "one call per page"
    );
    let by_service = ListFilter {
        service_identifier: Some(services[1].arn.clone()),
        ..ListFilter::default()
    };
    let items = list_all(&emu.api, &by_service).await.unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].service_id.as_deref(), Some(services[1].id.as_str()));
}

#[tokio::test]
async fn injected_faults_arrive_as_the_errors_aws_sends() {
    let (emu, network, service) = start().await;
    let req = create(&network, &service, "t", Tags::new());
    let cases = [
        (
            Faults {
                throttle: 1,
                retry_after_seconds: Some(7),
                ..Faults::default()
            },
            ErrorKind::Throttled,
        ),
        (
            Faults {
                server_errors: 1,
                ..Faults::default()
            },
            ErrorKind::Transient,
        ),
        (
            Faults {
                create_error: Some("AccessDeniedException".into()),
                ..Faults::default()
            },
            ErrorKind::AccessDenied,
        ),
        (
            Faults {
                create_error: Some("ServiceQuotaExceededException".into()),
                ..Faults::default()
            },
            ErrorKind::QuotaExceeded,
        ),
    ];
    for (faults, kind) in cases {
        emu.fake.set_faults(faults.clone());
        let e = emu.api.create_association(&req).await.unwrap_err();
        assert_eq!(e.kind, kind, "{faults:?}: {e:?}");
        if kind == ErrorKind::Throttled {
            assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        }
        let left = emu.fake.faults();
        assert_eq!(
            (left.throttle, left.server_errors, left.create_error),
            (0, 0, None),
            "each fault is consumed by one call"
        );
    }

    emu.fake.set_faults(Faults {
        fail_creates: 1,
        fail_deletes: 1,
        ..Faults::default()
    });
    let created = emu.api.create_association(&req).await.unwrap();
    let failed = emu.api.get_association(&created.id).await.unwrap();
    assert_eq!(failed.status, AssociationState::CreateFailed);
    assert!(failed.failure_code.is_some() && failed.failure_message.is_some());
    emu.api.delete_association(&created.id).await.unwrap();
    let failed = emu.api.get_association(&created.id).await.unwrap();
    assert_eq!(failed.status, AssociationState::DeleteFailed);

    emu.fake.set_faults(Faults {
        latency_ms: 100,
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    emu.api.get_association(&created.id).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn admin_endpoints_script_faults_and_show_state() {
    let (emu, network, service) = start().await;
    let http = http();
    let reply = http
        .put(format!("{}/_emulator/faults", emu.url))
        .json(&json!({ "throttle": 2, "retryAfterSeconds": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let echoed: Faults = reply.json().await.unwrap();
    assert_eq!(echoed.throttle, 2);
    assert_eq!(emu.fake.faults().retry_after_seconds, Some(3));
    let current: Faults = http
        .get(format!("{}/_emulator/faults", emu.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current, echoed);
    emu.fake.set_faults(Faults::default());

    let seeded = emu
        .fake
        .seed_association(&network.id, &service.id, tags(&[("owner", "someone-else")]));
    emu.api.get_association(&seeded.id).await.unwrap();
    let calls: Value = http
        .get(format!("{}/_emulator/calls", emu.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["calls"][0]["operation"], "GetServiceNetworkServiceAssociation");
    let all: Value = http
        .get(format!("{}/_emulator/associations", emu.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"][0]["id"], seeded.id.as_str());
    assert_eq!(all["items"][0]["status"], "ACTIVE");
    assert_eq!(all["items"][0]["tags"]["owner"], "someone-else");

    let url = format!("{}/_emulator/associations/{}", emu.url, seeded.id);
    assert_eq!(http.delete(&url).send().await.unwrap().status(), 204);
    assert_eq!(http.delete(&url).send().await.unwrap().status(), 404);
    assert!(emu.fake.associations().is_empty(), "deleted out of band");
    let cleared = http
        .delete(format!("{}/_emulator/calls", emu.url))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(emu.fake.calls().is_empty());
}

// --- AWS's limits: the request quota ---

/// An `Authorization` header as SigV4 writes it, for raw requests as the account `access_key_id`
/// (the emulator reads the key, it does not check the signature).
fn signed(access_key_id: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/20260101/us-east-1/vpc-lattice/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=0"
    )
}

fn by_network(network: &Target) -> ListFilter {
    ListFilter {
        service_network_identifier: Some(network.id.clone()),
        ..ListFilter::default()
    }
}

fn now_ms() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(since.as_millis()).unwrap()
}

#[tokio::test]
async fn the_quota_allows_its_burst_then_throttles_with_retry_after() {
    let (emu, network, _) = start().await;
    let http = http();
    let reply = http
        .put(format!("{}/_emulator/faults", emu.url))
        .json(&json!({ "requestRate": 0.5, "requestBurst": 3 }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let echoed: Faults = reply.json().await.unwrap();
    assert_eq!((echoed.request_rate, echoed.request_burst), (0.5, Some(3)));

    let before = now_ms();
    let filter = by_network(&network);
    for i in 0..3 {
        let page = emu.api.list_associations(&filter, None).await;
        assert!(page.is_ok(), "call {i} is within the burst: {page:?}");
    }
    let e = emu.api.list_associations(&filter, None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled, "{e:?}");
    assert_eq!(e.code, "ThrottlingException");
    // One token takes 2 s at 0.5/s.
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)), "{e:?}");

    // On the wire: 429, the error type, Retry-After and the model's body.
    let reply = http
        .get(format!(
            "{}/servicenetworkserviceassociations?serviceNetworkIdentifier={}",
            emu.url, network.id
        ))
        .header("authorization", signed(KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 429);
    assert_eq!(reply.headers()["x-amzn-ErrorType"], "ThrottlingException");
    let after: u64 = reply.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(after >= 1, "Retry-After {after}");
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["retryAfterSeconds"], after, "{body}");
    assert_eq!(body["serviceCode"], "vpc-lattice", "{body}");
    assert!(body["quotaCode"].as_str().is_some_and(|c| !c.is_empty()), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");

    // The request log: every call timed and attributed, the throttled ones with their Retry-After.
    let calls: Vec<Call> = serde_json::from_value(
        http.get(format!("{}/_emulator/calls", emu.url))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["calls"]
            .take(),
    )
    .unwrap();
    let errors: Vec<Option<&str>> = calls.iter().map(|c| c.error.as_deref()).collect();
    let throttled = Some("ThrottlingException");
    assert_eq!(errors, [None, None, None, throttled, throttled]);
    let until = now_ms();
    for c in &calls {
        assert_eq!(c.operation, "ListServiceNetworkServiceAssociations");
        assert_eq!(c.access_key_id.as_deref(), Some(KEY));
        assert!(
            (before..=until).contains(&c.at_ms),
            "{c:?} between {before} and {until}"
        );
        assert_eq!(c.retry_after_seconds.is_some(), c.error.is_some(), "{c:?}");
    }
    assert_eq!(calls[4].retry_after_seconds, Some(after));
    assert!(calls.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
}

#[tokio::test(start_paused = true)]
async fn the_quota_refills_at_its_rate() {
    let fake = FakeLattice::default();
    let network = fake.create_service_network("shared", None).unwrap();
    fake.set_faults(Faults {
        request_rate: 2.0,
        request_burst: Some(2),
        ..Faults::default()
    });
    let filter = by_network(&network);
    let call = || crate::as_caller(KEY.into(), fake.list_associations(&filter, None));
    call().await.unwrap();
    call().await.unwrap();
    let e = call().await.unwrap_err();
    assert_eq!(
        (e.kind, e.retry_after),
        (ErrorKind::Throttled, Some(Duration::from_secs(1)))
    );
    // A token every 500 ms.
    tokio::time::advance(Duration::from_millis(499)).await;
    assert_eq!(call().await.unwrap_err().kind, ErrorKind::Throttled);
    tokio::time::advance(Duration::from_millis(1)).await;
    call().await.unwrap();
    assert_eq!(call().await.unwrap_err().kind, ErrorKind::Throttled);
    // An idle account refills to its burst and no further.
    tokio::time::advance(Duration::from_secs(60)).await;
    call().await.unwrap();
    call().await.unwrap();
    assert_eq!(call().await.unwrap_err().kind, ErrorKind::Throttled);
    // The default burst is ceil(rate).
    fake.set_faults(Faults {
        request_rate: 2.5,
        ..Faults::default()
    });
    for _ in 0..3 {
        call().await.unwrap();
    }
    assert_eq!(call().await.unwrap_err().kind, ErrorKind::Throttled);
    // 0 is unlimited.
    fake.set_faults(Faults::default());
    for _ in 0..100 {
        call().await.unwrap();
    }
}

#[tokio::test]
async fn the_quota_refills_on_the_wire() {
    let (emu, network, _) = start().await;
    emu.fake.set_faults(Faults {
        request_rate: 10.0,
        request_burst: Some(1),
        ..Faults::default()
    });
    let filter = by_network(&network);
    emu.api.list_associations(&filter, None).await.unwrap();
    let e = emu.api.list_associations(&filter, None).await.unwrap_err();
    assert_eq!(
        (e.kind, e.retry_after),
        (ErrorKind::Throttled, Some(Duration::from_secs(1)))
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    emu.api.list_associations(&filter, None).await.unwrap();

    // Hammered for a second, the account gets about `rate` calls through, never more than
    // burst + rate × elapsed.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = std::time::Instant::now();
    let mut admitted = 0_u32;
    while started.elapsed() < Duration::from_secs(1) {
        if emu.api.list_associations(&filter, None).await.is_ok() {
            admitted += 1;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let bound = 1.0 + 10.0 * started.elapsed().as_secs_f64();
    assert!(
        (5..=bound.floor() as u32).contains(&admitted),
        "{admitted} admitted, bound {bound}"
    );
}

#[tokio::test]
async fn the_quota_is_kept_per_account() {
    let (emu, network, _) = start().await;
    emu.fake.set_faults(Faults {
        request_rate: 0.2,
        request_burst: Some(2),
        ..Faults::default()
    });
    let filter = by_network(&network);
    let other = SdkLattice::new(
        sdk_client(&emu.url, "AKIDOTHERACCOUNT"),
        tagging_client(&emu.url, "AKIDOTHERACCOUNT"),
    );
    for api in [&emu.api, &other] {
        api.list_associations(&filter, None).await.unwrap();
        api.list_associations(&filter, None).await.unwrap();
        let e = api.list_associations(&filter, None).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Throttled);
    }
    // Unsigned requests are an account of their own too.
    let http = http();
    let url = format!(
        "{}/servicenetworkserviceassociations?serviceNetworkIdentifier={}",
        emu.url, network.id
    );
    let statuses = [
        http.get(&url).send().await.unwrap().status(),
        http.get(&url).send().await.unwrap().status(),
        http.get(&url).send().await.unwrap().status(),
    ];
    assert_eq!(statuses.map(|s| s.as_u16()), [200, 200, 429]);
    let keys: Vec<(Option<String>, bool)> = emu
        .fake
        .calls()
        .into_iter()
        .map(|c| (c.access_key_id, c.error.is_some()))
        .collect();
    let key = |k: &str| Some(k.to_string());
    assert_eq!(
        keys,
        [
            (key(KEY), false),
            (key(KEY), false),
            (key(KEY), true),
            (key("AKIDOTHERACCOUNT"), false),
            (key("AKIDOTHERACCOUNT"), false),
            (key("AKIDOTHERACCOUNT"), true),
            (None, false),
            (None, false),
            (None, true),
        ]
    );
}

#[tokio::test]
async fn admin_routes_are_never_throttled() {
    let (emu, network, service) = start().await;
    emu.fake.set_faults(Faults {
        request_rate: 0.1,
        request_burst: Some(1),
        ..Faults::default()
    });
    let filter = by_network(&network);
    emu.api.list_associations(&filter, None).await.unwrap();
    assert_eq!(
        emu.api.list_associations(&filter, None).await.unwrap_err().kind,
        ErrorKind::Throttled
    );
    let http = http();
    let admin = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{}/_emulator/{path}", emu.url))
            .header("authorization", signed(KEY))
    };
    let same_quota = json!({ "requestRate": 0.1, "requestBurst": 1 });
    for _ in 0..5 {
        for path in ["faults", "calls", "callers", "associations"] {
            let status = admin(reqwest::Method::GET, path).send().await.unwrap().status();
            assert_eq!(status, 200, "GET /_emulator/{path}");
        }
        let put = admin(reqwest::Method::PUT, "faults")
            .json(&same_quota)
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
    }
    let seeded = admin(reqwest::Method::POST, "associations")
        .json(&json!({ "serviceNetworkIdentifier": network.arn, "serviceIdentifier": service.id }))
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), 201);
    let seeded: Value = seeded.json().await.unwrap();
    assert_eq!(seeded["status"], "ACTIVE");
    // Setting the same quota again keeps the buckets: the account is still out of tokens.
    assert_eq!(
        emu.api.list_associations(&filter, None).await.unwrap_err().kind,
        ErrorKind::Throttled
    );
    assert_eq!(emu.fake.calls().len(), 3, "admin requests are not API calls");
    // A new quota starts every account full.
    emu.fake.set_faults(Faults {
        request_rate: 0.1,
        request_burst: Some(2),
        ..Faults::default()
    });
    let page = emu.api.list_associations(&filter, None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let bad = admin(reqwest::Method::PUT, "faults")
        .json(&json!({ "requestRate": -1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let bad = admin(reqwest::Method::PUT, "faults")
        .json(&json!({ "requestRate": 1, "requestBurst": 0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        emu.fake.faults().request_burst,
        Some(2),
        "a refused script changes nothing"
    );
}

// --- AWS's limits: pagination ---

/// An emulator whose network `shared` has `n` ACTIVE associations, plus one in another network.
async fn with_associations(n: usize) -> (Running, Target, Vec<String>) {
    let (emu, network, first) = start().await;
    let mut ids = vec![emu.fake.seed_association(&network.id, &first.id, Tags::new()).id];
    for i in 1..n {
        let s = emu.fake.create_service(&format!("svc-{i}"), None).unwrap();
        ids.push(emu.fake.seed_association(&network.id, &s.id, Tags::new()).id);
    }
    let elsewhere = emu.fake.create_service_network("elsewhere", None).unwrap();
    emu.fake.seed_association(&elsewhere.id, &first.id, Tags::new());
    ids.sort();
    (emu, network, ids)
}

#[tokio::test]
async fn lists_page_by_100_through_the_sdk_paginator() {
    let (emu, network, ids) = with_associations(250).await;
    let paginate = |page_size: Option<i32>| {
        emu.client
            .list_service_network_service_associations()
            .service_network_identifier(&network.id)
            .set_max_results(page_size)
            .into_paginator()
            .send()
            .try_collect()
    };
    for page_size in [None, Some(100)] {
        let pages = paginate(page_size).await.unwrap();
        let sizes: Vec<usize> = pages.iter().map(|p| p.items().len()).collect();
        assert_eq!(sizes, [100, 100, 50], "maxResults {page_size:?}");
        let listed: Vec<&str> = pages.iter().flat_map(|p| p.items()).map(|a| a.id().unwrap()).collect();
        assert_eq!(listed, ids, "every association once, in ID order");
        assert!(pages.last().unwrap().next_token().is_none());
    }
    let sizes: Vec<usize> = paginate(Some(30))
        .await
        .unwrap()
        .iter()
        .map(|p| p.items().len())
        .collect();
    assert_eq!(sizes, [30, 30, 30, 30, 30, 30, 30, 30, 10]);
    // The operator's own path: 100 a page, one call each.
    let calls = emu.fake.calls().len();
    assert_eq!(list_all(&emu.api, &by_network(&network)).await.unwrap().len(), 250);
    assert_eq!(emu.fake.calls().len() - calls, 3);
}

#[tokio::test]
async fn max_results_outside_1_to_100_is_refused() {
    let (emu, network, _) = with_associations(3).await;
    for bad in [0, 101, -1] {
        let filter = ListFilter {
            max_results: Some(bad),
            ..by_network(&network)
        };
        let e = emu.api.list_associations(&filter, None).await.unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (ErrorKind::Validation, "ValidationException"),
            "{bad}: {e:?}"
        );
    }
    let http = http();
    for (max, status) in [("0", 400), ("101", 400), ("ten", 400), ("1", 200), ("100", 200)] {
        let reply = http
            .get(format!(
                "{}/servicenetworkserviceassociations?serviceNetworkIdentifier={}&maxResults={max}",
                emu.url, network.id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), status, "maxResults={max}");
        if status == 400 {
            assert_eq!(reply.headers()["x-amzn-ErrorType"], "ValidationException");
        }
    }
}

#[tokio::test]
async fn a_bad_next_token_is_refused() {
    let (emu, network, _) = with_associations(5).await;
    let small = ListFilter {
        max_results: Some(2),
        ..by_network(&network)
    };
    let token = emu
        .api
        .list_associations(&small, None)
        .await
        .unwrap()
        .next_token
        .unwrap();
    // A token is reusable while nothing changes.
    let again = emu.api.list_associations(&small, Some(token.clone())).await.unwrap();
    assert_eq!(
        again,
        emu.api.list_associations(&small, Some(token.clone())).await.unwrap()
    );

    let mut tampered = token.clone();
    let last = if tampered.pop() == Some('0') { '1' } else { '0' };
    tampered.push(last);
    let by_service = ListFilter {
        service_identifier: Some(again.items[0].service_id.clone().unwrap()),
        ..ListFilter::default()
    };
    let other_emulator = {
        let (other, other_network, _) = with_associations(3).await;
        let f = ListFilter {
            max_results: Some(1),
            ..by_network(&other_network)
        };
        other.api.list_associations(&f, None).await.unwrap().next_token.unwrap()
    };
    let cases = [
        (&small, "garbage".to_string()),
        (&small, tampered),
        (&small, token[2..].to_string()),
        (&small, other_emulator),
        (&by_service, token.clone()),
    ];
    for (filter, bad) in cases {
        let e = emu.api.list_associations(filter, Some(bad.clone())).await.unwrap_err();
        assert_eq!(
            (e.kind, e.code.as_str()),
            (ErrorKind::Validation, "ValidationException"),
            "{bad}: {e:?}"
        );
    }
    let reply = http()
        .get(format!(
            "{}/servicenetworkserviceassociations?serviceNetworkIdentifier={}&nextToken=",
            emu.url, network.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        reply.status(),
        400,
        "an empty nextToken (the model's minimum length is 1)"
    );
    assert_eq!(reply.headers()["x-amzn-ErrorType"], "ValidationException");
}

#[tokio::test]
async fn pages_hold_still_under_concurrent_creates_and_deletes() {
    let (emu, network, ids) = with_associations(250).await;
    let filter = by_network(&network);
    let first = emu.api.list_associations(&filter, None).await.unwrap();
    assert_eq!(first.items.len(), 100);
    // Between pages: 60 new associations, one of the first page and one not yet listed deleted.
    for i in 0..60 {
        let s = emu.fake.create_service(&format!("new-{i}"), None).unwrap();
        let req = create(&network, &s, &format!("new-{i}"), Tags::new());
        emu.api.create_association(&req).await.unwrap();
    }
    assert!(emu.fake.delete_out_of_band(&ids[0]));
    assert!(emu.fake.delete_out_of_band(&ids[200]));
    let mut listed: Vec<String> = first.items.into_iter().map(|a| a.id).collect();
    let mut token = first.next_token;
    while let Some(t) = token {
        let page = emu.api.list_associations(&filter, Some(t)).await.unwrap();
        listed.extend(page.items.into_iter().map(|a| a.id));
        token = page.next_token;
    }
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), listed.len(), "no association listed twice");
    for id in ids.iter().filter(|id| **id != ids[200]) {
        assert!(listed.contains(id), "{id}, there before the listing began, is listed");
    }
    assert!(!listed.contains(&ids[200]), "deleted before its page");
    let cursor = &ids[99];
    for a in emu.fake.associations() {
        if a.service_network_id.as_deref() == Some(network.id.as_str()) && !ids.contains(&a.id) {
            assert_eq!(
                listed.contains(&a.id),
                a.id > *cursor,
                "{a:?}: listed iff after the cursor"
            );
        }
    }
}

// --- AWS's limits: provisioning jitter ---

#[tokio::test(start_paused = true)]
async fn provisioning_jitter_stays_within_its_bounds() {
    let fake = FakeLattice::default();
    let network = fake.create_service_network("shared", None).unwrap();
    fake.set_faults(Faults {
        provisioning_delay_ms: 1000,
        provisioning_jitter_ms: 1000,
        ..Faults::default()
    });
    let mut ids = Vec::new();
    for i in 0..40 {
        let s = fake.create_service(&format!("svc-{i}"), None).unwrap();
        let req = create(&network, &s, &format!("t{i}"), Tags::new());
        ids.push(fake.create_association(&req).await.unwrap().id);
    }
    let count = |status: AssociationState| fake.associations().iter().filter(|a| a.status == status).count();
    tokio::time::advance(Duration::from_millis(999)).await;
    assert_eq!(
        count(AssociationState::CreateInProgress),
        40,
        "no create ends before the delay"
    );
    tokio::time::advance(Duration::from_millis(501)).await;
    let active = count(AssociationState::Active);
    assert!(
        (1..40).contains(&active),
        "jitter spreads the ends: {active} of 40 ACTIVE at 1.5 s"
    );
    tokio::time::advance(Duration::from_millis(500)).await;
    assert_eq!(
        count(AssociationState::Active),
        40,
        "every create ends by delay + jitter"
    );

    for id in &ids {
        fake.delete_association(id).await.unwrap();
    }
    tokio::time::advance(Duration::from_millis(999)).await;
    assert_eq!(
        count(AssociationState::DeleteInProgress),
        40,
        "no delete ends before the delay"
    );
    tokio::time::advance(Duration::from_millis(501)).await;
    let left = fake.associations().len();
    assert!(
        (1..40).contains(&left),
        "jitter spreads the deletes: {left} of 40 left at 1.5 s"
    );
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(fake.associations().is_empty(), "every delete ends by delay + jitter");
}

#[tokio::test]
async fn new_knobs_round_trip_and_old_clients_still_work() {
    let (emu, _, _) = start().await;
    let http = http();
    let put = |body: Value| http.put(format!("{}/_emulator/faults", emu.url)).json(&body).send();
    let all: Faults = put(json!({
        "provisioningDelayMs": 2000,
        "provisioningJitterMs": 500,
        "requestRate": 20,
        "requestBurst": 40,
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        all,
        Faults {
            provisioning_delay_ms: 2000,
            provisioning_jitter_ms: 500,
            request_rate: 20.0,
            request_burst: Some(40),
            ..Faults::default()
        }
    );
    let old: Value = put(json!({ "provisioningDelayMs": 10, "throttle": 1 }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(old["requestRate"], 0.0, "absent knobs take their defaults: {old}");
    assert_eq!(old["provisioningJitterMs"], 0);
    assert_eq!(old["requestBurst"], Value::Null);
    // An old log reader's view: the old fields are unchanged, the new ones are added.
    let call: Call = serde_json::from_value(json!({ "operation": "X", "error": null })).unwrap();
    assert_eq!((call.at_ms, call.access_key_id), (0, None));
}

// --- The Resource Groups Tagging API: GetResources ---

/// The tag the operator marks its associations with, in these tests.
const MANAGED: (&str, &str) = ("managed-by", "vlo");

/// A `GetResources` for associations carrying `MANAGED`, as the operator sends it.
fn get_managed(
    tagging: &aws_sdk_resourcegroupstagging::Client,
) -> aws_sdk_resourcegroupstagging::operation::get_resources::builders::GetResourcesFluentBuilder {
    tagging
        .get_resources()
        .resource_type_filters(ASSOCIATION_RESOURCE_TYPE)
        .tag_filters(TagFilter::builder().key(MANAGED.0).values(MANAGED.1).build())
        .resources_per_page(100)
}

/// The ARNs and tags of one `GetResources` reply.
fn mappings(out: &aws_sdk_resourcegroupstagging::operation::get_resources::GetResourcesOutput) -> Vec<(String, Tags)> {
    out.resource_tag_mapping_list()
        .iter()
        .map(|m| {
            let tags = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            (m.resource_arn().unwrap().to_string(), tags)
        })
        .collect()
}

/// Every association carrying `MANAGED`, through the SDK's paginator.
async fn managed(tagging: &aws_sdk_resourcegroupstagging::Client) -> BTreeMap<String, Tags> {
    let pages = get_managed(tagging)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    pages.iter().flat_map(mappings).collect()
}

/// A raw awsJson1_1 request to the emulator, signed as `KEY`.
async fn aws_json(url: &str, target: &str, body: &Value) -> reqwest::Response {
    http()
        .post(format!("{url}/"))
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.1")
        .header("authorization", signed(KEY))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

const GET_RESOURCES: &str = "ResourceGroupsTaggingAPI_20170126.GetResources";

/// An emulator with `n` ACTIVE associations in the network `shared`: the first `tagged` (in creation
/// order) carry `MANAGED` and tags of their own, half of the others `managed-by` with another value,
/// the rest other tags only. Returns the tagged ones' ARNs with their tags.
async fn with_tagged(n: usize, tagged: usize) -> (Running, Target, BTreeMap<String, Tags>) {
    let (emu, network, _) = start().await;
    let mut expected = BTreeMap::new();
    for i in 0..n {
        let s = emu.fake.create_service(&format!("tagged-{i}"), None).unwrap();
        let index = i.to_string();
        let tags = if i < tagged {
            tags(&[MANAGED, ("index", &index), ("team", ["a", "b", "c"][i % 3])])
        } else if i % 2 == 0 {
            tags(&[("managed-by", "someone-else"), ("index", &index)])
        } else {
            tags(&[("index", &index)])
        };
        let a = emu.fake.seed_association(&network.id, &s.id, tags.clone());
        if i < tagged {
            expected.insert(a.arn, tags);
        }
    }
    (emu, network, expected)
}

#[tokio::test]
async fn get_resources_pages_the_tagged_associations_with_all_their_tags() {
    let (emu, _, expected) = with_tagged(250, 230).await;
    let pages = get_managed(&emu.tagging)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    let sizes: Vec<usize> = pages.iter().map(|p| p.resource_tag_mapping_list().len()).collect();
    assert_eq!(sizes, [100, 100, 30]);
    assert_eq!(emu.fake.count("GetResources"), 3, "one call per page");
    assert_eq!(
        pages.last().unwrap().pagination_token(),
        Some(""),
        "the last page says so"
    );
    let got: Vec<(String, Tags)> = pages.iter().flat_map(mappings).collect();
    let want: Vec<(String, Tags)> = expected.clone().into_iter().collect();
    assert_eq!(
        got, want,
        "every tagged association once, in ARN order, with all its tags"
    );

    // Without ResourcesPerPage the pages are as large; the operator's adapter and the fake in-process
    // read the same.
    let unsized_pages = get_managed(&emu.tagging)
        .set_resources_per_page(None)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(unsized_pages.len(), 3);
    let calls = emu.fake.count("GetResources");
    let through_adapter = tagged_all(&emu.api, MANAGED).await.unwrap();
    assert_eq!(emu.fake.count("GetResources") - calls, 3);
    let in_process = tagged_all(emu.fake.as_ref(), MANAGED).await.unwrap();
    for items in [through_adapter, in_process] {
        let items: Vec<(String, Tags)> = items.into_iter().map(|t| (t.arn, t.tags)).collect();
        assert_eq!(items, want);
    }

    // Smaller pages, and a token from the adapter's first page resumes on the wire.
    let sizes: Vec<usize> = get_managed(&emu.tagging)
        .resources_per_page(40)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap()
        .iter()
        .map(|p| p.resource_tag_mapping_list().len())
        .collect();
    assert_eq!(sizes, [40, 40, 40, 40, 40, 30]);
    let first = emu.api.tagged_associations(MANAGED, None).await.unwrap();
    let token = first.next_token.unwrap();
    let second = get_managed(&emu.tagging).pagination_token(token).send().await.unwrap();
    assert_eq!(mappings(&second), want[100..200]);
}

#[tokio::test]
async fn get_resources_sees_tag_changes_at_once() {
    let (emu, _, expected) = with_tagged(6, 3).await;
    let arns: Vec<String> = emu.fake.associations().into_iter().map(|a| a.arn).collect();
    assert_eq!(managed(&emu.tagging).await, expected);
    let untagged = arns.iter().find(|a| !expected.contains_key(*a)).unwrap();
    let [first, second, third] = [0, 1, 2].map(|i| expected.keys().nth(i).unwrap().clone());

    // Through VPC Lattice's TagResource and UntagResource, as the operator changes them.
    emu.api.tag_resource(&first, &tags(&[("env", "prod")])).await.unwrap();
    emu.api.tag_resource(untagged, &tags(&[MANAGED])).await.unwrap();
    emu.api.untag_resource(&second, &[MANAGED.0.to_string()]).await.unwrap();
    let now = managed(&emu.tagging).await;
    assert_eq!(now.len(), 3, "{now:?}");
    let mut retagged = expected[&first].clone();
    retagged.insert("env".into(), "prod".into());
    assert_eq!(now[&first], retagged, "new tags show with the old ones");
    assert_eq!(now[&third], expected[&third]);
    assert!(now.contains_key(untagged), "tagged since");
    assert!(!now.contains_key(&second), "untagged since");

    // Deleted associations are gone from the Tagging API too; one being deleted is still there.
    let id = |arn: &str| arn.rsplit('/').next().unwrap().to_string();
    emu.fake.set_faults(Faults {
        provisioning_delay_ms: 60_000,
        ..Faults::default()
    });
    emu.api.delete_association(&id(&first)).await.unwrap();
    assert!(emu.fake.delete_out_of_band(&id(untagged)));
    let now = managed(&emu.tagging).await;
    assert_eq!(now.keys().collect::<Vec<_>>(), [&first, &third]);
}

#[tokio::test]
async fn tag_filters_and_resource_types_select_as_aws_does() {
    let (emu, _, expected) = with_tagged(6, 3).await;
    let arns = |v: &Value| -> Vec<String> {
        v["ResourceTagMappingList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["ResourceARN"].as_str().unwrap().to_string())
            .collect()
    };
    // Three carry MANAGED (teams a, b, c), one `managed-by: someone-else`, two only `index`.
    let all: BTreeMap<String, Tags> = emu
        .fake
        .associations()
        .into_iter()
        .map(|a| {
            let tags = emu.fake.tags_of(&a.arn);
            (a.arn, tags)
        })
        .collect();
    let having = |keep: &dyn Fn(&Tags) -> bool| -> Vec<String> {
        all.iter().filter(|(_, t)| keep(t)).map(|(a, _)| a.clone()).collect()
    };
    let managed_by_anyone = having(&|t| t.contains_key("managed-by"));
    assert_eq!(managed_by_anyone.len(), 4);
    let team_a = having(&|t| t.get("team").is_some_and(|v| v == "a"));
    assert_eq!(team_a.len(), 1);
    assert!(expected.contains_key(&team_a[0]));
    let all: Vec<String> = all.into_keys().collect();
    let cases = [
        // Values of one key are alternatives; a key without values matches any value.
        (
            json!({ "TagFilters": [{ "Key": "managed-by", "Values": ["vlo", "someone-else"] }] }),
            managed_by_anyone.clone(),
        ),
        (json!({ "TagFilters": [{ "Key": "managed-by" }] }), managed_by_anyone),
        // Filters must all match.
        (
            json!({ "TagFilters": [{ "Key": "managed-by", "Values": ["vlo"] }, { "Key": "team", "Values": ["a"] }] }),
            team_a,
        ),
        // No filters: every tagged resource; the service's name or the association type select
        // associations, another type nothing.
        (json!({}), all.clone()),
        (json!({ "ResourceTypeFilters": ["vpc-lattice"] }), all.clone()),
        (
            json!({ "ResourceTypeFilters": ["ec2:instance", ASSOCIATION_RESOURCE_TYPE] }),
            all,
        ),
        (json!({ "ResourceTypeFilters": ["ec2:instance"] }), vec![]),
        (
            json!({ "ResourceTypeFilters": ["vpc-lattice:service"], "TagFilters": [{ "Key": "managed-by" }] }),
            vec![],
        ),
    ];
    for (body, want) in cases {
        let reply = aws_json(&emu.url, GET_RESOURCES, &body).await;
        assert_eq!(reply.status(), 200, "{body}");
        assert_eq!(reply.headers()["content-type"], "application/x-amz-json-1.1");
        let got: Value = reply.json().await.unwrap();
        assert_eq!(arns(&got), want, "{body}");
        assert_eq!(got["PaginationToken"], "", "{body}");
    }
}

#[tokio::test]
async fn a_throttled_account_gets_throttled_exception() {
    let (emu, _, _) = with_tagged(3, 3).await;
    emu.fake.set_faults(Faults {
        request_rate: 0.1,
        request_burst: Some(1),
        ..Faults::default()
    });
    get_managed(&emu.tagging).send().await.unwrap();
    let e = get_managed(&emu.tagging).send().await.unwrap_err();
    assert_eq!(e.code(), Some("ThrottledException"), "{e:?}");
    assert_eq!(e.raw_response().unwrap().status().as_u16(), 400);
    assert!(e.into_service_error().is_throttled_exception());
    // Through the adapter, a throttle the reconciler backs off from.
    let e = emu.api.tagged_associations(MANAGED, None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Throttled, "{e:?}");
    // On the wire: 400, the error type in the header and in the body.
    let reply = aws_json(&emu.url, GET_RESOURCES, &json!({})).await;
    assert_eq!(reply.status(), 400);
    assert_eq!(reply.headers()["x-amzn-ErrorType"], "ThrottledException");
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["__type"], "ThrottledException");
    assert!(body["Message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    // Another account has its own quota.
    get_managed(&tagging_client(&emu.url, "AKIDOTHERACCOUNT"))
        .send()
        .await
        .unwrap();

    // The scripted faults, named as the Tagging API names them.
    let cases = [
        (
            Faults {
                throttle: 1,
                ..Faults::default()
            },
            "ThrottledException",
            400,
        ),
        (
            Faults {
                server_errors: 1,
                ..Faults::default()
            },
            "InternalServiceException",
            500,
        ),
    ];
    for (faults, code, status) in cases {
        emu.fake.set_faults(faults);
        let e = get_managed(&emu.tagging).send().await.unwrap_err();
        assert_eq!(e.code(), Some(code), "{e:?}");
        assert_eq!(e.raw_response().unwrap().status().as_u16(), status);
        get_managed(&emu.tagging).send().await.unwrap();
    }
    let errors: Vec<Option<String>> = emu
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.access_key_id.as_deref() == Some(KEY))
        .map(|c| c.error)
        .collect();
    let code = |c: &str| Some(c.to_string());
    assert_eq!(
        errors,
        [
            None,
            code("ThrottledException"),
            code("ThrottledException"),
            code("ThrottledException"),
            code("ThrottledException"),
            None,
            code("InternalServiceException"),
            None,
        ]
    );
}

#[tokio::test]
async fn invalid_get_resources_are_refused() {
    let (emu, network, _) = with_tagged(3, 3).await;
    for bad in [101, 0, -1] {
        let e = get_managed(&emu.tagging)
            .resources_per_page(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("InvalidParameterException"), "{bad}: {e:?}");
        assert!(e.into_service_error().is_invalid_parameter_exception());
    }
    let reply = aws_json(&emu.url, GET_RESOURCES, &json!({ "ResourcesPerPage": 101 })).await;
    assert_eq!(reply.status(), 400);
    assert_eq!(reply.headers()["x-amzn-ErrorType"], "InvalidParameterException");
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["__type"], "InvalidParameterException", "{body}");

    // Tokens: only this emulator's, for this query; an empty one is the first page.
    let list_token = {
        let filter = ListFilter {
            max_results: Some(1),
            ..by_network(&network)
        };
        emu.api
            .list_associations(&filter, None)
            .await
            .unwrap()
            .next_token
            .unwrap()
    };
    let token = get_managed(&emu.tagging)
        .resources_per_page(1)
        .send()
        .await
        .unwrap()
        .pagination_token()
        .unwrap()
        .to_string();
    let other_filter = emu
        .tagging
        .get_resources()
        .tag_filters(TagFilter::builder().key("team").values("a").build())
        .pagination_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(other_filter.code(), Some("InvalidParameterException"));
    for bad in ["garbage".to_string(), list_token, token[2..].to_string()] {
        let e = get_managed(&emu.tagging)
            .pagination_token(&bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("InvalidParameterException"), "{bad}: {e:?}");
    }
    let first = get_managed(&emu.tagging).pagination_token("").send().await.unwrap();
    assert_eq!(first.resource_tag_mapping_list().len(), 3);
    let second = get_managed(&emu.tagging)
        .resources_per_page(1)
        .pagination_token(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(mappings(&second), mappings(&first)[1..2]);

    // Filters AWS refuses (the ARN list's refusals: `tags_of_refuses_what_aws_refuses`).
    for body in [
        json!({ "TagFilters": [{ "Values": ["x"] }] }),
        json!({ "TagFilters": [{ "Key": "" }] }),
        json!({ "TagFilters": [{ "Key": "k", "Values": vec!["v"; 21] }] }),
    ] {
        let reply = aws_json(&emu.url, GET_RESOURCES, &body).await;
        assert_eq!(reply.status(), 400, "{body}");
        assert_eq!(
            reply.headers()["x-amzn-ErrorType"],
            "InvalidParameterException",
            "{body}"
        );
    }
    let reply = aws_json(&emu.url, GET_RESOURCES, &json!({ "ResourcesPerPage": "ten" })).await;
    assert_eq!(reply.status(), 400);
    assert_eq!(reply.headers()["x-amzn-ErrorType"], "SerializationException");
    let reply = aws_json(&emu.url, "ResourceGroupsTaggingAPI_20170126.TagResources", &json!({})).await;
    assert_eq!(reply.status(), 400);
    assert_eq!(reply.headers()["x-amzn-ErrorType"], "UnknownOperationException");
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn get_resources_is_logged_and_attributed_like_every_call() {
    let (emu, _, expected) = with_tagged(3, 2).await;
    assert_eq!(managed(&emu.tagging).await, expected);
    let other = tagging_client(&emu.url, "AKIDOTHERACCOUNT");
    get_managed(&other).send().await.unwrap();
    let calls: Vec<Call> = serde_json::from_value(
        http()
            .get(format!("{}/_emulator/calls", emu.url))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["calls"]
            .take(),
    )
    .unwrap();
    let logged: Vec<(&str, Option<&str>, Option<&str>)> = calls
        .iter()
        .map(|c| (c.operation.as_str(), c.access_key_id.as_deref(), c.error.as_deref()))
        .collect();
    assert_eq!(
        logged,
        [
            ("GetResources", Some(KEY), None),
            ("GetResources", Some("AKIDOTHERACCOUNT"), None),
        ]
    );
    let callers: Vec<(String, String, String)> = emu
        .fake
        .callers()
        .into_iter()
        .map(|c| (c.method, c.path, c.access_key_id))
        .collect();
    let caller = |k: &str| ("POST".to_string(), "/".to_string(), k.to_string());
    assert_eq!(callers, [caller(KEY), caller("AKIDOTHERACCOUNT")]);
}

#[tokio::test]
async fn tagged_pages_hold_still_under_concurrent_changes() {
    let fake = FakeLattice::default();
    let network = fake.create_service_network("shared", None).unwrap();
    for i in 0..150 {
        let s = fake.create_service(&format!("svc-{i}"), None).unwrap();
        fake.seed_association(&network.id, &s.id, tags(&[MANAGED]));
    }
    let before: Vec<String> = fake.associations().into_iter().map(|a| a.arn).collect();
    let first = fake.tagged_associations(MANAGED, None).await.unwrap();
    assert_eq!(first.items.len(), 100);
    // Between pages: one listed and one not yet listed deleted, 20 new ones.
    let id = |arn: &str| arn.rsplit('/').next().unwrap().to_string();
    assert!(fake.delete_out_of_band(&id(&before[0])));
    assert!(fake.delete_out_of_band(&id(&before[120])));
    for i in 0..20 {
        let s = fake.create_service(&format!("new-{i}"), None).unwrap();
        fake.seed_association(&network.id, &s.id, tags(&[MANAGED]));
    }
    let mut listed: Vec<String> = first.items.into_iter().map(|t| t.arn).collect();
    let mut token = first.next_token;
    while let Some(t) = token {
        let page = fake.tagged_associations(MANAGED, Some(t)).await.unwrap();
        listed.extend(page.items.into_iter().map(|t| t.arn));
        token = page.next_token;
    }
    let cursor = before[99].clone();
    for arn in &before {
        assert_eq!(listed.contains(arn), *arn != before[120], "{arn}");
    }
    for a in fake.associations() {
        if !before.contains(&a.arn) {
            assert_eq!(
                listed.contains(&a.arn),
                a.arn > cursor,
                "{a:?}: listed iff after the cursor"
            );
        }
    }
    let mut unique = listed.clone();
    unique.dedup();
    assert_eq!(unique.len(), listed.len(), "none listed twice");
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "in ARN order");
}

// --- GetResources by ARN (`ResourceARNList`): `LatticeApi::tags_of` ---

/// A `GetResources` by these ARNs, as the operator's adapter sends it.
fn by_arn(
    tagging: &aws_sdk_resourcegroupstagging::Client,
    arns: &[String],
) -> aws_sdk_resourcegroupstagging::operation::get_resources::builders::GetResourcesFluentBuilder {
    tagging.get_resources().set_resource_arn_list(Some(arns.to_vec()))
}

/// An ARN of an association this emulator never had.
const UNKNOWN_ARN: &str =
    "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef0";

#[tokio::test]
async fn tags_of_answers_the_listed_associations_with_tags_in_arn_order() {
    let (emu, network, expected) = with_tagged(6, 3).await;
    let all: Vec<String> = emu.fake.associations().into_iter().map(|a| a.arn).collect();
    let others: Vec<&String> = all.iter().filter(|a| !expected.contains_key(*a)).collect();
    // One never tagged, one whose every tag was removed since; a tagged service (the emulator's
    // Tagging API serves associations only).
    let plain = emu.fake.create_service("plain", None).unwrap();
    let never_tagged = emu.fake.seed_association(&network.id, &plain.id, Tags::new()).arn;
    let untagged = others[0].clone();
    emu.api
        .untag_resource(&untagged, &["managed-by".into(), "index".into()])
        .await
        .unwrap();
    assert!(emu.fake.tags_of(&untagged).is_empty());
    let service = emu.fake.create_service("tagged-service", None).unwrap();
    emu.api.tag_resource(&service.arn, &tags(&[MANAGED])).await.unwrap();
    // Asked in reverse ARN order, one twice, with what has no tags or is no association mixed in.
    let tagged: Vec<String> = expected.keys().rev().cloned().collect();
    let mut asked = vec![UNKNOWN_ARN.to_string(), never_tagged.clone()];
    asked.extend(tagged.iter().cloned());
    asked.extend([
        untagged.clone(),
        service.arn.clone(),
        "not-an-arn".into(),
        others[1].clone(),
        tagged[0].clone(),
    ]);
    let mut want: Vec<(String, Tags)> = expected.clone().into_iter().collect();
    want.push((others[1].clone(), emu.fake.tags_of(others[1])));
    want.sort();

    // The real client: one answer, in ARN order, its token empty.
    emu.fake.clear_calls();
    let out = by_arn(&emu.tagging, &asked).send().await.unwrap();
    assert_eq!(
        mappings(&out),
        want,
        "the listed associations with tags, once each, in ARN order"
    );
    assert_eq!(out.pagination_token(), Some(""));
    // The adapter and the fake in-process answer the same.
    let through_adapter = emu.api.tags_of(&asked).await.unwrap();
    let in_process = LatticeApi::tags_of(emu.fake.as_ref(), &asked).await.unwrap();
    for items in [through_adapter, in_process] {
        let items: Vec<(String, Tags)> = items.into_iter().map(|t| (t.arn, t.tags)).collect();
        assert_eq!(items, want);
    }
    // Only unknown, untagged or other resources: an empty answer, not an error.
    let none = [UNKNOWN_ARN.to_string(), never_tagged, untagged, service.arn];
    assert_eq!(emu.api.tags_of(&none).await.unwrap(), []);

    // Each a call of GetResources, logged like every call.
    let logged: Vec<(String, Option<String>, Option<String>)> = emu
        .fake
        .calls()
        .into_iter()
        .map(|c| (c.operation, c.access_key_id, c.error))
        .collect();
    let wire = ("GetResources".to_string(), Some(KEY.to_string()), None);
    let in_process = ("GetResources".to_string(), None, None);
    assert_eq!(logged, [wire.clone(), wire.clone(), in_process, wire]);

    // An association being deleted is still answered; once gone, no more.
    let id = |arn: &str| arn.rsplit('/').next().unwrap().to_string();
    emu.fake.set_faults(Faults {
        provisioning_delay_ms: 60_000,
        ..Faults::default()
    });
    let [deleting, gone] = [0, 1].map(|i| expected.keys().nth(i).unwrap().clone());
    emu.api.delete_association(&id(&deleting)).await.unwrap();
    assert!(emu.fake.delete_out_of_band(&id(&gone)));
    let items = emu.api.tags_of(&[gone.clone(), deleting.clone()]).await.unwrap();
    assert_eq!(
        items.iter().map(|t| t.arn.as_str()).collect::<Vec<_>>(),
        [deleting.as_str()]
    );
    assert_eq!(items[0].tags, expected[&deleting]);

    // Under the same faults and quota as every call, named as the Tagging API names them.
    emu.fake.set_faults(Faults {
        throttle: 1,
        ..Faults::default()
    });
    let e = emu.api.tags_of(&tagged).await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_str()),
        (ErrorKind::Throttled, "ThrottledException"),
        "{e:?}"
    );
    emu.fake.set_faults(Faults {
        server_errors: 1,
        ..Faults::default()
    });
    let e = by_arn(&emu.tagging, &tagged).send().await.unwrap_err();
    assert_eq!(e.code(), Some("InternalServiceException"), "{e:?}");
    assert_eq!(emu.api.tags_of(&tagged).await.unwrap().len(), 2, "all but the one gone");
}

#[tokio::test]
async fn tags_of_refuses_what_aws_refuses() {
    let (emu, _, expected) = with_tagged(3, 3).await;
    let tagged: Vec<String> = expected.keys().cloned().collect();
    // Up to 100 ARNs, unknown ones included, in one call; 101 or none are refused.
    let mut hundred = tagged.clone();
    hundred.extend((hundred.len()..100).map(|i| format!("{}{i:03}", &UNKNOWN_ARN[..UNKNOWN_ARN.len() - 3])));
    assert_eq!(hundred.len(), 100);
    assert_eq!(emu.api.tags_of(&hundred).await.unwrap().len(), 3);
    let mut too_many = hundred.clone();
    too_many.push(UNKNOWN_ARN.to_string());
    for arns in [too_many.clone(), Vec::new()] {
        let e = by_arn(&emu.tagging, &arns).send().await.unwrap_err();
        assert_eq!(e.code(), Some("InvalidParameterException"), "{}: {e:?}", arns.len());
        assert_eq!(e.raw_response().unwrap().status().as_u16(), 400);
        assert!(e.into_service_error().is_invalid_parameter_exception());
        for e in [
            emu.api.tags_of(&arns).await.unwrap_err(),
            LatticeApi::tags_of(emu.fake.as_ref(), &arns).await.unwrap_err(),
        ] {
            assert_eq!(
                (e.kind, e.code.as_str()),
                (ErrorKind::Validation, "InvalidParameterException"),
                "{}: {e:?}",
                arns.len()
            );
        }
    }
    let e = emu.api.tags_of(&too_many).await.unwrap_err();
    assert!(e.message.contains("less than or equal to 100"), "{e:?}");

    // The list with a paging parameter or a filter: refused, whatever its value.
    let one = &tagged[..1];
    let refused = [
        by_arn(&emu.tagging, one).pagination_token("token"),
        by_arn(&emu.tagging, one).pagination_token(""),
        by_arn(&emu.tagging, one).resources_per_page(100),
        by_arn(&emu.tagging, one).tags_per_page(100),
        by_arn(&emu.tagging, one).resource_type_filters(ASSOCIATION_RESOURCE_TYPE),
        by_arn(&emu.tagging, one).tag_filters(TagFilter::builder().key(MANAGED.0).values(MANAGED.1).build()),
    ];
    for request in refused {
        let e = request.send().await.unwrap_err();
        assert_eq!(e.code(), Some("InvalidParameterException"), "{e:?}");
        assert!(e.message().is_some_and(|m| m.contains("ResourceARNList")), "{e:?}");
    }
    let reply = aws_json(
        &emu.url,
        GET_RESOURCES,
        &json!({ "ResourceARNList": one, "PaginationToken": "x", "TagsPerPage": 100 }),
    )
    .await;
    assert_eq!(reply.status(), 400);
    assert_eq!(reply.headers()["x-amzn-ErrorType"], "InvalidParameterException");
    let body: Value = reply.json().await.unwrap();
    assert_eq!(
        body["Message"],
        "You can't specify both ResourceARNList and TagsPerPage, PaginationToken in the same request"
    );
    // On the wire an empty list is there (refused), a null one is not (the query form, every
    // tagged association).
    let reply = aws_json(&emu.url, GET_RESOURCES, &json!({ "ResourceARNList": [] })).await;
    assert_eq!(reply.status(), 400);
    let reply = aws_json(&emu.url, GET_RESOURCES, &json!({ "ResourceARNList": null })).await;
    assert_eq!(reply.status(), 200);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["ResourceTagMappingList"].as_array().unwrap().len(), 3);

    // Every refusal is a logged GetResources call.
    let calls = emu.fake.calls();
    assert!(calls.iter().all(|c| c.operation == "GetResources"));
    let refusals = calls
        .iter()
        .filter(|c| c.error.as_deref() == Some("InvalidParameterException"))
        .count();
    assert_eq!(refusals, 2 * 3 + 1 + 6 + 1 + 1);
}

/// Two regions behind one endpoint: each request reaches the state of the region it is signed
/// for (its services, networks, associations, ARNs and call log), and an unsigned one the first.
#[tokio::test]
async fn one_endpoint_serves_each_region_its_own_state() {
    let east = Arc::new(FakeLattice::new("111122223333", "us-east-1"));
    let west = Arc::new(FakeLattice::new("111122223333", "us-west-2"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = crate::regional_router(vec![east.clone(), west.clone()]);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let in_region = |region: &'static str| {
        let config = aws_sdk_vpclattice::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&url)
            .region(Region::new(region))
            .credentials_provider(Credentials::new(KEY, "secret", None, None, "static"))
            .retry_config(RetryConfig::disabled())
            .build();
        aws_sdk_vpclattice::Client::from_conf(config)
    };
    let (e, w) = (in_region("us-east-1"), in_region("us-west-2"));
    let made = w.create_service_network().name("west-only").send().await.unwrap();
    assert!(made.arn().unwrap().contains(":us-west-2:"), "{:?}", made.arn());
    e.create_service_network().name("east-only").send().await.unwrap();
    let names = |c: aws_sdk_vpclattice::Client| async move {
        let out = c.list_service_networks().send().await.unwrap();
        out.items()
            .iter()
            .map(|n| n.name().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(e.clone()).await, ["east-only"]);
    assert_eq!(names(w.clone()).await, ["west-only"]);
    assert_eq!(
        (east.count("ListServiceNetworks"), west.count("ListServiceNetworks")),
        (1, 1)
    );
    let unsigned = http().get(format!("{url}/servicenetworks")).send().await.unwrap();
    let body: Value = unsigned.json().await.unwrap();
    assert_eq!(body["items"][0]["name"], "east-only", "unsigned: the first region");
    task.abort();
}
