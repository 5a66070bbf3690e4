//! The session: a random ID, its last activity, and the counters that must be unique within
//! it across tabs (batch `seq` and page index).
//!
//! Stored under `stint.sid` as `<uuid>|<last activity ms>|<next seq>|<next page>`. Counters
//! are allocated read-modify-write against storage, so two tabs sharing a session
//! (`storage: "local"`) never send the same `seq` — which the collector would take for a
//! retry and drop — nor the same page index.

use crate::host::{Area, Host, Key};
use stint_shared::json::push_digits;
use stint_shared::protocol::is_uuid_v4;
use stint_shared::text::pieces;
use stint_shared::time::session_expired;

/// Where the session and pending batches live: `None` for `storage: "memory"` and before
/// consent.
pub type Store = Option<Area>;

pub fn load(host: &impl Host, store: Store, key: Key) -> Option<String> {
    host.load(store?, key)
}

pub fn save(host: &impl Host, store: Store, key: Key, value: &str) {
    if let Some(area) = store {
        host.store(area, key, value);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    last_activity: i64,
    next_seq: u32,
    pub next_page: u32,
}

/// A decimal number of at most 15 digits (what `push_digits` wrote), or `None`.
fn number(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 15 {
        return None;
    }
    s.bytes().try_fold(0i64, |n, c| {
        c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
    })
}

fn parse(stored: &str) -> Option<Session> {
    let mut parts = pieces(stored, b'|');
    let id = parts.next().filter(|id| is_uuid_v4(id))?;
    let mut next = || number(parts.next()?);
    Some(Session {
        id: id.to_string(),
        last_activity: next()?,
        next_seq: u32::try_from(next()?).ok()?,
        next_page: u32::try_from(next()?).ok()?,
    })
}

/// A lowercase UUID v4 from 16 random bytes.
pub fn uuid_v4(mut bytes: [u8; 16]) -> String {
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
    id
}

impl Session {
    /// Reuses the stored session unless it has been inactive for `timeout_ms`.
    pub fn resume_or_start(host: &impl Host, store: Store, now: i64, timeout_ms: i64) -> Session {
        load(host, store, Key::Session)
            .and_then(|raw| parse(&raw))
            .filter(|s| !s.expired(now, timeout_ms))
            .unwrap_or_else(|| Session::fresh(host, now))
    }

    pub fn fresh(host: &impl Host, now: i64) -> Session {
        Session {
            id: uuid_v4(host.random()),
            last_activity: now,
            next_seq: 0,
            next_page: 0,
        }
    }

    /// See `stint_shared::time::session_expired`.
    pub fn expired(&self, now: i64, timeout_ms: i64) -> bool {
        session_expired(now, self.last_activity, timeout_ms)
    }

    /// Takes in what other tabs of the same session have stored: later activity and
    /// counters already used.
    pub fn sync(&mut self, host: &impl Host, store: Store) {
        if let Some(s) = load(host, store, Key::Session).and_then(|raw| parse(&raw)) {
            if s.id == self.id {
                self.last_activity = self.last_activity.max(s.last_activity);
                self.next_seq = self.next_seq.max(s.next_seq);
                self.next_page = self.next_page.max(s.next_page);
            }
        }
    }

    /// The next batch number; the batch being sent at `now` is also the session's latest
    /// activity. One storage read and one write.
    pub fn alloc_seq(&mut self, host: &impl Host, store: Store, now: i64) -> u32 {
        self.sync(host, store);
        self.next_seq += 1;
        self.last_activity = self.last_activity.max(now);
        self.save(host, store);
        self.next_seq - 1
    }

    pub fn alloc_page(&mut self, host: &impl Host, store: Store) -> u32 {
        self.sync(host, store);
        self.next_page += 1;
        self.save(host, store);
        self.next_page - 1
    }

    /// Whether the stored record of this session has pages numbered past `base` (by
    /// another tab since this one read it).
    pub fn pages_taken_since(&self, host: &impl Host, store: Store, base: u32) -> bool {
        load(host, store, Key::Session)
            .and_then(|raw| parse(&raw))
            .is_some_and(|s| s.id == self.id && s.next_page > base)
    }

    /// A new session that goes on numbering pages where this one is (the pages already
    /// numbered keep their indices).
    pub fn renamed(&self, host: &impl Host, now: i64) -> Session {
        Session {
            next_page: self.next_page,
            ..Session::fresh(host, now)
        }
    }

    pub fn save(&self, host: &impl Host, store: Store) {
        let mut value = String::with_capacity(64);
        value.push_str(&self.id);
        for n in [
            self.last_activity.max(0) as u64,
            u64::from(self.next_seq),
            u64::from(self.next_page),
        ] {
            value.push('|');
            push_digits(&mut value, n);
        }
        save(host, store, Key::Session, &value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_sessions_round_trip_and_garbage_is_ignored() {
        let s = Session {
            id: uuid_v4([7; 16]),
            last_activity: 1_700_000_000_000,
            next_seq: 3,
            next_page: 2,
        };
        let raw = format!("{}|1700000000000|3|2", s.id);
        assert_eq!(parse(&raw), Some(s.clone()));
        for bad in [
            "",
            "not-a-uuid|1|2|3",
            &format!("{}|x|2|3", s.id),
            &format!("{}|1|2", s.id),
            &format!("{}|1|-2|3", s.id),
            &format!("{}|1|99999999999|3", s.id),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_are_uuid_v4_whatever_the_random_bytes() {
        for b in [0u8, 0x5a, 0xff] {
            assert!(is_uuid_v4(&uuid_v4([b; 16])), "{b}");
        }
    }
}
