// One browser helper: Debian's Chromium via playwright-core, and scripted control of what
// Playwright cannot change for real (visibility and focus are always "visible" and
// "focused" under Playwright, so the test overrides the properties the tracker reads and
// dispatches the events a real browser would).
import { chromium } from "playwright-core";

const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export function launch() {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** Installed before any page script: `window.__stintTest.setVisible(bool)` / `setFocused(bool)`. */
function controls() {
  let visible = true;
  let focused = true;
  Object.defineProperty(Document.prototype, "visibilityState", { get: () => (visible ? "visible" : "hidden"), configurable: true });
  Object.defineProperty(Document.prototype, "hidden", { get: () => !visible, configurable: true });
  Document.prototype.hasFocus = () => focused;
  window.__stintTest = {
    setVisible(v) { visible = v; document.dispatchEvent(new Event("visibilitychange")); },
    setFocused(f) { focused = f; window.dispatchEvent(new FocusEvent(f ? "focus" : "blur")); },
  };
}

/**
 * Opens the tracker fixture in a fresh context with the given tracker options.
 * `before` is an extra init script (e.g. turning GPC on). Resolves once init() finished.
 */
export async function openFixture(browser, collector, { options = {}, before, path = "/fixtures/page", context } = {}) {
  context ??= await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(controls);
  await context.addInitScript((o) => { window.STINT_OPTIONS = o; }, options);
  if (before) await context.addInitScript(before);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(collector.origin + path);
  await page.waitForFunction(() => window.stintReadyAt !== undefined);
  return { context, page, errors };
}

/**
 * A fixture page on Playwright's clock (Date, performance.now, timers), paused before the
 * page loads: no time passes but what the test moves on, so durations are exact.
 */
export async function openOnClock(browser, collector, { options, path } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const t0 = Date.now();
  await context.clock.install({ time: t0 });
  await context.clock.pauseAt(t0 + 1_000);
  const { page } = await openFixture(browser, collector, { options, path, context });
  return { page, context };
}

/** The session ID the page stored (storage: "local"). */
export async function sessionId(page) {
  const raw = await page.evaluate(() => localStorage.getItem("stint.sid"));
  return raw?.split("|")[0];
}
