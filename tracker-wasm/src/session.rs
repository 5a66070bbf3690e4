//! The session: a random ID, its last activity, and the counters that must be unique within
//! it across tabs (batch `seq` and page index).
//!
//! Stored under `stint.sid` as `<uuid>|<last activity ms>|<next seq>|<next page>`. Counters
//! are allocated read-modify-write against storage, so two tabs sharing a session
//! (`storage: "local"`) never send the same `seq` — which the collector would take for a
//! retry and drop — nor the same page index.

use crate::config::StorageKind;
use stint_shared::json::push_digits;
use stint_shared::protocol::is_uuid_v4;
use stint_shared::time::session_expired;
use wasm_bindgen::JsValue;
use web_sys::{Storage, Window};

const KEY: &str = "stint.sid";

/// Where the session lives; `None` for `storage: "memory"`, before consent, or where the
/// browser refuses storage (some privacy modes throw on access).
pub struct Store(Option<Storage>);

impl Store {
    pub fn open(window: &Window, kind: StorageKind) -> Store {
        let storage = match kind {
            StorageKind::Local => window.local_storage().ok().flatten(),
            StorageKind::Session => window.session_storage().ok().flatten(),
            StorageKind::Memory => None,
        };
        Store(storage)
    }

    pub fn none() -> Store {
        Store(None)
    }

    pub fn storage(&self) -> Option<&Storage> {
        self.0.as_ref()
    }

    fn get(&self) -> Option<String> {
        self.0.as_ref()?.get_item(KEY).ok().flatten()
    }

    fn set(&self, value: &str) {
        if let Some(s) = &self.0 {
            let _ = s.set_item(KEY, value);
        }
    }
}

pub struct Session {
    pub id: String,
    last_activity: i64,
    next_seq: u32,
    next_page: u32,
}

struct Stored<'a> {
    id: &'a str,
    last_activity: i64,
    next_seq: u32,
    next_page: u32,
}

fn parse(stored: &str) -> Option<Stored<'_>> {
    let mut parts = stored.split('|');
    let id = parts.next()?;
    let stored = Stored {
        id,
        last_activity: parts.next()?.parse().ok()?,
        next_seq: parts.next()?.parse().ok()?,
        next_page: parts.next()?.parse().ok()?,
    };
    is_uuid_v4(id).then_some(stored)
}

impl Session {
    /// Reuses the stored session unless it has been inactive for `timeout_ms`.
    pub fn resume_or_start(
        store: &Store,
        window: &Window,
        now: i64,
        timeout_ms: i64,
    ) -> Result<Session, JsValue> {
        if let Some(raw) = store.get() {
            if let Some(s) = parse(&raw) {
                let session = Session {
                    id: s.id.to_string(),
                    last_activity: s.last_activity,
                    next_seq: s.next_seq,
                    next_page: s.next_page,
                };
                if !session.expired(now, timeout_ms) {
                    return Ok(session);
                }
            }
        }
        Ok(Session {
            id: new_uuid_v4(window)?,
            last_activity: now,
            next_seq: 0,
            next_page: 0,
        })
    }

    /// See `stint_shared::time::session_expired`.
    pub fn expired(&self, now: i64, timeout_ms: i64) -> bool {
        session_expired(now, self.last_activity, timeout_ms)
    }

    /// Replaces this session with a fresh one.
    pub fn restart(&mut self, window: &Window, now: i64) -> Result<(), JsValue> {
        self.id = new_uuid_v4(window)?;
        self.last_activity = now;
        self.next_seq = 0;
        self.next_page = 0;
        Ok(())
    }

    /// Takes in what other tabs of the same session have stored: later activity and
    /// counters already used.
    pub fn sync(&mut self, store: &Store) {
        if let Some(raw) = store.get() {
            if let Some(s) = parse(&raw).filter(|s| s.id == self.id) {
                self.last_activity = self.last_activity.max(s.last_activity);
                self.next_seq = self.next_seq.max(s.next_seq);
                self.next_page = self.next_page.max(s.next_page);
            }
        }
    }

    pub fn alloc_seq(&mut self, store: &Store) -> u32 {
        self.sync(store);
        self.next_seq += 1;
        self.save(store);
        self.next_seq - 1
    }

    pub fn alloc_page(&mut self, store: &Store) -> u32 {
        self.sync(store);
        self.next_page += 1;
        self.save(store);
        self.next_page - 1
    }

    pub fn touch(&mut self, store: &Store, now: i64) {
        self.sync(store);
        self.last_activity = self.last_activity.max(now);
        self.save(store);
    }

    pub fn save(&self, store: &Store) {
        let mut value = String::with_capacity(64);
        value.push_str(&self.id);
        value.push('|');
        push_digits(&mut value, self.last_activity.max(0) as u64);
        value.push('|');
        push_digits(&mut value, u64::from(self.next_seq));
        value.push('|');
        push_digits(&mut value, u64::from(self.next_page));
        store.set(&value);
    }
}

/// A UUID v4 from `crypto.getRandomValues` (available outside secure contexts, unlike
/// `crypto.randomUUID`).
fn new_uuid_v4(window: &Window) -> Result<String, JsValue> {
    let mut bytes = [0u8; 16];
    window
        .crypto()?
        .get_random_values_with_u8_array(&mut bytes)?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(HEX[usize::from(b >> 4)] as char);
        id.push(HEX[usize::from(b & 15)] as char);
    }
    Ok(id)
}
