//! What a session did, in order and compact: the pages it viewed (by path, with the engaged
//! time and scroll depth of each), the custom events it sent (name, page, props) and the
//! links it clicked on each page (href, clicks). An index
//! shard keeps one per session beside its summary; breakdowns by page and event, the `page=`
//! and `goal=` filters and (next) funnels and paths read it.
//!
//! A journey is bounded so an index row stays small whatever a client sends: at most
//! [`MAX_JOURNEY_PAGES`] pages, [`MAX_JOURNEY_EVENTS`] events (the earliest, in session
//! order, so the result does not depend on arrival order) and [`MAX_JOURNEY_LINKS`] links
//! (the first pages' first, by href), prop keys and values as the wire protocol caps them. Times are offsets from the session's start.

use serde::{Deserialize, Serialize};

pub const MAX_JOURNEY_PAGES: usize = 100;
pub const MAX_JOURNEY_EVENTS: usize = 50;
pub const MAX_JOURNEY_LINKS: usize = 50;
/// Rage-click, dead-click, error and abandoned-form labels kept per session.
pub const MAX_JOURNEY_MARKS: usize = 30;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    /// Pages viewed, in page-view order.
    #[serde(rename = "p", default)]
    pub pages: Vec<JourneyPage>,
    /// Custom events, in time order.
    #[serde(rename = "e", default)]
    pub events: Vec<JourneyEvent>,
    /// Links clicked, by page position and href.
    #[serde(rename = "l", default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<JourneyLink>,
    /// What frustrated the visitor where: rage and dead clicks by element, errors by type
    /// and script line, forms started and never submitted, by page position.
    #[serde(rename = "m", default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<JourneyMark>,
    /// Whether pages or events past the bounds were left out.
    #[serde(rename = "cut", default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One page view: `weburl::page_of` of its URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JourneyPage {
    #[serde(rename = "u")]
    pub path: String,
    /// Milliseconds from the session's start to the page view.
    #[serde(rename = "t")]
    pub at: i64,
    #[serde(rename = "a")]
    pub active_ms: u64,
    #[serde(rename = "s")]
    pub scroll: u8,
    /// Friction and speed on this page view, when it has any.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub signals: Option<PageSignals>,
}

/// The friction and speed signals of one page view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PageSignals {
    #[serde(rename = "r", skip_serializing_if = "is_zero")]
    pub rage: u32,
    #[serde(rename = "d", skip_serializing_if = "is_zero")]
    pub dead: u32,
    #[serde(rename = "x", skip_serializing_if = "is_zero")]
    pub errors: u32,
    /// Forms first started on this page, and those of them never submitted.
    #[serde(rename = "fs", skip_serializing_if = "is_zero")]
    pub forms_started: u32,
    #[serde(rename = "fa", skip_serializing_if = "is_zero")]
    pub forms_abandoned: u32,
    #[serde(
        rename = "v",
        skip_serializing_if = "crate::protocol::Vitals::is_empty"
    )]
    pub vitals: crate::protocol::Vitals,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl PageSignals {
    pub fn is_empty(&self) -> bool {
        self == &PageSignals::default()
    }
}

/// Rage clicks (`rage`), dead clicks (`dead`) or errors (`error`) of one label on one page,
/// or a form (`form`) started there and never submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyMark {
    #[serde(rename = "i")]
    pub page: u32,
    #[serde(rename = "k")]
    pub kind: String,
    #[serde(rename = "l")]
    pub label: String,
    #[serde(rename = "n")]
    pub n: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyEvent {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "t")]
    pub at: i64,
    /// Position in [`Journey::pages`] of the page it was sent on, if that page is kept.
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// Props as text (`true`, `12.5`), in key order.
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    pub props: Vec<(String, String)>,
}

/// Clicks on one link of one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyLink {
    /// Position in [`Journey::pages`] of the page it was clicked on.
    #[serde(rename = "i")]
    pub page: u32,
    /// The scrubbed href.
    #[serde(rename = "h")]
    pub href: String,
    #[serde(rename = "n")]
    pub clicks: u32,
    #[serde(rename = "o", default, skip_serializing_if = "std::ops::Not::not")]
    pub outbound: bool,
    #[serde(rename = "d", default, skip_serializing_if = "std::ops::Not::not")]
    pub download: bool,
}

impl Journey {
    /// Whether view `i` is the first view of its page in the journey: a session counts once
    /// per page, however often it came back (breakdowns by page and the `page=` filter).
    pub fn first_view_of_page(&self, i: usize) -> bool {
        let path = &self.pages[i].path;
        !self.pages[..i].iter().any(|p| p.path == *path)
    }

    /// The journey as an index stores it.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// A stored journey; an absent or unreadable one is empty (sessions an older release
    /// indexed have none).
    pub fn from_json(json: Option<&str>) -> Journey {
        json.and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }

    /// A text that the stored form ([`Journey::to_json`]) of every journey with a page whose
    /// path starts with `prefix` (is `prefix`, when `whole`) contains, so a store may skip
    /// the rest unread. `None` where escaping could make the stored text differ (quotes,
    /// backslashes, control or non-ASCII characters).
    pub fn page_needle(prefix: &str, whole: bool) -> Option<String> {
        plain(prefix).then(|| format!("\"u\":\"{prefix}{}", if whole { "\"" } else { "" }))
    }

    /// As [`Journey::page_needle`], for a custom event's name.
    pub fn event_needle(name: &str) -> Option<String> {
        plain(name).then(|| format!("\"n\":\"{name}\""))
    }

    /// Whether any page it viewed matches.
    pub fn has_page(&self, matches: impl Fn(&str) -> bool) -> bool {
        self.pages.iter().any(|p| matches(&p.path))
    }

    /// Its page views and custom events in time order (a page view before the events of the
    /// same millisecond). A page viewed again right after itself (a reload, an SPA route
    /// pushed twice) is one moment: funnels, paths and "went next" count it once.
    pub fn moments(&self) -> Vec<Moment> {
        let mut all: Vec<(i64, u8, usize, Moment)> = Vec::new();
        all.extend(
            self.pages
                .iter()
                .enumerate()
                .map(|(i, p)| (p.at, 0, i, Moment::Page(i))),
        );
        all.extend(
            self.events
                .iter()
                .enumerate()
                .map(|(i, e)| (e.at, 1, i, Moment::Event(i))),
        );
        all.sort_by_key(|&(at, kind, i, _)| (at, kind, i));
        let mut out: Vec<Moment> = Vec::with_capacity(all.len());
        for (_, _, _, m) in all {
            if let (Moment::Page(i), Some(&Moment::Page(prev))) = (m, out.last()) {
                if self.pages[i].path == self.pages[prev].path {
                    continue;
                }
            }
            out.push(m);
        }
        out
    }

    /// Milliseconds from the session's start to the moment.
    pub fn at(&self, m: Moment) -> i64 {
        match m {
            Moment::Page(i) => self.pages[i].at,
            Moment::Event(i) => self.events[i].at,
        }
    }

    /// Position in [`Journey::pages`] of the page the moment happened on: an event whose
    /// page was not kept counts on the last page viewed before it.
    pub fn page_at(&self, m: Moment) -> Option<usize> {
        match m {
            Moment::Page(i) => Some(i),
            Moment::Event(i) => {
                let e = &self.events[i];
                e.page.map(|p| p as usize).or_else(|| {
                    self.pages
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| p.at <= e.at)
                        .map(|(i, _)| i)
                        .next_back()
                })
            }
        }
    }

    /// Engaged time from moment `a` to the later moment `b`, as far as time per page tells:
    /// the pages from `a`'s up to `b`'s, `b`'s own page counted when `b` is an event on it
    /// (the time there led up to it) and not when `b` is viewing it.
    pub fn engaged_between(&self, a: Moment, b: Moment) -> u64 {
        let (Some(pa), Some(pb)) = (self.page_at(a), self.page_at(b)) else {
            return 0;
        };
        let end = match b {
            Moment::Event(_) => pb + 1,
            Moment::Page(_) => pb,
        };
        self.pages
            .get(pa.min(end)..end.max(pa).min(self.pages.len()))
            .map_or(0, |pages| pages.iter().map(|p| p.active_ms).sum())
    }

    /// The first page viewed after moment `m` (of `moments`, at position `from`) on another
    /// path than the page `m` happened on: where the session went next (`None`: it left).
    pub fn next_page(&self, moments: &[Moment], from: usize) -> Option<&str> {
        let here = self
            .page_at(moments[from])
            .map(|p| self.pages[p].path.as_str());
        moments[from + 1..].iter().find_map(|m| match *m {
            Moment::Page(i) if Some(self.pages[i].path.as_str()) != here => {
                Some(self.pages[i].path.as_str())
            }
            _ => None,
        })
    }
}

/// Whether JSON writes `text` as it is (printable ASCII without `"` or `\`).
fn plain(text: &str) -> bool {
    text.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// A page view (its position in [`Journey::pages`]) or a custom event (in
/// [`Journey::events`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Page(usize),
    Event(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_compact_and_reads_back() {
        let j = Journey {
            pages: vec![JourneyPage {
                path: "/pricing".into(),
                at: 0,
                active_ms: 4_500,
                scroll: 80,
                signals: None,
            }],
            events: vec![JourneyEvent {
                name: "signup".into(),
                at: 3_000,
                page: Some(0),
                props: vec![("plan".into(), "pro".into())],
            }],
            links: vec![JourneyLink {
                page: 0,
                href: "https://example.org/".into(),
                clicks: 2,
                outbound: true,
                download: false,
            }],
            truncated: false,
            marks: Vec::new(),
        };
        let json = j.to_json();
        assert_eq!(
            json,
            r#"{"p":[{"u":"/pricing","t":0,"a":4500,"s":80}],"e":[{"n":"signup","t":3000,"i":0,"k":[["plan","pro"]]}],"l":[{"i":0,"h":"https://example.org/","n":2,"o":true}]}"#
        );
        assert_eq!(Journey::from_json(Some(&json)), j);
        assert_eq!(Journey::from_json(None), Journey::default());
        assert_eq!(Journey::from_json(Some("not json")), Journey::default());
    }
}
