//! What a run records: `bench/results/<date>-<scenario>.json`, one file per scenario, holding the
//! measured rows (value, bound, target), the raw numbers behind them, the machine and the operator's
//! revision. The report is drawn from these files alone.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The target a row is held to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "value")]
pub enum Target {
    /// Reported only.
    None,
    /// value ≤ factor × bound.
    RatioAtMost(f64),
    /// value ≤ this.
    AtMost(f64),
    /// value < this.
    Below(f64),
    /// value = 0.
    Zero,
}

/// One measured figure.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub measure: String,
    /// `None`: not measured (the phase failed before it).
    pub value: Option<f64>,
    pub unit: String,
    /// The physical bound, when there is one.
    pub bound: Option<f64>,
    /// How the bound is computed, with the numbers.
    pub bound_how: String,
    pub target: Target,
    /// The phase hit its time limit: the true value is larger than `value`.
    #[serde(default)]
    pub capped: bool,
    /// What the figure is made of (calls by operation, …).
    #[serde(default)]
    pub note: String,
}

impl Row {
    pub fn new(measure: &str, value: Option<f64>, unit: &str) -> Self {
        Self {
            measure: measure.into(),
            value,
            unit: unit.into(),
            bound: None,
            bound_how: String::new(),
            target: Target::None,
            capped: false,
            note: String::new(),
        }
    }

    pub fn bound(mut self, bound: f64, how: impl Into<String>) -> Self {
        self.bound = Some(bound);
        self.bound_how = how.into();
        self
    }

    pub fn target(mut self, t: Target) -> Self {
        self.target = t;
        self
    }

    pub fn capped(mut self, capped: bool) -> Self {
        self.capped = capped;
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// value / bound, when both are there and the bound is not 0.
    pub fn ratio(&self) -> Option<f64> {
        match (self.value, self.bound) {
            (Some(v), Some(b)) if b > 0.0 => Some(v / b),
            _ => None,
        }
    }

    /// Whether the target holds (`None`: no target, or nothing measured).
    pub fn held(&self) -> Option<bool> {
        let v = self.value?;
        let held = match self.target {
            Target::None => return None,
            Target::RatioAtMost(f) => v <= f * self.bound?,
            Target::AtMost(x) => v <= x,
            Target::Below(x) => v < x,
            Target::Zero => v == 0.0,
        };
        // A capped value is only a lower limit: it can show a miss, never a hold.
        Some(held && !self.capped)
    }

    /// The value the target allows, in the row's unit.
    pub fn allowed(&self) -> Option<f64> {
        match self.target {
            Target::None => None,
            Target::RatioAtMost(f) => self.bound.map(|b| f * b),
            Target::AtMost(x) | Target::Below(x) => Some(x),
            Target::Zero => Some(0.0),
        }
    }

    pub fn target_text(&self) -> String {
        match self.target {
            Target::None => "–".into(),
            Target::RatioAtMost(f) => format!("≤ {} × bound", trim(f)),
            Target::AtMost(x) => format!("≤ {}", with_unit(x, &self.unit)),
            Target::Below(x) => format!("< {}", with_unit(x, &self.unit)),
            Target::Zero => "0".into(),
        }
    }

    pub fn value_text(&self) -> String {
        match self.value {
            None => "not measured".into(),
            Some(v) if self.capped => format!("> {}", with_unit(v, &self.unit)),
            Some(v) => with_unit(v, &self.unit),
        }
    }

    pub fn bound_text(&self) -> String {
        self.bound.map_or_else(|| "–".into(), |b| with_unit(b, &self.unit))
    }

    pub fn ratio_text(&self) -> String {
        match (self.ratio(), self.value, self.bound) {
            (Some(r), _, _) if self.capped => format!("> {r:.2}"),
            (Some(r), _, _) => format!("{r:.2}"),
            (None, Some(v), Some(b)) if b == 0.0 && v > 0.0 => "∞".into(),
            (None, Some(_), Some(_)) => "–".into(),
            _ => "–".into(),
        }
    }

    pub fn held_text(&self) -> &'static str {
        match self.held() {
            None => "–",
            Some(true) => "yes",
            Some(false) => "**no**",
        }
    }
}

/// A number without needless decimals: 3, 2.5, 0.37, 1234.
pub fn trim(x: f64) -> String {
    if x.is_infinite() {
        return "∞".into();
    }
    let s = if x.abs() >= 100.0 || x.fract() == 0.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    };
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

pub fn with_unit(x: f64, unit: &str) -> String {
    match unit {
        "%" => format!("{} %", trim(x)),
        "" => trim(x),
        u => format!("{} {u}", trim(x)),
    }
}

/// The machine a run was measured on.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    pub cores: usize,
    pub cpu: String,
    pub mem_mib: u64,
    pub kernel: String,
    /// `/proc/loadavg` when the scenario began and ended: the machine is shared.
    pub load_before: String,
    pub load_after: String,
}

impl Machine {
    pub fn read() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            cpu: cpuinfo
                .lines()
                .find_map(|l| {
                    l.strip_prefix("model name")?
                        .split_once(':')
                        .map(|(_, v)| v.trim().to_string())
                })
                .unwrap_or_default(),
            mem_mib: meminfo
                .lines()
                .find_map(|l| {
                    l.strip_prefix("MemTotal:")?
                        .split_whitespace()
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .unwrap_or_default()
                / 1024,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
            load_before: loadavg(),
            load_after: String::new(),
        }
    }
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The operator's source revision: the commit, and the paths changed on top of it, read once when
/// the run starts (right after `make bench` built the binaries), with the binary's build time.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub commit: String,
    /// Uncommitted changes under src/, lattice-emulator/, Cargo.toml or Cargo.lock when the run
    /// started (others work in the same tree).
    pub dirty_paths: Vec<String>,
    /// When the measured operator binary was written (UTC).
    #[serde(default)]
    pub binary_built: String,
}

impl Revision {
    pub fn read(repo: &std::path::Path, binary: &std::path::Path) -> Self {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .arg("-C")
                .arg(repo)
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        Self {
            commit: git(&["rev-parse", "--short=12", "HEAD"]).trim().to_string(),
            dirty_paths: git(&[
                "status",
                "--porcelain",
                "--",
                "src",
                "lattice-emulator",
                "Cargo.toml",
                "Cargo.lock",
            ])
            .lines()
            .map(|l| l.get(3..).unwrap_or(l).to_string())
            .collect(),
            binary_built: std::fs::metadata(binary)
                .and_then(|m| m.modified())
                .map(|t| humantime::format_rfc3339_seconds(t).to_string())
                .unwrap_or_default(),
        }
    }

    pub fn text(&self) -> String {
        let built = if self.binary_built.is_empty() {
            String::new()
        } else {
            format!(" (binary built {})", self.binary_built)
        };
        if self.dirty_paths.is_empty() {
            format!("{}{built}", self.commit)
        } else {
            format!(
                "{}{built} + uncommitted changes to {}",
                self.commit,
                self.dirty_paths.join(", ")
            )
        }
    }
}

/// The time series of the 1,000-object run, for the plot: ms since the first create.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub objects: usize,
    /// When each object was first seen Ready (sorted).
    pub ready_ms: Vec<u64>,
    /// When each AWS call arrived (sorted).
    pub calls_ms: Vec<u64>,
    /// When each throttled call arrived (sorted).
    pub throttled_ms: Vec<u64>,
    /// When the last create was accepted by the API server.
    pub applied_ms: u64,
    /// The bound on "all Ready", in ms.
    pub bound_ms: u64,
}

/// The time series of the largest `big-network` run, for its plot: the calls counted per second
/// since the first create (index = second), and when each object was first seen Ready.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateSeries {
    pub objects: usize,
    /// The account's quota and the operator's rate, in calls per second (drawn as a line).
    pub rate: f64,
    /// Create calls that arrived in second `i` since the first create (throttled ones included).
    pub creates_per_s: Vec<u64>,
    /// List pages that arrived in second `i`.
    pub lists_per_s: Vec<u64>,
    /// When each object was first seen Ready, ms since the first create (sorted).
    pub ready_ms: Vec<u64>,
    /// When the last create was accepted by the API server.
    pub applied_ms: u64,
    /// The bound on "all Ready", in ms.
    pub bound_ms: u64,
}

/// One fleet size of `scale`, for its plot and the fit across sizes.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalePoint {
    pub objects: usize,
    pub networks: usize,
    /// The operator's peak RSS (`VmHWM`) at the end of the steady window, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Its RSS (`VmRSS`) at the end of the steady window, MiB.
    pub end_rss_mib: Option<f64>,
    /// From `/readyz` to the first full pass, s (a lower limit when `pass_capped`).
    pub pass_s: f64,
    pub pass_capped: bool,
    /// The bound on the pass: its List pages at the rate, s.
    pub pass_bound_s: f64,
}

/// How many of `times` (ms, any order) fall in each second: element `i` counts `[i s, i + 1 s)`;
/// as long as the last time needs, empty when there are none.
pub fn per_second(times: &[u64]) -> Vec<u64> {
    let Some(last) = times.iter().max() else {
        return Vec::new();
    };
    let mut out = vec![0; (last / 1000 + 1) as usize];
    for t in times {
        out[(t / 1000) as usize] += 1;
    }
    out
}

/// One scenario's result file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunResult {
    pub scenario: String,
    /// UTC, RFC 3339, when the scenario began.
    pub date: String,
    /// The object-count divisor (`VLO_BENCH_SCALE`); 1 is the full bench.
    pub scale: f64,
    pub machine: Machine,
    pub operator: Revision,
    /// What the scenario ran: object counts, delays, quota, the operator's flags.
    pub config: Value,
    pub rows: Vec<Row>,
    /// Raw numbers per phase.
    pub phases: Value,
    #[serde(default)]
    pub series: Option<Series>,
    /// `big-network`'s calls per second and objects Ready, of its largest run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rates: Option<RateSeries>,
    /// `scale`'s sizes, smallest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sizes: Vec<ScalePoint>,
    pub wall_s: f64,
    /// Set when the scenario stopped on an error; rows measured before it are kept.
    #[serde(default)]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_per_second_since_the_start() {
        assert_eq!(per_second(&[]), Vec::<u64>::new());
        assert_eq!(per_second(&[0, 999, 1000, 3500, 120]), [3, 1, 0, 1]);
    }
}
