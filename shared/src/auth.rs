//! Bearer-token comparison for the read API.

/// Compares two byte strings in time that depends only on their lengths, never on where
/// they first differ, so a caller cannot find the token one character at a time.
///
/// Unequal lengths return at once: the length of the token is not a secret worth hiding
/// (it is fixed by how tokens are made), its bytes are.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    difference(a.iter().copied().zip(b.iter().copied())) == 0
}

/// OR of the XOR of every pair: zero only when all pairs are equal. Every pair is visited,
/// whatever came before; `black_box` keeps the optimiser from adding an early exit once the
/// accumulator can no longer become zero.
fn difference(pairs: impl Iterator<Item = (u8, u8)>) -> u8 {
    pairs.fold(0u8, |acc, (x, y)| core::hint::black_box(acc | (x ^ y)))
}

/// Checks an `Authorization` header value against the configured token.
///
/// `None` for `configured` means no token is set: then every request is refused, so a
/// deployment that forgot `wrangler secret put READ_TOKEN` exposes nothing.
pub fn bearer_matches(header: Option<&str>, configured: Option<&str>) -> bool {
    let (Some(header), Some(token)) = (header, configured) else {
        return false;
    };
    if token.is_empty() {
        return false;
    }
    match header.strip_prefix("Bearer ") {
        Some(given) => constant_time_eq(given.trim().as_bytes(), token.as_bytes()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_the_exact_token() {
        let t = Some("stint-dev-token");
        assert!(bearer_matches(Some("Bearer stint-dev-token"), t));
        assert!(!bearer_matches(Some("Bearer stint-dev-toke"), t));
        assert!(!bearer_matches(Some("Bearer stint-dev-tokenX"), t));
        assert!(!bearer_matches(Some("stint-dev-token"), t));
        assert!(!bearer_matches(Some("Basic stint-dev-token"), t));
        assert!(!bearer_matches(None, t));
    }

    /// The comparison's work does not depend on where the first difference is: every byte
    /// pair is read, for a token wrong in its first byte as for one wrong only in its last.
    /// (The HTTP-level check of the same property is `tests/access.test.mjs`.)
    #[test]
    fn every_byte_is_compared_wherever_the_first_difference_is() {
        let token = b"0123456789abcdef0123456789abcdef";
        let mut wrong_first = *token;
        wrong_first[0] = b'x';
        let mut wrong_last = *token;
        wrong_last[31] = b'x';
        for (given, equal) in [(token, true), (&wrong_first, false), (&wrong_last, false)] {
            let reads = std::cell::Cell::new(0);
            let pairs = given.iter().zip(token).map(|(a, b)| {
                reads.set(reads.get() + 1);
                (*a, *b)
            });
            assert_eq!(difference(pairs) == 0, equal);
            assert_eq!(reads.get(), token.len(), "pairs read for {:?}", given);
            assert_eq!(constant_time_eq(given, token), equal);
        }
    }

    #[test]
    fn refuses_everything_while_no_token_is_configured() {
        assert!(!bearer_matches(Some("Bearer "), None));
        assert!(!bearer_matches(Some("Bearer "), Some("")));
        assert!(!bearer_matches(Some("Bearer anything"), None));
    }
}
