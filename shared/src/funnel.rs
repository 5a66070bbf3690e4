//! Funnels (SPEC "Journeys, time and segments", `GET /api/funnel`): how many sessions reach
//! each of 2–10 steps, in order (`ordered`: other moments in between allowed), back to back
//! (`strict`: nothing in between) or in any order (`any`), within a window counted from the
//! first step. Computed from each session's [`Journey`], so a funnel defined today counts
//! last month.
//!
//! Per step the partial keeps counts, the distribution of engaged time from the previous
//! step, where the sessions that dropped before it went instead, and the newest few of
//! them, so partials of index objects merge into the answer one pass would give (tested).

use crate::journey::{Journey, Moment};
use crate::query::{change, ParamError, Step};
use crate::report::{add_to, fold_rare, median, Rare};
use crate::session::SessionSummary;
use crate::stats::active_ms_bucket;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MIN_STEPS: usize = 2;
pub const MAX_STEPS: usize = 10;
/// Dropped sessions named per step (the newest).
pub const DROPPED_IDS: usize = 5;
/// Pages listed per step under "went instead".
pub const WENT_INSTEAD: usize = 5;
/// Longest window: a year of minutes.
pub const MAX_WINDOW_MINUTES: i64 = 366 * 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Steps in order, anything in between.
    Ordered,
    /// Steps in order, each the very next page view or event after the one before.
    Strict,
    /// Steps in any order: step k counts sessions that did steps 1…k.
    Any,
}

impl Mode {
    pub fn parse(v: &str) -> Option<Mode> {
        Some(match v {
            "ordered" => Mode::Ordered,
            "strict" => Mode::Strict,
            "any" => Mode::Any,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Ordered => "ordered",
            Mode::Strict => "strict",
            Mode::Any => "any",
        }
    }
}

/// What a funnel asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelSpec {
    pub steps: Vec<Step>,
    pub mode: Mode,
    /// Longest time from the first step to the last counted, in ms; `None`: the session.
    pub window_ms: Option<i64>,
}

impl FunnelSpec {
    /// Reads `step` (2–10, in order), `mode` and `window` (minutes) from a query.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<FunnelSpec, ParamError> {
        let (mut steps, mut mode, mut window_ms) = (Vec::new(), Mode::Ordered, None);
        for (k, v) in pairs {
            match k {
                "step" => {
                    let n = steps.len() + 1;
                    steps.push(Step::parse(v).map_err(|e| ParamError(format!("step {n}: {e}")))?);
                }
                "mode" => {
                    mode = Mode::parse(v)
                        .ok_or_else(|| ParamError("mode: must be ordered, strict or any".into()))?
                }
                "window" => {
                    let minutes = v
                        .parse::<i64>()
                        .ok()
                        .filter(|m| (1..=MAX_WINDOW_MINUTES).contains(m))
                        .ok_or_else(|| {
                            ParamError(format!(
                                "window: minutes from the first step, 1 to {MAX_WINDOW_MINUTES}"
                            ))
                        })?;
                    window_ms = Some(minutes * crate::time::MINUTE_MS);
                }
                _ => {}
            }
        }
        if !(MIN_STEPS..=MAX_STEPS).contains(&steps.len()) {
            return Err(ParamError(format!(
                "step: a funnel has {MIN_STEPS} to {MAX_STEPS} steps (step=/pricing&step=event:signup), got {}",
                steps.len()
            )));
        }
        Ok(FunnelSpec {
            steps,
            mode,
            window_ms,
        })
    }
}

/// The moments (positions in `moments`) at which a session did steps 1…k, k as far as it
/// got.
pub fn progress(spec: &FunnelSpec, j: &Journey, moments: &[Moment]) -> Vec<usize> {
    let within = |first: i64, m: Moment| spec.window_ms.is_none_or(|w| j.at(m) - first <= w);
    let steps = &spec.steps;
    if spec.mode == Mode::Any {
        // The first time each step was done, as long as steps 1…k all were, within the
        // window from the earliest of them.
        let mut got = Vec::new();
        let mut earliest = i64::MAX;
        for step in steps {
            let Some(at) = moments.iter().position(|m| step.is(j, *m)) else {
                break;
            };
            let t = j.at(moments[at]);
            let first = earliest.min(t);
            let latest = got.iter().map(|&g| j.at(moments[g])).chain([t]).max();
            if latest.is_some_and(|l| spec.window_ms.is_some_and(|w| l - first > w)) {
                break;
            }
            earliest = first;
            got.push(at);
        }
        return got;
    }
    // Every start is tried (a later first step may fit the window where the first did
    // not); from each, each next step is its earliest match. The furthest wins, the
    // earliest start among equals.
    let mut best: Vec<usize> = Vec::new();
    for start in 0..moments.len() {
        if !steps[0].is(j, moments[start]) {
            continue;
        }
        let first = j.at(moments[start]);
        let mut got = vec![start];
        for (m, &moment) in moments.iter().enumerate().skip(start + 1) {
            if got.len() == steps.len() || !within(first, moment) {
                break;
            }
            if steps[got.len()].is(j, moment) {
                got.push(m);
            } else if spec.mode == Mode::Strict {
                break;
            }
        }
        if got.len() > best.len() {
            best = got;
            if best.len() == steps.len() {
                break;
            }
        }
    }
    best
}

/// Where one step's figures are gathered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepCell {
    pub reached: u64,
    /// Engaged time from the previous step, by [`active_ms_bucket`].
    pub engaged: BTreeMap<u64, u64>,
    /// For sessions that reached the previous step and not this one: the page they went to
    /// next.
    pub went: BTreeMap<String, u64>,
    /// … or that they left without another page.
    pub left: u64,
    /// The newest of those sessions, `(started_at, id)`, newest first.
    pub dropped: Vec<(i64, String)>,
}

/// A funnel's partial answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    pub spec: FunnelSpec,
    /// Sessions in range that match the filters.
    pub sessions: u64,
    pub steps: Vec<StepCell>,
}

fn keep_newest(list: &mut Vec<(i64, String)>) {
    list.sort_by(|a, b| b.cmp(a));
    list.dedup();
    list.truncate(DROPPED_IDS);
}

impl Funnel {
    pub fn new(spec: FunnelSpec) -> Funnel {
        let steps = vec![StepCell::default(); spec.steps.len()];
        Funnel {
            spec,
            sessions: 0,
            steps,
        }
    }

    pub fn add(&mut self, s: &SessionSummary, j: &Journey) {
        self.sessions += 1;
        let moments = j.moments();
        let got = progress(&self.spec, j, &moments);
        for (k, cell) in self.steps.iter_mut().enumerate().take(got.len()) {
            cell.reached += 1;
            if k > 0 {
                let (a, b) = (got[k - 1].min(got[k]), got[k - 1].max(got[k]));
                let ms = j.engaged_between(moments[a], moments[b]);
                *cell.engaged.entry(active_ms_bucket(ms)).or_default() += 1;
            }
        }
        let depth = got.len();
        if depth == 0 || depth == self.steps.len() {
            return;
        }
        let cell = &mut self.steps[depth];
        let last = got.iter().copied().max().unwrap_or(0);
        match j.next_page(&moments, last) {
            Some(page) => *cell.went.entry(page.to_string()).or_default() += 1,
            None => cell.left += 1,
        }
        cell.dropped.push((s.started_at, s.id.clone()));
        keep_newest(&mut cell.dropped);
    }

    pub fn merge(&mut self, other: Funnel) {
        self.sessions += other.sessions;
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.reached += theirs.reached;
            add_to(&mut mine.engaged, theirs.engaged);
            for (page, n) in theirs.went {
                *mine.went.entry(page).or_default() += n;
            }
            mine.left += theirs.left;
            mine.dropped.extend(theirs.dropped);
            keep_newest(&mut mine.dropped);
        }
    }

    /// The answer's steps; "went instead" pages with fewer than `min_sessions` sessions
    /// are folded into one `other` count.
    pub fn finish(&self, min_sessions: u64) -> Vec<StepOut> {
        let first = self.steps.first().map_or(0, |c| c.reached);
        let mut out = Vec::new();
        let mut previous = None;
        for (step, cell) in self.spec.steps.iter().zip(&self.steps) {
            let before = previous.unwrap_or(cell.reached);
            let went: Vec<(String, u64)> = cell.went.iter().map(|(p, n)| (p.clone(), *n)).collect();
            let Rare { kept, other } = fold_rare(went, |(_, n)| *n, min_sessions);
            let mut went_instead: Vec<Went> = kept
                .into_iter()
                .map(|(page, sessions)| Went { page, sessions })
                .collect();
            went_instead.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.page.cmp(&b.page)));
            let more: u64 = went_instead
                .iter()
                .skip(WENT_INSTEAD)
                .map(|w| w.sessions)
                .sum();
            went_instead.truncate(WENT_INSTEAD);
            out.push(StepOut {
                step: step.text(),
                sessions: cell.reached,
                conversion: ratio(cell.reached, first),
                step_conversion: previous.map(|_| ratio(cell.reached, before)),
                dropped: before - cell.reached.min(before),
                median_engaged_ms: previous.map(|_| median(&cell.engaged)),
                went_instead,
                went_other: other.iter().map(|(_, n)| n).sum::<u64>() + more,
                left: cell.left,
                dropped_sessions: cell.dropped.iter().map(|(_, id)| id.clone()).collect(),
            });
            previous = Some(cell.reached);
        }
        out
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Went {
    pub page: String,
    pub sessions: u64,
}

/// One step of the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepOut {
    pub step: String,
    /// Sessions that reached it.
    pub sessions: u64,
    /// Of the sessions at step 1.
    pub conversion: f64,
    /// Of the sessions at the previous step (`None` for step 1).
    pub step_conversion: Option<f64>,
    /// Sessions at the previous step that did not reach this one.
    pub dropped: u64,
    /// Median engaged time from the previous step (page by page, see
    /// [`Journey::engaged_between`]).
    pub median_engaged_ms: Option<u64>,
    /// Where the dropped sessions went next, most first.
    pub went_instead: Vec<Went>,
    /// Dropped sessions that went to pages not listed.
    pub went_other: u64,
    /// Dropped sessions that left without another page.
    pub left: u64,
    /// The newest few dropped sessions' IDs.
    pub dropped_sessions: Vec<String>,
}

/// The change of each step's conversion (from step 1) against a compared funnel, stated
/// only when both periods had enough sessions at step 1 (see [`change`]).
pub fn compare_steps(now: &[StepOut], before: &[StepOut]) -> Vec<Option<f64>> {
    let (a, b) = (
        now.first().map_or(0, |s| s.sessions),
        before.first().map_or(0, |s| s.sessions),
    );
    now.iter()
        .zip(before)
        .map(|(n, p)| change(n.conversion, p.conversion, a, b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::{JourneyEvent, JourneyPage};
    use proptest::prelude::*;

    fn page(path: &str, at: i64, active_ms: u64) -> JourneyPage {
        JourneyPage {
            path: path.into(),
            at,
            active_ms,
            scroll: 0,
            signals: None,
        }
    }

    fn event(name: &str, at: i64, page: u32) -> JourneyEvent {
        JourneyEvent {
            name: name.into(),
            at,
            page: Some(page),
            props: vec![("plan".into(), "pro".into())],
        }
    }

    fn spec(steps: &[&str], mode: Mode, window_ms: Option<i64>) -> FunnelSpec {
        FunnelSpec {
            steps: steps.iter().map(|s| Step::parse(s).unwrap()).collect(),
            mode,
            window_ms,
        }
    }

    fn journey(pages: &[(&str, i64, u64)], events: &[(&str, i64, u32)]) -> Journey {
        Journey {
            pages: pages.iter().map(|&(p, t, a)| page(p, t, a)).collect(),
            events: events.iter().map(|&(n, t, p)| event(n, t, p)).collect(),
            ..Default::default()
        }
    }

    fn depth(spec: &FunnelSpec, j: &Journey) -> usize {
        progress(spec, j, &j.moments()).len()
    }

    #[test]
    fn queries_read_into_specs_and_bad_ones_are_named() {
        let parse = |q: &[(&str, &str)]| FunnelSpec::parse(q.iter().copied());
        let spec = parse(&[
            ("step", "/pricing"),
            ("site", "demo"),
            ("step", "event:signup:plan=pro"),
            ("mode", "strict"),
            ("window", "30"),
        ])
        .unwrap();
        assert_eq!(spec.steps.len(), 2);
        assert_eq!(spec.mode, Mode::Strict);
        assert_eq!(spec.window_ms, Some(30 * 60_000));
        let err = |q: &[(&str, &str)]| parse(q).unwrap_err().0;
        assert!(err(&[("step", "/a")]).starts_with("step: a funnel has 2 to 10"));
        assert!(err(&[("step", "/a"), ("step", "pricing")]).starts_with("step 2:"));
        assert!(err(&[("step", "/a"), ("step", "/b"), ("mode", "x")]).starts_with("mode:"));
        assert!(err(&[("step", "/a"), ("step", "/b"), ("window", "0")]).starts_with("window:"));
        let eleven: Vec<(&str, &str)> = (0..11).map(|_| ("step", "/a")).collect();
        assert!(err(&eleven).starts_with("step:"));
    }

    #[test]
    fn modes_count_what_they_say() {
        let j = journey(
            &[
                ("/", 0, 1_000),
                ("/pricing", 10_000, 4_000),
                ("/docs", 20_000, 2_000),
                ("/signup", 30_000, 8_000),
            ],
            &[("signup", 40_000, 3)],
        );
        let steps = ["/pricing", "/signup", "event:signup"];
        assert_eq!(depth(&spec(&steps, Mode::Ordered, None), &j), 3);
        // /docs sits between /pricing and /signup.
        assert_eq!(depth(&spec(&steps, Mode::Strict, None), &j), 1);
        assert_eq!(
            depth(&spec(&["/signup", "event:signup"], Mode::Strict, None), &j),
            2
        );
        // Out of order: ordered stops, any counts.
        let back = ["/signup", "/pricing"];
        assert_eq!(depth(&spec(&back, Mode::Ordered, None), &j), 1);
        assert_eq!(depth(&spec(&back, Mode::Any, None), &j), 2);
        // A window of 25 s from /pricing (10 s) reaches /signup (30 s) but not the event.
        assert_eq!(depth(&spec(&steps, Mode::Ordered, Some(25_000)), &j), 2);
        assert_eq!(depth(&spec(&steps, Mode::Any, Some(25_000)), &j), 2);
        assert_eq!(
            depth(&spec(&["/nowhere", "/signup"], Mode::Any, None), &j),
            0
        );
        // Props must match when the step names one.
        assert_eq!(
            depth(
                &spec(&["/", "event:signup:plan=free"], Mode::Ordered, None),
                &j
            ),
            1
        );
        assert_eq!(
            depth(
                &spec(&["/", "event:signup:plan=pro"], Mode::Ordered, None),
                &j
            ),
            2
        );
    }

    #[test]
    fn a_later_start_may_fit_the_window_and_reloads_count_once() {
        let j = journey(
            &[
                ("/pricing", 0, 0),
                ("/blog", 1_000, 0),
                ("/pricing", 100_000, 0),
                ("/pricing", 101_000, 0),
                ("/signup", 105_000, 0),
            ],
            &[],
        );
        assert_eq!(
            depth(
                &spec(&["/pricing", "/signup"], Mode::Ordered, Some(60_000)),
                &j
            ),
            2
        );
        // The reload of /pricing is not "something in between".
        assert_eq!(
            depth(&spec(&["/pricing", "/signup"], Mode::Strict, None), &j),
            2
        );
    }

    #[test]
    fn steps_carry_engaged_time_drop_off_and_where_dropped_sessions_went() {
        let mut f = Funnel::new(spec(&["/", "/pricing", "/signup"], Mode::Ordered, None));
        let s = |id: &str, at: i64| SessionSummary {
            id: id.into(),
            started_at: at,
            ..Default::default()
        };
        // Converts: 3 s on / and 5 s on /pricing before /signup.
        f.add(
            &s("a", 1),
            &journey(
                &[("/", 0, 3_000), ("/pricing", 5, 5_000), ("/signup", 9, 0)],
                &[],
            ),
        );
        // Drops after /pricing to /docs.
        f.add(
            &s("b", 2),
            &journey(
                &[("/", 0, 1_000), ("/pricing", 5, 2_000), ("/docs", 9, 0)],
                &[],
            ),
        );
        // Drops after / and leaves.
        f.add(&s("c", 3), &journey(&[("/", 0, 7_000)], &[]));
        // Never enters.
        f.add(&s("d", 4), &journey(&[("/blog", 0, 1_000)], &[]));
        let out = f.finish(1);
        assert_eq!(f.sessions, 4);
        let counts: Vec<u64> = out.iter().map(|s| s.sessions).collect();
        assert_eq!(counts, [3, 2, 1]);
        assert_eq!(out[1].dropped, 1);
        assert_eq!(out[1].left, 1);
        assert_eq!(out[1].dropped_sessions, ["c"]);
        assert_eq!(
            out[2].went_instead,
            [Went {
                page: "/docs".into(),
                sessions: 1
            }]
        );
        assert_eq!(out[2].dropped_sessions, ["b"]);
        assert_eq!(out[2].conversion, 1.0 / 3.0);
        assert_eq!(out[2].step_conversion, Some(0.5));
        // From / to /pricing: a's 3 s and b's 1 s; from /pricing to /signup: a's 5 s.
        assert_eq!(out[1].median_engaged_ms, Some(2_000));
        assert_eq!(out[2].median_engaged_ms, Some(5_000));
        assert_eq!(out[0].median_engaged_ms, None);
        // min_sessions 2 folds the one /docs session into "other".
        let folded = f.finish(2);
        assert!(folded[2].went_instead.is_empty());
        assert_eq!(folded[2].went_other, 1);
    }

    #[test]
    fn an_event_step_counts_the_time_on_its_page() {
        let j = journey(
            &[("/signup", 0, 6_000), ("/thanks", 9_000, 500)],
            &[("signup", 8_000, 0)],
        );
        let m = j.moments();
        assert_eq!(j.engaged_between(m[0], m[1]), 6_000);
        assert_eq!(j.engaged_between(m[0], m[2]), 6_000);
    }

    fn arb_journey() -> impl Strategy<Value = (i64, Journey)> {
        let pages = prop::collection::vec((0usize..4, 0i64..50, 0u64..5_000), 0..6);
        let events = prop::collection::vec((0usize..2, 0i64..50), 0..3);
        (0i64..1_000, pages, events).prop_map(|(t, pages, events)| {
            let paths = ["/", "/pricing", "/signup", "/docs"];
            let names = ["signup", "copy"];
            let n = pages.len() as u32;
            let j = Journey {
                pages: pages
                    .into_iter()
                    .map(|(p, at, a)| page(paths[p], at * 1_000, a))
                    .collect(),
                events: events
                    .into_iter()
                    .map(|(e, at)| JourneyEvent {
                        name: names[e].into(),
                        at: at * 1_000,
                        page: (n > 0).then_some((at as u32) % n.max(1)),
                        props: vec![],
                    })
                    .collect(),
                ..Default::default()
            };
            (t, j)
        })
    }

    proptest! {
        #[test]
        fn merged_partials_equal_one_pass(
            sessions in prop::collection::vec(arb_journey(), 0..30),
            split in 0usize..30,
            mode in prop::sample::select(vec![Mode::Ordered, Mode::Strict, Mode::Any]),
            window in prop::option::of(1_000i64..40_000),
        ) {
            let spec = spec(&["/", "/pricing", "event:signup"], mode, window);
            let mut one = Funnel::new(spec.clone());
            let (mut a, mut b) = (Funnel::new(spec.clone()), Funnel::new(spec));
            for (i, (t, j)) in sessions.iter().enumerate() {
                let s = SessionSummary { id: format!("s{i}"), started_at: *t, ..Default::default() };
                one.add(&s, j);
                if i < split { a.add(&s, j) } else { b.add(&s, j) }
            }
            a.merge(b);
            prop_assert_eq!(a.finish(1), one.finish(1));
            // Each step holds no more sessions than the one before.
            let out = one.finish(1);
            for w in out.windows(2) {
                prop_assert!(w[1].sessions <= w[0].sessions);
                prop_assert_eq!(w[1].dropped, w[0].sessions - w[1].sessions);
            }
        }
    }
}
