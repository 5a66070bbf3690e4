// Funnels, paths, link maps and goals on 100 scripted sessions whose answers are known by
// construction (plus a bot that converts, which no figure counts): the collector in workerd
// with real SQLite Durable Objects, every session through POST /collect.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { batch, send } from "./support/beacon.mjs";
import { eventually, startCollector, TOKEN } from "./support/collector.mjs";
import { BROWSERS, rng } from "./support/dataset.mjs";
import { seededUuid } from "../xtask/bench/load.mjs";

let collector;
const now = Date.now();
const MIN = 60_000;
const CHROME = BROWSERS[0].ua;
const BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

const r = rng(15);
const uuid = () => seededUuid(r);

/**
 * The scripted groups. Each page: [path, engaged ms, minutes after the session's start];
 * clicks: [page index, href, times]; events: [page index, name, props].
 */
const GROUPS = {
  // Convert: / → /pricing → /signup → signup. Half come from search.
  converted: { n: 30, pages: [["/", 3_000, 0], ["/pricing", 8_000, 1], ["/signup", 5_000, 2]], events: [[2, "signup", { plan: "pro" }]], clicks: [[1, "https://demo.local/signup", 1]] },
  // Convert too, but reach /signup 20 minutes after /pricing (outside a 10-minute window).
  slow: { n: 10, pages: [["/", 3_000, 0], ["/pricing", 8_000, 1], ["/signup", 5_000, 21]], events: [[2, "signup", { plan: "free" }]], clicks: [[1, "https://demo.local/signup", 1]] },
  // Leave /pricing for the docs.
  docs: { n: 20, pages: [["/", 2_000, 0], ["/pricing", 4_000, 1], ["/docs", 30_000, 2]], clicks: [[1, "https://demo.local/docs", 1]] },
  // Leave the site from /pricing; five of them click out to GitHub twice first.
  left: { n: 15, pages: [["/", 2_000, 0], ["/pricing", 6_000, 1]], clicks: [] },
  // Enter on /pricing, view /signup, never sign up.
  noEvent: { n: 10, pages: [["/pricing", 2_000, 0], ["/signup", 9_000, 1]], clicks: [] },
  // Never reach /pricing.
  blog: { n: 10, pages: [["/", 1_000, 0], ["/blog", 20_000, 1]], clicks: [] },
  // The steps backwards: /signup first, then /pricing.
  backwards: { n: 5, pages: [["/signup", 3_000, 0], ["/pricing", 3_000, 1]], clicks: [] },
};

const sessions = [];
let k = 0;
for (const [group, g] of Object.entries(GROUPS)) {
  for (let i = 0; i < g.n; i++, k++) {
    const clicks = [...g.clicks];
    if (group === "left" && i < 5) clicks.push([1, "https://github.com/stint-demo/stint", 2]);
    sessions.push({
      sid: uuid(), group,
      // One a minute, the newest last; all within today's last two hours or so.
      startedAt: now - 150 * MIN + k * MIN,
      pages: g.pages, events: g.events ?? [], clicks,
      ref: group === "converted" && i % 2 === 0 ? "https://www.google.com/" : null,
    });
  }
}
const bot = { sid: uuid(), group: "bot", startedAt: now - 30 * MIN, ...GROUPS.converted, ref: null, ua: BOT };

function beaconOf(s) {
  const events = [];
  s.pages.forEach(([path, engaged, minutes], i) => {
    const ts = s.startedAt + minutes * MIN;
    events.push({ type: "pageview", ts, page: i, url: `https://demo.local${path}`, title: path, w: 1536, ...(i === 0 && s.ref ? { ref: s.ref } : {}) });
    events.push({ type: "engage", ts: ts + engaged, page: i, active_ms: engaged, scroll: 50 });
  });
  for (const [page, name, props] of s.events) {
    events.push({ type: "custom", ts: s.startedAt + s.pages[page][2] * MIN + 4_000, page, name, props });
  }
  for (const [page, href, times] of s.clicks) {
    for (let t = 0; t < times; t++) {
      events.push({ type: "click", ts: s.startedAt + s.pages[page][2] * MIN + 1_000 + t, page, href, outbound: !href.startsWith("https://demo.local") });
    }
  }
  events.sort((a, b) => a.ts - b.ts);
  return batch({ sid: s.sid, events });
}

async function get(path) {
  const res = await collector.fetch(path, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}
const range = { from: String(now - 4 * 60 * MIN), to: String(now + 1) };
const q = (path, params) => `${path}?${new URLSearchParams([["site", "demo"], ...Object.entries(range), ...(Array.isArray(params) ? params : Object.entries(params))])}`;
const funnel = (steps, extra = []) => get(q("/api/funnel", [...steps.map((s) => ["step", s]), ...extra]));
const of = (...groups) => sessions.filter((s) => groups.includes(s.group));

before(async () => {
  collector = await startCollector();
  for (const s of [...sessions, bot]) {
    const res = await send(collector, beaconOf(s), { headers: { "user-agent": s.ua ?? CHROME } });
    assert.equal(res.status, 202, res.text);
  }
  await eventually(async () => (await get(q("/api/stats", {}))).body.sessions === sessions.length, { what: "the sessions indexed" });
});
after(async () => { await collector?.stop(); });

const STEPS = ["/pricing", "/signup", "event:signup"];

describe("funnels", () => {
  test("ordered: so many reach each step, so many drop where, and where they went", async () => {
    const { status, body } = await funnel(STEPS);
    assert.equal(status, 200);
    assert.equal(body.sessions, 100, "the bot is not counted");
    const [pricing, signup, event] = body.steps;
    assert.deepEqual(body.steps.map((s) => s.sessions), [90, 50, 40]);
    assert.equal(pricing.conversion, 1);
    assert.equal(signup.conversion, 50 / 90);
    assert.equal(event.step_conversion, 40 / 50);
    assert.equal(signup.dropped, 40);
    assert.deepEqual(signup.went_instead, [{ page: "/docs", sessions: 20 }]);
    assert.equal(signup.left, 20, "15 left from /pricing, 5 had seen /signup before it");
    assert.equal(event.dropped, 10);
    assert.equal(event.left, 10);
    // Engaged time: 8 s on /pricing for 40 of 50, 2 s for the other 10; the event comes on
    // /signup after 5 s there.
    assert.equal(signup.median_engaged_ms, 8_000);
    assert.equal(event.median_engaged_ms, 5_000);
    assert.equal(pricing.median_engaged_ms, null);
    // The dropped sessions named are the newest of those that dropped there.
    const newest = of("noEvent").sort((a, b) => b.startedAt - a.startedAt).slice(0, 5).map((s) => s.sid);
    assert.deepEqual(event.dropped_sessions, newest);
    const timeline = await get(`/api/sessions/${event.dropped_sessions[0]}?site=demo`);
    assert.equal(timeline.status, 200);
    assert.deepEqual(timeline.body.pages.map((p) => new URL(p.url).pathname), ["/pricing", "/signup"]);
  });

  test("strict, any and a window count what they say", async () => {
    const strict = (await funnel(["/", "/pricing", "/signup"], [["mode", "strict"]])).body;
    assert.deepEqual(strict.steps.map((s) => s.sessions), [85, 75, 40]);
    const any = (await funnel(STEPS, [["mode", "any"]])).body;
    assert.deepEqual(any.steps.map((s) => s.sessions), [90, 55, 40], "the 5 backwards count at step 2");
    const windowed = (await funnel(STEPS, [["window", "10"]])).body;
    assert.deepEqual(windowed.steps.map((s) => s.sessions), [90, 40, 30], "/signup 20 minutes on is outside");
    const pro = (await funnel(["/pricing", "event:signup:plan=pro"])).body;
    assert.deepEqual(pro.steps.map((s) => s.sessions), [90, 30]);
    const filtered = (await funnel(STEPS, [["referrer", "www.google.com"]])).body;
    assert.deepEqual(filtered.steps.map((s) => s.sessions), [15, 15, 15]);
    const bots = (await funnel(STEPS, [["bots", "include"]])).body;
    assert.deepEqual(bots.steps.map((s) => s.sessions), [91, 51, 41]);
  });

  test("bad funnels are refused naming the parameter", async () => {
    for (const [params, field] of [
      [[["step", "/pricing"]], /^step: a funnel has 2 to 10 steps/],
      [[["step", "/pricing"], ["step", "signup"]], /^step 2:/],
      [[["step", "/a"], ["step", "/b"], ["mode", "loose"]], /^mode:/],
      [[["step", "/a"], ["step", "/b"], ["window", "-1"]], /^window:/],
      [[["step", "/a"], ["step", "/b"], ["compare", "lastyear"]], /^compare:/],
    ]) {
      const { status, body } = await get(q("/api/funnel", params));
      assert.equal(status, 400, JSON.stringify(params));
      assert.match(body.error, field);
    }
  });
});

describe("paths", () => {
  test("forward from /pricing: next pages and the sessions that went no further", async () => {
    const { status, body } = await get(q("/api/paths", { start: "/pricing", depth: "3" }));
    assert.equal(status, 200);
    assert.equal(body.sessions, 90);
    assert.deepEqual(body.steps[0].pages, [{ page: "/signup", sessions: 50 }, { page: "/docs", sessions: 20 }]);
    assert.equal(body.steps[0].no_further, 20);
    assert.equal(body.steps[1].no_further, 70);
    assert.deepEqual(body.steps[1].pages, []);
    assert.equal(body.steps.length, 3);
  });

  test("backward to /signup, and via narrows later steps", async () => {
    const back = (await get(q("/api/paths", { end: "/signup", depth: "2" }))).body;
    assert.equal(back.direction, "backward");
    assert.deepEqual(back.steps[0].pages, [{ page: "/pricing", sessions: 50 }]);
    assert.equal(back.steps[0].no_further, 5, "five came in on /signup");
    assert.deepEqual(back.steps[1].pages, [{ page: "/", sessions: 40 }]);
    assert.equal(back.steps[1].no_further, 10);
    const via = (await get(q("/api/paths", [["start", "/"], ["via", "/pricing"], ["depth", "3"]]))).body;
    assert.equal(via.sessions, 85);
    assert.deepEqual(via.steps[0].pages, [{ page: "/pricing", sessions: 75 }, { page: "/blog", sessions: 10 }]);
    assert.equal(via.steps[1].sessions, 75);
    assert.deepEqual(via.steps[1].pages, [{ page: "/signup", sessions: 40 }, { page: "/docs", sessions: 20 }]);
    assert.equal(via.steps[1].no_further, 15);
    const bad = await get(q("/api/paths", { depth: "3" }));
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^start: missing/);
  });
});

describe("link maps", () => {
  test("every link clicked on /pricing with clicks, sessions, share and kind", async () => {
    const { status, body } = await get(q("/api/links", { page: "/pricing" }));
    assert.equal(status, 200);
    assert.equal(body.sessions, 90);
    assert.equal(body.clicks, 70);
    assert.equal(body.clicking_sessions, 65);
    assert.deepEqual(body.links.map((l) => [l.href, l.clicks, l.sessions, l.outbound]), [
      ["https://demo.local/signup", 40, 40, false],
      ["https://demo.local/docs", 20, 20, false],
      ["https://github.com/stint-demo/stint", 10, 5, true],
    ]);
    assert.equal(body.links[0].share, 40 / 70);
    const none = (await get(q("/api/links", { page: "/blog" }))).body;
    assert.equal(none.sessions, 10);
    assert.deepEqual(none.links, []);
    const bad = await get(q("/api/links", {}));
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^page: missing/);
  });
});

describe("goals and privacy", () => {
  test("a goal gives conversions per breakdown row", async () => {
    const { body } = await get(q("/api/breakdown", { by: "referrer", goal: "event:signup" }));
    const google = body.rows.find((row) => row.value === "www.google.com");
    assert.equal(google.sessions, 15);
    assert.equal(google.conversions, 15);
    assert.equal(google.conversion_rate, 1);
    assert.equal(body.conversions, 40);
    const entry = (await get(q("/api/breakdown", { by: "entry", goal: "/signup" }))).body.rows;
    assert.deepEqual(entry.map((row) => [row.value, row.sessions, row.conversions]), [
      ["/", 85, 40], ["/pricing", 10, 10], ["/signup", 5, 5],
    ]);
  });

  test("min_sessions folds rows, paths and links under it into other", async () => {
    const put = await collector.fetch("/api/settings?site=demo", { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ segments: [], min_sessions: 6 }) });
    assert.equal(put.status, 200);
    try {
      const links = (await get(q("/api/links", { page: "/pricing" }))).body;
      assert.deepEqual(links.links.map((l) => l.href), ["https://demo.local/signup", "https://demo.local/docs"]);
      assert.equal(links.other_clicks, 10);
      const entry = (await get(q("/api/breakdown", { by: "entry" }))).body.rows;
      assert.deepEqual(entry.map((row) => [row.value, row.sessions, row.other ?? false]), [
        ["/", 85, false], ["/pricing", 10, false], ["(other)", 5, true],
      ]);
      const back = (await get(q("/api/paths", { end: "/signup", depth: "1" }))).body;
      assert.deepEqual(back.steps[0].pages, [{ page: "/pricing", sessions: 50 }]);
    } finally {
      await collector.fetch("/api/settings?site=demo", { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ segments: [], min_sessions: 1 }) });
    }
  });

  test("an erased session leaves every funnel, path, link map and goal figure", async () => {
    const gone = of("converted")[0];
    const res = await collector.fetch(`/api/sessions/${gone.sid}?site=demo`, { method: "DELETE", headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 204);
    assert.deepEqual((await funnel(STEPS)).body.steps.map((s) => s.sessions), [89, 49, 39]);
    const paths = (await get(q("/api/paths", { start: "/pricing", depth: "1" }))).body;
    assert.deepEqual(paths.steps[0].pages[0], { page: "/signup", sessions: 49 });
    const links = (await get(q("/api/links", { page: "/pricing" }))).body;
    assert.equal(links.links[0].clicks, 39);
    const goal = (await get(q("/api/breakdown", { by: "referrer", goal: "event:signup" }))).body;
    assert.equal(goal.conversions, 39);
    assert.equal(goal.rows.find((row) => row.value === "www.google.com").conversions, 14, "the first converted came from search");
  });
});
