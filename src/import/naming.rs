//! The object name an imported association gets: `<service>-in-<network>` from the names AWS reports
//! (their IDs when it reports none), as a DNS-1123 label: at most 63 characters, the longer ones cut
//! and given a short hash of the whole name so that two cut alike still differ. Pure, and the same
//! on every run and machine (SHA-256, not a hasher seeded per process).

use sha2::{Digest, Sha256};

/// The longest object name written: a DNS-1123 label's limit, so that the name also fits a label
/// value and a file name.
pub const MAX_NAME: usize = 63;

/// Hex digits of the hash that ends a cut name.
const HASH_DIGITS: usize = 8;

/// The object name for the association of `service` with `network` (their names, else IDs).
pub fn object_name(service: &str, network: &str) -> String {
    let full = format!("{}-in-{}", label_part(service), label_part(network));
    if full.len() <= MAX_NAME {
        return full;
    }
    let digest = Sha256::digest(full.as_bytes());
    let hash: String = digest
        .iter()
        .take(HASH_DIGITS / 2)
        .map(|b| format!("{b:02x}"))
        .collect();
    let keep = MAX_NAME - HASH_DIGITS - 1;
    format!("{}-{hash}", full[..keep].trim_end_matches('-'))
}

/// `s` in the characters of a DNS-1123 label: lower case letters, digits and single hyphens, none
/// at either end (Lattice names already are; this guards against anything else AWS may report).
fn label_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if !(c == '-' && (out.is_empty() || out.ends_with('-'))) {
            out.push(c);
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "x".to_string()
    } else {
        out.to_string()
    }
}

/// True when `s` is a DNS-1123 label.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_join_the_service_and_network_names() {
        assert_eq!(object_name("payments", "shared"), "payments-in-shared");
        assert_eq!(
            object_name("svc-0123456789abcdef0", "sn-0123456789abcdef0"),
            "svc-0123456789abcdef0-in-sn-0123456789abcdef0"
        );
    }

    #[test]
    fn long_names_are_cut_to_a_label_with_a_hash_of_the_whole() {
        let service = "a".repeat(40);
        let (one, two) = (
            object_name(&service, &format!("{}-one", "n".repeat(40))),
            object_name(&service, &format!("{}-two", "n".repeat(40))),
        );
        for name in [&one, &two] {
            assert_eq!(name.len(), MAX_NAME, "{name}");
            assert!(is_dns_label(name), "{name}");
        }
        assert_ne!(one, two, "cut alike, told apart by the hash");
        assert_eq!(one[..50], two[..50]);
        // The same on every run: the hash is SHA-256 of the whole name.
        assert_eq!(one, object_name(&service, &format!("{}-one", "n".repeat(40))));
        // A cut that ends on a hyphen drops it: never two in a row before the hash.
        let cut = object_name(&"b".repeat(53), &"c".repeat(40));
        assert!(is_dns_label(&cut) && !cut.contains("--"), "{cut}");
    }

    #[test]
    fn anything_else_becomes_a_label() {
        assert_eq!(object_name("Pay_Ments", "--Shared.Net--"), "pay-ments-in-shared-net");
        assert_eq!(object_name("", "@@"), "x-in-x");
        assert!(!is_dns_label("-a") && !is_dns_label("a-") && !is_dns_label("A") && !is_dns_label(""));
    }
}
