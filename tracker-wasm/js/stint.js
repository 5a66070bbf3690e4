// @stint/tracker — ES module entry.
//
//   import { init, track, flush, grant } from "@stint/tracker";
//   await init({ endpoint: "https://stint.example.workers.dev", site: "example.com" });
//   track("signup", { plan: "pro" });
//
// or, without a bundler:
//   <script type="module" src=".../stint.js" data-site="example.com" data-endpoint="https://…"></script>
//
// The WebAssembly module is loaded relative to this file (or from `options.wasmUrl`).
import load, * as wasm from "./stint_tracker.js";

let loading;
let started = false;
// Calls made before init() finished, replayed in order once it has.
const early = [];

function call(name, args) {
  if (started) return wasm[name](...args);
  early.push([name, args]);
}

/** Starts tracking and sends the first page view. Rejects with an Error naming a bad option. */
export async function init(options = {}) {
  loading ??= load({ module_or_path: options.wasmUrl ?? new URL("./stint_tracker_bg.wasm", import.meta.url) });
  await loading;
  wasm.start(options);
  started = true;
  for (const [name, args] of early.splice(0)) {
    try { wasm[name](...args); } catch (err) { console.error(err); }
  }
}

/** Records a custom event: name ≤ 64 characters, ≤ 20 props of string, number or boolean. */
export function track(name, props = {}) {
  return call("track", [name, props]);
}

/** Sends whatever is queued now. */
export function flush() {
  return call("flush", []);
}

/** With `consent: "pending"`: consent given, start storing and sending. */
export function grant() {
  return call("grant", []);
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
