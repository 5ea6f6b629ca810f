//! The Resource Groups Tagging API's `GetResources`, as far as the emulator serves it, in its two
//! forms: a query ([`ResourceQuery`]) over the associations' tags, paged, and a list of ARNs
//! (`ResourceARNList`, [`FakeLattice::get_resources_by_arn`]) answered at once; both with the
//! Tagging API's own error names.

use vpc_lattice_operator::lattice::{
    ASSOCIATION_RESOURCE_TYPE, ErrorKind, LatticeError, Page, TAGGED_PAGE_SIZE, TAGS_BY_ARN_MAX, Tagged, Tags,
};

use super::{FakeLattice, id_of, validation};

/// The longest ARN `ResourceARNList` takes (the service model's `ResourceARN` length).
const ARN_MAX_CHARS: usize = 1011;

impl FakeLattice {
    /// One page of the Tagging API's `GetResources`: the associations (in any status) that match
    /// `q`, in ID order, each with all its tags; a page resumes after the last ID of the one before,
    /// so associations created or deleted between pages never repeat or shift the others. An empty
    /// token is the first page, as on the wire. Logged as `GetResources`, under the same quota and
    /// faults as every call; its errors are named as the Tagging API names them.
    pub(crate) async fn get_resources(
        &self,
        q: &ResourceQuery,
        token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.call_with("GetResources", None, tagging_api_error, |s, _| {
            let page = q.check()?;
            let scope = ("GetResources", &q.resource_types, &q.tag_filters);
            let after = match token.as_deref().filter(|t| !t.is_empty()) {
                Some(t) => Some(
                    self.token_position(t, &scope)
                        .ok_or_else(|| validation(format!("Invalid PaginationToken '{t}'")))?,
                ),
                None => None,
            };
            if !q.wants_associations() {
                return Ok(Page {
                    items: Vec::new(),
                    next_token: None,
                });
            }
            let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
            let s = &*s;
            let mut items = Vec::with_capacity(page.min(s.associations.len()));
            let mut last = "";
            for (id, r) in s.associations.range::<String, _>((start, std::ops::Bound::Unbounded)) {
                let Some(tags) = s
                    .tags
                    .get(&r.association.arn)
                    .filter(|t| q.matches(t) && self.owns(&r.association.arn))
                else {
                    continue;
                };
                if items.len() == page {
                    return Ok(Page {
                        items,
                        next_token: Some(self.next_token(&scope, last)),
                    });
                }
                items.push(Tagged {
                    arn: r.association.arn.clone(),
                    tags: tags.clone(),
                });
                last = id;
            }
            Ok(Page {
                items,
                next_token: None,
            })
        })
        .await
    }

    /// The Tagging API's `GetResources` by ARN (`ResourceARNList`), in one answer: each listed ARN
    /// that is an association (in any status) with at least one tag, with all its tags, in ARN order
    /// and once however often it is listed. Left out, as AWS leaves out unknown resources without
    /// failing: ARNs of no association (unknown, deleted, of a service or service network, not an
    /// ARN) and associations without tags (never tagged, or every tag removed since).
    ///
    /// `also`: the parameters the request carried that AWS refuses alongside the list, by their wire
    /// names (`ResourceTypeFilters`, `TagFilters`, `ResourcesPerPage`, `TagsPerPage`,
    /// `PaginationToken`; none in-process). Refused with `InvalidParameterException`, as AWS refuses
    /// them: an empty list or one of more than [`TAGS_BY_ARN_MAX`] ARNs, an ARN longer than AWS
    /// takes, and any of `also`. Logged as `GetResources`, under the same quota and faults as every
    /// call.
    pub(crate) async fn get_resources_by_arn(
        &self,
        arns: &[String],
        also: &[&str],
    ) -> Result<Vec<Tagged>, LatticeError> {
        self.call_with("GetResources", None, tagging_api_error, |s, _| {
            check_arn_list(arns, also)?;
            let s = &*s;
            let mut wanted: Vec<&String> = arns.iter().collect();
            wanted.sort_unstable();
            wanted.dedup();
            Ok(wanted
                .into_iter()
                // The Tagging API reports the caller's account's resources only.
                .filter(|arn| self.owns(arn))
                .filter(|arn| {
                    id_of(arn, "servicenetworkserviceassociation", "snsa-")
                        .and_then(|id| s.associations.get(id))
                        .is_some_and(|r| r.association.arn == **arn)
                })
                .filter_map(|arn| {
                    let tags = s.tags.get(arn).filter(|t| !t.is_empty())?;
                    Some(Tagged {
                        arn: arn.clone(),
                        tags: tags.clone(),
                    })
                })
                .collect())
        })
        .await
    }
}

/// Why a `GetResources` by ARN is invalid, if it is: AWS's limits on `ResourceARNList` (the model's
/// constraints, worded as AWS words a failed one) and the parameters it refuses alongside it.
fn check_arn_list(arns: &[String], also: &[&str]) -> Result<(), LatticeError> {
    let constraint = |what: &str| {
        validation(format!(
            "1 validation error detected: Value at 'resourceARNList' failed to satisfy constraint: {what}"
        ))
    };
    if arns.is_empty() {
        return Err(constraint("Member must have length greater than or equal to 1"));
    }
    if arns.len() > TAGS_BY_ARN_MAX {
        return Err(constraint(&format!(
            "Member must have length less than or equal to {TAGS_BY_ARN_MAX}"
        )));
    }
    if arns.iter().any(|a| a.is_empty() || a.chars().count() > ARN_MAX_CHARS) {
        return Err(constraint(&format!(
            "Member must satisfy constraint: [Member must have length less than or equal to {ARN_MAX_CHARS}, \
             Member must have length greater than or equal to 1]"
        )));
    }
    if !also.is_empty() {
        return Err(validation(format!(
            "You can't specify both ResourceARNList and {} in the same request",
            also.join(", ")
        )));
    }
    Ok(())
}

/// One `GetResources` of the Resource Groups Tagging API, as far as the emulator serves it: its only
/// tagged resources are service-network/service associations ([`ASSOCIATION_RESOURCE_TYPE`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ResourceQuery {
    /// `ResourceTypeFilters` (`service` or `service:resourceType`); empty matches every type.
    pub resource_types: Vec<String>,
    /// `TagFilters`, all of which a resource must match: a key, and the values any one of which
    /// matches (none: any value of the key). Without any, every resource with a tag matches.
    pub tag_filters: Vec<(String, Vec<String>)>,
    /// `ResourcesPerPage` (1-100); `None` is the maximum, [`TAGGED_PAGE_SIZE`].
    pub per_page: Option<i32>,
}

impl ResourceQuery {
    /// The query for one tag, as [`LatticeApi::tagged_associations`] makes it.
    pub(super) fn one_tag(key: &str, value: &str) -> Self {
        Self {
            resource_types: vec![ASSOCIATION_RESOURCE_TYPE.to_string()],
            tag_filters: vec![(key.to_string(), vec![value.to_string()])],
            per_page: Some(TAGGED_PAGE_SIZE),
        }
    }

    /// The page size, or why the query is invalid (the Tagging API's limits).
    fn check(&self) -> Result<usize, LatticeError> {
        if self.tag_filters.len() > 50 {
            return Err(validation("TagFilters can have at most 50 filters"));
        }
        for (key, values) in &self.tag_filters {
            if key.is_empty() || key.chars().count() > 128 {
                return Err(validation(format!(
                    "TagFilters: the key '{key}' must be 1 to 128 characters long"
                )));
            }
            if values.len() > 20 {
                return Err(validation(format!(
                    "TagFilters: the key '{key}' can have at most 20 values"
                )));
            }
            if let Some(v) = values.iter().find(|v| v.chars().count() > 256) {
                return Err(validation(format!(
                    "TagFilters: the value '{v}' is longer than 256 characters"
                )));
            }
        }
        match self.per_page {
            None => Ok(TAGGED_PAGE_SIZE.unsigned_abs() as usize),
            Some(n) if (1..=TAGGED_PAGE_SIZE).contains(&n) => Ok(n.unsigned_abs() as usize),
            Some(n) => Err(validation(format!(
                "ResourcesPerPage must be between 1 and {TAGGED_PAGE_SIZE}, not {n}"
            ))),
        }
    }

    /// Whether the resource types asked for include associations.
    fn wants_associations(&self) -> bool {
        self.resource_types.is_empty()
            || self
                .resource_types
                .iter()
                .any(|t| t == "vpc-lattice" || t == ASSOCIATION_RESOURCE_TYPE)
    }

    /// Whether a resource with these tags matches the tag filters.
    fn matches(&self, tags: &Tags) -> bool {
        if self.tag_filters.is_empty() {
            return !tags.is_empty();
        }
        self.tag_filters.iter().all(|(key, values)| {
            tags.get(key)
                .is_some_and(|v| values.is_empty() || values.iter().any(|w| w == v))
        })
    }
}

/// An error of a Resource Groups Tagging API operation, named as that API names it.
fn tagging_api_error(e: LatticeError) -> LatticeError {
    let code = match e.kind {
        ErrorKind::Throttled => "ThrottledException",
        ErrorKind::Validation => "InvalidParameterException",
        ErrorKind::Transient => "InternalServiceException",
        ErrorKind::AccessDenied => "AccessDeniedException",
        _ => return e,
    };
    LatticeError {
        code: code.to_string(),
        ..e
    }
}
