//! Why the collector refuses a beacon it could read, and what the answer says: the status,
//! the sentence naming the limit, and for "later" the `Retry-After` seconds.
//!
//! The statuses are a promise to the tracker (`tracker-wasm/src/transport.rs`): only `429`
//! (and 5xx) means "send again later"; every other 4xx is final and the batch is dropped.
//! Caps a session can never get back under are therefore never `429`.

use crate::protocol::MAX_EVENTS_PER_SESSION;
use crate::rate::{BURST, PER_SECOND};
use crate::session::MAX_STORED_STATE_BYTES;

/// Retry-After for the per-session rate limit: by then the bucket has refilled a token.
pub const SESSION_RATE_RETRY_S: u32 = 1;
/// Retry-After for the per-site bound on new sessions (a one-minute window).
pub const NEW_SESSIONS_RETRY_S: u32 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many batches for one session right now (`rate::TokenBucket`).
    SessionRate,
    /// Too many new sessions for the site this minute (the per-site bound).
    NewSessions,
    /// The batch would take the session past [`MAX_EVENTS_PER_SESSION`]; it never gets
    /// below the cap again.
    EventCap,
    /// The session's stored state would pass [`MAX_STORED_STATE_BYTES`].
    StateCap,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::SessionRate | Refusal::NewSessions => 429,
            Refusal::EventCap | Refusal::StateCap => 422,
        }
    }

    /// `Some(seconds)` for a refusal that passes: the `Retry-After` header.
    pub fn retry_after_s(self) -> Option<u32> {
        match self {
            Refusal::SessionRate => Some(SESSION_RATE_RETRY_S),
            Refusal::NewSessions => Some(NEW_SESSIONS_RETRY_S),
            Refusal::EventCap | Refusal::StateCap => None,
        }
    }

    /// The answer's `error`: names the limit.
    pub fn message(self) -> String {
        match self {
            Refusal::SessionRate => format!(
                "rate: over {BURST} batches at once or {PER_SECOND} a second for this session; retry later"
            ),
            Refusal::NewSessions => "rate: too many new sessions this minute for this site \
                 (the NEW_SESSIONS limit in wrangler.toml); retry later"
                .to_string(),
            Refusal::EventCap => format!(
                "session: over the cap of {MAX_EVENTS_PER_SESSION} events; this batch will never be stored"
            ),
            Refusal::StateCap => format!(
                "session: over the storage cap of {MAX_STORED_STATE_BYTES} bytes; this batch will never be stored"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_passing_refusals_are_429_and_say_when() {
        for r in [Refusal::SessionRate, Refusal::NewSessions] {
            assert_eq!(r.status(), 429);
            assert!(r.retry_after_s().is_some_and(|s| s > 0));
            assert!(r.message().starts_with("rate:"));
        }
        for r in [Refusal::EventCap, Refusal::StateCap] {
            assert_eq!(r.status(), 422, "final: the tracker drops the batch");
            assert_eq!(r.retry_after_s(), None);
        }
        assert!(Refusal::EventCap.message().contains("10000 events"));
        assert!(Refusal::StateCap.message().contains("1048576 bytes"));
        assert!(Refusal::NewSessions.message().contains("new sessions"));
    }
}
