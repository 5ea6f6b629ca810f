//! Every reason the operator gives, in one place: the conditions' `reason` (kstatus `Ready`,
//! `Reconciling`, `Stalled`) and the Kubernetes Events' `reason` (also the `events_total` label).

use std::fmt;

/// Why an object stands where it stands, or why an Event was published.
///
/// The first seventeen ([`Reason::CONDITIONS`]) are condition reasons; each is also published as an
/// Event when it is news. The rest ([`Reason::EVENTS_ONLY`]) name one thing that happened and only
/// ever appear on Events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The association is ACTIVE and its tags match the spec.
    Active,
    /// Create was sent (or an existing association adopted) and AWS is still creating it.
    Creating,
    /// The association failed or vanished: it is deleted (if need be) and created again.
    Recreating,
    /// The object is being deleted and AWS is deleting its association.
    Deleting,
    /// The association's tags differ from the spec and are being corrected.
    TagsOutOfSync,
    /// AWS does not know the service or the service network: retried with backoff.
    DependencyNotFound,
    /// AWS throttled a call: retried after its `Retry-After`, else with backoff. Or (the message
    /// says "client-side") the operator's own rate limiter held the object's work 10 s or more.
    Throttled,
    /// Any other AWS failure (server error, timeout, conflict): retried with backoff.
    AwsError,
    /// AWS refused the request as invalid, or the namespace's role annotation is malformed (Stalled).
    InvalidSpec,
    /// The AWS identity may not make the call (Stalled until IAM is fixed).
    AccessDenied,
    /// An AWS quota is used up (Stalled).
    QuotaExceeded,
    /// The pair is associated already and the adoption policy refuses that association (Stalled).
    AlreadyAssociated,
    /// The operator requires a role per namespace (`--require-namespace-role`) and the namespace
    /// names none: no AWS call is made (Stalled).
    NoRoleForNamespace,
    /// The namespace names an IAM role outside the operator's allow-list (`--allowed-role-arn`): no
    /// AWS call is made (Stalled).
    RoleNotAllowed,
    /// No AWS credentials could be had for the object's identity: STS refused the role or the web
    /// identity, none are configured, or no region is (Stalled); or STS could not be reached
    /// (retried with backoff). The message carries STS's words and where the fix lies.
    CredentialsUnavailable,
    /// `managementPolicy: ObserveOnly` and no association of the pair exists (or the identity cannot
    /// see it): looked for again at every drift scan; never created.
    AssociationNotFound,
    /// `managementPolicy: ObserveOnly` and the pair's association is CREATE_FAILED or DELETE_FAILED:
    /// left to whoever manages it (Stalled).
    AssociationFailed,
    /// Event: AWS reports the association CREATE_FAILED; it is deleted to be created again.
    CreateFailed,
    /// Event: AWS reports the association DELETE_FAILED; it is deleted again.
    DeleteFailed,
    /// Event: tags were added, changed or removed on the association.
    TagsSynced,
    /// Event: an existing association of the pair was adopted.
    Adopted,
    /// Event: the object is gone and its association left in AWS (`deletionPolicy: Retain`).
    Retained,
    /// Event: the object's association is gone from AWS; the finalizer is released.
    Deleted,
}

impl Reason {
    /// The reasons a condition can carry (README.md lists them).
    pub const CONDITIONS: [Reason; 17] = [
        Reason::Active,
        Reason::Creating,
        Reason::Recreating,
        Reason::Deleting,
        Reason::TagsOutOfSync,
        Reason::DependencyNotFound,
        Reason::Throttled,
        Reason::AwsError,
        Reason::InvalidSpec,
        Reason::AccessDenied,
        Reason::QuotaExceeded,
        Reason::AlreadyAssociated,
        Reason::NoRoleForNamespace,
        Reason::RoleNotAllowed,
        Reason::CredentialsUnavailable,
        Reason::AssociationNotFound,
        Reason::AssociationFailed,
    ];

    /// The reasons only Events carry.
    pub const EVENTS_ONLY: [Reason; 6] = [
        Reason::CreateFailed,
        Reason::DeleteFailed,
        Reason::TagsSynced,
        Reason::Adopted,
        Reason::Retained,
        Reason::Deleted,
    ];

    /// The PascalCase word Kubernetes shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Active => "Active",
            Reason::Creating => "Creating",
            Reason::Recreating => "Recreating",
            Reason::Deleting => "Deleting",
            Reason::TagsOutOfSync => "TagsOutOfSync",
            Reason::DependencyNotFound => "DependencyNotFound",
            Reason::Throttled => "Throttled",
            Reason::AwsError => "AwsError",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::AccessDenied => "AccessDenied",
            Reason::QuotaExceeded => "QuotaExceeded",
            Reason::AlreadyAssociated => "AlreadyAssociated",
            Reason::NoRoleForNamespace => "NoRoleForNamespace",
            Reason::RoleNotAllowed => "RoleNotAllowed",
            Reason::CredentialsUnavailable => "CredentialsUnavailable",
            Reason::AssociationNotFound => "AssociationNotFound",
            Reason::AssociationFailed => "AssociationFailed",
            Reason::CreateFailed => "CreateFailed",
            Reason::DeleteFailed => "DeleteFailed",
            Reason::TagsSynced => "TagsSynced",
            Reason::Adopted => "Adopted",
            Reason::Retained => "Retained",
            Reason::Deleted => "Deleted",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::Reason;

    /// The identifiers in backticks of README.md's "Condition reasons:" paragraph.
    fn readme_condition_reasons() -> BTreeSet<String> {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let start = readme
            .find("Condition reasons:")
            .expect("README.md lists the condition reasons");
        let paragraph = readme[start..].split("\n\n").next().unwrap();
        paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|word| word.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(String::from)
            .collect()
    }

    #[test]
    fn readme_names_exactly_the_condition_reasons() {
        let ours: BTreeSet<String> = Reason::CONDITIONS.iter().map(|r| r.to_string()).collect();
        assert_eq!(readme_condition_reasons(), ours);
    }

    /// Every variant, numbered by an exhaustive match: a new variant does not compile until it is
    /// numbered here, and then [`every_reason_is_a_condition_or_an_event_only_reason`] fails until it
    /// is in one of the two lists (so README.md's list cannot miss a condition reason).
    fn ordinal(r: Reason) -> usize {
        match r {
            Reason::Active => 0,
            Reason::Creating => 1,
            Reason::Recreating => 2,
            Reason::Deleting => 3,
            Reason::TagsOutOfSync => 4,
            Reason::DependencyNotFound => 5,
            Reason::Throttled => 6,
            Reason::AwsError => 7,
            Reason::InvalidSpec => 8,
            Reason::AccessDenied => 9,
            Reason::QuotaExceeded => 10,
            Reason::AlreadyAssociated => 11,
            Reason::NoRoleForNamespace => 12,
            Reason::RoleNotAllowed => 13,
            Reason::CredentialsUnavailable => 14,
            Reason::CreateFailed => 15,
            Reason::DeleteFailed => 16,
            Reason::TagsSynced => 17,
            Reason::Adopted => 18,
            Reason::Retained => 19,
            Reason::Deleted => 20,
            Reason::AssociationNotFound => 21,
            Reason::AssociationFailed => 22,
        }
    }
    const VARIANTS: usize = 23;

    #[test]
    fn every_reason_is_a_condition_or_an_event_only_reason() {
        let listed: BTreeSet<usize> = Reason::CONDITIONS
            .into_iter()
            .chain(Reason::EVENTS_ONLY)
            .map(ordinal)
            .collect();
        assert_eq!(listed, (0..VARIANTS).collect::<BTreeSet<_>>());
        assert_eq!(
            Reason::CONDITIONS.len() + Reason::EVENTS_ONLY.len(),
            VARIANTS,
            "none in both"
        );
    }

    #[test]
    fn reasons_are_distinct_and_spelled_as_their_variant() {
        let all: Vec<Reason> = Reason::CONDITIONS.into_iter().chain(Reason::EVENTS_ONLY).collect();
        let names: BTreeSet<&str> = all.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), all.len(), "no reason listed twice");
        for r in &all {
            assert_eq!(format!("{r:?}"), r.as_str(), "as_str is the variant's name");
        }
    }
}
