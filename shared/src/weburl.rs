//! URLs as the collector reads them: parsed by the WHATWG URL Standard (the `url` crate),
//! the way every browser parses them, so that a host, a path or a parameter means here what
//! it meant in the page. Hosts are taken only in the ASCII form browsers send (punycode for
//! Unicode names): that keeps IDNA's Unicode tables out of the worker.
//!
//! The collector scrubs URLs itself because not every client is our tracker: userinfo,
//! fragments and every query parameter outside the site's kept list (`utm_*` plus its
//! names) never reach storage. Hosts come out in one form: lowercase ASCII, without the
//! port. The tracker keeps its own small splitter
//! (`crate::url`) for size; a Chromium test holds it to the browser's `URL` on the cases
//! both see.

use crate::url::is_kept_param;
use url::Url;

/// An absolute `http(s)` URL as a browser serialises one (`location.href`, `a.href`,
/// `document.referrer`); `None` for anything else. On top of the URL Standard's parser,
/// which forgives a lot of what people type, text a serialised URL never holds is refused
/// rather than repaired: whitespace and control characters (the parser would drop a tab or
/// a newline silently), and an empty authority (`https:///x`).
pub fn parse_http(url: &str) -> Option<Url> {
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    // The scheme and its `//` as serialised: the parser would also take `https:host` or
    // `https:\\\\host`, which no browser sends.
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &url[8..]
    } else if lower.starts_with("http://") {
        &url[7..]
    } else {
        return None;
    };
    if rest.starts_with(['/', '\\']) {
        return None;
    }
    // Browsers serialise a Unicode host as punycode (`xn--…`): a host that is not ASCII did
    // not come from one. Refusing it here also keeps Unicode out of IDNA, whose Unicode
    // tables (idna_adapter 1.1) would add 116 KiB gzip to the worker (`cargo xtask
    // deploy-check`: 466 against 350 KiB).
    // A host percent-encoded (`%C3%BC`) is the same case in disguise: the parser decodes
    // it before IDNA (found by the `beacon` fuzz target).
    let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if !authority.is_ascii() || host.contains('%') {
        return None;
    }
    let parsed = Url::parse(url).ok()?;
    (matches!(parsed.scheme(), "http" | "https")
        && parsed.host_str().is_some_and(|h| !h.is_empty()))
    .then_some(parsed)
}

/// The URL without userinfo, fragment and every query parameter not kept, serialised as a
/// browser would (`https://demo.example/pricing?utm_source=x`). `None` when it is not an
/// absolute `http(s)` URL.
pub fn scrub(url: &str, keep: &[String]) -> Option<String> {
    let mut parsed = parse_http(url)?;
    let kept: Vec<&str> = parsed
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| form_name(pair).is_some_and(|name| is_kept_param(&name, keep)))
        .collect();
    let query = kept.join("&");
    // Userinfo goes; both setters only fail on URLs that cannot have one.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_fragment(None);
    parsed.set_query((!query.is_empty()).then_some(query.as_str()));
    Some(parsed.into())
}

/// The decoded name of one `name=value` pair.
fn form_name(pair: &str) -> Option<String> {
    url::form_urlencoded::parse(pair.as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
}

/// The page a URL is: its path, without any query (SPEC: pages are grouped by path). For a
/// URL that does not parse, the text itself.
pub fn page_of(url: &str) -> String {
    match parse_http(url) {
        Some(u) => u.path().to_string(),
        None => url.to_string(),
    }
}

/// The host of an `http(s)` URL: lowercase, ASCII (punycode for Unicode names), without
/// port.
pub fn host_of(url: &str) -> Option<String> {
    parse_http(url).and_then(|u| u.host_str().map(str::to_string))
}

/// Value of a query parameter, percent-decoded (`spring%20sale` → `spring sale`); the first
/// occurrence wins.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    parse_http(url)?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A referrer as the collector keeps it (SPEC: reduced to its host): an `http(s)` URL's
/// origin (`https://news.example/`; a port other than the scheme's stays) — its path, query
/// and userinfo go, since the page someone came from can name them
/// (`/customers/jane-doe`) — or an app's `android-app://<package>/` (what Android sends for
/// a link opened from an app) reduced to that.
pub fn scrub_referrer(referrer: &str) -> Option<String> {
    if let Some(app) = android_app(referrer) {
        return Some(format!("android-app://{app}/"));
    }
    let origin = parse_http(referrer)?.origin().ascii_serialization();
    Some(format!("{origin}/"))
}

/// The package of an `android-app://<package>/…` referrer (`com.google.android.gm`).
pub fn android_app(referrer: &str) -> Option<String> {
    // Only text that says so goes to the parser (a non-special scheme: its host is not put
    // through IDNA).
    let scheme = referrer.get(..14)?;
    if !scheme.eq_ignore_ascii_case("android-app://") {
        return None;
    }
    let parsed = Url::parse(referrer).ok()?;
    if parsed.scheme() != "android-app" {
        return None;
    }
    let package = parsed.host_str()?.to_ascii_lowercase();
    let valid = !package.is_empty()
        && package
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
    valid.then_some(package)
}

/// Where a referrer came from, as the summary names it: a host, or an app's package.
pub fn referrer_source(referrer: &str) -> Option<String> {
    android_app(referrer).or_else(|| host_of(referrer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keep(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn scrubbing_keeps_only_utm_and_listed_params() {
        let cases: &[(&str, &[&str], Option<&str>)] = &[
            (
                "https://demo.local/pricing?utm_source=x&email=a@b.c#top",
                &[],
                Some("https://demo.local/pricing?utm_source=x"),
            ),
            (
                "https://demo.local/?q=1&ref=2",
                &["ref"],
                Some("https://demo.local/?ref=2"),
            ),
            (
                "https://user:pw@Demo.Local",
                &[],
                Some("https://demo.local/"),
            ),
            (
                "HTTP://demo.local/a?token=secret",
                &[],
                Some("http://demo.local/a"),
            ),
            (
                "https://demo.local/a#?utm_source=x",
                &[],
                Some("https://demo.local/a"),
            ),
            ("https://demo.local/a?", &[], Some("https://demo.local/a")),
            // The browser's reading of a backslash: it ends the host.
            (
                "https://evil.example\\@good.example/",
                &[],
                Some("https://evil.example/@good.example/"),
            ),
            // A Unicode host is not as a browser sends it (punycode is); a Unicode path is.
            ("https://bücher.example/ü", &[], None),
            (
                "https://xn--bcher-kva.example/ü",
                &[],
                Some("https://xn--bcher-kva.example/%C3%BC"),
            ),
            (
                "https://XN--BCHER-KVA.example/",
                &[],
                Some("https://xn--bcher-kva.example/"),
            ),
            ("javascript:alert(1)", &[], None),
            ("ftp://demo.local/", &[], None),
            ("https:///nohost", &[], None),
            ("https://de\tmo.local/", &[], None),
            ("https://de\u{2028}mo.local/", &[], None),
            // Regression (fuzz target `beacon`): a percent-encoded host.
            ("https://dreem%BBo.example/", &[], None),
            // Regression (review): a scheme without `//` is not as browsers serialise.
            ("https:MÜNCHEN.example/?a=://", &[], None),
            ("https:\\\\X.example/?a=://", &[], None),
            ("https://M%C3%9CNCHEN.example/", &[], None),
            (
                "https://a%40b@demo.local/",
                &[],
                Some("https://demo.local/"),
            ),
            ("not a url", &[], None),
        ];
        for (input, names, expected) in cases {
            assert_eq!(
                scrub(input, &keep(names)).as_deref(),
                *expected,
                "scrubbing {input}"
            );
        }
    }

    #[test]
    fn hosts_pages_and_params_as_browsers_read_them() {
        assert_eq!(
            host_of("https://evil.example\\@good.example/").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            host_of("https://News.Example:443/x").as_deref(),
            Some("news.example")
        );
        assert_eq!(host_of("http://[::1]:8787/").as_deref(), Some("[::1]"));
        assert_eq!(host_of("https://MÜNCHEN.example/"), None);
        assert_eq!(
            host_of("https://xn--mnchen-3ya.example/").as_deref(),
            Some("xn--mnchen-3ya.example")
        );
        assert_eq!(
            page_of("https://demo.local/pricing?utm_source=x"),
            "/pricing"
        );
        assert_eq!(page_of("http://127.0.0.1:8787"), "/");
        assert_eq!(
            query_param(
                "https://a.example/?utm_campaign=spring%20sale&utm_medium=e+mail",
                "utm_campaign"
            )
            .as_deref(),
            Some("spring sale")
        );
        assert_eq!(
            query_param("https://a.example/?utm_medium=e+mail", "utm_medium").as_deref(),
            Some("e mail")
        );
    }

    #[test]
    fn app_referrers_name_their_app() {
        assert_eq!(
            referrer_source("android-app://com.google.android.gm/").as_deref(),
            Some("com.google.android.gm")
        );
        assert_eq!(
            scrub_referrer("android-app://com.Google.android.gm/some/path?x=1").as_deref(),
            Some("android-app://com.google.android.gm/")
        );
        assert_eq!(referrer_source("android-app://bad host/"), None);
        // Regression (review): a Unicode referrer never reaches IDNA by the app path.
        assert_eq!(scrub_referrer("https://MÜNCHEN.example/"), None);
        assert_eq!(
            scrub_referrer("Android-App://com.Google.android.gm/").as_deref(),
            Some("android-app://com.google.android.gm/")
        );
        assert_eq!(referrer_source("https://t.co/abc").as_deref(), Some("t.co"));
    }

    #[test]
    fn a_referrer_keeps_its_origin_only() {
        let cases = [
            (
                "https://intranet.example/customers/jane-doe?id=7#notes",
                Some("https://intranet.example/"),
            ),
            (
                "https://jane:pw@News.Example:443/item",
                Some("https://news.example/"),
            ),
            (
                "http://blog.example:8080/post",
                Some("http://blog.example:8080/"),
            ),
            ("https://www.google.com/", Some("https://www.google.com/")),
            ("about:blank", None),
            ("", None),
        ];
        for (referrer, kept) in cases {
            assert_eq!(scrub_referrer(referrer).as_deref(), kept, "{referrer}");
        }
    }
}
