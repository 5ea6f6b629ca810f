//! The emulator through the operator's own adapter (`SdkLattice` over aws-sdk-vpclattice) on a
//! loopback port: the wire protocol, the association state machine, the fault knobs and the
//! `/_emulator/` endpoints, with no control plane.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_vpclattice::config::retry::RetryConfig;
use aws_sdk_vpclattice::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};
use vpc_lattice_operator::lattice::sdk::SdkLattice;
use vpc_lattice_operator::lattice::{
    AssociationState, CreateAssociation, ErrorKind, LatticeApi, LatticeError, ListFilter, Tags, list_all,
};

use crate::{FakeLattice, Faults, Target};

/// The emulator on a loopback port, the operator's adapter pointed at it and direct access to its state.
struct Running {
    fake: Arc<FakeLattice>,
    url: String,
    api: SdkLattice,
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
    let config = aws_sdk_vpclattice::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEMULATORTEST", "secret", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .build();
    let api = SdkLattice::new(aws_sdk_vpclattice::Client::from_conf(config));
    (Running { fake, url, api, task }, network, service)
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
    assert!(
        callers.iter().all(|c| c.access_key_id == "AKIDEMULATORTEST"),
        "{callers:?}"
    );
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
