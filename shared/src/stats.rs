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
use crate::vocab::{Channel, Device};
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
    /// Family and major version (`Chrome 126`): the drill-down under a family.
    #[serde(default)]
    pub browser_versions: BTreeMap<String, u64>,
    #[serde(default)]
    pub os_versions: BTreeMap<String, u64>,
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
    /// Family and major version (`Chrome 126`), each under its family in `browsers`.
    pub browser_versions: Vec<Count>,
    pub os_versions: Vec<Count>,
    pub sessions_per_hour: Vec<HourCount>,
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
/// above (rounded half up), so the median is within 0.5% of the exact one.
pub fn active_ms_bucket(ms: u64) -> u64 {
    let mut step = 1;
    while ms >= step * 1000 {
        step *= 10;
    }
    (ms + step / 2) / step * step
}

/// The start (Unix ms) of the UTC hour `t` falls in.
pub fn hour_of(t: i64) -> i64 {
    t.div_euclid(HOUR_MS) * HOUR_MS
}

/// A dimension of the tallies an index shard keeps (`dim` column of `day_tallies`; the names
/// are stored, so they never change). Each session adds 1 to `sessions`, its own figure to
/// `pageviews`, `bounces` and `active_ms_total`, and 1 to one value of every other dimension
/// it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dim {
    Sessions,
    Pageviews,
    Bounces,
    ActiveMsTotal,
    /// Value: [`active_ms_bucket`] of the session's engaged time.
    ActiveMs,
    /// Value: [`hour_of`] the session's start.
    Hour,
    EntryPage,
    ReferrerHost,
    Channel,
    Country,
    Device,
    Browser,
    Os,
    /// Value: family and major version, `Chrome 126`.
    BrowserVersion,
    OsVersion,
}

impl Dim {
    pub const ALL: [Dim; 15] = [
        Dim::Sessions,
        Dim::Pageviews,
        Dim::Bounces,
        Dim::ActiveMsTotal,
        Dim::ActiveMs,
        Dim::Hour,
        Dim::EntryPage,
        Dim::ReferrerHost,
        Dim::Channel,
        Dim::Country,
        Dim::Device,
        Dim::Browser,
        Dim::Os,
        Dim::BrowserVersion,
        Dim::OsVersion,
    ];

    /// The name stored in `day_tallies.dim`.
    pub const fn name(self) -> &'static str {
        match self {
            Dim::Sessions => "sessions",
            Dim::Pageviews => "pageviews",
            Dim::Bounces => "bounces",
            Dim::ActiveMsTotal => "active_ms_total",
            Dim::ActiveMs => "active_ms",
            Dim::Hour => "hour",
            Dim::EntryPage => "entry_page",
            Dim::ReferrerHost => "referrer_host",
            Dim::Channel => "channel",
            Dim::Country => "country",
            Dim::Device => "device",
            Dim::Browser => "browser",
            Dim::Os => "os",
            Dim::BrowserVersion => "browser_version",
            Dim::OsVersion => "os_version",
        }
    }

    pub fn parse(name: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// The figures of one session that stats count, typed: what an index shard keeps per
/// session in `session_stats`, and all [`StatsAccumulator::add`] reads of a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsRow {
    pub started_at: i64,
    pub bot: bool,
    pub active_ms: u64,
    pub pageviews: u32,
    pub bounce: bool,
    pub entry_page: Option<String>,
    pub referrer_host: Option<String>,
    pub channel: Option<Channel>,
    pub country: Option<String>,
    pub device: Option<Device>,
    pub browser: Option<String>,
    pub os: Option<String>,
    /// Family and major version (`Chrome 126`); `None` without a version.
    pub browser_version: Option<String>,
    pub os_version: Option<String>,
    /// Not tallied: what filters and breakdowns read besides the above, so an index folds a
    /// session from its typed row without reading its summary.
    pub exit_page: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    /// Not tallied either: the session's friction, for the breakdowns' friction columns
    /// (0 in rows an older release wrote).
    #[serde(default)]
    pub rage_clicks: u32,
    #[serde(default)]
    pub dead_clicks: u32,
    #[serde(default)]
    pub errors: u32,
    #[serde(default)]
    pub forms_abandoned: u32,
}

/// `Chrome` and `126` → `Chrome 126`: a version's label names its family.
fn with_version(family: &Option<String>, version: &Option<String>) -> Option<String> {
    match (family, version) {
        (Some(f), Some(v)) => Some(format!("{f} {v}")),
        _ => None,
    }
}

/// One tally: `n` added to (`day`, `bot`, `dim`, `value`), `day` the UTC day the session
/// started on. Values of numeric dimensions are decimal text, the others the label itself;
/// the sums (`sessions`, `pageviews`, …) have value "".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tally {
    pub day: i64,
    pub bot: bool,
    pub dim: Dim,
    pub value: String,
    pub n: i64,
}

impl StatsRow {
    pub fn of(s: &SessionSummary) -> Self {
        StatsRow {
            started_at: s.started_at,
            bot: s.bot.is_some(),
            active_ms: s.active_ms,
            pageviews: s.pageviews,
            bounce: s.bounce,
            entry_page: s.entry_page.clone(),
            referrer_host: s.referrer_host.clone(),
            channel: s.channel,
            country: s.country.clone(),
            device: s.device,
            browser: s.browser.clone(),
            os: s.os.clone(),
            browser_version: with_version(&s.browser, &s.browser_version),
            os_version: with_version(&s.os, &s.os_version),
            exit_page: s.exit_page.clone(),
            utm_source: s.utm.source.clone(),
            utm_medium: s.utm.medium.clone(),
            utm_campaign: s.utm.campaign.clone(),
            rage_clicks: s.rage_clicks,
            dead_clicks: s.dead_clicks,
            errors: s.errors,
            forms_abandoned: s.forms_abandoned,
        }
    }

    /// The summary as far as the row tells it (`id` given): what filters, breakdowns and
    /// series read of a session. Bot sessions get the reason "bot".
    pub fn to_summary(&self, id: String) -> SessionSummary {
        let version = |label: &Option<String>, family: &Option<String>| match (label, family) {
            (Some(l), Some(f)) => l
                .strip_prefix(f.as_str())
                .and_then(|v| v.strip_prefix(' '))
                .map(str::to_string),
            _ => None,
        };
        SessionSummary {
            id,
            started_at: self.started_at,
            active_ms: self.active_ms,
            pageviews: self.pageviews,
            bounce: self.bounce,
            entry_page: self.entry_page.clone(),
            exit_page: self.exit_page.clone(),
            referrer_host: self.referrer_host.clone(),
            channel: self.channel,
            utm: crate::session::Utm {
                source: self.utm_source.clone(),
                medium: self.utm_medium.clone(),
                campaign: self.utm_campaign.clone(),
                ..Default::default()
            },
            country: self.country.clone(),
            device: self.device,
            browser_version: version(&self.browser_version, &self.browser),
            os_version: version(&self.os_version, &self.os),
            browser: self.browser.clone(),
            os: self.os.clone(),
            bot: self.bot.then(|| "bot".to_string()),
            rage_clicks: self.rage_clicks,
            dead_clicks: self.dead_clicks,
            errors: self.errors,
            forms_abandoned: self.forms_abandoned,
            ..Default::default()
        }
    }

    /// Whether the row differs from `other` only in the figures that change as a session
    /// goes on (engaged time, page views, bounce, friction): then an index shard updates
    /// just those.
    pub fn same_labels(&self, other: &StatsRow) -> bool {
        StatsRow {
            active_ms: other.active_ms,
            pageviews: other.pageviews,
            bounce: other.bounce,
            rage_clicks: other.rage_clicks,
            dead_clicks: other.dead_clicks,
            errors: other.errors,
            forms_abandoned: other.forms_abandoned,
            ..self.clone()
        } == *other
    }

    /// What this session adds to the tallies, one call per dimension it has: the rule
    /// itself, without allocating (stats fold thousands of rows per request through it).
    pub fn each_contribution<'a>(&'a self, mut f: impl FnMut(Dim, Label<'a>, i64)) {
        fn text(v: &Option<String>) -> Option<Label<'_>> {
            v.as_deref().map(Label::Text)
        }
        for dim in Dim::ALL {
            let label = match dim {
                Dim::Sessions | Dim::Pageviews | Dim::Bounces | Dim::ActiveMsTotal => {
                    Some(Label::Sum)
                }
                Dim::ActiveMs => Some(Label::Number(
                    i64::try_from(active_ms_bucket(self.active_ms)).unwrap_or(i64::MAX),
                )),
                Dim::Hour => Some(Label::Number(hour_of(self.started_at))),
                Dim::EntryPage => text(&self.entry_page),
                Dim::ReferrerHost => text(&self.referrer_host),
                Dim::Channel => self.channel.map(|c| Label::Text(c.as_str())),
                Dim::Country => text(&self.country),
                Dim::Device => self.device.map(|d| Label::Text(d.as_str())),
                Dim::Browser => text(&self.browser),
                Dim::Os => text(&self.os),
                Dim::BrowserVersion => text(&self.browser_version),
                Dim::OsVersion => text(&self.os_version),
            };
            let n = match dim {
                Dim::Pageviews => i64::from(self.pageviews),
                Dim::Bounces => i64::from(self.bounce),
                Dim::ActiveMsTotal => i64::try_from(self.active_ms).unwrap_or(i64::MAX),
                _ => 1,
            };
            if let Some(label) = label.filter(|_| n != 0) {
                f(dim, label, n);
            }
        }
    }

    /// [`Self::each_contribution`] as tallies, values as an index shard stores them.
    pub fn contributions(&self) -> Vec<Tally> {
        let mut out = Vec::with_capacity(Dim::ALL.len());
        self.each_contribution(|dim, label, n| {
            out.push(Tally {
                day: crate::time::utc_day(self.started_at),
                bot: self.bot,
                dim,
                value: label.to_text(),
                n,
            })
        });
        out
    }
}

/// The value a session contributes to one dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label<'a> {
    /// A sum (`sessions`, `pageviews`, …): stored with the value "".
    Sum,
    /// An engaged-time bucket or an hour.
    Number(i64),
    Text(&'a str),
}

impl Label<'_> {
    /// As stored in `day_tallies.value`.
    pub fn to_text(self) -> String {
        match self {
            Label::Sum => String::new(),
            Label::Number(n) => n.to_string(),
            Label::Text(t) => t.to_string(),
        }
    }
}

/// What replacing a session's row `old` by `new` (either absent: the session arrives or
/// leaves) changes in the tallies: the net changes, none of them zero, in key order. A
/// continuing session's beacon usually moves three or four tallies, not all of them.
pub fn tally_moves(old: Option<&StatsRow>, new: Option<&StatsRow>) -> Vec<Tally> {
    let mut net: BTreeMap<(i64, bool, Dim, String), i64> = BTreeMap::new();
    for (row, sign) in [(old, -1), (new, 1)] {
        for t in row.map(StatsRow::contributions).unwrap_or_default() {
            *net.entry((t.day, t.bot, t.dim, t.value)).or_default() += sign * t.n;
        }
    }
    net.into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((day, bot, dim, value), n)| Tally {
            day,
            bot,
            dim,
            value,
            n,
        })
        .collect()
}

impl StatsAccumulator {
    /// Adds one session: its [`StatsRow::contributions`], the same tallies an index shard
    /// stores for it.
    pub fn add(&mut self, s: &SessionSummary) {
        self.add_row(&StatsRow::of(s));
    }

    pub fn add_row(&mut self, row: &StatsRow) {
        row.each_contribution(|dim, label, n| {
            let n = n.max(0) as u64;
            match label {
                Label::Text(text) => {
                    let map = match self.labels_mut(dim) {
                        Some(map) => map,
                        None => return,
                    };
                    match map.get_mut(text) {
                        Some(count) => *count += n,
                        None => {
                            map.insert(text.to_string(), n);
                        }
                    }
                }
                Label::Number(v) if dim == Dim::ActiveMs => {
                    *self.active_ms.entry(v.max(0) as u64).or_default() += n
                }
                Label::Number(v) => *self.per_hour.entry(v).or_default() += n,
                Label::Sum => self.add_tally(dim, "", n),
            }
        });
    }

    /// The map of a labelled dimension.
    fn labels_mut(&mut self, dim: Dim) -> Option<&mut BTreeMap<String, u64>> {
        Some(match dim {
            Dim::EntryPage => &mut self.entry_pages,
            Dim::ReferrerHost => &mut self.referrers,
            Dim::Channel => &mut self.channels,
            Dim::Country => &mut self.countries,
            Dim::Device => &mut self.devices,
            Dim::Browser => &mut self.browsers,
            Dim::Os => &mut self.oses,
            Dim::BrowserVersion => &mut self.browser_versions,
            Dim::OsVersion => &mut self.os_versions,
            _ => return None,
        })
    }

    /// Adds `n` to one tally (`dim`, `value`), as an index shard stores or computes them
    /// (see [`Dim`]). Unparsable numbers are ignored.
    pub fn add_tally(&mut self, dim: Dim, value: &str, n: u64) {
        let map = match dim {
            Dim::Sessions => return self.sessions += n,
            Dim::Pageviews => return self.pageviews += n,
            Dim::Bounces => return self.bounces += n,
            Dim::ActiveMsTotal => return self.active_ms_total += n,
            Dim::ActiveMs => {
                if let Ok(ms) = value.parse::<u64>() {
                    *self.active_ms.entry(ms).or_default() += n;
                }
                return;
            }
            Dim::Hour => {
                if let Ok(hour) = value.parse::<i64>() {
                    *self.per_hour.entry(hour).or_default() += n;
                }
                return;
            }
            _ => match self.labels_mut(dim) {
                Some(map) => map,
                None => return,
            },
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
            (&mut self.browser_versions, other.browser_versions),
            (&mut self.os_versions, other.os_versions),
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
        let median = crate::report::median(&self.active_ms);
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
            browser_versions: top(&self.browser_versions),
            os_versions: top(&self.os_versions),
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
        s.channel = Some(Channel::Direct);
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

    /// Tallies as a shard stores them, read back by dimension name, give the same totals as
    /// adding the summaries.
    #[test]
    fn stored_tallies_read_back_as_added_summaries() {
        let summaries = [
            summary(0, 1000, 1, "/"),
            summary(1, 5000, 3, "/docs"),
            summary(2, 12_345, 2, "/"),
        ];
        let mut added = StatsAccumulator::default();
        let mut tallied = StatsAccumulator::default();
        for s in &summaries {
            added.add(s);
            for t in StatsRow::of(s).contributions() {
                let dim = Dim::parse(t.dim.name()).expect("names read back");
                tallied.add_tally(dim, &t.value, t.n as u64);
            }
        }
        assert_eq!(tallied, added);
        assert_eq!(tallied.active_ms.get(&12_300), Some(&1), "bucketed");
    }

    #[test]
    fn a_continuing_beacon_moves_only_what_changed() {
        let before = StatsRow::of(&summary(0, 4_000, 1, "/"));
        let mut after = before.clone();
        after.active_ms = 9_000;
        let moves = tally_moves(Some(&before), Some(&after));
        let got: Vec<(Dim, &str, i64)> = moves
            .iter()
            .map(|t| (t.dim, t.value.as_str(), t.n))
            .collect();
        assert_eq!(
            got,
            vec![
                (Dim::ActiveMsTotal, "", 5_000),
                (Dim::ActiveMs, "4000", -1),
                (Dim::ActiveMs, "9000", 1),
            ]
        );
        assert!(before.same_labels(&after));
        after.country = Some("FR".into());
        assert!(!before.same_labels(&after));
        assert!(tally_moves(Some(&before), Some(&before)).is_empty());
    }

    #[test]
    fn a_row_gives_back_what_filters_and_reports_read_of_its_summary() {
        let mut s = summary(3, 4_500, 2, "/docs");
        s.exit_page = Some("/pricing".into());
        s.browser = Some("Chrome".into());
        s.browser_version = Some("126".into());
        s.os = Some("Android".into());
        s.utm.campaign = Some("spring sale".into());
        s.country = Some("DE".into());
        let back = StatsRow::of(&s).to_summary(s.id.clone());
        for by in [
            "entry",
            "exit",
            "referrer",
            "channel",
            "utm_campaign",
            "country",
            "browser",
            "browser_version",
            "os",
            "os_version",
        ] {
            let by = crate::query::By::parse(by).unwrap();
            let values = |x: &SessionSummary| {
                let mut v = Vec::new();
                by.each_value(x, &Default::default(), |s| v.push(s.to_string()));
                v
            };
            assert_eq!(values(&back), values(&s), "{by:?}");
        }
        assert_eq!(
            (back.started_at, back.active_ms, back.pageviews, back.bounce),
            (s.started_at, 4_500, 2, false)
        );
        assert_eq!(StatsRow::of(&back), StatsRow::of(&s));
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

        /// A shard that moved each session's tallies from its old row to its new one, upsert
        /// after upsert (with some sessions erased), holds exactly the tallies of its final
        /// rows computed afresh.
        #[test]
        fn moving_figures_old_to_new_equals_computing_afresh(
            steps in proptest::collection::vec((0usize..6, 0u64..20_000, 0u32..4, 0u8..4, any::<bool>()), 0..60),
        ) {
            let mut rows: BTreeMap<usize, StatsRow> = BTreeMap::new();
            let mut kept: BTreeMap<(i64, bool, Dim, String), i64> = BTreeMap::new();
            for (id, active, pages, label, erase) in steps {
                let new = (!erase).then(|| {
                    let mut s = summary(id as u64, active, pages, ["/", "/a", "/b", "/c"][label as usize]);
                    // Some sessions move to the next day as they go on (a late, earlier event).
                    s.started_at += i64::from(label == 2) * (crate::time::DAY_MS - 1);
                    s.country = (label > 1).then(|| "DE".to_string());
                    s.bot = (label == 3).then(|| "headless".to_string());
                    StatsRow::of(&s)
                });
                for t in tally_moves(rows.get(&id), new.as_ref()) {
                    *kept.entry((t.day, t.bot, t.dim, t.value)).or_default() += t.n;
                }
                match new {
                    Some(row) => { rows.insert(id, row); }
                    None => { rows.remove(&id); }
                }
            }
            kept.retain(|_, n| *n != 0);
            let mut fresh: BTreeMap<(i64, bool, Dim, String), i64> = BTreeMap::new();
            for row in rows.values() {
                for t in row.contributions() {
                    *fresh.entry((t.day, t.bot, t.dim, t.value)).or_default() += t.n;
                }
            }
            prop_assert_eq!(kept, fresh);
        }
    }
}
