//! Test tooling for vpc-lattice-operator, kept out of the operator crate: an in-memory VPC Lattice
//! ([`FakeLattice`], which implements the operator's [`LatticeApi`](vpc_lattice_operator::lattice::LatticeApi)
//! so tests can run the reconciler over it in-process) and the same state served over the AWS
//! REST/JSON wire protocol ([`serve`], and the `lattice-emulator` binary that `make demo` starts), so
//! the real operator binary can be pointed at it with `AWS_ENDPOINT_URL_VPC_LATTICE` (and, for the
//! Resource Groups Tagging API's `GetResources`, served on the same port in awsJson1_1, with
//! `AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API`). Every fault knob ([`Faults`]) is scriptable
//! in-process and over `/_emulator/faults`, AWS's limits included: a request quota per account (token
//! bucket), List and GetResources pages of at most 100 with opaque tokens, provisioning delay with
//! jitter. AWS STS ([`sts`]: `AssumeRole`, `AssumeRoleWithWebIdentity`, `GetCallerIdentity`, in
//! awsQuery) is served on the same port for `AWS_ENDPOINT_URL_STS`, with its own fault knobs
//! ([`StsFaults`], `/_emulator/sts/faults`) and call log, so the operator can run with IRSA and
//! per-namespace roles; the fake knows which role each issued access key stands for.

pub mod fake;
pub mod sts;
pub mod wire;

#[cfg(test)]
mod tests;

pub use fake::{Call, Caller, DEFAULT_PAGE_SIZE, FakeLattice, Faults, Target, as_caller};
pub use sts::{InjectedStsError, StsCall, StsFaults, StsSession};
pub use wire::{regional_router, router, serve};
