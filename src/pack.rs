//! Optional strings packed into one string and read back in order: one allocation where each
//! string was its own (plus its 24-byte slot), for what is kept per object or per association
//! (`api::Watched`'s AWS report, `lattice::packed`). Written by hand: a few lines, and no library
//! packs a row of optional strings into one.

/// Ends each field. AWS's IDs, ARNs, names, DNS names and messages never hold it.
const END: char = '\0';
/// Stands for a field that is not set.
const UNSET: &str = "\u{1}";

/// Optional strings in one string, in order.
pub fn pack_strs<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> Box<str> {
    let mut packed = String::new();
    for field in fields {
        packed.push_str(field.unwrap_or(UNSET));
        packed.push(END);
    }
    packed.into_boxed_str()
}

/// The optional strings [`pack_strs`] packed, in order (`None` past the last).
pub fn unpack_strs(packed: &str) -> impl FnMut() -> Option<String> + '_ {
    let mut f = packed
        .split_terminator(END)
        .map(|v| (v != UNSET).then(|| v.to_string()));
    move || f.next().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_empty_and_unset_strings_come_back_in_order() {
        let packed = pack_strs([Some("a"), None, Some(""), Some("line\nbreak")]);
        let mut next = unpack_strs(&packed);
        assert_eq!(
            [next(), next(), next(), next(), next()],
            [
                Some("a".into()),
                None,
                Some(String::new()),
                Some("line\nbreak".into()),
                None
            ]
        );
    }
}
