//! Bearer-token comparison for the read API.

/// Compares two byte strings in time that depends only on their lengths, never on where
/// they first differ, so a caller cannot find the token one character at a time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    diff == 0
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

    #[test]
    fn refuses_everything_while_no_token_is_configured() {
        assert!(!bearer_matches(Some("Bearer "), None));
        assert!(!bearer_matches(Some("Bearer "), Some("")));
        assert!(!bearer_matches(Some("Bearer anything"), None));
    }
}
