//! `vpc-lattice-operator import`: the associations a team already has (made by Terraform, the
//! console, the AWS CLI, CloudFormation) as manifests it can commit, which the operator then adopts
//! without a Create. Read [`fetch`] (the only AWS calls, all reads), decide [`plan`] (pure: which
//! become objects and why the others do not), write [`render`] (pure), wired by [`cli`]. Written by
//! hand: no tool turns Lattice associations into Kubernetes objects.

pub mod cli;
pub mod fetch;
pub mod naming;
pub mod plan;
pub mod render;
