//! The `ServiceNetworkServiceAssociation` custom resource: spec, status and the admission rules
//! (OpenAPI patterns and CEL) that the API server enforces before the operator sees an object.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};

mod watched;
use serde::{Deserialize, Serialize};
pub use watched::{Mark, Recorded, Watched, digest};

/// The API group, as a literal for `concat!`: every name of this operator's below is built from it
/// (the `#[kube(group)]` attribute takes a literal only; a unit test holds it to [`GROUP`]).
macro_rules! group {
    () => {
        "vpclattice.operator.dev"
    };
}

/// API group of every resource this operator serves.
pub const GROUP: &str = group!();
/// Finalizer that holds an object until its association is gone from AWS.
pub const FINALIZER: &str = concat!(group!(), "/association-cleanup");
/// Tag naming the object (`<namespace>/<name>`) that created an association.
pub const OWNER_TAG: &str = concat!(group!(), "/owner");
/// Tag naming the cluster (`--cluster-name`) whose operator created an association.
pub const CLUSTER_TAG: &str = concat!(group!(), "/cluster");
/// The Namespace annotation naming the IAM role for its objects.
pub const ROLE_ANNOTATION: &str = concat!(group!(), "/aws-role-arn");
/// The Namespace annotation naming the default AWS region of its objects (`spec.region` overrides it).
pub const REGION_ANNOTATION: &str = concat!(group!(), "/aws-region");
/// The Namespace annotation with the external ID its role's trust policy demands (optional).
pub const EXTERNAL_ID_ANNOTATION: &str = concat!(group!(), "/aws-external-id");
/// Tag the AWS Gateway API Controller puts on the Lattice resources it manages (and the only ones it
/// deletes): an association carrying it is never adopted, tagged or deleted by this operator.
pub const GATEWAY_MANAGED_TAG: &str = "application-networking.k8s.aws/ManagedBy";
/// Namespace label that allows `spec.adoptionPolicy: Always` in the namespace (the default of
/// `--allow-adoption-label`, and of the chart's admission policy).
pub const ALLOW_ADOPTION_LABEL: &str = concat!(group!(), "/allow-adoption");
/// Annotation `vpc-lattice-operator import` writes on each object it makes: the ARN of the
/// association it was made from (for people; the operator does not read it).
pub const IMPORTED_FROM_ANNOTATION: &str = concat!(group!(), "/imported-from");
/// Prefixes of tag keys `spec.tags` cannot hold: AWS's own, this operator's, the Gateway API
/// Controller's.
pub const RESERVED_TAG_PREFIXES: [&str; 3] = ["aws:", concat!(group!(), "/"), "application-networking.k8s.aws/"];
/// The most tags `spec.tags` holds: AWS allows 50 an association, and the operator adds two.
pub const MAX_SPEC_TAGS: usize = 48;
/// A cluster name (`--cluster-name`, the value of [`CLUSTER_TAG`]): a tag value AWS accepts (1-256
/// characters of letters, digits, white space and `_ . : / = + - @`).
pub fn parse_cluster_name(s: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
    if s.trim().is_empty() || s.chars().count() > 256 || !s.chars().all(allowed) {
        return Err("1-256 characters of letters, digits, white space and _ . : / = + - @ (an AWS tag value)".into());
    }
    Ok(s.to_string())
}

/// The default `--allow-adoption-label` selector: [`ALLOW_ADOPTION_LABEL`]`=true`.
pub const ALLOW_ADOPTION_SELECTOR: &str = concat!(group!(), "/allow-adoption=true");

/// Pattern of a service identifier, exactly as the AWS model has it, anchored.
pub const SERVICE_IDENTIFIER_PATTERN: &str =
    r"^((svc-[0-9a-z]{17})|(arn:[a-z0-9\-]+:vpc-lattice:[a-zA-Z0-9\-]+:\d{12}:service/svc-[0-9a-z]{17}))$";
/// Pattern of a service network identifier, exactly as the AWS model has it, anchored.
pub const SERVICE_NETWORK_IDENTIFIER_PATTERN: &str =
    r"^((sn-[0-9a-z]{17})|(arn:[a-z0-9\-]+:vpc-lattice:[a-zA-Z0-9\-]+:\d{12}:servicenetwork/sn-[0-9a-z]{17}))$";
/// Characters AWS allows in tag keys and values: Unicode letters, digits, white space, `_ . : / = + - @`.
pub const TAG_CHARS_PATTERN: &str = r"^[\p{L}\p{Z}\p{N}\s_.:/=+\-@]*$";

/// The association to make and keep: which service joins which service network, the tags it
/// carries, and what the operator does when the pair is associated already or this object is
/// deleted. The operator creates the association in AWS, reports its state in `.status`, recreates
/// it when it fails or disappears, and keeps its tags in line with `tags`.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "vpclattice.operator.dev",
    version = "v1alpha1",
    kind = "ServiceNetworkServiceAssociation",
    plural = "servicenetworkserviceassociations",
    shortname = "snsa",
    category = "vpclattice",
    category = "aws",
    namespaced,
    doc = "Associates an Amazon VPC Lattice service with a service network and keeps it associated.",
    status = "ServiceNetworkServiceAssociationStatus",
    printcolumn = r#"{"name":"Service","type":"string","description":"The service's name, as AWS reports it","jsonPath":".status.serviceName"}"#,
    printcolumn = r#"{"name":"Network","type":"string","description":"The service network's name, as AWS reports it","jsonPath":".status.serviceNetworkName"}"#,
    printcolumn = r#"{"name":"Status","type":"string","description":"The association's status in AWS","jsonPath":".status.associationStatus"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Service-ID","type":"string","priority":1,"description":"spec.serviceIdentifier","jsonPath":".spec.serviceIdentifier"}"#,
    printcolumn = r#"{"name":"Network-ID","type":"string","priority":1,"description":"spec.serviceNetworkIdentifier","jsonPath":".spec.serviceNetworkIdentifier"}"#,
    printcolumn = r#"{"name":"Region","type":"string","priority":1,"description":"The association's AWS region","jsonPath":".status.region"}"#,
    printcolumn = r#"{"name":"Management","type":"string","priority":1,"description":"spec.managementPolicy","jsonPath":".spec.managementPolicy"}"#,
    printcolumn = r#"{"name":"ID","type":"string","priority":1,"description":"The association's ID","jsonPath":".status.id"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("[has(self.serviceIdentifier), has(self.serviceRef), has(self.serviceFrom)].exists_one(x, x)").message("name the service exactly one way: serviceIdentifier, serviceRef or serviceFrom").field_path(".serviceIdentifier").reason(Reason::FieldValueRequired),
    validation = Rule::new("[has(self.serviceNetworkIdentifier), has(self.serviceNetworkRef)].exists_one(x, x)").message("name the service network exactly one way: serviceNetworkIdentifier or serviceNetworkRef").field_path(".serviceNetworkIdentifier").reason(Reason::FieldValueRequired),
    validation = Rule::new("has(self.serviceIdentifier) == has(oldSelf.serviceIdentifier) && has(self.serviceRef) == has(oldSelf.serviceRef) && has(self.serviceFrom) == has(oldSelf.serviceFrom)").message("how the service is named (serviceIdentifier, serviceRef or serviceFrom) cannot change: create a new ServiceNetworkServiceAssociation").field_path(".serviceIdentifier").reason(Reason::FieldValueForbidden),
    validation = Rule::new("!has(self.region) || !has(self.serviceIdentifier) || !self.serviceIdentifier.startsWith('arn:') || self.serviceIdentifier.contains(':vpc-lattice:' + self.region + ':')").message("serviceIdentifier is an ARN of another region than spec.region: the association is made in spec.region, where the service must be").field_path(".serviceIdentifier").reason(Reason::FieldValueInvalid),
    validation = Rule::new("!has(self.region) || !has(self.serviceNetworkIdentifier) || !self.serviceNetworkIdentifier.startsWith('arn:') || self.serviceNetworkIdentifier.contains(':vpc-lattice:' + self.region + ':')").message("serviceNetworkIdentifier is an ARN of another region than spec.region: the association is made in spec.region, where the service network must be").field_path(".serviceNetworkIdentifier").reason(Reason::FieldValueInvalid),
    validation = Rule::new("has(self.region) == has(oldSelf.region)").message("region is immutable (it cannot be added or removed either): create a new ServiceNetworkServiceAssociation to use another region").field_path(".region").reason(Reason::FieldValueForbidden),
    validation = Rule::new("has(self.serviceNetworkIdentifier) == has(oldSelf.serviceNetworkIdentifier) && has(self.serviceNetworkRef) == has(oldSelf.serviceNetworkRef)").message("how the service network is named (serviceNetworkIdentifier or serviceNetworkRef) cannot change: create a new ServiceNetworkServiceAssociation").field_path(".serviceNetworkIdentifier").reason(Reason::FieldValueForbidden),
)]
pub struct ServiceNetworkServiceAssociationSpec {
    /// The service to associate: its ID (`svc-` and 17 characters) or its ARN. Immutable. Exactly
    /// one of `serviceIdentifier`, `serviceRef` and `serviceFrom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SERVICE_IDENTIFIER_PATTERN), length(min = 21, max = 2048))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceIdentifier is immutable: create a new ServiceNetworkServiceAssociation to associate another service").reason(Reason::FieldValueForbidden))]
    pub service_identifier: Option<String>,

    /// The service to associate, by its name: resolved with `ListServices` (services the account
    /// owns or that are shared with it) and pinned in `.status.resolvedServiceArn` once found, never
    /// resolved again while the object lives. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(REF_TRANSITION).message("serviceRef is immutable (ownerAccount may only be added, to choose between two services of one name): create a new ServiceNetworkServiceAssociation to associate another service").reason(Reason::FieldValueForbidden))]
    pub service_ref: Option<NameRef>,

    /// The service to associate, from where another controller records it: `httpRouteRef` names an
    /// HTTPRoute of this namespace whose `application-networking.k8s.aws/lattice-service-arn`
    /// annotation (written by the AWS Gateway API Controller) holds the service's ARN; waited for
    /// while absent, then pinned in `.status.resolvedServiceArn`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceFrom is immutable: create a new ServiceNetworkServiceAssociation to associate another service").reason(Reason::FieldValueForbidden))]
    pub service_from: Option<ServiceFrom>,

    /// The service network to associate the service with: its ID (`sn-` and 17 characters) or its
    /// ARN. An ARN is required when the service network is in another account. Immutable. Exactly
    /// one of `serviceNetworkIdentifier` and `serviceNetworkRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = SERVICE_NETWORK_IDENTIFIER_PATTERN), length(min = 20, max = 2048))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("serviceNetworkIdentifier is immutable: create a new ServiceNetworkServiceAssociation to use another service network").reason(Reason::FieldValueForbidden))]
    pub service_network_identifier: Option<String>,

    /// The service network, by its name: resolved with `ListServiceNetworks` (networks the account
    /// owns or that are shared with it through AWS RAM) and pinned in
    /// `.status.resolvedServiceNetworkArn` once found. A network shared through RAM may be missing
    /// from that listing (the AWS Gateway API Controller notes it): name such a network by ARN in
    /// `serviceNetworkIdentifier`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new(REF_TRANSITION).message("serviceNetworkRef is immutable (ownerAccount may only be added, to choose between two service networks of one name): create a new ServiceNetworkServiceAssociation to use another service network").reason(Reason::FieldValueForbidden))]
    pub service_network_ref: Option<NameRef>,

    /// The AWS region of the association (and of its service and service network), e.g.
    /// `us-west-2`. Default: the Namespace's `vpclattice.operator.dev/aws-region` annotation, else the
    /// operator's region. An identifier given as an ARN must name this region. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"), length(min = 9, max = 25))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("region is immutable: create a new ServiceNetworkServiceAssociation to use another region").reason(Reason::FieldValueForbidden))]
    pub region: Option<String>,

    /// Tags for the association. Authoritative: tags in AWS are added, changed and removed to
    /// match, except keys beginning `aws:` and the operator's own ownership tags. At most 48 (AWS
    /// allows 50, the operator adds two); keys 1-128 characters, values up to 256, of Unicode
    /// letters, digits, white space and `_ . : / = + - @`; keys may not begin with `aws:`,
    /// `vpclattice.operator.dev/` or `application-networking.k8s.aws/`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "tags_schema")]
    pub tags: BTreeMap<String, String>,

    /// What happens to the association in AWS when this object is deleted: `Delete` (default)
    /// removes it, `Retain` leaves it in place.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Whether to take over an association of the same service and service network that already
    /// exists in AWS: `IfOwned` (default) only when its ownership tags name this object (a lost
    /// status, a restore from backup); `Always` also one no live object of this cluster owns (no
    /// ownership tags, a deleted owner, another cluster's), and only in namespaces the platform team
    /// labels `vpclattice.operator.dev/allow-adoption=true`; `Never` not at all. An association
    /// another existing object owns, or one the AWS Gateway API Controller manages, is never adopted.
    /// Adopting rewrites the association's tags, and deleting this object then deletes it.
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,

    /// What the operator does with the association: `Managed` (default) creates, repairs, tags and
    /// deletes it; `ObserveOnly` only finds the association of the pair and reports it in `.status`
    /// (Ready when ACTIVE): it never creates, deletes or tags one, holds no finalizer (deleting the
    /// object touches nothing in AWS) and ignores `tags`, `deletionPolicy` and `adoptionPolicy`.
    /// Switching to `Managed` takes the association over only as `adoptionPolicy` allows; switching
    /// to `ObserveOnly` releases it without deleting it (its tags stay as they are).
    #[serde(default)]
    pub management_policy: ManagementPolicy,
}

/// Whether the operator manages the association or only reports it.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ManagementPolicy {
    /// Create, repair, tag and (per `deletionPolicy`) delete the association.
    #[default]
    Managed,
    /// Only observe the association of the pair: never create, delete or tag it.
    ObserveOnly,
}

/// The transition rule of a [`NameRef`]: the name never changes, and `ownerAccount` may be added
/// but not changed or removed.
const REF_TRANSITION: &str = "self.name == oldSelf.name && (!has(oldSelf.ownerAccount) || (has(self.ownerAccount) && self.ownerAccount == oldSelf.ownerAccount))";

/// A service or service network named by its name.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NameRef {
    /// The name, as AWS has it (3-63 lowercase letters, digits and hyphens).
    #[schemars(regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"), length(min = 3, max = 63))]
    pub name: String,
    /// The 12-digit account that owns it: needed only when the account owns one of that name and
    /// another account shares one of the same name with it. May be added, not changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub owner_account: Option<String>,
}

/// Where the service's ARN is read from.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceFrom {
    /// An HTTPRoute (`gateway.networking.k8s.io`) of this object's namespace.
    pub http_route_ref: LocalRef,
}

/// An object of this object's namespace, by name.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LocalRef {
    /// The object's name.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), length(min = 1, max = 253))]
    pub name: String,
}

/// What happens to the association in AWS when the object is deleted.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletionPolicy {
    /// Delete the association from AWS, then release the object.
    #[default]
    Delete,
    /// Leave the association in AWS and release the object at once.
    Retain,
}

/// Which pre-existing association of the same pair the operator takes over.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AdoptionPolicy {
    /// Adopt only an association whose ownership tags name this object.
    #[default]
    IfOwned,
    /// Also adopt an association no live object of this cluster owns (only in namespaces the
    /// platform team allows).
    Always,
    /// Never adopt; report `AlreadyAssociated` instead.
    Never,
}

/// The association's DNS entry, as AWS reports it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DnsEntry {
    /// The domain name of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// The ID of the Route 53 hosted zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
}

/// The observed state of the association, as the operator last saw it in AWS.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceNetworkServiceAssociationStatus {
    /// The association's ID in AWS (`snsa-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The association's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The association's status in AWS: CREATE_IN_PROGRESS, ACTIVE, DELETE_IN_PROGRESS,
    /// CREATE_FAILED or DELETE_FAILED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub association_status: Option<String>,
    /// The account that created the association.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// The service's custom domain name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_domain_name: Option<String>,
    /// The DNS entry clients use to reach the service through the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_entry: Option<DnsEntry>,
    /// The service's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// The service's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_arn: Option<String>,
    /// The service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The service network's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_network_id: Option<String>,
    /// The service network's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_network_arn: Option<String>,
    /// The service network's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_network_name: Option<String>,
    /// AWS's failure code when the association failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<String>,
    /// AWS's failure message when the association failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// The idempotency token of the current create (`<uid>-<recreateAttempts>`): a retried create
    /// with it returns the same association instead of a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// How many times the association has been recreated (after CREATE_FAILED, DELETE_FAILED or a
    /// deletion outside the operator).
    #[serde(default)]
    pub recreate_attempts: i32,
    /// The `.metadata.generation` whose tags the operator last set on the association (with the
    /// Create) or read back and found matching. While it equals the object's generation the
    /// operator does not read the tags on every reconcile (a restart costs no call per object); tags
    /// changed outside the cluster are found by the drift scan's tag rounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags_synced_generation: Option<i64>,
    /// The AWS region the association is in (`spec.region`, else the Namespace's default, else the
    /// operator's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The service's ARN as `serviceRef` or `serviceFrom` resolved it: pinned, never resolved again
    /// while the object lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_service_arn: Option<String>,
    /// The service network's ARN as `serviceNetworkRef` resolved it: pinned, never resolved again
    /// while the object lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_service_network_arn: Option<String>,
    /// `ObserveOnly` when this status was written under `managementPolicy: ObserveOnly`: the
    /// association it names was observed, not created or adopted by this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_policy: Option<ManagementPolicy>,
    /// The `.metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// kstatus conditions: `Ready`, `Reconciling` and `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
}

/// Schema of `.spec.tags`: sizes bound so the API server can price the CEL rules over the keys.
fn tags_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "maxProperties": MAX_SPEC_TAGS,
        "additionalProperties": {
            "type": "string",
            "maxLength": 256,
            "pattern": TAG_CHARS_PATTERN,
        },
        "x-kubernetes-validations": [
            {
                "rule": "self.all(k, size(k) >= 1 && size(k) <= 128)",
                "message": "tag keys must be 1 to 128 characters long",
            },
            {
                "rule": "self.all(k, !k.startsWith('aws:'))",
                "message": "tag keys may not begin with 'aws:' (reserved by AWS)",
            },
            {
                "rule": format!("self.all(k, k.matches('{}'))", TAG_CHARS_PATTERN.replace('\\', "\\\\")),
                "message": "tag keys may contain only Unicode letters, digits, white space and _ . : / = + - @",
            },
            {
                "rule": format!("self.all(k, !k.startsWith('{GROUP}/'))"),
                "message": "tag keys beginning 'vpclattice.operator.dev/' are reserved for the operator's ownership tags",
            },
            {
                "rule": "self.all(k, !k.startsWith('application-networking.k8s.aws/'))",
                "message": "tag keys beginning 'application-networking.k8s.aws/' belong to the AWS Gateway API Controller",
            },
        ],
    })
}

impl ServiceNetworkServiceAssociation {
    /// The condition of the given type, if set.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// The CustomResourceDefinition, its descriptions made whole paragraphs ([`paragraphs`]), and a
/// default status of `observedGeneration: 0` ([`new_status`]).
pub fn crd() -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    use kube::CustomResourceExt;
    let mut value = serde_json::to_value(ServiceNetworkServiceAssociation::crd()).expect("the CRD serialises");
    rewrap_descriptions(&mut value);
    for version in value["spec"]["versions"].as_array_mut().expect("versions") {
        version["schema"]["openAPIV3Schema"]["properties"]["status"]["default"] = new_status();
    }
    serde_json::from_value(value).expect("the CRD deserialises")
}

/// The status the API server gives an object the operator has not reported on yet (a schema
/// default, applied when the object is read): `observedGeneration: 0`, below every generation, so
/// kstatus (Flux, Helm `--wait`) says InProgress, and Argo CD's check Progressing, from the moment
/// the object exists, instead of Current in the moment before the first status write.
pub fn new_status() -> serde_json::Value {
    serde_json::json!({ "observedGeneration": 0 })
}

/// The CustomResourceDefinition as YAML, as `vpc-lattice-operator crd` prints it and `crds/` holds it.
pub fn crd_yaml() -> String {
    serde_norway::to_string(&crd()).expect("the CRD serialises")
}

/// Rewrites every `description` under `value` with [`paragraphs`].
fn rewrap_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    serde_json::Value::String(text) if key == "description" => *text = paragraphs(text),
                    _ => rewrap_descriptions(v),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(rewrap_descriptions),
        _ => {}
    }
}

/// A doc comment as `kubectl explain` should show it: the line breaks of its source wrapping
/// removed, paragraphs (a blank line) and list items (a line beginning `- `) kept.
pub fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| {
            let mut joined = String::new();
            for line in paragraph.lines().map(str::trim) {
                if !joined.is_empty() {
                    joined.push(if line.starts_with("- ") { '\n' } else { ' ' });
                }
                joined.push_str(line);
            }
            joined
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_group_is_the_one_every_name_is_built_from() {
        use kube::Resource;
        assert_eq!(ServiceNetworkServiceAssociation::group(&()), GROUP);
        for name in [
            FINALIZER,
            OWNER_TAG,
            CLUSTER_TAG,
            ROLE_ANNOTATION,
            EXTERNAL_ID_ANNOTATION,
            REGION_ANNOTATION,
            ALLOW_ADOPTION_LABEL,
        ] {
            assert!(name.starts_with(&format!("{GROUP}/")), "{name}");
        }
        assert_eq!(ALLOW_ADOPTION_SELECTOR, format!("{ALLOW_ADOPTION_LABEL}=true"));
    }

    /// Every description of the generated CRD, with its path.
    fn descriptions(value: &serde_json::Value, path: &str, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match v {
                        serde_json::Value::String(text) if key == "description" => {
                            out.push((path.into(), text.clone()))
                        }
                        _ => descriptions(v, &format!("{path}.{key}"), out),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    descriptions(v, &format!("{path}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn paragraphs_join_wrapped_lines_and_keep_paragraphs_and_list_items() {
        assert_eq!(paragraphs("one\ntwo\n\nthree"), "one two\n\nthree");
        assert_eq!(paragraphs("items:\n- a\n- b"), "items:\n- a\n- b");
        assert_eq!(paragraphs("no breaks"), "no breaks");
    }

    #[test]
    fn no_description_of_the_crd_breaks_a_sentence() {
        let mut all = Vec::new();
        descriptions(&serde_json::to_value(crd()).unwrap(), "", &mut all);
        assert!(all.len() > 20, "descriptions found: {}", all.len());
        for (path, text) in &all {
            for (i, _) in text.match_indices('\n') {
                let (before, after) = (&text[..i], &text[i + 1..]);
                assert!(
                    before.ends_with('\n') || after.starts_with('\n') || after.starts_with("- "),
                    "{path}: a line break inside a sentence: {text:?}"
                );
            }
        }
    }

    #[test]
    fn the_spec_describes_the_spec_not_the_kind() {
        let value = serde_json::to_value(crd()).unwrap();
        let schema = &value["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let (kind, spec) = (&schema["description"], &schema["properties"]["spec"]["description"]);
        assert_ne!(kind, spec);
        assert!(
            spec.as_str().unwrap().starts_with("The association to make and keep"),
            "{spec}"
        );
    }
}
