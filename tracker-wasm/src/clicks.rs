//! Link clicks: `click` (mouse and keyboard activation, which browsers deliver as `click`)
//! and `auxclick` with the middle button.

use stint_shared::links::{classify_link, LinkKind};
use wasm_bindgen::JsCast;
use web_sys::{Element, MouseEvent};

/// The absolute href and kind of the link this click activated, if it activated one.
pub fn clicked_link(event: &web_sys::Event, page_url: &str) -> Option<(String, LinkKind)> {
    if event.type_() == "auxclick" {
        // Only the middle button opens links; a right click opens a menu.
        if event.dyn_ref::<MouseEvent>()?.button() != 1 {
            return None;
        }
    }
    let target: Element = event.target()?.dyn_into().ok()?;
    let link = target.closest("a[href],area[href]").ok()??;
    // `a.href` and `area.href` are resolved against the document's base URL. (An SVG `<a>`
    // has an object here, not a string, and is skipped.)
    let href = js_sys::Reflect::get(&link, &"href".into())
        .ok()?
        .as_string()?;
    let kind = classify_link(&href, page_url)?;
    Some((href, kind))
}
