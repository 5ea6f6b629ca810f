//! An association as a listing keeps it: its state apart, every other field in one compressed row.
//! A listing of a network answers its objects for up to 30 s, and a restart holds the listings of
//! every network at once: 10,000 associations kept as [`Association`]s took ~12 MiB (each field its
//! own allocation, ~1.2 KiB an association), packed in one string ~0.6 KiB, compressed against the
//! listing's first row (which shares the network's fields) ~0.2 KiB. Unpacked only for the one
//! association a reconcile asks about ([`crate::pack`] does the packing).

use super::{Association, AssociationState, DnsEntry};
use crate::pack::{DICT, Dict, pack_strs, unpack_strs};

/// An association's fields but its ID and state, in one compressed row ([`pack`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    pub status: AssociationState,
    fields: Box<[u8]>,
}

/// The dictionary a listing's rows are packed against: its first association's fields.
pub fn dict_of(first: Option<&Association>) -> Dict {
    Dict::with_row(&first.map(|a| pack_fields(a, DICT)).unwrap_or_default())
}

/// The fields packed, in order: the ARN, the optional fields ([`Association::optional_fields`]),
/// then the DNS entry (whether there is one, its domain name and hosted zone).
fn fields(a: &Association) -> Vec<Option<&str>> {
    let mut out = vec![Some(a.arn.as_str())];
    out.extend(a.optional_fields().iter().map(|(_, v)| v.as_deref()));
    let dns = a.dns_entry.as_ref();
    out.push(dns.map(|_| ""));
    out.push(dns.and_then(|d| d.domain_name.as_deref()));
    out.push(dns.and_then(|d| d.hosted_zone_id.as_deref()));
    out
}

/// `a` packed against `dict`, with its ID apart (a listing's key).
pub fn pack(a: &Association, dict: &Dict) -> (Box<str>, Packed) {
    let packed = Packed {
        status: a.status.clone(),
        fields: pack_fields(a, dict.bytes()),
    };
    (a.id.as_str().into(), packed)
}

/// `a`'s fields but its ID and state, in one row compressed against `dict`.
fn pack_fields(a: &Association, dict: &[u8]) -> Box<[u8]> {
    pack_strs(fields(a), dict)
}

/// The association `id` in `status` whose other fields [`pack_fields`] packed against `dict`.
fn unpack_fields(id: &str, status: AssociationState, fields: &[u8], dict: &[u8]) -> Association {
    let mut next = unpack_strs(fields, dict);
    let mut a = Association::new(id, next().unwrap_or_default(), status);
    a.created_by = next();
    a.custom_domain_name = next();
    a.service_id = next();
    a.service_arn = next();
    a.service_name = next();
    a.service_network_id = next();
    a.service_network_arn = next();
    a.service_network_name = next();
    a.failure_code = next();
    a.failure_message = next();
    let dns = next().is_some();
    let (domain_name, hosted_zone_id) = (next(), next());
    a.dns_entry = dns.then_some(DnsEntry {
        domain_name,
        hosted_zone_id,
    });
    a
}

impl Packed {
    /// True when it is an association of `service` (its ID or its ARN, as given): the row is read
    /// once, and only the service's two fields are built.
    pub fn is_of_service(&self, service: &str, dict: &Dict) -> bool {
        let mut next = unpack_strs(&self.fields, dict.bytes());
        // The ARN, createdBy and customDomainName come first ([`fields`]).
        for _ in 0..3 {
            next();
        }
        let (id, arn) = (next(), next());
        id.as_deref() == Some(service) || arn.as_deref() == Some(service)
    }

    /// The association `id` it packs against `dict`.
    pub fn unpack(&self, id: &str, dict: &Dict) -> Association {
        unpack_fields(id, self.status.clone(), &self.fields, dict.bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Association {
        let mut a = Association::new(
            "snsa-0123456789abcdef0",
            "arn:aws:vpc-lattice:us-west-2:111122223333:servicenetworkserviceassociation/snsa-0123456789abcdef0",
            AssociationState::Active,
        );
        a.created_by = Some("111122223333".into());
        a.custom_domain_name = Some(String::new());
        a.service_id = Some("svc-0123456789abcdef0".into());
        a.service_arn = Some("arn:aws:vpc-lattice:us-west-2:111122223333:service/svc-0123456789abcdef0".into());
        a.service_name = Some("payments".into());
        a.service_network_id = Some("sn-0123456789abcdef0".into());
        a.service_network_name = Some("shared".into());
        a.failure_message = Some("a message, with\nlines".into());
        a.dns_entry = Some(DnsEntry {
            domain_name: Some("payments.example.com".into()),
            hosted_zone_id: None,
        });
        a
    }

    #[test]
    fn an_association_unpacks_as_it_was_packed() {
        let mut a = full();
        let dict = dict_of(Some(&a));
        let (id, packed) = pack(&a, &dict);
        assert_eq!(&*id, a.id);
        assert_eq!(packed.unpack(&id, &dict), a, "set, empty and unset fields alike");
        assert!(
            packed.fields.len() < 32,
            "the row its dictionary was made of: {} bytes",
            packed.fields.len()
        );
        a.dns_entry = Some(DnsEntry::default());
        assert_eq!(
            pack(&a, &dict).1.unpack(&id, &dict),
            a,
            "a DNS entry with nothing in it"
        );
        let bare = Association::new("snsa-1", "", AssociationState::Other("NEW_STATE".into()));
        assert_eq!(pack(&bare, &dict).1.unpack("snsa-1", &dict), bare);
        assert!(packed.is_of_service("svc-0123456789abcdef0", &dict));
        assert!(packed.is_of_service(a.service_arn.as_deref().unwrap(), &dict));
        assert!(!packed.is_of_service("svc-0123456789abcdef1", &dict));
        assert!(!pack(&bare, &dict).1.is_of_service("svc-0123456789abcdef0", &dict));
        let empty = dict_of(None);
        assert_eq!(
            pack(&a, &empty).1.unpack(&id, &empty),
            a,
            "a listing without a first row"
        );
    }
}
