//! The session reducer: folds validated batches into a session's summary and pages.
//!
//! Invariant: for a given set of distinct batches, the resulting state is the same whatever
//! order they arrive in. Every field is therefore a commutative fold — sums, maxima, minima,
//! or "the value from the lowest page index / lowest seq" — never "the first one we saw".
//! Deduplication by `(sid, seq)` is the caller's job (the session object keeps the seqs it
//! has applied); [`SessionState::apply`] assumes each batch arrives once.

use crate::journey::{
    Journey, JourneyEvent, JourneyLink, JourneyMark, JourneyPage, PageSignals, MAX_JOURNEY_EVENTS,
    MAX_JOURNEY_LINKS, MAX_JOURNEY_MARKS, MAX_JOURNEY_PAGES,
};
use crate::protocol::PropValue;
use crate::protocol::{Batch, Event, EventKind, Vitals, MAX_ERRORS_PER_PAGE};
use crate::time::{clamp_client_ts, weekday};
use crate::vocab::{BotReason, Channel, Device};
use crate::weburl::{
    android_app, host_of, page_of, query_param, referrer_source, scrub, scrub_referrer,
};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A prop's value as text, as breakdowns and goals compare it.
pub fn prop_text(v: &PropValue) -> String {
    match v {
        PropValue::Str(s) => s.clone(),
        PropValue::Num(n) => n.to_string(),
        PropValue::Bool(b) => b.to_string(),
    }
}

/// What the read API lists for each session. Field names are the contract (SPEC "Summary").
/// A field a later release adds reads as its default from what this one stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionSummary {
    pub id: String,
    pub site: String,
    /// Earliest event time (client clock, clamped), Unix ms.
    pub started_at: i64,
    pub last_seen_at: i64,
    pub duration_ms: i64,
    /// Engaged time: visible, focused and recently used.
    pub active_ms: u64,
    pub pageviews: u32,
    pub clicks: u32,
    pub outbound_clicks: u32,
    /// Custom events.
    pub events: u32,
    pub max_scroll: u8,
    /// Path of the page with the lowest index (pages are grouped by path).
    pub entry_page: Option<String>,
    /// Path of the page with the highest index.
    pub exit_page: Option<String>,
    pub referrer_host: Option<String>,
    pub channel: Option<Channel>,
    pub utm: Utm,
    pub country: Option<String>,
    pub device: Option<Device>,
    /// OS family (`Android`); its major version apart, in `os_version`.
    pub os: Option<String>,
    pub os_version: Option<String>,
    /// Browser family (`Chrome`, `Google app`); its major version apart, in
    /// `browser_version`.
    pub browser: Option<String>,
    pub browser_version: Option<String>,
    /// `None` for a human; otherwise why the session is taken for a bot, as a
    /// [`BotReason`] (`search_engine`, `headless`, …).
    pub bot: Option<String>,
    /// The bot's name where the list knows it (`Googlebot`).
    pub bot_name: Option<String>,
    pub bounce: bool,
    /// 0 = Sunday, UTC.
    pub weekday: u8,
    /// Friction (SPEC "Friction and speed signals"): rage and dead clicks, uncaught errors
    /// (at most 10 a page), forms started, submitted, and started but never submitted.
    pub rage_clicks: u32,
    pub dead_clicks: u32,
    pub errors: u32,
    pub forms_started: u32,
    pub forms_submitted: u32,
    pub forms_abandoned: u32,
    /// Largest contentful paint of the entry page; the worst interaction to next paint and
    /// cumulative layout shift of any page.
    pub lcp_ms: Option<u32>,
    pub inp_ms: Option<u32>,
    pub cls: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utm {
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub term: Option<String>,
    pub content: Option<String>,
}

/// One page view within a session (SPEC "Page").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PageRecord {
    pub index: u32,
    /// Scrubbed URL; `None` while only engagement for this page has arrived.
    pub url: Option<String>,
    pub title: Option<String>,
    pub entered_at: Option<i64>,
    pub active_ms: u64,
    pub max_scroll: u8,
    pub clicks: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub referrer: Option<String>,
    pub rage_clicks: u32,
    pub dead_clicks: u32,
    /// At most [`MAX_ERRORS_PER_PAGE`].
    pub errors: u32,
    /// Page speed: TTFB, FCP, LCP and load for the first page of a load, INP and CLS for
    /// every page (each the largest reported).
    pub vitals: Vitals,
}

impl SessionSummary {
    /// Reads a summary as releases before wave 2 stored it: browser and OS with the major
    /// version in one string (`Chrome 126`), entry and exit pages with kept query
    /// parameters. Idempotent; a summary this release wrote is left as it is.
    pub fn upgrade(&mut self) {
        split_version(&mut self.browser, &mut self.browser_version);
        split_version(&mut self.os, &mut self.os_version);
        for page in [&mut self.entry_page, &mut self.exit_page]
            .into_iter()
            .flatten()
        {
            if let Some(i) = page.find('?') {
                page.truncate(i);
            }
        }
    }
}

/// `Chrome 126` → (`Chrome`, `126`), when no version is stored apart yet.
fn split_version(family: &mut Option<String>, version: &mut Option<String>) {
    let Some(name) = family.as_mut() else {
        return;
    };
    if version.is_some() {
        return;
    }
    if let Some((head, major)) = name.rsplit_once(' ') {
        if !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) {
            *version = Some(major.to_string());
            name.truncate(head.len());
        }
    }
}

/// Facts the collector knows about a batch that the batch itself does not carry. Only
/// verdicts: the IP address and User-Agent they were derived from never reach the reducer.
#[derive(Debug, Clone, Default)]
pub struct BatchContext {
    /// Collector's receive time, Unix ms.
    pub received_at: i64,
    /// Query parameters the site keeps besides `utm_*`.
    pub keep_params: Vec<String>,
    /// ISO country code from the edge.
    pub country: Option<String>,
    pub device: Option<Device>,
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub browser: Option<String>,
    pub browser_version: Option<String>,
    /// Bot reason from the User-Agent, as [`BotReason::as_str`] spells it.
    pub ua_bot: Option<String>,
    pub bot_name: Option<String>,
}

/// Largest stored state of one session (its summary and pages as JSON). An honest session
/// of 500 pages needs a few hundred KB at most; a Durable Object row holds 2 MB.
pub const MAX_STORED_STATE_BYTES: usize = 1024 * 1024;

/// The bot reason a session shows when several apply: Stint's own verdicts, then the list's
/// categories, then the legacy and the weakest.
fn shown_first(reasons: u32) -> Option<BotReason> {
    let bit = |r: BotReason| 1u32 << BotReason::ALL.iter().position(|x| *x == r).unwrap_or(31);
    let mut order: Vec<BotReason> = vec![BotReason::Headless, BotReason::Webdriver];
    order.extend(BotReason::ALL.iter().copied().filter(|r| {
        !matches!(
            r,
            BotReason::Headless | BotReason::Webdriver | BotReason::ListedBot | BotReason::EmptyUa
        )
    }));
    order.extend([BotReason::ListedBot, BotReason::EmptyUa]);
    order.into_iter().find(|r| reasons & bit(*r) != 0)
}

/// Everything the reducer needs to carry between batches. Stored as JSON in the session
/// object's `state` row (whose table version the object keeps): every field has a default,
/// so state a previous release wrote reads, and fields a later release adds are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionState {
    pub summary: SessionSummary,
    /// Sorted by `index`.
    pub pages: Vec<PageRecord>,
    /// Lowest seq whose edge facts (country, device, OS, browser) are shown, so the values
    /// do not depend on arrival order.
    #[serde(default)]
    edge_seq: Option<u32>,
    /// Every bot reason any batch has shown, as bits in [`BotReason::ALL`] order (a union,
    /// so order-free). The first four bits are those releases before wave 2 stored.
    #[serde(default)]
    bot_reasons: u32,
    /// Lowest seq whose batch named a bot (`bot_name`), so the name is order-free too.
    #[serde(default)]
    bot_name_seq: Option<u32>,
    /// Events stored so far, against `MAX_EVENTS_PER_SESSION`.
    pub stored_events: u32,
    /// The earliest custom events (at most `journey::MAX_JOURNEY_EVENTS`, by time, page,
    /// name and props: the smallest of all seen, so order-free), for the journey.
    #[serde(default)]
    custom: Vec<CustomRecord>,
    /// Clicked links counted per page and href (at most `journey::MAX_JOURNEY_LINKS`, the
    /// smallest by page index and href: a key past the bound never returns, so the counts
    /// kept are whole and order-free), for link maps. Sessions stored before links were
    /// kept have none for their earlier clicks.
    #[serde(default)]
    links: Vec<LinkRecord>,
    /// Forms started or submitted, by name (at most [`MAX_FORMS`], the smallest names, so
    /// order-free like the links).
    #[serde(default)]
    forms: Vec<FormRecord>,
    /// Rage clicks, dead clicks and errors counted per page, kind and label (at most
    /// `journey::MAX_JOURNEY_MARKS`, the smallest keys), for the Friction view.
    #[serde(default)]
    marks: Vec<MarkRecord>,
}

/// Forms a session keeps (more in one session is not a form, it is a test page).
pub const MAX_FORMS: usize = 20;

/// One form of the session: the lowest page index it was started on, and submitted on
/// (minima, so order-free).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FormRecord {
    form: String,
    started: Option<u32>,
    submitted: Option<u32>,
}

impl FormRecord {
    fn abandoned(&self) -> bool {
        self.started.is_some() && self.submitted.is_none()
    }
}

/// Rage clicks, dead clicks or errors of one label on one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MarkRecord {
    page: u32,
    /// `rage`, `dead` or `error`.
    kind: String,
    label: String,
    n: u32,
}

/// Clicks on one link of one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LinkRecord {
    page: u32,
    href: String,
    n: u32,
    outbound: bool,
    download: bool,
}

/// A custom event as the journey keeps it.
#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize)]
struct CustomRecord {
    ts: i64,
    page: u32,
    name: String,
    props: Vec<(String, String)>,
}

impl Default for SessionSummary {
    fn default() -> Self {
        SessionState::new("", "").summary
    }
}

impl Default for SessionState {
    fn default() -> Self {
        SessionState::new("", "")
    }
}

impl SessionState {
    pub fn new(site: &str, sid: &str) -> Self {
        SessionState {
            summary: SessionSummary {
                id: sid.to_string(),
                site: site.to_string(),
                started_at: i64::MAX,
                last_seen_at: i64::MIN,
                duration_ms: 0,
                active_ms: 0,
                pageviews: 0,
                clicks: 0,
                outbound_clicks: 0,
                events: 0,
                max_scroll: 0,
                entry_page: None,
                exit_page: None,
                referrer_host: None,
                channel: None,
                utm: Utm::default(),
                country: None,
                device: None,
                os: None,
                os_version: None,
                browser: None,
                browser_version: None,
                bot: None,
                bot_name: None,
                bounce: true,
                weekday: 0,
                rage_clicks: 0,
                dead_clicks: 0,
                errors: 0,
                forms_started: 0,
                forms_submitted: 0,
                forms_abandoned: 0,
                lcp_ms: None,
                inp_ms: None,
                cls: None,
            },
            pages: Vec::new(),
            edge_seq: None,
            bot_reasons: 0,
            bot_name_seq: None,
            stored_events: 0,
            custom: Vec::new(),
            links: Vec::new(),
            forms: Vec::new(),
            marks: Vec::new(),
        }
    }

    /// What the session did, as the index keeps it (see [`crate::journey`]).
    pub fn journey(&self) -> Journey {
        let start = self.summary.started_at;
        let mut position = std::collections::BTreeMap::new();
        let mut pages = Vec::new();
        for p in self.pages.iter().filter(|p| p.url.is_some()) {
            if pages.len() == MAX_JOURNEY_PAGES {
                break;
            }
            position.insert(p.index, pages.len() as u32);
            let forms = self.forms.iter().filter(|f| f.started == Some(p.index));
            let signals = PageSignals {
                rage: p.rage_clicks,
                dead: p.dead_clicks,
                errors: p.errors,
                forms_started: forms.clone().count() as u32,
                forms_abandoned: forms.filter(|f| f.abandoned()).count() as u32,
                vitals: p.vitals,
            };
            pages.push(JourneyPage {
                path: p.url.as_deref().map(page_of).unwrap_or_default(),
                at: p.entered_at.unwrap_or(start).saturating_sub(start).max(0),
                active_ms: p.active_ms,
                scroll: p.max_scroll,
                signals: (!signals.is_empty()).then_some(signals),
            });
        }
        let viewed = self.pages.iter().filter(|p| p.url.is_some()).count();
        let events = self
            .custom
            .iter()
            .map(|c| JourneyEvent {
                name: c.name.clone(),
                at: c.ts.saturating_sub(start).max(0),
                page: position.get(&c.page).copied(),
                props: c.props.clone(),
            })
            .collect();
        let links = self
            .links
            .iter()
            .filter_map(|l| {
                Some(JourneyLink {
                    page: *position.get(&l.page)?,
                    href: l.href.clone(),
                    clicks: l.n,
                    outbound: l.outbound,
                    download: l.download,
                })
            })
            .collect();
        let abandoned = self.forms.iter().filter_map(|f| {
            Some((
                f.started.filter(|_| f.abandoned())?,
                "form",
                f.form.as_str(),
                1,
            ))
        });
        let mut marks: Vec<JourneyMark> = self
            .marks
            .iter()
            .map(|m| (m.page, m.kind.as_str(), m.label.as_str(), m.n))
            .chain(abandoned)
            .filter_map(|(page, kind, label, n)| {
                Some(JourneyMark {
                    page: *position.get(&page)?,
                    kind: kind.to_string(),
                    label: label.to_string(),
                    n,
                })
            })
            .collect();
        marks.truncate(MAX_JOURNEY_MARKS);
        Journey {
            pages,
            events,
            links,
            marks,
            truncated: viewed > MAX_JOURNEY_PAGES
                || self.summary.events as usize > self.custom.len(),
        }
    }

    /// Counts a click on `href` from page `page` (see [`SessionState::links`]).
    fn count_link(&mut self, page: u32, href: &str, outbound: bool, download: bool) {
        if href.is_empty() {
            return;
        }
        let key = |l: &LinkRecord| (l.page, l.href.as_str()).cmp(&(page, href));
        match self.links.binary_search_by(key) {
            Ok(at) => {
                let link = &mut self.links[at];
                link.n = link.n.saturating_add(1);
                link.outbound |= outbound;
                link.download |= download;
            }
            Err(at) if at < MAX_JOURNEY_LINKS => {
                self.links.insert(
                    at,
                    LinkRecord {
                        page,
                        href: href.to_string(),
                        n: 1,
                        outbound,
                        download,
                    },
                );
                self.links.truncate(MAX_JOURNEY_LINKS);
            }
            Err(_) => {}
        }
    }

    /// Counts one rage click, dead click or error of `label` on page `page` (see
    /// [`SessionState::marks`]), up to `cap` (an error's label counts at most as many as its
    /// page's errors do; several labels may still add up to more).
    fn count_mark(&mut self, page: u32, kind: &str, label: &str, cap: u32) {
        let key =
            |m: &MarkRecord| (m.page, m.kind.as_str(), m.label.as_str()).cmp(&(page, kind, label));
        match self.marks.binary_search_by(key) {
            Ok(at) => self.marks[at].n = self.marks[at].n.saturating_add(1).min(cap),
            Err(at) if at < MAX_JOURNEY_MARKS => {
                self.marks.insert(
                    at,
                    MarkRecord {
                        page,
                        kind: kind.to_string(),
                        label: label.to_string(),
                        n: 1,
                    },
                );
                self.marks.truncate(MAX_JOURNEY_MARKS);
            }
            Err(_) => {}
        }
    }

    /// A form started or submitted on page `page` (see [`SessionState::forms`]).
    fn note_form(&mut self, page: u32, form: &str, submit: bool) {
        let at = match self.forms.binary_search_by(|f| f.form.as_str().cmp(form)) {
            Ok(at) => at,
            Err(at) if at < MAX_FORMS => {
                self.forms.insert(
                    at,
                    FormRecord {
                        form: form.to_string(),
                        started: None,
                        submitted: None,
                    },
                );
                self.forms.truncate(MAX_FORMS);
                at
            }
            Err(_) => return,
        };
        let f = &mut self.forms[at];
        let slot = if submit {
            &mut f.submitted
        } else {
            &mut f.started
        };
        *slot = Some(slot.map_or(page, |p| p.min(page)));
    }

    /// Whether storing `events` more events would pass the per-session cap
    /// (`MAX_EVENTS_PER_SESSION`); such a batch is refused whole, never cut.
    pub fn would_exceed_cap(&self, events: usize) -> bool {
        u64::from(self.stored_events) + events as u64
            > u64::from(crate::protocol::MAX_EVENTS_PER_SESSION)
    }

    /// The state as the session object stores it (one SQLite row), or `None` when it would
    /// be over [`MAX_STORED_STATE_BYTES`]. Every batch is within the body limit, but 500
    /// pages of 2048-character URLs, referrers and titles in multi-byte characters add up
    /// to megabytes — past the 2 MB a Durable Object row may hold, where the write would
    /// fail on every later batch. Such a batch is refused whole instead, like one past the
    /// event cap, and the session keeps what it had.
    pub fn stored_json(&self) -> Option<String> {
        let json = serde_json::to_string(self).ok()?;
        (json.len() <= MAX_STORED_STATE_BYTES).then_some(json)
    }

    /// Whether any batch has been applied.
    pub fn is_empty(&self) -> bool {
        self.summary.started_at == i64::MAX
    }

    fn page_mut(&mut self, index: u32) -> &mut PageRecord {
        let pos = match self.pages.binary_search_by_key(&index, |p| p.index) {
            Ok(pos) => pos,
            Err(pos) => {
                self.pages.insert(
                    pos,
                    PageRecord {
                        index,
                        url: None,
                        title: None,
                        entered_at: None,
                        active_ms: 0,
                        max_scroll: 0,
                        ..PageRecord::default()
                    },
                );
                pos
            }
        };
        &mut self.pages[pos]
    }

    /// Folds one batch (already validated, not seen before) into the state.
    pub fn apply(&mut self, batch: &Batch, ctx: &BatchContext) {
        for event in &batch.events {
            let ts = clamp_client_ts(event.ts, ctx.received_at);
            let s = &mut self.summary;
            s.started_at = s.started_at.min(ts);
            s.last_seen_at = s.last_seen_at.max(ts);
            self.stored_events = self.stored_events.saturating_add(1);
            match &event.kind {
                EventKind::Pageview {
                    url,
                    referrer,
                    title,
                    ..
                } => {
                    let scrubbed = scrub(url, &ctx.keep_params);
                    let referrer = referrer.as_deref().and_then(scrub_referrer);
                    let page = self.page_mut(event.page);
                    // A page index names one page view; a second pageview for the same index
                    // (a buggy client) keeps the earlier one, so the result is order-free.
                    // Equal times (common once clocks are clamped to the receive time) are
                    // broken by content, never by arrival (found by the `session` fuzz target).
                    let replaces = match page.entered_at {
                        None => true,
                        Some(t) => {
                            (
                                ts,
                                scrubbed.as_deref(),
                                title.as_deref(),
                                referrer.as_deref(),
                            ) < (
                                t,
                                page.url.as_deref(),
                                page.title.as_deref(),
                                page.referrer.as_deref(),
                            )
                        }
                    };
                    if replaces {
                        page.url = scrubbed;
                        page.title = title.clone();
                        page.entered_at = Some(ts);
                        page.referrer = referrer;
                    }
                }
                EventKind::Engage { active_ms, scroll } => {
                    let page = self.page_mut(event.page);
                    page.active_ms = page.active_ms.saturating_add(u64::from(*active_ms));
                    page.max_scroll = page.max_scroll.max(*scroll);
                }
                EventKind::Click {
                    href,
                    outbound,
                    download,
                } => {
                    self.page_mut(event.page).clicks += 1;
                    self.summary.clicks += 1;
                    if *outbound {
                        self.summary.outbound_clicks += 1;
                    }
                    // Kept as it is stored: scrubbed like every URL (a link that does not
                    // parse is not kept).
                    if let Some(clean) = scrub(href, &ctx.keep_params) {
                        self.count_link(event.page, &clean, *outbound, *download);
                    }
                }
                EventKind::Custom { name, props } => {
                    self.summary.events += 1;
                    let mut props: Vec<(String, String)> = props
                        .iter()
                        .map(|(k, v)| (k.clone(), prop_text(v)))
                        .collect();
                    props.sort();
                    let record = CustomRecord {
                        ts,
                        page: event.page,
                        name: name.clone(),
                        props,
                    };
                    let at = self
                        .custom
                        .partition_point(|c| c.partial_cmp(&record) == Some(Ordering::Less));
                    if at < MAX_JOURNEY_EVENTS {
                        self.custom.insert(at, record);
                        self.custom.truncate(MAX_JOURNEY_EVENTS);
                    }
                }
                EventKind::Rage(element) => {
                    let page = self.page_mut(event.page);
                    page.rage_clicks = page.rage_clicks.saturating_add(1);
                    self.count_mark(event.page, "rage", element.label(), u32::MAX);
                }
                EventKind::Dead(element) => {
                    let page = self.page_mut(event.page);
                    page.dead_clicks = page.dead_clicks.saturating_add(1);
                    self.count_mark(event.page, "dead", element.label(), u32::MAX);
                }
                EventKind::Error { name, src, line } => {
                    let page = self.page_mut(event.page);
                    page.errors = (page.errors + 1).min(MAX_ERRORS_PER_PAGE);
                    let label = error_label(name, src.as_deref(), *line);
                    self.count_mark(event.page, "error", &label, MAX_ERRORS_PER_PAGE);
                }
                EventKind::Form { form, submit } => self.note_form(event.page, form, *submit),
                EventKind::Perf(vitals) => self.page_mut(event.page).vitals.merge_max(vitals),
            }
        }
        if self.edge_seq.is_none_or(|s| batch.seq < s) {
            self.edge_seq = Some(batch.seq);
            self.summary.country = ctx.country.clone();
            self.summary.device = ctx.device;
            self.summary.os = ctx.os.clone();
            self.summary.os_version = ctx.os_version.clone();
            self.summary.browser = ctx.browser.clone();
            self.summary.browser_version = ctx.browser_version.clone();
        }
        if ctx.bot_name.is_some() && self.bot_name_seq.is_none_or(|s| batch.seq < s) {
            self.bot_name_seq = Some(batch.seq);
            self.summary.bot_name = ctx.bot_name.clone();
        }
        let mut reasons: Vec<BotReason> = ctx
            .ua_bot
            .iter()
            .filter_map(|r| BotReason::parse(r))
            .collect();
        if batch.webdriver {
            reasons.push(BotReason::Webdriver);
        }
        for reason in reasons {
            if let Some(bit) = BotReason::ALL.iter().position(|r| *r == reason) {
                self.bot_reasons |= 1 << bit;
            }
        }
        self.derive();
    }

    /// Recomputes the fields that are functions of the pages.
    fn derive(&mut self) {
        let s = &mut self.summary;
        s.duration_ms = s.last_seen_at.saturating_sub(s.started_at).max(0);
        s.weekday = weekday(s.started_at);
        let viewed: Vec<&PageRecord> = self.pages.iter().filter(|p| p.url.is_some()).collect();
        s.pageviews = viewed.len() as u32;
        s.active_ms = self.pages.iter().map(|p| p.active_ms).sum();
        s.max_scroll = self.pages.iter().map(|p| p.max_scroll).max().unwrap_or(0);
        s.entry_page = viewed.first().and_then(|p| p.url.as_deref()).map(page_of);
        s.exit_page = viewed.last().and_then(|p| p.url.as_deref()).map(page_of);
        s.bounce = s.pageviews <= 1 && s.events == 0;
        s.rage_clicks = self.pages.iter().map(|p| p.rage_clicks).sum();
        s.dead_clicks = self.pages.iter().map(|p| p.dead_clicks).sum();
        s.errors = self.pages.iter().map(|p| p.errors).sum();
        s.forms_started = self.forms.iter().filter(|f| f.started.is_some()).count() as u32;
        s.forms_submitted = self.forms.iter().filter(|f| f.submitted.is_some()).count() as u32;
        s.forms_abandoned = self.forms.iter().filter(|f| f.abandoned()).count() as u32;
        s.lcp_ms = viewed.first().and_then(|p| p.vitals.lcp);
        s.inp_ms = self.pages.iter().filter_map(|p| p.vitals.inp).max();
        s.cls = self
            .pages
            .iter()
            .filter_map(|p| p.vitals.cls)
            .max_by(f64::total_cmp);
        let landing = viewed.first();
        let landing_url = landing.and_then(|p| p.url.as_deref());
        let landing_host = landing_url.and_then(host_of);
        let landing_referrer = landing.and_then(|p| p.referrer.as_deref());
        s.referrer_host = landing_referrer
            .and_then(referrer_source)
            .filter(|h| Some(h) != landing_host.as_ref());
        let referrer_app = landing_referrer.and_then(android_app);
        let utm = |name: &str| {
            landing_url
                .and_then(|u| query_param(u, name))
                .filter(|v| !v.is_empty())
        };
        s.utm = Utm {
            source: utm("utm_source"),
            medium: utm("utm_medium"),
            campaign: utm("utm_campaign"),
            term: utm("utm_term"),
            content: utm("utm_content"),
        };
        s.channel = Some(crate::classify::channel(
            s.referrer_host
                .as_deref()
                .filter(|_| referrer_app.is_none()),
            referrer_app.as_deref(),
            s.utm.source.as_deref(),
            s.utm.medium.as_deref(),
        ));
        s.bot = shown_first(self.bot_reasons).map(|r| r.as_str().to_string());
    }
}

/// What an error is called in reports: its type, and where it was thrown when known
/// (`TypeError at /app.js:12`, the script by its path only). A name that is not a type
/// name (a message a client other than the tracker sent) is `Error` ([`crate::signals::error_name`]).
pub fn error_label(name: &str, src: Option<&str>, line: Option<u32>) -> String {
    let mut label = crate::signals::error_name(name).to_string();
    if let Some(path) = src
        .and_then(crate::weburl::parse_http)
        .map(|u| u.path().to_string())
    {
        label.push_str(" at ");
        label.push_str(&path);
        if let Some(line) = line {
            label.push(':');
            label.push_str(&line.to_string());
        }
    }
    label
}

/// A batch's events as a session object stores them, one row per batch: a JSON array of
/// `[ts, event]`, `ts` the client time clamped against the receive time (what the timeline
/// orders by), `event` the event as [`scrub_event`] keeps it.
pub fn stored_events(batch: &Batch, keep: &[String], received_at: i64) -> String {
    let mut w = crate::json::JsonWriter::new();
    w.begin_array();
    for event in &batch.events {
        w.begin_array();
        w.int(clamp_client_ts(event.ts, received_at));
        scrub_event(event, keep).write_json(&mut w);
        w.end_array();
    }
    w.end_array();
    w.finish()
}

/// A session's timeline from its stored batches (`seq`, [`stored_events`]): every event in
/// the order it happened, ties by batch and position. `None` if a row does not read.
pub fn timeline_events(batches: &[(u32, String)]) -> Option<Vec<serde_json::Value>> {
    let mut all: Vec<(i64, u32, usize, serde_json::Value)> = Vec::new();
    for (seq, events) in batches {
        let events: Vec<(i64, serde_json::Value)> = serde_json::from_str(events).ok()?;
        all.extend(
            events
                .into_iter()
                .enumerate()
                .map(|(i, (ts, event))| (ts, *seq, i, event)),
        );
    }
    all.sort_by_key(|(ts, seq, i, _)| (*ts, *seq, *i));
    Some(all.into_iter().map(|(.., event)| event).collect())
}

/// The event as it may be stored: every URL scrubbed (fragment, userinfo and query
/// parameters outside `utm_*` and `keep` removed). A URL that does not parse is dropped.
pub fn scrub_event(event: &Event, keep: &[String]) -> Event {
    let kind = match &event.kind {
        EventKind::Pageview {
            url,
            referrer,
            title,
            width,
        } => EventKind::Pageview {
            url: scrub(url, keep).unwrap_or_default(),
            referrer: referrer.as_deref().and_then(scrub_referrer),
            title: title.clone(),
            width: *width,
        },
        EventKind::Click {
            href,
            outbound,
            download,
        } => EventKind::Click {
            href: scrub(href, keep).unwrap_or_default(),
            outbound: *outbound,
            download: *download,
        },
        // The tracker sends a type name only (`signals::error_name`); another client may
        // not, and a message must never be stored: the same rule applies here.
        EventKind::Error { name, src, line } => EventKind::Error {
            name: crate::signals::error_name(name).to_string(),
            src: src.as_deref().and_then(|s| scrub(s, keep)),
            line: *line,
        },
        other => other.clone(),
    };
    Event {
        ts: event.ts,
        page: event.page,
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Element, Event, PropValue, Vitals};
    use proptest::prelude::*;

    const SID: &str = "0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e";
    const T0: i64 = 1_732_390_000_000;

    fn batch(seq: u32, events: Vec<Event>) -> Batch {
        Batch {
            site: "demo".into(),
            sid: SID.into(),
            seq,
            webdriver: false,
            events,
        }
    }

    fn pageview(page: u32, ts: i64, url: &str) -> Event {
        Event {
            ts,
            page,
            kind: EventKind::Pageview {
                url: url.into(),
                referrer: Some("https://news.example/item".into()),
                title: Some("T".into()),
                width: Some(1280),
            },
        }
    }

    fn engage(page: u32, ts: i64, active_ms: u32, scroll: u8) -> Event {
        Event {
            ts,
            page,
            kind: EventKind::Engage { active_ms, scroll },
        }
    }

    fn ctx() -> BatchContext {
        BatchContext {
            received_at: T0,
            keep_params: vec![],
            country: Some("DE".into()),
            device: Some(Device::Mobile),
            os: Some("Android".into()),
            os_version: Some("14".into()),
            browser: Some("Chrome".into()),
            browser_version: Some("126".into()),
            ua_bot: None,
            bot_name: None,
        }
    }

    fn fold(batches: &[Batch]) -> SessionState {
        let mut state = SessionState::new("demo", SID);
        for b in batches {
            state.apply(b, &ctx());
        }
        state
    }

    #[test]
    fn one_pageview_makes_a_bounced_session_with_its_entry_page() {
        let s = fold(&[batch(
            0,
            vec![pageview(
                0,
                T0,
                "https://demo.local/pricing?utm_source=hn&secret=1#x",
            )],
        )]);
        let sum = &s.summary;
        assert_eq!(sum.pageviews, 1);
        assert_eq!(
            sum.entry_page.as_deref(),
            Some("/pricing"),
            "pages are grouped by path"
        );
        assert_eq!(
            s.pages[0].url.as_deref(),
            Some("https://demo.local/pricing?utm_source=hn"),
            "the stored URL keeps the kept parameter"
        );
        assert_eq!(sum.exit_page, sum.entry_page);
        assert_eq!(sum.started_at, T0);
        assert_eq!(sum.utm.source.as_deref(), Some("hn"));
        assert_eq!(sum.referrer_host.as_deref(), Some("news.example"));
        assert_eq!(sum.country.as_deref(), Some("DE"));
        assert_eq!(sum.device, Some(Device::Mobile));
        assert_eq!(
            (sum.browser.as_deref(), sum.browser_version.as_deref()),
            (Some("Chrome"), Some("126"))
        );
        assert_eq!(
            sum.channel,
            Some(Channel::Referral),
            "the referrer news.example decides"
        );
        assert_eq!(sum.bot, None);
        assert!(sum.bounce);
    }

    #[test]
    fn the_event_cap_holds_at_the_bound_and_refuses_one_past_it() {
        let mut state = SessionState::new("demo", SID);
        // 99 full batches and one of 99: 9,999 events stored.
        for seq in 0..100u32 {
            let n = if seq == 99 { 99 } else { 100 };
            let events = (0..n).map(|i| engage(0, T0 + i as i64, 1, 0)).collect();
            assert!(!state.would_exceed_cap(n));
            state.apply(&batch(seq, events), &ctx());
        }
        assert_eq!(state.stored_events, 9_999);
        assert!(!state.would_exceed_cap(1), "the 10,000th event is accepted");
        assert!(state.would_exceed_cap(2), "the 10,001st is not");
    }

    #[test]
    fn a_webdriver_flag_in_any_batch_marks_the_session() {
        let mut state = SessionState::new("demo", SID);
        state.apply(
            &batch(0, vec![pageview(0, T0, "https://demo.local/")]),
            &ctx(),
        );
        let mut flagged = batch(1, vec![engage(0, T0 + 1, 5, 10)]);
        flagged.webdriver = true;
        state.apply(&flagged, &ctx());
        assert_eq!(state.summary.bot.as_deref(), Some("webdriver"));
        let headless = BatchContext {
            ua_bot: Some("headless".into()),
            ..ctx()
        };
        state.apply(&batch(2, vec![engage(0, T0 + 2, 5, 10)]), &headless);
        assert_eq!(
            state.summary.bot.as_deref(),
            Some("headless"),
            "headless outranks webdriver"
        );
    }

    #[test]
    fn a_listed_crawler_is_shown_with_its_category_and_name() {
        let mut state = SessionState::new("demo", SID);
        let googlebot = BatchContext {
            ua_bot: Some("search_engine".into()),
            bot_name: Some("Googlebot".into()),
            ..ctx()
        };
        state.apply(&batch(1, vec![engage(0, T0 + 1, 5, 10)]), &googlebot);
        let other = BatchContext {
            ua_bot: Some("empty_ua".into()),
            bot_name: Some("Other".into()),
            ..ctx()
        };
        state.apply(&batch(2, vec![engage(0, T0 + 2, 5, 10)]), &other);
        assert_eq!(state.summary.bot.as_deref(), Some("search_engine"));
        assert_eq!(state.summary.bot_name.as_deref(), Some("Googlebot"));
    }

    /// State and summaries as the release before wave 2 stored them still read: the old
    /// bit order of bot reasons, browser and OS with their version in one string, and
    /// entry pages with kept parameters.
    #[test]
    fn state_stored_by_the_last_release_reads() {
        let stored = r#"{"summary":{"id":"s","site":"demo","browser":"Chrome 126","os":"Android 14",
            "entry_page":"/?utm_source=news","exit_page":"/pricing","bot":"ua_list"},
            "pages":[],"edge_seq":0,"bot_reasons":4,"stored_events":0}"#;
        let mut state: SessionState = serde_json::from_str(stored).unwrap();
        assert_eq!(shown_first(state.bot_reasons), Some(BotReason::ListedBot));
        state.summary.upgrade();
        let s = &state.summary;
        assert_eq!(
            (s.browser.as_deref(), s.browser_version.as_deref()),
            (Some("Chrome"), Some("126"))
        );
        assert_eq!(
            (s.os.as_deref(), s.os_version.as_deref()),
            (Some("Android"), Some("14"))
        );
        assert_eq!(s.entry_page.as_deref(), Some("/"));
        assert_eq!(s.bot.as_deref(), Some("ua_list"));
        let again = s.clone();
        state.summary.upgrade();
        assert_eq!(state.summary, again, "upgrading twice changes nothing");
    }

    #[test]
    fn engagement_and_clicks_are_attributed_to_their_pages() {
        let s = fold(&[
            batch(
                0,
                vec![
                    pageview(0, T0, "https://demo.local/"),
                    engage(0, T0 + 5_000, 4_000, 40),
                ],
            ),
            batch(
                1,
                vec![
                    Event {
                        ts: T0 + 6_000,
                        page: 0,
                        kind: EventKind::Click {
                            href: "https://example.org/".into(),
                            outbound: true,
                            download: false,
                        },
                    },
                    pageview(1, T0 + 7_000, "https://demo.local/docs"),
                    engage(1, T0 + 9_000, 2_000, 80),
                    Event {
                        ts: T0 + 9_500,
                        page: 1,
                        kind: EventKind::Custom {
                            name: "signup".into(),
                            props: vec![("plan".into(), PropValue::Str("pro".into()))],
                        },
                    },
                ],
            ),
        ]);
        let sum = &s.summary;
        assert_eq!(
            (sum.pageviews, sum.clicks, sum.outbound_clicks, sum.events),
            (2, 1, 1, 1)
        );
        assert_eq!(sum.active_ms, 6_000);
        assert_eq!(sum.max_scroll, 80);
        assert_eq!(sum.duration_ms, 9_500);
        assert_eq!(sum.exit_page.as_deref(), Some("/docs"));
        assert!(!sum.bounce);
        assert_eq!(s.pages[0].active_ms, 4_000);
        assert_eq!(s.pages[0].clicks, 1);
        assert_eq!(s.pages[1].max_scroll, 80);
    }

    /// Regression (fuzz target `session`): two page views for one index at the same time
    /// (both clocks clamped to one receive time) kept whichever arrived first.
    #[test]
    fn two_pageviews_for_one_page_at_one_time_give_one_answer_in_any_order() {
        let a = batch(0, vec![pageview(3, T0, "https://demo.local/a")]);
        let b = batch(1, vec![pageview(3, T0, "https://demo.local/b")]);
        let ab = fold(&[a.clone(), b.clone()]);
        assert_eq!(ab, fold(&[b, a]));
        assert_eq!(ab.summary.entry_page.as_deref(), Some("/a"));
    }

    /// Regression (faults test): a session of pages with maximal URLs outgrew the 2 MB a
    /// Durable Object row holds, and every later batch failed with a 5xx.
    #[test]
    fn a_state_past_the_storage_bound_is_refused_and_a_normal_one_is_not() {
        let wide = "\u{4e00}".repeat(2000);
        let mut state = SessionState::new("demo", SID);
        let mut refused_at = None;
        for seq in 0..250u32 {
            let mut next = state.clone();
            next.apply(
                &batch(
                    seq,
                    vec![pageview(
                        seq,
                        T0,
                        &format!("https://demo.local/{wide}?utm_source={wide}"),
                    )],
                ),
                &ctx(),
            );
            if next.stored_json().is_none() {
                refused_at = Some(seq);
                break;
            }
            state = next;
        }
        let refused_at = refused_at.expect("the bound is reached");
        // The URL Standard percent-encodes the path: each of these characters is stored as
        // nine bytes (`%E4%B8%80`), so the bound comes after a few dozen such pages.
        assert!(
            (15..120).contains(&refused_at),
            "refused at batch {refused_at}"
        );
        let stored = state.stored_json().expect("the last accepted state fits");
        assert!(stored.len() <= MAX_STORED_STATE_BYTES);
        // 500 ordinary pages fit easily.
        let mut honest = SessionState::new("demo", SID);
        for page in 0..500 {
            honest.apply(
                &batch(
                    page,
                    vec![pageview(
                        page,
                        T0,
                        &format!("https://demo.local/docs/article-{page}?utm_source=newsletter"),
                    )],
                ),
                &ctx(),
            );
        }
        assert!(honest
            .stored_json()
            .is_some_and(|j| j.len() < MAX_STORED_STATE_BYTES / 2));
    }

    #[test]
    fn internal_referrers_are_not_referrers() {
        let mut pv = pageview(0, T0, "https://demo.local/");
        if let EventKind::Pageview { referrer, .. } = &mut pv.kind {
            *referrer = Some("https://demo.local/elsewhere".into());
        }
        assert_eq!(fold(&[batch(0, vec![pv])]).summary.referrer_host, None);
    }

    fn arb_event() -> impl Strategy<Value = Event> {
        let page = 0u32..4;
        let ts = 0i64..60_000;
        prop_oneof![
            (page.clone(), ts.clone(), 0u8..3).prop_map(|(p, t, u)| pageview(
                p,
                T0 + t,
                &format!("https://demo.local/p{u}")
            )),
            (page.clone(), ts.clone(), 0u32..20_000, 0u8..=100).prop_map(|(p, t, a, s)| engage(
                p,
                T0 + t,
                a,
                s
            )),
            (page.clone(), ts.clone(), any::<bool>()).prop_map(|(p, t, o)| Event {
                ts: T0 + t,
                page: p,
                kind: EventKind::Click {
                    href: "https://x.example/".into(),
                    outbound: o,
                    download: false,
                },
            }),
            (page.clone(), ts.clone(), 0u8..3).prop_map(|(p, t, n)| Event {
                ts: T0 + t,
                page: p,
                kind: EventKind::Custom {
                    name: format!("goal{n}"),
                    props: vec![("plan".into(), PropValue::Str(format!("p{n}")))],
                },
            }),
            (page, ts, 0u8..8, 0u32..3).prop_map(|(p, t, k, n)| Event {
                ts: T0 + t,
                page: p,
                kind: friction(k, n),
            }),
        ]
    }

    /// A friction or speed event of kind `k` (0–7) and variant `n`.
    fn friction(k: u8, n: u32) -> EventKind {
        let element = Element {
            el: format!("button#b{n}"),
            name: (n == 2).then(|| "cta".to_string()),
        };
        match k {
            0 => EventKind::Rage(element),
            1 => EventKind::Dead(element),
            2 => EventKind::Error {
                name: "TypeError".into(),
                src: Some(format!("https://demo.local/app{n}.js?v=secret#x")),
                line: Some(10 + n),
            },
            3 | 4 => EventKind::Form {
                form: format!("f{n}"),
                submit: k == 4,
            },
            5 => EventKind::Perf(Vitals {
                lcp: Some(1_000 + 100 * n),
                ttfb: Some(50 * n),
                ..Vitals::default()
            }),
            6 => EventKind::Perf(Vitals {
                inp: Some(40 * (n + 1)),
                cls: Some(f64::from(n) * 0.05),
                ..Vitals::default()
            }),
            _ => EventKind::Error {
                name: format!("E{n}"),
                src: None,
                line: None,
            },
        }
    }

    #[test]
    fn friction_and_speed_fold_into_pages_summary_and_journey() {
        let at = |page, kind| Event {
            ts: T0 + 1_000,
            page,
            kind,
        };
        let mut events = vec![
            pageview(0, T0, "https://demo.local/checkout"),
            pageview(1, T0 + 5_000, "https://demo.local/thanks"),
            at(0, friction(0, 2)),
            at(0, friction(0, 2)),
            at(0, friction(1, 1)),
            at(0, friction(3, 0)),
            at(0, friction(3, 1)),
            at(1, friction(4, 1)),
            at(0, friction(5, 2)),
            at(0, friction(5, 1)),
            at(1, friction(6, 2)),
            at(1, friction(6, 0)),
        ];
        // Twelve errors on page 1: ten count.
        events.extend((0..12).map(|_| at(1, friction(2, 0))));
        let state = fold(&[batch(0, events)]);
        let s = &state.summary;
        assert_eq!((s.rage_clicks, s.dead_clicks, s.errors), (2, 1, 10));
        assert_eq!(
            (s.forms_started, s.forms_submitted, s.forms_abandoned),
            (2, 1, 1)
        );
        assert_eq!(
            (s.lcp_ms, s.inp_ms, s.cls),
            (Some(1_200), Some(120), Some(0.1))
        );
        let p0 = &state.pages[0];
        assert_eq!((p0.rage_clicks, p0.dead_clicks, p0.errors), (2, 1, 0));
        assert_eq!((p0.vitals.lcp, p0.vitals.ttfb), (Some(1_200), Some(100)));
        assert_eq!(state.pages[1].errors, 10);
        let j = state.journey();
        let sig = j.pages[0].signals.clone().unwrap();
        assert_eq!(
            (sig.rage, sig.dead, sig.forms_started, sig.forms_abandoned),
            (2, 1, 2, 1)
        );
        let marks: Vec<(u32, &str, &str, u32)> = j
            .marks
            .iter()
            .map(|m| (m.page, m.kind.as_str(), m.label.as_str(), m.n))
            .collect();
        assert_eq!(
            marks,
            vec![
                (0, "dead", "button#b1", 1),
                (0, "rage", "cta", 2),
                // Twelve sent, ten counted, as on the page.
                (1, "error", "TypeError at /app0.js:10", 10),
                (0, "form", "f0", 1),
            ]
        );
        // Stored events keep the error's script without its query or fragment.
        let stored = stored_events(&batch(1, vec![at(1, friction(2, 0))]), &[], T0);
        assert!(stored.contains("https://demo.local/app0.js\""), "{stored}");
        assert!(!stored.contains("secret"), "{stored}");
    }

    #[test]
    fn an_error_sent_with_its_message_keeps_only_error() {
        // A client other than the tracker may put the message where the type goes.
        let error = Event {
            ts: T0 + 1_000,
            page: 0,
            kind: EventKind::Error {
                name: "Cannot read jane@example.com".into(),
                src: None,
                line: Some(3),
            },
        };
        let events = vec![pageview(0, T0, "https://demo.local/"), error];
        let state = fold(&[batch(0, events.clone())]);
        let journey = state.journey();
        let labels: Vec<&str> = journey.marks.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["Error"]);
        let stored = stored_events(&batch(0, events), &[], T0);
        assert!(stored.contains("\"name\":\"Error\""), "{stored}");
        assert!(!stored.contains("jane"), "{stored}");
    }

    #[test]
    fn the_journey_lists_pages_by_path_and_events_in_order() {
        let custom = |page, ts, name: &str| Event {
            ts,
            page,
            kind: EventKind::Custom {
                name: name.into(),
                props: vec![
                    ("plan".into(), PropValue::Str("pro".into())),
                    ("amount".into(), PropValue::Num(12.5)),
                ],
            },
        };
        let state = fold(&[
            batch(
                1,
                vec![
                    pageview(1, T0 + 9_000, "https://demo.local/signup?utm_source=x"),
                    custom(1, T0 + 12_000, "signup"),
                ],
            ),
            batch(
                0,
                vec![
                    pageview(0, T0, "https://demo.local/pricing"),
                    engage(0, T0 + 8_000, 4_500, 80),
                ],
            ),
        ]);
        let j = state.journey();
        let pages: Vec<(&str, i64, u64, u8)> = j
            .pages
            .iter()
            .map(|p| (p.path.as_str(), p.at, p.active_ms, p.scroll))
            .collect();
        assert_eq!(
            pages,
            vec![("/pricing", 0, 4_500, 80), ("/signup", 9_000, 0, 0)]
        );
        assert_eq!(j.events.len(), 1);
        assert_eq!(
            (j.events[0].name.as_str(), j.events[0].at, j.events[0].page),
            ("signup", 12_000, Some(1))
        );
        assert_eq!(
            j.events[0].props,
            vec![
                ("amount".into(), "12.5".into()),
                ("plan".into(), "pro".into())
            ]
        );
        assert!(!j.truncated);
    }

    #[test]
    fn the_journey_counts_clicked_links_per_page_scrubbed() {
        let click = |page, ts, href: &str, outbound| Event {
            ts,
            page,
            kind: EventKind::Click {
                href: href.into(),
                outbound,
                download: false,
            },
        };
        let state = fold(&[
            batch(
                1,
                vec![
                    click(
                        0,
                        T0 + 3_000,
                        "https://demo.local/docs?token=secret#x",
                        false,
                    ),
                    click(1, T0 + 9_000, "https://example.org/", true),
                ],
            ),
            batch(
                0,
                vec![
                    pageview(0, T0, "https://demo.local/pricing"),
                    pageview(1, T0 + 5_000, "https://demo.local/docs"),
                    click(0, T0 + 1_000, "https://demo.local/docs", false),
                    click(0, T0 + 2_000, "not a url", false),
                ],
            ),
        ]);
        let journey = state.journey();
        let links: Vec<(u32, &str, u32, bool)> = journey
            .links
            .iter()
            .map(|l| (l.page, l.href.as_str(), l.clicks, l.outbound))
            .collect();
        assert_eq!(
            links,
            [
                (0, "https://demo.local/docs", 2, false),
                (1, "https://example.org/", 1, true)
            ]
        );
    }

    proptest! {
        /// The summary a site owner sees must not depend on network reordering.
        #[test]
        fn summary_is_independent_of_batch_order(
            events in proptest::collection::vec(proptest::collection::vec(arb_event(), 1..6), 1..6),
            seed in any::<u64>(),
        ) {
            let batches: Vec<Batch> = events.into_iter().enumerate().map(|(i, e)| batch(i as u32, e)).collect();
            let mut shuffled = batches.clone();
            // A deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let (a, b) = (fold(&batches), fold(&shuffled));
            prop_assert_eq!(a.journey(), b.journey());
            prop_assert_eq!(a, b);
        }

        #[test]
        fn engaged_time_never_exceeds_what_was_reported(
            events in proptest::collection::vec(arb_event(), 1..40),
        ) {
            let reported: u64 = events.iter().map(|e| match e.kind {
                EventKind::Engage { active_ms, .. } => u64::from(active_ms),
                _ => 0,
            }).sum();
            let s = fold(&[batch(0, events)]);
            prop_assert_eq!(s.summary.active_ms, reported);
            prop_assert!(s.summary.duration_ms >= 0);
            prop_assert!(s.summary.max_scroll <= 100);
        }

        /// `friction=any` (from the summary) and the Friction report's frustrated
        /// sessions (from the journey's page signals) pick the same sessions, and every
        /// kind's count in the summary is its pages' sum — once every page's view has
        /// arrived (until then the report has no path to put a page's friction under).
        #[test]
        fn the_friction_filter_and_report_agree(
            mut events in proptest::collection::vec(arb_event(), 1..40),
        ) {
            use crate::friction::{Friction, Met};
            use crate::query::FrictionKind;
            events.extend((0..4).map(|p| pageview(p, T0 + 60_000, "https://demo.local/late")));
            let s = fold(&[batch(0, events)]);
            let j = s.journey();
            let pages = j.pages.iter().filter_map(|p| p.signals.as_ref()).map(Met::of_page);
            let summed = pages.fold(Met::default(), |a, m| Met {
                rage: a.rage + m.rage,
                dead: a.dead + m.dead,
                errors: a.errors + m.errors,
                forms_abandoned: a.forms_abandoned + m.forms_abandoned,
            });
            prop_assert_eq!(Met::of_session(&s.summary), summed);
            let mut report = Friction::default();
            report.add(&j);
            prop_assert_eq!(report.frustrated == 1, FrictionKind::Any.count(&s.summary) > 0);
        }
    }
}
