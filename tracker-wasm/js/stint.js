// @stint/tracker — ES module entry.
//
//   import { init } from "@stint/tracker";
//   await init({ endpoint: "https://stint.example.workers.dev", site: "example.com" });
//
// or, without a bundler:
//   <script type="module" src=".../stint.js" data-site="example.com" data-endpoint="https://…"></script>
//
// The WebAssembly module is loaded relative to this file, so the package works from any path.
import loadWasm, { start } from "./stint_tracker.js";

let loading;

/** Starts tracking. Resolves once the page view is queued for delivery. */
export async function init(options) {
  loading ??= loadWasm({ module_or_path: new URL("./stint_tracker_bg.wasm", import.meta.url) });
  await loading;
  start(options);
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
