//! Classifying a clicked link: internal, outbound, or a download.

use crate::text::{after_last, rfind};
use crate::url::{bare_host, split_url};

/// File extensions whose links count as downloads (lowercase, without the dot).
pub const DOWNLOAD_EXTENSIONS: [&str; 28] = [
    "7z", "apk", "avi", "bz2", "csv", "dmg", "doc", "docx", "epub", "exe", "gz", "iso", "key",
    "mov", "mp3", "mp4", "msi", "odt", "pdf", "pkg", "ppt", "pptx", "rar", "rtf", "tar", "txt",
    "xlsx", "zip",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkKind {
    /// The link leads to another host than the page's.
    pub outbound: bool,
    /// The link's path ends in a download extension.
    pub download: bool,
}

/// Classifies an absolute link `href` clicked on a page at `page_url`. `None` for links that
/// are not `http(s)` (mailto:, tel:, javascript:), which are not tracked.
pub fn classify_link(href: &str, page_url: &str) -> Option<LinkKind> {
    let parts = split_url(href)?;
    // Hosts compared as they are, case aside: no lowercase copies of either.
    let host = bare_host(href)?;
    let outbound = bare_host(page_url).is_none_or(|page| !page.eq_ignore_ascii_case(host));
    let file = after_last(parts.path, b'/');
    let download = match rfind(file, b'.') {
        Some(dot) if dot > 0 => DOWNLOAD_EXTENSIONS
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&file[dot + 1..])),
        _ => false,
    };
    Some(LinkKind { outbound, download })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(href: &str, expected: Option<(bool, bool)>) {
        let got = classify_link(href, "https://demo.local/blog/post?x=1");
        assert_eq!(got.map(|k| (k.outbound, k.download)), expected, "{href}");
    }

    #[test]
    fn links_are_classified_by_host_and_extension() {
        check("https://demo.local/pricing", Some((false, false)));
        check("https://DEMO.local:443/pricing", Some((false, false)));
        check("https://example.org/", Some((true, false)));
        check("https://sub.demo.local/", Some((true, false)));
        check(
            "https://demo.local/files/report.PDF?v=2",
            Some((false, true)),
        );
        check("https://cdn.example/app.dmg", Some((true, true)));
        check("https://demo.local/.zip", Some((false, false)));
        check("https://demo.local/v1.2/", Some((false, false)));
        check("mailto:a@b.c", None);
        check("javascript:void(0)", None);
    }
}
