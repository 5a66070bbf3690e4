// End to end: the demo page in Debian's Chromium → tracker → collector → read API.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { eventually, startCollector } from "./support/collector.mjs";

const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

let collector;
let browser;
before(async () => {
  collector = await startCollector();
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await collector?.stop();
});

async function sessionOf(sid) {
  // Playwright's Chromium is headless and sets navigator.webdriver: a bot, listed on request.
  const r = await collector.read("/api/sessions?site=demo&bots=include");
  assert.equal(r.status, 200);
  return r.body.sessions.find((s) => s.id === sid);
}

test("opening the demo page makes a session with its entry page and one page view", async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(`${collector.origin}/?utm_source=e2e&private=1#section`);
  const stored = await eventually(() => page.evaluate(() => localStorage.getItem("stint.sid")), { what: "stint.sid in localStorage" });
  const sid = stored.split("|")[0];
  assert.match(sid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  const session = await eventually(() => sessionOf(sid), { what: `session ${sid} in GET /api/sessions` });
  assert.equal(session.pageviews, 1);
  assert.equal(session.entry_page, "/", "pages are grouped by path");
  assert.equal(session.utm.source, "e2e");
  assert.equal(session.bot, "headless");
  assert.equal(session.device, "desktop");
  assert.equal(session.os, "Linux");
  assert.equal(session.browser, "Chrome");
  assert.match(session.browser_version, /^\d+$/);
  assert.equal(session.channel, "referral", "utm_source=e2e without a referrer");
  const humansOnly = await collector.read("/api/sessions?site=demo");
  assert.ok(!humansOnly.body.sessions.some((s) => s.id === sid), "bots are left out by default");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a second page in the same tab continues the session", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${collector.origin}/`);
  const sid = (await eventually(() => page.evaluate(() => localStorage.getItem("stint.sid")))).split("|")[0];
  await eventually(() => sessionOf(sid), { what: "first page view" });
  await page.click("a[href='/about']");
  const session = await eventually(async () => {
    const s = await sessionOf(sid);
    return s?.pageviews === 2 && s;
  }, { what: "second page view in the same session" });
  assert.equal(session.entry_page, "/");
  assert.equal(session.exit_page, "/about");
  await context.close();
});
