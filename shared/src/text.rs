//! Byte-level string helpers for ASCII delimiters.
//!
//! `str::split(char)`, `find(char)` and `chars().count()` are fine natively but each pulls a
//! general searcher or an unrolled counter into the tracker's WebAssembly (about 2 KB
//! together). Every delimiter Stint splits on is ASCII, and an ASCII byte never occurs
//! inside a multi-byte UTF-8 sequence, so searching bytes finds the same places and slicing
//! there is always on a character boundary.

/// Byte index of the first `delim`. (Plain loops here: each `position` closure would be its
/// own iterator fold in the tracker's module.)
pub fn find(s: &str, delim: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == delim {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Byte index of the last `delim`.
pub fn rfind(s: &str, delim: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = b.len();
    while i > 0 {
        i -= 1;
        if b[i] == delim {
            return Some(i);
        }
    }
    None
}

/// The part before the first `delim` (all of `s` without one).
pub fn before(s: &str, delim: u8) -> &str {
    find(s, delim).map_or(s, |i| &s[..i])
}

/// The part after the last `delim` (all of `s` without one).
pub fn after_last(s: &str, delim: u8) -> &str {
    rfind(s, delim).map_or(s, |i| &s[i + 1..])
}

/// `s.split(delim)` for an ASCII `delim`.
pub fn pieces(s: &str, delim: u8) -> Pieces<'_> {
    Pieces {
        rest: Some(s),
        delim,
    }
}

pub struct Pieces<'a> {
    rest: Option<&'a str>,
    delim: u8,
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match find(rest, self.delim) {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// Number of characters (Unicode scalar values): bytes that do not continue a sequence.
pub fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xc0 != 0x80).count()
}

/// The first `max` characters of `s`.
pub fn truncate_chars(s: &str, max: usize) -> &str {
    let mut seen = 0;
    for (i, b) in s.bytes().enumerate() {
        if b & 0xc0 != 0x80 {
            if seen == max {
                return &s[..i];
            }
            seen += 1;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn byte_helpers_agree_with_std(s in "[a-zé€😀|&=\n]{0,24}", max in 0usize..30) {
            for d in [b'|', b'&', b'\n'] {
                let c = d as char;
                prop_assert_eq!(find(&s, d), s.find(c));
                prop_assert_eq!(rfind(&s, d), s.rfind(c));
                prop_assert_eq!(before(&s, d), s.split(c).next().unwrap());
                prop_assert_eq!(after_last(&s, d), s.rsplit(c).next().unwrap());
                prop_assert_eq!(pieces(&s, d).collect::<Vec<_>>(), s.split(c).collect::<Vec<_>>());
            }
            prop_assert_eq!(char_count(&s), s.chars().count());
            let expected: String = s.chars().take(max).collect();
            prop_assert_eq!(truncate_chars(&s, max), expected.as_str());
        }
    }
}
