//! Delivering a batch.

use web_sys::Window;

/// Sends `body` with `sendBeacon`: a `text/plain` body needs no CORS preflight and survives
/// the page being closed. Returns whether the browser queued it.
pub fn send(window: &Window, collect_url: &str, body: &str) -> bool {
    window
        .navigator()
        .send_beacon_with_opt_str(collect_url, Some(body))
        .unwrap_or(false)
}
