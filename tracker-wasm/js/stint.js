// @stint/tracker — ES module entry.
//
//   import { init, track, flush, grant } from "@stint/tracker";
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
const KEYS = ["stint.sid", "stint.queue"];
// Signal codes, in the order of `Signal` in tracker-wasm/src/tracker.rs.
const VISIBILITY = 0, FOCUS = 1, BLUR = 2, HIDE = 3, RESTORE = 4, SCROLL_FRAME = 5,
  NAVIGATION = 6, TICK = 7, FLUSH = 8, GRANT = 9;
// Input is passed on at most this often; see `input` below.
const INPUT_EVERY_MS = 200;

let wasm; // the module's exports, once instantiated
let loading;
let started = false;
let message = "";
let inputEvery = INPUT_EVERY_MS;
let inputSent = -Infinity;
let inputHeld = null;
// Calls made before init() finished, replayed in order once it has.
const early = [];

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
  try { return code ? sessionStorage : localStorage; } catch { /* no storage */ }
}

const numbers = [
  () => performance.now(),
  () => Date.now(),
  () => innerWidth,
  () => scrollY,
  () => innerHeight,
  () => document.documentElement.scrollHeight,
  () => document.visibilityState == "visible",
  () => document.hasFocus(),
  () => !!navigator.webdriver,
];
const texts = [
  () => location.href,
  () => location.pathname,
  () => location.hash,
  () => document.referrer,
  () => document.title,
];

function imports(collectUrl) {
  return {
    env: {
      num: (what) => +numbers[what](),
      text: (what) => put(texts[what]()),
      load(code, key) {
        try { return put(area(code)?.getItem(KEYS[key])); } catch { return 0; }
      },
      store(code, key, ptr, len) {
        try {
          const storage = area(code);
          if (len) storage?.setItem(KEYS[key], read(ptr, len));
          else storage?.removeItem(KEYS[key]);
        } catch { /* full or refused: storage is best effort */ }
      },
      random: (ptr) => crypto.getRandomValues(view(ptr, 16)),
      send(ptr, len) {
        // A string body goes as text/plain: a "simple" request, no CORS preflight.
        const body = read(ptr, len);
        try { if (navigator.sendBeacon(collectUrl, body)) return 1; } catch { /* fall back */ }
        // `keepalive` lets the request outlive the page, like a beacon. The module decides
        // from the status whether the batch stays pending for the next page load.
        fetch(collectUrl, { method: "POST", body, keepalive: true })
          .then((r) => r.status, () => 0)
          .then((status) => wasm.answered(put(body), status));
        return 0;
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
  const signal = (code) => () => on(code);
  let frame = 0;
  listen(document, "visibilitychange", signal(VISIBILITY));
  listen(window, "focus", signal(FOCUS));
  listen(window, "blur", signal(BLUR));
  listen(window, "pagehide", signal(HIDE));
  listen(window, "pageshow", (e) => e.persisted && on(RESTORE));
  // Scrolling is input; the depth is read once per animation frame, never per event.
  listen(window, "scroll", () => {
    input();
    frame ||= requestAnimationFrame(() => { frame = 0; on(SCROLL_FRAME); });
  });
  listen(document, "pointerdown pointermove keydown wheel touchstart", input, true);
  // `click` covers mouse and keyboard activation; `auxclick` the middle button (a right
  // click opens a menu, not the link). `href` is resolved against the document's base URL;
  // an SVG link's is an object, and is skipped.
  listen(document, "click auxclick", (e) => {
    const link = (e.type == "click" || e.button == 1) && e.target.closest?.("a[href],area[href]");
    if (typeof link?.href == "string") { settle(); wasm.click(put(link.href)); }
  }, true);
  if (spa) {
    // There is no event for pushState / replaceState: wrap them.
    for (const name of ["pushState", "replaceState"]) {
      const original = history[name];
      history[name] = function (...args) {
        const result = original.apply(this, args);
        on(NAVIGATION);
        return result;
      };
    }
    listen(window, "popstate", signal(NAVIGATION));
  }
  if (hashRouting) listen(window, "hashchange", signal(NAVIGATION));
  setInterval(signal(TICK), flushIntervalMs);
}

function call(fn) {
  if (started) return fn();
  early.push(fn);
}

/** Starts tracking and sends the first page view. Rejects with an Error naming a bad option. */
export async function init(options = {}) {
  if (options === null || typeof options != "object") throw new Error("stint: init() needs an options object");
  const { endpoint, site, keepParams = [] } = options;
  if (typeof endpoint != "string" && !(endpoint instanceof URL) || !`${endpoint}`) bad("endpoint", "a URL string");
  if (!Array.isArray(keepParams) || keepParams.some((p) => typeof p != "string")) bad("keepParams", "an array of strings");
  const storage = choice(options, "storage", ["local", "session", "memory"]);
  const pending = choice(options, "consent", ["granted", "pending"]);
  const sessionTimeoutMin = option(options, "sessionTimeoutMin", "number", 30);
  const idleTimeoutMs = option(options, "idleTimeoutMs", "number", 15000);
  const flushIntervalMs = Math.min(option(options, "flushIntervalMs", "number", 15000), 2 ** 31 - 1);
  const spa = option(options, "spa", "boolean", true);
  const hashRouting = option(options, "hashRouting", "boolean", false);
  const respectDnt = option(options, "respectDnt", "boolean", true);
  const respectGpc = option(options, "respectGpc", "boolean", true);
  const collectUrl = `${endpoint}`.replace(/\/+$/, "") + "/collect";

  loading ??= fetch(options.wasmUrl ?? new URL("./stint.wasm", import.meta.url))
    .then((r) => r.arrayBuffer())
    .then((bytes) => WebAssembly.instantiate(bytes, imports(collectUrl)));
  wasm ??= (await loading).instance.exports;
  let optedOut = false;
  try { optedOut = localStorage.getItem("stint.optout") != null; } catch { /* no storage */ }
  const dnt = navigator.doNotTrack == "1" || window.doNotTrack == "1";
  const flags = pending | hashRouting << 1 | respectDnt << 2 | respectGpc << 3 |
    dnt << 4 | !!navigator.globalPrivacyControl << 5 | optedOut << 6;
  inputEvery = Math.min(INPUT_EVERY_MS, idleTimeoutMs);
  const status = wasm.start(put(typeof site == "string" ? site : ""), put(keepParams.join("\n")),
    storage, sessionTimeoutMin, idleTimeoutMs, flags);
  if (status == 2) throw new Error(message);
  if (status == 0) watch(spa, hashRouting, flushIntervalMs);
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
      const kind = ["string", "number", "boolean"].indexOf(typeof value);
      if (kind < 0) throw new Error("stint: track() props must be strings, numbers or booleans");
      return [key, kind, value];
    });
    settle();
    for (const [key, kind, value] of entries) wasm.prop(put(key), kind, +value, kind ? 0 : put(value));
    if (wasm.track(put(`${name}`))) throw new Error(message);
  });
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
