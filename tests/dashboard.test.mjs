// The dashboard in Chromium against a real collector holding a seeded data set of human
// sessions over five weeks (support/dataset.mjs): every figure asserted is one a site owner
// reads, computed from what was sent. Each view is checked with axe-core (0 serious or
// critical violations, light and dark), at 390 px, and for console errors. Screenshots go
// to test-output/dashboard/ (README's pictures are copies of these).
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { eventually, ROOT, startCollector, TOKEN } from "./support/collector.mjs";
import { launch } from "./support/browser.mjs";
import { countBy, DAY_MS, FRICTION, makeDataset, sendDataset, within } from "./support/dataset.mjs";

const SHOTS = join(ROOT, "test-output/dashboard");
let collector;
let browser;
let data;
let axeSource;
const now = Date.now();
const today = Math.floor(now / DAY_MS) * DAY_MS;
const pages = [];

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  axeSource = await readFile(join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");
  collector = await startCollector({ vars: { STINT_TEST_EDGE: "1" } });
  data = makeDataset({ now });
  await sendDataset(collector, data);
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await collector?.stop();
});
// No view may log an error to the console.
afterEach(async () => {
  for (const { page, errors } of pages.splice(0)) {
    await page.close();
    assert.deepEqual(errors, [], "console errors");
  }
});

/** A page with the dashboard connected (token typed into the form), at `query`. */
async function open(query = "", { width = 1280, height = 900, scheme = "light", connect = true } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme: scheme, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(e.message));
  pages.push({ page, errors });
  await page.goto(`${collector.origin}/dashboard/${query}`);
  if (connect) {
    await page.getByLabel("Read token").fill(TOKEN);
    await page.getByRole("button", { name: "Connect" }).click();
  }
  return page;
}

const kpi = (page, label) => page.locator(`.kpi:has(.kpi-label:text-is("${label}")) b`);
const last30 = () => within(data, today - 29 * DAY_MS, now + 1);
const last7 = () => within(data, today - 6 * DAY_MS, now + 1);

/** axe-core in the page: the serious and critical violations. */
async function axe(page) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

test("overview: KPI cards, the chart and the reports read the data set's figures", async () => {
  const page = await open("?range=30d");
  const all = last30();
  await kpi(page, "Sessions").filter({ hasText: String(all.length) }).waitFor();
  assert.equal(await kpi(page, "Page views").textContent(), all.reduce((n, s) => n + s.pageviews, 0).toLocaleString("en"));
  assert.equal(await kpi(page, "Bounce rate").textContent(), `${Math.round((all.filter((s) => s.bounce).length / all.length) * 100)}%`);
  // The chart: 30 daily points, axes with dates, a legend that follows the cursor.
  await page.locator("#chart canvas").waitFor();
  assert.equal(await page.locator("#chart-title").textContent(), "Sessions per day");
  assert.match(await page.locator("#chart").getAttribute("aria-label"), new RegExp(`30 points, ${all.length} in all`));
  // Off the chart the legend states the range and its figure (the Sessions card's); on a
  // point, the point's; off again, the range's.
  const legend = page.locator(".u-legend");
  const resting = new RegExp(`Sessions\\s*${all.length}(?!\\d)`);
  await legend.filter({ hasText: resting }).waitFor();
  const firstDay = new Date(today - 29 * 86_400_000).toLocaleString("en", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" });
  assert.match(await legend.textContent(), new RegExp(`Date\\s*${firstDay} – `));
  const box = await page.locator("#chart .u-over").boundingBox();
  await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
  const todayCount = within(data, today, now + 1).length;
  await legend.filter({ hasText: new RegExp(`Sessions\\s*${todayCount}(?!\\d)`) }).waitFor();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height + 80);
  await legend.filter({ hasText: resting }).waitFor();
  // Reports: the busiest page and country with their sessions and shares.
  const pagesReport = page.getByRole("region", { name: "Pages" });
  const home = countBy(all, (s) => [...new Set(s.pages.map((p) => p.path))]).get("/");
  assert.match(await pagesReport.locator(".bar-row").first().textContent(), new RegExp(`^/${home}${Math.round((home / all.length) * 100)}%$`));
  const us = all.filter((s) => s.country === "US").length;
  assert.match(await page.getByRole("region", { name: "Locations" }).locator(".bar-row").first().textContent(), new RegExp(`^United States${us}`));
  await page.getByRole("region", { name: "Pages" }).getByRole("button", { name: "Exit pages" }).click();
  const exits = countBy(all, (s) => s.exit);
  const topExit = [...exits].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  await pagesReport.locator(".bar-row").first().filter({ hasText: `${topExit[0]}${topExit[1]}` }).waitFor();
  assert.deepEqual(await axe(page), []);
  await page.screenshot({ path: join(SHOTS, "overview.png"), fullPage: true });
});

test("comparison: the change against the previous period, or too few sessions to say", async () => {
  const page = await open("?range=7d&compare=previous");
  const now7 = last7().length;
  const then7 = within(data, today - 13 * DAY_MS, now + 1 - 7 * DAY_MS).length;
  const card = page.locator('.kpi[data-kpi="sessions"]');
  const p = Math.round(((now7 - then7) / then7) * 100);
  await card.filter({ hasText: `${p > 0 ? "+" : p < 0 ? "−" : "±"}${Math.abs(p)}% vs ${then7}` }).waitFor();
  // Two series in the chart's legend: this week and the week before.
  await page.locator(".u-legend").filter({ hasText: "Previous period" }).waitFor();
  // Thirty days back from the data set's first day there is nothing to compare with.
  await page.getByLabel("Range").selectOption("30d");
  await card.filter({ hasText: "too few sessions to compare" }).waitFor();
});

test("a click on a row filters every figure; chips, the URL, reload and Back keep the view", async () => {
  const page = await open("?range=30d");
  const all = last30();
  await kpi(page, "Sessions").filter({ hasText: String(all.length) }).waitFor();
  await page.getByRole("region", { name: "Locations" }).getByRole("button", { name: /^Germany/ }).click();
  const de = all.filter((s) => s.country === "DE");
  await page.getByRole("listitem").filter({ hasText: "Country is DE" }).waitFor();
  await kpi(page, "Sessions").filter({ hasText: new RegExp(`^${de.length}$`) }).waitFor();
  assert.match(page.url(), /range=30d&country=DE$/);
  assert.ok(!page.url().includes(TOKEN));
  await page.reload();
  await kpi(page, "Sessions").filter({ hasText: new RegExp(`^${de.length}$`) }).waitFor();
  await page.getByRole("listitem").filter({ hasText: "Country is DE" }).waitFor();
  await page.goBack();
  await kpi(page, "Sessions").filter({ hasText: new RegExp(`^${all.length}$`) }).waitFor();
  assert.equal(await page.locator("#chips li").count(), 0);
  // is not, through the filter form; removing the chip restores the total.
  await page.getByText("Add filter").click();
  await page.getByLabel("Dimension").selectOption("channel");
  await page.getByLabel("Match").selectOption("!");
  await page.getByLabel("Value").fill("search");
  await page.getByRole("button", { name: "Add", exact: true }).click();
  await kpi(page, "Sessions").filter({ hasText: new RegExp(`^${all.filter((s) => s.source.channel !== "search").length}$`) }).waitFor();
  await page.getByRole("button", { name: "Remove filter Channel is not search" }).click();
  await kpi(page, "Sessions").filter({ hasText: new RegExp(`^${all.length}$`) }).waitFor();
  // The operators offered follow the dimension: a session is found by its ID's start, a goal
  // is reached or not (the collector answers 400 to the rest).
  const offered = () => page.locator("#filter-op").evaluate((s) => [...s.options].filter((o) => !o.disabled).map((o) => o.value));
  await page.getByLabel("Match").selectOption("!");
  await page.getByLabel("Dimension").selectOption("session");
  assert.deepEqual(await offered(), [""]);
  assert.equal(await page.getByLabel("Match").inputValue(), "", "is not, no longer offered, gave way to is");
  await page.getByLabel("Dimension").selectOption("goal");
  assert.deepEqual(await offered(), ["", "!"]);
  await page.getByLabel("Dimension").selectOption("channel");
  assert.deepEqual(await offered(), ["", "!", "~"]);
});

test("devices drill from a browser family into its versions", async () => {
  const page = await open("?range=30d");
  const devices = page.getByRole("region", { name: "Devices" });
  await devices.getByRole("button", { name: "Browsers" }).click();
  await devices.getByRole("button", { name: /^Chrome/ }).click();
  await page.getByRole("listitem").filter({ hasText: "Browser is Chrome" }).waitFor();
  await devices.getByRole("button", { name: "Browsers" }).click();
  const chrome = last30().filter((s) => s.browser.browser === "Chrome").length;
  await devices.locator(".bar-row").first().filter({ hasText: `Chrome 131${chrome}100%` }).waitFor();
});

test("details: a report in full, sortable, with a goal's conversion rate", async () => {
  const page = await open("?range=30d");
  await page.getByRole("region", { name: "Pages" }).getByRole("button", { name: "Details" }).click();
  await page.getByRole("heading", { name: "Page — details" }).waitFor();
  assert.equal(new URL(page.url()).searchParams.get("view"), "details");
  assert.equal(new URL(page.url()).searchParams.get("report"), "page");
  await page.locator("#goal").selectOption("event:signup");
  const all = last30();
  const pricing = all.filter((s) => s.pages.some((p) => p.path === "/pricing"));
  const converted = pricing.filter((s) => s.events.some((e) => e.name === "signup")).length;
  const row = page.locator("#details-table tbody tr").filter({ has: page.getByRole("rowheader", { name: "/pricing", exact: true }) });
  await row.locator("td").nth(7).filter({ hasText: `${((converted / pricing.length) * 100).toFixed(1)}%` }).waitFor();
  const views = all.flatMap((s) => s.pages.filter((p) => p.path === "/pricing")).length;
  assert.equal(await row.locator("td").nth(2).textContent(), views.toLocaleString("en"), "views of /pricing");
  // Sorted by exit rate, highest first: /signup, where every visit ends.
  await page.getByRole("button", { name: "Exit rate" }).click();
  await page.locator("#details-table tbody tr").first().getByRole("rowheader", { name: "/signup" }).waitFor();
  assert.deepEqual(await axe(page), []);
  await page.screenshot({ path: join(SHOTS, "details.png"), fullPage: true });
});

// ---- Funnels, journeys, link maps: ground truth from the data set's page sequences -------

/** How far a session got through page steps in order (anything in between allowed). */
const depthOf = (s, steps) => s.pages.reduce((k, p) => (k < steps.length && p.path === steps[k] ? k + 1 : k), 0);

/** Where a session that matched `steps` as far as it got went next: the first page after
 * its last matched step on another path (null: it left). */
function wentNext(s, steps) {
  let k = 0;
  let at = -1;
  s.pages.forEach((p, i) => { if (k < steps.length && p.path === steps[k]) { k++; at = i; } });
  return s.pages.slice(at + 1).find((p) => p.path !== s.pages[at].path)?.path ?? null;
}

/** The pages after the first view of `start`, a page repeated right after itself once. */
function pagesAfter(s, start) {
  const i = s.pages.findIndex((p) => p.path === start);
  if (i < 0) return null;
  const out = [];
  let last = start;
  for (const p of s.pages.slice(i + 1)) if (p.path !== last) { out.push(p.path); last = p.path; }
  return out;
}

test("funnels: built from pages seen, each step's sessions, drop-off and dropped sessions one click away", async () => {
  const page = await open("?view=funnels&range=30d");
  const steps = ["/", "/pricing", "/signup"];
  const inputs = page.locator("#funnel-steps .step-input");
  await inputs.nth(1).waitFor();
  // The pages and events of the range are offered as steps.
  await page.waitForFunction(() => [...document.querySelectorAll("#step-options option")].some((o) => o.value === "event:signup"));
  await inputs.nth(0).fill(steps[0]);
  await inputs.nth(1).fill(steps[1]);
  await page.getByRole("button", { name: "Add step" }).click();
  await inputs.nth(2).fill(steps[2]);
  await page.getByRole("button", { name: "Show funnel" }).click();
  await page.waitForURL(/fstep=%2Fsignup/);
  const all = last30();
  const reached = steps.map((_, k) => all.filter((s) => depthOf(s, steps) > k).length);
  for (const [k, n] of reached.entries()) {
    await page.locator(`.funnel-step[data-step="${k + 1}"] .step-head .n`).filter({ hasText: `${n.toLocaleString("en")} sessions` }).waitFor();
  }
  const third = page.locator('.funnel-step[data-step="3"]');
  assert.equal(await third.locator(".pct").textContent(), `${((reached[2] / reached[0]) * 100).toFixed(1)}%`);
  assert.match(await third.locator(".dropped b").textContent(), new RegExp(`^${reached[1] - reached[2]} dropped$`));
  // Where those that reached /pricing but not /signup went next.
  const dropped = all.filter((s) => depthOf(s, steps) === 2);
  const wentDocs = dropped.filter((s) => wentNext(s, steps) === "/docs").length;
  assert.ok(wentDocs > 0);
  await third.locator(".went li").filter({ hasText: `/docs ${wentDocs}` }).waitFor();
  const left = dropped.filter((s) => wentNext(s, steps) === null).length;
  await third.locator(".went li").filter({ hasText: `left the site ${left}` }).waitFor();
  assert.deepEqual(await axe(page), []);
  await page.screenshot({ path: join(SHOTS, "funnel.png"), fullPage: true });
  // Saved for the site; a dropped session opens its timeline.
  await page.getByLabel("Funnel name").fill("Signup");
  await page.getByRole("button", { name: "Save funnel" }).click();
  await page.waitForURL(/funnel=Signup/);
  await third.getByRole("button", { name: /^Open dropped session/ }).first().click();
  await page.waitForURL(/open=/);
  const sid = new URL(page.url()).searchParams.get("open");
  assert.ok(dropped.some((s) => s.sid === sid), "the session opened is one that dropped at step 3");
  await page.locator("#timeline-pages > li").first().waitFor();
  await page.goto(`${collector.origin}/dashboard/?view=funnels&range=30d`);
  await page.locator("#saved-funnel").selectOption("Signup");
  await page.locator('.funnel-step[data-step="3"] .step-head .n').filter({ hasText: `${reached[2].toLocaleString("en")} sessions` }).waitFor();
});

test("journeys: next pages from a start, a click follows a page's sessions one step further", async () => {
  const page = await open("?view=journeys&range=30d");
  const seqs = last30().map((s) => pagesAfter(s, "/")).filter(Boolean);
  const firstSteps = countBy(seqs.filter((q) => q.length > 0), (q) => q[0]);
  const top = [...firstSteps].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const column1 = page.getByRole("region", { name: "Step 1 after" });
  await column1.locator(".bar-row").first().waitFor();
  const shown = await column1.locator(".bar-row").evaluateAll((rows) => rows.map((r) => [r.querySelector(".label").textContent, Number(r.querySelector(".n").textContent.replace(/,/g, ""))]));
  assert.deepEqual(shown, top.slice(0, 8));
  assert.equal(await column1.locator(".no-further").textContent(), `No further action: ${seqs.filter((q) => q.length === 0).length}`);
  // Follow /pricing: step 2 counts only the sessions that went / → /pricing.
  await column1.getByRole("button", { name: /\/pricing/ }).click();
  await page.waitForURL(/jvia=%2Fpricing/);
  const via = seqs.filter((q) => q[0] === "/pricing");
  const second = countBy(via.filter((q) => q.length > 1), (q) => q[1]);
  const column2 = page.getByRole("region", { name: "Step 2 after" });
  await column2.locator("h3").filter({ hasText: `· ${via.length}` }).waitFor();
  for (const [path, n] of second) {
    await column2.locator(".bar-row").filter({ has: page.locator(`.label:text-is("${path}")`) }).locator(".n").filter({ hasText: String(n) }).waitFor();
  }
  assert.equal(await column2.locator(".no-further").textContent(), `No further action: ${via.filter((q) => q.length === 1).length}`);
  assert.equal(await column1.getByRole("button", { name: /\/pricing/ }).getAttribute("aria-pressed"), "true");
  assert.deepEqual(await axe(page), []);
  await page.screenshot({ path: join(SHOTS, "journeys.png"), fullPage: true });
});

test("link map: every link clicked on a page, from the page's details row", async () => {
  const page = await open("?view=details&report=page&range=30d");
  await page.getByRole("button", { name: "Links clicked on /docs/install" }).click();
  await page.waitForURL(/lpage=%2Fdocs%2Finstall/);
  const clicks = new Map();
  for (const s of last30()) {
    for (const p of s.pages.filter((x) => x.path === "/docs/install")) {
      for (const c of p.clicks) clicks.set(c.href, (clicks.get(c.href) ?? 0) + 1);
    }
  }
  const expected = [...clicks].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  await page.locator("#linkmap-table tbody tr").nth(expected.length - 1).waitFor();
  const rows = await page.locator("#linkmap-table tbody tr").evaluateAll((trs) => trs.map((tr) => [tr.querySelector("th").textContent, Number(tr.querySelector("td").textContent.replace(/,/g, ""))]));
  assert.deepEqual(rows, expected);
  const pdf = page.locator("#linkmap-table tbody tr").filter({ hasText: "stint-guide.pdf" });
  assert.equal(await pdf.locator("td").last().textContent(), "internal, download");
  const github = page.locator("#linkmap-table tbody tr").filter({ hasText: "github.com" });
  assert.equal(await github.locator("td").last().textContent(), "outbound");
  assert.deepEqual(await axe(page), []);
  await page.locator("#linkmap").screenshot({ path: join(SHOTS, "linkmap.png") });
});

test("segments are saved for the site, listed and applied in one click", async () => {
  const page = await open("?range=30d&country=DE&device=mobile");
  const mobileDe = last30().filter((s) => s.country === "DE" && s.browser.device === "mobile").length;
  await kpi(page, "Sessions").filter({ hasText: new RegExp(`^${mobileDe}$`) }).waitFor();
  await page.getByRole("button", { name: "Save as segment…" }).click();
  await page.getByLabel("Segment name").fill("Mobile Germany");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.waitForURL(/segment=Mobile\+Germany/);
  await page.goto(`${collector.origin}/dashboard/?range=30d`);
  await kpi(page, "Sessions").filter({ hasText: new RegExp(`^${last30().length}$`) }).waitFor();
  await page.locator("#segment").selectOption("Mobile Germany");
  await kpi(page, "Sessions").filter({ hasText: new RegExp(`^${mobileDe}$`) }).waitFor();
  assert.equal(await page.locator("#chips li").count(), 2);
});

test("sessions: relative times with the exact one on hover, find by ID prefix, and the timeline", async () => {
  const page = await open("?view=sessions&range=30d");
  const first = page.locator("#session-body tr").first();
  await first.waitFor();
  const newest = last30().sort((a, b) => b.startedAt - a.startedAt)[0];
  assert.equal(await first.locator("td.mono").textContent(), newest.sid.slice(0, 8));
  assert.match(await first.locator("time").textContent(), /min ago|just now/);
  assert.ok((await first.locator("time").getAttribute("title")).length > 10, "exact time on hover");
  // The Friction column says what each listed session met, as the data set made it; sorted
  // by it, the session that met the most comes first.
  const listed = last30().sort((a, b) => b.startedAt - a.startedAt).slice(0, 50);
  const met = (s) => {
    const kind = (k) => s.pages.filter((p) => p.friction?.kind === k).length;
    const abandoned = s.form && !s.form.submitted ? 1 : 0;
    const n = (count, one, many = `${one}s`) => count ? `${count} ${count === 1 ? one : many}` : null;
    return { total: kind("rage") + kind("dead") + kind("error") + abandoned,
      text: [n(kind("rage"), "rage click"), n(kind("dead"), "dead click"), n(kind("error"), "error"),
        n(abandoned, "form abandoned", "forms abandoned")].filter(Boolean).join(" · ") || "—" };
  };
  const cells = await page.locator("#session-body tr").evaluateAll((rows) => rows.map((r) => [r.dataset.sid, r.lastElementChild.textContent]));
  assert.deepEqual(cells, listed.map((s) => [s.sid, met(s).text]));
  assert.ok(listed.some((s) => met(s).total > 0), "the newest 50 include a session with friction");
  await page.locator("#session-head").getByRole("button", { name: "Friction" }).click();
  assert.equal(await page.locator("#session-head th[aria-sort]").textContent(), "Friction");
  const topSid = await page.locator("#session-body tr").first().getAttribute("data-sid");
  assert.equal(met(listed.find((s) => s.sid === topSid)).total, Math.max(...listed.map((s) => met(s).total)));
  await page.locator("#session-head").getByRole("button", { name: "Started" }).click();
  await page.screenshot({ path: join(SHOTS, "sessions.png") });
  // Find a session three weeks back by the first characters of its ID.
  const old = within(data, today - 21 * DAY_MS, today - 20 * DAY_MS).find((s) => s.pages.length >= 3);
  await page.getByLabel("Find session ID").fill(old.sid.slice(0, 8).toUpperCase());
  await page.getByRole("button", { name: "Find" }).click();
  await page.locator("#session-body tr").filter({ hasText: old.sid.slice(0, 8) }).waitFor();
  assert.equal(await page.locator("#session-body tr").count(), 1);
  await page.locator("#session-body tr").first().click();
  await page.locator("#timeline-pages > li").nth(old.pages.length - 1).waitFor();
  assert.match(page.url(), new RegExp(`open=${old.sid}`));
  assert.deepEqual(await page.locator("#timeline-pages > li strong").allTextContents(), old.pages.map((p) => p.path));
  const offsets = await page.locator("#timeline-pages > li > .offset").allTextContents();
  const fmt = (ms) => { const s = Math.round(ms / 1000); return `+${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; };
  assert.deepEqual(offsets, old.pages.map((p) => fmt(p.at)));
  assert.match(await page.locator("#timeline-facts").textContent(), new RegExp(old.sid));
  // Clicks in place: a link on the site as its path, another site's as its URL.
  const clicks = await page.locator("#timeline-pages .events li[data-type=click]").allTextContents();
  assert.ok(clicks.length > 0, "the session clicked links");
  const said = (c) => {
    const to = c.href.startsWith("https://demo.local/") ? c.href.slice("https://demo.local".length) : c.href;
    return `click ${to}${c.outbound ? " (outbound)" : ""}${c.download ? " (download)" : ""}`;
  };
  assert.deepEqual(clicks.map((t) => t.replace(/^\+\d+:\d\d /, "")), old.pages.flatMap((p) => (p.clicks ?? []).sort((a, b) => a.at - b.at).map(said)));
  // Each view's LCP as the Friction view writes it, rated by web.dev's thresholds.
  const lcps = await page.locator("#timeline-pages > li .speed [data-figure=lcp]")
    .evaluateAll((els) => els.map((e) => [e.firstChild.textContent, e.querySelector(".rating")?.dataset.rating]));
  assert.deepEqual(lcps, old.pages.map((p) => [`LCP ${speedText(p.vitals.lcp)}`, lcpRating(p.vitals.lcp)]));
  // Erase sits far from Back.
  const back = await page.getByRole("button", { name: "← Back" }).boundingBox();
  const erase = await page.getByRole("button", { name: "Erase this session" }).boundingBox();
  assert.ok(erase.x - (back.x + back.width) > 400, "Erase is far from Back");
  assert.deepEqual(await axe(page), []);
  await page.screenshot({ path: join(SHOTS, "timeline.png"), fullPage: true });
  await page.goBack();
  await page.locator("#session-body tr").first().waitFor();
  assert.equal(await page.locator("#timeline").isHidden(), true);
});

test("live: the header counts the sessions active now; the live view lists their pages", async () => {
  const page = await open("?range=30d");
  const live = data.sessions.filter((s) => s.live);
  await page.getByRole("button", { name: /sessions active in the last 5 minutes/ }).filter({ hasText: `${live.length} live` }).waitFor();
  await page.getByRole("button", { name: /sessions active in the last 5 minutes/ }).click();
  await page.locator("#live-body tr").nth(live.length - 1).waitFor();
  const rows = await page.locator("#live-body tr td:first-child").allTextContents();
  assert.deepEqual(rows.sort(), live.map((s) => s.exit).sort());
  assert.equal(await page.locator("#live-status").textContent(), `${live.length} sessions active in the last 5 minutes (refreshes every 10 s).`);
  assert.deepEqual(await axe(page), []);
  await page.screenshot({ path: join(SHOTS, "live.png") });
});

test("keyboard: a report row and a session row work with Tab focus and Enter", async () => {
  const page = await open("?range=30d");
  const germany = page.getByRole("region", { name: "Locations" }).getByRole("button", { name: /^Germany/ });
  await germany.focus();
  await page.keyboard.press("Enter");
  await page.getByRole("listitem").filter({ hasText: "Country is DE" }).waitFor();
  await page.getByRole("button", { name: "Sessions", exact: true }).focus();
  await page.keyboard.press("Enter");
  const row = page.locator("#session-body tr").first();
  await row.waitFor();
  await row.focus();
  await page.keyboard.press("Enter");
  await page.locator("#timeline-pages > li").first().waitFor();
  await page.getByRole("button", { name: "← Back" }).focus();
  await page.keyboard.press("Enter");
  await row.waitFor();
});

test("export downloads the range's sessions as CSV", async () => {
  const page = await open("?range=7d");
  await kpi(page, "Sessions").filter({ hasText: String(last7().length) }).waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
  assert.equal(download.suggestedFilename(), "stint-sessions.csv");
  const csv = await readFile(await download.path(), "utf8");
  assert.equal(csv.trimEnd().split("\r\n").length, last7().length + 1);
});

test("dark scheme and phone width: readable, no sideways scroll, no axe violations", async () => {
  for (const query of ["?range=30d", "?range=30d&view=details&report=page&lpage=%2Fdocs%2Finstall", "?view=sessions&range=30d", "?view=live", "?view=funnels&range=30d&fstep=%2F&fstep=%2Fpricing&fstep=event%3Asignup", "?view=journeys&range=30d&jvia=%2Fpricing", "?view=friction&range=30d"]) {
    const page = await open(query, { width: 390, height: 844, scheme: "dark" });
    await page.locator("#app:not([hidden])").waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => e.textContent === "Loading…" && e.offsetParent));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${query}: wider than the phone by ${overflow}px`);
    assert.deepEqual(await axe(page), [], query);
    if (query === "?range=30d") await page.screenshot({ path: join(SHOTS, "phone-dark.png"), fullPage: true });
  }
});

test("connect: the form alone before connecting, wrong token and unreachable endpoint named", async () => {
  const page = await open("", { connect: false });
  assert.equal(await page.locator("#toolbar").isVisible(), false, "no filter bar before connecting");
  assert.deepEqual(await axe(page), []);
  await page.getByLabel("Read token").fill("not-the-token");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByText("Unauthorized: the read token was not accepted.").first().waitFor();
  await page.getByRole("button", { name: "Disconnect" }).click();
  await page.getByLabel("Collector endpoint").fill("http://127.0.0.1:9");
  await page.getByLabel("Read token").fill(TOKEN);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByText("Cannot reach http://127.0.0.1:9.").first().waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem("stint.token")), null, "never in localStorage");
  // Both failures are shown to the reader: drop the console lines the browser itself logs
  // for the refused requests.
  pages.at(-1).errors.length = 0;
});

test("a session driven by a browser under automation is a bot, shown only on request", async () => {
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`${collector.origin}/about`);
  const record = await visitor.waitForFunction(() => localStorage.getItem("stint.sid"));
  const sid = (await record.jsonValue()).split("|")[0];
  await visitor.close({ runBeforeUnload: true });
  await eventually(async () => (await collector.read(`/api/sessions?site=demo&bots=include&session=${sid}`)).body.sessions.length === 1, { what: "the automated visit" });
  const page = await open(`?view=sessions&session=${sid.slice(0, 8)}`);
  await page.getByText("No sessions in this range yet.").waitFor();
  await page.getByLabel("Include bots").check();
  await page.locator("#session-body tr .bot").filter({ hasText: "bot: headless" }).waitFor();
});

/** The p75 of `values` by nearest rank, as the collector states it. */
function p75(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(0.75 * sorted.length)) - 1];
}
const speedText = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms} ms`);
// web.dev's LCP thresholds at p75: good up to 2.5 s, poor above 4 s.
const lcpRating = (ms) => (ms <= 2500 ? "good" : ms <= 4000 ? "needs-improvement" : "poor");

test("friction: pages ranked by friction with the elements behind it, LCP p75, and errors in the timeline", async () => {
  const page = await open("?view=friction&range=30d");
  const all = last30();
  const views = (path) => all.flatMap((s) => s.pages.filter((p) => p.path === path));
  const hits = (path) => views(path).filter((p) => p.friction).length;
  await page.locator("#friction-table tbody tr").first().waitFor();
  // A speed cell reads as its figure; its rating is asked for apart.
  const table = async () => page.locator("#friction-table tbody tr:not(.why)").evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.querySelector(".figure")?.textContent ?? c.textContent)));
  const rows = await table();
  const row = (path) => rows.find((r) => r[0] === path);
  const ratings = await page.locator("#friction-table tbody tr:not(.why)").evaluateAll((rows) => rows.map((r) => [r.children[0].textContent, r.children[7].querySelector(".rating")?.dataset.rating, r.children[7].querySelector(".rating")?.textContent]));
  // Columns: page, views, frustrated, rage, dead, errors, forms abandoned, LCP, INP, CLS.
  assert.equal(row("/pricing")[3], String(hits("/pricing")));
  assert.equal(row("/docs")[4], String(hits("/docs")));
  assert.equal(row("/docs/api")[5], String(hits("/docs/api")));
  const signups = all.filter((s) => s.form);
  assert.equal(row("/signup")[6], `${signups.filter((s) => !s.form.submitted).length} of ${signups.length}`);
  for (const path of ["/", "/pricing", "/docs/api"]) {
    assert.equal(row(path)[1], views(path).length.toLocaleString("en"), `${path} views`);
    const lcp = p75(views(path).map((p) => p.vitals.lcp));
    assert.equal(row(path)[7], speedText(lcp), `${path} LCP p75`);
    const [, rating, said] = ratings.find(([p]) => p === path);
    assert.equal(rating, lcpRating(lcp), `${path} LCP rating`);
    assert.equal(said, ` ${{ good: "●", "needs-improvement": "■", poor: "▲" }[rating]} ${rating.replace("-", " ")}`, `${path} rating in words`);
  }
  // The slow page reads as poor, and not every page alike.
  assert.equal(ratings.find(([p]) => p === "/docs/api")[1], "poor");
  assert.ok(new Set(ratings.map(([, r]) => r)).size > 1);
  // Ranked by all friction: the page with the most comes first.
  const friction = (path) => hits(path) + (path === "/signup" ? signups.filter((s) => !s.form.submitted).length : 0);
  const most = Object.keys(FRICTION).concat("/signup")
    .sort((a, b) => friction(b) - friction(a) || views(b).length - views(a).length || a.localeCompare(b))[0];
  assert.equal(rows[0][0], most);
  // The element behind the rage clicks, with its sessions.
  const why = await page.evaluate(() => {
    const th = [...document.querySelectorAll("#friction-table tbody th")].find((c) => c.textContent === "/pricing");
    const next = th.parentElement.nextElementSibling;
    return next?.classList.contains("why") ? next.textContent : null;
  });
  // A session that viewed /pricing twice may have raged on both views: clicks and sessions differ.
  const raging = all.filter((s) => s.pages.some((p) => p.path === "/pricing" && p.friction)).length;
  assert.match(why, new RegExp(`Rage clicks on buy · ${hits("/pricing")} in ${raging} sessions`));
  await page.getByRole("heading", { name: "Friction" }).waitFor();
  assert.equal(await kpi(page, "Rage clicks").textContent(), String(all.reduce((n, s) => n + s.pages.filter((p) => p.friction?.kind === "rage").length, 0)));
  assert.deepEqual(await axe(page), []);
  await page.screenshot({ path: join(SHOTS, "friction.png"), fullPage: true });
  // A figure lists the sessions behind it: every session of the range that met a rage click.
  await page.locator(".kpi[data-friction=rage]").click();
  await page.waitForURL(/view=sessions/);
  assert.match(page.url(), /friction=rage/);
  await page.locator("#chips").getByText("Met rage clicks").waitFor();
  const raged = all.filter((s) => s.pages.some((p) => p.friction?.kind === "rage"));
  assert.ok(raged.length > 0 && raged.length < 50, `${raged.length} sessions with a rage click fit one page`);
  await page.locator("#sessions-status").filter({ hasText: `${raged.length} session` }).waitFor();
  const listedRage = await page.locator("#session-body tr").evaluateAll((rows) => rows.map((r) => [r.dataset.sid, r.lastElementChild.textContent]));
  assert.deepEqual(listedRage.map(([sid]) => sid).sort(), raged.map((s) => s.sid).sort());
  assert.ok(listedRage.every(([, text]) => /rage click/.test(text)), "each listed session says it met a rage click");
  await page.goBack();
  await page.locator("#friction-table tbody tr").first().waitFor();
  // Ranked by LCP: /docs/api is the slow page.
  await page.getByLabel("Rank pages by").selectOption("lcp");
  await page.waitForURL(/fsort=lcp/);
  await page.waitForFunction(() => document.querySelector("#friction-table tbody th")?.textContent === "/docs/api");
  // The details of any report carry the friction of its rows: errors by browser.
  const details = await open("?view=details&report=browser&range=30d");
  await details.locator("#details-table tbody tr").first().waitFor();
  const byBrowser = await details.locator("#details-table").evaluate((t) => {
    const heads = [...t.querySelectorAll("thead th")].map((c) => c.textContent);
    const at = heads.indexOf("Errors");
    return [...t.querySelectorAll("tbody tr")].map((r) => [r.children[0].textContent, r.children[at]?.textContent]);
  });
  for (const [browser, errors] of byBrowser) {
    const mine = all.filter((s) => s.browser.browser === browser);
    assert.equal(errors, String(mine.reduce((n, s) => n + s.pages.filter((p) => p.friction?.kind === "error").length, 0)), browser);
  }
  // A session that met the error shows it in place in its timeline.
  const failed = all.find((s) => s.pages.some((p) => p.friction?.kind === "error"));
  const timeline = await open(`?open=${failed.sid}`);
  const line = timeline.locator(".events li[data-type=error]").first();
  assert.match(await line.textContent(), /error TypeError at \/assets\/app\.js:212/);
  assert.match(await timeline.locator("#timeline-facts").textContent(), /1 error/);
});
