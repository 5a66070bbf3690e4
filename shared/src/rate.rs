//! The per-session rate limit: a token bucket driven by explicit timestamps.
//!
//! A session may send [`BURST`] batches at once and [`PER_SECOND`] a second after that.
//! Honest trackers send a batch every few seconds at most; a flood for one session is
//! refused with `429` at its own object and slows no one else.

pub const BURST: f64 = 20.0;
pub const PER_SECOND: f64 = 2.0;

#[derive(Debug, Clone, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last_ms: i64,
}

impl TokenBucket {
    pub fn new(now_ms: i64) -> Self {
        TokenBucket {
            tokens: BURST,
            last_ms: now_ms,
        }
    }

    /// Takes one token if there is one. A clock that goes backwards refills nothing.
    pub fn try_take(&mut self, now_ms: i64) -> bool {
        let elapsed = (now_ms - self.last_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * PER_SECOND / 1000.0).min(BURST);
        self.last_ms = self.last_ms.max(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_burst_then_the_steady_rate() {
        let mut b = TokenBucket::new(0);
        assert_eq!((0..30).filter(|_| b.try_take(0)).count(), 20);
        assert!(!b.try_take(100));
        assert!(b.try_take(500), "one token after half a second");
        assert!(!b.try_take(500));
        assert_eq!(
            (0..30).filter(|_| b.try_take(60_000)).count(),
            20,
            "refills to the burst, no more"
        );
    }

    proptest! {
        #[test]
        fn never_more_than_burst_plus_rate_times_time(gaps in proptest::collection::vec(-100i64..2_000, 1..200)) {
            let mut b = TokenBucket::new(0);
            let (mut now, mut high, mut taken) = (0i64, 0i64, 0u64);
            for gap in gaps {
                now += gap;
                high = high.max(now);
                taken += u64::from(b.try_take(now));
            }
            let allowed = BURST + (high as f64) * PER_SECOND / 1000.0;
            prop_assert!(taken as f64 <= allowed + 1e-9);
        }
    }
}
