//! Whether this visitor has asked not to be tracked.

use js_sys::Reflect;
use wasm_bindgen::JsValue;
use web_sys::Window;

use crate::config::Config;

fn prop(target: &JsValue, name: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// True when nothing may be sent: `localStorage["stint.optout"]` is set, or Do Not Track /
/// Global Privacy Control is on and the site respects it (the default).
pub fn tracking_refused(window: &Window, config: &Config) -> bool {
    let opted_out = window
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item("stint.optout").ok().flatten())
        .is_some();
    let navigator: JsValue = window.navigator().into();
    let dnt = prop(&navigator, "doNotTrack").as_string().as_deref() == Some("1")
        || prop(window, "doNotTrack").as_string().as_deref() == Some("1");
    let gpc = prop(&navigator, "globalPrivacyControl").is_truthy();
    opted_out || (config.respect_dnt && dnt) || (config.respect_gpc && gpc)
}

/// `navigator.webdriver`: the browser is driven by automation. Sent so the collector can
/// mark the session as a bot.
pub fn is_webdriver(window: &Window) -> bool {
    prop(&window.navigator(), "webdriver").is_truthy()
}
