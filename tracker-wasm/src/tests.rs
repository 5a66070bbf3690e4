//! The tracker's decisions, driven natively by a scripted page. What the page sends is
//! decoded with the collector's own decoder, so these tests read what the collector would.

use crate::config::{Config, StorageKind};
use crate::emit::{fields, WireValue as Value};
use crate::host::{Area, Host, Key, Num, Text};
use crate::tracker::{Signal, Tracker, FLUSH_AT_EVENTS};
use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use stint_shared::protocol::{decode_batch, Batch, EventKind, PropValue, PROTOCOL_VERSION};

/// A value as `JSON.stringify` writes it: whole numbers without a fraction.
fn as_js(v: Value) -> serde_json::Value {
    match v {
        Value::Str(s) => s.into(),
        Value::Bool(b) => b.into(),
        Value::Int(n) => n.into(),
        Value::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => (n as i64).into(),
        Value::Num(n) => n.into(),
    }
}

type Storage = Rc<RefCell<HashMap<(u32, u32), String>>>;

/// A page whose clock, layout, location and network the test sets.
#[derive(Default)]
struct Page {
    mono: f64,
    wall: f64,
    scroll_y: f64,
    visible: bool,
    focused: bool,
    href: String,
    path: String,
    referrer: String,
    /// Shared between pages to model tabs of one origin.
    storage: Storage,
    sent: Vec<String>,
    /// Events handed over for the next batch, as the JS entry queues them.
    queue: Vec<serde_json::Value>,
    /// Where each batch would be kept pending if the browser did not take it, and each
    /// request to send the pending list again (by area).
    keeps: Vec<Option<Area>>,
    resends: Vec<Option<Area>>,
    random: u8,
    /// How often the document's height (a layout read) was asked for.
    height_reads: std::cell::Cell<u32>,
}

#[derive(Clone)]
struct Scripted(Rc<RefCell<Page>>);

impl Host for Scripted {
    fn num(&self, what: Num) -> f64 {
        let p = self.0.borrow();
        match what {
            Num::Mono => p.mono,
            Num::Wall => p.wall,
            Num::Width => 1280.0,
            Num::ScrollY => p.scroll_y,
            Num::ViewportHeight => 1000.0,
            Num::DocumentHeight => {
                p.height_reads.set(p.height_reads.get() + 1);
                4000.0
            }
            Num::Visible => f64::from(u8::from(p.visible)),
            Num::Focused => f64::from(u8::from(p.focused)),
            Num::Webdriver => 0.0,
        }
    }

    fn text(&self, what: Text) -> String {
        let p = self.0.borrow();
        match what {
            Text::Href => p.href.clone(),
            Text::Path => p.path.clone(),
            Text::Hash => String::new(),
            Text::Referrer => p.referrer.clone(),
            Text::Title => "Pricing".into(),
        }
    }

    fn load(&self, area: Area, key: Key) -> Option<String> {
        let p = self.0.borrow();
        let s = p.storage.borrow();
        s.get(&(area as u32, key as u32)).cloned()
    }

    fn store(&self, area: Area, key: Key, value: &str) {
        let p = self.0.borrow();
        let mut s = p.storage.borrow_mut();
        if value.is_empty() {
            s.remove(&(area as u32, key as u32));
        } else {
            s.insert((area as u32, key as u32), value.to_string());
        }
    }

    fn random(&self) -> [u8; 16] {
        let mut p = self.0.borrow_mut();
        p.random = p.random.wrapping_add(1);
        [p.random; 16]
    }

    fn event(&self, ts: i64, page: u32, kind: &EventKind) {
        let mut event = serde_json::json!({
            "type": kind.type_name(),
            "ts": ts,
            "page": page,
        });
        let mut props = None;
        fields(
            kind,
            |f, v| event[f.name()] = as_js(v),
            |key, v| {
                props
                    .get_or_insert_with(serde_json::Map::new)
                    .insert(key.to_string(), as_js(v));
            },
        );
        if let Some(props) = props {
            event["props"] = props.into();
        }
        self.0.borrow_mut().queue.push(event);
    }

    fn drop_oldest(&self) {
        self.0.borrow_mut().queue.remove(1);
    }

    /// Composes the body as `js/stint.js` does: `JSON.stringify` of the same object, keys
    /// in the same order (the pending list names a batch by its text up to the events).
    fn send(&self, site: &str, sid: &str, seq: u32, webdriver: bool, keep: Option<Area>) {
        let mut p = self.0.borrow_mut();
        let events = std::mem::take(&mut p.queue);
        let text = |s: &str| serde_json::Value::from(s).to_string();
        let body = format!(
            "{{\"v\":{PROTOCOL_VERSION},\"site\":{},\"sid\":{},\"seq\":{seq}{},\"events\":{}}}",
            text(site),
            text(sid),
            if webdriver { ",\"wd\":true" } else { "" },
            serde_json::Value::from(events),
        );
        p.sent.push(body);
        p.keeps.push(keep);
    }

    fn resend_pending(&self, keep: Option<Area>) {
        self.0.borrow_mut().resends.push(keep);
    }
}

const T0: f64 = 1_800_000_000_000.0;

fn page(storage: &Storage) -> Scripted {
    Scripted(Rc::new(RefCell::new(Page {
        mono: 0.0,
        wall: T0,
        visible: true,
        focused: true,
        href: "https://shop.example/pricing?plan=pro&utm_source=news&token=s3cret#faq".into(),
        path: "/pricing".into(),
        referrer: "https://search.example/q?query=private".into(),
        storage: storage.clone(),
        ..Page::default()
    })))
}

fn config(storage: StorageKind, consent_pending: bool) -> Config {
    let flags = u32::from(consent_pending);
    Config::new("shop".into(), "plan", storage, 30.0, 1000.0, flags)
}

fn start(host: &Scripted) -> Tracker<Scripted> {
    Tracker::start(host.clone(), config(StorageKind::Local, false))
}

impl Scripted {
    fn advance(&self, ms: f64) {
        let mut p = self.0.borrow_mut();
        p.mono += ms;
        p.wall += ms;
    }

    /// Every batch sent so far, decoded as the collector decodes it.
    fn batches(&self) -> Vec<Batch> {
        let p = self.0.borrow();
        p.sent
            .iter()
            .map(|b| decode_batch(b.as_bytes()).unwrap_or_else(|e| panic!("{}: {b}", e.message())))
            .collect()
    }

    fn engaged_ms(&self) -> u64 {
        self.batches()
            .iter()
            .flat_map(|b| &b.events)
            .map(|e| match e.kind {
                EventKind::Engage { active_ms, .. } => u64::from(active_ms),
                _ => 0,
            })
            .sum()
    }
}

#[test]
fn the_first_page_view_is_sent_at_once_with_scrubbed_urls() {
    let host = page(&Storage::default());
    let _t = start(&host);
    let batches = host.batches();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    // The page view alone: the depth is read at the page's first frame.
    assert_eq!((b.site.as_str(), b.seq, b.events.len()), ("shop", 0, 1));
    let EventKind::Pageview {
        url,
        referrer,
        title,
        width,
    } = &b.events[0].kind
    else {
        panic!("not a page view: {:?}", b.events[0]);
    };
    // keepParams ["plan"] and utm_* stay; other parameters and the fragment go.
    assert_eq!(url, "https://shop.example/pricing?plan=pro&utm_source=news");
    assert_eq!(referrer.as_deref(), Some("https://search.example/q"));
    assert_eq!((title.as_deref(), *width), (Some("Pricing"), Some(1280)));
    // Kept pending, should the browser not take it, where the session lives.
    assert_eq!(host.0.borrow().keeps, [Some(Area::Local)]);
}

#[test]
fn engaged_time_stops_when_idle_and_while_hidden() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    // Input every 500 ms for 3 s, then hidden 2 s, then visible but idle 3 s.
    for _ in 0..6 {
        t.input(host.0.borrow().mono as i64);
        host.advance(500.0);
    }
    host.0.borrow_mut().visible = false;
    t.on(Signal::Visibility);
    host.advance(2000.0);
    host.0.borrow_mut().visible = true;
    t.on(Signal::Visibility);
    host.advance(3000.0);
    t.on(Signal::Hide);
    // 3 s of input (the last at 2.5 s, engaged until hidden at 3 s), none while hidden,
    // and coming back counts as activity: 1 s (the idle timeout) of the 3 idle seconds.
    assert_eq!(host.engaged_ms(), 4000);
}

#[test]
fn a_spa_navigation_closes_the_old_page_first() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    t.input(host.0.borrow().mono as i64);
    host.advance(800.0);
    host.0.borrow_mut().scroll_y = 1000.0;
    t.on(Signal::ScrollFrame);
    // replaceState on the same path is not a page view.
    t.on(Signal::Navigation);
    assert_eq!(host.batches().len(), 1);
    {
        let mut p = host.0.borrow_mut();
        p.path = "/checkout".into();
        p.href = "https://shop.example/checkout".into();
    }
    t.on(Signal::Navigation);
    let batches = host.batches();
    let kinds: Vec<_> = batches
        .iter()
        .flat_map(|b| &b.events)
        .map(|e| (e.page, e.kind.type_name()))
        .collect();
    assert_eq!(
        kinds,
        [(0, "pageview"), (0, "engage"), (1, "pageview"),],
        "{batches:?}"
    );
    let EventKind::Engage { active_ms, scroll } = batches[1].events[0].kind else {
        unreachable!()
    };
    assert_eq!((active_ms, scroll), (800, 50));
    let EventKind::Pageview { referrer, .. } = &batches[2].events[0].kind else {
        unreachable!()
    };
    assert_eq!(*referrer, None, "only the landing page has a referrer");
    let seqs: Vec<u32> = batches.iter().map(|b| b.seq).collect();
    assert_eq!(seqs, [0, 1, 2]);
}

#[test]
fn clicks_wait_for_the_next_flush_and_other_schemes_are_ignored() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    t.click("mailto:someone@example.org");
    t.click("https://shop.example/cart?session=abc");
    t.click("https://partner.example/offer?utm_medium=link&email=a@b.c#x");
    assert_eq!(
        host.batches().len(),
        1,
        "clicks, outbound too, wait for a flush"
    );
    // Leaving the page (the outbound link's navigation) flushes.
    t.on(Signal::Hide);
    let batches = host.batches();
    assert_eq!(batches.len(), 2);
    let clicks: Vec<_> = batches[1]
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Click { href, outbound, .. } => Some((href.as_str(), *outbound)),
            _ => None,
        })
        .collect();
    assert_eq!(
        clicks,
        [
            ("https://shop.example/cart", false),
            ("https://partner.example/offer?utm_medium=link", true)
        ]
    );
}

#[test]
fn custom_events_are_checked_and_flush_at_the_threshold() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    assert!(t.track(String::new(), vec![]).is_err());
    let too_many = (0..21)
        .map(|i| (format!("k{i}"), PropValue::Bool(true)))
        .collect();
    assert!(t.track("signup".into(), too_many).is_err());
    for i in 0..FLUSH_AT_EVENTS {
        let props = vec![("n".to_string(), PropValue::Num(i as f64))];
        t.track("step".into(), props).unwrap();
    }
    let batches = host.batches();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1].events.len(), FLUSH_AT_EVENTS);
}

/// What earlier pages left pending is sent again on the next load and at consent, from the
/// area the session lives in; never before consent, nowhere with `storage: "memory"`.
#[test]
fn pending_batches_are_sent_again_on_load_and_at_consent_only() {
    let host = page(&Storage::default());
    let _t = start(&host);
    assert_eq!(host.0.borrow().resends, [Some(Area::Local)]);

    let host = page(&Storage::default());
    let _t = Tracker::start(host.clone(), config(StorageKind::Session, false));
    assert_eq!(host.0.borrow().resends, [Some(Area::Session)]);

    let host = page(&Storage::default());
    let mut t = Tracker::start(host.clone(), config(StorageKind::Local, true));
    assert!(host.0.borrow().resends.is_empty(), "not before consent");
    t.on(Signal::Grant);
    assert_eq!(host.0.borrow().resends, [Some(Area::Local)]);
    assert_eq!(host.0.borrow().keeps, [Some(Area::Local)]);
}

#[test]
fn nothing_is_sent_or_stored_before_consent() {
    let storage = Storage::default();
    let host = page(&storage);
    let mut t = Tracker::start(host.clone(), config(StorageKind::Local, true));
    t.input(host.0.borrow().mono as i64);
    host.advance(700.0);
    t.click("https://partner.example/");
    t.on(Signal::Hide);
    assert!(host.0.borrow().sent.is_empty());
    assert!(storage.borrow().is_empty(), "{:?}", storage.borrow());
    t.on(Signal::Grant);
    let batches = host.batches();
    assert_eq!(batches.len(), 1);
    let types: Vec<_> = batches[0]
        .events
        .iter()
        .map(|e| e.kind.type_name())
        .collect();
    // The page view, the click, then the engaged time (the depth is read at the first frame).
    assert_eq!(types, ["pageview", "click", "engage"]);
    assert!(host.load(Area::Local, Key::Session).is_some());
}

#[test]
fn memory_storage_keeps_nothing() {
    let storage = Storage::default();
    let host = page(&storage);
    let _t = Tracker::start(host.clone(), config(StorageKind::Memory, false));
    assert_eq!(host.batches().len(), 1);
    assert!(storage.borrow().is_empty());
    // Nothing kept pending, nothing to send again: the JS entry gets no storage area.
    assert_eq!(host.0.borrow().keeps, [None]);
    assert_eq!(host.0.borrow().resends, [None]);
}

#[test]
fn a_new_session_starts_after_the_timeout_on_the_same_page() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    host.advance(31.0 * 60_000.0);
    t.click("https://shop.example/next");
    let batches = host.batches();
    // The old session's last engagement, then the new session's page view.
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[0].sid, batches[1].sid);
    assert_ne!(batches[1].sid, batches[2].sid);
    assert_eq!((batches[2].seq, batches[2].events[0].page), (0, 0));
    assert_eq!(batches[2].events[0].kind.type_name(), "pageview");
    // `sessionId()` names the session being sent, the new one.
    assert_eq!(t.session_id(), batches[2].sid);
}

/// The pages each session was sent, in order: `(session, page index, path)` of every page
/// view, sessions numbered by first appearance.
fn page_views(host: &Scripted) -> Vec<(usize, u32, String)> {
    let mut sids: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for b in host.batches() {
        if !sids.contains(&b.sid) {
            sids.push(b.sid.clone());
        }
        let n = sids.iter().position(|s| *s == b.sid).unwrap_or(0);
        for e in &b.events {
            if let EventKind::Pageview { url, .. } = &e.kind {
                let path = url.split('/').skip(3).collect::<Vec<_>>().join("/");
                let path = path.split('?').next().unwrap_or_default();
                out.push((n, e.page, format!("/{path}")));
            }
        }
    }
    out
}

fn go_to(host: &Scripted, path: &str) {
    let mut p = host.0.borrow_mut();
    p.path = path.into();
    p.href = format!("https://shop.example{path}");
}

/// A return after `sessionTimeoutMin` is a new session whatever the visitor does first, and
/// its first page is counted once: sending anything for the old session first would be
/// activity that keeps it alive.
#[test]
fn a_return_after_the_timeout_opens_one_page_in_a_new_session() {
    // A SPA navigation: the new session opens on the new page, once.
    let host = page(&Storage::default());
    let mut t = start(&host);
    host.advance(31.0 * 60_000.0);
    go_to(&host, "/checkout");
    t.on(Signal::Navigation);
    assert_eq!(
        page_views(&host),
        [(0, 0, "/pricing".into()), (1, 0, "/checkout".into())]
    );
    // Input, then the flush interval: the engaged time goes to the new session.
    let host = page(&Storage::default());
    let mut t = start(&host);
    host.advance(31.0 * 60_000.0);
    let at = host.0.borrow().mono as i64;
    t.input(at);
    host.advance(500.0);
    t.on(Signal::Tick);
    let batches = host.batches();
    assert_eq!(
        page_views(&host),
        [(0, 0, "/pricing".into()), (1, 0, "/pricing".into())]
    );
    let last = batches.last().unwrap();
    assert_eq!(last.sid, t.session_id());
    assert!(
        matches!(
            last.events[0].kind,
            EventKind::Engage { active_ms: 500, .. }
        ),
        "{batches:?}"
    );
    // Back from the back-forward cache: one page view, in the new session.
    let host = page(&Storage::default());
    let mut t = start(&host);
    host.advance(31.0 * 60_000.0);
    t.on(Signal::Restore);
    assert_eq!(
        page_views(&host),
        [(0, 0, "/pricing".into()), (1, 0, "/pricing".into())]
    );
}

/// A page opened by a new session has its depth at once: no frame is asked for it.
#[test]
fn a_new_session_reads_its_page_depth() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    host.0.borrow_mut().scroll_y = 1000.0;
    host.advance(31.0 * 60_000.0);
    t.on(Signal::Visibility);
    t.on(Signal::Flush);
    let last = host.batches().pop().unwrap();
    assert!(
        matches!(last.events[0].kind, EventKind::Engage { scroll: 50, .. }),
        "{last:?}"
    );
}

/// After the timeout, the first tab back starts the new session; the other tabs join it.
#[test]
fn tabs_back_after_the_timeout_join_the_new_session() {
    let storage = Storage::default();
    let (a, b) = (page(&storage), page(&storage));
    let mut ta = start(&a);
    let mut tb = start(&b);
    assert_eq!(ta.session_id(), tb.session_id());
    for host in [&a, &b] {
        host.advance(31.0 * 60_000.0);
    }
    ta.on(Signal::Visibility);
    let second = ta.session_id().to_string();
    assert_ne!(a.batches()[0].sid, second);
    tb.on(Signal::Visibility);
    assert_eq!(tb.session_id(), second);
    // Its page is the session's second.
    let last = b.batches().pop().unwrap();
    assert_eq!(
        (last.sid.as_str(), last.events[0].page),
        (second.as_str(), 1)
    );
}

/// With a consent banner asked on every page, the session consented to on an earlier page
/// goes on: read before consent, nothing written until `grant()`.
#[test]
fn consent_asked_again_on_the_next_page_keeps_the_session() {
    let storage = Storage::default();
    let first = page(&storage);
    let t1 = start(&first);
    let sid = t1.session_id().to_string();
    let stored = storage.borrow().clone();
    let second = page(&storage);
    go_to(&second, "/checkout");
    let mut t2 = Tracker::start(second.clone(), config(StorageKind::Local, true));
    assert_eq!(*storage.borrow(), stored, "nothing written before consent");
    t2.on(Signal::Grant);
    let batch = second.batches().pop().unwrap();
    assert_eq!(batch.sid, sid);
    assert_eq!((batch.seq, batch.events[0].page), (1, 1));
}

/// Two tabs that both waited for consent numbered their pages from the same stored count:
/// the second to get consent goes on in a session of its own, so no page view is lost to a
/// shared index.
#[test]
fn two_tabs_waiting_for_consent_keep_both_pages() {
    let storage = Storage::default();
    let first = page(&storage);
    let _t = start(&first);
    let (a, b) = (page(&storage), page(&storage));
    go_to(&b, "/checkout");
    // Each scripted page draws the same random bytes: not these two.
    b.0.borrow_mut().random = 7;
    let mut ta = Tracker::start(a.clone(), config(StorageKind::Local, true));
    let mut tb = Tracker::start(b.clone(), config(StorageKind::Local, true));
    ta.on(Signal::Grant);
    tb.on(Signal::Grant);
    let views: Vec<(String, u32)> = [&a, &b]
        .iter()
        .flat_map(|h| h.batches())
        .flat_map(|x| {
            x.events
                .iter()
                .map(move |e| (x.sid.clone(), e.page))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(views.len(), 2);
    assert_ne!(views[0], views[1], "two pages, two (session, index) pairs");
    assert_eq!(
        views[0].0,
        first.batches()[0].sid,
        "the first tab back goes on in the session"
    );
}

/// Before consent at most a batch's worth is kept, the load's page view first; what
/// `grant()` sends is one batch the collector takes.
#[test]
fn events_held_before_consent_fit_one_batch() {
    let host = page(&Storage::default());
    let mut t = Tracker::start(host.clone(), config(StorageKind::Local, true));
    t.input(host.0.borrow().mono as i64);
    for i in 0..150 {
        host.advance(10.0);
        let props = vec![("n".to_string(), PropValue::Num(f64::from(i)))];
        t.track("step".into(), props).unwrap();
    }
    t.on(Signal::Grant);
    let batches = host.batches();
    assert_eq!(batches.len(), 1);
    let events = &batches[0].events;
    assert!(events.len() <= stint_shared::protocol::MAX_EVENTS_PER_BATCH);
    assert_eq!(events[0].kind.type_name(), "pageview");
    // The latest custom events are the ones kept, and the engaged time is in one piece.
    let EventKind::Custom { props, .. } = &events[events.len() - 2].kind else {
        panic!("{:?}", events[events.len() - 2]);
    };
    assert_eq!(props[0].1, PropValue::Num(149.0));
    assert_eq!(host.engaged_ms(), 1_000, "the idle timeout ends it");
}

#[test]
fn tabs_sharing_a_session_never_reuse_a_seq_or_page() {
    let storage = Storage::default();
    let (a, b) = (page(&storage), page(&storage));
    let mut ta = start(&a);
    let mut tb = start(&b);
    for _ in 0..3 {
        ta.click("https://partner.example/");
        ta.on(Signal::Flush);
        tb.click("https://partner.example/");
        tb.on(Signal::Flush);
    }
    let all: Vec<Batch> = a.batches().into_iter().chain(b.batches()).collect();
    assert!(all.iter().all(|x| x.sid == all[0].sid), "one session");
    let mut seqs: Vec<u32> = all.iter().map(|x| x.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..8).collect::<Vec<_>>());
    let pages: Vec<u32> = all
        .iter()
        .flat_map(|x| &x.events)
        .filter(|e| e.kind.type_name() == "pageview")
        .map(|e| e.page)
        .collect();
    assert_eq!(pages, [0, 1]);
}

#[derive(Debug, Clone)]
enum Step {
    Wait(u16),
    Input,
    Signal(u8),
    Click(bool),
    Navigate(u8),
    Scroll(u16),
    Press(bool, u8),
    Error(u8),
    Form(bool, u8),
    Vital(u8, u16),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0u16..5000).prop_map(Step::Wait),
        Just(Step::Input),
        (0u8..12).prop_map(Step::Signal),
        any::<bool>().prop_map(Step::Click),
        (0u8..3).prop_map(Step::Navigate),
        (0u16..4000).prop_map(Step::Scroll),
        (any::<bool>(), 0u8..3).prop_map(|(b, n)| Step::Press(b, n)),
        (0u8..3).prop_map(Step::Error),
        (any::<bool>(), 0u8..3).prop_map(|(b, n)| Step::Form(b, n)),
        (0u8..6, 0u16..5000).prop_map(|(c, v)| Step::Vital(c, v)),
    ]
}

proptest! {
    /// Whatever the page does: every batch decodes, seqs run 0, 1, 2… once each, engaged
    /// time never exceeds the time that passed, and scroll stays within 0–100.
    #[test]
    fn any_page_life_sends_valid_consistent_batches(steps in prop::collection::vec(step(), 1..80)) {
        let host = page(&Storage::default());
        let mut t = start(&host);
        let mut elapsed = 0u64;
        for s in steps {
            match s {
                Step::Wait(ms) => {
                    host.advance(f64::from(ms));
                    elapsed += u64::from(ms);
                }
                Step::Input => t.input(host.0.borrow().mono as i64),
                Step::Signal(code) => {
                    let signal = Signal::from_code(u32::from(code)).unwrap();
                    if signal == Signal::Visibility {
                        let visible = !host.0.borrow().visible;
                        host.0.borrow_mut().visible = visible;
                    }
                    t.on(signal);
                }
                Step::Click(outbound) => t.click(if outbound {
                    "https://partner.example/x?y=1"
                } else {
                    "/relative-is-ignored"
                }),
                Step::Navigate(n) => {
                    let path = format!("/p{n}");
                    let mut p = host.0.borrow_mut();
                    p.href = format!("https://shop.example{path}");
                    p.path = path;
                    drop(p);
                    t.on(Signal::Navigation);
                }
                Step::Scroll(y) => {
                    host.0.borrow_mut().scroll_y = f64::from(y);
                    t.on(Signal::ScrollFrame);
                }
                Step::Press(button, n) => t.press(&format!("button\nb{n}\n\n"), button),
                Step::Error(n) => t.error(&format!("E{n}"), "https://shop.example/app.js?x=1", 3),
                Step::Form(submit, n) => t.form(&format!("f{n}"), submit),
                Step::Vital(code, v) => t.vital(u32::from(code), f64::from(v) / 7.0, f64::from(v % 5)),
            }
        }
        t.on(Signal::Hide);
        let batches = host.batches();
        let seqs: Vec<u32> = batches.iter().map(|b| b.seq).collect();
        prop_assert_eq!(seqs, (0..batches.len() as u32).collect::<Vec<_>>());
        prop_assert!(host.engaged_ms() <= elapsed);
        for e in batches.iter().flat_map(|b| &b.events) {
            if let EventKind::Engage { scroll, .. } = e.kind {
                prop_assert!(scroll <= 100);
            }
        }
    }
}

/// Presses, as the JS entry passes them: tag, id, class, name.
const BUY: &str = "button\nbuy\nprimary\ncheckout-pay";

fn kinds(host: &Scripted) -> Vec<EventKind> {
    host.batches()
        .into_iter()
        .flat_map(|b| b.events)
        .map(|e| e.kind)
        .filter(|k| !matches!(k, EventKind::Pageview { .. } | EventKind::Engage { .. }))
        .collect()
}

#[test]
fn a_burst_of_clicks_is_one_rage_click_and_a_click_without_change_is_dead() {
    use stint_shared::protocol::Element;
    let host = page(&Storage::default());
    let mut t = start(&host);
    for _ in 0..5 {
        t.press(BUY, true);
        host.advance(150.0);
    }
    // The last press waits a second: nothing changed, so it is dead (once).
    host.advance(1_000.0);
    t.on(Signal::Settle);
    t.on(Signal::Settle);
    // A press whose click changed the DOM is not.
    t.press("button\nopen\n\n", true);
    t.on(Signal::Change);
    host.advance(1_000.0);
    t.on(Signal::Settle);
    // Nor one followed by a navigation; a press on a plain element is never dead.
    t.press("button\nnext\n\n", true);
    {
        let mut p = host.0.borrow_mut();
        p.href = "https://shop.example/next".into();
        p.path = "/next".into();
    }
    t.on(Signal::Navigation);
    t.press("div\n\ncard\n", false);
    host.advance(1_000.0);
    t.on(Signal::Settle);
    t.on(Signal::Flush);
    let buy = Element {
        el: "button#buy.primary".into(),
        name: Some("checkout-pay".into()),
    };
    assert_eq!(
        kinds(&host),
        vec![EventKind::Rage(buy.clone()), EventKind::Dead(buy)]
    );
}

#[test]
fn errors_keep_type_script_and_line_only_ten_a_page() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    t.error(
        "TypeError",
        "https://shop.example/app.js?build=secret#x",
        42,
    );
    t.error("card 4242 was declined", "", 0);
    for _ in 0..12 {
        t.error("RangeError", "https://shop.example/app.js", 7);
    }
    t.on(Signal::Flush);
    let errors = kinds(&host);
    assert_eq!(errors.len(), 10);
    assert_eq!(
        errors[0],
        EventKind::Error {
            name: "TypeError".into(),
            src: Some("https://shop.example/app.js".into()),
            line: Some(42),
        }
    );
    assert_eq!(
        errors[1],
        EventKind::Error {
            name: "Error".into(),
            src: None,
            line: None,
        }
    );
}

#[test]
fn a_form_is_started_once_a_page_and_its_submit_is_sent_at_once() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    for _ in 0..20 {
        t.form("signup", false);
    }
    let sent_before = host.batches().len();
    t.form("signup", true);
    assert_eq!(host.batches().len(), sent_before + 1, "a submit flushes");
    t.form("", false);
    t.on(Signal::Flush);
    let form = |form: &str, submit| EventKind::Form {
        form: form.into(),
        submit,
    };
    assert_eq!(
        kinds(&host),
        vec![
            form("signup", false),
            form("signup", true),
            form("form", false)
        ]
    );
}

#[test]
fn page_speed_goes_with_the_page_and_only_when_it_changed() {
    use stint_shared::protocol::Vitals;
    use stint_shared::signals::Vital;
    let host = page(&Storage::default());
    let mut t = start(&host);
    t.vital(Vital::Ttfb as u32, 88.6, 0.0);
    t.vital(Vital::Lcp as u32, 1_234.0, 0.0);
    t.vital(Vital::Shift as u32, 0.25, 500.0);
    t.on(Signal::Flush);
    t.on(Signal::Flush);
    // A SPA page: no load figures of its own, INP from its interactions.
    {
        let mut p = host.0.borrow_mut();
        p.href = "https://shop.example/next".into();
        p.path = "/next".into();
    }
    t.on(Signal::Navigation);
    t.vital(Vital::Lcp as u32, 3_000.0, 0.0);
    t.vital(Vital::Interaction as u32, 96.0, 12.0);
    t.on(Signal::Hide);
    let perf: Vec<(u32, Vitals)> = host
        .batches()
        .into_iter()
        .flat_map(|b| b.events)
        .filter_map(|e| match e.kind {
            EventKind::Perf(v) => Some((e.page, v)),
            _ => None,
        })
        .collect();
    assert_eq!(
        perf,
        vec![
            (
                0,
                Vitals {
                    ttfb: Some(89),
                    lcp: Some(1_234),
                    cls: Some(0.25),
                    ..Vitals::default()
                }
            ),
            (
                1,
                Vitals {
                    inp: Some(96),
                    ..Vitals::default()
                }
            ),
        ]
    );
}

#[test]
fn scroll_depth_reads_the_document_height_only_past_the_deepest_point() {
    let host = page(&Storage::default());
    let mut t = start(&host);
    // 4000 px document, 1000 px viewport: at 1000 the bottom is at 2000 = 50%.
    let reads = || host.0.borrow().height_reads.get();
    assert_eq!(reads(), 0, "no layout read while starting");
    // The page's first frame: 25%.
    t.on(Signal::ScrollFrame);
    let at_start = reads();
    assert_eq!(at_start, 1);
    host.0.borrow_mut().scroll_y = 1000.0;
    t.on(Signal::ScrollFrame);
    assert_eq!(reads(), at_start + 1);
    // Back up: no layout read, the depth stays.
    host.0.borrow_mut().scroll_y = 200.0;
    t.on(Signal::ScrollFrame);
    host.0.borrow_mut().scroll_y = 900.0;
    t.on(Signal::ScrollFrame);
    assert_eq!(reads(), at_start + 1);
    host.0.borrow_mut().scroll_y = 2000.0;
    t.on(Signal::ScrollFrame);
    assert_eq!(reads(), at_start + 2);
    // Read to the end: no read at all any more.
    host.0.borrow_mut().scroll_y = 3000.0;
    t.on(Signal::ScrollFrame);
    host.0.borrow_mut().scroll_y = 3500.0;
    t.on(Signal::ScrollFrame);
    assert_eq!(reads(), at_start + 3);
    t.on(Signal::Flush);
    let scroll: Vec<u8> = host
        .batches()
        .iter()
        .flat_map(|b| &b.events)
        .filter_map(|e| match e.kind {
            EventKind::Engage { scroll, .. } => Some(scroll),
            _ => None,
        })
        .collect();
    // The deepest reading is what goes (25% at the first frame, 100% in the end).
    assert_eq!(scroll, [100]);
}
