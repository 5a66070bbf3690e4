//! Delivering batches so that none is lost to a closing tab or a flaky network.
//!
//! The JS entry composes each batch from the events the module handed over (`emit.rs`)
//! and gives it to `sendBeacon` first; once the browser has queued it, it is the browser's
//! to deliver, even after the page is gone. When `sendBeacon` refuses (a body over its quota,
//! a browser without it), the batch is written to the pending list (`stint.queue`) and sent
//! with `fetch(…, {keepalive})`, and removed once an answer settles it. Whatever is still
//! pending is sent again on the next page load; `(sid, seq)` makes a resent batch count
//! once. The common path touches no storage.

use crate::host::{Host, Key, Text};
use crate::session::{load, save, Store};
use stint_shared::text::{find, pieces};

/// The pending list is bounded: a site that never reaches its collector stops growing it.
pub const MAX_PENDING: usize = 30;

/// The batches handed to the `fetch` fallback and not answered yet, by batch number: the
/// JS entry answers with the number ([`crate::tracker::Tracker::answered`]), not the body.
/// A ring of [`MAX_PENDING`] slots (the pending list holds no more), each remembering its
/// number, so a late answer to a slot used again since changes nothing.
#[derive(Debug, Default)]
pub struct Inflight {
    next: u32,
    slots: [Option<(u32, String)>; MAX_PENDING],
}

impl Inflight {
    /// The number the next batch goes out with.
    pub fn next_number(&mut self) -> u32 {
        let number = self.next;
        self.next = self.next.wrapping_add(1);
        number
    }

    /// The key of an answered batch, if it was waiting.
    pub fn take(&mut self, number: u32) -> Option<String> {
        let slot = &mut self.slots[number as usize % MAX_PENDING];
        match slot.take() {
            Some((n, key)) if n == number => Some(key),
            other => {
                *slot = other;
                None
            }
        }
    }
}

/// What names a batch in the pending list: its body up to the events (site, sid and seq,
/// which are unique). The first `[` opens the events: a site id and a sid have none.
fn key_of(body: &str) -> &str {
    &body[..find(body, b'[').unwrap_or(body.len())]
}

/// The pending list is one string: batches are JSON, whose strings escape newlines, so a
/// newline separates them. It is edited as a string (no list of copies) to keep the
/// tracker's WebAssembly small.
fn read(host: &impl Host, store: Store) -> String {
    load(host, store, Key::Pending).unwrap_or_default()
}

/// The pending batches but those whose key is `key` (none for ""), newline-separated.
fn without(pending: &str, key: &str) -> String {
    let mut left = String::with_capacity(pending.len());
    for batch in
        pieces(pending, b'\n').filter(|b| !b.is_empty() && (key.is_empty() || key_of(b) != key))
    {
        if !left.is_empty() {
            left.push('\n');
        }
        left.push_str(batch);
    }
    left
}

/// Keeps batch `number` (its `body`), which the browser did not take at once, pending and
/// waiting for its answer.
pub fn keep(host: &impl Host, store: Store, inflight: &mut Inflight, number: u32, body: &str) {
    inflight.slots[number as usize % MAX_PENDING] = Some((number, key_of(body).to_string()));
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

/// Sends the batch the host composed from the events handed over since the last one;
/// keeps it pending if the browser does not take it at once. Only then does its body come
/// into the module.
pub fn send_queued(
    host: &impl Host,
    store: Store,
    inflight: &mut Inflight,
    (site, sid, seq, webdriver): (&str, &str, u32, bool),
) {
    let number = inflight.next_number();
    if !host.send_queued(site, sid, seq, webdriver, number) {
        keep(host, store, inflight, number, &host.text(Text::Batch));
    }
}

/// Removes a settled batch (by its key) from the pending list.
pub fn forget(host: &impl Host, store: Store, key: &str) {
    save(host, store, Key::Pending, &without(&read(host, store), key));
}

/// Whether the collector's answer to a `fetch` fallback settles the batch: 2xx stored it;
/// any other 4xx but 429 will never accept it (422: past a session's caps, 413: too large;
/// see `stint_shared::refusal`). 429 ("later", with `Retry-After`), 5xx and no answer (0)
/// keep it for the next page load.
pub fn settled(status: u32) -> bool {
    (200..500).contains(&status) && status != 429
}

/// Sends again what earlier pages could not deliver.
pub fn resend_pending(host: &impl Host, store: Store, inflight: &mut Inflight) {
    let pending = read(host, store);
    save(host, store, Key::Pending, "");
    for body in pieces(&pending, b'\n').filter(|b| !b.is_empty()) {
        let number = inflight.next_number();
        if !host.send(body, number) {
            keep(host, store, inflight, number, body);
        }
    }
}
