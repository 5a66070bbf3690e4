// The read API for time, breakdowns, comparisons, live, export and settings, on a seeded data
// set of human sessions over five weeks whose answers are known (support/dataset.mjs): the
// collector in workerd with real SQLite Durable Objects, month rollups included.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { parse } from "yaml";
import { eventually, ROOT, startCollector, TOKEN } from "./support/collector.mjs";
import { bucket, countBy, DAY_MS, makeDataset, median, sendDataset, within } from "./support/dataset.mjs";

let collector;
let data;
const now = Date.now();
const today = Math.floor(now / DAY_MS) * DAY_MS;
const from35 = today - 34 * DAY_MS;

/** GET with the token: status, JSON body and the subrequests the read made. */
async function get(path) {
  const r = await collector.fetch(path, { headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body, text, subrequests: Number(r.headers.get("stint-subrequests")), headers: r.headers };
}

const q = (path, params) => `${path}?${new URLSearchParams(Array.isArray(params) ? [["site", "demo"], ...params] : { site: "demo", ...params })}`;

before(async () => {
  collector = await startCollector({ vars: { STINT_TEST_EDGE: "1" } });
  data = makeDataset({ now });
  await sendDataset(collector, data);
  // The month rollups copy every day that is over; until then reads ask the shards. Wait
  // until a read of the closed days is answered by the rollups alone.
  const closed = { from: String(from35), to: String(today - DAY_MS) };
  const months = new Set([...Array(34).keys()].map((d) => new Date(from35 + d * DAY_MS).toISOString().slice(0, 7))).size;
  await eventually(async () => (await get(q("/api/stats", closed))).subrequests === months, { ms: 60_000, what: "rollups to hold the closed days" });
});
after(async () => { await collector?.stop(); });

describe("totals and time", () => {
  test("stats over five weeks count every human session, exactly", async () => {
    const r = await get(q("/api/stats", { from: String(from35), to: String(now + 1) }));
    assert.equal(r.status, 200);
    const all = within(data, from35, now + 1);
    assert.equal(r.body.sessions, all.length);
    assert.equal(r.body.pageviews, all.reduce((n, s) => n + s.pageviews, 0));
    assert.equal(r.body.bounce_rate, all.filter((s) => s.bounce).length / all.length);
    assert.equal(r.body.median_active_ms, median(all.map((s) => bucket(s.activeMs))));
    assert.ok(r.subrequests <= 50, `${r.subrequests} subrequests`);
    assert.equal(r.body.incomplete, undefined);
  });

  test("a year-long read asks at most 50 objects, and 13 months answer it", async () => {
    const r = await get(q("/api/stats", { from: String(now - 366 * DAY_MS + 1), to: String(now + 1), compare: "year" }));
    assert.equal(r.status, 200);
    assert.equal(r.body.sessions, data.sessions.length);
    assert.ok(r.subrequests <= 50, `${r.subrequests} subrequests`);
    assert.ok(r.subrequests >= 13, "one per month at least");
    const long = await get(q("/api/stats", { from: String(now - 367 * DAY_MS), to: String(now) }));
    assert.equal(long.status, 400);
    assert.match(long.body.error, /^from: range longer than 366 days/);
  });

  test("a daily series has a point per day with that day's sessions", async () => {
    const r = await get(q("/api/timeseries", { from: String(from35), to: String(today + DAY_MS), interval: "day" }));
    assert.equal(r.status, 200);
    assert.equal(r.body.points.length, 35);
    for (const p of r.body.points) {
      const day = within(data, p.t, p.t + DAY_MS);
      assert.equal(p.sessions, day.length, new Date(p.t).toISOString());
      assert.equal(p.pageviews, day.reduce((n, s) => n + s.pageviews, 0));
      assert.equal(p.median_active_ms, median(day.map((s) => bucket(s.activeMs))));
    }
  });

  test("weekly and monthly points add up to the days in them; hours cover a day", async () => {
    const weeks = await get(q("/api/timeseries", { from: String(from35), to: String(now + 1), interval: "week" }));
    const months = await get(q("/api/timeseries", { from: String(from35), to: String(now + 1), interval: "month" }));
    for (const series of [weeks.body, months.body]) {
      assert.equal(series.points.reduce((n, p) => n + p.sessions, 0), within(data, from35, now + 1).length);
    }
    assert.equal(new Date(weeks.body.points[1].t).getUTCDay(), 1, "weeks start on Monday");
    const hours = await get(q("/api/timeseries", { from: String(today - DAY_MS), to: String(today), interval: "hour" }));
    assert.equal(hours.body.points.length, 24);
    for (const p of hours.body.points) assert.equal(p.sessions, within(data, p.t, p.t + 3_600_000).length);
    const bad = await get(q("/api/timeseries", { from: String(from35), to: String(now), interval: "hour" }));
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^interval: hour needs a range of 31 days or less/);
  });

  test("compare=previous sets the two weeks before beside the last two, weekday for weekday", async () => {
    const from = today - 13 * DAY_MS;
    const r = await get(q("/api/stats", { from: String(from), to: String(today + DAY_MS), compare: "previous" }));
    assert.equal(r.body.compare.from, from - 14 * DAY_MS);
    const previous = within(data, from - 14 * DAY_MS, from);
    const current = within(data, from, today + DAY_MS);
    assert.equal(r.body.previous.sessions, previous.length);
    assert.equal(r.body.change.sessions.previous, previous.length);
    const expected = current.length >= 30 && previous.length >= 30 ? (current.length - previous.length) / previous.length : null;
    assert.equal(r.body.change.sessions.change, expected);
    const series = await get(q("/api/timeseries", { from: String(from), to: String(today + DAY_MS), interval: "day", compare: "previous" }));
    assert.equal(series.body.compare.points.length, series.body.points.length);
    assert.equal(series.body.compare.points[0].sessions, within(data, from - 14 * DAY_MS, from - 13 * DAY_MS).length);
  });
});

describe("breakdowns, goals and filters", () => {
  const range = () => ({ from: String(from35), to: String(now + 1) });

  test("pages: views, sessions, engaged time and scroll per view, exit rate, conversions", async () => {
    const r = await get(q("/api/breakdown", { ...range(), by: "page", goal: "event:signup" }));
    assert.equal(r.status, 200);
    const all = within(data, from35, now + 1);
    const pricing = r.body.rows.find((row) => row.value === "/pricing");
    const views = all.flatMap((s) => s.pages.filter((p) => p.path === "/pricing"));
    const sessions = all.filter((s) => s.pages.some((p) => p.path === "/pricing"));
    assert.equal(pricing.views, views.length);
    assert.equal(pricing.pageviews, views.length);
    assert.equal(pricing.sessions, sessions.length);
    assert.equal(pricing.median_view_active_ms, median(views.map((p) => bucket(p.engagedMs))));
    assert.equal(pricing.median_scroll, median(views.map((p) => p.scroll)));
    assert.equal(pricing.exit_rate, sessions.filter((s) => s.exit === "/pricing").length / views.length);
    const converted = sessions.filter((s) => s.events.some((e) => e.name === "signup"));
    assert.equal(pricing.conversions, converted.length);
    assert.equal(pricing.conversion_rate, converted.length / sessions.length);
    assert.equal(r.body.conversions, all.filter((s) => s.events.some((e) => e.name === "signup")).length);
  });

  test("entry, exit, channel, country, device, browser, event and prop rows count sessions", async () => {
    const all = within(data, from35, now + 1);
    const cases = {
      entry: (s) => s.entry,
      exit: (s) => s.exit,
      channel: (s) => s.source.channel,
      referrer: (s) => s.source.referrer,
      utm_campaign: (s) => s.source.utm?.campaign,
      country: (s) => s.country,
      device: (s) => s.browser.device,
      browser: (s) => s.browser.browser,
      os: (s) => s.browser.os,
      event: (s) => [...new Set(s.events.map((e) => e.name))],
      "prop:plan": (s) => [...new Set(s.events.map((e) => e.props.plan).filter(Boolean))],
    };
    for (const [by, key] of Object.entries(cases)) {
      const r = await get(q("/api/breakdown", { ...range(), by }));
      assert.equal(r.status, 200, by);
      const got = new Map(r.body.rows.map((row) => [row.value, row.sessions]));
      assert.deepEqual(got, countBy(all, key), by);
      for (const row of r.body.rows) assert.equal(row.share, row.sessions / all.length);
    }
  });

  test("breakdowns carry friction: by page on the page's views, by browser and channel for the sessions", async () => {
    const all = within(data, from35, now + 1);
    const kinds = (pages, kind) => pages.filter((p) => p.friction?.kind === kind).length;
    const page = await get(q("/api/breakdown", { ...range(), by: "page" }));
    const row = (rows, value) => rows.find((r) => r.value === value);
    for (const path of ["/pricing", "/docs", "/docs/api", "/"]) {
      const views = all.flatMap((s) => s.pages.filter((p) => p.path === path));
      const r = row(page.body.rows, path);
      assert.deepEqual([r.rage_clicks, r.dead_clicks, r.errors], [kinds(views, "rage"), kinds(views, "dead"), kinds(views, "error")], path);
    }
    const abandoned = (s) => (s.form && !s.form.submitted ? 1 : 0);
    assert.equal(row(page.body.rows, "/signup").forms_abandoned, all.reduce((n, s) => n + abandoned(s), 0));
    for (const [by, key] of [["browser", (s) => s.browser.browser], ["channel", (s) => s.source.channel]]) {
      const r = await get(q("/api/breakdown", { ...range(), by }));
      for (const value of new Set(all.map(key))) {
        const mine = all.filter((s) => key(s) === value);
        const got = row(r.body.rows, value);
        assert.deepEqual(
          [got.errors, got.rage_clicks, got.dead_clicks, got.forms_abandoned],
          [mine.reduce((n, s) => n + kinds(s.pages, "error"), 0), mine.reduce((n, s) => n + kinds(s.pages, "rage"), 0),
            mine.reduce((n, s) => n + kinds(s.pages, "dead"), 0), mine.reduce((n, s) => n + abandoned(s), 0)],
          `${by} ${value}`,
        );
      }
    }
  });

  test("filters: a page viewed, a goal reached or not, is not, contains — the same as counting by hand", async () => {
    const all = within(data, from35, now + 1);
    const cases = [
      [{ page: "/pricing" }, (s) => s.pages.some((p) => p.path === "/pricing")],
      [{ page: "/docs/*" }, (s) => s.pages.some((p) => p.path.startsWith("/docs/"))],
      [{ goal: "event:signup" }, (s) => s.events.some((e) => e.name === "signup")],
      [{ goal: "event:signup:plan=pro" }, (s) => s.events.some((e) => e.name === "signup" && e.props.plan === "pro")],
      [{ "goal!": "/signup" }, (s) => !s.pages.some((p) => p.path === "/signup")],
      [{ "country!": "US" }, (s) => s.country !== "US"],
      [{ "referrer~": "GOOGLE" }, (s) => (s.source.referrer ?? "").includes("google")],
      [{ channel: "search", device: "mobile" }, (s) => s.source.channel === "search" && s.browser.device === "mobile"],
    ];
    for (const [filters, keep] of cases) {
      const r = await get(q("/api/stats", { ...range(), ...filters }));
      assert.equal(r.status, 200, JSON.stringify(filters));
      assert.equal(r.body.sessions, all.filter(keep).length, JSON.stringify(filters));
      // The listing's first page: the newest 200 of them.
      const listed = await get(q("/api/sessions", { ...range(), ...filters, limit: "200" }));
      const newest = all.filter(keep)
        .sort((a, b) => b.startedAt - a.startedAt || (b.sid > a.sid ? 1 : -1))
        .slice(0, 200).map((s) => s.sid);
      assert.deepEqual(listed.body.sessions.map((s) => s.id), newest, JSON.stringify(filters));
    }
    const prefix = all[5].sid.slice(0, 8);
    const found = await get(q("/api/sessions", { ...range(), session: prefix.toUpperCase() }));
    assert.deepEqual(found.body.sessions.map((s) => s.id), all.filter((s) => s.sid.startsWith(prefix)).map((s) => s.sid));
  });

  test("bad parameters get a 400 naming the parameter", async () => {
    for (const [params, field] of [
      [{ by: "colour" }, "by"],
      [{ by: "page", goal: "checkout" }, "goal"],
      [{ by: "page", limit: "0" }, "limit"],
      [{ by: "page", compare: "lastyear" }, "compare"],
      [{ by: "page", "country!": "us" }, "country!"],
      [{ by: "page", page: "pricing" }, "page"],
    ]) {
      const r = await get(q("/api/breakdown", params));
      assert.equal(r.status, 400, JSON.stringify(params));
      assert.ok(r.body.error.startsWith(`${field}:`), r.body.error);
    }
    assert.equal((await get(q("/api/timeseries", { interval: "minute" }))).status, 400);
    assert.equal((await get(q("/api/export", { format: "xlsx" }))).status, 400);
  });
});

describe("live, export, settings", () => {
  test("live lists the sessions seen in the last five minutes with their current page", async () => {
    const r = await get(q("/api/live", {}));
    assert.equal(r.status, 200);
    const live = data.sessions.filter((s) => s.live);
    assert.equal(r.body.count, live.length);
    for (const s of live) {
      const row = r.body.sessions.find((x) => x.id === s.sid);
      assert.equal(row.page, s.exit);
      assert.equal(row.active_ms, s.activeMs);
    }
  });

  test("export gives every session in range as CSV or NDJSON", async () => {
    const range = { from: String(from35), to: String(now + 1) };
    const csv = await get(q("/api/export", { ...range, format: "csv" }));
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get("content-type"), /^text\/csv/);
    const lines = csv.text.trimEnd().split("\r\n");
    assert.equal(lines[0].split(",")[0], "id");
    assert.equal(lines.length, within(data, from35, now + 1).length + 1);
    // Each session's friction and entry-page LCP, in the columns after started_at_iso.
    const cells = (line) => {
      const out = [""];
      let quoted = false;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (quoted && c === '"' && line[i + 1] === '"') { out[out.length - 1] += '"'; i++; }
        else if (c === '"') quoted = !quoted;
        else if (c === "," && !quoted) out.push("");
        else out[out.length - 1] += c;
      }
      return out;
    };
    const head = cells(lines[0]);
    assert.deepEqual(head.slice(head.indexOf("started_at_iso") + 1),
      ["rage_clicks", "dead_clicks", "errors", "forms_started", "forms_submitted", "forms_abandoned", "lcp_ms", "inp_ms", "cls"]);
    const byId = new Map(lines.slice(1).map((l) => { const c = cells(l); return [c[0], Object.fromEntries(head.map((k, i) => [k, c[i]]))]; }));
    const sent = within(data, from35, now + 1);
    for (const s of sent) {
      const row = byId.get(s.sid);
      const kind = (k) => String(s.pages.filter((p) => p.friction?.kind === k).length);
      assert.deepEqual([row.rage_clicks, row.dead_clicks, row.errors], [kind("rage"), kind("dead"), kind("error")], s.sid);
      assert.equal(row.lcp_ms, String(s.pages[0].vitals.lcp), s.sid);
    }
    assert.ok(sent.some((s) => s.pages.some((p) => p.friction?.kind === "rage")), "the range holds a rage click");
    const nd = await get(q("/api/export", { ...range, format: "ndjson" }));
    const rows = nd.text.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(new Set(rows.map((r) => r.id)), new Set(within(data, from35, now + 1).map((s) => s.sid)));
  });

  test("segments and funnels are saved per site and checked field by field", async () => {
    const segments = {
      segments: [{ name: "German search", filters: [["country", "DE"], ["channel", "search"]] }],
      funnels: [{ name: "Signup", steps: ["/pricing", "/signup", "event:signup"], mode: "ordered", window: 30 }],
      min_sessions: 1,
    };
    const put = await collector.fetch(q("/api/settings", {}), { method: "PUT", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(segments) });
    assert.equal(put.status, 200);
    assert.deepEqual((await get(q("/api/settings", {}))).body, segments);
    const bad = await collector.fetch(q("/api/settings", {}), { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ segments: [{ name: "x", filters: [["country", "germany"]] }] }) });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).error, /^segments\[0\]\.filters\[0\]: country:/);
    assert.deepEqual((await get(q("/api/settings", {}))).body, segments, "a bad PUT stores nothing");
    const other = await get(`/api/settings?site=other`);
    assert.deepEqual(other.body, { segments: [], funnels: [], min_sessions: 1 });
    const badFunnel = await collector.fetch(q("/api/settings", {}), { method: "PUT", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ funnels: [{ name: "x", steps: ["/pricing"] }] }) });
    assert.equal(badFunnel.status, 400);
    assert.match((await badFunnel.json()).error, /^funnels\[0\]\.step: a funnel has 2 to 10 steps/);
    const noToken = await collector.fetch(q("/api/settings", {}), { method: "PUT", body: "{}" });
    assert.equal(noToken.status, 401);
  });
});

test("every answer has the fields edge-worker/openapi.yaml describes", async () => {
  const spec = parse(await readFile(join(ROOT, "edge-worker/openapi.yaml"), "utf8"));
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: "openapi", components: spec.components });
  const range = { from: String(from35), to: String(now + 1) };
  for (const [path, params] of [
    ["/api/stats", { ...range, compare: "previous" }],
    ["/api/timeseries", { ...range, compare: "year" }],
    ["/api/breakdown", { ...range, by: "page", goal: "/signup", compare: "previous" }],
    ["/api/funnel", [...Object.entries(range), ["step", "/"], ["step", "/pricing"], ["step", "event:signup"], ["compare", "previous"]]],
    ["/api/paths", { ...range, start: "/", via: "/pricing" }],
    ["/api/links", { ...range, page: "/docs/install" }],
    ["/api/friction", { ...range, sort: "lcp" }],
    ["/api/live", {}],
    ["/api/sessions", range],
    ["/api/settings", {}],
  ]) {
    const r = await get(q(path, params));
    assert.equal(r.status, 200, path);
    const schema = spec.paths[path].get.responses["200"].content["application/json"].schema;
    const validate = ajv.compile({ $ref: undefined, ...JSON.parse(JSON.stringify(schema).replaceAll("#/components", "openapi#/components")) });
    assert.ok(validate(r.body), `${path}: ${ajv.errorsText(validate.errors)}`);
    // Every field the answer has is described.
    const described = schema.$ref ? spec.components.schemas[schema.$ref.split("/").pop()].properties : schema.properties;
    for (const key of Object.keys(r.body)) assert.ok(key in described, `${path}: ${key} is described`);
  }
});

describe("erasure reaches the rollups", () => {
  test("an erased session of three weeks ago leaves every figure and every file", async () => {
    const old = within(data, today - 21 * DAY_MS, today - 20 * DAY_MS).find((s) => s.pages.length >= 2);
    assert.ok(old, "a session three weeks ago");
    const range = { from: String(from35), to: String(now + 1) };
    const before = (await get(q("/api/stats", range))).body;
    const pages = (await get(q("/api/breakdown", { ...range, by: "page" }))).body.rows;
    const r = await collector.fetch(`/api/sessions/${old.sid}?site=demo`, { method: "DELETE", headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 204);
    const after = (await get(q("/api/stats", range))).body;
    assert.equal(after.sessions, before.sessions - 1);
    assert.equal(after.pageviews, before.pageviews - old.pageviews);
    const pagesAfter = (await get(q("/api/breakdown", { ...range, by: "page" }))).body.rows;
    const views = (rows, path) => rows.find((row) => row.value === path)?.views ?? 0;
    for (const p of new Set(old.pages.map((p) => p.path))) {
      assert.equal(views(pagesAfter, p), views(pages, p) - old.pages.filter((x) => x.path === p).length, p);
    }
    const day = await get(q("/api/timeseries", { from: String(today - 21 * DAY_MS), to: String(today - 20 * DAY_MS), interval: "day" }));
    assert.equal(day.body.points[0].sessions, within(data, today - 21 * DAY_MS, today - 20 * DAY_MS).length - 1);
    // No byte of it is left in any object's files, the month rollup's included.
    let scanned = 0;
    for (const entry of await readdir(collector.stateDir, { withFileTypes: true, recursive: true })) {
      if (!entry.isFile()) continue;
      let bytes;
      try {
        bytes = await readFile(join(entry.parentPath ?? entry.path, entry.name));
      } catch (e) {
        if (e.code === "ENOENT") continue; // a -shm or -wal file SQLite just removed
        throw e;
      }
      scanned += bytes.length;
      assert.equal(bytes.indexOf(old.sid), -1, `${entry.name} still holds the erased session`);
    }
    assert.ok(scanned > 100_000, `scanned ${scanned} bytes of state`);
  });
});
