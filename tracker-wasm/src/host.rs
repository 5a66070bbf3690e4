//! What the tracker asks of the page: clocks, a few layout numbers, strings from `location`
//! and `document`, storage, randomness and the network.
//!
//! The tracker is written against this trait so that its decisions run natively in tests
//! (`src/tests.rs` drives it with a scripted host). In the browser, `wasm.rs`
//! implements it with a handful of imported JS functions: no bindings generator, no glue
//! beyond what `js/stint.js` spells out.

use stint_shared::protocol::EventKind;

/// A number read from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Num {
    /// `performance.now()`: the monotonic clock engaged time is measured on.
    Mono = 0,
    /// `Date.now()`: the wall clock events are stamped with.
    Wall = 1,
    /// `innerWidth`.
    Width = 2,
    /// `scrollY`.
    ScrollY = 3,
    /// `innerHeight`.
    ViewportHeight = 4,
    /// `document.documentElement.scrollHeight`.
    DocumentHeight = 5,
    /// 1 when `document.visibilityState` is `visible`.
    Visible = 6,
    /// 1 when `document.hasFocus()`.
    Focused = 7,
    /// 1 when `navigator.webdriver`.
    Webdriver = 8,
}

/// A string read from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Text {
    /// `location.href`.
    Href = 0,
    /// `location.pathname`.
    Path = 1,
    /// `location.hash`.
    Hash = 2,
    /// `document.referrer`.
    Referrer = 3,
    /// `document.title`.
    Title = 4,
}

/// Web Storage areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Area {
    /// `localStorage`: shared by the site's tabs.
    Local = 0,
    /// `sessionStorage`: one tab.
    Session = 1,
}

/// Keys the tracker stores under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Key {
    /// `stint.sid`: the session and its counters.
    Session = 0,
    /// `stint.queue`: batches not yet known to be delivered.
    Pending = 1,
}

pub trait Host {
    fn num(&self, what: Num) -> f64;
    /// Empty when the page has no such string.
    fn text(&self, what: Text) -> String;
    /// `None` when the key is absent or the browser refuses storage.
    fn load(&self, area: Area, key: Key) -> Option<String>;
    /// Stores `value`; an empty `value` removes the key. Failures (quota, privacy modes)
    /// are ignored: storage is a convenience, never a requirement.
    fn store(&self, area: Area, key: Key, value: &str);
    /// 16 bytes from `crypto.getRandomValues`.
    fn random(&self) -> [u8; 16];
    /// Hands over one event of the current batch: the JS entry queues it as an object
    /// (see `emit.rs`), so the module keeps no copy.
    fn event(&self, ts: i64, page: u32, kind: &EventKind);
    /// Drops the oldest event handed over and not sent yet, but the first of them (the
    /// load's page view).
    fn drop_oldest(&self);
    /// Composes the batch of the events handed over since the last one (with `site`, the
    /// session `sid` and `seq`, and `wd` when `webdriver`) and sends it; one the browser
    /// does not take at once is kept pending in `keep` (`None`: nowhere) until an answer
    /// settles it (`transport.rs`).
    fn send(&self, site: &str, sid: &str, seq: u32, webdriver: bool, keep: Option<Area>);
    /// Sends again every batch pending in `keep`.
    fn resend_pending(&self, keep: Option<Area>);
}

/// Reads a number as a whole count of milliseconds or pixels.
pub fn int(host: &impl Host, what: Num) -> i64 {
    host.num(what) as i64
}

pub fn flag(host: &impl Host, what: Num) -> bool {
    host.num(what) != 0.0
}
