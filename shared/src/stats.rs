//! Site totals for `GET /api/stats`, computed in two steps so no object sees every session:
//! each index shard folds its sessions into a [`StatsAccumulator`], the worker merges the
//! shards' accumulators and [`StatsAccumulator::finish`]es them.

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
    /// Engaged milliseconds of every session (for the median).
    pub active_ms: Vec<u64>,
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

impl StatsAccumulator {
    pub fn add(&mut self, s: &SessionSummary) {
        self.sessions += 1;
        self.pageviews += u64::from(s.pageviews);
        self.bounces += u64::from(s.bounce);
        self.active_ms.push(s.active_ms);
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

    pub fn merge(&mut self, other: StatsAccumulator) {
        self.sessions += other.sessions;
        self.pageviews += other.pageviews;
        self.bounces += other.bounces;
        self.active_ms.extend(other.active_ms);
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

    pub fn finish(mut self) -> Stats {
        self.active_ms.sort_unstable();
        let n = self.active_ms.len();
        let median = match n {
            0 => 0,
            _ if n % 2 == 1 => self.active_ms[n / 2],
            _ => (self.active_ms[n / 2 - 1] + self.active_ms[n / 2]) / 2,
        };
        let total: u64 = self.active_ms.iter().sum();
        Stats {
            sessions: self.sessions,
            pageviews: self.pageviews,
            median_active_ms: median,
            mean_active_ms: if n == 0 { 0 } else { total / n as u64 },
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
    fn nothing_is_zeros_not_a_division_by_zero() {
        let s = StatsAccumulator::default().finish();
        assert_eq!((s.sessions, s.median_active_ms, s.bounce_rate), (0, 0, 0.0));
    }

    proptest! {
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
