//! How long data is kept, as arithmetic on explicit times: the `RETENTION_DAYS` setting, when
//! an index shard's day expires, and when a session object erases itself.

use crate::time::{utc_day, DAY_MS};

/// Days kept when `RETENTION_DAYS` is unset or not a positive number.
pub const DEFAULT_RETENTION_DAYS: f64 = 90.0;

/// `RETENTION_DAYS` (fractions allowed, which tests use) in milliseconds.
pub fn retention_ms(setting: Option<&str>) -> i64 {
    let days = setting
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(DEFAULT_RETENTION_DAYS);
    (days * DAY_MS as f64) as i64
}

/// When the index shard of the day `started_at` falls in is dropped: the end of that UTC day
/// plus the retention period.
pub fn shard_expires_at(started_at: i64, retention_ms: i64) -> i64 {
    (utc_day(started_at) + 1) * DAY_MS + retention_ms
}

/// What a session object's alarm does at `now`, given when its last batch arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAlarm {
    /// Still inside the retention period: look again in this many milliseconds.
    WaitMs(i64),
    /// The last batch is `RETENTION_DAYS` old (or there is none): erase the session.
    Erase,
}

pub fn session_alarm(last_received_at: Option<i64>, retention_ms: i64, now: i64) -> SessionAlarm {
    match last_received_at {
        Some(last) if last + retention_ms > now => SessionAlarm::WaitMs(last + retention_ms - now),
        _ => SessionAlarm::Erase,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_defaults_to_ninety_days_and_takes_fractions() {
        assert_eq!(retention_ms(None), 90 * DAY_MS);
        assert_eq!(retention_ms(Some(" 30 ")), 30 * DAY_MS);
        assert_eq!(retention_ms(Some("0.5")), DAY_MS / 2);
        for bad in ["", "0", "-3", "NaN", "inf", "ninety"] {
            assert_eq!(retention_ms(Some(bad)), 90 * DAY_MS, "{bad:?}");
        }
    }

    #[test]
    fn a_shard_lives_until_its_day_ends_plus_the_period() {
        let day_start = 20_000 * DAY_MS;
        assert_eq!(shard_expires_at(day_start, DAY_MS), day_start + 2 * DAY_MS);
        assert_eq!(
            shard_expires_at(day_start + DAY_MS - 1, DAY_MS),
            day_start + 2 * DAY_MS
        );
    }

    #[test]
    fn a_session_waits_until_its_last_batch_is_old_enough() {
        let r = 10 * DAY_MS;
        assert_eq!(
            session_alarm(Some(1_000), r, 2_000),
            SessionAlarm::WaitMs(r - 1_000)
        );
        assert_eq!(
            session_alarm(Some(1_000), r, 1_000 + r),
            SessionAlarm::Erase
        );
        assert_eq!(session_alarm(None, r, 5), SessionAlarm::Erase);
    }
}
