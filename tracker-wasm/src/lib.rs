//! Stint's tracker, compiled to WebAssembly.
//!
//! Split by concern: `config` reads the options, `privacy` decides whether anything may be
//! sent, `session` owns the session ID and its counters, `pages` describes the page being
//! shown, `clicks` recognises link clicks, `navigation` hears SPA page changes, `transport`
//! delivers batches, and `listener` owns event listeners. This file wires them into one
//! `Tracker` and exports `start`, `track`, `flush` and `grant` to the JS entry (`js/stint.js`).
//! What the numbers mean — the engaged-time clock, scroll depth, link classes, the wire
//! format — lives in `stint-shared`, tested natively.

mod clicks;
mod config;
mod listener;
mod navigation;
mod pages;
mod privacy;
mod session;
mod transport;

use config::{error, Config};
use listener::Listener;
use session::{Session, Store};
use std::cell::RefCell;
use stint_shared::engagement::EngagementClock;
use stint_shared::protocol::{check_custom, Batch, Event, EventKind, PropValue};
use transport::Transport;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, VisibilityState, Window};

// SAFETY: the tracker runs on the page's one thread; WebAssembly here has no threads.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// Queued events that trigger a flush.
const FLUSH_AT_EVENTS: usize = 20;
/// Events kept in memory while consent is pending; older ones are dropped beyond this.
const MAX_EVENTS_BEFORE_CONSENT: usize = 100;

thread_local! {
    static TRACKER: RefCell<Option<Tracker>> = const { RefCell::new(None) };
}

/// Runs `f` on the tracker, if started. Re-entrant calls (an event fired while the tracker
/// is busy) are dropped rather than panicking.
fn with_tracker(f: impl FnOnce(&mut Tracker)) {
    TRACKER.with(|cell| {
        if let Ok(mut guard) = cell.try_borrow_mut() {
            if let Some(tracker) = guard.as_mut() {
                f(tracker);
            }
        }
    });
}

struct Tracker {
    config: Config,
    window: Window,
    document: Document,
    store: Store,
    session: Session,
    transport: Transport,
    /// Engaged-time clock, on the monotonic `performance.now()` timeline.
    clock: EngagementClock,
    /// Index of the page being shown, its scrubbed URL and route.
    page: u32,
    page_url: String,
    route: String,
    /// Deepest scroll on this page, and the depth last sent.
    scroll: u8,
    scroll_sent: u8,
    queue: Vec<Event>,
    /// False while `consent: "pending"` and `grant()` has not been called.
    granted: bool,
    frame_requested: bool,
    on_frame: Closure<dyn FnMut()>,
    _interval: Closure<dyn FnMut()>,
    _listeners: Vec<Listener>,
}

fn wall_now() -> i64 {
    js_sys::Date::now() as i64
}

fn mono_now(window: &Window) -> i64 {
    window
        .performance()
        .map(|p| p.now() as i64)
        .unwrap_or_else(wall_now)
}

fn is_visible(document: &Document) -> bool {
    document.visibility_state() == VisibilityState::Visible
}

/// Starts tracking with the given options (`{endpoint, site, …}`) and sends the page view of
/// the current page. Throws an `Error` naming the option when one is wrong. Does nothing
/// when the visitor has opted out (DNT, GPC, `stint.optout`) or when already started.
#[wasm_bindgen]
pub fn start(options: &JsValue) -> Result<(), JsValue> {
    let config = Config::from_js(options)?;
    let started = TRACKER.with(|cell| cell.borrow().is_some());
    let window = web_sys::window().ok_or_else(|| error("stint: no window"))?;
    if started || privacy::tracking_refused(&window, &config) {
        return Ok(());
    }
    let document = window
        .document()
        .ok_or_else(|| error("stint: no document"))?;
    let granted = !config.consent_pending;
    let store = if granted {
        Store::open(&window, config.storage)
    } else {
        Store::none()
    };
    let session = Session::resume_or_start(&store, &window, wall_now(), config.session_timeout_ms)?;
    let transport = Transport::new(config.collect_url.clone(), store.storage().cloned());
    let clock = EngagementClock::new(
        mono_now(&window),
        config.idle_timeout_ms,
        is_visible(&document),
        document.has_focus().unwrap_or(false),
    );
    let listeners = listen(&window, &document, &config);
    let interval = Closure::<dyn FnMut()>::new(|| with_tracker(Tracker::on_interval));
    window.set_interval_with_callback_and_timeout_and_arguments_0(
        interval.as_ref().unchecked_ref(),
        config.flush_interval_ms,
    )?;
    if config.spa {
        navigation::wrap_history(&window, || with_tracker(Tracker::on_navigation))?;
    }
    let tracker = Tracker {
        config,
        window,
        document,
        store,
        session,
        transport,
        clock,
        page: 0,
        page_url: String::new(),
        route: String::new(),
        scroll: 0,
        scroll_sent: 0,
        queue: Vec::new(),
        granted,
        frame_requested: false,
        on_frame: Closure::new(|| with_tracker(Tracker::on_frame)),
        _interval: interval,
        _listeners: listeners,
    };
    TRACKER.with(|cell| *cell.borrow_mut() = Some(tracker));
    with_tracker(|t| {
        if t.granted {
            t.transport.resend_pending(&t.window);
        }
        t.begin_page(true);
    });
    Ok(())
}

/// Records a custom event on the current page. Throws an `Error` when the name or props
/// break the contract's limits (name 1–64 characters, ≤ 20 props of string/number/boolean).
#[wasm_bindgen]
pub fn track(name: &str, props: &JsValue) -> Result<(), JsValue> {
    let props = read_props(props)?;
    check_custom(name, &props).map_err(|m| {
        let mut message = String::from("stint: track() ");
        message.push_str(m);
        error(&message)
    })?;
    with_tracker(|t| {
        t.rotate_if_expired();
        t.record(EventKind::Custom {
            name: name.to_string(),
            props,
        });
    });
    Ok(())
}

/// Sends what is queued now.
#[wasm_bindgen]
pub fn flush() {
    with_tracker(Tracker::flush);
}

/// Consent given: from now on the session is stored and events are sent, starting with
/// those queued while consent was pending.
#[wasm_bindgen]
pub fn grant() {
    with_tracker(Tracker::grant);
}

fn read_props(props: &JsValue) -> Result<Vec<(String, PropValue)>, JsValue> {
    if props.is_undefined() || props.is_null() {
        return Ok(Vec::new());
    }
    let object: &js_sys::Object = props
        .dyn_ref()
        .ok_or_else(|| error("stint: track() props must be an object"))?;
    let mut out = Vec::new();
    for entry in js_sys::Object::entries(object).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let key = pair.get(0).as_string().unwrap_or_default();
        let value = pair.get(1);
        let value = if let Some(s) = value.as_string() {
            PropValue::Str(s)
        } else if let Some(n) = value.as_f64() {
            PropValue::Num(n)
        } else if let Some(b) = value.as_bool() {
            PropValue::Bool(b)
        } else {
            return Err(error(
                "stint: track() props must be strings, numbers or booleans",
            ));
        };
        out.push((key, value));
    }
    Ok(out)
}

/// What a listener reports; the listener passes its code to [`on_event`].
mod on {
    pub const VISIBILITY: u8 = 0;
    pub const FOCUS: u8 = 1;
    pub const BLUR: u8 = 2;
    pub const PAGEHIDE: u8 = 3;
    pub const PAGESHOW: u8 = 4;
    pub const SCROLL: u8 = 5;
    pub const CLICK: u8 = 6;
    pub const INPUT: u8 = 7;
    pub const NAVIGATION: u8 = 8;
}

fn on_event(code: u8, event: web_sys::Event) {
    with_tracker(|t| match code {
        on::VISIBILITY => t.on_visibility(),
        on::FOCUS => t.on_focus(true),
        on::BLUR => t.on_focus(false),
        on::PAGEHIDE => t.flush(),
        on::PAGESHOW => {
            let restored = js_sys::Reflect::get(&event, &"persisted".into()).map(|p| p.is_truthy());
            if restored.unwrap_or(false) {
                t.on_restore();
            }
        }
        on::SCROLL => t.on_scroll(),
        on::CLICK => t.on_click(&event),
        on::INPUT => t.on_input(),
        _ => t.on_navigation(),
    });
}

/// Registers every listener the tracker needs; all passive.
fn listen(window: &Window, document: &Document, config: &Config) -> Vec<Listener> {
    let win: &web_sys::EventTarget = window.as_ref();
    let doc: &web_sys::EventTarget = document.as_ref();
    let mut table: Vec<(&web_sys::EventTarget, &'static str, bool, u8)> = vec![
        (doc, "visibilitychange", false, on::VISIBILITY),
        (win, "focus", false, on::FOCUS),
        (win, "blur", false, on::BLUR),
        (win, "pagehide", false, on::PAGEHIDE),
        (win, "pageshow", false, on::PAGESHOW),
        (win, "scroll", false, on::SCROLL),
        (doc, "click", true, on::CLICK),
        (doc, "auxclick", true, on::CLICK),
        (doc, "pointerdown", true, on::INPUT),
        (doc, "pointermove", true, on::INPUT),
        (doc, "keydown", true, on::INPUT),
        (doc, "wheel", true, on::INPUT),
        (doc, "touchstart", true, on::INPUT),
    ];
    if config.spa {
        table.push((win, "popstate", false, on::NAVIGATION));
    }
    if config.hash_routing {
        table.push((win, "hashchange", false, on::NAVIGATION));
    }
    table
        .into_iter()
        .map(|(target, kind, capture, code)| Listener::new(target, kind, capture, code, on_event))
        .collect()
}

impl Tracker {
    fn mono(&self) -> i64 {
        mono_now(&self.window)
    }

    /// Queues an event for the current page; sends when [`FLUSH_AT_EVENTS`] are queued.
    fn record(&mut self, kind: EventKind) {
        self.enqueue(kind);
        if self.queue.len() >= FLUSH_AT_EVENTS {
            self.flush();
        }
    }

    fn enqueue(&mut self, kind: EventKind) {
        self.queue.push(Event {
            ts: wall_now(),
            page: self.page,
            kind,
        });
        if !self.granted && self.queue.len() > MAX_EVENTS_BEFORE_CONSENT {
            self.queue.remove(0);
        }
    }

    /// Opens a new page: next page index, its URL and route, its first scroll reading, and
    /// sends its page view.
    fn begin_page(&mut self, first_load: bool) {
        self.page = self.session.alloc_page(&self.store);
        self.page_url = pages::current_url(&self.window, &self.config.keep_params);
        self.route = pages::route_key(&self.window, self.config.hash_routing);
        self.scroll = pages::scroll_depth(&self.window);
        self.scroll_sent = 0;
        let pageview = pages::pageview(&self.window, self.page_url.clone(), first_load);
        self.enqueue(pageview);
        // A page view is sent at once: it is what makes a visit visible at all.
        self.flush();
    }

    /// Queues the page's engagement delta and scroll depth, if either moved.
    fn note_engagement(&mut self) {
        let active_ms = self.clock.take(self.mono());
        if active_ms > 0 || self.scroll > self.scroll_sent {
            self.enqueue(EventKind::Engage {
                active_ms: active_ms.min(u64::from(u32::MAX)) as u32,
                scroll: self.scroll,
            });
            self.scroll_sent = self.scroll;
        }
    }

    /// Sends everything queued as one batch (after noting engagement).
    fn flush(&mut self) {
        self.note_engagement();
        if !self.granted || self.queue.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.queue);
        let seq = self.session.alloc_seq(&self.store);
        self.session.touch(&self.store, wall_now());
        let batch = Batch {
            site: self.config.site.clone(),
            sid: self.session.id.clone(),
            seq,
            webdriver: privacy::is_webdriver(&self.window),
            events,
        };
        self.transport.send(&self.window, batch.to_json());
    }

    /// After `sessionTimeoutMin` without activity, the next activity starts a new session
    /// on the same page.
    fn rotate_if_expired(&mut self) {
        let now = wall_now();
        self.session.sync(&self.store);
        if self.session.expired(now, self.config.session_timeout_ms) {
            self.flush();
            if self.session.restart(&self.window, now).is_ok() {
                self.session.save(&self.store);
                self.begin_page(false);
            }
        }
    }

    fn grant(&mut self) {
        if self.granted {
            return;
        }
        self.granted = true;
        self.store = Store::open(&self.window, self.config.storage);
        self.transport.set_storage(self.store.storage().cloned());
        self.session.save(&self.store);
        self.transport.resend_pending(&self.window);
        self.flush();
    }

    fn on_visibility(&mut self) {
        let visible = is_visible(&self.document);
        let now = self.mono();
        self.clock.set_visible(now, visible);
        if visible {
            self.rotate_if_expired();
        } else {
            self.flush();
        }
    }

    fn on_focus(&mut self, focused: bool) {
        let now = self.mono();
        self.clock.set_focused(now, focused);
    }

    fn on_input(&mut self) {
        let now = self.mono();
        self.clock.input(now);
    }

    /// Scroll is input; the depth is read on the next animation frame, once per frame.
    fn on_scroll(&mut self) {
        self.on_input();
        if !self.frame_requested {
            self.frame_requested = self
                .window
                .request_animation_frame(self.on_frame.as_ref().unchecked_ref())
                .is_ok();
        }
    }

    fn on_frame(&mut self) {
        self.frame_requested = false;
        self.scroll = self.scroll.max(pages::scroll_depth(&self.window));
    }

    fn on_click(&mut self, event: &web_sys::Event) {
        let Some((href, kind)) = clicks::clicked_link(event, &self.page_url) else {
            return;
        };
        self.rotate_if_expired();
        let href = stint_shared::url::scrub_url(&href, &self.config.keep_params).unwrap_or(href);
        self.record(EventKind::Click {
            href,
            outbound: kind.outbound,
            download: kind.download,
        });
        // The page may be about to unload: send now, while sendBeacon is sure to work.
        if kind.outbound || kind.download {
            self.flush();
        }
    }

    fn on_navigation(&mut self) {
        let route = pages::route_key(&self.window, self.config.hash_routing);
        if route == self.route {
            return;
        }
        // Close the old page (its engagement goes with it), then open the new one.
        self.flush();
        self.rotate_if_expired();
        self.begin_page(false);
    }

    /// The page came back from the back-forward cache: a new page view.
    fn on_restore(&mut self) {
        let now = self.mono();
        self.clock.set_visible(now, is_visible(&self.document));
        self.rotate_if_expired();
        self.begin_page(false);
    }

    fn on_interval(&mut self) {
        if self.clock.is_engaged(self.mono()) || self.clock.pending() > 0 || !self.queue.is_empty()
        {
            self.flush();
        }
    }
}
