//! Delivering batches so that none is lost to a closing tab or a flaky network.
//!
//! Each batch goes to `sendBeacon` first; once the browser has queued it, it is the browser's
//! to deliver, even after the page is gone. When `sendBeacon` refuses (a body over its quota,
//! a browser without it), the batch is written to the pending list (`stint.queue`) and sent
//! with `fetch(…, {keepalive})`, and removed once an answer settles it. Whatever is still
//! pending is sent again on the next page load; `(sid, seq)` makes a resent batch count
//! once. The common path touches no storage.

use crate::host::{Host, Key};
use crate::session::{load, save, Store};
use stint_shared::text::{find, pieces};

/// The pending list is bounded: a site that never reaches its collector stops growing it.
pub const MAX_PENDING: usize = 30;

/// The pending list is one string: batches are JSON, whose strings escape newlines, so a
/// newline separates them. It is edited as a string (no list of copies) to keep the
/// tracker's WebAssembly small.
fn read(host: &impl Host, store: Store) -> String {
    load(host, store, Key::Pending).unwrap_or_default()
}

/// The pending batches other than `body`, newline-separated.
fn without(pending: &str, body: &str) -> String {
    let mut left = String::with_capacity(pending.len());
    for batch in pieces(pending, b'\n').filter(|b| !b.is_empty() && *b != body) {
        if !left.is_empty() {
            left.push('\n');
        }
        left.push_str(batch);
    }
    left
}

/// Sends one batch body; keeps it pending if the browser does not take it at once.
pub fn send(host: &impl Host, store: Store, body: &str) {
    if host.send(body) {
        return;
    }
    let mut pending = without(&read(host, store), "");
    // Past the bound the oldest batches go: the list only grows while the collector is
    // unreachable.
    while pieces(&pending, b'\n').count() >= MAX_PENDING {
        pending = pending[find(&pending, b'\n').map_or(pending.len(), |i| i + 1)..].to_string();
    }
    if !pending.is_empty() {
        pending.push('\n');
    }
    pending.push_str(body);
    save(host, store, Key::Pending, &pending);
}

/// Removes a delivered batch from the pending list.
pub fn forget(host: &impl Host, store: Store, body: &str) {
    save(
        host,
        store,
        Key::Pending,
        &without(&read(host, store), body),
    );
}

/// Whether the collector's answer to a `fetch` fallback settles the batch: 2xx stored it;
/// any other 4xx but 429 will never accept it (422: past a session's caps, 413: too large;
/// see `stint_shared::refusal`). 429 ("later", with `Retry-After`), 5xx and no answer (0)
/// keep it for the next page load.
pub fn settled(status: u32) -> bool {
    (200..500).contains(&status) && status != 429
}

/// Sends again what earlier pages could not deliver.
pub fn resend_pending(host: &impl Host, store: Store) {
    let pending = read(host, store);
    save(host, store, Key::Pending, "");
    for body in pieces(&pending, b'\n').filter(|b| !b.is_empty()) {
        send(host, store, body);
    }
}
