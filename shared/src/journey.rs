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
    /// Whether pages or events past the bounds were left out.
    #[serde(rename = "cut", default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// One page view: `weburl::page_of` of its URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    /// Whether any page it viewed matches.
    pub fn has_page(&self, matches: impl Fn(&str) -> bool) -> bool {
        self.pages.iter().any(|p| matches(&p.path))
    }
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
