//! The emulator's request log (`GET|DELETE /_emulator/calls`) and fault script
//! (`GET|PUT /_emulator/faults`): every AWS call the operator made, with its arrival time (`atMs`),
//! its operation and its error code.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Result, loopback};

pub const LIST: &str = "ListServiceNetworkServiceAssociations";
pub const THROTTLED: &str = "ThrottlingException";

/// One logged call.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub operation: String,
    pub error: Option<String>,
    /// Arrival time, Unix milliseconds (the emulator of issue 8 part 1 logs it).
    pub at_ms: Option<u64>,
    /// The clientToken of a Create (the operator's is `<object uid>-<attempt>`).
    #[serde(default)]
    pub client_token: Option<String>,
}

impl Call {
    pub fn at(&self) -> u64 {
        self.at_ms.unwrap_or_default()
    }
    pub fn throttled(&self) -> bool {
        self.error.as_deref() == Some(THROTTLED)
    }
}

/// The emulator's admin API.
#[derive(Clone)]
pub struct EmulatorApi {
    pub url: String,
}

#[derive(Deserialize)]
struct Log {
    calls: Vec<Call>,
}

impl EmulatorApi {
    /// Every call logged since the last clear. Fails if the log carries no arrival times: the
    /// bench's timings and windows need them.
    pub async fn calls(&self) -> Result<Vec<Call>> {
        let log: Log = loopback::get(&format!("{}/_emulator/calls", self.url))
            .await?
            .json("GET /_emulator/calls")?;
        if log.calls.iter().any(|c| c.at_ms.is_none()) {
            return Err("the emulator's request log has no `atMs` timestamps (issue 8 part 1): \
                        rebuild lattice-emulator from a tree that has them"
                .into());
        }
        Ok(log.calls)
    }

    pub async fn clear(&self) -> Result<()> {
        let r = loopback::request("DELETE", &format!("{}/_emulator/calls", self.url), None).await?;
        if !(200..300).contains(&r.status) {
            return Err(format!("DELETE /_emulator/calls: HTTP {}", r.status).into());
        }
        Ok(())
    }

    /// Every association the emulator holds (`GET /_emulator/associations`).
    pub async fn associations(&self) -> Result<Vec<Value>> {
        #[derive(Deserialize)]
        struct Items {
            items: Vec<Value>,
        }
        let items: Items = loopback::get(&format!("{}/_emulator/associations", self.url))
            .await?
            .json("GET /_emulator/associations")?;
        Ok(items.items)
    }

    /// Seeds ACTIVE associations straight into the emulator (`POST /_emulator/associations` with an
    /// array), as someone outside the operator would have made them: no call logged, no quota used.
    /// Returns them in the order given (id, arn, status and the other fields a Get reports).
    pub async fn seed_associations(&self, items: &[Value]) -> Result<Vec<Value>> {
        #[derive(Deserialize)]
        struct Items {
            items: Vec<Value>,
        }
        let body = serde_json::to_vec(items)?;
        let seeded: Items = loopback::request("POST", &format!("{}/_emulator/associations", self.url), Some(body))
            .await?
            .json("POST /_emulator/associations")?;
        if seeded.items.len() != items.len() {
            return Err(format!(
                "POST /_emulator/associations: seeded {} of {}",
                seeded.items.len(),
                items.len()
            )
            .into());
        }
        Ok(seeded.items)
    }

    pub async fn faults(&self) -> Result<Value> {
        loopback::get(&format!("{}/_emulator/faults", self.url))
            .await?
            .json("GET /_emulator/faults")
    }

    /// Changes some fields of the fault script, keeping the others (PUT replaces the whole script),
    /// and checks the emulator took them.
    pub async fn update_faults(&self, changes: &Value) -> Result<Value> {
        let mut faults = self.faults().await?;
        let (Some(f), Some(c)) = (faults.as_object_mut(), changes.as_object()) else {
            return Err("fault script or changes are not JSON objects".into());
        };
        for (k, v) in c {
            f.insert(k.clone(), v.clone());
        }
        let body = serde_json::to_vec(&faults)?;
        let now: Value = loopback::request("PUT", &format!("{}/_emulator/faults", self.url), Some(body))
            .await?
            .json("PUT /_emulator/faults")?;
        for (k, v) in c {
            let took = match (now.get(k), v) {
                (Some(a), b) if a == b => true,
                (Some(a), b) => a.as_f64().is_some() && a.as_f64() == b.as_f64(),
                (None, _) => false,
            };
            if !took {
                return Err(format!(
                    "the emulator did not take {k} = {v} through PUT /_emulator/faults (it has {}); \
                     does it have issue 8 part 1?",
                    now.get(k).map_or_else(|| "no such field".to_string(), Value::to_string)
                )
                .into());
            }
        }
        Ok(now)
    }
}

/// Calls of a window, counted.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub total: u64,
    pub throttled: u64,
    /// Calls answered with another error.
    pub other_errors: u64,
    /// Every call by operation (throttled ones included).
    pub by_operation: BTreeMap<String, u64>,
    /// Calls answered with an error, by code.
    pub errors: BTreeMap<String, u64>,
}

impl Counts {
    pub fn of<'a>(calls: impl IntoIterator<Item = &'a Call>) -> Self {
        let mut c = Self::default();
        for call in calls {
            c.total += 1;
            *c.by_operation.entry(short(&call.operation)).or_default() += 1;
            if let Some(e) = &call.error {
                *c.errors.entry(e.clone()).or_default() += 1;
                if call.throttled() {
                    c.throttled += 1;
                } else {
                    c.other_errors += 1;
                }
            }
        }
        c
    }

    /// Calls of one operation (its short name: `Create`, `Get`, `List`, `Delete`, `ListTags`, …).
    pub fn op(&self, short_name: &str) -> u64 {
        self.by_operation.get(short_name).copied().unwrap_or_default()
    }

    /// Throttled share of all calls, in percent.
    pub fn throttled_pct(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            100.0 * self.throttled as f64 / self.total as f64
        }
    }

    /// `Create 1000, Get 1459, ListTags 1000; 12 throttled`.
    pub fn describe(&self) -> String {
        let mut ops: Vec<(&String, &u64)> = self.by_operation.iter().collect();
        ops.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut s = ops
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        if s.is_empty() {
            s.push_str("no calls");
        }
        if self.throttled > 0 {
            s.push_str(&format!("; {} throttled", self.throttled));
        }
        if self.other_errors > 0 {
            s.push_str(&format!("; {} other errors", self.other_errors));
        }
        s
    }
}

/// `CreateServiceNetworkServiceAssociation` → `Create`, `ListTagsForResource` → `ListTags`.
pub fn short(operation: &str) -> String {
    match operation {
        "ListTagsForResource" => "ListTags".into(),
        o => o.strip_suffix("ServiceNetworkServiceAssociation").map_or_else(
            || {
                o.strip_suffix("ServiceNetworkServiceAssociations")
                    .unwrap_or(o)
                    .to_string()
            },
            str::to_string,
        ),
    }
}

/// The calls that arrived in `[from, to]` (Unix ms).
pub fn window(calls: &[Call], from: u64, to: u64) -> Vec<&Call> {
    calls.iter().filter(|c| (from..=to).contains(&c.at())).collect()
}

/// The first and last arrival time of `calls` (`None` when there are none).
pub fn span(calls: &[&Call]) -> Option<(u64, u64)> {
    let first = calls.iter().map(|c| c.at()).min()?;
    Some((first, calls.iter().map(|c| c.at()).max()?))
}

/// Groups the List calls into drift-scan rounds: a new round starts after a gap of more than `gap`
/// ms without a List call. Returns each round's first and last List time.
pub fn list_rounds(calls: &[Call], gap: u64) -> Vec<(u64, u64)> {
    let mut times: Vec<u64> = calls.iter().filter(|c| c.operation == LIST).map(Call::at).collect();
    times.sort_unstable();
    let mut rounds: Vec<(u64, u64)> = Vec::new();
    for t in times {
        match rounds.last_mut() {
            Some(r) if t.saturating_sub(r.1) <= gap => r.1 = t,
            _ => rounds.push((t, t)),
        }
    }
    rounds
}
