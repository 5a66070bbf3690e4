//! Calendar arithmetic on Unix milliseconds, without a clock or a date library.

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The UTC day number (days since 1970-01-01) of a timestamp.
pub fn utc_day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// 0 = Sunday … 6 = Saturday, in UTC. 1970-01-01 was a Thursday.
pub fn weekday(ms: i64) -> u8 {
    (utc_day(ms) + 4).rem_euclid(7) as u8
}

/// A client clock is trusted for ordering only while it is within a day of the collector's
/// receive time; beyond that the receive time is used instead.
pub fn clamp_client_ts(client_ts: i64, received_at: i64) -> i64 {
    if client_ts.abs_diff(received_at) > DAY_MS as u64 {
        received_at
    } else {
        client_ts
    }
}

/// Whether a session last active at `last_activity` has ended by `now`: inactive for
/// `timeout_ms`, or a clock that jumped back more than a minute before its last activity
/// (a session must not span a clock nobody can order).
pub fn session_expired(now: i64, last_activity: i64, timeout_ms: i64) -> bool {
    now.saturating_sub(last_activity) >= timeout_ms || now < last_activity.saturating_sub(MINUTE_MS)
}

/// (year, month 1–12, day 1–31) of a UTC day number (proleptic Gregorian; Howard Hinnant's
/// civil-from-days).
pub fn civil_from_days(day: i64) -> (i64, i64, i64) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The UTC day number of a date (Hinnant's days-from-civil); the inverse of
/// [`civil_from_days`] for valid dates.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a UTC day number.
pub fn day_label(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    let mut s = String::with_capacity(10);
    push_padded(&mut s, y, 4);
    s.push('-');
    push_padded(&mut s, m, 2);
    s.push('-');
    push_padded(&mut s, d, 2);
    s
}

/// `YYYY-MM` of the month a UTC day number is in.
pub fn month_label(day: i64) -> String {
    let mut s = day_label(day);
    s.truncate(7);
    s
}

/// The first UTC day of the month `day` is in.
pub fn month_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    days_from_civil(y, m, 1)
}

/// The first UTC day of the month after the one `day` is in.
pub fn next_month_start(day: i64) -> i64 {
    let (y, m, _) = civil_from_days(day);
    if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    }
}

/// The Monday (UTC day number) of the ISO week `day` is in.
pub fn week_start(day: i64) -> i64 {
    // Day 0 was a Thursday: Monday is 3 days before it.
    day - (day + 3).rem_euclid(7)
}

/// The same UTC time of day on the same date `years` years away; 29 February becomes
/// 28 February in a year without it.
pub fn shift_years(ms: i64, years: i64) -> i64 {
    let day = utc_day(ms);
    let (y, m, d) = civil_from_days(day);
    let y = y + years;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let d = if m == 2 && d == 29 && !leap { 28 } else { d };
    days_from_civil(y, m, d) * DAY_MS + (ms - day * DAY_MS)
}

fn push_padded(s: &mut String, n: i64, width: usize) {
    let digits = n.unsigned_abs().to_string();
    for _ in digits.len()..width {
        s.push('0');
    }
    s.push_str(&digits);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_labels_match_the_calendar() {
        assert_eq!(day_label(0), "1970-01-01");
        assert_eq!(day_label(utc_day(1_732_390_000_000)), "2024-11-23");
        assert_eq!(day_label(utc_day(951_782_400_000)), "2000-02-29");
    }

    #[test]
    fn civil_dates_round_trip_and_months_and_weeks_are_found() {
        for day in [-800_000, -1, 0, 59, 11_016, 19_000, 20_515, 2_000_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        let nov_23 = utc_day(1_732_390_000_000);
        assert_eq!(month_label(nov_23), "2024-11");
        assert_eq!(day_label(month_start(nov_23)), "2024-11-01");
        assert_eq!(day_label(next_month_start(nov_23)), "2024-12-01");
        assert_eq!(
            day_label(next_month_start(days_from_civil(2024, 12, 31))),
            "2025-01-01"
        );
        // 2024-11-23 was a Saturday; its ISO week began on Monday the 18th.
        assert_eq!(day_label(week_start(nov_23)), "2024-11-18");
        assert_eq!(
            week_start(days_from_civil(2024, 11, 18)),
            days_from_civil(2024, 11, 18)
        );
        assert_eq!(day_label(week_start(0)), "1969-12-29");
    }

    #[test]
    fn a_year_back_is_the_same_date_and_time() {
        let t = days_from_civil(2025, 3, 14) * DAY_MS + 5 * HOUR_MS;
        assert_eq!(
            shift_years(t, -1),
            days_from_civil(2024, 3, 14) * DAY_MS + 5 * HOUR_MS
        );
        let leap = days_from_civil(2024, 2, 29) * DAY_MS;
        assert_eq!(shift_years(leap, -1), days_from_civil(2023, 2, 28) * DAY_MS);
    }

    #[test]
    fn weekdays_start_on_sunday() {
        assert_eq!(weekday(0), 4); // Thursday
        assert_eq!(weekday(1_732_390_000_000), 6); // 2024-11-23 was a Saturday
    }

    #[test]
    fn sessions_end_after_the_timeout_or_a_clock_jump_back() {
        let timeout = 30 * MINUTE_MS;
        assert!(!session_expired(1_000 + timeout - 1, 1_000, timeout));
        assert!(session_expired(1_000 + timeout, 1_000, timeout));
        assert!(
            !session_expired(1_000 - MINUTE_MS, 1_000, timeout),
            "small skew tolerated"
        );
        assert!(session_expired(1_000 - MINUTE_MS - 1, 1_000, timeout));
        assert!(session_expired(i64::MAX, i64::MIN, timeout));
    }

    #[test]
    fn client_clocks_off_by_more_than_a_day_are_replaced() {
        let now = 1_732_390_000_000;
        assert_eq!(clamp_client_ts(now - 5_000, now), now - 5_000);
        assert_eq!(clamp_client_ts(now + DAY_MS, now), now + DAY_MS);
        assert_eq!(clamp_client_ts(now + DAY_MS + 1, now), now);
        assert_eq!(clamp_client_ts(0, now), now);
        assert_eq!(clamp_client_ts(i64::MIN, now), now);
    }
}
