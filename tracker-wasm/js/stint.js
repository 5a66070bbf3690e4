// @stint/tracker — ES module entry.
//
//   import { init, track, flush, grant, sessionId } from "@stint/tracker";
//   await init({ endpoint: "https://stint.example.workers.dev", site: "example.com" });
//   track("signup", { plan: "pro" });
//
// or, without a bundler:
//   <script type="module" src=".../stint.min.js" data-site="example.com" data-endpoint="https://…"></script>
//
// This file is the tracker's hands: it checks the options, listens to the page and reads
// from it, and talks to storage and the network. Every decision — what is a page view, how
// long the visitor was engaged, which clicks count, what a URL keeps, when to send — is
// made in the WebAssembly module (`stint.wasm`, built from tracker-wasm/src), loaded
// relative to this file or from `options.wasmUrl`. The two share only numbers: strings go
// through the module's memory (see tracker-wasm/src/wasm.rs for the other side).

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// ---- codes shared with the module: written by `cargo xtask codes` from tracker-wasm/src/boundary.rs; do not edit ----
// `Signal` (tracker.rs): wasm.on(code).
const VISIBILITY = 0, FOCUS = 1, BLUR = 2, HIDE = 3, RESTORE = 4, SCROLL_FRAME = 5, NAVIGATION = 6, TICK = 7, FLUSH = 8, GRANT = 9, CHANGE = 10, SETTLE = 11;
// `signals::Vital`: wasm.vital(code, value, extra); when SETTLE follows a click.
const TTFB = 0, FCP = 1, LCP = 2, LOAD = 3, SHIFT = 4, INTERACTION = 5;
const DEAD_AFTER_MS = 1000;
// `host::Num` and `host::Text`: what env.num(code) and env.text(code) read.
const numbers = [() => performance.now(), () => Date.now(), () => innerWidth, () => scrollY, () => innerHeight, () => document.documentElement.scrollHeight, () => document.visibilityState == "visible", () => document.hasFocus(), () => !!navigator.webdriver];
const texts = [() => location.href, () => location.pathname, () => location.hash, () => document.referrer, () => document.title];
// `host::Key` and `host::Area`: storage keys and areas by code.
const KEYS = ["stint.sid", "stint.queue"];
const areas = [() => localStorage, () => sessionStorage];
// `transport.rs`: batches kept for a retry, at most.
const MAX_PENDING = 30;
// `config::StorageKind`: the `storage` option's values by code.
const STORAGE = ["local", "session", "memory"];
// `config::flags`: bits of start()'s flags.
const CONSENT_PENDING = 1, HASH_ROUTING = 2, RESPECT_DNT = 4, RESPECT_GPC = 8, DNT = 16, GPC = 32, OPTED_OUT = 64;
// `emit.rs`: the wire's version, event types and field names by code.
const VERSION = 1;
const TYPES = ["pageview", "engage", "click", "custom", "rage", "dead", "error", "form", "perf"];
const FIELDS = ["url", "ref", "title", "w", "active_ms", "scroll", "href", "outbound", "download", "name", "el", "src", "line", "form", "phase", "ttfb", "fcp", "lcp", "load", "inp", "cls"];
// prop() and field() value kinds, and what start() answers.
const PROP_STRING = 0, PROP_NUMBER = 1, PROP_BOOL = 2;
const STARTED = 0, NOT_TRACKING = 1, BAD_OPTION = 2;
// ---- end of the shared codes ----
// Input is passed on at most this often; see `input` below.
const INPUT_EVERY_MS = 200;
// SPEC's button-like elements, whose clicks may be dead.
const BUTTON_LIKE = "button,[role=button],input[type=button],input[type=submit],a:not([href])";

let wasm; // the module's exports, once instantiated
// Events of the batch being gathered (the module says when to send it), and the one being
// filled in.
let queue = [];
let event;
let loading;
let started = false;
// Whether an init() is running or has succeeded (a second one is refused), and why the
// last one failed (calls made after it are dropped, with a warning).
let initCalled = false;
let failure = null;
let message = "";
let inputEvery = INPUT_EVERY_MS;
let inputSent = -Infinity;
let inputHeld = null;
// Calls made before init() finished, replayed in order once it has.
const early = [];
// Watches the DOM while a click on a button-like element waits to be judged (`armed` of
// them); the first change is all the module needs to know.
let armed = 0;
const changes = typeof MutationObserver == "function" ? new MutationObserver(() => { changes.disconnect(); on(CHANGE); }) : null;

const view = (ptr, len) => new Uint8Array(wasm.memory.buffer, ptr, len);
const read = (ptr, len) => decoder.decode(view(ptr, len));
/** Copies a string into the module; 0 stands for "none". */
function put(text) {
  if (text == null) return 0;
  const bytes = encoder.encode(text);
  const ptr = wasm.alloc(bytes.length);
  view(ptr, bytes.length).set(bytes);
  return ptr;
}
/** Web Storage, or undefined where the browser refuses it (some privacy modes throw). */
function area(code) {
  try { return areas[code](); } catch { /* no storage */ }
}

/** Web Storage item `key` (a KEYS code) of area `code`; null where absent or refused. */
function getItem(code, key) {
  try { return area(code)?.getItem(KEYS[key]); } catch { return null; }
}
/** Sets item `key` of area `code`, or removes it for "". */
function setItem(code, key, text) {
  try {
    const storage = area(code);
    if (text) storage?.setItem(KEYS[key], text);
    else storage?.removeItem(KEYS[key]);
  } catch { /* full or refused: storage is best effort */ }
}

function imports(collectUrl) {
  // The pending list (`stint.queue`): batch bodies one a line, each named by its text up
  // to the events (site, sid and seq). What to keep and when to send again is the
  // module's (transport.rs); this is the byte work.
  const PENDING = 1;
  const pending = (code) => (getItem(code, PENDING) ?? "").split("\n").filter(Boolean);
  const named = (batch) => batch.slice(0, batch.indexOf("["));
  // A string body goes as text/plain: a "simple" request, no CORS preflight. A batch the
  // browser does not take at once is kept pending in area `code` and sent with fetch;
  // `keepalive` lets it outlive the page, like a beacon, and its answer decides whether
  // it stays for the next page load.
  const deliver = (body, code) => {
    try { if (navigator.sendBeacon(collectUrl, body)) return; } catch { /* fall back */ }
    setItem(code, PENDING, [...pending(code), body].slice(-MAX_PENDING).join("\n"));
    fetch(collectUrl, { method: "POST", body, keepalive: true })
      .then((r) => r.status, () => 0)
      .then((status) => wasm.settled(status) && setItem(code, PENDING, pending(code).filter((b) => named(b) != named(body)).join("\n")));
  };
  return {
    env: {
      num: (what) => +numbers[what](),
      text: (what) => put(texts[what]()),
      load: (code, key) => put(getItem(code, key)),
      store: (code, key, ptr, len) => setItem(code, key, read(ptr, len)),
      random: (ptr) => crypto.getRandomValues(view(ptr, 16)),
      // The module hands over each event as it happens, field by field (emit.rs), and says
      // when to send: the batch's JSON is the browser's work.
      event(kind, ts, page) { queue.push(event = { type: TYPES[kind], ts, page }); },
      field(code, key, keyLen, kind, value, ptr, len) {
        const v = kind == PROP_STRING ? read(ptr, len) : kind == PROP_NUMBER ? value : !!value;
        if (code < FIELDS.length) event[FIELDS[code]] = v;
        else (event.props ??= {})[read(key, keyLen)] = v;
      },
      drop_oldest() { queue.splice(1, 1); },
      send(site, siteLen, sid, sidLen, seq, wd, code) {
        const body = JSON.stringify({ v: VERSION, site: read(site, siteLen), sid: read(sid, sidLen), seq, ...(wd && { wd: true }), events: queue });
        queue = [];
        deliver(body, code);
      },
      resend(code) {
        const list = pending(code);
        if (list.length) setItem(code, PENDING, "");
        list.forEach((body) => deliver(body, code));
      },
      fail: (ptr, len) => { message = read(ptr, len); },
    },
  };
}

function bad(name, what) {
  throw new Error(`stint: option \`${name}\` must be ${what}`);
}
function option(options, name, type, fallback) {
  const value = options[name];
  if (value == null) return fallback;
  if (typeof value != type || (type == "number" && !(value > 0))) {
    bad(name, type == "number" ? "a positive number" : "true or false");
  }
  return value;
}
/** The index of the option's value among `values` (the first is the default). */
function choice(options, name, values) {
  const index = values.indexOf(options[name] ?? values[0]);
  if (index < 0) bad(name, values.map((v) => `"${v}"`).join(" or "));
  return index;
}

/**
 * Pointer moves, wheels and scrolls come by the dozen per second; each only says "the
 * visitor is here". The first in each `inputEvery` window goes to the module at once, the
 * latest of the rest is held and handed over before any other call, with its own time. As
 * long as `inputEvery` ≤ `idleTimeoutMs` that gives exactly the engaged time of passing on
 * every input (property test `coalescing_inputs_as_the_js_entry_does_changes_nothing` in
 * shared/src/engagement.rs) at the cost of one clock read per event.
 */
function input() {
  const now = performance.now();
  if (now - inputSent < inputEvery) {
    inputHeld = now;
    return;
  }
  settle();
  inputSent = now;
  wasm.input(now);
}
/** Hands over held input; called before anything else reaches the module. */
function settle() {
  if (inputHeld != null) wasm.input(inputHeld);
  inputHeld = null;
}
const on = (code) => { settle(); wasm.on(code); };

function listen(target, types, handler, capture) {
  for (const type of types.split(" ")) {
    target.addEventListener(type, handler, { passive: true, capture });
  }
}

/** Registers what the module needs to hear about; every listener is passive. */
function watch(spa, hashRouting, flushIntervalMs) {
  let frame = 0;
  // The depth is read once per animation frame, never per event: when the page scrolls,
  // and once after each new page (then the browser has laid it out for its frame anyway,
  // so reading its height forces no layout of its own).
  const depth = () => { frame ||= requestAnimationFrame(() => { frame = 0; on(SCROLL_FRAME); }); };
  const signal = (code) => () => { on(code); if (code == NAVIGATION) depth(); };
  listen(document, "visibilitychange", signal(VISIBILITY));
  listen(window, "focus", signal(FOCUS));
  // Focus moving into an embedded frame (a video, a payment field) blurs the window, yet the
  // document still has focus: only a blur that leaves it without is one.
  listen(window, "blur", () => document.hasFocus() || on(BLUR));
  listen(window, "pagehide", signal(HIDE));
  listen(window, "pageshow", (e) => { if (e.persisted) { on(RESTORE); depth(); } });
  depth();
  // Scrolling is input.
  listen(window, "scroll", () => { input(); depth(); });
  listen(document, "pointerdown pointermove keydown wheel touchstart", input, true);
  // `click` covers mouse and keyboard activation; `auxclick` the middle button (a right
  // click opens a menu, not the link). `href` is resolved against the document's base URL;
  // an SVG link's is an object, and is skipped.
  listen(document, "click auxclick", (e) => {
    const link = (e.type == "click" || e.button == 1) && e.target.closest?.("a[href],area[href]");
    if (typeof link?.href == "string") { settle(); wasm.click(put(link.href)); }
    // Every click is named to the module by tag, id, first class and data-stint-name (never
    // its text), for rage clicks; a button-like one is watched for a DOM change for a
    // second, for dead clicks.
    const button = e.target.closest?.(BUTTON_LIKE);
    const el = button ?? e.target;
    if (e.type == "click" && el.localName) {
      settle();
      wasm.press(put([el.localName, el.id, el.classList[0], el.getAttribute("data-stint-name")].join("\n")), !!button);
      if (button) {
        armed++;
        changes.observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
        setTimeout(() => { if (!--armed) changes.disconnect(); on(SETTLE); }, DEAD_AFTER_MS);
      }
    }
    // A tagged element is a custom event without code: data-stint-event="NAME" and
    // data-stint-prop-KEY="VALUE" (string props; the module checks the limits as for track()).
    const tagged = e.type == "click" && e.target.closest?.("[data-stint-event]");
    if (tagged) {
      settle();
      for (const { name, value } of tagged.attributes) {
        if (name.startsWith("data-stint-prop-")) wasm.prop(put(name.slice(16)), PROP_STRING, 0, put(value));
      }
      if (wasm.track(put(tagged.getAttribute("data-stint-event")))) console.warn(`${message} (on a data-stint-event element)`);
    }
  }, true);
  if (spa) {
    // There is no event for pushState / replaceState: wrap them.
    for (const name of ["pushState", "replaceState"]) {
      const original = history[name];
      history[name] = function (...args) {
        const result = original.apply(this, args);
        signal(NAVIGATION)();
        return result;
      };
    }
    listen(window, "popstate", signal(NAVIGATION));
  }
  if (hashRouting) listen(window, "hashchange", signal(NAVIGATION));
  setInterval(signal(TICK), flushIntervalMs);
  // Errors: the type and where, never the message.
  const failed = (name, src, line) => { settle(); wasm.error(put(`${name}`), put(src), line); };
  listen(window, "error", (e) => failed(e.error?.name ?? "Error", e.filename, e.lineno));
  listen(window, "unhandledrejection", (e) => failed(e.reason?.name ?? "UnhandledRejection", "", 0));
  // Forms by id, name or action path; never a field's value.
  const formName = (f) => f.getAttribute("id") || f.getAttribute("name") || new URL(f.getAttribute("action") ?? "", location.href).pathname;
  listen(document, "input", (e) => { const f = e.target.form; if (f) { settle(); wasm.form(put(formName(f)), 0); } }, true);
  listen(document, "submit", (e) => { settle(); wasm.form(put(formName(e.target)), 1); }, true);
  // Page speed: the module keeps what each entry means (LCP's last candidate, CLS windows, INP).
  const observe = (type, each, options) => {
    try {
      new PerformanceObserver((list) => { settle(); list.getEntries().forEach(each); }).observe({ type, buffered: true, ...options });
    } catch { /* an entry type this browser does not have */ }
  };
  observe("navigation", (e) => { wasm.vital(TTFB, e.responseStart, 0); wasm.vital(LOAD, e.loadEventEnd, 0); });
  observe("paint", (e) => e.name == "first-contentful-paint" && wasm.vital(FCP, e.startTime, 0));
  observe("largest-contentful-paint", (e) => wasm.vital(LCP, e.startTime, 0));
  observe("layout-shift", (e) => e.hadRecentInput || wasm.vital(SHIFT, e.value, e.startTime));
  observe("event", (e) => e.interactionId && wasm.vital(INTERACTION, e.duration, e.interactionId), { durationThreshold: 16 });
}

function call(fn) {
  if (started) return fn();
  if (failure) return console.warn(`stint: not running (${failure.message}); call dropped`);
  early.push(fn);
}

/** Fetches and compiles the module, naming what went wrong in words a site owner can act on. */
async function load(wasmUrl, collectUrl) {
  const url = new URL(wasmUrl, location.href).href;
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`stint: could not load ${url}: ${err.message}`);
  }
  if (!response.ok) throw new Error(`stint: could not load ${url}: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  try {
    return await WebAssembly.instantiate(bytes, imports(collectUrl));
  } catch (err) {
    // Chromium, Firefox and Safari word a CSP refusal differently; all name the policy.
    if (/Content.Security.Policy|unsafe-eval|CSP/i.test(err.message)) {
      throw new Error("stint: the page's Content Security Policy does not allow WebAssembly; add 'wasm-unsafe-eval' to script-src (script-src 'self' 'wasm-unsafe-eval')");
    }
    throw new Error(`stint: ${url} is not a Stint module: ${err.message}`);
  }
}

/**
 * Starts tracking and sends the first page view. Rejects with an Error naming a bad option,
 * a module that could not be loaded (URL and status), a Content Security Policy that blocks
 * WebAssembly, or a second call. Calls made before a failed init() are dropped with a warning.
 */
export async function init(options = {}) {
  const again = initCalled;
  initCalled = true;
  try {
    await begin(options, again);
    failure = null;
  } catch (err) {
    if (!again) {
      initCalled = started;
      failure = err;
      if (early.length) console.warn(`stint: init() failed, so ${early.length} call(s) made before it are dropped: ${err.message}`);
      early.length = 0;
    }
    throw err;
  }
}

async function begin(options, again) {
  if (options === null || typeof options != "object") throw new Error("stint: init() needs an options object");
  const { endpoint, site, keepParams = [] } = options;
  if (typeof endpoint != "string" && !(endpoint instanceof URL) || !`${endpoint}`) bad("endpoint", "a URL string");
  if (!Array.isArray(keepParams) || keepParams.some((p) => typeof p != "string")) bad("keepParams", "an array of strings");
  const storage = choice(options, "storage", STORAGE);
  const pending = choice(options, "consent", ["granted", "pending"]);
  const sessionTimeoutMin = option(options, "sessionTimeoutMin", "number", 30);
  const idleTimeoutMs = option(options, "idleTimeoutMs", "number", 15000);
  const flushIntervalMs = Math.min(option(options, "flushIntervalMs", "number", 15000), 2 ** 31 - 1);
  const spa = option(options, "spa", "boolean", true);
  const hashRouting = option(options, "hashRouting", "boolean", false);
  const respectDnt = option(options, "respectDnt", "boolean", true);
  const respectGpc = option(options, "respectGpc", "boolean", true);
  const collectUrl = `${endpoint}`.replace(/\/+$/, "") + "/collect";

  loading ??= load(options.wasmUrl ?? new URL("./stint.wasm", import.meta.url), collectUrl)
    .catch((err) => { loading = null; throw err; });
  wasm ??= (await loading).instance.exports;
  let optedOut = false;
  try { optedOut = localStorage.getItem("stint.optout") != null; } catch { /* no storage */ }
  const dnt = navigator.doNotTrack == "1" || window.doNotTrack == "1";
  const flags = (pending && CONSENT_PENDING) | (hashRouting && HASH_ROUTING) | (respectDnt && RESPECT_DNT) |
    (respectGpc && RESPECT_GPC) | (dnt && DNT) | (!!navigator.globalPrivacyControl && GPC) | (optedOut && OPTED_OUT);
  inputEvery = Math.min(INPUT_EVERY_MS, idleTimeoutMs);
  // A page prerendered ahead of a visit (Speculation Rules) may never be shown: tracking
  // starts when it is.
  if (document.prerendering) await new Promise((ok) => document.addEventListener("prerenderingchange", ok, { once: true }));
  const status = wasm.start(put(typeof site == "string" ? site : ""), put(keepParams.join("\n")),
    storage, sessionTimeoutMin, idleTimeoutMs, flags);
  if (status == BAD_OPTION) throw new Error(message);
  if (again) throw new Error("stint: already running: init() was called before on this page");
  if (status == STARTED) watch(spa, hashRouting, flushIntervalMs);
  started = true;
  for (const fn of early.splice(0)) {
    try { fn(); } catch (err) { console.error(err); }
  }
}

/** Records a custom event: name ≤ 64 characters, ≤ 20 props of string, number or boolean. */
export function track(name, props = {}) {
  return call(() => {
    if (props === null || typeof props != "object") throw new Error("stint: track() props must be an object");
    const entries = Object.entries(props).map(([key, value]) => {
      // PROP_STRING, PROP_NUMBER, PROP_BOOL in this order.
      const kind = ["string", "number", "boolean"].indexOf(typeof value);
      if (kind < 0) throw new Error("stint: track() props must be strings, numbers or booleans");
      return [key, kind, value];
    });
    settle();
    for (const [key, kind, value] of entries) wasm.prop(put(key), kind, +value, kind == PROP_STRING ? put(value) : 0);
    if (wasm.track(put(`${name}`))) throw new Error(message);
  });
}

/**
 * The current session's ID (a UUID) — for a support form that asks the visitor to share it;
 * the dashboard finds a session by it or its first characters. `null` before `init()` has
 * started tracking, and where nothing is tracked (DNT, GPC, opt-out).
 */
export function sessionId() {
  const ptr = started && wasm.session_id();
  return ptr ? read(ptr, 36) : null;
}

/** Sends whatever is queued now. */
export function flush() {
  call(() => on(FLUSH));
}

/** With `consent: "pending"`: consent given, start storing and sending. */
export function grant() {
  call(() => on(GRANT));
}

// Script-tag form: the <script> that loaded this very module carries the options.
if (typeof document !== "undefined") {
  const tag = [...document.querySelectorAll("script[data-site]")].find((s) => s.src === import.meta.url);
  if (tag) {
    init({
      site: tag.dataset.site,
      endpoint: tag.dataset.endpoint || new URL(import.meta.url).origin,
    }).catch((err) => console.error(err));
  }
}
