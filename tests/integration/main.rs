//! Integration tests against a real kube-apiserver + etcd: the reconciler's full lifecycles over the
//! in-process fake Lattice, and end-to-end runs of the real binary over the AWS wire protocol.

mod support;

mod admission;
mod chart;
mod conformance;
mod e2e;
mod fairness;
mod faults;
mod generated;
mod gitops;
mod identity;
mod image;
mod import;
mod install;
mod lifecycle;
mod monitoring;
mod observation;
mod observe_only;
mod references;
mod regions;
mod takeover;
mod tenancy;
