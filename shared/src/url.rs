//! The tracker's URL handling. Not a general URL parser: only what the page needs from the
//! absolute `http(s)` URLs the browser serialises — the host (outbound links) and a query
//! string reduced to the parameters a site chose to keep. The collector parses with the URL
//! Standard itself (`weburl`), because not every client is our tracker.

use crate::protocol::MAX_URL_CHARS;
use crate::text::{after_last, before, find, pieces, rfind};

/// The parts of an absolute `http(s)` URL, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub scheme: &'a str,
    /// Host without userinfo, lowercase is not enforced; may carry a `:port`.
    pub host: &'a str,
    /// Always starts with `/`.
    pub path: &'a str,
    /// Without the `?`; empty when absent.
    pub query: &'a str,
}

/// Splits an absolute `http(s)` URL; `None` for anything else.
pub fn split_url(url: &str) -> Option<UrlParts<'_>> {
    // Byte searches (see `text`): the tracker's WebAssembly carries no string searcher.
    let colon = find(url, b':')?;
    let (scheme, rest) = (&url[..colon], url[colon + 1..].strip_prefix("//")?);
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = before(rest, b'#');
    // As the URL Standard reads http(s): a backslash ends the authority like a slash, so
    // `https://evil.example\@good.example/` is on evil.example in every browser.
    let authority_end = rest
        .bytes()
        .position(|b| b == b'/' || b == b'?' || b == b'\\')
        .unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // Userinfo (`user:pass@`) is never kept.
    let host = after_last(authority, b'@');
    // Hosts are ASCII (browsers give IDNs in punycode): no spaces, controls or other bytes.
    if host.is_empty() || host.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return None;
    }
    let rest = &rest[authority_end..];
    let (path, query) = match find(rest, b'?') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let path = if path.is_empty() { "/" } else { path };
    Some(UrlParts {
        scheme,
        host,
        path,
        query,
    })
}

/// Whether a query parameter survives scrubbing: every `utm_*`, plus the site's list. The
/// one rule, for the tracker's splitter and the collector's `weburl` alike.
pub fn is_kept_param(name: &str, keep: &[String]) -> bool {
    name.starts_with("utm_") || keep.iter().any(|k| k == name)
}

/// The URL without fragment, userinfo and every query parameter not kept, cut to the
/// wire's [`MAX_URL_CHARS`] (one longer URL would have the collector refuse its whole
/// batch). `None` when the input is not an absolute `http(s)` URL.
pub fn scrub_url(url: &str, keep: &[String]) -> Option<String> {
    let parts = split_url(url)?;
    let mut out = String::with_capacity(url.len());
    out.push_str(&parts.scheme.to_ascii_lowercase());
    out.push_str("://");
    out.push_str(&parts.host.to_ascii_lowercase());
    out.push_str(parts.path);
    let mut first = true;
    for pair in pieces(parts.query, b'&').filter(|p| !p.is_empty()) {
        let name = before(pair, b'=');
        if is_kept_param(name, keep) {
            out.push_str(if first { "?" } else { "&" });
            out.push_str(pair);
            first = false;
        }
    }
    let cut = crate::text::truncate_chars(&out, MAX_URL_CHARS).len();
    out.truncate(cut);
    Some(out)
}

/// Host of a URL as written (any case), without port; `None` if it is not an http(s) URL.
pub fn bare_host(url: &str) -> Option<&str> {
    let host = split_url(url)?.host;
    Some(match rfind(host, b':') {
        // A byte test: `ends_with(']')` would bring a UTF-8 encoder into the tracker.
        Some(i) if host.as_bytes().last() != Some(&b']') => &host[..i],
        _ => host,
    })
}

/// Host of a URL, lowercase, without port; `None` if it is not an http(s) URL.
pub fn host_of(url: &str) -> Option<String> {
    bare_host(url).map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrubbed_url_fits_the_wire() {
        let long = format!("https://shop.example/{}", "é".repeat(3_000));
        let scrubbed = scrub_url(&long, &[]).unwrap();
        assert_eq!(scrubbed.chars().count(), MAX_URL_CHARS);
        assert!(long.starts_with(&scrubbed));
    }

    fn check(input: &str, keep: &[&str], expected: Option<&str>) {
        let keep: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            scrub_url(input, &keep).as_deref(),
            expected,
            "scrubbing {input}"
        );
    }

    #[test]
    fn scrubbing_keeps_only_utm_and_listed_params() {
        check(
            "https://demo.local/pricing?utm_source=x&email=a@b.c#top",
            &[],
            Some("https://demo.local/pricing?utm_source=x"),
        );
        check(
            "https://demo.local/?q=1&ref=2",
            &["ref"],
            Some("https://demo.local/?ref=2"),
        );
        check(
            "https://user:pw@Demo.Local",
            &[],
            Some("https://demo.local/"),
        );
        check(
            "HTTP://demo.local/a?token=secret",
            &[],
            Some("http://demo.local/a"),
        );
        check(
            "https://demo.local/a#?utm_source=x",
            &[],
            Some("https://demo.local/a"),
        );
        check("javascript:alert(1)", &[], None);
        check("ftp://demo.local/", &[], None);
        check("https:///nohost", &[], None);
    }

    #[test]
    fn hosts() {
        assert_eq!(
            host_of("https://News.Example:443/x").as_deref(),
            Some("news.example")
        );
        assert_eq!(host_of("http://[::1]:8787/").as_deref(), Some("[::1]"));
        assert_eq!(
            host_of("https://evil.example\\@good.example/").as_deref(),
            Some("evil.example")
        );
    }
}
