//! AWS's request quota, kept per account: the access key ID a wire request was signed with (set by
//! the wire layer for the request, [`as_caller`]) names its account, whose token bucket it draws from.

use std::collections::HashMap;

use tokio::time::Instant;

use super::Faults;

tokio::task_local! {
    /// The access key ID of the wire request being served (set by the wire layer).
    pub(super) static ACCESS_KEY_ID: String;
}

/// Runs `f` as a request signed with `access_key_id`: its calls count against that account's
/// request quota and are logged with it.
pub async fn as_caller<F: std::future::Future>(access_key_id: String, f: F) -> F::Output {
    ACCESS_KEY_ID.scope(access_key_id, f).await
}

/// One account's token bucket.
pub(super) struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Takes a token from `account`'s bucket, or says in how many whole seconds (at least 1) one will be
/// there. Always succeeds while the quota is unlimited.
pub(super) fn take_token(
    faults: &Faults,
    buckets: &mut HashMap<String, Bucket>,
    account: &str,
    now: Instant,
) -> Result<(), u64> {
    let Some((rate, burst)) = faults.quota() else {
        return Ok(());
    };
    let bucket = buckets
        .entry(account.to_string())
        .or_insert(Bucket { tokens: burst, at: now });
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        return Ok(());
    }
    // Whole seconds, at least 1: a finite, positive float, so the cast is exact.
    let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0);
    Err(wait as u64)
}
