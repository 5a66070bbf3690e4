//! Delivering batches so that none is lost to a closing tab or a flaky network: the rules.
//!
//! The JS entry composes each batch from the events the module handed over (`emit.rs`)
//! and gives it to `sendBeacon` first; once the browser has queued it, it is the browser's
//! to deliver, even after the page is gone. When `sendBeacon` refuses (a body over its quota,
//! a browser without it), the JS entry writes the batch to the pending list (`stint.queue`,
//! bodies one a line, at most [`MAX_PENDING`], the oldest going first), sends it with
//! `fetch(…, {keepalive})`, and removes it once an answer [`settled`] it. The module says
//! where the list lives (the session's storage area; none for `storage: "memory"` and
//! before consent) and when what is still pending is sent again (the next page load, and
//! consent); `(sid, seq)` makes a resent batch count once. The common path touches no
//! storage, and no body ever comes into the module.

/// The pending list is bounded: a site that never reaches its collector stops growing it.
pub const MAX_PENDING: usize = 30;

/// Whether the collector's answer to a `fetch` fallback settles the batch: 2xx stored it;
/// any other 4xx but 429 will never accept it (422: past a session's caps, 413: too large;
/// see `stint_shared::refusal`). 429 ("later", with `Retry-After`), 5xx and no answer (0)
/// keep it for the next page load.
pub fn settled(status: u32) -> bool {
    (200..500).contains(&status) && status != 429
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The collector answers a batch past a session's caps with 422 and one over the size
    /// limit with 413 ("never"), a passing rate limit with 429 and `Retry-After` ("later"):
    /// the first are dropped at once, so a capped session is not resent on every load.
    #[test]
    fn only_answers_that_may_change_keep_a_batch() {
        for (status, kept) in [
            (202, false),
            (200, false),
            (422, false),
            (413, false),
            (400, false),
            (429, true),
            (503, true),
            (500, true),
            (0, true),
        ] {
            assert_eq!(!settled(status), kept, "answer {status}");
        }
    }
}
