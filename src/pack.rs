//! Optional strings packed into one compressed allocation and read back in order, for what is kept
//! per object or per association (`api::Watched`'s AWS report, `lattice::packed`'s listings).
//!
//! Each string was its own allocation (plus its 24-byte slot); packed they are one. An association's
//! strings repeat themselves (its ARN holds the region, the account and its ID, the service's and
//! network's ARNs hold theirs, the DNS name the service's name and ID) and repeat what every
//! association of the account holds, so the packed row is compressed with LZ4 (`lz4_flex`) against a
//! dictionary: [`DICT`], ARNs and names of the shapes AWS returns, or a listing's own first row
//! ([`Dict::with_row`]), which shares the network's fields with every other row. Rows ~0.4 KiB
//! packed take ~0.1–0.2 KiB compressed. The packing itself is written by hand: a few lines, and no
//! library packs a row of optional strings into one.

/// Ends each field. AWS's IDs, ARNs, names, DNS names and messages never hold it.
const END: char = '\0';
/// Stands for a field that is not set.
const UNSET: &str = "\u{1}";
/// The first byte of a packed row: the rest is the row as it is, or LZ4-compressed against the
/// dictionary (whichever is shorter).
const RAW: u8 = 0;
const LZ4: u8 = 1;

/// What rows are compressed against: text of the shapes AWS returns (the region and account are
/// the row's own, and repeat within it).
pub const DICT: &[u8] =
    b"arn:aws:vpc-lattice:us-east-1:123456789012:servicenetworkserviceassociation/snsa-0123456789abcdef0\0\
\x01\0\0arn:aws:vpc-lattice:us-west-2:123456789012:service/svc-0123456789abcdef0\0\
arn:aws:vpc-lattice:eu-west-1:123456789012:servicenetwork/sn-0123456789abcdef0\0\
-0123456789abcdef0.7d67968.vpc-lattice-svcs.us-east-1.on.aws\0\
Z0123456789ABCDEFGHIJ\0ACTIVE\0CREATE_FAILED\0DELETE_FAILED\0";

/// A dictionary rows are compressed against and read back with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dict(Box<[u8]>);

impl Dict {
    /// [`DICT`] followed by `row` (a row packed with [`pack_strs`]): rows like it compress to what
    /// they do not share with it.
    pub fn with_row(row: &[u8]) -> Self {
        let mut d = DICT.to_vec();
        d.extend_from_slice(&unpacked(row, DICT));
        Self(d.into())
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Optional strings in one compressed row, in order, against `dict`.
pub fn pack_strs<'a>(fields: impl IntoIterator<Item = Option<&'a str>>, dict: &[u8]) -> Box<[u8]> {
    let mut raw = String::new();
    for field in fields {
        raw.push_str(field.unwrap_or(UNSET));
        raw.push(END);
    }
    let compressed = lz4_flex::block::compress_prepend_size_with_dict(raw.as_bytes(), dict);
    let (tag, body) = if compressed.len() < raw.len() {
        (LZ4, compressed.as_slice())
    } else {
        (RAW, raw.as_bytes())
    };
    let mut row = Vec::with_capacity(body.len() + 1);
    row.push(tag);
    row.extend_from_slice(body);
    row.into()
}

/// The row's text, fields ended by [`END`] (empty if it is not a row [`pack_strs`] made with `dict`).
fn unpacked(row: &[u8], dict: &[u8]) -> Vec<u8> {
    match row.split_first() {
        Some((&RAW, body)) => body.to_vec(),
        Some((&LZ4, body)) => lz4_flex::block::decompress_size_prepended_with_dict(body, dict).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The `i`-th of the optional strings [`pack_strs`] packed with `dict` (`None` past the last): the
/// row is read once, and only that string is built.
pub fn nth_str(row: &[u8], dict: &[u8], i: usize) -> Option<String> {
    let text = unpacked(row, dict);
    let field = text.split(|b| *b == END as u8).nth(i)?;
    (field != UNSET.as_bytes() && i < text.iter().filter(|b| **b == END as u8).count())
        .then(|| String::from_utf8_lossy(field).into_owned())
}

/// The optional strings [`pack_strs`] packed with `dict`, in order (`None` past the last).
pub fn unpack_strs(row: &[u8], dict: &[u8]) -> impl FnMut() -> Option<String> + use<> {
    let text = String::from_utf8(unpacked(row, dict)).unwrap_or_default();
    let mut fields = text
        .split_terminator(END)
        .map(|v| (v != UNSET).then(|| v.to_string()))
        .collect::<Vec<_>>()
        .into_iter();
    move || fields.next().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: [Option<&str>; 5] = [
        Some("arn:aws:vpc-lattice:us-west-2:111122223333:servicenetworkserviceassociation/snsa-0a1b2c3d4e5f60718"),
        None,
        Some(""),
        Some("line\nbreak"),
        Some("arn:aws:vpc-lattice:us-west-2:111122223333:service/svc-0a1b2c3d4e5f60719"),
    ];

    fn read(row: &[u8], dict: &[u8]) -> Vec<Option<String>> {
        let mut next = unpack_strs(row, dict);
        (0..6).map(|_| next()).collect()
    }

    #[test]
    fn set_empty_and_unset_strings_come_back_in_order() {
        let row = pack_strs(ROW, DICT);
        let mut want: Vec<_> = ROW.iter().map(|f| f.map(String::from)).collect();
        want.push(None);
        assert_eq!(read(&row, DICT), want);
        let nth: Vec<_> = (0..6).map(|i| nth_str(&row, DICT, i)).collect();
        assert_eq!(nth, want, "one at a time");
        assert_eq!(row[0], LZ4, "compressed");
        let raw_len: usize = ROW.iter().map(|f| f.map_or(1, str::len) + 1).sum();
        assert!(row.len() * 2 < raw_len, "{} bytes packed of {raw_len}", row.len());
    }

    #[test]
    fn what_does_not_compress_is_kept_as_it_is() {
        let row = pack_strs([Some("x"), None], DICT);
        assert_eq!(row[0], RAW);
        assert_eq!(read(&row, DICT)[..3], [Some("x".into()), None, None]);
        assert_eq!(read(&pack_strs([], DICT), DICT), vec![None; 6]);
    }

    #[test]
    fn a_row_compresses_best_against_a_row_like_it() {
        let first = pack_strs(ROW, DICT);
        let dict = Dict::with_row(&first);
        let mut like = ROW;
        like[3] = Some("other");
        let alone = pack_strs(like, DICT);
        let against = pack_strs(like, dict.bytes());
        assert!(against.len() < alone.len() / 2, "{} vs {}", against.len(), alone.len());
        assert_eq!(read(&against, dict.bytes())[3].as_deref(), Some("other"));
    }

    #[test]
    fn a_row_read_with_another_dictionary_or_damaged_reads_as_empty_not_as_a_panic() {
        assert_eq!(read(&[LZ4, 200, 0, 0, 0, 9], DICT), vec![None; 6]);
        assert_eq!(read(&[7, 1, 2], DICT), vec![None; 6]);
    }
}
