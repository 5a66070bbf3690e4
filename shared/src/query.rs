//! What the read API can be asked: dimensions, steps and goals, filters, comparisons and
//! intervals, parsed from query parameters with errors that name the parameter, and matched
//! against a session (its summary and [`Journey`]). Shards and the worker share these
//! types, so a filter means the same wherever it runs: there is one implementation of it,
//! [`Filters::matches`].
//!
//! Filter parameters are `<dimension>=<value>` (is), `<dimension>!=<value>` (is not) and
//! `<dimension>~=<value>` (contains, ASCII case-insensitive): a query string splits
//! `country!=DE` into the key `country!` and the value `DE`. Every dimension of
//! [`By`] filters; `page`, `entry` and `exit` take a path pattern (`/blog/*`); `goal=<step>`
//! keeps the sessions that reached a step (SPEC "Steps and goals"), `goal!=` those that did
//! not. Several filters all apply.

use crate::journey::{Journey, Moment};
use crate::session::SessionSummary;
use crate::time::{shift_years, DAY_MS, HOUR_MS};
use crate::vocab::{Channel, Device};
use serde::{Deserialize, Serialize};

/// Longest range one request may cover.
pub const MAX_RANGE_DAYS: i64 = 366;
pub const MAX_RANGE_MS: i64 = MAX_RANGE_DAYS * DAY_MS;

/// Longest text a filter value or step may have.
pub const MAX_FILTER_CHARS: usize = 256;

/// A query parameter that is missing or wrong: the message names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(pub String);

fn bad(name: &str, why: impl std::fmt::Display) -> ParamError {
    ParamError(format!("{name}: {why}"))
}

/// A dimension sessions are broken down or filtered by (SPEC `breakdown?by=`, plus the
/// versions of a browser or OS family).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum By {
    /// Every page the session viewed, by path.
    Page,
    Entry,
    Exit,
    Referrer,
    Channel,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    Country,
    Device,
    Browser,
    /// Family and major version, `Chrome 126`.
    BrowserVersion,
    Os,
    OsVersion,
    /// Every custom event name the session sent.
    Event,
    /// Every value the session's custom events gave this prop.
    Prop(String),
}

impl By {
    const NAMED: [(&'static str, By); 15] = [
        ("page", By::Page),
        ("entry", By::Entry),
        ("exit", By::Exit),
        ("referrer", By::Referrer),
        ("channel", By::Channel),
        ("utm_source", By::UtmSource),
        ("utm_medium", By::UtmMedium),
        ("utm_campaign", By::UtmCampaign),
        ("country", By::Country),
        ("device", By::Device),
        ("browser", By::Browser),
        ("browser_version", By::BrowserVersion),
        ("os", By::Os),
        ("os_version", By::OsVersion),
        ("event", By::Event),
    ];

    pub fn parse(name: &str) -> Option<By> {
        if let Some(key) = name.strip_prefix("prop:") {
            return (!key.is_empty() && key.chars().count() <= crate::protocol::MAX_PROP_KEY_CHARS)
                .then(|| By::Prop(key.to_string()));
        }
        By::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, by)| by.clone())
    }

    pub fn name(&self) -> String {
        match self {
            By::Prop(key) => format!("prop:{key}"),
            other => By::NAMED
                .iter()
                .find(|(_, by)| by == other)
                .map(|(n, _)| n.to_string())
                .unwrap_or_default(),
        }
    }

    /// Every dimension name, for error messages and the OpenAPI check.
    pub fn expected() -> String {
        let mut names: Vec<&str> = By::NAMED.iter().map(|(n, _)| *n).collect();
        names.push("prop:<key>");
        format!("one of {}", names.join(", "))
    }

    /// Whether a session can have several values (a page per view, an event name per event).
    pub fn is_multi(&self) -> bool {
        matches!(self, By::Page | By::Event | By::Prop(_))
    }

    /// Whether values are page paths, matched by pattern.
    fn is_path(&self) -> bool {
        matches!(self, By::Page | By::Entry | By::Exit)
    }

    /// Calls `f` with each of the session's values, each distinct value once.
    pub fn each_value(&self, s: &SessionSummary, j: &Journey, mut f: impl FnMut(&str)) {
        let one = |v: Option<&str>, f: &mut dyn FnMut(&str)| {
            if let Some(v) = v {
                f(v)
            }
        };
        let versioned = |family: &Option<String>, version: &Option<String>| match (family, version)
        {
            (Some(f), Some(v)) => Some(format!("{f} {v}")),
            _ => None,
        };
        match self {
            By::Page => {
                for (i, p) in j.pages.iter().enumerate() {
                    if j.first_view_of_page(i) {
                        f(&p.path);
                    }
                }
            }
            By::Event => {
                let mut seen: Vec<&str> = Vec::new();
                for e in &j.events {
                    if !seen.contains(&e.name.as_str()) {
                        seen.push(&e.name);
                        f(&e.name);
                    }
                }
            }
            By::Prop(key) => {
                let mut seen: Vec<&str> = Vec::new();
                for (k, v) in j.events.iter().flat_map(|e| &e.props) {
                    if k == key && !seen.contains(&v.as_str()) {
                        seen.push(v);
                        f(v);
                    }
                }
            }
            By::Entry => one(s.entry_page.as_deref(), &mut f),
            By::Exit => one(s.exit_page.as_deref(), &mut f),
            By::Referrer => one(s.referrer_host.as_deref(), &mut f),
            By::Channel => one(s.channel.map(Channel::as_str), &mut f),
            By::UtmSource => one(s.utm.source.as_deref(), &mut f),
            By::UtmMedium => one(s.utm.medium.as_deref(), &mut f),
            By::UtmCampaign => one(s.utm.campaign.as_deref(), &mut f),
            By::Country => one(s.country.as_deref(), &mut f),
            By::Device => one(s.device.map(Device::as_str), &mut f),
            By::Browser => one(s.browser.as_deref(), &mut f),
            By::Os => one(s.os.as_deref(), &mut f),
            By::BrowserVersion => one(versioned(&s.browser, &s.browser_version).as_deref(), &mut f),
            By::OsVersion => one(versioned(&s.os, &s.os_version).as_deref(), &mut f),
        }
    }
}

/// Whether `path` matches `pattern`, where `*` matches any run of characters (none
/// included) and everything else matches itself.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), path.as_bytes());
    // Greedy match with one backtrack point: the last `*` seen.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < s.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == s[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&b| b == b'*')
}

/// A step of a funnel or a goal: a page pattern or a custom event (SPEC "Steps and goals").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// A path pattern: `/pricing`, `/blog/*`, `*`.
    Page(String),
    /// `event:NAME`, or `event:NAME:KEY=VALUE` for one prop's value.
    Event {
        name: String,
        prop: Option<(String, String)>,
    },
}

impl Step {
    pub fn parse(text: &str) -> Result<Step, String> {
        if text.is_empty() {
            return Err("empty; a path like /pricing or event:NAME".into());
        }
        if text.chars().count() > MAX_FILTER_CHARS {
            return Err(format!("longer than {MAX_FILTER_CHARS} characters"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("has whitespace or a control character".into());
        }
        if let Some(rest) = text.strip_prefix("event:") {
            let (name, prop) = match rest.split_once(':') {
                None => (rest, None),
                Some((name, kv)) => {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or("a prop is written event:NAME:KEY=VALUE")?;
                    if k.is_empty() {
                        return Err("a prop is written event:NAME:KEY=VALUE".into());
                    }
                    (name, Some((k.to_string(), v.to_string())))
                }
            };
            if name.is_empty() {
                return Err("event: needs a name, event:NAME".into());
            }
            return Ok(Step::Event {
                name: name.to_string(),
                prop,
            });
        }
        if !(text.starts_with('/') || text.starts_with('*')) {
            return Err("a page path starts with / (or is a pattern starting with *)".into());
        }
        Ok(Step::Page(text.to_string()))
    }

    /// The step as it is written in a query.
    pub fn text(&self) -> String {
        match self {
            Step::Page(p) => p.clone(),
            Step::Event { name, prop: None } => format!("event:{name}"),
            Step::Event {
                name,
                prop: Some((k, v)),
            } => format!("event:{name}:{k}={v}"),
        }
    }

    /// Whether a page view or custom event of `j` is this step.
    pub fn is(&self, j: &Journey, m: Moment) -> bool {
        match (self, m) {
            (Step::Page(pattern), Moment::Page(i)) => path_matches(pattern, &j.pages[i].path),
            (Step::Event { name, prop }, Moment::Event(i)) => {
                let e = &j.events[i];
                e.name == *name
                    && prop
                        .as_ref()
                        .is_none_or(|(k, v)| e.props.iter().any(|(pk, pv)| pk == k && pv == v))
            }
            _ => false,
        }
    }

    /// A text the stored journey of every session that reached the step contains
    /// (see [`Journey::page_needle`]), if there is one.
    pub fn journey_needle(&self) -> Option<String> {
        match self {
            Step::Page(pattern) => match pattern.find('*') {
                None => Journey::page_needle(pattern, true),
                Some(0) => None,
                Some(star) => Journey::page_needle(&pattern[..star], false),
            },
            Step::Event { name, .. } => Journey::event_needle(name),
        }
    }

    /// Milliseconds from the session's start to its first reaching the step, if it did.
    pub fn first_reached(&self, j: &Journey) -> Option<i64> {
        let pages = (0..j.pages.len()).map(Moment::Page);
        let events = (0..j.events.len()).map(Moment::Event);
        pages
            .chain(events)
            .filter(|m| self.is(j, *m))
            .map(|m| j.at(m))
            .min()
    }

    pub fn reached(&self, j: &Journey) -> bool {
        self.first_reached(j).is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Is,
    IsNot,
    Contains,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Filter {
    /// A dimension's value: `is` / `is not` compare whole values (a path pattern for
    /// pages), `contains` looks for the text in any value.
    Dim { by: By, op: Op, value: String },
    /// Sessions that reached (`reached` true) or did not reach a step.
    Goal { step: Step, reached: bool },
    /// Sessions whose ID starts with this (`session=0b5f0c54`): a visitor read out the
    /// beginning of theirs.
    Session { prefix: String },
    /// Sessions that met (`met` true: `friction=rage`) or did not meet (`friction!=rage`)
    /// a kind of friction.
    Friction { kind: FrictionKind, met: bool },
}

/// The friction a session can meet, as the `friction` filter names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FrictionKind {
    /// Any of the others.
    Any,
    Rage,
    Dead,
    Error,
    /// A form started and never submitted.
    Abandoned,
}

impl FrictionKind {
    const NAMED: [(&'static str, FrictionKind); 5] = [
        ("any", FrictionKind::Any),
        ("rage", FrictionKind::Rage),
        ("dead", FrictionKind::Dead),
        ("error", FrictionKind::Error),
        ("abandoned", FrictionKind::Abandoned),
    ];

    pub fn parse(name: &str) -> Option<Self> {
        Self::NAMED
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, k)| *k)
    }

    pub fn name(self) -> &'static str {
        Self::NAMED
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("any", |(n, _)| n)
    }

    /// Every name, for the error message.
    pub fn expected() -> String {
        let names: Vec<&str> = Self::NAMED.iter().map(|(n, _)| *n).collect();
        format!("must be one of {}", names.join(", "))
    }

    /// How many of this kind the session met.
    pub fn count(self, s: &SessionSummary) -> u64 {
        let met = crate::friction::Met::of_session(s);
        match self {
            FrictionKind::Any => met.total(),
            FrictionKind::Rage => met.rage,
            FrictionKind::Dead => met.dead,
            FrictionKind::Error => met.errors,
            FrictionKind::Abandoned => met.forms_abandoned,
        }
    }
}

fn contains_ignoring_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

impl Filter {
    pub fn matches(&self, s: &SessionSummary, j: &Journey) -> bool {
        match self {
            Filter::Goal { step, reached } => step.reached(j) == *reached,
            Filter::Session { prefix } => s.id.starts_with(prefix.as_str()),
            Filter::Friction { kind, met } => (kind.count(s) > 0) == *met,
            Filter::Dim { by, op, value } => {
                let mut any = false;
                by.each_value(s, j, |v| {
                    any = any
                        || match op {
                            Op::Is | Op::IsNot if by.is_path() => path_matches(value, v),
                            Op::Is | Op::IsNot => v == value,
                            Op::Contains => contains_ignoring_ascii_case(v, value),
                        }
                });
                any != (*op == Op::IsNot)
            }
        }
    }

    /// The filter's query parameter, as [`Filters::parse_pair`] reads it.
    pub fn to_pair(&self) -> (String, String) {
        match self {
            Filter::Goal { step, reached } => (
                if *reached { "goal" } else { "goal!" }.to_string(),
                step.text(),
            ),
            Filter::Session { prefix } => ("session".to_string(), prefix.clone()),
            Filter::Friction { kind, met } => (
                if *met { "friction" } else { "friction!" }.to_string(),
                kind.name().to_string(),
            ),
            Filter::Dim { by, op, value } => {
                let suffix = match op {
                    Op::Is => "",
                    Op::IsNot => "!",
                    Op::Contains => "~",
                };
                (format!("{}{suffix}", by.name()), value.clone())
            }
        }
    }
}

/// All the filters of a request; a session must match each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters(pub Vec<Filter>);

/// Most filters one request may carry.
pub const MAX_FILTERS: usize = 20;

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, s: &SessionSummary, j: &Journey) -> bool {
        self.0.iter().all(|f| f.matches(s, j))
    }

    /// Whether any filter reads a session's journey (pages viewed, events, goals).
    pub fn need_journey(&self) -> bool {
        self.0.iter().any(|f| match f {
            Filter::Goal { .. } => true,
            Filter::Dim { by, .. } => by.is_multi(),
            Filter::Session { .. } | Filter::Friction { .. } => false,
        })
    }

    /// The `is` filters on a dimension with one plain value per session (a path without
    /// `*`): for those [`Filters::matches`] is exact equality, so a store may read only the
    /// rows whose column equals the value before the rule runs. The rule still decides; this
    /// only narrows what is read.
    pub fn equalities(&self) -> Vec<(&By, &str)> {
        self.0
            .iter()
            .filter_map(|f| match f {
                Filter::Dim {
                    by,
                    op: Op::Is,
                    value,
                } if !by.is_multi()
                    && !matches!(by, By::BrowserVersion | By::OsVersion)
                    && (!by.is_path() || !value.contains('*')) =>
                {
                    Some((by, value.as_str()))
                }
                _ => None,
            })
            .collect()
    }

    /// Reads one query parameter if it is a filter (`Ok(true)`); other names are left to the
    /// caller (`Ok(false)`).
    pub fn parse_pair(&mut self, key: &str, value: &str) -> Result<bool, ParamError> {
        let (name, op) = match (key.strip_suffix('!'), key.strip_suffix('~')) {
            (Some(n), _) => (n, Op::IsNot),
            (_, Some(n)) => (n, Op::Contains),
            _ => (key, Op::Is),
        };
        let filter = if name == "session" && op != Op::Is {
            return Err(bad(
                key,
                "a session is found by the start of its ID: session=<prefix>",
            ));
        } else if key == "session" {
            let v = value.to_ascii_lowercase();
            if v.is_empty()
                || v.len() > 36
                || !v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
            {
                return Err(bad(
                    key,
                    "the start of a session ID (hex digits and dashes)",
                ));
            }
            Filter::Session { prefix: v }
        } else if name == "friction" {
            if op == Op::Contains {
                return Err(bad(key, "friction is met or not: friction= or friction!="));
            }
            let kind =
                FrictionKind::parse(value).ok_or_else(|| bad(key, FrictionKind::expected()))?;
            Filter::Friction {
                kind,
                met: op == Op::Is,
            }
        } else if name == "goal" {
            if op == Op::Contains {
                return Err(bad(key, "a goal is reached or not: goal= or goal!="));
            }
            let step = Step::parse(value).map_err(|e| bad(key, e))?;
            Filter::Goal {
                step,
                reached: op == Op::Is,
            }
        } else if let Some(by) = By::parse(name) {
            check_filter_value(key, &by, op, value)?;
            Filter::Dim {
                by,
                op,
                value: value.to_string(),
            }
        } else {
            return Ok(false);
        };
        if self.0.len() == MAX_FILTERS {
            return Err(bad(key, format!("more than {MAX_FILTERS} filters")));
        }
        self.0.push(filter);
        Ok(true)
    }

    /// The filters as query parameters (what a saved segment stores).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.0.iter().map(Filter::to_pair).collect()
    }
}

fn check_filter_value(key: &str, by: &By, op: Op, value: &str) -> Result<(), ParamError> {
    if value.is_empty() {
        return Err(bad(key, "empty"));
    }
    if value.chars().count() > MAX_FILTER_CHARS {
        return Err(bad(
            key,
            format!("longer than {MAX_FILTER_CHARS} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(key, "has a control character"));
    }
    if op == Op::Contains {
        return Ok(());
    }
    match by {
        By::Channel if Channel::parse(value).is_none() => Err(bad(key, Channel::expected())),
        By::Device if Device::parse(value).is_none() => Err(bad(key, Device::expected())),
        By::Country if !(value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())) => {
            Err(bad(key, "must be a two-letter code like DE"))
        }
        By::Page | By::Entry | By::Exit => match Step::parse(value) {
            Ok(Step::Page(_)) => Ok(()),
            _ => Err(bad(
                key,
                "a page path like /pricing or a pattern like /blog/*",
            )),
        },
        _ => Ok(()),
    }
}

/// The period a comparison sets beside the asked one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compare {
    /// The period of equal length just before, moved back by whole weeks so weekdays line
    /// up: the 7 days before a week, the 35 days before a 30-day range (starting on the same
    /// weekday), the same weekday a week earlier for a day.
    Previous,
    /// The same dates a year before.
    Year,
}

impl Compare {
    pub fn parse(v: &str) -> Result<Compare, ParamError> {
        match v {
            "previous" => Ok(Compare::Previous),
            "year" => Ok(Compare::Year),
            _ => Err(bad("compare", "must be previous or year")),
        }
    }

    /// The compared range of `[from, to)`.
    pub fn range(self, from: i64, to: i64) -> (i64, i64) {
        match self {
            Compare::Previous => {
                let week = 7 * DAY_MS;
                let shift = (to - from + week - 1) / week * week;
                (from - shift, to - shift)
            }
            Compare::Year => (shift_years(from, -1), shift_years(to, -1)),
        }
    }
}

/// Fewest sessions either period needs before a change is stated: below it a percentage
/// says more about chance than about the site (the dashboard says "too few sessions to
/// compare").
pub const MIN_COMPARE_SESSIONS: u64 = 30;

/// The change from `before` to `now` as a fraction (0.25 = +25%), when both periods have
/// enough sessions and `before` is not 0.
pub fn change(now: f64, before: f64, sessions_now: u64, sessions_before: u64) -> Option<f64> {
    (sessions_now >= MIN_COMPARE_SESSIONS
        && sessions_before >= MIN_COMPARE_SESSIONS
        && before != 0.0)
        .then(|| (now - before) / before)
}

/// The width of a time series' points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interval {
    Hour,
    Day,
    /// ISO weeks, from Monday.
    Week,
    Month,
}

/// Most points a series may have (an hour series covers at most 31 days).
pub const MAX_POINTS: i64 = 31 * 24 + 1;

impl Interval {
    pub fn parse(v: &str) -> Result<Interval, ParamError> {
        match v {
            "hour" => Ok(Interval::Hour),
            "day" => Ok(Interval::Day),
            "week" => Ok(Interval::Week),
            "month" => Ok(Interval::Month),
            _ => Err(bad("interval", "must be hour, day, week or month")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
            Interval::Week => "week",
            Interval::Month => "month",
        }
    }

    /// What the dashboard shows without a choice: hours up to two days, days up to two
    /// months, weeks up to half a year, months beyond.
    pub fn default_for(from: i64, to: i64) -> Interval {
        match to - from {
            len if len <= 2 * DAY_MS => Interval::Hour,
            len if len <= 62 * DAY_MS => Interval::Day,
            len if len <= 190 * DAY_MS => Interval::Week,
            _ => Interval::Month,
        }
    }

    /// The start (Unix ms, UTC) of the point `t` falls in.
    pub fn bucket(self, t: i64) -> i64 {
        let day = crate::time::utc_day(t);
        match self {
            Interval::Hour => t.div_euclid(HOUR_MS) * HOUR_MS,
            Interval::Day => day * DAY_MS,
            Interval::Week => crate::time::week_start(day) * DAY_MS,
            Interval::Month => crate::time::month_start(day) * DAY_MS,
        }
    }

    /// The start of the point after the one starting at `bucket`.
    pub fn next(self, bucket: i64) -> i64 {
        match self {
            Interval::Hour => bucket + HOUR_MS,
            Interval::Day => bucket + DAY_MS,
            Interval::Week => bucket + 7 * DAY_MS,
            Interval::Month => crate::time::next_month_start(crate::time::utc_day(bucket)) * DAY_MS,
        }
    }

    /// Every point start of `[from, to)`, the first being the one `from` is in.
    pub fn buckets(self, from: i64, to: i64) -> Vec<i64> {
        let mut out = Vec::new();
        let mut b = self.bucket(from);
        while b < to && (out.len() as i64) < MAX_POINTS {
            out.push(b);
            b = self.next(b);
        }
        out
    }

    /// Whether a series of `[from, to)` stays within [`MAX_POINTS`].
    pub fn check(self, from: i64, to: i64) -> Result<(), ParamError> {
        if self == Interval::Hour && to - from > 31 * DAY_MS {
            return Err(bad("interval", "hour needs a range of 31 days or less"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::{JourneyEvent, JourneyPage};
    use crate::time::days_from_civil;

    #[test]
    fn openapi_lists_every_breakdown_dimension() {
        let openapi = include_str!("../../edge-worker/openapi.yaml");
        let names: Vec<&str> = By::NAMED.iter().map(|(n, _)| *n).collect();
        let list = format!("enum: [{}, \"prop:<key>\"]", names.join(", "));
        assert!(openapi.contains(&list), "openapi.yaml: by lists {list}");
    }

    #[test]
    fn patterns_match_runs_of_characters() {
        for (pattern, path, expected) in [
            ("/pricing", "/pricing", true),
            ("/pricing", "/pricing/", false),
            ("/blog/*", "/blog/", true),
            ("/blog/*", "/blog/a/b", true),
            ("/blog/*", "/blog", false),
            ("*", "/", true),
            ("*/edit", "/docs/1/edit", true),
            ("/a*b*c", "/aXbYbZc", true),
            ("/a*b*c", "/aXbYbZ", false),
            ("**", "", true),
        ] {
            assert_eq!(path_matches(pattern, path), expected, "{pattern} {path}");
        }
    }

    fn session() -> (SessionSummary, Journey) {
        let s = SessionSummary {
            id: "0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e".into(),
            channel: Some(Channel::Search),
            country: Some("DE".into()),
            entry_page: Some("/blog/hello".into()),
            browser: Some("Chrome".into()),
            browser_version: Some("126".into()),
            dead_clicks: 1,
            ..Default::default()
        };
        let j = Journey {
            pages: vec![
                JourneyPage {
                    path: "/blog/hello".into(),
                    at: 0,
                    active_ms: 1_000,
                    scroll: 50,
                    signals: None,
                },
                JourneyPage {
                    path: "/pricing".into(),
                    at: 5_000,
                    active_ms: 2_000,
                    scroll: 100,
                    signals: None,
                },
            ],
            events: vec![JourneyEvent {
                name: "signup".into(),
                at: 9_000,
                page: Some(1),
                props: vec![("plan".into(), "pro".into())],
            }],
            links: Vec::new(),
            truncated: false,
            marks: Vec::new(),
        };
        (s, j)
    }

    fn filters(pairs: &[(&str, &str)]) -> Result<Filters, ParamError> {
        let mut f = Filters::default();
        for (k, v) in pairs {
            assert!(f.parse_pair(k, v)?, "{k} is a filter");
        }
        Ok(f)
    }

    #[test]
    fn filters_match_is_is_not_contains_and_goals() {
        let (s, j) = session();
        for (pairs, expected) in [
            (vec![("country", "DE")], true),
            (vec![("country!", "DE")], false),
            (vec![("country", "FR")], false),
            (vec![("channel", "search"), ("country", "DE")], true),
            (vec![("channel", "search"), ("country", "FR")], false),
            (vec![("page", "/pricing")], true),
            (vec![("page", "/blog/*")], true),
            (vec![("page!", "/pricing")], false),
            (vec![("page~", "PRIC")], true),
            (vec![("entry", "/pricing")], false),
            (vec![("exit", "/x")], false),
            (vec![("browser_version", "Chrome 126")], true),
            (vec![("goal", "event:signup")], true),
            (vec![("goal", "event:signup:plan=pro")], true),
            (vec![("goal", "event:signup:plan=free")], false),
            (vec![("goal!", "/checkout")], true),
            (vec![("event", "signup")], true),
            (vec![("prop:plan", "pro")], true),
            (vec![("utm_source", "x")], false),
            (vec![("utm_source!", "x")], true),
            (vec![("session", "0B5F")], true),
            (vec![("session", "0b5f0c54-1e9c")], true),
            (vec![("session", "0b5e")], false),
            // The session met one dead click and nothing else.
            (vec![("friction", "dead")], true),
            (vec![("friction", "any")], true),
            (vec![("friction", "rage")], false),
            (vec![("friction!", "rage")], true),
            (vec![("friction!", "any")], false),
            (vec![("friction", "error"), ("friction", "dead")], false),
        ] {
            let f = filters(&pairs).unwrap();
            assert_eq!(f.matches(&s, &j), expected, "{pairs:?}");
            // Written back as parameters, the filters read the same.
            let again: Vec<(String, String)> = f.to_pairs();
            let again: Vec<(&str, &str)> = again
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(filters(&again).unwrap(), f);
        }
    }

    #[test]
    fn a_reached_step_has_its_needle_in_the_stored_journey() {
        let (_, j) = session();
        let json = j.to_json();
        for (step, needle) in [
            ("/pricing", Some(r#""u":"/pricing""#)),
            ("/blog/*", Some(r#""u":"/blog/"#)),
            ("*/hello", None),
            ("event:signup:plan=pro", Some(r#""n":"signup""#)),
        ] {
            let step = Step::parse(step).unwrap();
            assert_eq!(step.journey_needle().as_deref(), needle);
            if let Some(n) = needle {
                assert!(step.reached(&j) && json.contains(n));
            }
        }
        // A journey that viewed only /pricing/x lacks /pricing's needle; a path JSON would
        // escape has none.
        let mut other = j.clone();
        other.pages.retain(|p| p.path == "/pricing");
        other.pages[0].path = "/pricing/x".into();
        let needle = Step::parse("/pricing").unwrap().journey_needle().unwrap();
        assert!(!other.to_json().contains(&needle));
        assert_eq!(Step::Page("/caf\u{e9}".into()).journey_needle(), None);
        assert_eq!(Step::Page("/a\"b".into()).journey_needle(), None);
    }

    #[test]
    fn equalities_only_narrow_what_the_rule_decides() {
        let (s, j) = session();
        let value_of = |by: &By| {
            let mut one = None;
            by.each_value(&s, &j, |v| one = Some(v.to_string()));
            one
        };
        for (pairs, narrowed) in [
            (vec![("country", "DE")], 1),
            (vec![("country", "FR"), ("channel", "search")], 2),
            (vec![("entry", "/blog/hello")], 1),
            (vec![("entry", "/blog/*")], 0),
            (vec![("country!", "FR"), ("country~", "D")], 0),
            (
                vec![("page", "/pricing"), ("browser_version", "Chrome 126")],
                0,
            ),
            (vec![("goal", "event:signup"), ("exit", "/x")], 1),
        ] {
            let f = filters(&pairs).unwrap();
            let eq = f.equalities();
            assert_eq!(eq.len(), narrowed, "{pairs:?}");
            // A session whose column differs from an equality never matches the filters.
            if eq.iter().any(|(by, v)| value_of(by).as_deref() != Some(*v)) {
                assert!(!f.matches(&s, &j), "{pairs:?}");
            }
        }
    }

    #[test]
    fn wrong_filters_and_steps_are_named() {
        let err = |k: &str, v: &str| Filters::default().parse_pair(k, v).unwrap_err().0;
        assert!(err("channel", "tv").starts_with("channel:"));
        assert!(err("country!", "de").starts_with("country!:"));
        assert!(err("device", "watch").starts_with("device:"));
        assert!(err("page", "pricing").starts_with("page:"));
        assert!(err("goal", "event:").starts_with("goal:"));
        assert!(err("goal~", "/x").starts_with("goal~:"));
        assert!(err("goal", "event:a:b").starts_with("goal:"));
        assert!(err("referrer", "").starts_with("referrer:"));
        assert!(err("session", "xyz").starts_with("session:"));
        assert_eq!(
            err("friction", "slow"),
            "friction: must be one of any, rage, dead, error, abandoned"
        );
        assert!(err("friction~", "rage").starts_with("friction~:"));
        assert!(err("referrer", &"x".repeat(300)).starts_with("referrer:"));
        assert_eq!(Filters::default().parse_pair("site", "demo"), Ok(false));
        assert_eq!(Filters::default().parse_pair("prop:", "x"), Ok(false));
    }

    #[test]
    fn comparisons_line_up_weekdays_or_dates() {
        let day = |y, m, d| days_from_civil(y, m, d) * DAY_MS;
        // A week: the week before.
        assert_eq!(
            Compare::Previous.range(day(2026, 11, 23), day(2026, 11, 30)),
            (day(2026, 11, 16), day(2026, 11, 23))
        );
        // 30 days: moved back 35 days, so it starts on the same weekday.
        let (from, to) = Compare::Previous.range(day(2026, 11, 1), day(2026, 12, 1));
        assert_eq!((from, to), (day(2026, 9, 27), day(2026, 10, 27)));
        assert_eq!(
            crate::time::weekday(from),
            crate::time::weekday(day(2026, 11, 1))
        );
        // Today so far: the same hours a week before.
        let now = day(2026, 12, 3) + 11 * HOUR_MS;
        assert_eq!(
            Compare::Previous.range(day(2026, 12, 3), now),
            (day(2026, 11, 26), now - 7 * DAY_MS)
        );
        assert_eq!(
            Compare::Year.range(day(2026, 3, 1), day(2026, 4, 1)),
            (day(2025, 3, 1), day(2025, 4, 1))
        );
    }

    #[test]
    fn changes_need_enough_sessions_on_both_sides() {
        assert_eq!(change(150.0, 100.0, 150, 100), Some(0.5));
        assert_eq!(change(150.0, 100.0, 150, 29), None);
        assert_eq!(change(5.0, 0.0, 40, 40), None, "no change from zero");
    }

    #[test]
    fn series_points_cover_the_range_in_calendar_units() {
        let day = |y, m, d| days_from_civil(y, m, d) * DAY_MS;
        let months = Interval::Month.buckets(day(2025, 12, 3), day(2026, 12, 3) + 1);
        assert_eq!(months.len(), 13);
        assert_eq!(months[0], day(2025, 12, 1));
        assert_eq!(months[12], day(2026, 12, 1));
        let weeks = Interval::Week.buckets(day(2026, 11, 4), day(2026, 11, 18));
        assert_eq!(
            weeks,
            vec![day(2026, 11, 2), day(2026, 11, 9), day(2026, 11, 16)]
        );
        assert_eq!(
            Interval::Hour
                .buckets(day(2026, 1, 1), day(2026, 1, 2))
                .len(),
            24
        );
        assert!(Interval::Hour.check(0, 32 * DAY_MS).is_err());
        assert_eq!(Interval::default_for(0, DAY_MS), Interval::Hour);
        assert_eq!(Interval::default_for(0, 30 * DAY_MS), Interval::Day);
        assert_eq!(Interval::default_for(0, 90 * DAY_MS), Interval::Week);
        assert_eq!(Interval::default_for(0, 365 * DAY_MS), Interval::Month);
    }
}
