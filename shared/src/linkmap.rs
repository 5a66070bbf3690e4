//! Link maps (`GET /api/links?page=`): every link clicked on a page, keyed by the link
//! (its scrubbed href), never by coordinates or screenshots: clicks, sessions that clicked
//! it, its share of the page's link clicks, and whether it leaves the site or downloads a
//! file. Read from each session's [`Journey`] links.

use crate::journey::Journey;
use crate::query::path_matches;
use crate::report::fold_rare;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most links an answer lists.
pub const MAX_LINKS: usize = 500;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkCell {
    pub clicks: u64,
    pub sessions: u64,
    pub outbound: bool,
    pub download: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkMap {
    /// The page: a path or a pattern (`/blog/*`).
    pub page: String,
    /// Sessions that viewed the page.
    pub sessions: u64,
    /// Sessions that clicked any link on it.
    pub clicking_sessions: u64,
    pub clicks: u64,
    pub links: BTreeMap<String, LinkCell>,
}

impl LinkMap {
    pub fn new(page: String) -> LinkMap {
        LinkMap {
            page,
            sessions: 0,
            clicking_sessions: 0,
            clicks: 0,
            links: BTreeMap::new(),
        }
    }

    pub fn add(&mut self, j: &Journey) {
        let on_page = |i: u32| {
            j.pages
                .get(i as usize)
                .is_some_and(|p| path_matches(&self.page, &p.path))
        };
        if !j.has_page(|p| path_matches(&self.page, p)) {
            return;
        }
        self.sessions += 1;
        // A session's clicks on one href (from several views of the page) add up; it
        // counts once among the link's sessions.
        let mut mine: BTreeMap<&str, LinkCell> = BTreeMap::new();
        for l in j.links.iter().filter(|l| on_page(l.page)) {
            let cell = mine.entry(&l.href).or_default();
            cell.clicks += u64::from(l.clicks);
            cell.outbound |= l.outbound;
            cell.download |= l.download;
        }
        if mine.is_empty() {
            return;
        }
        self.clicking_sessions += 1;
        for (href, cell) in mine {
            self.clicks += cell.clicks;
            let total = match self.links.get_mut(href) {
                Some(total) => total,
                None => self.links.entry(href.to_string()).or_default(),
            };
            total.clicks += cell.clicks;
            total.sessions += 1;
            total.outbound |= cell.outbound;
            total.download |= cell.download;
        }
    }

    pub fn merge(&mut self, other: LinkMap) {
        self.sessions += other.sessions;
        self.clicking_sessions += other.clicking_sessions;
        self.clicks += other.clicks;
        for (href, theirs) in other.links {
            let mine = self.links.entry(href).or_default();
            mine.clicks += theirs.clicks;
            mine.sessions += theirs.sessions;
            mine.outbound |= theirs.outbound;
            mine.download |= theirs.download;
        }
    }

    /// Links by clicks (most first, ties by href), at most `limit`; links clicked by fewer
    /// than `min_sessions` sessions are added up into `other` (clicks).
    pub fn finish(&self, limit: usize, min_sessions: u64) -> (Vec<LinkOut>, u64) {
        let rows: Vec<(&String, &LinkCell)> = self.links.iter().collect();
        let rare = fold_rare(rows, |(_, c)| c.sessions, min_sessions);
        let mut out: Vec<LinkOut> = rare
            .kept
            .into_iter()
            .map(|(href, c)| LinkOut {
                href: href.clone(),
                clicks: c.clicks,
                sessions: c.sessions,
                share: if self.clicks == 0 {
                    0.0
                } else {
                    c.clicks as f64 / self.clicks as f64
                },
                outbound: c.outbound,
                download: c.download,
            })
            .collect();
        out.sort_by(|a, b| b.clicks.cmp(&a.clicks).then(a.href.cmp(&b.href)));
        let past: u64 = out.iter().skip(limit).map(|l| l.clicks).sum();
        out.truncate(limit);
        let other = rare.other.iter().map(|(_, c)| c.clicks).sum::<u64>() + past;
        (out, other)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkOut {
    pub href: String,
    pub clicks: u64,
    pub sessions: u64,
    /// Of all link clicks on the page, 0–1.
    pub share: f64,
    pub outbound: bool,
    pub download: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::{JourneyLink, JourneyPage};

    fn journey(pages: &[&str], links: &[(u32, &str, u32)]) -> Journey {
        Journey {
            pages: pages
                .iter()
                .map(|p| JourneyPage {
                    path: p.to_string(),
                    at: 0,
                    active_ms: 0,
                    scroll: 0,
                    signals: None,
                })
                .collect(),
            links: links
                .iter()
                .map(|&(page, href, clicks)| JourneyLink {
                    page,
                    href: href.into(),
                    clicks,
                    outbound: href.starts_with("https://example.org"),
                    download: href.ends_with(".pdf"),
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn links_of_a_page_with_clicks_sessions_share_and_kind() {
        let mut m = LinkMap::new("/".into());
        // Two views of / in one session: its clicks add up, one session.
        m.add(&journey(
            &["/", "/pricing", "/"],
            &[
                (0, "https://demo.local/pricing", 1),
                (2, "https://demo.local/pricing", 2),
                (1, "https://demo.local/signup", 5),
            ],
        ));
        m.add(&journey(
            &["/"],
            &[
                (0, "https://example.org/", 1),
                (0, "https://demo.local/guide.pdf", 1),
            ],
        ));
        m.add(&journey(&["/"], &[]));
        m.add(&journey(&["/docs"], &[(0, "https://demo.local/", 4)]));
        let (links, other) = m.finish(10, 1);
        assert_eq!(m.sessions, 3);
        assert_eq!(m.clicking_sessions, 2);
        assert_eq!(m.clicks, 5);
        let got: Vec<(&str, u64, u64, bool, bool)> = links
            .iter()
            .map(|l| {
                (
                    l.href.as_str(),
                    l.clicks,
                    l.sessions,
                    l.outbound,
                    l.download,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("https://demo.local/pricing", 3, 1, false, false),
                ("https://demo.local/guide.pdf", 1, 1, false, true),
                ("https://example.org/", 1, 1, true, false),
            ]
        );
        assert_eq!(links[0].share, 0.6);
        assert_eq!(other, 0);
        let (links, other) = m.finish(1, 1);
        assert_eq!(links.len(), 1);
        assert_eq!(other, 2);
        let (links, other) = m.finish(10, 2);
        assert!(links.is_empty());
        assert_eq!(other, 5);
    }
}
