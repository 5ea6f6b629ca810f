//! STS's awsQuery protocol: a form-encoded `POST /` in, XML out. Parses the request, applies the
//! fault script, validates as the model's constraints say (in AWS's wording), issues and remembers
//! credentials, and logs the call.

use std::collections::{BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{StsCall, StsSession, StsState, XMLNS};
use crate::fake::FakeLattice;

/// How long issued credentials last when the request names no `DurationSeconds`, and the longest a
/// role allows (IAM's default `MaxSessionDuration`).
const DEFAULT_DURATION: u64 = 3600;

/// What STS answers for a web identity token it cannot verify (AWS's wording, double space included).
const UNVERIFIABLE_TOKEN: &str = "Couldn't retrieve verification key from your identity provider,  please reference \
                                  AssumeRoleWithWebIdentity documentation for requirements";

/// Whether a request to `POST /` is an STS (awsQuery) one: form-encoded, without the `X-Amz-Target`
/// of the awsJson protocols.
pub(crate) fn is_query(headers: &HeaderMap) -> bool {
    !headers.contains_key("x-amz-target")
        && headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// An STS error answer.
struct Failure {
    status: StatusCode,
    code: String,
    message: String,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            status: status_of(code),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The HTTP status the model gives an error code.
fn status_of(code: &str) -> StatusCode {
    match code {
        "AccessDenied"
        | "RegionDisabledException"
        | "IDPRejectedClaim"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "ExpiredToken" => StatusCode::FORBIDDEN,
        "InternalFailure" => StatusCode::INTERNAL_SERVER_ERROR,
        "ServiceUnavailable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// One request's parameters (the first value of each).
struct Params(HashMap<String, String>);

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
}

/// A request as the handler sees it.
struct Request<'a> {
    params: &'a Params,
    /// The SigV4 access key ID, when signed.
    key: Option<&'a str>,
    /// `X-Amz-Security-Token`, when sent.
    token: Option<&'a str>,
}

/// Serves one STS request (`POST /`, form-encoded).
pub(crate) fn serve(fake: &FakeLattice, headers: &HeaderMap, body: &[u8]) -> Response {
    let params = Params(
        form_urlencoded::parse(body).fold(HashMap::new(), |mut m: HashMap<String, String>, (k, v)| {
            m.entry(k.into_owned()).or_insert_with(|| v.into_owned());
            m
        }),
    );
    let key = crate::wire::signing_key(headers);
    let token = headers.get("x-amz-security-token").and_then(|v| v.to_str().ok());
    let req = Request {
        params: &params,
        key: key.as_deref(),
        token,
    };
    let action = params.get("Action").unwrap_or_default().to_string();
    let mut s = fake.sts.lock();
    let mut call = StsCall {
        action: action.clone(),
        role_arn: params.get("RoleArn").map(str::to_string),
        session_name: params.get("RoleSessionName").map(str::to_string),
        external_id: params.get("ExternalId").map(str::to_string),
        access_key_id: key.clone(),
        status: 200,
        error: None,
        issued_access_key_id: None,
        broken: false,
        at_ms: now_ms(),
    };
    let request_id = request_id();
    if s.faults.broken {
        call.broken = true;
        s.calls.push(call);
        return broken_page();
    }
    let result = match action.as_str() {
        "AssumeRole" => assume_role(fake, &mut s, &req),
        "AssumeRoleWithWebIdentity" => assume_role_with_web_identity(fake, &mut s, &req),
        "GetCallerIdentity" => get_caller_identity(fake, &mut s, &req),
        "" => Err(Failure::new("MissingAction", "Missing Action")),
        other => Err(Failure::new(
            "InvalidAction",
            format!(
                "Could not find operation {other} for version {}",
                params.get("Version").unwrap_or("NO_VERSION_SPECIFIED")
            ),
        )),
    };
    match result {
        Ok((issued, result)) => {
            call.issued_access_key_id = issued;
            s.calls.push(call);
            xml(
                StatusCode::OK,
                &request_id,
                format!(
                    "<{action}Response xmlns=\"{XMLNS}\"><{action}Result>{result}</{action}Result>\
                     <ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
                ),
            )
        }
        Err(f) => {
            let message = pad(f.message, s.faults.error_message_bytes);
            call.status = f.status.as_u16();
            call.error = Some(f.code.clone());
            s.calls.push(call);
            let kind = if f.status.is_server_error() {
                "Receiver"
            } else {
                "Sender"
            };
            xml(
                f.status,
                &request_id,
                format!(
                    "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>{kind}</Type><Code>{}</Code>\
                     <Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                    escape(&f.code),
                    escape(&message)
                ),
            )
        }
    }
}

/// A successful action's answer: the access key ID it issued, if any, and its `<…Result>` content.
type Answer = Result<(Option<String>, String), Failure>;

/// The signing key of a signed action, checked: `MissingAuthenticationToken` when unsigned,
/// `InvalidClientTokenId` when it is a key the fake issued but the session token is not its own.
fn signed_caller<'a>(s: &StsState, req: &Request<'a>) -> Result<&'a str, Failure> {
    let key = req
        .key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| Failure::new("MissingAuthenticationToken", "Request is missing Authentication Token"))?;
    if let Some(session) = s.sessions.get(key)
        && req.token != Some(session.session_token.as_str())
    {
        return Err(Failure::new(
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ));
    }
    Ok(key)
}

/// The injected error for this action, if any.
fn injected(s: &StsState, action: &str) -> Result<(), Failure> {
    match &s.faults.error {
        Some(e) if e.action.as_deref().is_none_or(|a| a == action) => Err(Failure {
            status: e
                .status
                .and_then(|c| StatusCode::from_u16(c).ok())
                .unwrap_or_else(|| status_of(&e.code)),
            code: e.code.clone(),
            message: e.message.clone(),
        }),
        _ => Ok(()),
    }
}

/// The ARN a caller's key stands for: the assumed role of a key the fake issued, else an IAM user
/// named after the key in the emulator's account.
fn caller_arn(fake: &FakeLattice, s: &StsState, key: &str) -> String {
    match s.sessions.get(key) {
        Some(session) => session.assumed_role_arn.clone(),
        None => format!("arn:aws:iam::{}:user/{key}", fake.account()),
    }
}

/// `true` when `set` names `role_arn` or holds `*`.
fn names(set: &BTreeSet<String>, role_arn: &str) -> bool {
    set.contains(role_arn) || set.contains("*")
}

fn assume_role(fake: &FakeLattice, s: &mut StsState, req: &Request<'_>) -> Answer {
    let key = signed_caller(s, req)?;
    injected(s, "AssumeRole")?;
    let p = req.params;
    let mut invalid = Vec::new();
    let role = role_arn(p, &mut invalid);
    let session = session_name(p, &mut invalid);
    let external_id = p.get("ExternalId");
    if let Some(id) = external_id {
        check_length(&mut invalid, "externalId", id, 2, 1224);
        check_pattern(&mut invalid, "externalId", id, "[\\w+=,.@:\\/-]*", |c| {
            c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c)
        });
    }
    let duration = duration(p, &mut invalid)?;
    validated(invalid)?;
    let (role, parts) = role_parts(role)?;
    let denied = names(&s.faults.deny_assume_role, role)
        || s.faults
            .external_ids
            .get(role)
            .is_some_and(|wanted| external_id != Some(wanted.as_str()));
    if denied {
        return Err(Failure::new(
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role}",
                caller_arn(fake, s, key)
            ),
        ));
    }
    max_session(duration)?;
    let issued = issue(s, "AssumeRole", role, &parts, session, duration);
    Ok((Some(issued.access_key_id.clone()), credentials_xml(&issued)))
}

fn assume_role_with_web_identity(fake: &FakeLattice, s: &mut StsState, req: &Request<'_>) -> Answer {
    injected(s, "AssumeRoleWithWebIdentity")?;
    let p = req.params;
    let mut invalid = Vec::new();
    let role = role_arn(p, &mut invalid);
    let session = session_name(p, &mut invalid);
    let token = p.get("WebIdentityToken");
    match token {
        None => invalid.push(null("webIdentityToken")),
        Some(t) => check_length(&mut invalid, "webIdentityToken", t, 4, 20000),
    }
    let duration = duration(p, &mut invalid)?;
    validated(invalid)?;
    let (role, parts) = role_parts(role)?;
    if let Some(message) = &s.faults.invalid_identity_token {
        let message = if message.is_empty() {
            UNVERIFIABLE_TOKEN
        } else {
            message
        };
        return Err(Failure::new("InvalidIdentityToken", message));
    }
    let claims = Claims::of(token.unwrap_or_default());
    if let Some(exp) = claims.exp {
        let now = now_ms() / 1000;
        if exp <= now {
            // AWS's wording, the missing space included.
            return Err(Failure::new(
                "ExpiredTokenException",
                format!("Token expired: current date/time {now} must be before the expiration date/time{exp}"),
            ));
        }
    }
    if names(&s.faults.deny_web_identity, role) {
        return Err(Failure::new(
            "AccessDenied",
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ));
    }
    max_session(duration)?;
    let issued = issue(s, "AssumeRoleWithWebIdentity", role, &parts, session, duration);
    let issuer = claims.iss.as_deref().unwrap_or("oidc.emulator.invalid");
    let issuer = issuer.strip_prefix("https://").unwrap_or(issuer);
    let result = format!(
        "{}<SubjectFromWebIdentityToken>{}</SubjectFromWebIdentityToken><Audience>{}</Audience>\
         <Provider>arn:{}:iam::{}:oidc-provider/{}</Provider>",
        credentials_xml(&issued),
        escape(claims.sub.as_deref().unwrap_or("web-identity")),
        escape(claims.aud.as_deref().unwrap_or("sts.amazonaws.com")),
        parts.partition,
        if parts.account.is_empty() {
            fake.account()
        } else {
            &parts.account
        },
        escape(issuer),
    );
    Ok((Some(issued.access_key_id.clone()), result))
}

fn get_caller_identity(fake: &FakeLattice, s: &mut StsState, req: &Request<'_>) -> Answer {
    let key = signed_caller(s, req)?;
    injected(s, "GetCallerIdentity")?;
    let (user_id, account, arn) = match s.sessions.get(key) {
        Some(session) => {
            let account = session.role_arn.split(':').nth(4).unwrap_or_default().to_string();
            (
                session.assumed_role_id.clone(),
                account,
                session.assumed_role_arn.clone(),
            )
        }
        None => (key.to_string(), fake.account().to_string(), caller_arn(fake, s, key)),
    };
    Ok((
        None,
        format!(
            "<UserId>{}</UserId><Account>{}</Account><Arn>{}</Arn>",
            escape(&user_id),
            escape(&account),
            escape(&arn)
        ),
    ))
}

// --- Validation, in the model's constraints and AWS's wording ---

fn null(member: &str) -> String {
    format!("Value null at '{member}' failed to satisfy constraint: Member must not be null")
}

fn check_length(invalid: &mut Vec<String>, member: &str, value: &str, min: usize, max: usize) {
    let n = value.chars().count();
    if n < min {
        invalid.push(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: Member must have length greater than or equal to {min}"
        ));
    } else if n > max {
        invalid.push(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max}"
        ));
    }
}

fn check_pattern(invalid: &mut Vec<String>, member: &str, value: &str, pattern: &str, ok: impl Fn(char) -> bool) {
    if !value.chars().all(ok) {
        invalid.push(format!(
            "Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
        ));
    }
}

fn role_arn<'a>(p: &'a Params, invalid: &mut Vec<String>) -> &'a str {
    match p.get("RoleArn") {
        None => {
            invalid.push(null("roleArn"));
            ""
        }
        Some(arn) => {
            check_length(invalid, "roleArn", arn, 20, 2048);
            arn
        }
    }
}

fn session_name<'a>(p: &'a Params, invalid: &mut Vec<String>) -> &'a str {
    match p.get("RoleSessionName") {
        None => {
            invalid.push(null("roleSessionName"));
            ""
        }
        Some(name) => {
            check_length(invalid, "roleSessionName", name, 2, 64);
            check_pattern(invalid, "roleSessionName", name, "[\\w+=,.@-]*", |c| {
                c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
            });
            name
        }
    }
}

/// `DurationSeconds` (default one hour): 900-43200 by the model, at most the role's
/// `MaxSessionDuration` (IAM's default, one hour).
fn duration(p: &Params, invalid: &mut Vec<String>) -> Result<u64, Failure> {
    let Some(raw) = p.get("DurationSeconds") else {
        return Ok(DEFAULT_DURATION);
    };
    let Ok(d) = raw.parse::<i64>() else {
        return Err(Failure::new(
            "MalformedInput",
            format!("Value '{raw}' for DurationSeconds is not an integer"),
        ));
    };
    if d < 900 {
        invalid.push(format!(
            "Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        ));
    } else if d > 43200 {
        invalid.push(format!(
            "Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
        ));
    }
    Ok(u64::try_from(d).unwrap_or_default())
}

/// ValidationError for every constraint failed, as AWS lists them.
fn validated(invalid: Vec<String>) -> Result<(), Failure> {
    match invalid.len() {
        0 => Ok(()),
        1 => Err(Failure::new(
            "ValidationError",
            format!("1 validation error detected: {}", invalid[0]),
        )),
        n => Err(Failure::new(
            "ValidationError",
            format!("{n} validation errors detected: {}", invalid.join("; ")),
        )),
    }
}

/// A role ARN's parts.
struct RoleParts {
    partition: String,
    account: String,
    /// The last segment of the role's path.
    name: String,
}

/// The parts of an IAM role ARN (`arn:<partition>:iam::<12 digits>:role/[<path>/]<name>`), or
/// AWS's ValidationError for any other ARN.
fn role_parts(arn: &str) -> Result<(&str, RoleParts), Failure> {
    let bad = || Failure::new("ValidationError", "Request ARN is invalid");
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, "iam", "", account, resource] = parts.as_slice() else {
        return Err(bad());
    };
    let name = resource
        .strip_prefix("role/")
        .and_then(|r| r.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(bad)?;
    if partition.is_empty() || account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let parts = RoleParts {
        partition: (*partition).to_string(),
        account: (*account).to_string(),
        name: name.to_string(),
    };
    Ok((arn, parts))
}

/// Refuses a `duration` longer than the role's `MaxSessionDuration`.
fn max_session(duration: u64) -> Result<(), Failure> {
    if duration > DEFAULT_DURATION {
        return Err(Failure::new(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(())
}

// --- Issuing credentials ---

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_from(alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| char::from(alphabet[rand::random_range(0..alphabet.len())]))
        .collect()
}

/// Issues fresh credentials for `session` on `role` and remembers them.
fn issue(s: &mut StsState, action: &str, role: &str, parts: &RoleParts, session: &str, duration: u64) -> StsSession {
    let role_id = s
        .role_ids
        .entry(role.to_string())
        .or_insert_with(|| format!("AROA{}", random_from(BASE32, 17)))
        .clone();
    let access_key_id = loop {
        let k = format!("ASIA{}", random_from(BASE32, 16));
        if !s.sessions.contains_key(&k) {
            break k;
        }
    };
    let issued = StsSession {
        access_key_id: access_key_id.clone(),
        secret_access_key: random_from(BASE64, 40),
        session_token: format!("IQoJb3JpZ2luX2VjE{}", random_from(BASE64, 300)),
        role_arn: role.to_string(),
        session_name: session.to_string(),
        assumed_role_arn: format!(
            "arn:{}:sts::{}:assumed-role/{}/{session}",
            parts.partition, parts.account, parts.name
        ),
        assumed_role_id: format!("{role_id}:{session}"),
        expiration: iso8601(now_ms() / 1000 + duration),
        action: action.to_string(),
    };
    s.sessions.insert(access_key_id, issued.clone());
    issued
}

fn credentials_xml(c: &StsSession) -> String {
    format!(
        "<Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>",
        c.access_key_id,
        escape(&c.secret_access_key),
        escape(&c.session_token),
        c.expiration,
        escape(&c.assumed_role_id),
        escape(&c.assumed_role_arn),
    )
}

/// The claims of a web identity token that is a JWT (its payload is not verified); all `None` for
/// any other token.
#[derive(Default)]
struct Claims {
    sub: Option<String>,
    aud: Option<String>,
    iss: Option<String>,
    exp: Option<u64>,
}

impl Claims {
    fn of(token: &str) -> Self {
        let payload = token.split('.').nth(1).filter(|_| token.split('.').count() == 3);
        let Some(v) = payload
            .and_then(base64url)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        else {
            return Self::default();
        };
        let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        Self {
            sub: text("sub"),
            aud: text("aud").or_else(|| v["aud"].get(0).and_then(Value::as_str).map(str::to_string)),
            iss: text("iss"),
            // A float NumericDate is cut to its whole seconds.
            exp: v
                .get("exp")
                .and_then(|e| e.as_u64().or_else(|| e.as_f64().map(|f| f.max(0.0) as u64))),
        }
    }
}

/// Decodes unpadded (or padded) base64url, also accepting the standard alphabet.
fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from(acc >> bits).ok()?);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

// --- The wire ---

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A request ID shaped as AWS's (a UUID).
fn request_id() -> String {
    let r: u128 = rand::random();
    let h = format!("{r:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// `secs` since the Unix epoch as ISO-8601 UTC (`2026-12-03T09:00:00Z`), as STS writes `Expiration`.
pub(super) fn iso8601(secs: u64) -> String {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Text escaped for XML element content (quotes need no escaping there, and AWS leaves them).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `message` padded to at least `bytes` bytes, as an authorization failure with an encoded message.
fn pad(mut message: String, bytes: usize) -> String {
    if message.len() >= bytes {
        return message;
    }
    message.push_str(" Encoded authorization failure message: ");
    while message.len() < bytes {
        message.push(char::from(BASE64[message.len() % 62]));
    }
    message
}

fn xml(status: StatusCode, request_id: &str, body: String) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-RequestId", v);
    }
    (status, headers, body).into_response()
}

/// What a broken STS answers: HTTP 200 with an HTML page.
fn broken_page() -> Response {
    let page = "<!DOCTYPE html>\n<html><head><title>Network sign-in required</title></head>\
                <body><h1>Sign in to continue</h1><p>Your request to sts.amazonaws.com was intercepted \
                by the network proxy.</p></body></html>\n";
    (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))],
        page,
    )
        .into_response()
}
