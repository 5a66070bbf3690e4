//! SPA navigations: `history.pushState` / `replaceState` are wrapped so the tracker hears of
//! them (there is no event for them), alongside `popstate` and, when asked, `hashchange`.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Window;

/// Replaces `pushState` and `replaceState` with wrappers that call the original, then
/// `notify`. The wrappers live as long as the page, so their closures are kept forever.
pub fn wrap_history(window: &Window, notify: fn()) -> Result<(), JsValue> {
    let history = window.history()?;
    for name in ["pushState", "replaceState"] {
        let original: Function = Reflect::get(&history, &name.into())?.dyn_into()?;
        let target = history.clone();
        let wrapper =
            Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
                move |state: JsValue, title: JsValue, url: JsValue| {
                    let args = if url.is_undefined() {
                        Array::of2(&state, &title)
                    } else {
                        Array::of3(&state, &title, &url)
                    };
                    let result = original.apply(&target, &args);
                    notify();
                    result
                },
            );
        Reflect::set(&history, &name.into(), wrapper.as_ref())?;
        wrapper.forget();
    }
    Ok(())
}
