//! Pagination tokens: opaque, bound to this instance and to the query they page (a checksum keyed
//! per instance), so a token the emulator did not issue, or issued for another filter, is refused.

use std::fmt::Write as _;
use std::hash::{BuildHasher, Hash};

use super::{FakeLattice, is_id};

impl FakeLattice {
    /// The checksum binding a pagination token to this instance, the query it pages (`scope`: the
    /// List's filter, or the GetResources filters) and its position.
    fn token_mac(&self, scope: &impl Hash, after: &str) -> u64 {
        self.token_key.hash_one((scope, after))
    }

    /// An opaque pagination token: the last ID of the page (hex) and its checksum.
    pub(super) fn next_token(&self, scope: &impl Hash, after: &str) -> String {
        let mut t = String::with_capacity(after.len() * 2 + 16);
        for b in after.bytes() {
            let _ = write!(t, "{b:02x}");
        }
        let _ = write!(t, "{:016x}", self.token_mac(scope, after));
        t
    }

    /// The last ID of the previous page, from a token this instance issued for this `scope`; `None`
    /// for any other string.
    pub(super) fn token_position(&self, token: &str, scope: &impl Hash) -> Option<String> {
        if !(17..=2048).contains(&token.len()) || !token.is_ascii() || !token.len().is_multiple_of(2) {
            return None;
        }
        let (id_hex, mac_hex) = token.split_at(token.len() - 16);
        let mac = u64::from_str_radix(mac_hex, 16).ok()?;
        let bytes = (0..id_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&id_hex[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()?;
        let after = String::from_utf8(bytes).ok()?;
        (["snsa-", "svc-", "sn-"].iter().any(|p| is_id(&after, p)) && self.token_mac(scope, &after) == mac)
            .then_some(after)
    }
}
