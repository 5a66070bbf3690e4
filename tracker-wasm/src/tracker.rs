//! The tracker's decisions: when a page view starts, what engagement and scroll to report,
//! which clicks count, when to flush, when the session rolls over. Everything it learns
//! about the page comes through [`Host`]; every event the page fires arrives as a call here.

use crate::config::{Config, StorageKind};
use crate::host::{flag, int, Area, Host, Num, Text};
use crate::session::{Session, Store};
use stint_shared::engagement::EngagementClock;
use stint_shared::links::classify_link;
use stint_shared::protocol::{
    check_custom, EventKind, PropValue, MAX_ERRORS_PER_PAGE, MAX_SIGNAL_NAME_CHARS, MAX_TITLE_CHARS,
};
use stint_shared::scroll::scroll_percent;
use stint_shared::signals::{self, DeadClicks, PageSpeed, RageClicks, Vital};
use stint_shared::text::{pieces, truncate_chars};
use stint_shared::url::scrub_url;

/// Queued events that trigger a flush.
pub const FLUSH_AT_EVENTS: usize = 20;
/// Events kept in memory while consent is pending; older ones (but the first, the load's
/// page view) are dropped beyond this. Two short of a batch's limit: the flush at consent
/// adds the engaged time and the page speed.
pub const MAX_EVENTS_BEFORE_CONSENT: usize = stint_shared::protocol::MAX_EVENTS_PER_BATCH - 2;

/// What the page reports, by the code the JS entry passes to `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `visibilitychange`.
    Visibility,
    Focus,
    Blur,
    /// `pagehide`: the page may be going away; send now.
    Hide,
    /// `pageshow` with `persisted`: back from the back-forward cache.
    Restore,
    /// An animation frame after `scroll` events: read the depth once.
    ScrollFrame,
    /// `pushState`, `replaceState`, `popstate`, or `hashchange` under hash routing.
    Navigation,
    /// The flush interval elapsed.
    Tick,
    /// `flush()`.
    Flush,
    /// `grant()`.
    Grant,
    /// The DOM changed after a click on a button-like element (a MutationObserver).
    Change,
    /// `signals::DEAD_AFTER_MS` after a click on a button-like element.
    Settle,
}

impl Signal {
    pub fn from_code(code: u32) -> Option<Signal> {
        use Signal::*;
        [
            Visibility,
            Focus,
            Blur,
            Hide,
            Restore,
            ScrollFrame,
            Navigation,
            Tick,
            Flush,
            Grant,
            Change,
            Settle,
        ]
        .get(code as usize)
        .copied()
    }
}

pub struct Tracker<H: Host> {
    pub host: H,
    config: Config,
    store: Store,
    session: Session,
    /// Engaged-time clock, on the monotonic `performance.now()` timeline.
    clock: EngagementClock,
    /// Index of the page being shown, its scrubbed URL and route.
    page: u32,
    page_url: String,
    route: String,
    /// Deepest scroll on this page, and the depth last sent.
    scroll: u8,
    scroll_sent: u8,
    /// The deepest the viewport's bottom (scrollY + innerHeight) has been on this page.
    deepest: f64,
    /// Events handed to the host since the last batch (the host holds them).
    queued: usize,
    /// False while `consent: "pending"` and `grant()` has not been called.
    granted: bool,
    rage: RageClicks,
    dead: DeadClicks,
    /// Errors sent for this page (at most `MAX_ERRORS_PER_PAGE`), forms started on it.
    errors: u32,
    forms: Vec<String>,
    speed: PageSpeed,
    /// The stored session's page count when this page resumed it before consent: pages it
    /// numbers from there, unsaved until `grant()`.
    pages_at_start: u32,
}

fn store_for(kind: StorageKind) -> Store {
    match kind {
        StorageKind::Local => Some(Area::Local),
        StorageKind::Session => Some(Area::Session),
        StorageKind::Memory => None,
    }
}

impl<H: Host> Tracker<H> {
    /// Starts tracking: resumes or starts the session, resends what earlier pages left
    /// pending, and sends the page view of the current page.
    pub fn start(host: H, config: Config) -> Tracker<H> {
        let granted = !config.consent_pending;
        let store = if granted {
            store_for(config.storage)
        } else {
            None
        };
        let now = int(&host, Num::Wall);
        // Before consent nothing is written, but a session stored under consent given on an
        // earlier page goes on: a consent banner asked on every page load would otherwise
        // make each page a session of its own.
        let session = Session::resume_or_start(
            &host,
            store_for(config.storage),
            now,
            config.session_timeout_ms,
        );
        let pages_at_start = session.next_page;
        let clock = EngagementClock::new(
            int(&host, Num::Mono),
            config.idle_timeout_ms,
            flag(&host, Num::Visible),
            flag(&host, Num::Focused),
        );
        let mut t = Tracker {
            host,
            config,
            store,
            session,
            clock,
            page: 0,
            page_url: String::new(),
            route: String::new(),
            scroll: 0,
            scroll_sent: 0,
            deepest: 0.0,
            queued: 0,
            granted,
            rage: RageClicks::default(),
            dead: DeadClicks::default(),
            errors: 0,
            forms: Vec::new(),
            speed: PageSpeed::default(),
            pages_at_start,
        };
        if t.granted {
            t.host.resend_pending(t.store);
        }
        t.begin_page(true);
        t
    }

    pub fn on(&mut self, signal: Signal) {
        let now = self.mono();
        match signal {
            Signal::Visibility => {
                let visible = flag(&self.host, Num::Visible);
                self.clock.set_visible(now, visible);
                if visible {
                    self.rotate_if_expired();
                } else {
                    self.flush();
                }
            }
            Signal::Focus => self.clock.set_focused(now, true),
            Signal::Blur => self.clock.set_focused(now, false),
            Signal::Hide => {
                self.dead.changed();
                self.flush();
            }
            Signal::Flush => self.flush(),
            Signal::Restore => {
                self.clock.set_visible(now, flag(&self.host, Num::Visible));
                if !self.rotate(false) {
                    self.begin_page(false);
                }
            }
            Signal::ScrollFrame => self.on_scroll_frame(),
            Signal::Navigation => self.on_navigation(),
            Signal::Tick => {
                // Engaged time is the visitor's activity: after the timeout it goes to a new
                // session (a rotation sends what there was under the old one). Events alone
                // (an error in a tab nobody looks at) are sent as they are.
                let engaged = self.clock.is_engaged(now) || self.clock.pending() > 0;
                if (engaged && !self.rotate_if_expired()) || (!engaged && self.queued > 0) {
                    self.flush();
                }
            }
            Signal::Grant => self.grant(),
            Signal::Change => self.dead.changed(),
            Signal::Settle => {
                if let Some(element) = self.dead.settle(now) {
                    self.record(EventKind::Dead(element));
                }
            }
        }
    }

    /// A click on an element, named by `parts`: its tag, `id`, first class and
    /// `data-stint-name`, one per line. `button_like` when it is a button, `[role=button]`,
    /// an input of type button or submit, or an `a` without `href`: then the JS entry watches
    /// the DOM for a change and signals [`Signal::Settle`] a second later.
    pub fn press(&mut self, parts: &str, button_like: bool) {
        let now = self.mono();
        let rage = self.rage.click(parts, now);
        if !(rage || button_like) {
            return;
        }
        let mut part = pieces(parts, b'\n');
        let mut next = || part.next().unwrap_or("");
        let element = signals::element(next(), next(), next(), next());
        if rage {
            self.rotate_if_expired();
            self.record(EventKind::Rage(element.clone()));
        }
        if button_like {
            self.dead.click(element, now);
        }
    }

    /// An uncaught error or unhandled rejection: its type's name, the script's URL and the
    /// line (0: unknown). Never its message.
    pub fn error(&mut self, name: &str, src: &str, line: u32) {
        if self.errors >= MAX_ERRORS_PER_PAGE {
            return;
        }
        self.errors += 1;
        self.record(EventKind::Error {
            name: signals::error_name(name).to_string(),
            src: scrub_url(src, &self.config.keep_params),
            line: (line > 0).then_some(line),
        });
    }

    /// Input into a form (`submit` false; sent once per form and page) or its submission
    /// (sent now: the page may be about to unload). `form` is its id, name or action path.
    pub fn form(&mut self, form: &str, submit: bool) {
        let form = match stint_shared::text::truncate_chars(form, MAX_SIGNAL_NAME_CHARS) {
            "" => "form",
            name => name,
        };
        if !submit {
            if self.forms.iter().any(|f| f == form) {
                return;
            }
            self.forms.push(form.to_string());
        }
        self.rotate_if_expired();
        self.record(EventKind::Form {
            form: form.to_string(),
            submit,
        });
        if submit {
            self.dead.changed();
            self.flush();
        }
    }

    /// A PerformanceObserver entry, by [`Vital`] code; sent with the page's next batch.
    pub fn vital(&mut self, code: u32, value: f64, extra: f64) {
        if let Some(vital) = Vital::from_code(code) {
            self.speed.note(vital, value, extra);
        }
    }

    /// Input (`pointerdown`, `pointermove`, `keydown`, `wheel`, `touchstart`, `scroll`) at
    /// `at`, on the `performance.now()` timeline. The JS entry may pass it late, but always
    /// before any other call, so the clock sees events in order (see `js/stint.js`). It is
    /// activity: after `sessionTimeoutMin` without any, it starts a new session.
    pub fn input(&mut self, at: i64) {
        self.rotate_if_expired();
        self.clock.input(at);
    }

    /// A click that activated a link with this absolute `href` (the JS entry finds the link
    /// and leaves out right clicks).
    pub fn click(&mut self, href: &str) {
        let Some(kind) = classify_link(href, &self.page_url) else {
            return;
        };
        self.rotate_if_expired();
        let href = scrub_url(href, &self.config.keep_params).unwrap_or_else(|| href.to_string());
        // Queued like every event, outbound ones too: a page the click unloads or hides
        // flushes on `pagehide` / `visibilitychange`, so sending at once would only add a
        // beacon per click (the bench's profile found two fifths of the tracker's main-thread
        // time in those `sendBeacon` calls).
        self.record(EventKind::Click {
            href,
            outbound: kind.outbound,
            download: kind.download,
        });
    }

    /// Records a custom event on the current page, or says which limit it breaks.
    pub fn track(
        &mut self,
        name: String,
        props: Vec<(String, PropValue)>,
    ) -> Result<(), &'static str> {
        check_custom(&name, &props)?;
        self.rotate_if_expired();
        self.record(EventKind::Custom { name, props });
        Ok(())
    }

    /// The current session's ID, for `sessionId()` (a visitor reads it out to support).
    pub fn session_id(&self) -> &str {
        &self.session.id
    }

    fn mono(&self) -> i64 {
        int(&self.host, Num::Mono)
    }

    fn wall(&self) -> i64 {
        int(&self.host, Num::Wall)
    }

    /// Depth can only pass its maximum when the viewport's bottom goes past the deepest it
    /// has been on this page, so the document's height (a read that may force layout) is
    /// read only then, and never once the page is read to the end. (A document that shrinks
    /// under a still viewport is not read again until the visitor scrolls further.)
    fn on_scroll_frame(&mut self) {
        if self.scroll >= 100 {
            return;
        }
        let bottom = self.host.num(Num::ScrollY) + self.host.num(Num::ViewportHeight);
        if bottom > self.deepest {
            self.deepest = bottom;
            self.scroll = self.scroll.max(self.scroll_depth());
        }
    }

    /// Scroll depth now, 0–100: three layout reads, once per animation frame at most.
    fn scroll_depth(&self) -> u8 {
        scroll_percent(
            self.host.num(Num::ScrollY),
            self.host.num(Num::ViewportHeight),
            self.host.num(Num::DocumentHeight),
        )
    }

    /// What identifies a page for SPA navigation: the path, plus the fragment under hash
    /// routing.
    fn route_key(&self) -> String {
        let mut key = self.host.text(Text::Path);
        if self.config.hash_routing {
            key.push_str(&self.host.text(Text::Hash));
        }
        key
    }

    /// Queues an event for the current page; sends when [`FLUSH_AT_EVENTS`] are queued
    /// (before consent nothing can be sent, and the engaged time waits in the clock).
    fn record(&mut self, kind: EventKind) {
        self.enqueue(kind);
        if self.granted && self.queued >= FLUSH_AT_EVENTS {
            self.flush();
        }
    }

    fn enqueue(&mut self, kind: EventKind) {
        self.host.event(self.wall(), self.page, &kind);
        self.queued += 1;
        if !self.granted && self.queued > MAX_EVENTS_BEFORE_CONSENT {
            // The oldest but the first, the load's page view (the JS entry keeps it).
            self.host.drop_oldest();
            self.queued -= 1;
        }
    }

    /// Opens a new page: next page index, its URL and route, and
    /// sends its page view. The referrer is only sent for the first page of a load (a SPA
    /// navigation's referrer is the previous page of the same site).
    fn begin_page(&mut self, first_load: bool) {
        let href = self.host.text(Text::Href);
        self.page = self.session.alloc_page(&self.host, self.store);
        self.page_url = scrub_url(&href, &self.config.keep_params).unwrap_or(href);
        self.route = self.route_key();
        // The first depth reading comes with the page's first animation frame (the JS entry
        // asks for one): reading the height now would force a layout inside this task.
        self.scroll = 0;
        self.scroll_sent = 0;
        self.deepest = 0.0;
        self.dead.changed();
        self.errors = 0;
        self.forms.clear();
        self.speed = PageSpeed::new(first_load);
        let referrer = if first_load {
            scrub_url(&self.host.text(Text::Referrer), &[])
        } else {
            None
        };
        let title = self.host.text(Text::Title);
        let title =
            (!title.is_empty()).then(|| truncate_chars(&title, MAX_TITLE_CHARS).to_string());
        let width = self.host.num(Num::Width);
        self.enqueue(EventKind::Pageview {
            url: self.page_url.clone(),
            referrer,
            title,
            width: (width > 0.0).then_some(width as u32),
        });
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
        if let Some(vitals) = self.speed.take_changed() {
            self.enqueue(EventKind::Perf(vitals));
        }
    }

    /// Sends everything queued as one batch (after noting engagement).
    fn flush(&mut self) {
        self.note_engagement();
        if !self.granted || self.queued == 0 {
            return;
        }
        self.queued = 0;
        let now = self.wall();
        let seq = self.session.alloc_seq(&self.host, self.store, now);
        let webdriver = flag(&self.host, Num::Webdriver);
        let site = &self.config.site;
        self.host
            .send(site, &self.session.id, seq, webdriver, self.store);
    }

    /// [`Self::rotate`], the new page's depth read at once.
    fn rotate_if_expired(&mut self) -> bool {
        self.rotate(true)
    }

    /// After `sessionTimeoutMin` without activity, the next activity starts a new session
    /// on the current page (its page view sent): the session another tab has started since,
    /// or a new one. Whether it did; every path that sends checks first, since a send is
    /// activity and would keep the old session alive. `read_depth` unless the JS entry asks
    /// for a frame's reading itself (after a navigation or a restore, when the page may not
    /// be laid out yet).
    fn rotate(&mut self, read_depth: bool) -> bool {
        let now = self.wall();
        let timeout = self.config.session_timeout_ms;
        // Storage is read only when this tab's own view says the session has expired:
        // another tab of the session may have kept it alive since.
        if !self.session.expired(now, timeout) {
            return false;
        }
        self.session.sync(&self.host, self.store);
        if !self.session.expired(now, timeout) {
            return false;
        }
        let next = Session::resume_or_start(&self.host, self.store, now, timeout);
        // What the old page still holds goes with the old session.
        self.flush();
        self.session = next;
        self.session.save(&self.host, self.store);
        self.begin_page(false);
        // A rare layout read, once a session.
        if read_depth {
            self.on_scroll_frame();
        }
        true
    }

    fn grant(&mut self) {
        if self.granted {
            return;
        }
        self.granted = true;
        self.store = store_for(self.config.storage);
        if self
            .session
            .pages_taken_since(&self.host, self.store, self.pages_at_start)
        {
            // Another tab of the session numbered pages meanwhile, from where this one did:
            // this tab's pages go to a session of their own rather than share indices.
            self.session = self.session.renamed(&self.host, self.wall());
        } else {
            // Batch numbers another tab used meanwhile are taken in.
            self.session.sync(&self.host, self.store);
        }
        self.session.save(&self.host, self.store);
        self.host.resend_pending(self.store);
        self.flush();
    }

    fn on_navigation(&mut self) {
        self.dead.changed();
        if self.route_key() == self.route {
            return;
        }
        // After the timeout the new session opens on the new page; otherwise close the old
        // page (its engagement goes with it), then open the new one.
        if self.rotate(false) {
            return;
        }
        self.flush();
        self.begin_page(false);
    }
}
