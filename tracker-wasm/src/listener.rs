//! An event listener as an owned value: registered on creation, removed on drop (the
//! gloo-events pattern), instead of a leaked `Closure::forget`.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AddEventListenerOptions, EventTarget};

pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    capture: bool,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl Listener {
    /// A passive listener (it never calls `preventDefault`, so scrolling is never delayed)
    /// that calls `handler(code, event)`. Every listener shares one closure type, so the
    /// WebAssembly carries one adapter for all of them instead of one per event kind.
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        capture: bool,
        code: u8,
        handler: fn(u8, web_sys::Event),
    ) -> Listener {
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(move |event| handler(code, event));
        let options = AddEventListenerOptions::new();
        options.set_passive(true);
        options.set_capture(capture);
        let _ = target.add_event_listener_with_callback_and_add_event_listener_options(
            kind,
            callback.as_ref().unchecked_ref(),
            &options,
        );
        Listener {
            target: target.clone(),
            kind,
            capture,
            callback,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.kind,
            self.callback.as_ref().unchecked_ref(),
            self.capture,
        );
    }
}
