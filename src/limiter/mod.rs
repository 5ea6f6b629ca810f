//! The client-side rate limiter, its own part: one token bucket for the whole process (so thousands
//! of objects cannot stampede one account), handed out fairly. Namespaces take turns for the tokens,
//! so one namespace's backlog never holds another's calls behind it; inside a namespace, new work goes
//! before polls, polls before drift checks, drift checks before retries of failing objects, and at
//! one priority a mutating call before reads ([`fair`], pure). A throttled answer holds every later
//! call of its AWS identity until the time AWS named.
//!
//! The reconcile context holds the [`Limiter`]; a reconcile binds its [`Caller`] to it
//! ([`Limiter::calls`]) and wraps its identity's client in [`Admitted`]. Nothing reaches it through
//! the namespace→identity provider or a task-local. (As kube-apiserver keeps fair queuing in its own
//! package, apart from who classifies requests.)

mod bucket;
mod calls;
pub mod fair;
mod metrics;

pub use bucket::{BURST, Limiter, SATURATION_MEMORY, SharedLimiter, limiter};
pub use calls::{Admitted, Calls};
pub use fair::{CallClass, Caller, Priority, Turn};
pub use metrics::LimiterMetrics;

#[cfg(test)]
mod tests;
