//! The AWS boundary: a small [`LatticeApi`] trait with domain types, so the reconciler never sees an
//! SDK type. [`sdk`] implements it over aws-sdk-vpclattice; the `lattice-emulator` workspace member
//! implements it in memory for the tests and serves that state over the AWS REST/JSON wire protocol.

use std::collections::BTreeMap;
use std::time::Instant;

use async_trait::async_trait;

pub mod aws;
pub mod credentials;
pub mod error;
pub mod guard;
pub mod names;
pub mod observation;
pub mod packed;
pub mod provider;
pub mod sdk;
#[cfg(test)]
pub(crate) mod stub;

pub use error::{ErrorKind, LatticeError};

/// Tags of an AWS resource.
pub type Tags = BTreeMap<String, String>;

/// The five statuses AWS reports for an association (and anything newer, kept verbatim).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AssociationState {
    CreateInProgress,
    Active,
    DeleteInProgress,
    CreateFailed,
    DeleteFailed,
    /// A status this operator does not know yet.
    Other(String),
}

impl AssociationState {
    /// The wire form, as AWS spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::CreateInProgress => "CREATE_IN_PROGRESS",
            Self::Active => "ACTIVE",
            Self::DeleteInProgress => "DELETE_IN_PROGRESS",
            Self::CreateFailed => "CREATE_FAILED",
            Self::DeleteFailed => "DELETE_FAILED",
            Self::Other(s) => s,
        }
    }

    /// Parses the wire form.
    pub fn parse(s: &str) -> Self {
        match s {
            "CREATE_IN_PROGRESS" => Self::CreateInProgress,
            "ACTIVE" => Self::Active,
            "DELETE_IN_PROGRESS" => Self::DeleteInProgress,
            "CREATE_FAILED" => Self::CreateFailed,
            "DELETE_FAILED" => Self::DeleteFailed,
            other => Self::Other(other.to_string()),
        }
    }
}

impl std::fmt::Display for AssociationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a listing looks: the key of an AWS identity (see `provider::Tenant::key`) and a service
/// network identifier (ID or ARN, as the objects give it).
pub type Scope = (String, String);

/// The kinds of AWS work whose duration is learned per (identity, service network).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Work {
    /// From an accepted Create to a listing showing the association ACTIVE.
    Create,
    /// From an accepted Delete to a listing without the association.
    Delete,
}

/// An object's Create or Delete that AWS accepted and is still working on: what, and when the call
/// returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Begun {
    pub work: Work,
    pub at: Instant,
}

/// What a call does, for the client-side rate limiter's order inside one priority (each operation's
/// is given where the limiter admits it: `limiter::Admitted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallClass {
    /// A read that answers many objects, of any namespace and priority (the List of a service
    /// network, which every object in it waiting for a listing joins): first in its namespace,
    /// whatever the priority of the reconcile that happened to start it. (At that reconcile's
    /// priority, one namespace's backlog would hold up the polls of every namespace joined to it.)
    Shared,
    /// The next page of a shared List under way: ahead of the shared Lists not begun yet, so that
    /// Lists end one after the other. A network's objects are answered when its listing's last page
    /// arrives: Lists that took turns page by page all ended late (at a restart over 20 networks of
    /// 5 pages, the first listing ended after 1.4 s instead of 0.25 s, and most near the end).
    SharedNext,
    /// Changes AWS (Create, Delete, Tag, Untag): goes before the reads of its priority.
    Mutation,
    /// Only reads of one object (Get, ListTags).
    Read,
}

/// A DNS entry as AWS reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsEntry {
    pub domain_name: Option<String>,
    pub hosted_zone_id: Option<String>,
}

/// A service-network/service association, as Get or List report it (Create and Delete fill less).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Association {
    pub id: String,
    pub arn: String,
    pub status: AssociationState,
    pub created_by: Option<String>,
    pub custom_domain_name: Option<String>,
    pub dns_entry: Option<DnsEntry>,
    pub service_id: Option<String>,
    pub service_arn: Option<String>,
    pub service_name: Option<String>,
    pub service_network_id: Option<String>,
    pub service_network_arn: Option<String>,
    pub service_network_name: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

impl Association {
    /// An association with only its identity and status known.
    pub fn new(id: impl Into<String>, arn: impl Into<String>, status: AssociationState) -> Self {
        Self {
            id: id.into(),
            arn: arn.into(),
            status,
            created_by: None,
            custom_domain_name: None,
            dns_entry: None,
            service_id: None,
            service_arn: None,
            service_name: None,
            service_network_id: None,
            service_network_arn: None,
            service_network_name: None,
            failure_code: None,
            failure_message: None,
        }
    }
}

impl Association {
    /// The optional string fields with their wire (JSON) names, in the order AWS documents them.
    pub fn optional_fields(&self) -> [(&'static str, &Option<String>); 10] {
        [
            ("createdBy", &self.created_by),
            ("customDomainName", &self.custom_domain_name),
            ("serviceId", &self.service_id),
            ("serviceArn", &self.service_arn),
            ("serviceName", &self.service_name),
            ("serviceNetworkId", &self.service_network_id),
            ("serviceNetworkArn", &self.service_network_arn),
            ("serviceNetworkName", &self.service_network_name),
            ("failureCode", &self.failure_code),
            ("failureMessage", &self.failure_message),
        ]
    }
}

/// What a Create sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateAssociation {
    pub client_token: String,
    pub service_identifier: String,
    pub service_network_identifier: String,
    pub tags: Tags,
}

/// One page of a List.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// A filter for listing associations: by service network, by service, or both.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub service_network_identifier: Option<String>,
    pub service_identifier: Option<String>,
    /// Page size (1-100; AWS's default when `None`).
    pub max_results: Option<i32>,
}

/// The calls the operator makes to VPC Lattice.
#[async_trait]
pub trait LatticeApi: Send + Sync {
    async fn create_association(&self, req: &CreateAssociation) -> Result<Association, LatticeError>;
    async fn get_association(&self, id: &str) -> Result<Association, LatticeError>;
    /// Starts deleting; returns the status AWS reports (usually DELETE_IN_PROGRESS).
    async fn delete_association(&self, id: &str) -> Result<AssociationState, LatticeError>;
    async fn list_associations(
        &self,
        filter: &ListFilter,
        next_token: Option<String>,
    ) -> Result<Page<Association>, LatticeError>;
    async fn list_tags(&self, arn: &str) -> Result<Tags, LatticeError>;
    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), LatticeError>;
    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), LatticeError>;
    /// One page of the Resource Groups Tagging API's `GetResources`: the service-network/service
    /// associations ([`ASSOCIATION_RESOURCE_TYPE`]) that carry the tag `filter` (key, value), each
    /// with all its tags; up to [`TAGGED_PAGE_SIZE`] per page.
    async fn tagged_associations(
        &self,
        filter: (&str, &str),
        next_token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError>;
    /// The Tagging API's `GetResources` by ARN (`ResourceARNList`, 1-[`TAGS_BY_ARN_MAX`] ARNs, one
    /// answer, no paging): each of these resources that has (or had) tags, with all its tags; a
    /// resource missing from the answer has none (AWS does not fail for unknown ARNs).
    async fn tags_of(&self, arns: &[String]) -> Result<Vec<Tagged>, LatticeError>;
    /// One page of `ListServices` or `ListServiceNetworks` (what the account owns or is shared
    /// with it), 100 per page.
    async fn list_named(
        &self,
        kind: names::Kind,
        next_token: Option<String>,
    ) -> Result<Page<names::Named>, LatticeError>;
}

/// The Resource Groups Tagging API's name for service-network/service associations.
pub const ASSOCIATION_RESOURCE_TYPE: &str = "vpc-lattice:servicenetworkserviceassociation";

/// The largest page `GetResources` returns (its `ResourcesPerPage` maximum).
pub const TAGGED_PAGE_SIZE: i32 = 100;

/// The most ARNs one `GetResources` by ARN ([`LatticeApi::tags_of`]) may name (its `ResourceARNList`
/// maximum).
pub const TAGS_BY_ARN_MAX: usize = 100;

/// A resource's ARN and all its tags, as the Tagging API reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    pub arn: String,
    pub tags: Tags,
}

/// Every association that carries the tag `filter`, with its tags, across all pages.
pub async fn tagged_all(api: &dyn LatticeApi, filter: (&str, &str)) -> Result<Vec<Tagged>, LatticeError> {
    all_pages(|token| api.tagged_associations(filter, token)).await
}

/// Every association that matches `filter`, across all pages.
pub async fn list_all(api: &dyn LatticeApi, filter: &ListFilter) -> Result<Vec<Association>, LatticeError> {
    all_pages(|token| api.list_associations(filter, token)).await
}

/// Every item of a paged call, following its tokens until one is missing or empty.
async fn all_pages<T, F, Fut>(page: F) -> Result<Vec<T>, LatticeError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, LatticeError>>,
{
    let mut items = Vec::new();
    each_page(page, |next| items.extend(next)).await?;
    Ok(items)
}

/// Each page's items of a paged call, handed to `each` as the page arrives (nothing is kept of the
/// pages before), following its tokens until one is missing or empty.
pub async fn each_page<T, F, Fut>(mut page: F, mut each: impl FnMut(Vec<T>)) -> Result<(), LatticeError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, LatticeError>>,
{
    let mut token = None;
    loop {
        let next = page(token).await?;
        each(next.items);
        match next.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(()),
        }
    }
}

/// The association of this service network and service, if there is one.
pub async fn find_association(
    api: &dyn LatticeApi,
    service_network: &str,
    service: &str,
) -> Result<Option<Association>, LatticeError> {
    let filter = ListFilter {
        service_network_identifier: Some(service_network.to_string()),
        service_identifier: Some(service.to_string()),
        max_results: None,
    };
    Ok(list_all(api, &filter).await?.into_iter().next())
}
