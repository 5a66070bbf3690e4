//! Delivering batches so that none is lost to a closing tab or a flaky network.
//!
//! Each batch is written to the pending list (`stint.queue`) before it is sent, and removed
//! once the browser has taken it: `sendBeacon` queued it, or the `fetch(…, {keepalive})`
//! fallback got an answer that retrying cannot change. Whatever is still pending is sent
//! again on the next page load; `(sid, seq)` makes a resent batch count once.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{RequestInit, Storage, Window};

const PENDING_KEY: &str = "stint.queue";
/// The pending list is bounded: a site that never reaches its collector stops growing it.
const MAX_PENDING: usize = 30;

pub struct Transport {
    collect_url: String,
    /// Where pending batches are kept; `None` with `storage: "memory"`.
    pending: Option<Storage>,
}

impl Transport {
    pub fn new(collect_url: String, pending: Option<Storage>) -> Transport {
        Transport {
            collect_url,
            pending,
        }
    }

    pub fn set_storage(&mut self, pending: Option<Storage>) {
        self.pending = pending;
    }

    fn read(&self) -> Vec<String> {
        let raw = self
            .pending
            .as_ref()
            .and_then(|s| s.get_item(PENDING_KEY).ok().flatten())
            .unwrap_or_default();
        // Batches are JSON, whose strings escape newlines: a newline separates batches.
        raw.split('\n')
            .filter(|b| !b.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn write(pending: &Option<Storage>, batches: &[String]) {
        if let Some(s) = pending {
            let _ = if batches.is_empty() {
                s.remove_item(PENDING_KEY)
            } else {
                s.set_item(PENDING_KEY, &batches.join("\n"))
            };
        }
    }

    fn remember(&self, body: &str) {
        let mut all = self.read();
        all.push(body.to_string());
        let excess = all.len().saturating_sub(MAX_PENDING);
        Self::write(&self.pending, &all[excess..]);
    }

    fn forget(pending: &Option<Storage>, body: &str) {
        let Some(s) = pending else { return };
        let raw = s.get_item(PENDING_KEY).ok().flatten().unwrap_or_default();
        let left: Vec<String> = raw
            .split('\n')
            .filter(|b| !b.is_empty() && *b != body)
            .map(str::to_string)
            .collect();
        Self::write(pending, &left);
    }

    /// Sends one batch body.
    pub fn send(&self, window: &Window, body: String) {
        self.remember(&body);
        // A string body is sent as text/plain: a "simple" request, no CORS preflight.
        let queued = window
            .navigator()
            .send_beacon_with_opt_str(&self.collect_url, Some(&body))
            .unwrap_or(false);
        if queued {
            Self::forget(&self.pending, &body);
            return;
        }
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&body));
        // `keepalive` lets the request outlive the page, like a beacon.
        let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &JsValue::TRUE);
        let promise = window.fetch_with_str_and_init(&self.collect_url, &init);
        let pending = self.pending.clone();
        let on_answer: Closure<dyn FnMut(JsValue)> = Closure::once(move |response: JsValue| {
            let status = response
                .dyn_into::<web_sys::Response>()
                .map(|r| r.status())
                .unwrap_or(0);
            // 2xx: stored. Other 4xx but 429: the batch will never be accepted. Keep the
            // rest (429, 5xx, no answer) for the next page load.
            if (200..500).contains(&status) && status != 429 {
                Self::forget(&pending, &body);
            }
        });
        // A network failure leaves the batch pending; the handler only keeps the rejection
        // from being reported as unhandled.
        let on_failure: Closure<dyn FnMut(JsValue)> = Closure::once(|_: JsValue| {});
        let _ = promise.then2(&on_answer, &on_failure);
        // Exactly one of the two runs; both must outlive this call. This path is only taken
        // when sendBeacon refuses, so the few bytes kept are of no concern.
        on_answer.forget();
        on_failure.forget();
    }

    /// Sends again what earlier pages could not deliver.
    pub fn resend_pending(&self, window: &Window) {
        let batches = self.read();
        Self::write(&self.pending, &[]);
        for body in batches {
            self.send(window, body);
        }
    }
}
