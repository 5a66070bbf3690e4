//! Where a session's entry in the listing index lives.
//!
//! The index is split by site, UTC day and a hash shard of the session ID, so no object sees
//! more than its share of a busy site's traffic. The hash is FNV-1a: stable across builds and
//! platforms (unlike `std`'s `DefaultHasher`), which matters because the name of the object
//! is derived from it.

use crate::time::{day_label, utc_day};

/// Shards per site and day. Changing it moves sessions between objects: treat it as part of
/// the storage format.
pub const INDEX_SHARDS: u32 = 4;

pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

pub fn shard_of(sid: &str) -> u32 {
    fnv1a(sid.as_bytes()) % INDEX_SHARDS
}

/// Durable Object name of one index shard: `site/YYYY-MM-DD/shard`.
pub fn index_object_name(site: &str, day: i64, shard: u32) -> String {
    let mut name = String::with_capacity(site.len() + 16);
    name.push_str(site);
    name.push('/');
    name.push_str(&day_label(day));
    name.push('/');
    name.push_str(&shard.to_string());
    name
}

/// How long after a UTC day ends its month rollup takes the day's sessions from its shards.
/// A session that goes on past it (started at 23:50, active at 01:30) still reaches its
/// day's shard, which passes the change on to the rollup.
pub const ROLLUP_AFTER_MS: i64 = crate::time::HOUR_MS;

/// Durable Object name of a site's rollup for the month UTC day `day` is in:
/// `site/YYYY-MM`. It holds the sessions of the month's closed days, copied from their
/// shards, so a read of a long range asks one object per month instead of four per day.
pub fn month_object_name(site: &str, day: i64) -> String {
    let mut name = String::with_capacity(site.len() + 8);
    name.push_str(site);
    name.push('/');
    name.push_str(&crate::time::month_label(day));
    name
}

/// The first UTC day of every month `[from, to)` touches, newest first.
pub fn months_of_range(from: i64, to: i64) -> Vec<i64> {
    let last = crate::time::month_start(utc_day(to - 1));
    let mut month = crate::time::month_start(utc_day(from));
    let mut out = Vec::new();
    while month <= last {
        out.push(month);
        month = crate::time::next_month_start(month);
    }
    out.reverse();
    out
}

/// Whether a rollup may take UTC day `day` from its shards at `now`.
pub fn rollup_due(day: i64, now: i64) -> bool {
    (day + 1) * crate::time::DAY_MS + ROLLUP_AFTER_MS <= now
}

/// The index object that lists a session started at `started_at`.
pub fn index_object_for(site: &str, sid: &str, started_at: i64) -> String {
    index_object_name(site, utc_day(started_at), shard_of(sid))
}

/// The shard a session has left, if its start moved to another day: a batch that arrived
/// late with an earlier event can move the start. The session object then removes it from
/// the old shard before listing it in the new one.
pub fn shard_left<'a>(old: Option<&'a str>, new: &str) -> Option<&'a str> {
    old.filter(|old| *old != new)
}

/// Durable Object name of a session: `site/sid`. Site first so two sites can never share an
/// object even if a client reuses a session ID.
pub fn session_object_name(site: &str, sid: &str) -> String {
    let mut name = String::with_capacity(site.len() + sid.len() + 1);
    name.push_str(site);
    name.push('/');
    name.push_str(sid);
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_leaves_its_shard_only_when_its_start_changes_day() {
        let sid = "0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e";
        let day = 20_000 * crate::time::DAY_MS;
        let first = index_object_for("demo", sid, day + 5_000);
        let same_day = index_object_for("demo", sid, day + 1);
        let day_before = index_object_for("demo", sid, day - 1);
        assert_eq!(shard_left(Some(&first), &same_day), None);
        assert_eq!(shard_left(None, &first), None, "a new session left nothing");
        assert_eq!(shard_left(Some(&first), &day_before), Some(first.as_str()));
    }

    #[test]
    fn a_year_touches_thirteen_months_at_most() {
        use crate::time::{days_from_civil, DAY_MS};
        let day = |y, m, d| days_from_civil(y, m, d) * DAY_MS;
        let months = months_of_range(day(2025, 12, 3), day(2026, 12, 3) + 5);
        assert_eq!(months.len(), 13);
        assert_eq!(months[0], days_from_civil(2026, 12, 1), "newest first");
        assert_eq!(months_of_range(day(2026, 11, 1), day(2026, 12, 1)).len(), 1);
        assert_eq!(
            month_object_name("demo", days_from_civil(2026, 11, 5)),
            "demo/2026-11"
        );
        let d = days_from_civil(2026, 11, 5);
        assert!(!rollup_due(d, (d + 1) * DAY_MS));
        assert!(rollup_due(d, (d + 1) * DAY_MS + ROLLUP_AFTER_MS));
    }

    #[test]
    fn fnv1a_matches_reference_vectors() {
        assert_eq!(fnv1a(b""), 0x811c9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9cf968);
    }

    #[test]
    fn names_are_site_day_shard() {
        let name = index_object_for(
            "demo",
            "0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e",
            1_732_390_000_000,
        );
        assert!(name.starts_with("demo/2024-11-23/"));
        let shard: u32 = name.rsplit('/').next().unwrap().parse().unwrap();
        assert!(shard < INDEX_SHARDS);
    }

    #[test]
    fn shards_spread_uuids_evenly() {
        let mut counts = [0u32; INDEX_SHARDS as usize];
        for i in 0..4000u32 {
            let sid = format!(
                "{:08x}-1e9c-4a8e-9d3a-2f8f0a6c1b7e",
                i.wrapping_mul(2_654_435_761)
            );
            counts[shard_of(&sid) as usize] += 1;
        }
        for c in counts {
            assert!((800..1200).contains(&c), "uneven shards: {counts:?}");
        }
    }
}
