//! Stint's tracker, compiled to WebAssembly.
//!
//! Split by concern like the trackers we admire: `config` reads the options, `session` owns
//! the session ID and batch numbering, `pageviews` describes the page being shown, and
//! `transport` delivers batches. This file only wires them together. The protocol types and
//! their encoding come from `stint-shared` (built without `serde` to keep the page light).
//!
//! State of this build: `init` starts or resumes the session and sends the first page view.
//! Engagement, scroll, clicks, SPA navigation, custom events, retries and consent are not
//! built yet (see README's feature table).

mod config;
mod pageviews;
mod session;
mod transport;

use stint_shared::protocol::Batch;
use wasm_bindgen::prelude::*;

/// Starts tracking with the given options (`{endpoint, site, …}`); throws a `TypeError`-like
/// `Error` naming the option when one is wrong. Sends the page view of the current page.
#[wasm_bindgen]
pub fn start(options: &JsValue) -> Result<(), JsValue> {
    let config = config::Config::from_js(options)?;
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("stint: no window"))?;
    let now = js_sys::Date::now() as i64;
    let store = session::Store::open(&window, config.storage);
    let mut session =
        session::Session::resume_or_start(&store, &window, now, config.session_timeout_ms)?;
    let page = session.next_page();
    let event = pageviews::current(&window, now, page, &config.keep_params);
    let batch = Batch {
        site: config.site.clone(),
        sid: session.id.clone(),
        seq: session.next_seq(),
        webdriver: pageviews::is_webdriver(&window),
        events: vec![event],
    };
    session.save(&store, now);
    transport::send(&window, &config.collect_url, &batch.to_json());
    Ok(())
}
