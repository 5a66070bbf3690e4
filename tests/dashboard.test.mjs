// The dashboard in Chromium against a real collector: sessions made by driving the demo
// site appear with the right values, a row opens its timeline, wrong tokens are shown as
// such. Each test saves a screenshot of what it checked under test-output/dashboard/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { eventually, ROOT, startCollector, TOKEN } from "./support/collector.mjs";
import { launch } from "./support/browser.mjs";
import { batch, pageview, send } from "./support/beacon.mjs";

const SHOTS = join(ROOT, "test-output/dashboard");
let collector;
let browser;
before(async () => {
  await mkdir(SHOTS, { recursive: true });
  collector = await startCollector();
  browser = await launch();
  // Two visitors (two contexts: separate storage) on the demo site: two pages, then one.
  const two = await (await browser.newContext()).newPage();
  await two.goto(`${collector.origin}/?utm_source=dashboard-test`);
  await two.waitForFunction(() => localStorage.getItem("stint.sid"));
  await two.click("a[href='/about']");
  await eventually(async () => {
    const r = await collector.read("/api/sessions?site=demo&bots=include");
    return r.body.sessions.some((s) => s.pageviews === 2);
  }, { what: "the two-page visit" });
  await two.close({ runBeforeUnload: true });
  const one = await (await browser.newContext()).newPage();
  await one.goto(`${collector.origin}/`);
  await one.waitForFunction(() => localStorage.getItem("stint.sid"));
  await one.close({ runBeforeUnload: true });
  await eventually(async () => {
    const r = await collector.read("/api/sessions?site=demo&bots=include");
    return r.body.sessions.length === 2 && r.body.sessions.some((s) => s.pageviews === 2);
  }, { what: "the two demo sessions" });
});
after(async () => {
  await browser?.close();
  await collector?.stop();
});

async function connect(page, token) {
  await page.goto(`${collector.origin}/dashboard/`);
  await page.getByLabel("Read token").fill(token);
  await page.getByRole("button", { name: "Connect" }).click();
}

test("the Sessions tab lists the demo sessions, bots on request, and a row opens its timeline", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await connect(page, TOKEN);
  // Driven by Playwright, both sessions are bots: left out until asked for.
  await page.getByText("No sessions in this range yet.").waitFor();
  await page.getByLabel("Include bots").check();
  await page.getByText("2 sessions, newest first.").waitFor();
  const rows = page.locator("#session-table tbody tr");
  assert.equal(await rows.count(), 2);
  const twoPages = rows.filter({ hasText: "→ /about" });
  assert.equal(await twoPages.count(), 1);
  const cells = await twoPages.locator("td").allTextContents();
  assert.match(cells[0], /bot: headless/);
  assert.equal(cells[5], "2", "pages");
  assert.match(cells[2], /desktop · Linux · Chrome \d+/);
  await page.screenshot({ path: join(SHOTS, "sessions.png"), fullPage: true });

  // Filters go to the API: no mobile sessions, then back to any device.
  await page.getByLabel("Device").selectOption("mobile");
  await page.getByText("No sessions in this range yet.").waitFor();
  await page.getByLabel("Device").selectOption("");
  await page.getByText("2 sessions, newest first.").waitFor();

  await twoPages.click();
  await page.locator("#timeline-pages li").nth(1).waitFor();
  const pages = await page.locator("#timeline-pages li strong").allTextContents();
  assert.deepEqual(pages, ["/", "/about"], "pages by path");
  assert.equal(await page.locator("#timeline-pages li .params").first().textContent(), " ?utm_source=dashboard-test", "kept parameters beside it");
  assert.match(await page.locator("#timeline-facts").textContent(), /source=dashboard-test/);
  const firstPage = await page.locator("#timeline-pages li").first().textContent();
  assert.match(firstPage, /1 click/);
  assert.match(firstPage, /on page \d+\.\ds, engaged \d+\.\ds/, "wall time beside engaged time");
  await page.screenshot({ path: join(SHOTS, "timeline.png"), fullPage: true });
  await page.close();
});

test("the overview shows totals, the hourly chart and top lists", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await connect(page, TOKEN);
  await page.getByRole("button", { name: "Overview" }).click();
  // Only bots so far (Playwright): the overview counts humans, so it is empty…
  await page.locator("#overview-status", { hasText: "No sessions in this range yet." }).waitFor();
  // …until bots are included: 2 sessions, 3 page views, one hour bar, the entry pages.
  await page.getByLabel("Include bots").check();
  await page.locator("#totals div").first().filter({ hasText: "2" }).waitFor();
  const totals = await page.locator("#totals div").allTextContents();
  assert.deepEqual([totals[0], totals[1]], ["2Sessions", "3Page views"]);
  assert.ok((await page.locator("#per-hour rect").count()) >= 1);
  // Both visits landed on "/" (one with a kept utm_source): one page, by path.
  assert.match(await page.locator("#tops").textContent(), /Top pages\/ — 2Referrers/);
  assert.match(await page.locator("#tops").textContent(), /BrowsersChrome — 2/, "browsers by family");
  assert.match(await page.locator("#tops").textContent(), /Devicesdesktop — 2/);
  await page.screenshot({ path: join(SHOTS, "overview.png"), fullPage: true });
  await page.close();
});

test("erasing a session asks first, then removes its row", async () => {
  const page = await browser.newPage();
  await connect(page, TOKEN);
  await page.getByLabel("Include bots").check();
  await page.getByText("2 sessions, newest first.").waitFor();
  await page.locator("#session-table tbody tr").filter({ has: page.getByRole("cell", { name: "/ → /", exact: true }) }).click();
  await page.locator("#timeline-pages li").first().waitFor();
  page.once("dialog", (d) => d.dismiss());
  await page.getByRole("button", { name: "Erase this session" }).click();
  assert.equal((await collector.read("/api/sessions?site=demo&bots=include")).body.sessions.length, 2, "dismissed: nothing erased");
  page.once("dialog", (d) => d.accept());
  await page.getByRole("button", { name: "Erase this session" }).click();
  await page.getByLabel("Include bots").check();
  await page.getByText("1 session, newest first.").waitFor();
  assert.equal((await collector.read("/api/sessions?site=demo&bots=include")).body.sessions.length, 1);
  await page.screenshot({ path: join(SHOTS, "after-erase.png") });
  await page.close();
});

test("at phone width the page does not scroll sideways; the table scrolls inside its box", async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
  await connect(page, TOKEN);
  await page.getByLabel("Include bots").check();
  await page.locator("#session-table tbody tr").first().waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page wider than the phone by ${overflow}px`);
  await page.screenshot({ path: join(SHOTS, "phone.png"), fullPage: true });
  await page.close();
});

test("a wrong token shows the unauthorized state", async () => {
  const page = await browser.newPage();
  await connect(page, "not-the-token");
  await page.getByText("Unauthorized: the read token was not accepted.").waitFor();
  assert.equal(await page.locator("#session-table tbody tr").count(), 0);
  await page.screenshot({ path: join(SHOTS, "unauthorized.png") });
  await page.close();
});

test("the token is kept in sessionStorage, never in the URL", async () => {
  const page = await browser.newPage();
  await connect(page, TOKEN);
  await page.getByRole("status").waitFor();
  assert.ok(!page.url().includes(TOKEN));
  assert.equal(await page.evaluate(() => sessionStorage.getItem("stint.token")), TOKEN);
  assert.equal(await page.evaluate(() => localStorage.getItem("stint.token")), null);
  await page.screenshot({ path: join(SHOTS, "connected.png") });
  await page.close();
});

test("an endpoint that does not answer shows the unreachable state", async () => {
  const page = await browser.newPage();
  await page.goto(`${collector.origin}/dashboard/`);
  await page.getByLabel("Collector endpoint").fill("http://127.0.0.1:9");
  await page.getByLabel("Read token").fill(TOKEN);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByText("Cannot reach http://127.0.0.1:9.").waitFor();
  await page.screenshot({ path: join(SHOTS, "unreachable.png") });
  await page.close();
});

test("live refresh shows new sessions; Load more pages through the list with the API's cursor", async () => {
  // A collector of its own with 30 sessions, so the first page (25) leaves 5 for the next.
  const busy = await startCollector();
  try {
    const t0 = Date.now() - 3_600_000;
    for (let i = 0; i < 30; i++) {
      const r = await send(busy, batch({ events: [pageview({ ts: t0 + i * 1000, url: `https://demo.local/n${i}` })] }));
      assert.equal(r.status, 202);
    }
    const page = await browser.newPage();
    await page.goto(`${busy.origin}/dashboard/`);
    await page.getByLabel("Read token").fill(TOKEN);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByText("25 sessions, newest first.").waitFor();
    assert.match(await page.locator("#session-table tbody tr").first().textContent(), /\/n29 → \/n29/);
    // Live refresh brings a new session to the top while on the first page.
    await page.getByLabel("Live").check();
    assert.equal((await send(busy, batch({ events: [pageview({ url: "https://demo.local/live" })] }))).status, 202);
    await page.locator("#session-table tbody tr").first().filter({ hasText: "/live → /live" }).waitFor({ timeout: 25_000 });
    await page.getByLabel("Live").uncheck();
    await page.getByRole("button", { name: "Load more" }).click();
    await page.getByText("31 sessions, newest first.").waitFor();
    assert.match(await page.locator("#session-table tbody tr").last().textContent(), /\/n0 → \/n0/);
    assert.equal(await page.getByRole("button", { name: "Load more" }).isHidden(), true, "no further page");
    await page.screenshot({ path: join(SHOTS, "paged.png"), fullPage: true });
    await page.close();
  } finally {
    await busy.stop();
  }
});
