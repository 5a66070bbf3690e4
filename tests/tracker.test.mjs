// The tracker in Debian's Chromium, each behaviour a scripted scenario with its expected
// value, asserted on what the collector stored (GET /api/sessions/<sid>), never on the
// tracker's memory.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, startCollector, storedSession } from "./support/collector.mjs";
import { launch, openFixture, openOnClock, sessionId } from "./support/browser.mjs";

let collector;
let browser;
before(async () => {
  collector = await startCollector();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await collector?.stop();
});

const stored = (sid, ready, what) => storedSession(collector, sid, ready, what);

const onClock = (options) => openOnClock(browser, collector, { options });
const inPage = (page, fn) => page.evaluate(fn);

describe("engaged time", () => {

  test("input 3 s, hidden 2 s, idle 3 s with idleTimeoutMs 1000 → exactly 4 s", async () => {
    const { page, context } = await onClock({ idleTimeoutMs: 1000, flushIntervalMs: 60_000 });
    const sid = await sessionId(page);
    for (let t = 0; t < 3000; t += 50) {
      await inPage(page, () => document.dispatchEvent(new PointerEvent("pointermove")));
      await page.clock.runFor(50);
    }
    await inPage(page, () => window.__stintTest.setVisible(false));
    await page.clock.runFor(2000);
    await inPage(page, () => window.__stintTest.setVisible(true));
    await page.clock.runFor(3000);
    // The marker travels in the same batch as the last engagement delta.
    await inPage(page, () => { window.stint.track("scenario-end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1, "engaged time");
    // 3 s of input, then 1 s after the page is shown again (showing it is activity).
    assert.equal(t.session.active_ms, 4000);
    await context.close();
  });

  test("time without focus does not count", async () => {
    const { page, context } = await onClock({ idleTimeoutMs: 60_000, flushIntervalMs: 60_000 });
    const sid = await sessionId(page);
    // The page load is activity: 1 s of it counts, then the window loses focus.
    await page.clock.runFor(1000);
    await inPage(page, () => {
      window.__stintTest.setFocused(false);
      document.dispatchEvent(new PointerEvent("pointermove"));
    });
    await page.clock.runFor(1500);
    await inPage(page, () => { window.stint.track("scenario-end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1, "engaged time");
    assert.equal(t.session.active_ms, 1000);
    await context.close();
  });

  test("focus moving into an embedded frame keeps the time counting", async () => {
    const { page, context } = await onClock({ idleTimeoutMs: 60_000, flushIntervalMs: 60_000 });
    const sid = await sessionId(page);
    await inPage(page, () => {
      const frame = document.createElement("iframe");
      frame.srcdoc = "<input id=field>";
      document.body.prepend(frame);
    });
    await page.frameLocator("iframe").locator("#field").waitFor();
    await page.clock.runFor(1000);
    // A real click into the frame: the window gets `blur`, the document keeps focus
    // (Chromium's document.hasFocus() is true then).
    await page.frameLocator("iframe").locator("#field").click();
    await inPage(page, () => document.dispatchEvent(new PointerEvent("pointermove")));
    await page.clock.runFor(1500);
    await inPage(page, () => { window.stint.track("scenario-end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1, "engaged time");
    assert.equal(t.session.active_ms, 2500);
    await context.close();
  });
});

describe("scroll depth", () => {
  test("scrolling to half of a 4000 px page → 50 ± 2", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    await page.evaluate(() => window.scrollTo(0, 2000 - window.innerHeight));
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.evaluate(() => window.stint.flush());
    const t = await stored(sid, (t) => t.session.max_scroll > 20, "scroll depth");
    assert.ok(Math.abs(t.session.max_scroll - 50) <= 2, `max_scroll ${t.session.max_scroll}`);
    assert.equal(t.pages[0].max_scroll, t.session.max_scroll);
    await context.close();
  });
});

describe("link clicks", () => {
  test("a middle-click on an outbound link is one outbound click, its URL scrubbed", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    await page.click("#outbound", { button: "middle" });
    // The link opened in another tab; this page stays: the click goes with its next batch.
    await page.evaluate(() => window.stint.flush());
    const t = await stored(sid, (t) => t.session.clicks >= 1, "outbound click");
    assert.equal(t.session.clicks, 1);
    assert.equal(t.session.outbound_clicks, 1);
    const click = t.events.find((e) => e.type === "click");
    assert.equal(click.href, "https://example.org/landing?utm_source=x");
    assert.equal(click.outbound, true);
    await context.close();
  });

  test("keyboard activation, a nested element, a download; mailto and right clicks are not links", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    await page.click("#mail", { button: "right" });
    await page.evaluate(() => document.getElementById("mail").addEventListener("click", (e) => e.preventDefault()));
    await page.click("#mail");
    await page.evaluate(() => document.querySelectorAll("a").forEach((a) => a.addEventListener("click", (e) => e.preventDefault())));
    await page.focus("#nested");
    await page.keyboard.press("Enter");
    await page.click("#download");
    await page.evaluate(() => window.stint.flush());
    const t = await stored(sid, (t) => t.session.clicks >= 2, "keyboard and download clicks");
    const clicks = t.events.filter((e) => e.type === "click");
    assert.deepEqual(clicks.map((c) => [c.href, c.outbound, c.download ?? false]), [
      ["https://example.net/", true, false],
      [`${collector.origin}/fixtures/files/report.pdf`, false, true],
    ]);
    await context.close();
  });

  // The tracker's small URL splitter (shared/src/url.rs) decides "outbound" in the page;
  // the collector parses with the URL Standard. Fed hrefs a hand-written splitter gets
  // wrong, both must agree with the browser's own URL on the host.
  test("outbound is decided on the host the browser's URL sees, for tricky hrefs", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    const hrefs = [
      "https://evil.example\\@good.example/",
      "https://user:pw@Example.ORG:443/a?b#c",
      "HTTPS://EXAMPLE.net/",
      "https://bücher.example/",
      "//example.com/protocol-relative",
      "/same-site?x=1",
      "https://127.0.0.1:8787@example.org/",
    ];
    const expected = await page.evaluate((hrefs) => {
      const links = hrefs.map((href, i) => {
        const a = document.createElement("a");
        a.href = href;
        a.id = `tricky-${i}`;
        a.textContent = `tricky ${i}`;
        a.addEventListener("click", (e) => e.preventDefault());
        document.body.append(a);
        return a;
      });
      return links.map((a) => ({ host: new URL(a.href).hostname, outbound: new URL(a.href).host !== location.host }));
    }, hrefs);
    for (let i = 0; i < hrefs.length; i++) await page.click(`#tricky-${i}`);
    await page.evaluate(() => window.stint.flush());
    const t = await stored(sid, (t) => t.events.filter((e) => e.type === "click").length >= hrefs.length, "tricky clicks");
    const clicks = t.events.filter((e) => e.type === "click");
    assert.deepEqual(
      clicks.map((c) => ({ host: new URL(c.href).hostname, outbound: c.outbound })),
      expected,
    );
    await context.close();
  });

  test("a click on a link that leaves the page still delivers", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    await page.click("#away", { noWaitAfter: true });
    const t = await stored(sid, (t) => t.session.clicks === 1, "click that left the page");
    assert.equal(t.events.find((e) => e.type === "click").href, "http://127.0.0.1:9/gone");
    await context.close();
  });
});

describe("page views", () => {
  test("a pushState navigation makes page 1 and moves engagement to it", async () => {
    const { page, context } = await onClock({ idleTimeoutMs: 60_000, flushIntervalMs: 60_000 });
    const sid = await sessionId(page);
    await inPage(page, () => document.dispatchEvent(new PointerEvent("pointermove")));
    await page.clock.runFor(300);
    await page.click("#spa");
    await page.clock.runFor(700);
    await page.evaluate(() => { window.stint.track("scenario-end"); window.stint.flush(); });
    const t = await stored(sid, (t) => t.session.events === 1, "SPA page");
    assert.equal(t.session.pageviews, 2);
    assert.deepEqual(t.pages.map((p) => new URL(p.url).pathname), ["/fixtures/page", "/fixtures/spa-route"]);
    // On the clock: exactly the time before and after the navigation.
    assert.equal(t.pages[0].active_ms, 300);
    assert.equal(t.pages[1].active_ms, 700);
    assert.equal(t.session.exit_page, "/fixtures/spa-route");
    await context.close();
  });

  test("popstate, replaceState to a new path, same-path pushState, and hashchange only when asked", async () => {
    const { page, context } = await openFixture(browser, collector, { options: { hashRouting: true } });
    const sid = await sessionId(page);
    await page.evaluate(() => history.pushState({}, "", "/fixtures/a"));
    await page.evaluate(() => history.pushState({}, "", "/fixtures/a?tab=2")); // same path: no page view
    await page.evaluate(() => history.replaceState({}, "", "/fixtures/b"));
    await page.evaluate(() => new Promise((r) => { addEventListener("popstate", r, { once: true }); history.back(); }));
    await page.evaluate(() => new Promise((r) => { addEventListener("hashchange", r, { once: true }); location.hash = "#/settings"; }));
    await page.evaluate(() => window.stint.flush());
    const t = await stored(sid, (t) => t.session.pageviews === 5, "five page views");
    assert.deepEqual(t.pages.map((p) => new URL(p.url).pathname), [
      // back() from /b (which replaced /a?tab=2) returns to /a; the hash route is on /a.
      "/fixtures/page", "/fixtures/a", "/fixtures/b", "/fixtures/a", "/fixtures/a",
    ]);
    await context.close();
  });

  test("without hashRouting a hashchange is not a page view", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    await page.evaluate(() => new Promise((r) => { addEventListener("hashchange", r, { once: true }); location.hash = "#x"; }));
    await page.evaluate(() => window.stint.track("after-hash"));
    await page.evaluate(() => window.stint.flush());
    const t = await stored(sid, (t) => t.session.events === 1, "custom event");
    assert.equal(t.session.pageviews, 1);
    await context.close();
  });

  test("a back-forward-cache restore is a new page view", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    await page.evaluate(() => {
      window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: true }));
      window.dispatchEvent(new PageTransitionEvent("pageshow", { persisted: true }));
    });
    await page.evaluate(() => window.stint.flush());
    const t = await stored(sid, (t) => t.session.pageviews === 2, "restored page view");
    assert.deepEqual(t.pages.map((p) => p.index), [0, 1]);
    await context.close();
  });
});

describe("custom events", () => {
  test("track(name, props) arrives with its props; limits are checked in the page", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    const errors = await page.evaluate(() => {
      const caught = [];
      const attempt = (...args) => { try { window.stint.track(...args); } catch (e) { caught.push(e.message); } };
      attempt("signup", { plan: "pro", seats: 3, price: 9.99, trial: false });
      attempt("x".repeat(65));
      attempt("too-many", Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])));
      attempt("nested", { a: { b: 1 } });
      window.stint.flush();
      return caught;
    });
    assert.equal(errors.length, 3);
    assert.match(errors[0], /name/);
    assert.match(errors[1], /20 props/);
    assert.match(errors[2], /strings, numbers or booleans/);
    const t = await stored(sid, (t) => t.session.events === 1, "custom event");
    const custom = t.events.find((e) => e.type === "custom");
    assert.deepEqual(custom, { ...custom, name: "signup", props: { plan: "pro", seats: 3, price: 9.99, trial: false } });
    await context.close();
  });

  test("a click on a data-stint-event element is a custom event with its data-stint-prop-* props, no code", async () => {
    const { page, context } = await openFixture(browser, collector, { options: { flushIntervalMs: 60_000 } });
    const warnings = [];
    page.on("console", (m) => { if (m.type() === "warning") warnings.push(m.text()); });
    const sid = await sessionId(page);
    await page.click("#tagged-label");
    await page.click("#tagged-bad");
    await page.evaluate(() => window.stint.flush());
    const t = await stored(sid, (t) => t.session.events === 1, "tagged click");
    const custom = t.events.filter((e) => e.type === "custom");
    assert.equal(custom.length, 1, "the element without a name sends nothing");
    assert.equal(custom[0].name, "cta_click");
    assert.deepEqual(custom[0].props, { plan: "pro", place: "hero" });
    assert.ok(warnings.some((w) => /^stint: track\(\) .*\(on a data-stint-event element\)$/.test(w)), warnings.join(" | "));
    await context.close();
  });
});

describe("options", () => {
  test("init rejects a wrong option with an Error naming it", async () => {
    const { page, context } = await openFixture(browser, collector);
    const messages = await page.evaluate(async () => {
      const bad = [
        {},
        { endpoint: location.origin },
        { endpoint: location.origin, site: "Not A Site!" },
        { endpoint: location.origin, site: "demo", storage: "cookie" },
        { endpoint: location.origin, site: "demo", consent: "maybe" },
        { endpoint: location.origin, site: "demo", idleTimeoutMs: -5 },
        { endpoint: location.origin, site: "demo", spa: "yes" },
        { endpoint: location.origin, site: "demo", keepParams: "ref" },
      ];
      const out = [];
      for (const options of bad) {
        try { await window.stint.init(options); out.push("accepted"); } catch (e) { out.push(e.message); }
      }
      return out;
    });
    const named = ["endpoint", "site", "site", "storage", "consent", "idleTimeoutMs", "spa", "keepParams"];
    assert.equal(messages.length, named.length);
    messages.forEach((m, i) => assert.match(m, new RegExp(`^stint: option \`${named[i]}\` must be`), m));
    await context.close();
  });
});

describe("start", () => {
  test("under script-src 'self' 'wasm-unsafe-eval' it tracks; without it, init() says what to allow", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${collector.origin}/fixtures/csp-wasm.html`);
    await page.waitForFunction(() => window.stintStarted);
    assert.equal(await page.evaluate(() => window.stintStarted), "started");
    const sid = await sessionId(page);
    const t = await stored(sid, (t) => t.session.pageviews === 1, "page view under a CSP");
    assert.equal(t.session.entry_page, "/fixtures/csp-wasm");
    // A context of its own: the first page's session is in this origin's storage.
    const other = await browser.newContext();
    const strict = await other.newPage();
    await strict.goto(`${collector.origin}/fixtures/csp-strict.html`);
    await strict.waitForFunction(() => window.stintStarted);
    assert.equal(await strict.evaluate(() => window.stintStarted),
      "stint: the page's Content Security Policy does not allow WebAssembly; add 'wasm-unsafe-eval' to script-src (script-src 'self' 'wasm-unsafe-eval')");
    assert.equal(await strict.evaluate(() => localStorage.getItem("stint.sid")), null, "nothing started");
    await other.close();
    await context.close();
  });

  test("sessionId() names the session the collector stored, and is null before init()", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${collector.origin}/fixtures/start.html`);
    const out = await page.evaluate(async () => {
      const stint = await import("/tracker/stint.js");
      const before = stint.sessionId();
      await stint.init({ endpoint: location.origin, site: "demo" });
      return { before, after: stint.sessionId(), stored: localStorage.getItem("stint.sid").split("|")[0] };
    });
    assert.equal(out.before, null);
    assert.match(out.after, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(out.after, out.stored);
    const t = await stored(out.after, (t) => t.session.pageviews === 1, "the session sessionId() names");
    assert.equal(t.session.id, out.after);
    await context.close();
  });

  test("a failed module fetch names the URL and status, drops the calls made before it, and a second init() is refused", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const warnings = [];
    page.on("console", (m) => { if (m.type() === "warning") warnings.push(m.text()); });
    await page.goto(`${collector.origin}/fixtures/start.html`);
    const out = await page.evaluate(async () => {
      const stint = await import("/tracker/stint.js");
      const attempt = (options) => stint.init({ endpoint: location.origin, site: "demo", ...options }).then(() => "started", (e) => e.message);
      stint.track("before-the-failed-init");
      const first = await attempt({ wasmUrl: "/tracker/missing.wasm" });
      stint.track("after-the-failed-init");
      const retry = await attempt({});
      const again = await attempt({});
      stint.flush();
      return { first, retry, again, sid: localStorage.getItem("stint.sid")?.split("|")[0] };
    });
    assert.match(out.first, /^stint: could not load http:\/\/127\.0\.0\.1:\d+\/tracker\/missing\.wasm: HTTP 404$/);
    assert.equal(out.retry, "started", "a later init() may try again");
    assert.equal(out.again, "stint: already running: init() was called before on this page");
    assert.ok(warnings.some((w) => w.startsWith("stint: init() failed, so 1 call(s) made before it are dropped: stint: could not load")), warnings.join(" | "));
    assert.ok(warnings.some((w) => /^stint: not running \(stint: could not load .*\); call dropped$/.test(w)), warnings.join(" | "));
    // The stored session has its page view and neither dropped event.
    const t = await stored(out.sid, (t) => t.session.pageviews === 1, "page view after the retry");
    assert.equal(t.session.events, 0);
    await context.close();
  });
});

describe("delivery", () => {
  test("closing the tab delivers what was queued", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    await page.evaluate(() => window.stint.track("queued-before-close"));
    await page.close({ runBeforeUnload: true });
    const t = await stored(sid, (t) => t.session.events === 1, "event sent on close");
    assert.equal(t.events.find((e) => e.type === "custom").name, "queued-before-close");
    await context.close();
  });

  test("20 queued events flush without waiting", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    await page.evaluate(() => { for (let i = 0; i < 20; i++) window.stint.track(`e${i}`); });
    const t = await stored(sid, (t) => t.session.events === 20, "20 events flushed at 20 queued");
    assert.equal(t.session.pageviews, 1);
    await context.close();
  });

  test("when sendBeacon refuses, fetch keepalive delivers", async () => {
    const { page, context } = await openFixture(browser, collector, {
      before: () => { Navigator.prototype.sendBeacon = () => false; },
    });
    const sid = await sessionId(page);
    const t = await stored(sid, (t) => t.session.pageviews === 1, "page view by fetch");
    assert.equal(t.session.entry_page, "/fixtures/page");
    await eventually(() => page.evaluate(() => localStorage.getItem("stint.queue") === null), { what: "pending list emptied" });
    await context.close();
  });

  test("batches that could not be sent are kept and sent on the next load", async () => {
    const context = await browser.newContext();
    await context.route("**/collect", (route) => route.abort());
    const first = await openFixture(browser, collector, {
      context,
      before: () => { if (!sessionStorage.getItem("second")) Navigator.prototype.sendBeacon = () => false; },
    });
    const sid = await sessionId(first.page);
    await eventually(() => first.page.evaluate(() => localStorage.getItem("stint.queue")), { what: "a pending batch" });
    assert.equal((await collector.read(`/api/sessions/${sid}?site=demo`)).status, 404);
    await context.unroute("**/collect");
    await first.page.evaluate(() => sessionStorage.setItem("second", "1"));
    await first.page.reload();
    const t = await stored(sid, (t) => t.session.pageviews === 2, "both loads, the first one resent");
    assert.deepEqual(t.pages.map((p) => p.index), [0, 1]);
    await context.close();
  });
  test("a batch refused for good (422) is dropped, one asked for later (429) is kept and resent; the list keeps the newest 30", async () => {
    const beaconRefuses = () => { if (!sessionStorage.getItem("second")) Navigator.prototype.sendBeacon = () => false; };
    const queued = (page) => page.evaluate(() => (localStorage.getItem("stint.queue") ?? "").split("\n").filter(Boolean));
    for (const [status, kept] of [[422, false], [429, true]]) {
      const context = await browser.newContext();
      await context.route("**/collect", (route) => route.fulfill({ status, body: "" }));
      const answered = context.waitForEvent("response", (r) => r.url().endsWith("/collect"));
      const { page } = await openFixture(browser, collector, { context, before: beaconRefuses });
      const sid = await sessionId(page);
      assert.equal((await answered).status(), status);
      // The answer's handler runs in the page as the response arrives, before this task.
      assert.equal((await queued(page)).length, kept ? 1 : 0, `after ${status}`);
      await context.unroute("**/collect");
      await page.evaluate(() => sessionStorage.setItem("second", "1"));
      await page.reload();
      const t = await stored(sid, (t) => t.session.pageviews === (kept ? 2 : 1), `after ${status}, the next load`);
      // Page 0's view went with the refused batch; its speed, sent as the page was left, did not.
      assert.deepEqual(t.events.filter((e) => e.type === "pageview").map((e) => e.page), kept ? [0, 1] : [1]);
      await context.close();
    }
    // Unreachable collector: every batch waits, the oldest going past 30.
    const context = await browser.newContext();
    await context.route("**/collect", (route) => route.abort());
    const { page } = await openFixture(browser, collector, { context, before: beaconRefuses });
    await page.evaluate(() => { for (let i = 0; i < 40; i++) { window.stint.track(`e${i}`); window.stint.flush(); } });
    const list = await queued(page);
    assert.equal(list.length, 30);
    assert.deepEqual(list.map((b) => JSON.parse(b).seq), Array.from({ length: 30 }, (_, i) => 11 + i));
    await context.close();
  });
});

describe("sessions", () => {
  test("tabs share a session with storage local; session storage and memory do not persist it to localStorage", async () => {
    const { page, context } = await openFixture(browser, collector);
    const sid = await sessionId(page);
    const second = await context.newPage();
    await second.goto(`${collector.origin}/fixtures/page`);
    await second.waitForFunction(() => window.stintReadyAt !== undefined);
    assert.equal(await sessionId(second), sid);
    const t = await stored(sid, (t) => t.session.pageviews === 2, "two tabs, one session");
    assert.deepEqual(t.pages.map((p) => p.index), [0, 1]);
    await context.close();

    for (const storage of ["session", "memory"]) {
      const { page, context } = await openFixture(browser, collector, { options: { storage } });
      const saved = await page.evaluate(() => [localStorage.getItem("stint.sid"), sessionStorage.getItem("stint.sid")]);
      assert.equal(saved[0], null, `${storage}: nothing in localStorage`);
      assert.equal(saved[1] !== null, storage === "session", `${storage}: sessionStorage`);
      await context.close();
    }
  });

  test("a new session starts after sessionTimeoutMin without activity", async () => {
    // 0.02 min = 1.2 s, passed on the clock.
    const { page, context } = await onClock({ sessionTimeoutMin: 0.02 });
    const first = await sessionId(page);
    await page.clock.runFor(1_500);
    await page.evaluate(() => window.stint.track("after-timeout"));
    await page.evaluate(() => window.stint.flush());
    const second = await sessionId(page);
    assert.notEqual(second, first);
    const t = await stored(second, (t) => t.session.events === 1, "the new session");
    assert.equal(t.session.pageviews, 1, "the new session opens with the page being shown");
    await context.close();
  });
});

/** The fixture, with every request it makes to /collect counted (in order, as sent). */
async function counted(context, { options, before }) {
  const sent = [];
  context.on("request", (r) => { if (new URL(r.url()).pathname === "/collect") sent.push(r.method()); });
  const { page } = await openFixture(browser, collector, { options, before, context });
  return { page, sent };
}
/**
 * The `pagehide` a page gets as it is left, with the page kept: a beacon sent on a real
 * navigation away is not among the requests Playwright reports.
 */
const hide = () => window.dispatchEvent(new PageTransitionEvent("pagehide", { persisted: false }));
/** A request after everything the page sent before it: once it is seen, so are they. */
const marker = (page) => page.evaluate(() => fetch("/fixtures/page").then((r) => r.text()));

describe("privacy", () => {
  const refusals = [
    ["Global Privacy Control", {}, () => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true })],
    ["Do Not Track", {}, () => Object.defineProperty(Navigator.prototype, "doNotTrack", { get: () => "1" })],
    ["stint.optout", {}, () => localStorage.setItem("stint.optout", "1")],
  ];
  for (const [name, options, before] of refusals) {
    test(`${name} on → nothing stored, nothing sent`, async () => {
      const context = await browser.newContext();
      const { page, sent } = await counted(context, { options, before });
      await page.evaluate(() => { window.stint.track("should-not-send"); window.stint.flush(); });
      await marker(page);
      assert.deepEqual(sent, [], "requests to /collect");
      assert.equal(await page.evaluate(() => localStorage.getItem("stint.sid")), null, "stint.sid");
      assert.equal(await page.evaluate(() => window.stint.sessionId()), null);
      // Not tracking, the page registers no listener at all: `pagehide`, where a tracking
      // page sends what it holds (the test below), sends nothing either.
      await page.evaluate(hide);
      await marker(page);
      assert.deepEqual(sent, [], "requests to /collect after pagehide");
      await context.close();
    });
  }

  test("the request count above sees the tracker's beacons where it tracks", async () => {
    const context = await browser.newContext();
    const { page, sent } = await counted(context, {});
    await page.evaluate(() => { window.stint.track("sent"); window.stint.flush(); });
    await marker(page);
    // The page view at once, the event with the flush.
    assert.deepEqual(sent, ["POST", "POST"]);
    // Leaving the page sends what it holds (seen by the count as the refusal tests leave
    // theirs); the next page sends its page view.
    await page.evaluate(() => window.stint.track("held"));
    await page.evaluate(hide);
    await marker(page);
    assert.deepEqual(sent, ["POST", "POST", "POST"]);
    await context.close();
  });

  test("a prerendered page sends nothing until it is shown", async () => {
    const context = await browser.newContext();
    const sent = [];
    context.on("request", (r) => { if (new URL(r.url()).pathname === "/collect") sent.push(r.method()); });
    await context.addInitScript(() => {
      window.__prerendering = true;
      Object.defineProperty(Document.prototype, "prerendering", { get: () => window.__prerendering });
    });
    const page = await context.newPage();
    await page.goto(`${collector.origin}/fixtures/page`);
    await page.waitForFunction(() => window.stint);
    await page.evaluate(() => window.stint.track("while-prerendered"));
    await marker(page);
    assert.deepEqual(sent, [], "requests to /collect while prerendered");
    assert.equal(await page.evaluate(() => window.stintReadyAt), undefined, "init() waits");
    // Shown: the page view and what was tracked meanwhile.
    await page.evaluate(() => { window.__prerendering = false; document.dispatchEvent(new Event("prerenderingchange")); });
    await page.waitForFunction(() => window.stintReadyAt !== undefined);
    await page.evaluate(() => window.stint.flush());
    const sid = await sessionId(page);
    const t = await stored(sid, (t) => t.session.pageviews === 1 && t.session.events === 1, "the page view once shown");
    assert.equal(t.events.find((e) => e.type === "custom").name, "while-prerendered");
    await context.close();
  });

  test("GPC can be overridden by the site with respectGpc: false", async () => {
    const { page, context } = await openFixture(browser, collector, {
      options: { respectGpc: false },
      before: () => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }),
    });
    const sid = await sessionId(page);
    await stored(sid, (t) => t.session.pageviews === 1, "page view despite GPC");
    await context.close();
  });

  test("consent pending queues in memory until grant()", async () => {
    const context = await browser.newContext();
    const { page, sent } = await counted(context, { options: { consent: "pending" } });
    await page.evaluate(() => { window.stint.track("before-consent"); window.stint.flush(); });
    await marker(page);
    assert.deepEqual(sent, [], "requests to /collect before consent");
    assert.equal(await page.evaluate(() => localStorage.getItem("stint.sid")), null);
    await page.evaluate(() => window.stint.grant());
    const sid = await sessionId(page);
    const t = await stored(sid, (t) => t.session.events === 1 && t.session.pageviews === 1, "events after grant");
    assert.equal(t.events.find((e) => e.type === "custom").name, "before-consent");
    await context.close();
  });
});
