//! The session: a random ID, its last activity, and the counters that must be unique within
//! it across tabs (batch `seq` and page index).
//!
//! Stored under `stint.sid` as `<uuid>|<last activity ms>|<next seq>|<next page>`. Keeping
//! the counters beside the ID means two tabs sharing a session (`storage: "local"`) never
//! send the same `seq`, which the collector would take for a retry and drop.

use crate::config::StorageKind;
use stint_shared::json::push_digits;
use wasm_bindgen::JsValue;
use web_sys::{Storage, Window};

const KEY: &str = "stint.sid";

pub struct Store(Option<Storage>);

impl Store {
    pub fn open(window: &Window, kind: StorageKind) -> Store {
        // Storage access throws in some privacy modes; then the session lives in memory.
        let storage = match kind {
            StorageKind::Local => window.local_storage().ok().flatten(),
            StorageKind::Session => window.session_storage().ok().flatten(),
            StorageKind::Memory => None,
        };
        Store(storage)
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
    next_seq: u32,
    next_page: u32,
}

impl Session {
    /// Reuses the stored session unless it has been inactive for `timeout_ms`.
    pub fn resume_or_start(
        store: &Store,
        window: &Window,
        now: i64,
        timeout_ms: i64,
    ) -> Result<Session, JsValue> {
        if let Some(stored) = store.get() {
            let mut parts = stored.split('|');
            let id = parts.next().unwrap_or_default();
            let last: Option<i64> = parts.next().and_then(|p| p.parse().ok());
            let seq: Option<u32> = parts.next().and_then(|p| p.parse().ok());
            let page: Option<u32> = parts.next().and_then(|p| p.parse().ok());
            if let (true, Some(last), Some(next_seq), Some(next_page)) =
                (stint_shared::protocol::is_uuid_v4(id), last, seq, page)
            {
                if now - last < timeout_ms && now >= last {
                    return Ok(Session {
                        id: id.to_string(),
                        next_seq,
                        next_page,
                    });
                }
            }
        }
        Ok(Session {
            id: new_uuid_v4(window)?,
            next_seq: 0,
            next_page: 0,
        })
    }

    pub fn next_seq(&mut self) -> u32 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    pub fn next_page(&mut self) -> u32 {
        self.next_page += 1;
        self.next_page - 1
    }

    /// Records activity at `now` and the counters.
    pub fn save(&self, store: &Store, now: i64) {
        let mut value = String::with_capacity(64);
        value.push_str(&self.id);
        value.push('|');
        push_digits(&mut value, now.max(0) as u64);
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
