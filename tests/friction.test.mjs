// Friction and speed signals in Debian's Chromium, each asserted on what the collector
// stored (the session's summary, pages and timeline, and /api/friction): a rage click
// counted once, a dead click on a button that does nothing and none on one that opens a
// dialog, an error's type and line without its message, a form started and abandoned, LCP
// as the page's own PerformanceObserver saw it. Then no typed value, text content, error
// message or unkept query parameter is in any persisted file. Clicks and timers run on
// Playwright's clock where a test counts time.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { eventually, startCollector, storedSession } from "./support/collector.mjs";
import { launch, openFixture, openOnClock, sessionId } from "./support/browser.mjs";

let collector;
let browser;
before(async () => {
  collector = await startCollector();
  browser = await launch();
});
let stopped = false;
after(async () => {
  await browser?.close();
  if (collector && !stopped) await collector.stop({ keep: true });
  if (collector) await rm(join(collector.stateDir, ".."), { recursive: true, force: true });
});

/** What a visitor types and reads on the fixture, which must never be stored. */
const PLANTED = ["planted-visitor@example.org", "StintTypedName", "StintButtonText", "StintHeroText",
  "StintErrorMessage", "card 4242", "StintRejectMessage", "StintScriptQuery", "StintFormQuery"];

const stored = (sid, ready, what) => storedSession(collector, sid, ready, what);

/** The friction fixture on Playwright's clock, paused before the page loads. */
async function onClock() {
  const { page, context } = await openOnClock(browser, collector, { path: "/fixtures/friction", options: { flushIntervalMs: 600_000 } });
  return { page, context, sid: await sessionId(page) };
}
const click = (page, id) => page.evaluate((id) => document.getElementById(id).click(), id);
const ofType = (t, type) => t.events.filter((e) => e.type === type);

describe("friction signals", () => {
  test("five quick clicks on one element are one rage click, named by data-stint-name", async () => {
    const { page, context, sid } = await onClock();
    for (let i = 0; i < 5; i++) {
      await click(page, "pay");
      await page.clock.runFor(150);
    }
    // Two clicks 600 ms apart elsewhere are no rage.
    await click(page, "plain");
    await page.clock.runFor(600);
    await click(page, "plain");
    await page.clock.runFor(1_500);
    await page.evaluate(() => { window.stint.track("end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1, "rage click");
    assert.equal(t.session.rage_clicks, 1);
    assert.equal(t.pages[0].rage_clicks, 1);
    assert.deepEqual(ofType(t, "rage").map((e) => [e.el, e.name]), [["button#pay.primary", "pay"]]);
    // The pay button changes the DOM when clicked: not dead.
    assert.equal(t.session.dead_clicks, 0);
    await context.close();
  });

  test("a button that does nothing gives a dead click, one that opens a dialog none", async () => {
    const { page, context, sid } = await onClock();
    await click(page, "noop");
    await page.clock.runFor(1_100);
    await click(page, "open");
    await page.clock.runFor(1_100);
    await page.evaluate(() => document.getElementById("dialog").close());
    // A click on a plain element is never dead.
    await click(page, "plain");
    await page.clock.runFor(1_100);
    await page.evaluate(() => { window.stint.track("end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1, "dead click");
    assert.deepEqual(ofType(t, "dead").map((e) => e.el), ["button#noop.ghost"]);
    assert.equal(t.session.dead_clicks, 1);
    assert.equal(t.pages[0].dead_clicks, 1);
    await context.close();
  });

  test("an uncaught error keeps its type, script and line, never its message", async () => {
    const { page, context, errors, sid } = await (async () => {
      const context = await browser.newContext();
      const opened = await openFixture(browser, collector, { path: "/fixtures/friction", context, options: { flushIntervalMs: 600_000 } });
      return { ...opened, sid: await sessionId(opened.page) };
    })();
    await click(page, "throw");
    await click(page, "reject");
    // The page saw both (Playwright's pageerror), with their messages.
    await eventually(() => errors.length >= 2, { what: "the page's own errors" });
    assert.match(errors.map((e) => e.message).join(" "), /StintErrorMessage/);
    await page.evaluate(() => { window.stint.track("end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1, "errors");
    const stored_ = ofType(t, "error").map((e) => [e.name, e.src ?? null, e.line ?? null]);
    assert.deepEqual(stored_, [
      ["TypeError", `${collector.origin}/fixtures/friction.js`, 3],
      ["RangeError", null, null],
    ]);
    assert.equal(t.session.errors, 2);
    assert.doesNotMatch(JSON.stringify(t), /StintErrorMessage|StintRejectMessage|4242|StintScriptQuery/);
    await context.close();
  });

  test("a form started and never sent is abandoned; one sent is not", async () => {
    const { page, context, sid } = await onClock();
    await page.locator("#email").pressSequentially("planted-visitor@example.org");
    await page.locator("#name").pressSequentially("StintTypedName");
    await page.locator("#topic").fill("x");
    await page.locator("#subscribe").click();
    await page.evaluate(() => { window.stint.track("end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1, "forms");
    assert.deepEqual(ofType(t, "form").map((e) => [e.form, e.phase]),
      [["signup", "start"], ["newsletter", "start"], ["/contact", "start"], ["newsletter", "submit"]]);
    assert.equal(t.session.forms_started, 3);
    assert.equal(t.session.forms_submitted, 1);
    assert.equal(t.session.forms_abandoned, 2);
    assert.doesNotMatch(JSON.stringify(t), /planted-visitor|StintTypedName|StintFormQuery/);
    // The Friction report names the page's abandoned forms.
    // Headless Chromium is a bot to the collector; the page ran on a clock a second ahead of
    // the collector's (ask up to a minute on); the index is written after the session (poll).
    const row = await eventually(async () => {
      const f = await collector.read(`/api/friction?site=demo&bots=include&to=${Date.now() + 60_000}`);
      assert.equal(f.status, 200);
      return f.body.pages.find((p) => p.page === "/fixtures/friction" && p.forms_abandoned >= 2);
    }, { what: "the friction report" });
    const forms = row.top.filter((m) => m.kind === "form").map((m) => m.label).sort();
    assert.deepEqual(forms, ["/contact", "signup"], JSON.stringify(row.top));
    await context.close();
  });
});

describe("page speed", () => {
  test("LCP is what the page's own PerformanceObserver saw; TTFB, FCP and load come with it", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const { page } = await openFixture(browser, collector, { path: "/fixtures/friction", context, options: { flushIntervalMs: 600_000 } });
    const sid = await sessionId(page);
    await page.waitForFunction(() => window.__lcp.length > 0 && document.readyState === "complete");
    // Input ends LCP; the page's last candidate is the value.
    await page.mouse.click(5, 700);
    const lcp = await page.evaluate(() => window.__lcp.at(-1));
    // The tracker hears of entries in the observers' own tasks: flush until the page's
    // figures have gone (a flush sends only what changed).
    const t = await eventually(async () => {
      await page.evaluate(() => window.stint.flush());
      const r = await collector.read(`/api/sessions/${sid}?site=demo`);
      const v = r.body?.pages?.[0]?.vitals;
      return v?.lcp != null && v.load != null && r.body;
    }, { what: `LCP and load stored (${sid})` });
    const v = t.pages[0].vitals;
    assert.ok(Math.abs(v.lcp - lcp) <= 1, `stored LCP ${v.lcp} vs the page's ${lcp}`);
    assert.equal(t.session.lcp_ms, v.lcp);
    assert.ok(v.ttfb > 0 && v.ttfb <= v.fcp && v.fcp <= v.lcp + 1, JSON.stringify(v));
    assert.ok(v.load >= v.ttfb, JSON.stringify(v));
    // The click was an interaction; nothing shifted the layout.
    assert.ok(v.inp == null || v.inp >= 16, JSON.stringify(v));
    await context.close();
  });

  test("a SPA page has no load figures of its own", async () => {
    const { page, context, sid } = await onClock();
    await page.evaluate(() => history.pushState({}, "", "/fixtures/spa-page"));
    await page.evaluate(() => { window.stint.track("end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1 && t.pages.length === 2, "two pages");
    const spa = t.pages.find((p) => p.index === 1);
    for (const k of ["ttfb", "fcp", "lcp", "load"]) assert.equal(spa.vitals?.[k], undefined, k);
    await context.close();
  });
});

test("no typed value, text content, error message or unkept query parameter is persisted", async () => {
  await collector.stop({ keep: true });
  stopped = true;
  const files = [];
  for (const entry of await readdir(collector.stateDir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) files.push(join(entry.parentPath ?? entry.path, entry.name));
  }
  let bytes = 0;
  for (const file of files) {
    const content = await readFile(file);
    bytes += content.length;
    for (const planted of PLANTED) assert.equal(content.indexOf(Buffer.from(planted)), -1, `${planted} found in ${file}`);
  }
  assert.ok(bytes > 10_000, `scanned ${bytes} bytes of state`);
  // What was stored is there: the scan looked at real state.
  const all = Buffer.concat(await Promise.all(files.map((f) => readFile(f))));
  for (const kept of ["button#noop.ghost", "TypeError", "newsletter"]) assert.notEqual(all.indexOf(Buffer.from(kept)), -1, `${kept} stored`);
  const log = collector.logs.join("");
  for (const planted of PLANTED) assert.ok(!log.includes(planted), `${planted} found in the worker's log`);
});
