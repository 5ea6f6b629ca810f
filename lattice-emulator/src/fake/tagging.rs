//! The Resource Groups Tagging API's `GetResources`, as far as the emulator serves it: a query
//! ([`ResourceQuery`]) over the associations' tags, paged, with the Tagging API's own error names.

use vpc_lattice_operator::lattice::{
    ASSOCIATION_RESOURCE_TYPE, ErrorKind, LatticeError, Page, TAGGED_PAGE_SIZE, Tagged, Tags,
};

use super::{FakeLattice, validation};

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
                let Some(tags) = s.tags.get(&r.association.arn).filter(|t| q.matches(t)) else {
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
