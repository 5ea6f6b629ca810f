//! The emulator as the operator's [`LatticeApi`], for in-process tests: every operation through the
//! common call path (quota, log, faults) over the state.

use async_trait::async_trait;
use vpc_lattice_operator::lattice::names::{Kind, Named};
use vpc_lattice_operator::lattice::{
    Association, AssociationState, CreateAssociation, LatticeApi, LatticeError, ListFilter, Page, Tagged, Tags,
};

use super::*;

#[async_trait]
impl LatticeApi for FakeLattice {
    async fn create_association(&self, req: &CreateAssociation) -> Result<Association, LatticeError> {
        self.call(
            "CreateServiceNetworkServiceAssociation",
            Some(&req.client_token),
            |s, now| self.create_locked(s, req, now),
        )
        .await
    }

    async fn get_association(&self, id: &str) -> Result<Association, LatticeError> {
        self.call("GetServiceNetworkServiceAssociation", None, |s, _| {
            Ok(Self::resolve(s, id)?.association.clone())
        })
        .await
    }

    async fn delete_association(&self, id: &str) -> Result<AssociationState, LatticeError> {
        self.call("DeleteServiceNetworkServiceAssociation", None, |s, now| {
            let delay = Self::provisioning(&s.faults);
            let fail = s.faults.fail_deletes > 0;
            let rec = Self::resolve(s, id)?;
            match rec.association.status {
                AssociationState::CreateInProgress => {
                    return Err(err(
                        ErrorKind::Conflict,
                        "ConflictException",
                        format!("association {id} is being created; delete it once it is ACTIVE or CREATE_FAILED"),
                    )
                    .with_resource(id, "SERVICE_NETWORK_SERVICE_ASSOCIATION"));
                }
                AssociationState::DeleteInProgress => return Ok(AssociationState::DeleteInProgress),
                _ => {}
            }
            rec.association.status = AssociationState::DeleteInProgress;
            rec.pending = Some((now + delay, fail));
            if fail {
                s.faults.fail_deletes -= 1;
            }
            Ok(AssociationState::DeleteInProgress)
        })
        .await
    }

    async fn list_associations(
        &self,
        filter: &ListFilter,
        next_token: Option<String>,
    ) -> Result<Page<Association>, LatticeError> {
        self.call("ListServiceNetworkServiceAssociations", None, |s, _| {
            let network = match &filter.service_network_identifier {
                Some(i) => Some(
                    id_of(i, "servicenetwork", "sn-")
                        .ok_or_else(|| validation(format!("invalid serviceNetworkIdentifier {i}")))?
                        .to_string(),
                ),
                None => None,
            };
            let service = match &filter.service_identifier {
                Some(i) => Some(
                    id_of(i, "service", "svc-")
                        .ok_or_else(|| validation(format!("invalid serviceIdentifier {i}")))?
                        .to_string(),
                ),
                None => None,
            };
            let page = match filter.max_results {
                None => DEFAULT_PAGE_SIZE,
                Some(m @ 1..=100) => m.unsigned_abs() as usize,
                Some(m) => {
                    return Err(validation(format!(
                        "1 validation error detected: Value '{m}' at 'maxResults' failed to satisfy constraint: \
                         Member must have value between 1 and 100"
                    )));
                }
            };
            let (n, v) = (network.as_deref(), service.as_deref());
            let after = match &next_token {
                Some(t) => Some(
                    self.token_position(t, &(n, v))
                        .ok_or_else(|| validation(format!("Invalid nextToken '{t}'")))?,
                ),
                None => None,
            };
            // Pages follow the IDs in order and resume after the last one seen, so associations
            // created or deleted between pages never repeat or shift the others.
            let start = after
                .as_ref()
                .map_or(std::ops::Bound::Unbounded, |a| std::ops::Bound::Excluded(a.clone()));
            let mut items: Vec<Association> = s
                .associations
                .range((start, std::ops::Bound::Unbounded))
                .filter(|(_, r)| n.is_none_or(|n| n == r.network_id) && v.is_none_or(|v| v == r.service_id))
                .take(page + 1)
                .map(|(_, r)| r.association.clone())
                .collect();
            let next_token = (items.len() > page).then(|| self.next_token(&(n, v), &items[page - 1].id));
            items.truncate(page);
            Ok(Page { items, next_token })
        })
        .await
    }

    async fn list_tags(&self, arn: &str) -> Result<Tags, LatticeError> {
        self.call("ListTagsForResource", None, |s, _| {
            if !self.owns(arn) {
                return Err(err(
                    ErrorKind::AccessDenied,
                    "AccessDeniedException",
                    format!("User is not authorized to access resource {arn}, which another account owns"),
                ));
            }
            Ok(Self::tagged(s, arn)?.clone())
        })
        .await
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<(), LatticeError> {
        self.call("TagResource", None, |s, _| {
            let current = Self::tagged(s, arn)?;
            let mut merged = current.clone();
            merged.extend(tags.clone());
            check_tags(tags, merged.len())?;
            *current = merged;
            Ok(())
        })
        .await
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), LatticeError> {
        self.call("UntagResource", None, |s, _| {
            let current = Self::tagged(s, arn)?;
            for k in keys {
                current.remove(k);
            }
            Ok(())
        })
        .await
    }

    async fn tagged_associations(
        &self,
        (key, value): (&str, &str),
        next_token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.get_resources(&ResourceQuery::one_tag(key, value), next_token)
            .await
    }

    async fn tags_of(&self, arns: &[String]) -> Result<Vec<Tagged>, LatticeError> {
        self.get_resources_by_arn(arns, &[]).await
    }

    async fn list_named(&self, kind: Kind, next_token: Option<String>) -> Result<Page<Named>, LatticeError> {
        self.call(kind.operation(), None, |s, _| {
            let scope = kind.operation();
            let after = match &next_token {
                Some(t) => Some(
                    self.token_position(t, &scope)
                        .ok_or_else(|| validation(format!("Invalid nextToken '{t}'")))?,
                ),
                None => None,
            };
            let map = match kind {
                Kind::Service => &s.services,
                Kind::ServiceNetwork => &s.networks,
            };
            let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
            let mut items: Vec<Named> = map
                .range((start, std::ops::Bound::Unbounded))
                .filter(|(id, _)| !s.unlisted.contains(*id))
                .take(DEFAULT_PAGE_SIZE + 1)
                .map(|(_, t)| Named {
                    id: t.id.clone(),
                    arn: t.arn.clone(),
                    name: t.name.clone(),
                })
                .collect();
            let next_token =
                (items.len() > DEFAULT_PAGE_SIZE).then(|| self.next_token(&scope, &items[DEFAULT_PAGE_SIZE - 1].id));
            items.truncate(DEFAULT_PAGE_SIZE);
            Ok(Page { items, next_token })
        })
        .await
    }
}
