//! Services and service networks by name: `ListServices` / `ListServiceNetworks` (what the account
//! owns and what is shared with it), listed whole per (AWS identity, kind) and kept for a while
//! ([`Names`]), and the pure choice of the one a name means ([`pick`]). Written by hand: the SDK
//! pages, nothing resolves a Lattice name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{ErrorKind, LatticeApi, LatticeError, each_page};
use crate::lock;

/// What is listed by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Service,
    ServiceNetwork,
}

impl Kind {
    /// The List that names them.
    pub fn operation(self) -> &'static str {
        match self {
            Kind::Service => "ListServices",
            Kind::ServiceNetwork => "ListServiceNetworks",
        }
    }

    /// What it is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Service => "service",
            Kind::ServiceNetwork => "service network",
        }
    }
}

/// A service or service network as its List reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub arn: String,
    pub name: String,
}

/// The account field of an ARN (`arn:partition:service:region:account:resource`).
pub fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Those of `all` named `name`, owned by `owner` when given. Pure.
pub fn matching<'a>(name: &str, owner: Option<&str>, all: &'a [Named]) -> Vec<&'a Named> {
    all.iter()
        .filter(|n| n.name == name && owner.is_none_or(|o| account_of(&n.arn) == Some(o)))
        .collect()
}

/// The one of `all` (a whole listing of `kind`) that `name` means, owned by `owner` when given.
/// None: `NotFound` (retried: it may be made or shared later), with the remedy for a network shared
/// through RAM that the listing lacks. Several (one the account owns and one shared with it, of one
/// name): `Validation`, naming each ARN, until `ownerAccount` chooses.
pub fn pick(kind: Kind, name: &str, owner: Option<&str>, all: &[Named]) -> Result<Named, LatticeError> {
    let found = matching(name, owner, all);
    let (noun, list) = (kind.noun(), kind.operation());
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let owned = owner.map(|o| format!(" owned by account {o}")).unwrap_or_default();
            let hint = match kind {
                Kind::Service => String::new(),
                Kind::ServiceNetwork => "; a service network shared through AWS RAM can be missing from \
                    ListServiceNetworks: name it by ARN in serviceNetworkIdentifier instead"
                    .into(),
            };
            Err(LatticeError::new(
                ErrorKind::NotFound,
                "NameNotFound",
                format!("no {noun} named {name}{owned} is owned by or shared with this account ({list}){hint}"),
            ))
        }
        several => {
            let arns: Vec<&str> = several.iter().map(|n| n.arn.as_str()).collect();
            let field = match kind {
                Kind::Service => "spec.serviceRef.ownerAccount",
                Kind::ServiceNetwork => "spec.serviceNetworkRef.ownerAccount",
            };
            Err(LatticeError::new(
                ErrorKind::Validation,
                "AmbiguousName",
                format!(
                    "{} {noun}s are named {name}: {}; set {field} to the account of the one to use",
                    arns.len(),
                    arns.join(", ")
                ),
            ))
        }
    }
}

/// A whole listing of names and when it was made.
type Listed = (Instant, Arc<[Named]>);

/// How long a listing of names answers ([`Names`]).
pub const NAMES_TTL: Duration = Duration::from_secs(60);

/// How old a kept listing may be to say a name is missing: older, the names are listed again.
pub const RELIST_MISSING: Duration = Duration::from_secs(10);

/// The listings of names, per (AWS identity, kind), each kept [`NAMES_TTL`]: objects that name the
/// same service or network while one is fresh cost no call. One listing at a time: a second
/// resolution waits for the first and then reads what it listed.
#[derive(Default)]
pub struct Names {
    kept: Mutex<HashMap<(String, Kind), Listed>>,
    listing: tokio::sync::Mutex<()>,
}

impl Names {
    /// The `kind` that `name` (owned by `owner`, when given) means to `identity` (a tenant's key),
    /// listed through `api` unless a fresh listing is kept.
    pub async fn resolve(
        &self,
        identity: &str,
        api: &dyn LatticeApi,
        kind: Kind,
        (name, owner): (&str, Option<&str>),
    ) -> Result<Named, LatticeError> {
        let key = (identity.to_string(), kind);
        let kept = |within| self.fresh(&key, within).map(|all| pick(kind, name, owner, &all));
        // A kept listing answers a name it holds (or holds twice) for NAMES_TTL; one that lacks the
        // name only for RELIST_MISSING, so a service or network made or shared since is found soon.
        let answers = |r: &Result<Named, LatticeError>| !matches!(r, Err(e) if e.kind == ErrorKind::NotFound);
        if let Some(r) = kept(NAMES_TTL).filter(answers) {
            return r;
        }
        let _one_at_a_time = self.listing.lock().await;
        // Listed just now (by the resolution this one waited for): its answer stands.
        if let Some(r) = kept(RELIST_MISSING) {
            return r;
        }
        let mut all = Vec::new();
        each_page(|token| api.list_named(kind, token), |page| all.extend(page)).await?;
        let all: Arc<[Named]> = all.into();
        let mut kept = lock(&self.kept);
        kept.retain(|_, (at, _)| at.elapsed() < NAMES_TTL);
        kept.insert(key, (Instant::now(), all.clone()));
        drop(kept);
        pick(kind, name, owner, &all)
    }

    /// The listing kept for `key`, if it was made `within` ago.
    fn fresh(&self, key: &(String, Kind), within: Duration) -> Option<Arc<[Named]>> {
        let kept = lock(&self.kept);
        let (at, all) = kept.get(key)?;
        (at.elapsed() < within).then(|| all.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(account: &str, id: &str, name: &str) -> Named {
        Named {
            id: id.into(),
            arn: format!("arn:aws:vpc-lattice:us-east-1:{account}:servicenetwork/{id}"),
            name: name.into(),
        }
    }

    #[test]
    fn a_name_means_the_one_of_that_name() {
        let all = [
            named("111122223333", "sn-1", "shared"),
            named("111122223333", "sn-2", "other"),
        ];
        assert_eq!(pick(Kind::ServiceNetwork, "shared", None, &all).unwrap().id, "sn-1");
    }

    #[test]
    fn an_unknown_name_is_not_found_with_the_remedy_for_ram_shared_networks() {
        let e = pick(Kind::ServiceNetwork, "missing", None, &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
        assert!(
            e.message.contains("by ARN in serviceNetworkIdentifier"),
            "{}",
            e.message
        );
        let e = pick(Kind::Service, "missing", None, &[]).unwrap_err();
        assert!(e.message.contains("no service named missing") && e.message.contains("ListServices"));
    }

    #[test]
    fn an_owned_and_a_shared_one_of_one_name_need_the_owner_account() {
        let all = [
            named("111122223333", "sn-1", "core"),
            named("444455556666", "sn-2", "core"),
        ];
        let e = pick(Kind::ServiceNetwork, "core", None, &all).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation);
        for said in [
            all[0].arn.as_str(),
            all[1].arn.as_str(),
            "spec.serviceNetworkRef.ownerAccount",
        ] {
            assert!(e.message.contains(said), "{said}: {}", e.message);
        }
        let chosen = pick(Kind::ServiceNetwork, "core", Some("444455556666"), &all).unwrap();
        assert_eq!(chosen.id, "sn-2");
        let e = pick(Kind::ServiceNetwork, "core", Some("777788889999"), &all).unwrap_err();
        assert!(e.message.contains("owned by account 777788889999"), "{}", e.message);
    }

    #[tokio::test]
    async fn a_fresh_listing_answers_without_a_call() {
        use crate::lattice::stub::Stub;
        let stub = Stub {
            named: vec![named("111122223333", "sn-1", "shared")],
            ..Stub::default()
        };
        let names = Names::default();
        for _ in 0..3 {
            let n = names
                .resolve("id", &stub, Kind::ServiceNetwork, ("shared", None))
                .await
                .unwrap();
            assert_eq!(n.id, "sn-1");
        }
        assert_eq!(stub.count("ListNamed"), 1);
        names
            .resolve("other-identity", &stub, Kind::ServiceNetwork, ("shared", None))
            .await
            .unwrap();
        assert_eq!(stub.count("ListNamed"), 2, "listings are per identity");
    }
}
