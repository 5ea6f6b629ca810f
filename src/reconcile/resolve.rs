//! A service or service network named by reference (`spec.serviceRef`, `spec.serviceNetworkRef`,
//! `spec.serviceFrom`), resolved to its ARN once and pinned in the status
//! (`resolvedServiceArn`, `resolvedServiceNetworkArn`): never resolved again while the object lives,
//! so a name that later means another service or network changes nothing.

use crate::api::{REGION_ANNOTATION, ServiceNetworkServiceAssociationStatus as Status};
use crate::lattice::LatticeError;
use crate::lattice::names::Kind;
use crate::lattice::provider::Tenant;
use crate::reconcile::context::Target;
use crate::reconcile::decide::Desired;
use crate::reconcile::routes;

/// The target with every reference of its spec resolved through `tenant`: `None` when nothing was
/// left to resolve (identifiers, or ARNs pinned before), else a copy whose desired pair holds the
/// ARNs just pinned in `status`. The first reference that cannot be resolved fails the step (what
/// was pinned before it stays in `status`).
pub(super) async fn pinned<'a>(
    t: &Target<'a>,
    tenant: &Tenant,
    status: &mut Status,
) -> Result<Option<Target<'a>>, LatticeError> {
    if !t.unresolved() {
        return Ok(None);
    }
    let (service_missing, network_missing) = (
        t.desired.service_identifier.is_empty(),
        t.desired.service_network_identifier.is_empty(),
    );
    let spec = t.obj.spec.spec();
    let api = t.api(tenant);
    let names = &t.ctx.names;
    let mut desired = t.desired.clone();
    if service_missing {
        let arn = match (&spec.service_ref, &spec.service_from) {
            (Some(r), _) => {
                let name = (r.name.as_str(), r.owner_account.as_deref());
                names.resolve(&tenant.key, api.as_ref(), Kind::Service, name).await?.arn
            }
            (None, Some(from)) => routes::service_arn(&t.ctx.client, &t.namespace, &from.http_route_ref.name).await?,
            (None, None) => return Err(unnamed("service")),
        };
        status.resolved_service_arn = Some(arn.clone());
        desired.service_identifier = arn;
    }
    if network_missing {
        let Some(r) = &spec.service_network_ref else {
            return Err(unnamed("service network"));
        };
        let name = (r.name.as_str(), r.owner_account.as_deref());
        let arn = names
            .resolve(&tenant.key, api.as_ref(), Kind::ServiceNetwork, name)
            .await?
            .arn;
        status.resolved_service_network_arn = Some(arn.clone());
        desired.service_network_identifier = arn;
    }
    Ok(Some(t.with_desired(desired)))
}

/// Why the pair cannot be associated in `region` (the object's, from `spec.region`, its
/// namespace's annotation or the operator's): an identifier that is an ARN of another region. The
/// API server refuses such an ARN when `spec.region` is set; a default region can only be checked
/// here.
pub(super) fn region_mismatch(desired: &Desired, region: Option<&str>) -> Option<LatticeError> {
    let region = region?;
    [
        ("the service", &desired.service_identifier),
        ("the service network", &desired.service_network_identifier),
    ]
    .into_iter()
    .find_map(|(what, identifier)| {
        let theirs = identifier.strip_prefix("arn:")?.split(':').nth(2)?;
        (theirs != region).then(|| {
            LatticeError::new(
                crate::lattice::ErrorKind::Validation,
                "RegionMismatch",
                format!(
                    "{what} {identifier} is in region {theirs}, but this object's associations are made in {region} \
                     (spec.region, else the namespace's {REGION_ANNOTATION} annotation, else the operator's region): \
                     set spec.region: {theirs}, or name {what} of {region}"
                ),
            )
        })
    })
}

/// A spec that names no service (or network) at all: admission refuses it, so only an object
/// stored before the CRD's rules were installed can be one.
fn unnamed(what: &str) -> LatticeError {
    LatticeError::new(
        crate::lattice::ErrorKind::Validation,
        "InvalidSpec",
        format!("the spec names no {what}: set exactly one way of naming it"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(service: &str, network: &str) -> Desired {
        Desired {
            service_identifier: service.into(),
            service_network_identifier: network.into(),
            tags: Default::default(),
            adoption: Default::default(),
            deletion: Default::default(),
        }
    }

    #[test]
    fn an_arn_of_another_region_than_the_objects_is_refused_naming_both() {
        let west = "arn:aws:vpc-lattice:us-west-2:111122223333:servicenetwork/sn-0123456789abcdef0";
        let d = desired("svc-0123456789abcdef0", west);
        assert!(region_mismatch(&d, Some("us-west-2")).is_none());
        assert!(
            region_mismatch(&d, None).is_none(),
            "no region known: nothing to compare"
        );
        let e = region_mismatch(&d, Some("us-east-1")).unwrap();
        assert_eq!(e.kind, crate::lattice::ErrorKind::Validation);
        for said in ["us-west-2", "us-east-1", "spec.region", west] {
            assert!(e.message.contains(said), "{said}: {}", e.message);
        }
        let ids = desired("svc-0123456789abcdef0", "sn-0123456789abcdef0");
        assert!(region_mismatch(&ids, Some("eu-west-1")).is_none(), "IDs name no region");
    }
}
