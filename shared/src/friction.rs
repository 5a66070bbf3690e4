//! The Friction report (`GET /api/friction`): per page, what frustrated visitors there —
//! rage clicks, dead clicks, uncaught errors, forms started and never submitted — and how
//! fast it was (TTFB, FCP, LCP, load, INP, CLS as median and p75), with the elements,
//! errors and forms behind the counts. Read from each session's [`Journey`] page signals
//! and marks. Like every report, a partial that adds up: figures are counts and
//! distributions of [`speed_bucket`]s, so a merge of partials equals one pass.

use crate::journey::Journey;
use crate::report::{add_to, fold_rare, percentile, OTHER};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most pages an answer lists, and the default.
pub const MAX_PAGES: usize = 500;
pub const DEFAULT_PAGES: usize = 50;
/// Elements, errors and forms listed per page.
pub const TOP_MARKS: usize = 8;

/// The friction met on one page view or in one session, by kind. What counts as friction
/// is decided here only (the Friction report's "frustrated" sessions, the `friction`
/// filter): rage clicks, dead clicks, uncaught errors and forms started and never
/// submitted. A form started or submitted is not friction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Met {
    pub rage: u64,
    pub dead: u64,
    pub errors: u64,
    pub forms_abandoned: u64,
}

impl Met {
    pub fn of_page(p: &crate::journey::PageSignals) -> Met {
        Met {
            rage: p.rage.into(),
            dead: p.dead.into(),
            errors: p.errors.into(),
            forms_abandoned: p.forms_abandoned.into(),
        }
    }

    pub fn of_session(s: &crate::session::SessionSummary) -> Met {
        Met {
            rage: s.rage_clicks.into(),
            dead: s.dead_clicks.into(),
            errors: s.errors.into(),
            forms_abandoned: s.forms_abandoned.into(),
        }
    }

    /// All kinds together; a page view or session with any is frustrated.
    pub fn total(self) -> u64 {
        self.rage
            .saturating_add(self.dead)
            .saturating_add(self.errors)
            .saturating_add(self.forms_abandoned)
    }
}

/// What a distribution keeps of a time: 10 ms steps below a second, 100 ms below ten,
/// whole seconds beyond (the answer's medians and p75s are these steps' lower bounds).
pub fn speed_bucket(ms: u64) -> u64 {
    match ms {
        0..=999 => ms / 10 * 10,
        1_000..=9_999 => ms / 100 * 100,
        _ => ms / 1_000 * 1_000,
    }
}

/// A layout shift score in thousandths, to 0.01.
fn cls_bucket(cls: f64) -> u64 {
    ((cls.max(0.0) * 100.0).floor() as u64) * 10
}

/// One page's part of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrictionCell {
    /// Sessions that viewed the page, views of it, and the sessions that had friction on it.
    pub sessions: u64,
    pub views: u64,
    pub frustrated: u64,
    pub rage: u64,
    pub dead: u64,
    pub errors: u64,
    pub forms_started: u64,
    pub forms_abandoned: u64,
    /// Speed figure (`ttfb`, `fcp`, `lcp`, `load`, `inp`, `cls`) → bucket → page views; CLS
    /// in thousandths.
    pub speed: BTreeMap<String, BTreeMap<u64, u64>>,
    /// `kind:label` → (count, sessions).
    pub marks: BTreeMap<String, (u64, u64)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Friction {
    pub sessions: u64,
    /// Sessions with a rage click, a dead click, an error or an abandoned form.
    pub frustrated: u64,
    pub pages: BTreeMap<String, FrictionCell>,
}

/// How the answer ranks its pages (`sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Rage + dead clicks + errors + abandoned forms (the default).
    Friction,
    Rage,
    Dead,
    Errors,
    Abandoned,
    /// By p75, slowest first.
    Lcp,
    Inp,
    Cls,
    Views,
}

impl Sort {
    pub const NAMES: [&'static str; 9] = [
        "friction",
        "rage",
        "dead",
        "errors",
        "abandoned",
        "lcp",
        "inp",
        "cls",
        "views",
    ];

    pub fn name(self) -> &'static str {
        Sort::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<Sort> {
        use Sort::*;
        let all = [
            Friction, Rage, Dead, Errors, Abandoned, Lcp, Inp, Cls, Views,
        ];
        Sort::NAMES.iter().position(|n| *n == name).map(|i| all[i])
    }
}

/// How a page's p75 of a Web Vital reads against the thresholds of Google's Core Web Vitals
/// (web.dev, "Web Vitals": a page passes a metric when its 75th percentile is good).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    Good,
    NeedsImprovement,
    Poor,
}

/// Figure → (good up to, poor above), in the answer's units (ms; CLS a score). web.dev's
/// published thresholds for LCP, INP and CLS (the Core Web Vitals) and for TTFB and FCP;
/// the load event has none.
pub const THRESHOLDS: [(&str, f64, f64); 5] = [
    ("ttfb", 800.0, 1_800.0),
    ("fcp", 1_800.0, 3_000.0),
    ("lcp", 2_500.0, 4_000.0),
    ("inp", 200.0, 500.0),
    ("cls", 0.1, 0.25),
];

/// The rating of `figure`'s p75 (as the answer states it: its bucket's lower bound, so a
/// p75 within one step above a threshold still reads as the better side); `None` for a
/// figure without thresholds.
pub fn rating(figure: &str, p75: f64) -> Option<Rating> {
    let (_, good, poor) = THRESHOLDS.iter().find(|(f, _, _)| *f == figure)?;
    Some(if p75 <= *good {
        Rating::Good
    } else if p75 <= *poor {
        Rating::NeedsImprovement
    } else {
        Rating::Poor
    })
}

/// Each figure of one page view's speed that has thresholds, rated as a page's p75 is
/// ([`rating`]): what a session's timeline shows beside the figures.
pub fn view_ratings(v: &crate::protocol::Vitals) -> BTreeMap<&'static str, Rating> {
    let times = v
        .times()
        .into_iter()
        .filter_map(|(figure, ms)| Some((figure, f64::from(ms?))));
    times
        .chain(v.cls.map(|cls| ("cls", cls)))
        .filter_map(|(figure, value)| Some((figure, rating(figure, value)?)))
        .collect()
}

/// A speed figure over a page's views.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Speed {
    pub median: f64,
    pub p75: f64,
    /// Page views that reported it.
    pub views: u64,
    /// The p75 against the Web Vitals thresholds ([`rating`]); absent for the load time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
}

/// An element, error or form behind a page's counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkRow {
    /// `rage`, `dead`, `error` or `form` (abandoned).
    pub kind: String,
    pub label: String,
    pub count: u64,
    pub sessions: u64,
}

/// A page as the answer states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrictionRow {
    pub page: String,
    pub sessions: u64,
    pub views: u64,
    pub frustrated_sessions: u64,
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    pub errors: u64,
    pub forms_started: u64,
    pub forms_abandoned: u64,
    pub ttfb_ms: Option<Speed>,
    pub fcp_ms: Option<Speed>,
    pub lcp_ms: Option<Speed>,
    pub load_ms: Option<Speed>,
    pub inp_ms: Option<Speed>,
    pub cls: Option<Speed>,
    pub top: Vec<MarkRow>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub other: bool,
}

impl FrictionCell {
    fn merge(&mut self, theirs: FrictionCell) {
        self.sessions += theirs.sessions;
        self.views += theirs.views;
        self.frustrated += theirs.frustrated;
        self.rage += theirs.rage;
        self.dead += theirs.dead;
        self.errors += theirs.errors;
        self.forms_started += theirs.forms_started;
        self.forms_abandoned += theirs.forms_abandoned;
        for (figure, dist) in theirs.speed {
            add_to(self.speed.entry(figure).or_default(), dist);
        }
        for (key, (n, s)) in theirs.marks {
            let mine = self.marks.entry(key).or_default();
            mine.0 += n;
            mine.1 += s;
        }
    }

    fn speed(&self, figure: &str) -> Option<Speed> {
        let dist = self.speed.get(figure)?;
        let views: u64 = dist.values().sum();
        let scale = if figure == "cls" { 1_000.0 } else { 1.0 };
        (views > 0).then(|| {
            let p75 = percentile(dist, 75) as f64 / scale;
            Speed {
                median: percentile(dist, 50) as f64 / scale,
                p75,
                views,
                rating: rating(figure, p75),
            }
        })
    }

    fn row(&self, page: &str) -> FrictionRow {
        let mut top: Vec<MarkRow> = self
            .marks
            .iter()
            .filter_map(|(key, (count, sessions))| {
                let (kind, label) = key.split_once(':')?;
                Some(MarkRow {
                    kind: kind.to_string(),
                    label: label.to_string(),
                    count: *count,
                    sessions: *sessions,
                })
            })
            .collect();
        top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
        top.truncate(TOP_MARKS);
        FrictionRow {
            page: page.to_string(),
            sessions: self.sessions,
            views: self.views,
            frustrated_sessions: self.frustrated,
            rage_clicks: self.rage,
            dead_clicks: self.dead,
            errors: self.errors,
            forms_started: self.forms_started,
            forms_abandoned: self.forms_abandoned,
            ttfb_ms: self.speed("ttfb"),
            fcp_ms: self.speed("fcp"),
            lcp_ms: self.speed("lcp"),
            load_ms: self.speed("load"),
            inp_ms: self.speed("inp"),
            cls: self.speed("cls"),
            top,
            other: false,
        }
    }
}

impl FrictionRow {
    /// The figure `sort` ranks by (larger first).
    fn key(&self, sort: Sort) -> f64 {
        let p75 = |s: &Option<Speed>| s.as_ref().map_or(-1.0, |s| s.p75);
        match sort {
            Sort::Friction => Met::total(Met {
                rage: self.rage_clicks,
                dead: self.dead_clicks,
                errors: self.errors,
                forms_abandoned: self.forms_abandoned,
            }) as f64,
            Sort::Rage => self.rage_clicks as f64,
            Sort::Dead => self.dead_clicks as f64,
            Sort::Errors => self.errors as f64,
            Sort::Abandoned => self.forms_abandoned as f64,
            Sort::Lcp => p75(&self.lcp_ms),
            Sort::Inp => p75(&self.inp_ms),
            Sort::Cls => p75(&self.cls),
            Sort::Views => self.views as f64,
        }
    }
}

/// The report's totals over every page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub sessions: u64,
    pub frustrated_sessions: u64,
    pub rage_clicks: u64,
    pub dead_clicks: u64,
    pub errors: u64,
    pub forms_started: u64,
    pub forms_abandoned: u64,
}

impl Friction {
    pub fn totals(&self) -> Totals {
        let mut t = Totals {
            sessions: self.sessions,
            frustrated_sessions: self.frustrated,
            ..Totals::default()
        };
        for c in self.pages.values() {
            t.rage_clicks += c.rage;
            t.dead_clicks += c.dead;
            t.errors += c.errors;
            t.forms_started += c.forms_started;
            t.forms_abandoned += c.forms_abandoned;
        }
        t
    }

    pub fn add(&mut self, j: &Journey) {
        self.sessions += 1;
        let mut seen = BTreeSet::new();
        let mut frustrated = BTreeSet::new();
        for p in &j.pages {
            let cell = match self.pages.get_mut(&p.path) {
                Some(cell) => cell,
                None => self.pages.entry(p.path.clone()).or_default(),
            };
            cell.views += 1;
            if seen.insert(p.path.as_str()) {
                cell.sessions += 1;
            }
            let Some(f) = &p.signals else { continue };
            cell.rage += u64::from(f.rage);
            cell.dead += u64::from(f.dead);
            cell.errors += u64::from(f.errors);
            cell.forms_started += u64::from(f.forms_started);
            cell.forms_abandoned += u64::from(f.forms_abandoned);
            if Met::of_page(f).total() > 0 {
                frustrated.insert(p.path.as_str());
            }
            let v = &f.vitals;
            let times = v.times();
            let figures = times
                .iter()
                .filter_map(|(name, ms)| Some((*name, speed_bucket(u64::from((*ms)?)))))
                .chain(v.cls.map(|c| ("cls", cls_bucket(c))));
            for (name, bucket) in figures {
                *cell
                    .speed
                    .entry(name.to_string())
                    .or_default()
                    .entry(bucket)
                    .or_default() += 1;
            }
        }
        for path in &frustrated {
            if let Some(cell) = self.pages.get_mut(*path) {
                cell.frustrated += 1;
            }
        }
        self.frustrated += u64::from(!frustrated.is_empty());
        // A session's marks of one label on one page (from several views) add up; it counts
        // once among the label's sessions.
        let mut mine: BTreeMap<(&str, String), u64> = BTreeMap::new();
        for m in &j.marks {
            if let Some(p) = j.pages.get(m.page as usize) {
                *mine
                    .entry((p.path.as_str(), format!("{}:{}", m.kind, m.label)))
                    .or_default() += u64::from(m.n);
            }
        }
        for ((path, key), n) in mine {
            if let Some(cell) = self.pages.get_mut(path) {
                let mark = cell.marks.entry(key).or_default();
                mark.0 += n;
                mark.1 += 1;
            }
        }
    }

    pub fn merge(&mut self, other: Friction) {
        self.sessions += other.sessions;
        self.frustrated += other.frustrated;
        for (page, cell) in other.pages {
            self.pages.entry(page).or_default().merge(cell);
        }
    }

    /// The pages ranked by `sort` (ties: more views, then by path), at most `limit`; pages
    /// with fewer than `min_sessions` sessions are added up into one last row, [`OTHER`].
    pub fn finish(&self, sort: Sort, limit: usize, min_sessions: u64) -> Vec<FrictionRow> {
        let cells: Vec<(&String, &FrictionCell)> = self.pages.iter().collect();
        let rare = fold_rare(cells, |(_, c)| c.sessions, min_sessions);
        let mut rows: Vec<FrictionRow> = rare.kept.iter().map(|(p, c)| c.row(p)).collect();
        rows.sort_by(|a, b| {
            b.key(sort)
                .total_cmp(&a.key(sort))
                .then_with(|| b.views.cmp(&a.views))
                .then_with(|| a.page.cmp(&b.page))
        });
        rows.truncate(limit);
        if !rare.other.is_empty() {
            let mut sum = FrictionCell::default();
            for (_, c) in rare.other {
                sum.merge(c.clone());
            }
            let mut row = sum.row(OTHER);
            row.top.clear();
            row.other = true;
            rows.push(row);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::{JourneyMark, JourneyPage, PageSignals};
    use crate::protocol::Vitals;
    use proptest::prelude::*;

    fn page(path: &str, signals: Option<PageSignals>) -> JourneyPage {
        JourneyPage {
            path: path.into(),
            signals,
            ..Default::default()
        }
    }

    fn sig(rage: u32, dead: u32, errors: u32, lcp: Option<u32>) -> Option<PageSignals> {
        Some(PageSignals {
            rage,
            dead,
            errors,
            vitals: Vitals {
                lcp,
                ..Vitals::default()
            },
            ..Default::default()
        })
    }

    fn mark(page: u32, kind: &str, label: &str, n: u32) -> JourneyMark {
        JourneyMark {
            page,
            kind: kind.into(),
            label: label.into(),
            n,
        }
    }

    fn journeys() -> Vec<Journey> {
        let mut all = Vec::new();
        // Four sessions rage on /checkout's pay button; LCP 1,200–2,700 ms.
        for i in 0..4u32 {
            all.push(Journey {
                pages: vec![
                    page("/", sig(0, 0, 0, Some(400))),
                    page("/checkout", sig(3, 0, 0, Some(1_200 + 500 * i))),
                ],
                marks: vec![mark(1, "rage", "pay", 3)],
                ..Default::default()
            });
        }
        // Two sessions hit a dead button and an error on /docs, viewing it twice.
        for _ in 0..2 {
            all.push(Journey {
                pages: vec![page("/docs", sig(0, 1, 1, None)), page("/docs", None)],
                marks: vec![
                    mark(0, "dead", "div.card", 1),
                    mark(0, "error", "TypeError at /app.js:3", 1),
                ],
                ..Default::default()
            });
        }
        // One calm session.
        all.push(Journey {
            pages: vec![page("/", sig(0, 0, 0, Some(300)))],
            ..Default::default()
        });
        all
    }

    #[test]
    fn pages_rank_by_friction_with_their_elements_and_speed() {
        let mut f = Friction::default();
        for j in journeys() {
            f.add(&j);
        }
        assert_eq!((f.sessions, f.frustrated), (7, 6));
        let t = f.totals();
        assert_eq!((t.rage_clicks, t.dead_clicks, t.errors), (12, 2, 2));
        let rows = f.finish(Sort::Friction, 10, 1);
        let pages: Vec<&str> = rows.iter().map(|r| r.page.as_str()).collect();
        assert_eq!(pages, vec!["/checkout", "/docs", "/"]);
        let checkout = &rows[0];
        assert_eq!(
            (checkout.rage_clicks, checkout.frustrated_sessions),
            (12, 4)
        );
        let lcp = checkout.lcp_ms.clone().unwrap();
        // 1,200 / 1,700 / 2,200 / 2,700: median of the middle two, p75 the third.
        assert_eq!((lcp.median, lcp.p75, lcp.views), (1_950.0, 2_200.0, 4));
        assert_eq!(lcp.rating, Some(Rating::Good));
        assert_eq!(
            checkout.top,
            vec![MarkRow {
                kind: "rage".into(),
                label: "pay".into(),
                count: 12,
                sessions: 4
            }]
        );
        let docs = &rows[1];
        assert_eq!(
            (docs.views, docs.sessions, docs.dead_clicks, docs.errors),
            (4, 2, 2, 2)
        );
        assert!(docs.lcp_ms.is_none());
        assert_eq!(rows[2].frustrated_sessions, 0);
        let by_lcp = f.finish(Sort::Lcp, 10, 1);
        assert_eq!(by_lcp[0].page, "/checkout");
        assert_eq!(by_lcp[2].page, "/docs");
        // min_sessions 3 folds /docs into (other).
        let folded = f.finish(Sort::Friction, 10, 3);
        assert_eq!(
            folded.last().map(|r| (r.page.as_str(), r.other)),
            Some((OTHER, true))
        );
        assert_eq!(folded.last().unwrap().dead_clicks, 2);
    }

    #[test]
    fn p75s_read_against_the_web_vitals_thresholds() {
        use Rating::*;
        let cases = [
            ("lcp", 2_500.0, Some(Good)),
            ("lcp", 2_600.0, Some(NeedsImprovement)),
            ("lcp", 4_000.0, Some(NeedsImprovement)),
            ("lcp", 4_100.0, Some(Poor)),
            ("inp", 200.0, Some(Good)),
            ("inp", 210.0, Some(NeedsImprovement)),
            ("inp", 510.0, Some(Poor)),
            ("cls", 0.1, Some(Good)),
            ("cls", 0.11, Some(NeedsImprovement)),
            ("cls", 0.26, Some(Poor)),
            ("ttfb", 1_900.0, Some(Poor)),
            ("fcp", 1_000.0, Some(Good)),
            ("load", 9_000.0, None),
        ];
        for (figure, p75, want) in cases {
            assert_eq!(rating(figure, p75), want, "{figure} {p75}");
        }
        for (figure, good, poor) in THRESHOLDS {
            assert!(good < poor, "{figure}");
        }
    }

    #[test]
    fn a_views_figures_are_rated_by_the_same_thresholds_and_load_is_not() {
        use crate::protocol::Vitals;
        use Rating::*;
        let v = Vitals {
            ttfb: Some(800),
            fcp: Some(1_801),
            lcp: Some(4_001),
            load: Some(9_000),
            inp: None,
            cls: Some(0.1),
        };
        let rated: Vec<(&str, Rating)> = view_ratings(&v).into_iter().collect();
        assert_eq!(
            rated,
            [
                ("cls", Good),
                ("fcp", NeedsImprovement),
                ("lcp", Poor),
                ("ttfb", Good)
            ]
        );
        assert!(view_ratings(&Vitals::default()).is_empty());
    }

    #[test]
    fn buckets_keep_the_step_below() {
        assert_eq!(speed_bucket(987), 980);
        assert_eq!(speed_bucket(2_345), 2_300);
        assert_eq!(speed_bucket(12_345), 12_000);
        assert_eq!(cls_bucket(0.127), 120);
        assert_eq!(Sort::parse("inp"), Some(Sort::Inp));
        assert_eq!(Sort::parse("slow"), None);
        for name in Sort::NAMES {
            assert_eq!(Sort::parse(name).map(Sort::name), Some(name));
        }
    }

    proptest! {
        #[test]
        fn merged_partials_equal_one_pass(split in 0usize..8) {
            let all = journeys();
            let mut one = Friction::default();
            let (mut a, mut b) = (Friction::default(), Friction::default());
            for (i, j) in all.iter().enumerate() {
                one.add(j);
                if i < split { a.add(j) } else { b.add(j) }
            }
            a.merge(b);
            prop_assert_eq!(a, one);
        }
    }
}
