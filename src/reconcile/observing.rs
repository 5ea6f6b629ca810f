//! The step of an object under `managementPolicy: ObserveOnly`: it holds no finalizer (one left from
//! `Managed` is released, without deleting anything), finds the association of its pair (by the
//! status's id in the shared listing, else by a List filtered by the pair) and reports it. It makes
//! no Create, Delete, TagResource or UntagResource call: the only AWS calls are reads.

use std::sync::Arc;

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;

use crate::api::{FINALIZER, ServiceNetworkServiceAssociationStatus as Status, Watched};
use crate::lattice::provider::Tenant;
use crate::lattice::{LatticeError, find_association};
use crate::limiter::Calls;
use crate::reconcile::Step;
use crate::reconcile::context::{Context, Target};
use crate::reconcile::error::Error;
use crate::reconcile::outcome::{self, Outcome};

/// One step of an observed object (module doc).
pub(super) async fn reconcile(
    obj: &Watched,
    ctx: &Context,
    api: &Api<Watched>,
    calls: Arc<Calls>,
) -> Result<Action, Error> {
    release_finalizer(api, obj).await?;
    if obj.metadata.deletion_timestamp.is_some() {
        // Nothing of AWS's is touched: the object goes once its finalizer (if it had one) is gone.
        return Ok(Action::await_change());
    }
    let t = Target::new(obj, ctx, api, calls)?;
    super::stepped(&t, async |t: &Target<'_>, tenant: &Tenant, status: &mut Status| {
        Step::Done(observe(t, tenant, status).await)
    })
    .await
}

/// Finds the pair's association: the one the status names, if AWS still has it, else any of the
/// pair (a List filtered by the service network and the service).
async fn observe(t: &Target<'_>, tenant: &Tenant, status: &mut Status) -> Result<Outcome, LatticeError> {
    let api = t.api(tenant);
    let by_id = match &status.id {
        Some(id) => t.lookup(tenant, &api).association(id).await?,
        None => None,
    };
    let (service, network) = (&t.desired.service_identifier, &t.desired.service_network_identifier);
    let found = match by_id {
        Some(a) => Some(a),
        None => find_association(api.as_ref(), network, service).await?,
    };
    Ok(outcome::observed(
        found.as_ref(),
        (service, network),
        t.was_ready(),
        status,
    ))
}

/// Removes this operator's finalizer from `obj` if it has one (left from `managementPolicy:
/// Managed`): a merge patch of the remaining finalizers, refused by the API server if the object
/// changed since it was read (its `resourceVersion`), so no other finalizer is lost.
async fn release_finalizer(api: &Api<Watched>, obj: &Watched) -> Result<(), Error> {
    let finalizers = obj.metadata.finalizers.as_deref().unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let kept: Vec<&String> = finalizers.iter().filter(|f| *f != FINALIZER).collect();
    let patch = serde_json::json!({
        "metadata": { "finalizers": kept, "resourceVersion": obj.metadata.resource_version },
    });
    api.patch(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(Error::Kube)
}
