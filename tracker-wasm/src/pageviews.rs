//! The page view of the page being shown.

use stint_shared::protocol::{Event, EventKind};
use stint_shared::url::scrub_url;
use web_sys::Window;

/// A `pageview` event for the current document, its URL already scrubbed of fragment and
/// unkept query parameters (the collector scrubs again; nothing private leaves the page).
pub fn current(window: &Window, now: i64, page: u32, keep_params: &[String]) -> Event {
    let href = window.location().href().unwrap_or_default();
    let url = scrub_url(&href, keep_params).unwrap_or(href);
    let document = window.document();
    let referrer = document
        .as_ref()
        .map(|d| d.referrer())
        .filter(|r| !r.is_empty())
        .and_then(|r| scrub_url(&r, &[]));
    let title = document
        .map(|d| d.title())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.chars()
                .take(stint_shared::protocol::MAX_TITLE_CHARS)
                .collect()
        });
    let width = window
        .inner_width()
        .ok()
        .and_then(|w| w.as_f64())
        .map(|w| w as u32);
    Event {
        ts: now,
        page,
        kind: EventKind::Pageview {
            url,
            referrer,
            title,
            width,
        },
    }
}

/// `navigator.webdriver`: true when the browser is driven by automation. Sent so the
/// collector can mark the session as a bot.
pub fn is_webdriver(window: &Window) -> bool {
    js_sys::Reflect::get(&window.navigator(), &"webdriver".into())
        .map(|v| v.is_truthy())
        .unwrap_or(false)
}
