//! A [`LatticeApi`] for the unit tests of this module: a fixed set of associations behind a paged
//! List, every call logged, an optional delay per call and an optional error for Lists.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Association, AssociationState, CreateAssociation, ErrorKind, LatticeApi, LatticeError, ListFilter, Page, Tagged,
    Tags,
};

#[derive(Default)]
pub struct Stub {
    pub associations: Vec<Association>,
    /// What `list_named` lists, whatever the kind, in one page.
    pub named: Vec<super::names::Named>,
    /// Added to every call.
    pub delay: Duration,
    /// Lists fail with this while set.
    pub list_error: Mutex<Option<LatticeError>>,
    pub calls: Mutex<Vec<&'static str>>,
}

impl Stub {
    /// `n` ACTIVE associations, `snsa-<i>`.
    pub fn with(n: usize) -> Self {
        Self {
            associations: (0..n)
                .map(|i| Association::new(format!("snsa-{i:05}"), format!("arn:{i}"), AssociationState::Active))
                .collect(),
            ..Self::default()
        }
    }

    /// The operations called so far, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    pub fn count(&self, operation: &str) -> usize {
        self.calls().iter().filter(|c| **c == operation).count()
    }

    async fn call(&self, operation: &'static str) {
        self.calls.lock().unwrap().push(operation);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }
}

fn unsupported() -> LatticeError {
    LatticeError::new(ErrorKind::Other, "Unsupported", "not part of the stub")
}

#[async_trait]
impl LatticeApi for Stub {
    async fn create_association(&self, _req: &CreateAssociation) -> Result<Association, LatticeError> {
        self.call("Create").await;
        Err(unsupported())
    }
    async fn get_association(&self, id: &str) -> Result<Association, LatticeError> {
        self.call("Get").await;
        self.associations
            .iter()
            .find(|a| a.id == id)
            .cloned()
            .ok_or_else(|| LatticeError::new(ErrorKind::NotFound, "ResourceNotFoundException", id))
    }
    async fn delete_association(&self, _id: &str) -> Result<AssociationState, LatticeError> {
        self.call("Delete").await;
        Ok(AssociationState::DeleteInProgress)
    }
    async fn list_associations(
        &self,
        filter: &ListFilter,
        next_token: Option<String>,
    ) -> Result<Page<Association>, LatticeError> {
        self.call("List").await;
        if let Some(e) = self.list_error.lock().unwrap().clone() {
            return Err(e);
        }
        let size = filter.max_results.unwrap_or(100) as usize;
        let start: usize = next_token.map_or(0, |t| t.parse().unwrap());
        let items: Vec<Association> = self.associations.iter().skip(start).take(size).cloned().collect();
        let end = start + items.len();
        Ok(Page {
            items,
            next_token: (end < self.associations.len()).then(|| end.to_string()),
        })
    }
    async fn list_tags(&self, _arn: &str) -> Result<Tags, LatticeError> {
        self.call("ListTags").await;
        Ok(Tags::new())
    }
    async fn tag_resource(&self, _arn: &str, _tags: &Tags) -> Result<(), LatticeError> {
        self.call("Tag").await;
        Ok(())
    }
    async fn untag_resource(&self, _arn: &str, _keys: &[String]) -> Result<(), LatticeError> {
        self.call("Untag").await;
        Ok(())
    }
    async fn tagged_associations(
        &self,
        _filter: (&str, &str),
        _next_token: Option<String>,
    ) -> Result<Page<Tagged>, LatticeError> {
        self.call("GetResources").await;
        Ok(Page {
            items: Vec::new(),
            next_token: None,
        })
    }
    /// No resource has tags in the stub: an empty answer.
    async fn tags_of(&self, _arns: &[String]) -> Result<Vec<Tagged>, LatticeError> {
        self.call("GetResourcesByArn").await;
        Ok(Vec::new())
    }
    async fn list_named(
        &self,
        _kind: super::names::Kind,
        _next_token: Option<String>,
    ) -> Result<Page<super::names::Named>, LatticeError> {
        self.call("ListNamed").await;
        Ok(Page {
            items: self.named.clone(),
            next_token: None,
        })
    }
}
