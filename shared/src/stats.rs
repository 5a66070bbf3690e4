//! Site totals for `GET /api/stats`, computed in two steps so no object sees every session:
//! each index shard folds its sessions into a [`StatsAccumulator`], the worker merges the
//! shards' accumulators and [`StatsAccumulator::finish`]es them.
//!
//! An accumulator is a set of tallies (see [`tally`]): counts and sums that add up across
//! sessions and shards. That is what lets an index shard keep them pre-aggregated as
//! sessions arrive and answer a whole day's totals without reading every session. The one
//! figure that does not add up, the median engaged time, is kept as a distribution of
//! [`active_ms_bucket`]s, which stays small.

use crate::session::SessionSummary;
use crate::time::HOUR_MS;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How many entries each "top" list keeps.
pub const TOP_N: usize = 10;

/// Partial totals; merging two gives the totals of the union.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsAccumulator {
    pub sessions: u64,
    pub pageviews: u64,
    pub bounces: u64,
    /// Engaged milliseconds of every session added up (for the mean, exact).
    #[serde(default)]
    pub active_ms_total: u64,
    /// Engaged time → sessions, by [`active_ms_bucket`] (for the median): three significant
    /// digits, so a shard's distribution stays a few hundred entries however many sessions
    /// it holds.
    pub active_ms: BTreeMap<u64, u64>,
    pub entry_pages: BTreeMap<String, u64>,
    pub referrers: BTreeMap<String, u64>,
    pub channels: BTreeMap<String, u64>,
    pub countries: BTreeMap<String, u64>,
    pub devices: BTreeMap<String, u64>,
    pub browsers: BTreeMap<String, u64>,
    pub oses: BTreeMap<String, u64>,
    /// Sessions by the UTC hour they started in (hour start, Unix ms).
    pub per_hour: BTreeMap<i64, u64>,
}

/// One entry of a "top" list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub value: String,
    pub sessions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourCount {
    pub hour: i64,
    pub sessions: u64,
}

/// The answer of `GET /api/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub sessions: u64,
    pub pageviews: u64,
    pub median_active_ms: u64,
    pub mean_active_ms: u64,
    /// Share of sessions that bounced, 0–1.
    pub bounce_rate: f64,
    /// Entry pages.
    pub top_pages: Vec<Count>,
    pub referrers: Vec<Count>,
    pub channels: Vec<Count>,
    pub countries: Vec<Count>,
    pub devices: Vec<Count>,
    pub browsers: Vec<Count>,
    pub oses: Vec<Count>,
    pub sessions_per_hour: Vec<HourCount>,
}

fn bump(map: &mut BTreeMap<String, u64>, key: Option<&str>) {
    if let Some(key) = key {
        *map.entry(key.to_string()).or_default() += 1;
    }
}

fn top(map: &BTreeMap<String, u64>) -> Vec<Count> {
    let mut all: Vec<Count> = map
        .iter()
        .map(|(value, sessions)| Count {
            value: value.clone(),
            sessions: *sessions,
        })
        .collect();
    // Most sessions first; ties in name order, so the answer is stable.
    all.sort_by(|a, b| {
        b.sessions
            .cmp(&a.sessions)
            .then_with(|| a.value.cmp(&b.value))
    });
    all.truncate(TOP_N);
    all
}

/// Engaged time as the median counts it: exact below a second, three significant digits
/// above (rounded half up), so the median is within 0.5% of the exact one. The index shards'
/// SQL (`edge-worker/src/index_object.rs`, `ACTIVE_MS_BUCKET`) applies the same rule.
pub fn active_ms_bucket(ms: u64) -> u64 {
    let mut step = 1;
    while ms >= step * 1000 {
        step *= 10;
    }
    (ms + step / 2) / step * step
}

/// Names of the tallies an index shard keeps per session (`dim` column): each session adds 1
/// to `sessions`, its own figure to `pageviews`, `bounces` and `active_ms_total`, and 1 to
/// one value of every other dimension it has.
pub mod tally {
    pub const SESSIONS: &str = "sessions";
    pub const PAGEVIEWS: &str = "pageviews";
    pub const BOUNCES: &str = "bounces";
    pub const ACTIVE_MS_TOTAL: &str = "active_ms_total";
    pub const ACTIVE_MS: &str = "active_ms";
    pub const HOUR: &str = "hour";
    pub const ENTRY_PAGE: &str = "entry_page";
    pub const REFERRER_HOST: &str = "referrer_host";
    pub const CHANNEL: &str = "channel";
    pub const COUNTRY: &str = "country";
    pub const DEVICE: &str = "device";
    pub const BROWSER: &str = "browser";
    pub const OS: &str = "os";
}

/// The `i`-th smallest value (from 0) of a distribution given as value → count.
fn nth_value(distribution: &BTreeMap<u64, u64>, i: u64) -> u64 {
    let mut seen = 0;
    for (value, count) in distribution {
        seen += count;
        if seen > i {
            return *value;
        }
    }
    0
}

impl StatsAccumulator {
    pub fn add(&mut self, s: &SessionSummary) {
        self.sessions += 1;
        self.pageviews += u64::from(s.pageviews);
        self.bounces += u64::from(s.bounce);
        self.active_ms_total += s.active_ms;
        *self
            .active_ms
            .entry(active_ms_bucket(s.active_ms))
            .or_default() += 1;
        bump(&mut self.entry_pages, s.entry_page.as_deref());
        bump(&mut self.referrers, s.referrer_host.as_deref());
        bump(&mut self.channels, s.channel.as_deref());
        bump(&mut self.countries, s.country.as_deref());
        bump(&mut self.devices, s.device.as_deref());
        bump(&mut self.browsers, s.browser.as_deref());
        bump(&mut self.oses, s.os.as_deref());
        *self
            .per_hour
            .entry(s.started_at.div_euclid(HOUR_MS) * HOUR_MS)
            .or_default() += 1;
    }

    /// Adds `n` to one tally (`dim`, `value`), as an index shard stores or computes them
    /// (see [`tally`]). Unknown dimensions and unparsable numbers are ignored.
    pub fn add_tally(&mut self, dim: &str, value: &str, n: u64) {
        let map = match dim {
            tally::SESSIONS => return self.sessions += n,
            tally::PAGEVIEWS => return self.pageviews += n,
            tally::BOUNCES => return self.bounces += n,
            tally::ACTIVE_MS_TOTAL => return self.active_ms_total += n,
            tally::ACTIVE_MS => {
                if let Ok(ms) = value.parse::<u64>() {
                    *self.active_ms.entry(ms).or_default() += n;
                }
                return;
            }
            tally::HOUR => {
                if let Ok(hour) = value.parse::<i64>() {
                    *self.per_hour.entry(hour).or_default() += n;
                }
                return;
            }
            tally::ENTRY_PAGE => &mut self.entry_pages,
            tally::REFERRER_HOST => &mut self.referrers,
            tally::CHANNEL => &mut self.channels,
            tally::COUNTRY => &mut self.countries,
            tally::DEVICE => &mut self.devices,
            tally::BROWSER => &mut self.browsers,
            tally::OS => &mut self.oses,
            _ => return,
        };
        *map.entry(value.to_string()).or_default() += n;
    }

    pub fn merge(&mut self, other: StatsAccumulator) {
        self.sessions += other.sessions;
        self.pageviews += other.pageviews;
        self.bounces += other.bounces;
        self.active_ms_total += other.active_ms_total;
        for (k, v) in other.active_ms {
            *self.active_ms.entry(k).or_default() += v;
        }
        for (mine, theirs) in [
            (&mut self.entry_pages, other.entry_pages),
            (&mut self.referrers, other.referrers),
            (&mut self.channels, other.channels),
            (&mut self.countries, other.countries),
            (&mut self.devices, other.devices),
            (&mut self.browsers, other.browsers),
            (&mut self.oses, other.oses),
        ] {
            for (k, v) in theirs {
                *mine.entry(k).or_default() += v;
            }
        }
        for (k, v) in other.per_hour {
            *self.per_hour.entry(k).or_default() += v;
        }
    }

    pub fn finish(self) -> Stats {
        let n: u64 = self.active_ms.values().sum();
        let median = match n {
            0 => 0,
            _ if n % 2 == 1 => nth_value(&self.active_ms, n / 2),
            _ => (nth_value(&self.active_ms, n / 2 - 1) + nth_value(&self.active_ms, n / 2)) / 2,
        };
        let total = self.active_ms_total;
        Stats {
            sessions: self.sessions,
            pageviews: self.pageviews,
            median_active_ms: median,
            mean_active_ms: total.checked_div(n).unwrap_or(0),
            bounce_rate: if self.sessions == 0 {
                0.0
            } else {
                self.bounces as f64 / self.sessions as f64
            },
            top_pages: top(&self.entry_pages),
            referrers: top(&self.referrers),
            channels: top(&self.channels),
            countries: top(&self.countries),
            devices: top(&self.devices),
            browsers: top(&self.browsers),
            oses: top(&self.oses),
            sessions_per_hour: self
                .per_hour
                .into_iter()
                .map(|(hour, sessions)| HourCount { hour, sessions })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::SessionState;
    use proptest::prelude::*;

    fn summary(i: u64, active_ms: u64, pageviews: u32, page: &str) -> SessionSummary {
        let mut s = SessionState::new("demo", "0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e").summary;
        s.started_at = 1_732_390_000_000 + i as i64 * 20 * 60_000;
        s.active_ms = active_ms;
        s.pageviews = pageviews;
        s.bounce = pageviews <= 1;
        s.entry_page = Some(page.to_string());
        s.channel = Some("direct".into());
        s
    }

    #[test]
    fn totals_medians_and_tops() {
        let mut acc = StatsAccumulator::default();
        for (i, (active, pv, page)) in [
            (1000, 1, "/"),
            (5000, 3, "/docs"),
            (3000, 1, "/"),
            (9000, 2, "/pricing"),
        ]
        .into_iter()
        .enumerate()
        {
            acc.add(&summary(i as u64, active, pv, page));
        }
        let s = acc.finish();
        assert_eq!((s.sessions, s.pageviews), (4, 7));
        assert_eq!(s.median_active_ms, 4000);
        assert_eq!(s.mean_active_ms, 4500);
        assert_eq!(s.bounce_rate, 0.5);
        assert_eq!(
            s.top_pages[0],
            Count {
                value: "/".into(),
                sessions: 2
            }
        );
        assert_eq!(
            s.channels,
            vec![Count {
                value: "direct".into(),
                sessions: 4
            }]
        );
        let per_hour: u64 = s.sessions_per_hour.iter().map(|h| h.sessions).sum();
        assert_eq!(per_hour, 4);
        assert_eq!(
            s.sessions_per_hour.len(),
            2,
            "0, 20, 40 min in one hour; 60 min in the next"
        );
    }

    #[test]
    fn engaged_time_buckets_keep_three_digits() {
        for (ms, bucket) in [
            (0, 0),
            (999, 999),
            (1_000, 1_000),
            (1_004, 1_000),
            (1_005, 1_010),
            (4_000, 4_000),
            (12_345, 12_300),
            (99_950, 100_000),
            (3_600_000, 3_600_000),
            (3_654_321, 3_650_000),
        ] {
            assert_eq!(active_ms_bucket(ms), bucket, "{ms}");
        }
    }

    /// Tallies as a shard stores them give the same totals as adding the summaries.
    #[test]
    fn tallies_equal_added_summaries() {
        let summaries = [
            summary(0, 1000, 1, "/"),
            summary(1, 5000, 3, "/docs"),
            summary(2, 12_345, 2, "/"),
        ];
        let mut added = StatsAccumulator::default();
        let mut tallied = StatsAccumulator::default();
        for s in &summaries {
            added.add(s);
            let hour = (s.started_at.div_euclid(HOUR_MS) * HOUR_MS).to_string();
            let ms = active_ms_bucket(s.active_ms).to_string();
            for (dim, value, n) in [
                (tally::SESSIONS, "", 1),
                (tally::PAGEVIEWS, "", u64::from(s.pageviews)),
                (tally::BOUNCES, "", u64::from(s.bounce)),
                (tally::ACTIVE_MS_TOTAL, "", s.active_ms),
                (tally::ACTIVE_MS, ms.as_str(), 1),
                (tally::HOUR, hour.as_str(), 1),
                (tally::ENTRY_PAGE, s.entry_page.as_deref().unwrap(), 1),
                (tally::CHANNEL, "direct", 1),
                ("not-a-dimension", "x", 7),
            ] {
                tallied.add_tally(dim, value, n);
            }
        }
        assert_eq!(tallied, added);
    }

    #[test]
    fn nothing_is_zeros_not_a_division_by_zero() {
        let s = StatsAccumulator::default().finish();
        assert_eq!((s.sessions, s.median_active_ms, s.bounce_rate), (0, 0, 0.0));
    }

    proptest! {
        /// The distribution gives the median of the bucketed values and the exact mean.
        #[test]
        fn median_and_mean_match_a_sorted_list(actives in proptest::collection::vec(0u64..5_000, 1..60)) {
            let mut acc = StatsAccumulator::default();
            for (i, a) in actives.iter().enumerate() {
                acc.add(&summary(i as u64, *a, 1, "/"));
            }
            let mut sorted: Vec<u64> = actives.iter().map(|a| active_ms_bucket(*a)).collect();
            sorted.sort_unstable();
            let n = sorted.len();
            let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2 };
            let s = acc.finish();
            prop_assert_eq!(s.median_active_ms, median);
            prop_assert_eq!(s.mean_active_ms, actives.iter().sum::<u64>() / n as u64);
        }

        /// Shards may split sessions any way: merged partials equal one accumulator.
        #[test]
        fn merging_shards_equals_one_pass(actives in proptest::collection::vec(0u64..100_000, 0..40), split in any::<u64>()) {
            let all: Vec<SessionSummary> = actives.iter().enumerate()
                .map(|(i, a)| summary(i as u64, *a, (i % 3) as u32, if i % 2 == 0 { "/" } else { "/x" }))
                .collect();
            let mut one = StatsAccumulator::default();
            let mut left = StatsAccumulator::default();
            let mut right = StatsAccumulator::default();
            for (i, s) in all.iter().enumerate() {
                one.add(s);
                if (split >> (i % 64)) & 1 == 0 { left.add(s) } else { right.add(s) }
            }
            left.merge(right);
            prop_assert_eq!(left.finish(), one.finish());
        }
    }
}
