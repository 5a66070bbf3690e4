//! The page being shown: its URL, its route (what makes a SPA navigation a new page), its
//! scroll depth, and the `pageview` event that opens it.

use stint_shared::protocol::{EventKind, MAX_TITLE_CHARS};
use stint_shared::scroll::scroll_percent;
use stint_shared::url::scrub_url;
use web_sys::Window;

/// The current URL, without fragment and query parameters outside `utm_*` and `keep`.
pub fn current_url(window: &Window, keep: &[String]) -> String {
    let href = window.location().href().unwrap_or_default();
    scrub_url(&href, keep).unwrap_or(href)
}

/// What identifies a page for SPA navigation: the path, plus the fragment under hash routing.
pub fn route_key(window: &Window, hash_routing: bool) -> String {
    let location = window.location();
    let mut key = location.pathname().unwrap_or_default();
    if hash_routing {
        key.push_str(&location.hash().unwrap_or_default());
    }
    key
}

/// A `pageview` for the current document. The referrer is only sent for the first page of a
/// load (a SPA navigation's referrer is the previous page of the same site).
pub fn pageview(window: &Window, url: String, with_referrer: bool) -> EventKind {
    let document = window.document();
    let referrer = document
        .as_ref()
        .filter(|_| with_referrer)
        .map(|d| d.referrer())
        .filter(|r| !r.is_empty())
        .and_then(|r| scrub_url(&r, &[]));
    let title = document
        .map(|d| d.title())
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(MAX_TITLE_CHARS).collect());
    let width = window
        .inner_width()
        .ok()
        .and_then(|w| w.as_f64())
        .map(|w| w as u32);
    EventKind::Pageview {
        url,
        referrer,
        title,
        width,
    }
}

/// Scroll depth now, 0–100. Reads three layout numbers; call it once per animation frame
/// at most, never in a loop.
pub fn scroll_depth(window: &Window) -> u8 {
    let scroll_y = window.scroll_y().unwrap_or(0.0);
    let viewport = window
        .inner_height()
        .ok()
        .and_then(|h| h.as_f64())
        .unwrap_or(0.0);
    let document_height = window
        .document()
        .and_then(|d| d.document_element())
        .map(|e| f64::from(e.scroll_height()))
        .unwrap_or(0.0);
    scroll_percent(scroll_y, viewport, document_height)
}
