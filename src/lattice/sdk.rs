//! [`LatticeApi`] over aws-sdk-vpclattice, and aws-sdk-resourcegroupstagging for the batched tag
//! reads (the drift scan's by tag, and by ARN list). The clients come from the standard aws-config
//! chain, so credentials (IRSA, Pod Identity, env, profile), region and endpoint overrides
//! (`AWS_ENDPOINT_URL_VPC_LATTICE`, `AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API`,
//! `AWS_ENDPOINT_URL`) work as in every AWS tool.

use async_trait::async_trait;
use aws_sdk_resourcegroupstagging as tagging;
use aws_sdk_vpclattice::Client;
use aws_sdk_vpclattice::types as t;

use super::credentials::credentials_failure;
use super::error::{Classify, ErrorKind, classify};
use super::names::{Kind, Named};
use super::{
    ASSOCIATION_RESOURCE_TYPE, Association, AssociationState, CreateAssociation, DnsEntry, LatticeApi, LatticeError,
    ListFilter, Page, TAGGED_PAGE_SIZE, Tagged, Tags,
};

/// VPC Lattice (and the Tagging API's view of its associations) through the AWS SDK.
#[derive(Clone, Debug)]
pub struct SdkLattice {
    client: Client,
    tagging: tagging::Client,
    /// Whose credentials sign the calls, in words (`the operator's own identity`, `role …`): named
    /// in the message when they cannot be had.
    identity: String,
    /// No region is configured: no call can be signed or routed, so none is made.
    no_region: bool,
}

impl SdkLattice {
    pub fn new(client: Client, tagging: tagging::Client) -> Self {
        Self {
            client,
            tagging,
            identity: "the operator's own identity".into(),
            no_region: false,
        }
    }

    /// Names whose credentials sign the calls, for the messages of credentials failures.
    #[must_use]
    pub fn signing_as(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Refuses every call before it is made when no region is configured.
    fn usable(&self) -> Result<(), LatticeError> {
        if !self.no_region {
            return Ok(());
        }
        Err(LatticeError::new(
            ErrorKind::Credentials,
            super::credentials::CREDENTIALS_UNAVAILABLE,
            "no AWS region is configured, so no call can be signed: set the chart value aws.region (the \
             AWS_REGION variable), or give the node's instance metadata a region",
        ))
    }

    /// Classifies a failed call; a credentials failure names whose credentials they were.
    fn fail<E>(
        &self,
        err: aws_sdk_vpclattice::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
    ) -> LatticeError
    where
        E: Classify + aws_sdk_vpclattice::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        // A credential provider's failure arrives as the call's dispatch failure: told apart first.
        let mut e = credentials_failure(&err).unwrap_or_else(|| classify(err));
        if matches!(e.kind, ErrorKind::Credentials | ErrorKind::CredentialsTransient) {
            e.message = format!("{} ({})", e.message, self.identity);
        }
        e
    }

    /// A client for a loaded configuration (the operator's: [`super::aws::Aws`]; tests build their own).
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self {
            no_region: config.region().is_none(),
            ..Self::new(Client::new(config), tagging::Client::new(config))
        }
    }
}

fn state(s: Option<&t::ServiceNetworkServiceAssociationStatus>) -> AssociationState {
    s.map(|s| AssociationState::parse(s.as_str()))
        .unwrap_or_else(|| AssociationState::Other("UNKNOWN".into()))
}

fn dns(d: Option<&t::DnsEntry>) -> Option<DnsEntry> {
    d.map(|d| DnsEntry {
        domain_name: d.domain_name().map(str::to_string),
        hosted_zone_id: d.hosted_zone_id().map(str::to_string),
    })
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// The resources of a `GetResources` answer, each with all its tags.
fn tag_mappings(list: &[tagging::types::ResourceTagMapping]) -> Vec<Tagged> {
    list.iter()
        .map(|m| Tagged {
            arn: m.resource_arn().unwrap_or_default().to_string(),
            tags: m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        })
        .collect()
}

/// Fills the fields that Get, List and Create all report.
macro_rules! association {
    ($o:expr) => {{
        let o = $o;
        let mut a = Association::new(
            o.id().unwrap_or_default(),
            o.arn().unwrap_or_default(),
            state(o.status()),
        );
        a.created_by = owned(o.created_by());
        a.custom_domain_name = owned(o.custom_domain_name());
        a.dns_entry = dns(o.dns_entry());
        a
    }};
}

/// Adds the service and network fields that Get and List report.
macro_rules! with_targets {
    ($a:expr, $o:expr) => {{
        let (mut a, o) = ($a, $o);
        a.service_id = owned(o.service_id());
        a.service_arn = owned(o.service_arn());
        a.service_name = owned(o.service_name());
        a.service_network_id = owned(o.service_network_id());
        a.service_network_arn = owned(o.service_network_arn());
        a.service_network_name = owned(o.service_network_name());
        a
    }};
}

#[async_trait]
impl LatticeApi for SdkLattice {
    async fn create_association(&self, req: &CreateAssociation) -> Result<Association, LatticeError> {
        self.usable()?;
        let out = self
            .client
            .create_service_network_service_association()
            .client_token(&req.client_token)
            .service_identifier(&req.service_identifier)
            .service_network_identifier(&req.service_network_identifier)
            .set_tags((!req.tags.is_empty()).then(|| req.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        Ok(association!(&out))
    }

    async fn get_association(&self, id: &str) -> Result<Association, LatticeError> {
        self.usable()?;
        let out = self
            .client
            .get_service_network_service_association()
            .service_network_service_association_identifier(id)
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        let mut a = with_targets!(association!(&out), &out);
        a.failure_code = owned(out.failure_code());
        a.failure_message = owned(out.failure_message());
        Ok(a)
    }

    async fn delete_association(&self, id: &str) -> Result<AssociationState, LatticeError> {
        self.usable()?;
        let out = self
            .client
            .delete_service_network_service_association()
            .service_network_service_association_identifier(id)
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        Ok(state(out.status()))
    }

    async fn list_associations(
        &self,
        filter: &ListFilter,
        next_token: Option<String>,
    ) -> Result<Page<Association>, LatticeError> {
        self.usable()?;
        let out = self
            .client
            .list_service_network_service_associations()
            .set_service_network_identifier(filter.service_network_identifier.clone())
            .set_service_identifier(filter.service_identifier.clone())
            .set_next_token(next_token)
            .max_results(filter.max_results.unwrap_or(100))
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        Ok(Page {
            items: out.items().iter().map(|s| with_targets!(association!(s), s)).collect(),
            next_token: owned(out.next_token()),
        })
    }

    async fn list_tags(&self, arn: &str) -> Result<Tags, LatticeError> {
        self.usable()?;
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        Ok(out.tags().map(|m| m.clone().into_iter().collect()).unwrap_or_default())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), LatticeError> {
        self.usable()?;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), LatticeError> {
        self.usable()?;
        self.client
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    async fn tagged_associations(
        &self,
        (key, value): (&str, &str),
        next_token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.usable()?;
        let out = self
            .tagging
            .get_resources()
            .resource_type_filters(ASSOCIATION_RESOURCE_TYPE)
            .tag_filters(tagging::types::TagFilter::builder().key(key).values(value).build())
            .resources_per_page(TAGGED_PAGE_SIZE)
            .set_pagination_token(next_token)
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        Ok(Page {
            items: tag_mappings(out.resource_tag_mapping_list()),
            next_token: owned(out.pagination_token()),
        })
    }

    async fn tags_of(&self, arns: &[String]) -> Result<Vec<Tagged>, LatticeError> {
        self.usable()?;
        // The ARN list alone: AWS refuses it with ResourceTypeFilters, TagFilters or any of the
        // paging parameters (ResourcesPerPage, TagsPerPage, PaginationToken). The answer is one
        // page (AWS sends an empty PaginationToken): one that says more follow cannot be followed,
        // and is refused rather than read as "the rest have no tags".
        let out = self
            .tagging
            .get_resources()
            .set_resource_arn_list(Some(arns.to_vec()))
            .send()
            .await
            .map_err(|e| self.fail(e))?;
        if out.pagination_token().is_some_and(|t| !t.is_empty()) {
            return Err(LatticeError::new(
                ErrorKind::Other,
                "UnexpectedPaginationToken",
                "GetResources by ARN answered with a PaginationToken, which cannot be followed with a ResourceARNList: \
                 some tags may be missing from its answer",
            ));
        }
        Ok(tag_mappings(out.resource_tag_mapping_list()))
    }

    async fn list_named(&self, kind: Kind, next_token: Option<String>) -> Result<Page<Named>, LatticeError> {
        self.usable()?;
        // ListServices and ListServiceNetworks: builders and summaries of two types, one shape.
        macro_rules! page {
            ($builder:expr) => {{
                let out = $builder
                    .max_results(100)
                    .set_next_token(next_token)
                    .send()
                    .await
                    .map_err(|e| self.fail(e))?;
                Page {
                    items: out
                        .items()
                        .iter()
                        .map(|s| Named {
                            id: s.id().unwrap_or_default().to_string(),
                            arn: s.arn().unwrap_or_default().to_string(),
                            name: s.name().unwrap_or_default().to_string(),
                        })
                        .collect(),
                    next_token: owned(out.next_token()),
                }
            }};
        }
        Ok(match kind {
            Kind::Service => page!(self.client.list_services()),
            Kind::ServiceNetwork => page!(self.client.list_service_networks()),
        })
    }
}
