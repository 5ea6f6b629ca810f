//! What a step means, pure: from the plan and what its AWS call gave, the verdict the conditions
//! show, the Events to publish and when to look again (the reason, Event and requeue columns of
//! DESIGN.md's behaviour table). The status edits that go with each step are made here too, so
//! `execute` only calls AWS and `report` only writes.

mod deleted;
mod observed;
mod step;
mod wanted;

pub use deleted::{Cleaned, deleting, deletion_waiting, left, released, retained};
pub use observed::observed;
pub use step::{Event, Outcome, failed};
pub use wanted::{Created, created, held, in_sync, recovering, recreate, tagged, untagged, waiting};

#[cfg(test)]
pub(crate) mod tests;
