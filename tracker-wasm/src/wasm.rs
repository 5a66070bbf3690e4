//! The WebAssembly boundary: the JS functions the tracker imports (module `env`, provided by
//! `js/stint.js`) and the functions it exports. Only numbers cross it. A string from JS is
//! written into a buffer the JS side gets from [`alloc`] and passed as that buffer's
//! pointer; a string to JS is passed as pointer and length into this module's memory.

use crate::boundary::{BAD_OPTION, NOT_TRACKING, PROP_BOOL, PROP_NUMBER, PROP_STRING, STARTED};
use crate::config::{tracking_refused, Config, StorageKind};
use crate::emit::{self, WireValue};
use crate::host::{Area, Host, Key, Num, Text};
use crate::session::Store;
use crate::tracker::{Signal, Tracker};
use std::cell::RefCell;
use stint_shared::protocol::{check_custom, is_valid_site_id, EventKind, PropValue};

// SAFETY: the tracker runs on the page's one thread; WebAssembly here has no threads.
#[global_allocator]
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

#[link(wasm_import_module = "env")]
extern "C" {
    fn num(what: u32) -> f64;
    /// Returns a buffer from [`alloc`] holding the string, or 0 for none.
    fn text(what: u32) -> *mut u8;
    fn load(area: u32, key: u32) -> *mut u8;
    fn store(area: u32, key: u32, ptr: *const u8, len: usize);
    fn random(ptr: *mut u8);
    /// Starts the next queued event (see `emit.rs`); `field` fills it in.
    fn event(kind: u32, ts: f64, page: u32);
    /// A field of the event being queued, by `emit::Field` code, or (code [`PROP`]) a prop
    /// of the custom event being queued, named by the string at `key`. `kind`
    /// [`PROP_STRING`] (the string at `ptr`), [`PROP_NUMBER`] (`value`) or [`PROP_BOOL`]
    /// (`value` ≠ 0).
    fn field(
        code: u32,
        key: *const u8,
        key_len: usize,
        kind: u32,
        value: f64,
        ptr: *const u8,
        len: usize,
    );
    fn drop_oldest();
    /// Composes the batch of the queued events and sends it; one the browser does not take
    /// at once is kept pending in storage area `keep` ([`NO_AREA`]: nowhere) until an answer
    /// [`settled`] it.
    fn send(
        site: *const u8,
        site_len: usize,
        sid: *const u8,
        sid_len: usize,
        seq: u32,
        webdriver: u32,
        keep: u32,
    );
    /// Sends again every batch pending in storage area `keep`.
    fn resend(keep: u32);
    /// Sets the message the JS entry throws when an export returns an error code.
    fn fail(ptr: *const u8, len: usize);
}

/// Bytes before each buffer handed to JS: its length.
const HEADER: usize = 4;

/// A buffer of `len` bytes for JS to write a UTF-8 string into; freed by [`take`].
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buf = Vec::<u8>::with_capacity(HEADER + len);
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    // SAFETY: the allocation has HEADER + len bytes; the pointer stays inside it. JS writes
    // all `len` bytes before `take` reads them.
    unsafe { ptr.add(HEADER) }
}

/// Takes back a buffer from [`alloc`] as the string JS wrote into it; `None` for 0.
fn take(ptr: *mut u8) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` came from `alloc`, which wrote the length before it, and is taken once.
    // The bytes were written by TextEncoder, which only writes UTF-8.
    unsafe {
        let start = ptr.sub(HEADER);
        let len = u32::from_le_bytes(*start.cast::<[u8; HEADER]>()) as usize;
        // Copied out rather than shifted in place with `drain`, whose code the module would
        // carry for this alone.
        let text = std::slice::from_raw_parts(ptr, len).to_vec();
        // Freed with the capacity `alloc` allocated: `Vec::with_capacity(n)` allocates
        // exactly `n` (documented for `Vec`).
        drop(Vec::from_raw_parts(start, 0, HEADER + len));
        Some(String::from_utf8_unchecked(text))
    }
}

/// The page, as the imported functions show it.
pub struct Page;

impl Host for Page {
    fn num(&self, what: Num) -> f64 {
        // SAFETY: imported from the JS entry; takes and returns numbers.
        unsafe { num(what as u32) }
    }

    fn text(&self, what: Text) -> String {
        // SAFETY: returns a buffer from `alloc` or 0.
        take(unsafe { text(what as u32) }).unwrap_or_default()
    }

    fn load(&self, area: Area, key: Key) -> Option<String> {
        // SAFETY: returns a buffer from `alloc` or 0.
        take(unsafe { load(area as u32, key as u32) })
    }

    fn store(&self, area: Area, key: Key, value: &str) {
        // SAFETY: JS reads `value.len()` bytes at the pointer before returning.
        unsafe { store(area as u32, key as u32, value.as_ptr(), value.len()) }
    }

    fn random(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        // SAFETY: JS writes exactly 16 bytes at the pointer.
        unsafe { random(bytes.as_mut_ptr()) };
        bytes
    }

    fn event(&self, ts: i64, page: u32, kind: &EventKind) {
        // SAFETY: takes numbers.
        unsafe { event(kind.code(), ts as f64, page) };
        emit::fields(
            kind,
            |f, v| put(f as u32, "", v),
            |key, v| put(PROP, key, v),
        );
    }

    fn drop_oldest(&self) {
        // SAFETY: takes nothing.
        unsafe { drop_oldest() }
    }

    fn send(&self, site: &str, sid: &str, seq: u32, webdriver: bool, keep: Store) {
        // SAFETY: JS reads both strings before returning.
        unsafe {
            send(
                site.as_ptr(),
                site.len(),
                sid.as_ptr(),
                sid.len(),
                seq,
                u32::from(webdriver),
                area_code(keep),
            )
        }
    }

    fn resend_pending(&self, keep: Store) {
        // SAFETY: takes a number.
        unsafe { resend(area_code(keep)) }
    }
}

/// The storage area code that stands for none (`storage: "memory"`, before consent).
const NO_AREA: u32 = crate::boundary::AREAS.len() as u32;

fn area_code(store: Store) -> u32 {
    store.map_or(NO_AREA, |area| area as u32)
}

/// What `field` is called with for a custom event's prop (keyed by `key`): the first code
/// past the fields (JS reads an i32 argument as signed, so no `u32::MAX`).
const PROP: u32 = emit::Field::NAMES.len() as u32;

/// Hands one field (or prop) of the event being queued to JS; one call site for all.
#[inline(never)]
fn put(code: u32, key: &str, value: WireValue) {
    let (kind, n, text) = match value {
        WireValue::Str(s) => (PROP_STRING, 0.0, s),
        WireValue::Int(n) => (PROP_NUMBER, n as f64, ""),
        WireValue::Num(n) => (PROP_NUMBER, n, ""),
        WireValue::Bool(b) => (PROP_BOOL, f64::from(u8::from(b)), ""),
    };
    // SAFETY: JS copies both strings before returning.
    unsafe {
        field(
            code,
            key.as_ptr(),
            key.len(),
            kind,
            n,
            text.as_ptr(),
            text.len(),
        )
    }
}

/// A global for the page's one thread.
struct Global<T>(RefCell<T>);

// SAFETY: WebAssembly here has no threads (no `atomics` target feature), so a global is
// only ever touched from the page's thread; the `RefCell` still catches re-entrancy.
unsafe impl<T> Sync for Global<T> {}

static TRACKER: Global<Option<Tracker<Page>>> = Global(RefCell::new(None));
/// The session ID `session_id` hands to JS.
static SID: Global<[u8; 36]> = Global(RefCell::new([0; 36]));
/// Props of the custom event being built by `prop` calls, taken by `track`.
static PROPS: Global<Vec<(String, PropValue)>> = Global(RefCell::new(Vec::new()));

/// Runs `f` on the tracker, if started. A call made while the tracker is busy (which the JS
/// entry never does) is dropped rather than trapping.
fn with_tracker(f: impl FnOnce(&mut Tracker<Page>)) {
    if let Ok(mut guard) = TRACKER.0.try_borrow_mut() {
        if let Some(tracker) = guard.as_mut() {
            f(tracker);
        }
    }
}

fn fail_with(code: u32, message: &str) -> u32 {
    // SAFETY: JS copies the message before returning.
    unsafe { fail(message.as_ptr(), message.len()) };
    code
}

/// Starts tracking. `site` and `keep` (the `keepParams` joined by newlines) are buffers from
/// [`alloc`]; `flags` holds the bits of `config::flags`. Returns [`STARTED`],
/// [`NOT_TRACKING`] when nothing may be sent (opt-out, DNT, GPC) or already started, or
/// [`BAD_OPTION`] for a bad `site`.
#[no_mangle]
pub extern "C" fn start(
    site: *mut u8,
    keep: *mut u8,
    storage: u32,
    session_timeout_min: f64,
    idle_timeout_ms: f64,
    flags: u32,
) -> u32 {
    let site = take(site).unwrap_or_default();
    let keep = take(keep).unwrap_or_default();
    if !is_valid_site_id(&site) {
        return fail_with(
            BAD_OPTION,
            "stint: option `site` must be a site id like \"example.com\"",
        );
    }
    let started = TRACKER.0.try_borrow().map_or(true, |t| t.is_some());
    if started || tracking_refused(flags) {
        return NOT_TRACKING;
    }
    let config = Config::new(
        site,
        &keep,
        StorageKind::from_code(storage),
        session_timeout_min,
        idle_timeout_ms,
        flags,
    );
    let tracker = Tracker::start(Page, config);
    if let Ok(mut slot) = TRACKER.0.try_borrow_mut() {
        *slot = Some(tracker);
    }
    STARTED
}

/// Something happened on the page; `code` numbers a [`Signal`].
#[no_mangle]
pub extern "C" fn on(code: u32) {
    if let Some(signal) = Signal::from_code(code) {
        with_tracker(|t| t.on(signal));
    }
}

/// Input at `at` ms on the `performance.now()` timeline.
#[no_mangle]
pub extern "C" fn input(at: f64) {
    with_tracker(|t| t.input(at as i64));
}

/// A click activated a link; `href` is a buffer from [`alloc`].
#[no_mangle]
pub extern "C" fn click(href: *mut u8) {
    let href = take(href).unwrap_or_default();
    with_tracker(|t| t.click(&href));
}

/// A click on an element; `parts` (a buffer from [`alloc`]) holds its tag, id, first class
/// and `data-stint-name`, one per line (see [`Tracker::press`]).
#[no_mangle]
pub extern "C" fn press(parts: *mut u8, button_like: u32) {
    let parts = take(parts).unwrap_or_default();
    with_tracker(|t| t.press(&parts, button_like != 0));
}

/// An uncaught error: its type's name and script URL (buffers from [`alloc`]), its line.
#[no_mangle]
pub extern "C" fn error(name: *mut u8, src: *mut u8, line: f64) {
    let name = take(name).unwrap_or_default();
    let src = take(src).unwrap_or_default();
    with_tracker(|t| t.error(&name, &src, line as u32));
}

/// Input into a form (`submit` 0) or its submission; `form` is a buffer from [`alloc`].
#[no_mangle]
pub extern "C" fn form(form: *mut u8, submit: u32) {
    let form = take(form).unwrap_or_default();
    with_tracker(|t| t.form(&form, submit != 0));
}

/// A PerformanceObserver entry: `code` numbers a `signals::Vital`.
#[no_mangle]
pub extern "C" fn vital(code: u32, value: f64, extra: f64) {
    with_tracker(|t| t.vital(code, value, extra));
}

/// Adds a prop to the custom event being built: `kind` [`PROP_STRING`] (`text`),
/// [`PROP_NUMBER`] (`value`), [`PROP_BOOL`] (`value` ≠ 0). Both buffers are from [`alloc`].
#[no_mangle]
pub extern "C" fn prop(key: *mut u8, kind: u32, value: f64, text: *mut u8) {
    let key = take(key).unwrap_or_default();
    let text = take(text).unwrap_or_default();
    let value = match kind {
        PROP_STRING => PropValue::Str(text),
        PROP_NUMBER => PropValue::Num(value),
        _ => PropValue::Bool(value != 0.0),
    };
    if let Ok(mut props) = PROPS.0.try_borrow_mut() {
        props.push((key, value));
    }
}

/// Records a custom event named `name` with the props added since the last call. Returns 0,
/// or 1 with the broken limit passed to `fail`.
#[no_mangle]
pub extern "C" fn track(name: *mut u8) -> u32 {
    let name = take(name).unwrap_or_default();
    let props = PROPS
        .0
        .try_borrow_mut()
        .map(|mut p| std::mem::take(&mut *p))
        .unwrap_or_default();
    // Checked here too, so that a wrong call throws even when nothing is being tracked.
    let result = check_custom(&name, &props);
    if result.is_ok() {
        with_tracker(|t| {
            let _ = t.track(name, props);
        });
    }
    match result {
        Ok(()) => 0,
        Err(problem) => {
            let mut message = String::from("stint: track() ");
            message.push_str(problem);
            fail_with(1, &message)
        }
    }
}

/// The current session's ID for `sessionId()`: a pointer to its 36 bytes, valid until the
/// next call, or null before tracking started (or where nothing may be sent).
#[no_mangle]
pub extern "C" fn session_id() -> *const u8 {
    let mut out = std::ptr::null();
    with_tracker(|t| {
        let id = t.session_id().as_bytes();
        if let (36, Ok(mut buf)) = (id.len(), SID.0.try_borrow_mut()) {
            buf.copy_from_slice(id);
            out = buf.as_ptr();
        }
    });
    out
}

/// Whether the collector's answer `status` to a `fetch` fallback settles its batch (1) or
/// leaves it pending for the next page load (0): `transport::settled`.
#[no_mangle]
pub extern "C" fn settled(status: u32) -> u32 {
    u32::from(crate::transport::settled(status))
}
