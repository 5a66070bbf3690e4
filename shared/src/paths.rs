//! Paths (`GET /api/paths`): from the first time a session did a start step, the pages it
//! viewed next, step by step (or, to an end step, the pages before it), with the sessions
//! that went no further at each step. A page viewed again right after itself counts once.
//!
//! `via` narrows later steps to the sessions that took the chosen pages: step `i` counts
//! the sessions whose first `min(i - 1, via.len())` pages were `via`'s, so one answer is the
//! dashboard's columns after the pages a visitor of the report clicked.

use crate::journey::{Journey, Moment};
use crate::query::{ParamError, Step};
use crate::report::fold_rare;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_DEPTH: usize = 6;
pub const DEFAULT_DEPTH: usize = 3;
/// Most pages listed per step.
pub const MAX_LIMIT: usize = 50;
pub const DEFAULT_LIMIT: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathSpec {
    pub anchor: Step,
    /// From `end` back instead of from `start` on.
    pub backward: bool,
    pub depth: usize,
    /// Pages chosen at the first steps (exact paths).
    pub via: Vec<String>,
}

impl PathSpec {
    /// Reads `start` or `end` (a step), `depth` (1–6) and `via` (pages, at most `depth - 1`)
    /// from a query.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<PathSpec, ParamError> {
        let (mut anchor, mut depth, mut via) = (None, DEFAULT_DEPTH, Vec::new());
        for (k, v) in pairs {
            match k {
                "start" | "end" => {
                    if anchor.is_some() {
                        return Err(ParamError("start, end: give one of them, once".into()));
                    }
                    let step = Step::parse(v).map_err(|e| ParamError(format!("{k}: {e}")))?;
                    anchor = Some((step, k == "end"));
                }
                "depth" => {
                    depth = v
                        .parse::<usize>()
                        .ok()
                        .filter(|d| (1..=MAX_DEPTH).contains(d))
                        .ok_or_else(|| {
                            ParamError(format!("depth: steps to follow, 1 to {MAX_DEPTH}"))
                        })?
                }
                "via" => match Step::parse(v) {
                    Ok(Step::Page(p)) if !p.contains('*') => via.push(p),
                    _ => {
                        return Err(ParamError(
                            "via: a page path like /pricing (no pattern)".into(),
                        ))
                    }
                },
                _ => {}
            }
        }
        let (anchor, backward) = anchor
            .ok_or_else(|| ParamError("start: missing; give start=<step> or end=<step>".into()))?;
        if via.len() >= depth {
            return Err(ParamError(format!(
                "via: at most depth - 1 ({}) pages",
                depth - 1
            )));
        }
        Ok(PathSpec {
            anchor,
            backward,
            depth,
            via,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    pub pages: BTreeMap<String, u64>,
    /// Sessions with no page at this step: they left (forward) or it was where they came
    /// in (backward).
    pub no_further: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paths {
    pub spec: PathSpec,
    /// Sessions that did the anchor step.
    pub sessions: u64,
    pub steps: Vec<PathStep>,
}

/// The pages after (or before, `backward`) moment `from`, repeats of the page before
/// merged, as far as `depth`.
pub fn sequence<'a>(
    j: &'a Journey,
    moments: &[Moment],
    from: usize,
    backward: bool,
    depth: usize,
) -> Vec<&'a str> {
    let mut last = j.page_at(moments[from]).map(|p| j.pages[p].path.as_str());
    let mut out = Vec::new();
    let pages = |m: &Moment| match *m {
        Moment::Page(i) => Some(j.pages[i].path.as_str()),
        Moment::Event(_) => None,
    };
    let mut take = |path: &'a str| {
        if Some(path) != last {
            out.push(path);
            last = Some(path);
        }
    };
    if backward {
        for path in moments[..from].iter().rev().filter_map(pages) {
            take(path);
        }
    } else {
        for path in moments[from + 1..].iter().filter_map(pages) {
            take(path);
        }
    }
    out.truncate(depth);
    out
}

impl Paths {
    pub fn new(spec: PathSpec) -> Paths {
        let steps = vec![PathStep::default(); spec.depth];
        Paths {
            spec,
            sessions: 0,
            steps,
        }
    }

    pub fn add(&mut self, j: &Journey) {
        let moments = j.moments();
        let Some(from) = moments.iter().position(|m| self.spec.anchor.is(j, *m)) else {
            return;
        };
        self.sessions += 1;
        let seq = sequence(j, &moments, from, self.spec.backward, self.spec.depth);
        let via = &self.spec.via;
        for (i, step) in self.steps.iter_mut().enumerate() {
            let chosen = i.min(via.len());
            if seq.len() < chosen || seq[..chosen] != via[..chosen] {
                return;
            }
            match seq.get(i) {
                Some(page) => match step.pages.get_mut(*page) {
                    Some(n) => *n += 1,
                    None => {
                        step.pages.insert(page.to_string(), 1);
                    }
                },
                None => {
                    step.no_further += 1;
                    return;
                }
            }
        }
    }

    pub fn merge(&mut self, other: Paths) {
        self.sessions += other.sessions;
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            for (page, n) in theirs.pages {
                *mine.pages.entry(page).or_default() += n;
            }
            mine.no_further += theirs.no_further;
        }
    }

    /// Each step's top `limit` pages (most sessions first), pages under `min_sessions`
    /// and past the limit added up as `other`.
    pub fn finish(&self, limit: usize, min_sessions: u64) -> Vec<PathStepOut> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let rows: Vec<(String, u64)> =
                    step.pages.iter().map(|(p, n)| (p.clone(), *n)).collect();
                let rare = fold_rare(rows, |(_, n)| *n, min_sessions);
                let mut pages: Vec<PageCount> = rare
                    .kept
                    .into_iter()
                    .map(|(page, sessions)| PageCount { page, sessions })
                    .collect();
                pages.sort_by(|a, b| b.sessions.cmp(&a.sessions).then(a.page.cmp(&b.page)));
                let past: u64 = pages.iter().skip(limit).map(|p| p.sessions).sum();
                pages.truncate(limit);
                PathStepOut {
                    step: i + 1,
                    sessions: step.pages.values().sum::<u64>() + step.no_further,
                    via: self.spec.via.get(i).cloned(),
                    pages,
                    other: rare.other.iter().map(|(_, n)| n).sum::<u64>() + past,
                    no_further: step.no_further,
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageCount {
    pub page: String,
    pub sessions: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathStepOut {
    /// 1 for the pages right after the start (or right before the end).
    pub step: usize,
    /// Sessions counted at this step (those that took the `via` pages before it).
    pub sessions: u64,
    /// The page chosen at this step, if any (later steps count only its sessions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    pub pages: Vec<PageCount>,
    /// Sessions on pages not listed (past the limit or under `min_sessions`).
    pub other: u64,
    pub no_further: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::{JourneyEvent, JourneyPage};

    fn journey(paths: &[&str]) -> Journey {
        Journey {
            pages: paths
                .iter()
                .enumerate()
                .map(|(i, p)| JourneyPage {
                    path: p.to_string(),
                    at: i as i64 * 1_000,
                    active_ms: 0,
                    scroll: 0,
                    signals: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn spec(anchor: &str, backward: bool, depth: usize, via: &[&str]) -> PathSpec {
        PathSpec {
            anchor: Step::parse(anchor).unwrap(),
            backward,
            depth,
            via: via.iter().map(|v| v.to_string()).collect(),
        }
    }

    fn counts(out: &PathStepOut) -> Vec<(&str, u64)> {
        out.pages
            .iter()
            .map(|p| (p.page.as_str(), p.sessions))
            .collect()
    }

    fn sessions() -> Vec<Journey> {
        vec![
            journey(&["/", "/pricing", "/signup"]),
            journey(&["/", "/pricing", "/pricing", "/docs"]),
            journey(&["/", "/blog", "/pricing"]),
            journey(&["/blog", "/", "/"]),
            journey(&["/docs"]),
        ]
    }

    #[test]
    fn queries_read_into_specs_and_bad_ones_are_named() {
        let parse = |q: &[(&str, &str)]| PathSpec::parse(q.iter().copied());
        let s = parse(&[("end", "event:signup"), ("depth", "4"), ("via", "/pricing")]).unwrap();
        assert!(s.backward);
        assert_eq!((s.depth, s.via.len()), (4, 1));
        assert_eq!(parse(&[("start", "/")]).unwrap().depth, DEFAULT_DEPTH);
        let err = |q: &[(&str, &str)]| parse(q).unwrap_err().0;
        assert!(err(&[]).starts_with("start: missing"));
        assert!(err(&[("start", "/"), ("end", "/x")]).starts_with("start, end:"));
        assert!(err(&[("start", "/"), ("depth", "7")]).starts_with("depth:"));
        assert!(err(&[("start", "/"), ("via", "/blog/*")]).starts_with("via:"));
        assert!(err(&[("start", "/"), ("depth", "1"), ("via", "/a")]).starts_with("via:"));
    }

    #[test]
    fn forward_from_a_start_with_repeats_merged_and_leavers_counted() {
        let mut p = Paths::new(spec("/", false, 3, &[]));
        for j in sessions() {
            p.add(&j);
        }
        let out = p.finish(10, 1);
        assert_eq!(p.sessions, 4);
        assert_eq!(counts(&out[0]), [("/pricing", 2), ("/blog", 1)]);
        assert_eq!(out[0].no_further, 1, "the fourth left after / (reloaded)");
        assert_eq!(
            counts(&out[1]),
            [("/docs", 1), ("/pricing", 1), ("/signup", 1)]
        );
        assert_eq!(out[2].no_further, 3);
        assert_eq!(out[2].sessions, 3);
    }

    #[test]
    fn via_narrows_the_later_steps_and_backward_reads_before_the_end() {
        let mut p = Paths::new(spec("/", false, 3, &["/pricing"]));
        for j in sessions() {
            p.add(&j);
        }
        let out = p.finish(10, 1);
        // Step 1 is every session from /; step 2 only those that went to /pricing.
        assert_eq!(out[0].sessions, 4);
        assert_eq!(out[0].via.as_deref(), Some("/pricing"));
        assert_eq!(counts(&out[1]), [("/docs", 1), ("/signup", 1)]);
        assert_eq!(out[2].no_further, 2);

        let mut back = Paths::new(spec("/pricing", true, 2, &[]));
        for j in sessions() {
            back.add(&j);
        }
        let out = back.finish(10, 1);
        assert_eq!(counts(&out[0]), [("/", 2), ("/blog", 1)]);
        assert_eq!(out[0].no_further, 0);
        assert_eq!(counts(&out[1]), [("/", 1)]);
        assert_eq!(
            out[1].no_further, 2,
            "two came in on the page before /pricing"
        );
    }

    #[test]
    fn an_event_start_counts_from_its_page_and_small_rows_fold() {
        let mut j = journey(&["/", "/signup", "/thanks"]);
        j.events.push(JourneyEvent {
            name: "signup".into(),
            at: 1_500,
            page: Some(1),
            props: vec![],
        });
        let mut p = Paths::new(spec("event:signup", false, 1, &[]));
        p.add(&j);
        p.add(&journey(&["/signup"]));
        assert_eq!(counts(&p.finish(10, 1)[0]), [("/thanks", 1)]);
        let folded = p.finish(10, 2);
        assert!(folded[0].pages.is_empty());
        assert_eq!(folded[0].other, 1);
        assert_eq!(p.sessions, 1);
    }
}
