//! The session reducer under any sequence of batches a client could get accepted.
//!
//! Batches are generated structurally, encoded with the tracker's encoder and decoded with
//! the collector's decoder (so only what `POST /collect` would accept reaches the reducer),
//! then folded the way the session object folds them: skipping a `seq` already applied,
//! reloading the state from its stored JSON between batches. Invariants checked:
//! - the result is the same for every delivery order, with or without resent duplicates;
//! - the stored JSON reloads to the same state;
//! - counts equal what was sent: clicks, custom events, engaged time and stored events are
//!   the sums over applied batches, page views the number of distinct viewed pages; nothing
//!   exceeds what was sent;
//! - derived fields agree with the counts (bounce, entry/exit page, duration, scroll ≤ 100).
//!
//! "Engaged ≤ wall time" is not an invariant of the reducer: engaged time is a sum of
//! client-reported deltas (each ≤ a day), not something the collector can measure; what
//! holds is that it never exceeds the sum reported for each page.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet};
use stint_shared::protocol::{decode_batch, Batch, Event, EventKind, PropValue};
use stint_shared::session::{BatchContext, SessionState};

const SID: &str = "0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e";
const T0: i64 = 1_732_390_000_000;

#[derive(Arbitrary, Debug)]
struct Input {
    batches: Vec<InBatch>,
    shuffle_seed: u64,
    keep_ref: bool,
}

#[derive(Arbitrary, Debug)]
struct InBatch {
    /// Small, so that the same seq comes up again (a retry or a buggy client).
    seq: u8,
    webdriver: bool,
    /// Receive time, seconds after T0.
    received_s: u16,
    ua: UaPick,
    country: Option<[u8; 2]>,
    events: Vec<InEvent>,
}

#[derive(Arbitrary, Debug)]
enum UaPick {
    Chrome,
    Iphone,
    Curl,
    Headless,
    Empty,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Ts {
    /// Near the receive time, as an honest clock.
    Near(i32),
    /// Anything the decoder lets through (0..=2^53), far clocks included.
    Raw(u64),
}

#[derive(Arbitrary, Debug)]
struct InUrl {
    https: bool,
    host: u8,
    path: String,
    query: Vec<(Param, String)>,
    fragment: Option<String>,
}

#[derive(Arbitrary, Debug)]
enum Param {
    UtmSource,
    UtmMedium,
    UtmCampaign,
    Ref,
    Email,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum InEvent {
    Pageview {
        ts: Ts,
        page: u16,
        url: InUrl,
        referrer: Option<InUrl>,
        title: Option<String>,
        width: Option<u16>,
    },
    Engage {
        ts: Ts,
        page: u16,
        active_ms: u32,
        scroll: u8,
    },
    Click {
        ts: Ts,
        page: u16,
        href: InUrl,
        outbound: bool,
        download: bool,
    },
    Custom {
        ts: Ts,
        page: u16,
        name: String,
        props: Vec<(String, InProp)>,
    },
}

#[derive(Arbitrary, Debug)]
enum InProp {
    Str(String),
    Num(f64),
    Bool(bool),
}

const HOSTS: [&str; 6] = [
    "demo.local",
    "Demo.Local:8443",
    "www.google.com",
    "news.ycombinator.com",
    "user:pw@mail.example",
    "t.co",
];

impl InUrl {
    fn render(&self) -> String {
        let mut s = String::from(if self.https { "https://" } else { "http://" });
        s.push_str(HOSTS[usize::from(self.host) % HOSTS.len()]);
        if !self.path.starts_with('/') {
            s.push('/');
        }
        s.push_str(&self.path);
        for (i, (name, value)) in self.query.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(match name {
                Param::UtmSource => "utm_source",
                Param::UtmMedium => "utm_medium",
                Param::UtmCampaign => "utm_campaign",
                Param::Ref => "ref",
                Param::Email => "email",
                Param::Other(o) => o,
            });
            s.push('=');
            s.push_str(value);
        }
        if let Some(f) = &self.fragment {
            s.push('#');
            s.push_str(f);
        }
        s
    }
}

impl Ts {
    fn at(&self, received_at: i64) -> i64 {
        match *self {
            Ts::Near(d) => (received_at + i64::from(d)).max(0),
            Ts::Raw(r) => (r % ((1u64 << 53) + 1)) as i64,
        }
    }
}

/// The batch a client sends, and the edge's facts about its request.
fn build(b: &InBatch) -> (Batch, BatchContext) {
    let received_at = T0 + i64::from(b.received_s) * 1000;
    let events = b
        .events
        .iter()
        .map(|e| match e {
            InEvent::Pageview {
                ts,
                page,
                url,
                referrer,
                title,
                width,
            } => Event {
                ts: ts.at(received_at),
                page: u32::from(*page),
                kind: EventKind::Pageview {
                    url: url.render(),
                    referrer: referrer.as_ref().map(InUrl::render),
                    title: title.clone(),
                    width: width.map(u32::from),
                },
            },
            InEvent::Engage {
                ts,
                page,
                active_ms,
                scroll,
            } => Event {
                ts: ts.at(received_at),
                page: u32::from(*page),
                kind: EventKind::Engage {
                    active_ms: *active_ms,
                    scroll: *scroll,
                },
            },
            InEvent::Click {
                ts,
                page,
                href,
                outbound,
                download,
            } => Event {
                ts: ts.at(received_at),
                page: u32::from(*page),
                kind: EventKind::Click {
                    href: href.render(),
                    outbound: *outbound,
                    download: *download,
                },
            },
            InEvent::Custom {
                ts,
                page,
                name,
                props,
            } => Event {
                ts: ts.at(received_at),
                page: u32::from(*page),
                kind: EventKind::Custom {
                    name: name.clone(),
                    props: props
                        .iter()
                        .map(|(k, v)| {
                            let v = match v {
                                InProp::Str(s) => PropValue::Str(s.clone()),
                                InProp::Num(n) => PropValue::Num(*n),
                                InProp::Bool(b) => PropValue::Bool(*b),
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                },
            },
        })
        .collect();
    let batch = Batch {
        site: "demo".into(),
        sid: SID.into(),
        seq: u32::from(b.seq),
        webdriver: b.webdriver,
        events,
    };
    let ua = match &b.ua {
        UaPick::Chrome => "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
        UaPick::Iphone => "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        UaPick::Curl => "curl/8.5.0",
        UaPick::Headless => "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/126.0.0.0 Safari/537.36",
        UaPick::Empty => "",
        UaPick::Other(s) => s,
    };
    let info = stint_shared::classify::classify_user_agent(ua);
    let ctx = BatchContext {
        received_at,
        keep_params: Vec::new(),
        country: b
            .country
            .filter(|c| c.iter().all(u8::is_ascii_uppercase))
            .map(|c| String::from_utf8_lossy(&c).into_owned()),
        device: info.device,
        os: info.os,
        os_version: info.os_version,
        browser: info.browser,
        browser_version: info.browser_version,
        ua_bot: info.bot.map(|b| b.as_str().to_string()),
        bot_name: info.bot_name,
    };
    (batch, ctx)
}

/// Folds batches as the session object does: a seq already applied is skipped, a batch
/// over the event cap is refused whole, and the state goes through its stored JSON
/// between batches.
fn deliver(order: &[&(Batch, BatchContext)], keep: &[String]) -> SessionState {
    let mut applied = BTreeSet::new();
    let mut state = SessionState::new("demo", SID);
    for (batch, ctx) in order {
        if !applied.insert(batch.seq) || state.would_exceed_cap(batch.events.len()) {
            continue;
        }
        let ctx = BatchContext {
            keep_params: keep.to_vec(),
            ..ctx.clone()
        };
        state.apply(batch, &ctx);
        let stored = serde_json::to_string(&state).expect("state serialises");
        let reloaded: SessionState = serde_json::from_str(&stored)
            .unwrap_or_else(|e| panic!("stored state does not reload: {e}\n{stored}"));
        assert_eq!(reloaded, state, "state changed through its stored JSON");
        state = reloaded;
    }
    state
}

fuzz_target!(|input: Input| {
    let keep = if input.keep_ref {
        vec!["ref".to_string()]
    } else {
        Vec::new()
    };
    // What the collector would accept, in arrival order (duplicates of a seq included).
    let arrivals: Vec<(Batch, BatchContext)> = input
        .batches
        .iter()
        .take(24)
        .filter_map(|b| {
            let (batch, ctx) = build(b);
            let body = batch.to_json();
            decode_batch(body.as_bytes())
                .ok()
                .map(|decoded| (decoded, ctx))
        })
        .collect();
    // The first arrival of each seq is the one applied; later ones are retries.
    let mut distinct: BTreeMap<u32, &(Batch, BatchContext)> = BTreeMap::new();
    for a in &arrivals {
        distinct.entry(a.0.seq).or_insert(a);
    }
    let distinct: Vec<&(Batch, BatchContext)> = distinct.into_values().collect();

    let in_seq_order = deliver(&distinct, &keep);
    // Every batch resent after the fact: duplicates change nothing.
    let resent: Vec<_> = distinct.iter().chain(distinct.iter()).copied().collect();
    assert_eq!(
        deliver(&resent, &keep),
        in_seq_order,
        "duplicates changed the session"
    );
    let reversed: Vec<_> = distinct.iter().rev().copied().collect();
    assert_eq!(
        deliver(&reversed, &keep),
        in_seq_order,
        "reversed delivery differs"
    );
    let mut shuffled = distinct.clone();
    let mut x = input.shuffle_seed | 1;
    for i in (1..shuffled.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        shuffled.swap(i, (x % (i as u64 + 1)) as usize);
    }
    assert_eq!(
        deliver(&shuffled, &keep),
        in_seq_order,
        "shuffled delivery differs"
    );

    // Counts are exactly what the applied batches carried.
    let s = &in_seq_order.summary;
    let events = || distinct.iter().flat_map(|(b, _)| b.events.iter());
    let count = |f: fn(&EventKind) -> bool| events().filter(|e| f(&e.kind)).count() as u64;
    let viewed: BTreeSet<u32> = events()
        .filter(|e| matches!(e.kind, EventKind::Pageview { .. }))
        .map(|e| e.page)
        .collect();
    assert_eq!(
        u64::from(s.clicks),
        count(|k| matches!(k, EventKind::Click { .. }))
    );
    assert_eq!(
        u64::from(s.outbound_clicks),
        count(|k| matches!(k, EventKind::Click { outbound: true, .. }))
    );
    assert_eq!(
        u64::from(s.events),
        count(|k| matches!(k, EventKind::Custom { .. }))
    );
    assert_eq!(s.pageviews as usize, viewed.len());
    assert!(u64::from(s.pageviews) <= count(|k| matches!(k, EventKind::Pageview { .. })));
    assert_eq!(
        u64::from(in_seq_order.stored_events),
        events().count() as u64
    );
    let engaged: u64 = events()
        .map(|e| match e.kind {
            EventKind::Engage { active_ms, .. } => u64::from(active_ms),
            _ => 0,
        })
        .sum();
    assert_eq!(s.active_ms, engaged);
    let scroll = events()
        .filter_map(|e| match e.kind {
            EventKind::Engage { scroll, .. } => Some(scroll),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    assert_eq!(s.max_scroll, scroll);
    assert!(s.max_scroll <= 100 && s.weekday <= 6);

    // Pages: sorted, unique, each page's engaged time at most what was sent for it.
    let pages = &in_seq_order.pages;
    assert!(pages.windows(2).all(|w| w[0].index < w[1].index));
    for p in pages {
        let sent: u64 = events()
            .filter(|e| e.page == p.index)
            .map(|e| match e.kind {
                EventKind::Engage { active_ms, .. } => u64::from(active_ms),
                _ => 0,
            })
            .sum();
        assert_eq!(p.active_ms, sent);
        assert_eq!(p.url.is_some(), viewed.contains(&p.index));
    }

    if distinct.is_empty() {
        assert!(in_seq_order.is_empty());
        return;
    }
    assert!(s.started_at <= s.last_seen_at);
    assert_eq!(s.duration_ms, s.last_seen_at - s.started_at);
    assert_eq!(s.entry_page.is_some(), s.pageviews > 0);
    assert_eq!(s.exit_page.is_some(), s.pageviews > 0);
    assert_eq!(s.bounce, s.pageviews <= 1 && s.events == 0);
    assert!(s.channel.is_some());
    if let Some(entry) = &s.entry_page {
        // Pages are grouped by path: no query, no fragment.
        assert!(entry.starts_with('/') && !entry.contains('#') && !entry.contains('?'));
    }
});
