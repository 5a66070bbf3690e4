// The collector in workerd (wrangler dev) with real SQLite Durable Objects: ingest answers,
// deduplication, and the read API's listing and auth.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startCollector, TOKEN } from "./support/collector.mjs";
import { batch, newSid, pageview, send } from "./support/beacon.mjs";

let collector;
before(async () => { collector = await startCollector(); });
after(async () => { await collector?.stop(); });

async function listed(sid) {
  const r = await collector.read("/api/sessions?site=demo&limit=200");
  assert.equal(r.status, 200);
  return r.body.sessions.find((s) => s.id === sid);
}

describe("POST /collect", () => {
  test("accepts a valid batch with 202 and lists the session", async () => {
    const sid = newSid();
    const r = await send(collector, batch({ sid, events: [pageview({ url: "https://demo.local/pricing?utm_source=hn&email=a%40b.c#top" })] }));
    assert.equal(r.status, 202);
    assert.deepEqual(r.body, { ok: true });
    const s = await listed(sid);
    assert.equal(s.pageviews, 1);
    assert.equal(s.entry_page, "/pricing", "pages are grouped by path");
    assert.equal(s.utm.source, "hn");
  });

  test("a retried batch (same sid and seq) counts once", async () => {
    const sid = newSid();
    const b = batch({ sid, events: [pageview({ page: 0 })] });
    for (let i = 0; i < 3; i++) assert.equal((await send(collector, b)).status, 202);
    const second = batch({ sid, seq: 1, events: [pageview({ page: 1, url: "https://demo.local/docs" })] });
    assert.equal((await send(collector, second)).status, 202);
    const s = await listed(sid);
    assert.equal(s.pageviews, 2);
    assert.equal(s.exit_page, "/docs");
  });

  test("a client clock off by more than a day is replaced by the receive time", async () => {
    const before = Date.now();
    const sid = newSid();
    const yearAgo = before - 365 * 24 * 3_600_000;
    assert.equal((await send(collector, batch({ sid, events: [pageview({ ts: yearAgo })] }))).status, 202);
    const s = await listed(sid);
    assert.ok(s.started_at >= before - 5_000 && s.started_at <= Date.now() + 5_000, `started_at ${s.started_at}`);
  });

  test("malformed bodies get 400 naming the field", async () => {
    const cases = [
      ["{not json", "body"],
      [JSON.stringify({ ...batch(), v: 2 }), "v"],
      [JSON.stringify({ ...batch(), sid: "nope" }), "sid"],
      [JSON.stringify(batch({ events: [] })), "events"],
      [JSON.stringify(batch({ events: [pageview({ ts: "yesterday" })] })), "events[0].ts"],
      [JSON.stringify(batch({ events: [pageview({ url: "javascript:alert(1)" })] })), "events[0].url"],
    ];
    for (const [body, field] of cases) {
      const r = await send(collector, body);
      assert.equal(r.status, 400, `${body} → ${r.status} ${r.text}`);
      assert.ok(r.body.error.startsWith(`${field}:`), `expected the error to name ${field}: ${r.body.error}`);
    }
  });

  test("an unknown site or a foreign Origin gets 403", async () => {
    let r = await send(collector, batch({ site: "unknown.example" }));
    assert.equal(r.status, 403);
    assert.match(r.body.error, /^site:/);
    r = await send(collector, batch(), { origin: "https://evil.example" });
    assert.equal(r.status, 403);
    assert.match(r.body.error, /^origin:/);
  });

  test("a body over 32 KiB gets 413", async () => {
    const big = batch({ events: [pageview({ title: "x".repeat(200) })] });
    const padded = JSON.stringify(big).replace("{", `{"pad":"${"p".repeat(33 * 1024)}",`);
    const r = await send(collector, padded);
    assert.equal(r.status, 413);
  });

  test("other content types get 415 and other methods 405", async () => {
    assert.equal((await send(collector, batch(), { contentType: "application/x-www-form-urlencoded" })).status, 415);
    const r = await collector.fetch("/collect", { method: "GET" });
    assert.equal(r.status, 405);
  });
});

describe("enrichment at the edge", () => {
  const ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36";

  test("device, OS, browser and channel come from the User-Agent and referrer", async () => {
    const sid = newSid();
    const r = await send(collector, batch({ sid, events: [pageview({ ref: "https://www.google.com/search?q=stint" })] }), { headers: { "user-agent": ANDROID } });
    assert.equal(r.status, 202);
    const s = await listed(sid);
    assert.deepEqual(
      [s.device, s.os, s.os_version, s.browser, s.browser_version, s.bot, s.channel, s.referrer_host],
      ["mobile", "Android", "14", "Chrome", "126", null, "search", "www.google.com"],
    );
  });

  // Real User-Agents from the public lists the corpus test measures (npm crawler-user-agents
  // and user-agents), sent as a site would receive them.
  test("crawlers from the maintained list are bots with a category and a name; real browsers are not", async () => {
    const cases = [
      ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "search_engine", "Googlebot"],
      ["Mediapartners-Google", "advertising", "Mediapartners-Google"],
      ["Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.1; +https://openai.com/gptbot", "ai_crawler", "GPTBot"],
      ["python-httpx/0.27.0", "http_library", "httpx"],
      ["Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "seo_tool", "AhrefsBot"],
      ["facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "link_preview", "facebookexternalhit"],
      ["Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", null, null],
      ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/321.0.654321 Mobile/15E148 Safari/604.1", null, null],
    ];
    const sids = [];
    for (const [ua] of cases) {
      const sid = newSid();
      sids.push(sid);
      assert.equal((await send(collector, batch({ sid }), { headers: { "user-agent": ua } })).status, 202);
    }
    const all = await collector.read("/api/sessions?site=demo&limit=200&bots=include");
    const got = sids.map((sid) => {
      const s = all.body.sessions.find((x) => x.id === sid);
      return [s.bot, s.bot_name];
    });
    assert.deepEqual(got, cases.map(([, bot, name]) => [bot, name]));
    const gsa = all.body.sessions.find((x) => x.id === sids.at(-1));
    assert.deepEqual([gsa.browser, gsa.device], ["Google app", "mobile"], "the Google app is named, not its engine");
  });

  test("referrers and campaigns are read as browsers read URLs", async () => {
    const evil = newSid();
    await send(collector, batch({ sid: evil, events: [pageview({ ref: "https://evil.example\\@good.example/" })] }));
    const gmail = newSid();
    await send(collector, batch({ sid: gmail, events: [pageview({ ref: "android-app://com.google.android.gm/" })] }));
    const sale = newSid();
    await send(collector, batch({ sid: sale, events: [pageview({ url: "https://demo.local/?utm_source=news&utm_campaign=spring%20sale&utm_medium=e-mail" })] }));
    const [e, g, c] = [await listed(evil), await listed(gmail), await listed(sale)];
    assert.deepEqual([e.referrer_host, e.channel], ["evil.example", "referral"]);
    assert.deepEqual([g.referrer_host, g.channel], ["com.google.android.gm", "email"]);
    assert.deepEqual([c.utm.campaign, c.channel, c.entry_page], ["spring sale", "email", "/"]);
  });

  test("bots are marked with their reason and left out of the list unless asked for", async () => {
    const curl = newSid();
    assert.equal((await send(collector, batch({ sid: curl }), { headers: { "user-agent": "curl/8.5.0" } })).status, 202);
    const driven = newSid();
    assert.equal((await send(collector, { ...batch({ sid: driven }), wd: true }, { headers: { "user-agent": ANDROID } })).status, 202);
    const humans = await collector.read("/api/sessions?site=demo&limit=200");
    assert.ok(!humans.body.sessions.some((s) => s.id === curl || s.id === driven));
    const all = await collector.read("/api/sessions?site=demo&limit=200&bots=include");
    const bot = (id) => all.body.sessions.find((s) => s.id === id)?.bot;
    assert.equal(bot(curl), "http_library");
    assert.equal(bot(driven), "webdriver");
  });
});

describe("GET /api/sessions", () => {
  test("is refused without the token or with a wrong one", async () => {
    assert.equal((await collector.read("/api/sessions?site=demo", null)).status, 401);
    assert.equal((await collector.read("/api/sessions?site=demo", "wrong")).status, 401);
    assert.equal((await collector.read("/api/sessions?site=demo", TOKEN.slice(0, -1))).status, 401);
  });

  test("lists newest first and pages with the cursor", async () => {
    const t0 = Date.now() - 60_000;
    const sids = [];
    for (let i = 0; i < 5; i++) {
      const sid = newSid();
      sids.push(sid);
      const r = await send(collector, batch({ sid, site: "demo", events: [pageview({ ts: t0 + i * 1000, url: `https://demo.local/p${i}` })] }));
      assert.equal(r.status, 202);
    }
    const from = t0 - 1;
    const to = t0 + 5_000;
    const first = await collector.read(`/api/sessions?site=demo&from=${from}&to=${to}&limit=3`);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.sessions.map((s) => s.entry_page), ["/p4", "/p3", "/p2"]);
    assert.ok(first.body.next_cursor);
    const second = await collector.read(`/api/sessions?site=demo&from=${from}&to=${to}&limit=3&cursor=${encodeURIComponent(first.body.next_cursor)}`);
    assert.deepEqual(second.body.sessions.map((s) => s.entry_page), ["/p1", "/p0"]);
    assert.equal(second.body.next_cursor, null);
  });

  test("the listing walks back across days and shards with its cursor", async () => {
    const hour = 3_600_000;
    // Sessions yesterday and today, in a window no other test uses.
    const base = Date.now() - 23 * hour;
    const ids = [];
    for (let i = 0; i < 8; i++) {
      const sid = newSid();
      ids.push(sid);
      const r = await send(collector, batch({ sid, events: [pageview({ ts: base + i * 2 * hour + 7, url: `https://demo.local/day${i}` })] }));
      assert.equal(r.status, 202);
    }
    const from = base;
    const to = base + 15 * hour;
    let cursor = null;
    const seen = [];
    do {
      const q = `/api/sessions?site=demo&from=${from}&to=${to}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const r = await collector.read(q);
      assert.equal(r.status, 200);
      seen.push(...r.body.sessions.map((s) => s.entry_page));
      cursor = r.body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [7, 6, 5, 4, 3, 2, 1, 0].map((i) => `/day${i}`));
  });

  test("bad parameters get 400 naming the parameter", async () => {
    const r = await collector.read("/api/sessions?site=demo&limit=0");
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^limit:/);
    assert.match((await collector.read("/api/sessions")).body.error, /^site:/);
  });
});

describe("abuse limits", () => {
  test("a flood for one session gets 429 past the burst, loses nothing it accepted, and does not block others", async () => {
    const sid = newSid();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, seq) =>
      send(collector, batch({ sid, seq, events: [pageview({ page: seq, url: `https://demo.local/f${seq}` })] }))));
    const accepted = answers.filter((a) => a.status === 202).length;
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(accepted >= 20 && accepted < 40, `${accepted} accepted`);
    assert.equal(accepted + limited.length, 40, "every answer is 202 or 429");
    assert.match(limited[0].body.error, /^rate:/);
    const other = await send(collector, batch());
    assert.equal(other.status, 202, "another session is not affected");
    const t = await collector.read(`/api/sessions/${sid}?site=demo`);
    assert.equal(t.body.session.pageviews, accepted, "each accepted batch is stored");
  });

  test("page indexes past 499 are refused at the bound, 499 accepted", async () => {
    const sid = newSid();
    assert.equal((await send(collector, batch({ sid, events: [pageview({ page: 499 })] }))).status, 202);
    const r = await send(collector, batch({ sid, seq: 1, events: [pageview({ page: 500 })] }));
    assert.equal(r.status, 400);
    assert.match(r.body.error, /^events\[0\]\.page:/);
  });
});

describe("GET /api/stats", () => {
  test("totals, median engaged time, bounce rate, tops and sessions per hour over a range", async () => {
    // A window of its own, about 6 hours ago (within the day the collector trusts client clocks;
    // the cross-day listing test uses 23 to 9 hours ago).
    const hour = 3_600_000;
    const t0 = Math.floor((Date.now() - 6 * hour) / hour) * hour;
    const sessions = [
      { at: t0 + 60_000, active: 2000, pages: 1, ref: "https://www.google.com/", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36" },
      { at: t0 + 120_000, active: 8000, pages: 3, ref: null, ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1" },
      { at: t0 + hour + 5_000, active: 4000, pages: 1, ref: "https://news.ycombinator.com/", ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36" },
    ];
    for (const s of sessions) {
      const events = [];
      for (let p = 0; p < s.pages; p++) events.push(pageview({ page: p, ts: s.at + p * 1000, url: `https://demo.local/${p === 0 ? "landing" : `p${p}`}`, ...(p === 0 && s.ref ? { ref: s.ref } : {}) }));
      events.push({ type: "engage", ts: s.at + 500, page: 0, active_ms: s.active, scroll: 50 });
      assert.equal((await send(collector, batch({ events }), { headers: { "user-agent": s.ua } })).status, 202);
    }
    // A bot in the window, left out unless asked for.
    assert.equal((await send(collector, batch({ events: [pageview({ ts: t0 + 30_000 })] }), { headers: { "user-agent": "curl/8" } })).status, 202);
    const r = await collector.read(`/api/stats?site=demo&from=${t0}&to=${t0 + 2 * hour}`);
    assert.equal(r.status, 200);
    const st = r.body;
    assert.deepEqual([st.sessions, st.pageviews, st.median_active_ms, st.mean_active_ms], [3, 5, 4000, 4666]);
    assert.ok(Math.abs(st.bounce_rate - 2 / 3) < 1e-9);
    assert.deepEqual(st.top_pages, [{ value: "/landing", sessions: 3 }]);
    assert.deepEqual(st.channels.map((c) => [c.value, c.sessions]), [["direct", 1], ["search", 1], ["social", 1]]);
    assert.deepEqual(st.devices.map((c) => [c.value, c.sessions]), [["desktop", 2], ["mobile", 1]]);
    assert.deepEqual(st.sessions_per_hour, [{ hour: t0, sessions: 2 }, { hour: t0 + hour, sessions: 1 }]);
    const range = `site=demo&from=${t0}&to=${t0 + 2 * hour}`;
    const mobile = await collector.read(`/api/sessions?${range}&device=mobile`);
    assert.deepEqual(mobile.body.sessions.map((x) => [x.os, x.os_version]), [["iOS", "17"]]);
    const search = await collector.read(`/api/stats?${range}&channel=search`);
    assert.deepEqual([search.body.sessions, search.body.pageviews], [1, 1]);
    assert.equal((await collector.read(`/api/sessions?${range}&country=US&device=desktop`)).body.sessions.length, 2);
    assert.equal((await collector.read(`/api/sessions?${range}&country=DE`)).body.sessions.length, 0);
    assert.match((await collector.read(`/api/stats?${range}&channel=tv`)).body.error, /^channel:/);
    const withBots = await collector.read(`/api/stats?site=demo&from=${t0}&to=${t0 + 2 * hour}&bots=include`);
    assert.equal(withBots.body.sessions, 4);
    assert.equal((await collector.read(`/api/stats?site=demo&from=${t0}&to=${t0 + 2 * hour}`, null)).status, 401);
  });
});

describe("GET and DELETE /api/sessions/<sid>", () => {
  test("the timeline lists pages and events in order; unknown is 404, bad id 400", async () => {
    const sid = newSid();
    const t0 = Date.now() - 10_000;
    await send(collector, batch({ sid, seq: 1, events: [pageview({ page: 1, ts: t0 + 5000, url: "https://demo.local/b" })] }));
    await send(collector, batch({ sid, seq: 0, events: [pageview({ page: 0, ts: t0, url: "https://demo.local/a" }), { type: "engage", ts: t0 + 4000, page: 0, active_ms: 3000, scroll: 70 }] }));
    const r = await collector.read(`/api/sessions/${sid}?site=demo`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.pages.map((p) => [p.index, p.url, p.active_ms, p.max_scroll]), [[0, "https://demo.local/a", 3000, 70], [1, "https://demo.local/b", 0, 0]]);
    assert.deepEqual(r.body.events.map((e) => e.type), ["pageview", "engage", "pageview"]);
    assert.equal((await collector.read(`/api/sessions/${newSid()}?site=demo`)).status, 404);
    assert.equal((await collector.read(`/api/sessions/not-a-uuid?site=demo`)).status, 400);
    assert.equal((await collector.read(`/api/sessions/${sid}?site=demo`, null)).status, 401);
  });

  test("DELETE erases the session from its object and the list", async () => {
    const sid = newSid();
    assert.equal((await send(collector, batch({ sid }))).status, 202);
    assert.ok(await listed(sid));
    const del = (token = TOKEN) => collector.fetch(`/api/sessions/${sid}?site=demo`, { method: "DELETE", headers: token ? { authorization: `Bearer ${token}` } : {} });
    assert.equal((await del(null)).status, 401);
    assert.equal((await del()).status, 204);
    assert.equal(await listed(sid), undefined);
    assert.equal((await collector.read(`/api/sessions/${sid}?site=demo`)).status, 404);
    assert.equal((await del()).status, 404);
  });
});

describe("hostile requests", () => {
  // Each is answered 4xx with a message, never 5xx: a crash here would restart the worker
  // for everyone (an i64::MIN cursor once did).
  const auth = { authorization: `Bearer ${TOKEN}` };
  const body = (extra) => JSON.stringify({ ...batch(), ...extra });
  const cases = [
    ["POST", "/collect", Buffer.from([0xff, 0xfe, 0x7b, 0x22]), {}, 400],
    ["POST", "/collect", "[".repeat(5000) + "]".repeat(5000), {}, 400],
    ["POST", "/collect", "{".repeat(200), {}, 400],
    ["POST", "/collect", body({ seq: 1e30 }), {}, 400],
    ["POST", "/collect", body({ seq: 1.5 }), {}, 400],
    ["POST", "/collect", body({ events: [pageview({ ts: -1 })] }), {}, 400],
    ["POST", "/collect", body({ events: [pageview({ page: 2 ** 40 })] }), {}, 400],
    ["POST", "/collect", body({ events: [pageview({ url: "https://a/\u0000\ud800" })] }), {}, 400],
    ["POST", "/collect", body({ events: [{ type: "engage", ts: 1, page: 0, active_ms: Number.MAX_SAFE_INTEGER, scroll: 1 }] }), {}, 400],
    ["POST", "/collect", body({ events: [{ type: "custom", ts: 1, page: 0, name: "x".repeat(10_000) }] }), {}, 400],
    ["POST", "/collect", body(), { "content-type": "multipart/form-data" }, 415],
    ["PUT", "/collect", body(), {}, 405],
    ["DELETE", "/api/sessions", undefined, auth, 404],
    ["GET", "/api/sessions/%00?site=demo", undefined, auth, 400],
    ["GET", "/api/sessions?site=demo&from=-99999999999999999999", undefined, auth, 400],
    ["GET", "/api/sessions?site=demo&from=0&to=9223372036854775807", undefined, auth, 400],
    ["GET", "/api/sessions?site=demo&from=-9223372036854775808&to=-9223372036854775000", undefined, auth, 400],
    ["GET", "/api/sessions?site=demo&cursor=-9223372036854775808.0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e", undefined, auth, 400],
    ["GET", "/api/sessions?site=demo&cursor=9223372036854775807.0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e", undefined, auth, 400],
    ["GET", "/api/stats?site=demo&from=-1", undefined, auth, 400],
    ["GET", `/api/sessions?site=${"a".repeat(70)}`, undefined, auth, 400],
    ["GET", "/api/sessions?site=demo", undefined, { authorization: `Bearer ${"x".repeat(10_000)}` }, 401],
    ["POST", "/api/sessions", "", {}, 404],
  ];
  test(`${cases.length} malformed, oversized and out-of-range requests get their 4xx`, async () => {
    for (const [method, path, payload, headers, expected] of cases) {
      const r = await collector.fetch(path, { method, headers: { "content-type": "text/plain", origin: collector.origin, ...headers }, body: payload });
      const text = await r.text();
      assert.equal(r.status, expected, `${method} ${path.slice(0, 80)} → ${r.status} ${text.slice(0, 120)}`);
      assert.match(JSON.parse(text).error, /\w+/, "a message says what was wrong");
    }
    // The worker still serves honest traffic afterwards.
    assert.equal((await send(collector, batch())).status, 202);
  });
});

describe("with READ_TOKEN unset", () => {
  let bare;
  before(async () => { bare = await startCollector({ token: null }); });
  after(async () => { await bare?.stop(); });

  test("every read is refused, even with an empty bearer", async () => {
    assert.equal((await bare.read("/api/sessions?site=demo", null)).status, 401);
    assert.equal((await bare.read("/api/sessions?site=demo", TOKEN)).status, 401);
    const r = await fetch(`${bare.origin}/api/sessions?site=demo`, { headers: { authorization: "Bearer " } });
    assert.equal(r.status, 401);
  });
});
