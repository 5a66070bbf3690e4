//! The reports of the read API (time series, breakdowns) as partial results that add up:
//! each index object folds its matching sessions into one, the worker merges them and
//! finishes the answer. Like [`crate::stats`], every figure is a count, a sum or a
//! distribution of [`active_ms_bucket`]s, so a merge of partials equals one pass over all
//! sessions (property test), and an index object may answer a closed day from its
//! pre-aggregated tallies instead of its sessions.

use crate::friction::Friction;
use crate::funnel::{Funnel, FunnelSpec};
use crate::journey::Journey;
use crate::linkmap::LinkMap;
use crate::paths::{PathSpec, Paths};
use crate::query::{change, By, Compare, Interval, Step};
use crate::session::SessionSummary;
use crate::stats::{active_ms_bucket, Dim, StatsAccumulator};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Median of a distribution given as value → count (the mean of the two middle values for
/// an even count); 0 for none.
pub fn median(distribution: &BTreeMap<u64, u64>) -> u64 {
    percentile(distribution, 50)
}

/// The `p`-th percentile (0–100) of a distribution, nearest-rank with the median's rule
/// for the middle; 0 for none.
pub fn percentile(distribution: &BTreeMap<u64, u64>, p: u64) -> u64 {
    let n: u64 = distribution.values().sum();
    if n == 0 {
        return 0;
    }
    let nth = |i: u64| {
        let mut seen = 0;
        for (value, count) in distribution {
            seen += count;
            if seen > i {
                return *value;
            }
        }
        0
    };
    if p == 50 {
        return if n % 2 == 1 {
            nth(n / 2)
        } else {
            (nth(n / 2 - 1) + nth(n / 2)) / 2
        };
    }
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    let rank = (p * n).div_ceil(100).max(1);
    nth(rank - 1)
}

pub(crate) fn add_to(map: &mut BTreeMap<u64, u64>, other: BTreeMap<u64, u64>) {
    for (k, v) in other {
        *map.entry(k).or_default() += v;
    }
}

/// Rows split by the site's `min_sessions`: those shown, and those below it, which an
/// answer adds up into one `other` figure so no row names fewer sessions than that.
#[derive(Debug, Clone, PartialEq)]
pub struct Rare<T> {
    pub kept: Vec<T>,
    pub other: Vec<T>,
}

/// Splits `rows` by whether their `sessions` reach `min_sessions` (1 keeps every row).
pub fn fold_rare<T>(rows: Vec<T>, sessions: impl Fn(&T) -> u64, min_sessions: u64) -> Rare<T> {
    let (kept, other) = rows.into_iter().partition(|r| sessions(r) >= min_sessions);
    Rare { kept, other }
}

/// The label of the row that adds up the rows below `min_sessions`.
pub const OTHER: &str = "(other)";

/// The headline figures of a set of sessions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub sessions: u64,
    pub pageviews: u64,
    pub bounces: u64,
    /// Engaged time → sessions, by [`active_ms_bucket`].
    pub active_ms: BTreeMap<u64, u64>,
}

/// [`Figures`] as an answer states them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiguresOut {
    pub sessions: u64,
    pub pageviews: u64,
    pub median_active_ms: u64,
    /// 0–1.
    pub bounce_rate: f64,
    pub pages_per_session: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl Figures {
    pub fn add(&mut self, s: &SessionSummary) {
        self.sessions += 1;
        self.pageviews += u64::from(s.pageviews);
        self.bounces += u64::from(s.bounce);
        *self
            .active_ms
            .entry(active_ms_bucket(s.active_ms))
            .or_default() += 1;
    }

    /// Adds one stored tally (see [`Dim`]); the dimensions these figures do not keep are
    /// ignored.
    pub fn add_tally(&mut self, dim: Dim, value: &str, n: u64) {
        match dim {
            Dim::Sessions => self.sessions += n,
            Dim::Pageviews => self.pageviews += n,
            Dim::Bounces => self.bounces += n,
            Dim::ActiveMs => {
                if let Ok(ms) = value.parse::<u64>() {
                    *self.active_ms.entry(ms).or_default() += n;
                }
            }
            _ => {}
        }
    }

    pub fn merge(&mut self, other: Figures) {
        self.sessions += other.sessions;
        self.pageviews += other.pageviews;
        self.bounces += other.bounces;
        add_to(&mut self.active_ms, other.active_ms);
    }

    pub fn finish(&self) -> FiguresOut {
        FiguresOut {
            sessions: self.sessions,
            pageviews: self.pageviews,
            median_active_ms: median(&self.active_ms),
            bounce_rate: ratio(self.bounces, self.sessions),
            pages_per_session: ratio(self.pageviews, self.sessions),
        }
    }
}

/// Sessions by the point of a time series their start falls in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub interval: Interval,
    pub points: BTreeMap<i64, Figures>,
}

/// One point of a time series: its start (Unix ms, UTC) and figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub t: i64,
    #[serde(flatten)]
    pub figures: FiguresOut,
}

impl Series {
    pub fn new(interval: Interval) -> Self {
        Series {
            interval,
            points: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, s: &SessionSummary) {
        self.point(s.started_at).add(s);
    }

    /// The figures of the point `t` falls in.
    pub fn point(&mut self, t: i64) -> &mut Figures {
        self.points.entry(self.interval.bucket(t)).or_default()
    }

    pub fn merge(&mut self, other: Series) {
        for (t, f) in other.points {
            self.points.entry(t).or_default().merge(f);
        }
    }

    /// Every point of `[from, to)`, empty ones included.
    pub fn finish(&self, from: i64, to: i64) -> Vec<Point> {
        let empty = Figures::default();
        self.interval
            .buckets(from, to)
            .into_iter()
            .map(|t| Point {
                t,
                figures: self.points.get(&t).unwrap_or(&empty).finish(),
            })
            .collect()
    }
}

/// One value's part of a breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakdownCell {
    /// The sessions that have the value.
    pub figures: Figures,
    /// Those of them that reached the goal.
    pub conversions: u64,
    /// By page only: views of the page, engaged time and scroll depth per view, and the
    /// sessions that left from it.
    pub views: u64,
    pub view_active_ms: BTreeMap<u64, u64>,
    pub view_scroll: BTreeMap<u64, u64>,
    pub exits: u64,
    /// Friction of the sessions with the value (by page: on that page's views).
    #[serde(default)]
    pub friction: FrictionSums,
}

/// Rage and dead clicks, errors, abandoned forms, added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct FrictionSums {
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    pub errors: u64,
    pub forms_abandoned: u64,
}

impl FrictionSums {
    fn add(&mut self, rage: u32, dead: u32, errors: u32, abandoned: u32) {
        self.rage_clicks += u64::from(rage);
        self.dead_clicks += u64::from(dead);
        self.errors += u64::from(errors);
        self.forms_abandoned += u64::from(abandoned);
    }

    fn merge(&mut self, o: FrictionSums) {
        self.rage_clicks += o.rage_clicks;
        self.dead_clicks += o.dead_clicks;
        self.errors += o.errors;
        self.forms_abandoned += o.forms_abandoned;
    }
}

/// The cell of `value`, added empty if it has none. Looked up before inserting: most values
/// are there already, and `entry` would take an owned key for every lookup.
fn cell_of<'a>(
    cells: &'a mut BTreeMap<String, BreakdownCell>,
    value: &str,
) -> &'a mut BreakdownCell {
    if !cells.contains_key(value) {
        cells.insert(value.to_string(), BreakdownCell::default());
    }
    cells.get_mut(value).expect("inserted above")
}

/// Sessions by the values of a dimension, with conversions for a goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub by: By,
    pub goal: Option<Step>,
    /// All sessions folded in (a session with no value still counts here).
    pub total: Figures,
    pub total_conversions: u64,
    pub cells: BTreeMap<String, BreakdownCell>,
}

/// A breakdown row as the answer states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownRow {
    pub value: String,
    #[serde(flatten)]
    pub figures: FiguresOut,
    /// Share of all sessions in range that have this value, 0–1.
    pub share: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversion_rate: Option<f64>,
    /// By page: views, median engaged time and scroll per view, exit rate (exits / views).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub views: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_view_active_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_scroll: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_rate: Option<f64>,
    /// Rage and dead clicks, errors and abandoned forms of the row's sessions (by page: on
    /// the page).
    #[serde(flatten)]
    pub friction: FrictionSums,
    /// The row adds up the values below the site's `min_sessions`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub other: bool,
}

impl Breakdown {
    pub fn new(by: By, goal: Option<Step>) -> Self {
        Breakdown {
            by,
            goal,
            total: Figures::default(),
            total_conversions: 0,
            cells: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, s: &SessionSummary, j: &Journey) {
        let converted = self.goal.as_ref().is_some_and(|g| g.reached(j));
        self.total.add(s);
        self.total_conversions += u64::from(converted);
        let cells = &mut self.cells;
        if self.by != By::Page {
            self.by.each_value(s, j, |value| {
                let cell = cell_of(cells, value);
                cell.figures.add(s);
                cell.conversions += u64::from(converted);
                cell.friction
                    .add(s.rage_clicks, s.dead_clicks, s.errors, s.forms_abandoned);
            });
            return;
        }
        // By page, in one pass over the views: the session's values are its pages
        // (`By::each_value`), each counted at its first view; every view adds to its page.
        for (i, p) in j.pages.iter().enumerate() {
            let cell = cell_of(cells, &p.path);
            if j.first_view_of_page(i) {
                cell.figures.add(s);
                cell.conversions += u64::from(converted);
            }
            cell.views += 1;
            *cell
                .view_active_ms
                .entry(active_ms_bucket(p.active_ms))
                .or_default() += 1;
            *cell.view_scroll.entry(u64::from(p.scroll)).or_default() += 1;
            if let Some(f) = &p.signals {
                cell.friction
                    .add(f.rage, f.dead, f.errors, f.forms_abandoned);
            }
        }
        // The exit is the last page viewed, as the Exit report has it (`exit_page`): the
        // journey's last page, unless the journey was kept to its first 100 pages and so does
        // not end where the session did (the index reads journeys without `exit_page`).
        let cut = s.pageviews as usize > j.pages.len();
        if let Some(p) = j.pages.last().filter(|_| !cut) {
            cell_of(cells, &p.path).exits += 1;
        }
    }

    pub fn merge(&mut self, other: Breakdown) {
        self.total.merge(other.total);
        self.total_conversions += other.total_conversions;
        for (value, theirs) in other.cells {
            self.cells.entry(value).or_default().merge(theirs);
        }
    }

    /// The rows, most sessions first (ties by value), at most `limit`; values with fewer
    /// than `min_sessions` sessions are added up into one last row, [`OTHER`] (its sessions
    /// are the sum of theirs: a session with two such pages counts in it twice).
    pub fn finish(&self, limit: usize, min_sessions: u64) -> Vec<BreakdownRow> {
        let cells: Vec<(&String, &BreakdownCell)> = self.cells.iter().collect();
        let Rare { kept, other } = fold_rare(cells, |(_, c)| c.figures.sessions, min_sessions);
        let mut rows = self.rows(kept);
        rows.truncate(limit);
        if !other.is_empty() {
            let mut sum = BreakdownCell::default();
            for (_, c) in other {
                sum.merge(c.clone());
            }
            let name = OTHER.to_string();
            let mut row = self.rows(vec![(&name, &sum)]);
            row[0].other = true;
            rows.append(&mut row);
        }
        rows
    }

    fn rows(&self, cells: Vec<(&String, &BreakdownCell)>) -> Vec<BreakdownRow> {
        let goal = self.goal.is_some();
        let page = self.by == By::Page;
        let mut rows: Vec<BreakdownRow> = cells
            .into_iter()
            .map(|(value, c)| {
                let mut figures = c.figures.finish();
                if page {
                    figures.pageviews = c.views;
                }
                BreakdownRow {
                    value: value.clone(),
                    share: ratio(c.figures.sessions, self.total.sessions),
                    conversions: goal.then_some(c.conversions),
                    conversion_rate: goal.then(|| ratio(c.conversions, c.figures.sessions)),
                    views: page.then_some(c.views),
                    median_view_active_ms: page.then(|| median(&c.view_active_ms)),
                    median_scroll: page.then(|| median(&c.view_scroll)),
                    exit_rate: page.then(|| ratio(c.exits, c.views)),
                    friction: c.friction,
                    other: false,
                    figures,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            b.figures
                .sessions
                .cmp(&a.figures.sessions)
                .then_with(|| a.value.cmp(&b.value))
        });
        rows
    }
}

impl BreakdownCell {
    fn merge(&mut self, theirs: BreakdownCell) {
        self.figures.merge(theirs.figures);
        self.conversions += theirs.conversions;
        self.views += theirs.views;
        add_to(&mut self.view_active_ms, theirs.view_active_ms);
        add_to(&mut self.view_scroll, theirs.view_scroll);
        self.exits += theirs.exits;
        self.friction.merge(theirs.friction);
    }
}

/// What an index object is asked to fold its matching sessions into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Want {
    Stats,
    Series(Interval),
    Breakdown {
        by: By,
        goal: Option<Step>,
    },
    Funnel(FunnelSpec),
    Paths(PathSpec),
    /// The links clicked on a page (a path or pattern).
    Links(String),
    /// Rage and dead clicks, errors, abandoned forms and page speed per page.
    Friction,
}

/// An index object's part of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Partial {
    Stats(StatsAccumulator),
    Series(Series),
    Breakdown(Breakdown),
    Funnel(Funnel),
    Paths(Paths),
    Links(LinkMap),
    Friction(Friction),
}

impl Want {
    /// Whether the fold reads sessions' journeys (pages, events, links, a goal).
    pub fn needs_journey(&self) -> bool {
        match self {
            Want::Breakdown { by, goal } => by.is_multi() || goal.is_some(),
            Want::Funnel(_) | Want::Paths(_) | Want::Links(_) | Want::Friction => true,
            Want::Stats | Want::Series(_) => false,
        }
    }
}

/// What a read without filters needs of each session when that is less than its typed
/// stats row (see [`Want::lean`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Lean {
    /// A text every stored journey that counts contains (a funnel's first step's, the
    /// start's, the page's), so the rest may be skipped unread.
    pub needle: Option<String>,
    /// Whether the figures of [`Figures::add`] are needed: engaged time, page views, bounce.
    pub figures: bool,
}

impl Want {
    /// For reads that need of a session its journey (and maybe its figures) but none of its
    /// dimensions: funnels, paths, link maps, breakdowns by page, event or prop. `None` for
    /// reads that need more.
    pub fn lean(&self) -> Option<Lean> {
        let journey = |needle| {
            Some(Lean {
                needle,
                figures: false,
            })
        };
        match self {
            Want::Funnel(spec) => journey(spec.steps.first().and_then(Step::journey_needle)),
            Want::Paths(spec) => journey(spec.anchor.journey_needle()),
            Want::Links(page) => journey(Step::Page(page.clone()).journey_needle()),
            Want::Friction => journey(None),
            Want::Breakdown { by, .. } if by.is_multi() => Some(Lean {
                needle: None,
                figures: true,
            }),
            _ => None,
        }
    }
}

impl Partial {
    /// Whether [`Self::add_unread`] needs the number of sessions skipped unread: only a
    /// funnel states every session in range, so the other reads need not count them.
    pub fn counts_unread(&self) -> bool {
        matches!(self, Partial::Funnel(_))
    }

    /// Counts sessions that were not read because they cannot count (see [`Lean::needle`]):
    /// a funnel states every session in range.
    pub fn add_unread(&mut self, n: u64) {
        if let Partial::Funnel(f) = self {
            f.sessions += n;
        }
    }

    pub fn new(want: &Want) -> Partial {
        match want {
            Want::Stats => Partial::Stats(StatsAccumulator::default()),
            Want::Series(interval) => Partial::Series(Series::new(*interval)),
            Want::Breakdown { by, goal } => {
                Partial::Breakdown(Breakdown::new(by.clone(), goal.clone()))
            }
            Want::Funnel(spec) => Partial::Funnel(Funnel::new(spec.clone())),
            Want::Paths(spec) => Partial::Paths(Paths::new(spec.clone())),
            Want::Links(page) => Partial::Links(LinkMap::new(page.clone())),
            Want::Friction => Partial::Friction(Friction::default()),
        }
    }

    pub fn add(&mut self, s: &SessionSummary, j: &Journey) {
        match self {
            Partial::Stats(acc) => acc.add(s),
            Partial::Series(series) => series.add(s),
            Partial::Breakdown(b) => b.add(s, j),
            Partial::Funnel(f) => f.add(s, j),
            Partial::Paths(p) => p.add(j),
            Partial::Links(l) => l.add(j),
            Partial::Friction(f) => f.add(j),
        }
    }

    /// Whether this fold can be answered from an index's tallies for whole days: totals
    /// and series of days or longer, without filters.
    pub fn tallies_suffice(want: &Want) -> bool {
        matches!(
            want,
            Want::Stats | Want::Series(Interval::Day | Interval::Week | Interval::Month)
        )
    }

    /// Adds a tally of the whole UTC day `day` (for [`Self::tallies_suffice`] folds).
    pub fn add_tally(&mut self, day: i64, dim: Dim, value: &str, n: u64) {
        match self {
            Partial::Stats(acc) => acc.add_tally(dim, value, n),
            Partial::Series(series) => series
                .point(day * crate::time::DAY_MS)
                .add_tally(dim, value, n),
            Partial::Breakdown(_)
            | Partial::Funnel(_)
            | Partial::Paths(_)
            | Partial::Links(_)
            | Partial::Friction(_) => {}
        }
    }

    /// Merges a partial of the same kind; another kind (a bug) is ignored.
    pub fn merge(&mut self, other: Partial) {
        match (self, other) {
            (Partial::Stats(a), Partial::Stats(b)) => a.merge(b),
            (Partial::Series(a), Partial::Series(b)) => a.merge(b),
            (Partial::Breakdown(a), Partial::Breakdown(b)) => a.merge(b),
            (Partial::Funnel(a), Partial::Funnel(b)) => a.merge(b),
            (Partial::Paths(a), Partial::Paths(b)) => a.merge(b),
            (Partial::Links(a), Partial::Links(b)) => a.merge(b),
            (Partial::Friction(a), Partial::Friction(b)) => a.merge(b),
            _ => {}
        }
    }
}

/// A figure beside its comparison: the value then and the change (see [`change`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Compared {
    pub previous: f64,
    pub change: Option<f64>,
}

/// The change of each headline figure from `before` to `now`.
pub fn compare_figures(now: &FiguresOut, before: &FiguresOut) -> BTreeMap<&'static str, Compared> {
    let (a, b) = (now.sessions, before.sessions);
    let pairs = [
        ("sessions", now.sessions as f64, before.sessions as f64),
        ("pageviews", now.pageviews as f64, before.pageviews as f64),
        (
            "median_active_ms",
            now.median_active_ms as f64,
            before.median_active_ms as f64,
        ),
        ("bounce_rate", now.bounce_rate, before.bounce_rate),
        (
            "pages_per_session",
            now.pages_per_session,
            before.pages_per_session,
        ),
    ];
    pairs
        .into_iter()
        .map(|(name, x, y)| {
            (
                name,
                Compared {
                    previous: y,
                    change: change(x, y, a, b),
                },
            )
        })
        .collect()
}

/// The compared range's bounds as an answer states them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedRange {
    pub compare: Compare,
    pub from: i64,
    pub to: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::{JourneyEvent, JourneyPage};
    use crate::stats::StatsRow;
    use crate::time::{DAY_MS, HOUR_MS};
    use proptest::prelude::*;

    const T0: i64 = 20_000 * DAY_MS;

    /// A session starting `hour` hours after T0 that viewed `pages` (path, engaged ms,
    /// scroll) and sent `events`.
    fn session(hour: i64, pages: &[(&str, u64, u8)], events: &[&str]) -> (SessionSummary, Journey) {
        let s = SessionSummary {
            started_at: T0 + hour * HOUR_MS,
            pageviews: pages.len() as u32,
            active_ms: pages.iter().map(|p| p.1).sum(),
            events: events.len() as u32,
            bounce: pages.len() <= 1 && events.is_empty(),
            entry_page: pages.first().map(|p| p.0.to_string()),
            exit_page: pages.last().map(|p| p.0.to_string()),
            ..Default::default()
        };
        let j = Journey {
            pages: pages
                .iter()
                .enumerate()
                .map(|(i, (path, active, scroll))| JourneyPage {
                    path: path.to_string(),
                    at: i as i64 * 10_000,
                    active_ms: *active,
                    scroll: *scroll,
                    signals: None,
                })
                .collect(),
            events: events
                .iter()
                .map(|name| JourneyEvent {
                    name: name.to_string(),
                    at: 1,
                    page: Some(0),
                    props: vec![("plan".into(), "pro".into())],
                })
                .collect(),
            links: Vec::new(),
            truncated: false,
            marks: Vec::new(),
        };
        (s, j)
    }

    #[test]
    fn percentiles_of_a_distribution() {
        let d: BTreeMap<u64, u64> = [(100, 1), (200, 1), (300, 1), (400, 1)].into();
        assert_eq!(median(&d), 250);
        assert_eq!(percentile(&d, 75), 300);
        assert_eq!(percentile(&d, 100), 400);
        assert_eq!(median(&BTreeMap::new()), 0);
    }

    #[test]
    fn pages_report_views_engagement_scroll_and_exits() {
        let mut b = Breakdown::new(By::Page, Some(Step::parse("event:signup").unwrap()));
        for (s, j) in [
            session(
                0,
                &[("/", 1_000, 20), ("/pricing", 4_000, 80), ("/", 2_000, 40)],
                &[],
            ),
            session(1, &[("/pricing", 6_000, 100)], &["signup"]),
            session(2, &[("/docs", 3_000, 60)], &[]),
        ] {
            b.add(&s, &j);
        }
        let rows = b.finish(10, 1);
        let got: Vec<(&str, u64, u64, u64, u64, f64, u64)> = rows
            .iter()
            .map(|r| {
                (
                    r.value.as_str(),
                    r.figures.sessions,
                    r.views.unwrap(),
                    r.median_view_active_ms.unwrap(),
                    r.median_scroll.unwrap(),
                    r.exit_rate.unwrap(),
                    r.conversions.unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("/pricing", 2, 2, 5_000, 90, 0.5, 1),
                ("/", 1, 2, 1_500, 30, 0.5, 0),
                ("/docs", 1, 1, 3_000, 60, 1.0, 0),
            ]
        );
        assert_eq!(rows[0].conversion_rate, Some(0.5));
        assert!((rows[0].share - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(
            rows[0].figures.pageviews, 2,
            "a page's page views are its views"
        );
        // With min_sessions 2, the one-session pages add up into one last row.
        let folded = b.finish(10, 2);
        let values: Vec<(&str, u64, bool)> = folded
            .iter()
            .map(|r| (r.value.as_str(), r.figures.sessions, r.other))
            .collect();
        assert_eq!(values, [("/pricing", 2, false), (OTHER, 2, true)]);
        assert_eq!(folded[1].views, Some(3));
    }

    #[test]
    fn a_journey_cut_at_100_pages_counts_no_exit() {
        // 120 pages viewed; the journey keeps the first 100, the summary the real exit.
        let paths: Vec<String> = (0..120).map(|i| format!("/p{i}")).collect();
        let pages: Vec<(&str, u64, u8)> = paths.iter().map(|p| (p.as_str(), 1_000, 50)).collect();
        let (s, mut j) = session(0, &pages, &[]);
        j.pages.truncate(crate::journey::MAX_JOURNEY_PAGES);
        j.truncated = true;
        let mut b = Breakdown::new(By::Page, None);
        b.add(&s, &j);
        let exits: u64 = b.cells.values().map(|c| c.exits).sum();
        assert_eq!(exits, 0, "the exit, /p119, is not among the pages kept");
        assert_eq!(b.cells["/p99"].exits, 0);
        let (s, j) = session(0, &[("/a", 1, 1), ("/b", 1, 1), ("/a", 1, 1)], &[]);
        b.add(&s, &j);
        assert_eq!((b.cells["/a"].exits, b.cells["/b"].exits), (1, 0));
    }

    #[test]
    fn a_series_has_every_point_of_the_range() {
        let mut series = Series::new(Interval::Hour);
        for (s, j) in [
            session(0, &[("/", 1_000, 0)], &[]),
            session(2, &[("/", 3_000, 0), ("/a", 0, 0)], &[]),
        ] {
            let _ = j;
            series.add(&s);
        }
        let points = series.finish(T0, T0 + 4 * HOUR_MS);
        let sessions: Vec<u64> = points.iter().map(|p| p.figures.sessions).collect();
        assert_eq!(sessions, vec![1, 0, 1, 0]);
        assert_eq!(points[2].figures.bounce_rate, 0.0);
        assert_eq!(points[0].figures.bounce_rate, 1.0);
        assert_eq!(points[2].t, T0 + 2 * HOUR_MS);
    }

    #[test]
    fn a_day_series_from_tallies_equals_one_from_sessions() {
        let all = [
            session(1, &[("/", 1_000, 0)], &[]),
            session(5, &[("/", 3_000, 0), ("/a", 500, 0)], &[]),
            session(30, &[("/b", 12_345, 0)], &["x"]),
        ];
        let mut from_sessions = Partial::new(&Want::Series(Interval::Day));
        let mut from_tallies = Partial::new(&Want::Series(Interval::Day));
        for (s, j) in &all {
            from_sessions.add(s, j);
            for t in StatsRow::of(s).contributions() {
                let day = crate::time::utc_day(s.started_at);
                from_tallies.add_tally(day, t.dim, &t.value, t.n as u64);
            }
        }
        assert_eq!(from_tallies, from_sessions);
    }

    #[test]
    fn changes_are_stated_only_with_enough_sessions() {
        let f = |sessions, pageviews| FiguresOut {
            sessions,
            pageviews,
            median_active_ms: 1_000,
            bounce_rate: 0.5,
            pages_per_session: 2.0,
        };
        let c = compare_figures(&f(60, 120), &f(40, 100));
        assert_eq!(c["sessions"].change, Some(0.5));
        assert_eq!(c["pageviews"].change, Some(0.2));
        assert_eq!(c["bounce_rate"].change, Some(0.0));
        let few = compare_figures(&f(60, 120), &f(10, 100));
        assert_eq!(few["sessions"].change, None);
        assert_eq!(few["sessions"].previous, 10.0);
    }

    proptest! {
        /// However sessions are split between objects, merged partials equal one pass.
        #[test]
        fn merged_breakdowns_and_series_equal_one_pass(
            specs in proptest::collection::vec((0i64..72, 0usize..4, 0u64..20_000, any::<bool>()), 0..30),
            split in any::<u64>(),
        ) {
            let paths = ["/", "/a", "/b", "/c"];
            let all: Vec<(SessionSummary, Journey)> = specs.iter().map(|(h, p, a, e)| {
                let pages = [(paths[*p], *a, 50u8), (paths[(*p + 1) % 4], *a / 2, 10u8)];
                session(*h, &pages[..1 + (*a as usize % 2)], if *e { &["signup"] } else { &[] })
            }).collect();
            for want in [
                Want::Breakdown { by: By::Page, goal: Some(Step::parse("/b").unwrap()) },
                Want::Breakdown { by: By::Entry, goal: None },
                Want::Series(Interval::Day),
                Want::Stats,
            ] {
                let mut one = Partial::new(&want);
                let mut left = Partial::new(&want);
                let mut right = Partial::new(&want);
                for (i, (s, j)) in all.iter().enumerate() {
                    one.add(s, j);
                    if (split >> (i % 64)) & 1 == 0 { left.add(s, j) } else { right.add(s, j) }
                }
                left.merge(right);
                prop_assert_eq!(left, one);
            }
        }
    }
}
