//! `spec.serviceFrom.httpRouteRef`: the service's ARN read from an HTTPRoute of the object's
//! namespace, where the AWS Gateway API Controller writes it (the annotation
//! [`SERVICE_ARN_ANNOTATION`]) once it has made the route's Lattice service. The routes are read as
//! dynamic objects: the Gateway API CRDs are optional, and only this annotation is read.

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};

use crate::lattice::{ErrorKind, LatticeError};

/// The annotation the AWS Gateway API Controller writes on an HTTPRoute: its Lattice service's ARN.
pub const SERVICE_ARN_ANNOTATION: &str = "application-networking.k8s.aws/lattice-service-arn";

/// The Gateway API's HTTPRoute.
pub fn http_route() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute"))
}

/// The service ARN the route `name` of `namespace` carries. Not there (the route, the annotation,
/// or the Gateway API itself): `NotFound`, retried, and the route's watch wakes the object when it
/// changes. Not a service ARN: `Validation`.
pub async fn service_arn(client: &kube::Client, namespace: &str, name: &str) -> Result<String, LatticeError> {
    let routes: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &http_route());
    let route = match routes.get_opt(name).await {
        Ok(route) => route,
        Err(e) => {
            return Err(LatticeError::new(
                ErrorKind::Transient,
                "KubernetesError",
                format!("reading HTTPRoute {name}: {e}"),
            ));
        }
    };
    let Some(route) = route else {
        return Err(LatticeError::new(
            ErrorKind::NotFound,
            "HTTPRouteNotFound",
            format!(
                "HTTPRoute {name} does not exist in namespace {namespace} (or the Gateway API CRDs are not \
                 installed): waiting for it"
            ),
        ));
    };
    let annotations = route.metadata.annotations.unwrap_or_default();
    let arn = annotations
        .get(SERVICE_ARN_ANNOTATION)
        .map(String::as_str)
        .unwrap_or_default();
    parse(name, arn)
}

/// The service ARN of route `name`'s annotation value `arn` (empty: absent).
fn parse(name: &str, arn: &str) -> Result<String, LatticeError> {
    if arn.is_empty() {
        return Err(LatticeError::new(
            ErrorKind::NotFound,
            "ServiceArnNotAnnotated",
            format!(
                "HTTPRoute {name} has no {SERVICE_ARN_ANNOTATION} annotation yet: the AWS Gateway API Controller \
                 writes it once it has made the route's VPC Lattice service; waiting for it"
            ),
        ));
    }
    if !is_service_arn(arn) {
        return Err(LatticeError::new(
            ErrorKind::Validation,
            "InvalidServiceArn",
            format!("HTTPRoute {name}'s {SERVICE_ARN_ANNOTATION} annotation is not a VPC Lattice service ARN: {arn:?}"),
        ));
    }
    Ok(arn.to_string())
}

/// `arn:<partition>:vpc-lattice:<region>:<12 digits>:service/svc-<17 of [0-9a-z]>`
/// ([`crate::api::SERVICE_IDENTIFIER_PATTERN`]'s ARN form).
fn is_service_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    let id = parts
        .get(5)
        .and_then(|r| r.strip_prefix("service/svc-"))
        .unwrap_or_default();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "vpc-lattice"
        && !parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].bytes().all(|b| b.is_ascii_digit())
        && id.len() == 17
        && id.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_annotation_is_waited_for_and_must_be_a_service_arn() {
        let arn = "arn:aws:vpc-lattice:us-east-1:111122223333:service/svc-0123456789abcdef0";
        assert_eq!(parse("web", arn).unwrap(), arn);
        let absent = parse("web", "").unwrap_err();
        assert_eq!(absent.kind, ErrorKind::NotFound);
        assert!(absent.message.contains(SERVICE_ARN_ANNOTATION), "{}", absent.message);
        for bad in [
            "svc-0123456789abcdef0",
            "arn:aws:vpc-lattice:us-east-1:111122223333:servicenetwork/sn-0123456789abcdef0",
        ] {
            assert_eq!(parse("web", bad).unwrap_err().kind, ErrorKind::Validation, "{bad}");
        }
    }
}
