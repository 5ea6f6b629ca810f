//! STS on the emulator's port through the real SDK, as the operator uses it: aws-config's
//! `AssumeRoleProvider` (whose keys then sign VPC Lattice calls the fake maps back to roles), the
//! default chain with IRSA's environment (in a child process, since the environment is per process),
//! aws-sdk-sts for the shapes and errors, the fault knobs in-process and over `/_emulator/sts/`.

use std::error::Error as StdError;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ConnectorError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::RequestId;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_sdk_vpclattice::config::retry::RetryConfig;
use aws_sdk_vpclattice::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_vpclattice::operation::list_service_network_service_associations::ListServiceNetworkServiceAssociationsError as ListError;
use serde_json::{Value, json};
use vpc_lattice_operator::lattice::sdk::SdkLattice;
use vpc_lattice_operator::lattice::{ErrorKind, LatticeApi, ListFilter};

use super::query::{iso8601, now_ms};
use super::{InjectedStsError, StsCall, StsFaults, XMLNS};
use crate::{FakeLattice, Faults};

const ROLE: &str = "arn:aws:iam::444455556666:role/tenants/lattice-tenant";
/// The key the operator's own (base) credentials sign with.
const BASE_KEY: &str = "AKIDOPERATORBASE";

struct Emu {
    fake: Arc<FakeLattice>,
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Emu {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Emu {
    let fake = Arc::new(FakeLattice::default());
    fake.create_service_network("shared", None).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = fake.clone();
    let task = tokio::spawn(async move {
        let _ = crate::serve(listener, served).await;
    });
    Emu { fake, url, task }
}

/// The operator's base configuration: static credentials, every service (STS included) at `url`.
async fn base(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(BASE_KEY, "secret", None, None, "static"))
        .retry_config(RetryConfig::disabled())
        .load()
        .await
}

/// `base` with the credentials of `AssumeRole` on `role`, as the operator builds a namespace's client.
async fn assumed(base: &SdkConfig, role: &str, external_id: Option<&str>) -> SdkConfig {
    let mut builder = AssumeRoleProvider::builder(role).session_name("vpc-lattice-operator");
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    let provider = builder.configure(base).build().await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

fn sts(config: &SdkConfig) -> aws_sdk_sts::Client {
    aws_sdk_sts::Client::new(config)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Each error of a chain as `<type>: <Display>`, the types the operator may meet named.
fn chain(e: &(dyn StdError + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = Some(e);
    while let Some(e) = at {
        let kind = if e.is::<ConnectorError>() {
            "ConnectorError"
        } else if e.is::<CredentialsError>() {
            "CredentialsError"
        } else if e.is::<SdkError<AssumeRoleError, HttpResponse>>() {
            "SdkError<AssumeRoleError>"
        } else if e.is::<AssumeRoleError>() {
            "AssumeRoleError"
        } else if e.is::<SdkError<ListError, HttpResponse>>() {
            "SdkError<ListServiceNetworkServiceAssociationsError>"
        } else if e.is::<aws_sdk_sts::error::ErrorMetadata>() {
            "ErrorMetadata"
        } else {
            "?"
        };
        out.push(format!("{kind}: {e}"));
        at = e.source();
    }
    out
}

#[tokio::test]
async fn an_assumed_roles_key_signs_lattice_calls_the_fake_maps_back_to_the_role() {
    let emu = start().await;
    let base = base(&emu.url).await;
    let config = assumed(&base, ROLE, None).await;
    let lattice = aws_sdk_vpclattice::Client::new(&config);
    let listed = lattice.list_service_networks().send().await.unwrap();
    assert_eq!(listed.items().len(), 1);

    let calls = emu.fake.sts_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let c = &calls[0];
    assert_eq!(c.action, "AssumeRole");
    assert_eq!(c.role_arn.as_deref(), Some(ROLE));
    assert_eq!(c.session_name.as_deref(), Some("vpc-lattice-operator"));
    assert_eq!(
        c.access_key_id.as_deref(),
        Some(BASE_KEY),
        "AssumeRole is signed with the base key"
    );
    assert_eq!((c.status, c.error.as_deref()), (200, None));
    let issued = c.issued_access_key_id.clone().unwrap();
    assert!(issued.starts_with("ASIA") && issued.len() == 20, "{issued}");

    // The Lattice call was signed with the issued key, which the fake maps to the role; STS is in
    // neither the Lattice call log nor its caller log.
    let callers = emu.fake.callers();
    assert_eq!(callers.len(), 1, "{callers:?}");
    assert_eq!(callers[0].access_key_id, issued);
    assert_eq!(emu.fake.role_of_key(&issued).as_deref(), Some(ROLE));
    assert_eq!(emu.fake.role_of_key(BASE_KEY), None);
    assert!(emu.fake.calls().iter().all(|c| c.operation != "AssumeRole"));
    let session = emu.fake.session_of_key(&issued).unwrap();
    assert_eq!(
        session.assumed_role_arn,
        "arn:aws:sts::444455556666:assumed-role/lattice-tenant/vpc-lattice-operator"
    );

    // GetCallerIdentity answers for the issued key with its assumed role, for any other key with
    // an IAM user named after the key in the emulator's account.
    let me = sts(&config).get_caller_identity().send().await.unwrap();
    assert_eq!(me.arn(), Some(session.assumed_role_arn.as_str()));
    assert_eq!(me.account(), Some("444455556666"));
    assert_eq!(me.user_id(), Some(session.assumed_role_id.as_str()));
    assert!(session.assumed_role_id.starts_with("AROA") && session.assumed_role_id.ends_with(":vpc-lattice-operator"));
    let base_me = sts(&base).get_caller_identity().send().await.unwrap();
    assert_eq!(base_me.arn(), Some("arn:aws:iam::111122223333:user/AKIDOPERATORBASE"));
    assert_eq!(base_me.account(), Some("111122223333"));
    assert_eq!(emu.fake.sts_count("GetCallerIdentity"), 2);
    assert_eq!(emu.fake.callers().len(), 1, "STS calls are not Lattice callers");
}

#[tokio::test]
async fn each_assume_role_issues_a_fresh_key_and_expires_an_hour_ahead() {
    let emu = start().await;
    let client = sts(&base(&emu.url).await);
    let mut keys = std::collections::BTreeSet::new();
    for _ in 0..3 {
        let out = client
            .assume_role()
            .role_arn(ROLE)
            .role_session_name("s1")
            .send()
            .await
            .unwrap();
        let creds = out.credentials().unwrap();
        keys.insert(creds.access_key_id().to_string());
        assert!(!creds.session_token().is_empty());
        let expires = creds.expiration().secs();
        let ahead = expires - i64::try_from(now_ms() / 1000).unwrap();
        assert!((3590..=3600).contains(&ahead), "{ahead}");
        assert_eq!(
            out.assumed_role_user().unwrap().arn(),
            "arn:aws:sts::444455556666:assumed-role/lattice-tenant/s1"
        );
    }
    assert_eq!(keys.len(), 3, "a fresh key each time: {keys:?}");
    assert!(keys.iter().all(|k| emu.fake.role_of_key(k).as_deref() == Some(ROLE)));
}

#[tokio::test]
async fn a_denied_assume_role_is_access_denied_with_awss_message() {
    let emu = start().await;
    emu.fake.deny_assume_role(ROLE);
    let err = sts(&base(&emu.url).await)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("vpc-lattice-operator")
        .send()
        .await
        .unwrap_err();
    let SdkError::ServiceError(ctx) = &err else {
        panic!("not a service error: {err:?}");
    };
    assert_eq!(ctx.raw().status().as_u16(), 403);
    // Not a modeled error of AssumeRole: the SDK has no variant for it, only its code.
    assert_eq!(ctx.err().code(), Some("AccessDenied"));
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(
        err.message(),
        Some(
            "User: arn:aws:iam::111122223333:user/AKIDOPERATORBASE is not authorized to perform: sts:AssumeRole \
             on resource: arn:aws:iam::444455556666:role/tenants/lattice-tenant"
        )
    );
    assert!(err.request_id().is_some_and(|id| id.len() == 36), "{err:?}");
    let calls = emu.fake.sts_calls();
    assert_eq!(
        (calls[0].status, calls[0].error.as_deref()),
        (403, Some("AccessDenied"))
    );
    assert!(calls[0].issued_access_key_id.is_none());
}

#[tokio::test]
async fn a_required_external_id_must_be_sent_and_match() {
    let emu = start().await;
    emu.fake.require_external_id(ROLE, "tenant-7");
    let base = base(&emu.url).await;
    for wrong in [None, Some("tenant-8")] {
        let mut builder = AssumeRoleProvider::builder(ROLE).session_name("op");
        if let Some(id) = wrong {
            builder = builder.external_id(id);
        }
        let provider = builder.configure(&base).build().await;
        let err = provider.provide_credentials().await.unwrap_err();
        let text = format!("{}", DisplayErrorContext(&err));
        assert!(
            text.contains("AccessDenied") && text.contains("is not authorized to perform: sts:AssumeRole"),
            "{text}"
        );
    }
    let config = assumed(&base, ROLE, Some("tenant-7")).await;
    aws_sdk_vpclattice::Client::new(&config)
        .list_service_networks()
        .send()
        .await
        .unwrap();
    let ids: Vec<Option<String>> = emu.fake.sts_calls().into_iter().map(|c| c.external_id).collect();
    assert_eq!(ids, [None, Some("tenant-8".into()), Some("tenant-7".into())]);
}

/// How a Lattice call fails when its credentials provider's AssumeRole is denied: the operator
/// must classify this. Prints the chain (`cargo test -- --nocapture`) and pins its shape.
#[tokio::test]
async fn a_lattice_call_whose_assume_role_is_denied_fails_before_dispatch() {
    let emu = start().await;
    emu.fake.deny_assume_role(ROLE);
    let config = assumed(&base(&emu.url).await, ROLE, None).await;
    let err = aws_sdk_vpclattice::Client::new(&config)
        .list_service_network_service_associations()
        .send()
        .await
        .unwrap_err();
    let links = chain(&err);
    println!("variant: {}", variant(&err));
    for (i, l) in links.iter().enumerate() {
        println!("  source {i}: {l}");
    }
    assert!(matches!(err, SdkError::DispatchFailure(_)), "{err:?}");
    let SdkError::DispatchFailure(d) = &err else {
        unreachable!()
    };
    assert!(d.is_other() && !d.is_io() && !d.is_timeout() && !d.is_user());
    let kinds: Vec<&str> = links.iter().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "SdkError<ListServiceNetworkServiceAssociationsError>",
            "ConnectorError",
            "CredentialsError",
            "SdkError<AssumeRoleError>",
            "AssumeRoleError",
            "ErrorMetadata"
        ],
        "{links:#?}"
    );
    // The denial's code and message are reachable by downcasting the chain.
    let mut at: Option<&(dyn StdError + 'static)> = Some(&err);
    let denied = loop {
        let e = at.expect("an AssumeRoleError in the chain");
        if let Some(denied) = e.downcast_ref::<AssumeRoleError>() {
            break denied;
        }
        at = e.source();
    };
    assert_eq!(denied.code(), Some("AccessDenied"));
    assert_eq!(emu.fake.calls().len(), 0, "no Lattice call reached the fake");
    assert_eq!(emu.fake.callers().len(), 0);

    // Through the operator's adapter: what kind of LatticeError it becomes.
    let api = SdkLattice::from_config(&config);
    let e = api.list_associations(&ListFilter::default(), None).await.unwrap_err();
    println!(
        "SdkLattice: kind {:?}, code {:?}, message {}",
        e.kind, e.code, e.message
    );
    assert_eq!(e.kind, ErrorKind::Credentials, "a refusal a human must fix: {e:?}");
    assert_eq!(e.code, "CredentialsUnavailable");
    assert!(
        e.message.contains("STS AssumeRole answered AccessDenied: User: ")
            && e.message.contains(ROLE)
            && !e.message.contains("{ "),
        "STS's words, readable: {}",
        e.message
    );
}

fn variant<E, R>(e: &SdkError<E, R>) -> &'static str {
    match e {
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        SdkError::TimeoutError(_) => "TimeoutError",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ServiceError(_) => "ServiceError",
        _ => "other",
    }
}

#[tokio::test]
async fn a_broken_sts_answers_html_and_the_provider_fails() {
    let emu = start().await;
    emu.fake.set_sts_broken(true);
    let base = base(&emu.url).await;
    let direct = sts(&base)
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("op")
        .send()
        .await
        .unwrap_err();
    println!(
        "AssumeRole against a broken STS: {}: {}",
        variant(&direct),
        DisplayErrorContext(&direct)
    );
    // A 200 whose body is not the answer's XML is, to the awsQuery deserializer, an unmodeled
    // service error with no code (not a ResponseError).
    let SdkError::ServiceError(ctx) = &direct else {
        panic!("not a service error: {direct:?}");
    };
    assert_eq!(ctx.raw().status().as_u16(), 200);
    assert_eq!(ctx.err().code(), None);
    assert!(
        format!("{}", DisplayErrorContext(&direct))
            .contains("error parsing XML: invalid root, expected AssumeRoleResponse")
    );
    let provider = AssumeRoleProvider::builder(ROLE)
        .session_name("op")
        .configure(&base)
        .build()
        .await;
    let err = provider.provide_credentials().await.unwrap_err();
    assert!(matches!(err, CredentialsError::ProviderError(_)), "{err:?}");
    let config = assumed(&base, ROLE, None).await;
    let lattice = aws_sdk_vpclattice::Client::new(&config)
        .list_service_networks()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(lattice, SdkError::DispatchFailure(_)), "{lattice:?}");
    println!("Lattice call: {:#?}", chain(&lattice));
    let calls = emu.fake.sts_calls();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| c.broken && c.status == 200 && c.error.is_none()));
    assert!(emu.fake.sts_sessions().is_empty());

    let page = http()
        .post(&emu.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Action=GetCallerIdentity&Version=2011-06-15")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().starts_with("<!DOCTYPE html>"));
}

// --- AssumeRoleWithWebIdentity ---

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// An unsigned JWT as a projected service account token carries it, expiring at `exp`.
fn jwt(exp: u64) -> String {
    let claims = json!({
        "iss": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
        "sub": "system:serviceaccount:vpc-lattice-operator:vpc-lattice-operator",
        "aud": ["sts.amazonaws.com"],
        "exp": exp,
    });
    format!(
        "{}.{}.c2lnbmF0dXJl",
        base64url(br#"{"alg":"RS256","kid":"k"}"#),
        base64url(claims.to_string().as_bytes())
    )
}

fn in_an_hour() -> u64 {
    now_ms() / 1000 + 3600
}

const IRSA_ROLE: &str = "arn:aws:iam::111122223333:role/vpc-lattice-operator";

#[tokio::test]
async fn web_identity_answers_with_the_tokens_claims() {
    let emu = start().await;
    let client = sts(&base(&emu.url).await);
    let out = client
        .assume_role_with_web_identity()
        .role_arn(IRSA_ROLE)
        .role_session_name("irsa")
        .web_identity_token(jwt(in_an_hour()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.subject_from_web_identity_token(),
        Some("system:serviceaccount:vpc-lattice-operator:vpc-lattice-operator")
    );
    assert_eq!(out.audience(), Some("sts.amazonaws.com"));
    assert_eq!(
        out.provider(),
        Some(
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
        )
    );
    let key = out.credentials().unwrap().access_key_id();
    assert_eq!(emu.fake.role_of_key(key).as_deref(), Some(IRSA_ROLE));
    let call = &emu.fake.sts_calls()[0];
    assert_eq!(call.action, "AssumeRoleWithWebIdentity");
    assert_eq!(call.access_key_id, None, "AssumeRoleWithWebIdentity is unsigned");
    // Any token of 4 characters or more is accepted; one that is not a JWT has no claims.
    let opaque = client
        .assume_role_with_web_identity()
        .role_arn(IRSA_ROLE)
        .role_session_name("irsa")
        .web_identity_token("not-a-jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(opaque.subject_from_web_identity_token(), Some("web-identity"));
}

#[tokio::test]
async fn web_identity_is_denied_invalid_or_expired_as_aws_says() {
    let emu = start().await;
    let client = sts(&base(&emu.url).await);
    let call = |token: String| {
        client
            .assume_role_with_web_identity()
            .role_arn(IRSA_ROLE)
            .role_session_name("irsa")
            .web_identity_token(token)
            .send()
    };
    let expired = call(jwt(1_700_000_000)).await.unwrap_err();
    assert_eq!(expired.code(), Some("ExpiredTokenException"));
    assert!(
        expired
            .message()
            .unwrap()
            .starts_with("Token expired: current date/time ")
            && expired
                .message()
                .unwrap()
                .ends_with("must be before the expiration date/time1700000000"),
        "{expired:?}"
    );
    assert!(matches!(
        expired.as_service_error(),
        Some(aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError::ExpiredTokenException(_))
    ));

    emu.fake.deny_web_identity(IRSA_ROLE);
    let denied = call(jwt(in_an_hour())).await.unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"));
    assert_eq!(
        denied.message(),
        Some("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    );
    assert_eq!(denied.raw_response().unwrap().status().as_u16(), 403);

    emu.fake.update_sts_faults(|f| {
        f.deny_web_identity.clear();
        f.invalid_identity_token = Some(String::new());
    });
    let invalid = call(jwt(in_an_hour())).await.unwrap_err();
    assert_eq!(invalid.code(), Some("InvalidIdentityToken"));
    assert!(
        invalid
            .message()
            .unwrap()
            .starts_with("Couldn't retrieve verification key")
    );
    assert_eq!(invalid.raw_response().unwrap().status().as_u16(), 400);
    assert!(matches!(
        invalid.as_service_error(),
        Some(aws_sdk_sts::operation::assume_role_with_web_identity::AssumeRoleWithWebIdentityError::InvalidIdentityTokenException(_))
    ));
    let errors: Vec<Option<String>> = emu.fake.sts_calls().into_iter().map(|c| c.error).collect();
    assert_eq!(
        errors,
        [
            Some("ExpiredTokenException".into()),
            Some("AccessDenied".into()),
            Some("InvalidIdentityToken".into())
        ]
    );
}

/// The environment variable that makes [`default_chain_child`] run.
const CHILD: &str = "LATTICE_EMULATOR_STS_CHILD";

/// Runs [`default_chain_child`] in a child process with IRSA's environment pointed at `emu`;
/// returns its `CHILD …` lines.
async fn run_child(emu: &Emu, token: &str) -> Vec<String> {
    let (url, token) = (emu.url.clone(), token.to_string());
    tokio::task::spawn_blocking(move || child(&url, &token)).await.unwrap()
}

fn child(url: &str, token: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "sts::tests::default_chain_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_clear()
        .env(CHILD, "1")
        .env("AWS_ROLE_ARN", IRSA_ROLE)
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_STS", url)
        .env("AWS_ENDPOINT_URL_VPC_LATTICE", url)
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = stdout
        .lines()
        // libtest may print the test's name on the same line, before its output.
        .filter_map(|l| l.split_once("CHILD ").map(|(_, rest)| rest.to_string()))
        .collect();
    assert!(!lines.is_empty(), "the child ran nothing: {stdout}");
    lines
}

#[tokio::test]
async fn irsa_through_the_default_chain_assumes_the_role_and_signs_with_its_key() {
    let emu = start().await;
    let lines = run_child(&emu, &jwt(in_an_hour())).await;
    let calls: Vec<StsCall> = emu.fake.sts_calls();
    let actions: Vec<&str> = calls.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(actions, ["AssumeRoleWithWebIdentity", "GetCallerIdentity"], "{lines:?}");
    let issued = calls[0].issued_access_key_id.clone().unwrap();
    assert_eq!(calls[1].access_key_id.as_deref(), Some(issued.as_str()));
    let session = emu.fake.session_of_key(&issued).unwrap();
    // AWS_ROLE_SESSION_NAME unset: aws-config names the session `web-identity-token-<millis>`.
    assert!(session.session_name.starts_with("web-identity-token-"), "{session:?}");
    assert_eq!(
        lines,
        [format!("arn={}", session.assumed_role_arn), "lattice=1".to_string()]
    );
    let callers = emu.fake.callers();
    assert_eq!(callers.len(), 1);
    assert_eq!(
        emu.fake.role_of_key(&callers[0].access_key_id).as_deref(),
        Some(IRSA_ROLE)
    );

    emu.fake.deny_web_identity("*");
    let denied = run_child(&emu, &jwt(in_an_hour())).await;
    println!("IRSA denied, in the child: {denied:#?}");
    assert!(denied.iter().all(|l| l.starts_with("error=")), "{denied:?}");
    assert!(denied[0].contains("AccessDenied"), "{denied:?}");
}

#[tokio::test]
#[ignore = "run by irsa_through_the_default_chain_assumes_the_role_and_signs_with_its_key, in a child process"]
async fn default_chain_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let config = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    match aws_sdk_sts::Client::new(&config).get_caller_identity().send().await {
        Ok(me) => println!("CHILD arn={}", me.arn().unwrap_or_default()),
        Err(e) => println!("CHILD error={}", DisplayErrorContext(&e)),
    }
    match aws_sdk_vpclattice::Client::new(&config)
        .list_service_networks()
        .send()
        .await
    {
        Ok(out) => println!("CHILD lattice={}", out.items().len()),
        Err(e) => println!("CHILD error={}", DisplayErrorContext(&e)),
    }
}

// --- The other knobs, the wire and the admin routes ---

#[tokio::test]
async fn an_injected_error_answers_its_action_with_a_padded_message() {
    let emu = start().await;
    emu.fake.set_sts_faults(StsFaults {
        error: Some(InjectedStsError {
            action: Some("AssumeRole".into()),
            code: "RegionDisabledException".into(),
            message: "STS is not activated in this region for account:111122223333.".into(),
            status: None,
        }),
        error_message_bytes: 4096,
        ..StsFaults::default()
    });
    let client = sts(&base(&emu.url).await);
    let err = client
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("op")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.as_service_error(),
            Some(AssumeRoleError::RegionDisabledException(_))
        ),
        "{err:?}"
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 403);
    let message = err.message().unwrap();
    assert_eq!(message.len(), 4096);
    assert!(message.starts_with("STS is not activated in this region"));
    // Other actions are not touched.
    client.get_caller_identity().send().await.unwrap();
}

#[tokio::test]
async fn invalid_requests_get_awss_validation_errors() {
    let emu = start().await;
    let client = sts(&base(&emu.url).await);
    let err = client
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("has space")
        .duration_seconds(60)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    assert_eq!(
        err.message(),
        Some(
            "2 validation errors detected: Value 'has space' at 'roleSessionName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\w+=,.@-]*; Value '60' at 'durationSeconds' failed \
             to satisfy constraint: Member must have value greater than or equal to 900"
        )
    );
    let not_a_role = client
        .assume_role()
        .role_arn("arn:aws:iam::444455556666:user/someone")
        .role_session_name("op")
        .send()
        .await
        .unwrap_err();
    assert_eq!(not_a_role.message(), Some("Request ARN is invalid"));
    let too_long = client
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("op")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        too_long.message(),
        Some("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    );
}

/// Posts a raw STS form, signed as `key` (with `token` as the session token) when given.
async fn raw(url: &str, body: &str, key: Option<&str>, token: Option<&str>) -> (u16, String) {
    let mut req = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .body(body.to_string());
    if let Some(k) = key {
        req = req.header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={k}/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0"
            ),
        );
    }
    if let Some(t) = token {
        req = req.header("x-amz-security-token", t);
    }
    let reply = req.send().await.unwrap();
    let status = reply.status().as_u16();
    (status, reply.text().await.unwrap())
}

#[tokio::test]
async fn the_wire_refuses_unsigned_foreign_tokens_and_unknown_actions() {
    let emu = start().await;
    let assume = format!("Action=AssumeRole&Version=2011-06-15&RoleArn={ROLE}&RoleSessionName=op");
    let (status, body) = raw(&emu.url, &assume, None, None).await;
    assert_eq!(status, 403);
    assert!(body.contains("<Code>MissingAuthenticationToken</Code>"), "{body}");
    let (status, body) = raw(&emu.url, &assume, Some("AKIDRAW"), None).await;
    assert_eq!(status, 200);
    assert!(body.starts_with(&format!(
        "<AssumeRoleResponse xmlns=\"{}\"><AssumeRoleResult><Credentials>",
        XMLNS
    )));
    let key = emu.fake.sts_calls()[1].issued_access_key_id.clone().unwrap();
    let token = emu.fake.session_of_key(&key).unwrap().session_token;
    let who = "Action=GetCallerIdentity&Version=2011-06-15";
    let (status, body) = raw(&emu.url, who, Some(&key), Some("forged")).await;
    assert_eq!(status, 403);
    assert!(body.contains("<Code>InvalidClientTokenId</Code>"), "{body}");
    let (status, body) = raw(&emu.url, who, Some(&key), Some(&token)).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<Arn>arn:aws:sts::444455556666:assumed-role/lattice-tenant/op</Arn>"),
        "{body}"
    );
    let (status, body) = raw(&emu.url, "Action=AssumeRoot&Version=2011-06-15", Some("AKIDRAW"), None).await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<Type>Sender</Type><Code>InvalidAction</Code><Message>Could not find operation AssumeRoot for version 2011-06-15</Message>"),
        "{body}"
    );
    // The Tagging API on the same `POST /` is unaffected.
    let tagging = http()
        .post(&emu.url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "ResourceGroupsTaggingAPI_20170126.GetResources")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(tagging.status(), 200);
    assert_eq!(emu.fake.sts_calls().len(), 5);
    assert_eq!(emu.fake.count("GetResources"), 1);
}

#[tokio::test]
async fn sts_calls_take_nothing_from_the_lattice_request_quota() {
    let emu = start().await;
    emu.fake.set_faults(Faults {
        request_rate: 0.001,
        request_burst: Some(1),
        ..Faults::default()
    });
    let base = base(&emu.url).await;
    let client = sts(&base);
    for _ in 0..5 {
        client.get_caller_identity().send().await.unwrap();
    }
    assert!(emu.fake.calls().is_empty() && emu.fake.callers().is_empty());
    let api = SdkLattice::from_config(&base);
    let first = api.get_association("snsa-0123456789abcdef0").await.unwrap_err();
    assert_eq!(first.kind, ErrorKind::NotFound, "the bucket is still full");
    let second = api.get_association("snsa-0123456789abcdef0").await.unwrap_err();
    assert_eq!(second.kind, ErrorKind::Throttled, "the bucket held one Lattice call");
}

#[tokio::test]
async fn the_admin_routes_script_sts_and_show_its_log_and_sessions() {
    let emu = start().await;
    let http = http();
    let put = http
        .put(format!("{}/_emulator/sts/faults", emu.url))
        .json(&json!({ "denyAssumeRole": [ROLE], "externalIds": { IRSA_ROLE: "x-1" }, "errorMessageBytes": 1000 }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let faults: StsFaults = put.json().await.unwrap();
    assert!(faults.deny_assume_role.contains(ROLE));
    assert_eq!(emu.fake.sts_faults(), faults);
    let client = sts(&base(&emu.url).await);
    let err = client
        .assume_role()
        .role_arn(ROLE)
        .role_session_name("op")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.message().unwrap().len(), 1000);
    let out = client
        .assume_role()
        .role_arn(IRSA_ROLE)
        .role_session_name("op")
        .external_id("x-1")
        .send()
        .await
        .unwrap();
    let key = out.credentials().unwrap().access_key_id().to_string();

    let got: StsFaults = http
        .get(format!("{}/_emulator/sts/faults", emu.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got, faults);
    let calls: Value = http
        .get(format!("{}/_emulator/sts/calls", emu.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["calls"][0]["error"], "AccessDenied");
    assert_eq!(calls["calls"][0]["status"], 403);
    assert_eq!(calls["calls"][1]["externalId"], "x-1");
    assert_eq!(calls["calls"][1]["accessKeyId"], BASE_KEY);
    assert_eq!(calls["calls"][1]["issuedAccessKeyId"], key.as_str());
    let sessions: Value = http
        .get(format!("{}/_emulator/sts/sessions", emu.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["sessions"][0]["roleArn"], IRSA_ROLE);
    let one = http
        .get(format!("{}/_emulator/sts/sessions/{key}", emu.url))
        .send()
        .await
        .unwrap();
    assert_eq!(one.json::<Value>().await.unwrap()["accessKeyId"], key.as_str());
    let none = http
        .get(format!("{}/_emulator/sts/sessions/AKIDUNKNOWN", emu.url))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 404);
    let cleared = http
        .delete(format!("{}/_emulator/sts/calls", emu.url))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 204);
    assert!(emu.fake.sts_calls().is_empty());
    assert_eq!(
        emu.fake.role_of_key(&key).as_deref(),
        Some(IRSA_ROLE),
        "sessions outlive the log"
    );
}

#[test]
fn expirations_are_iso_8601_utc() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso8601(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(iso8601(1_796_288_400), "2026-12-03T09:00:00Z");
}
