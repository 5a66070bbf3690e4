// Upgrades lose nothing: this build, started on the state an earlier release persisted, must
// answer every listing, page of a listing, timeline and stats request exactly as that release
// did, and go on counting: a new batch for each stored session adds what it carries, and a
// batch the earlier release already stored, sent again, counts once.
//
// Each folder under tests/fixtures/upgrade/ is one release's fixture: `state.tar.gz` (the
// SQLite files it wrote, as it left them) and `expected.json` (its config, the sessions as
// sent, and its answers by request path). tests/support/make-upgrade-fixture.mjs makes one;
// its header has the command.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { ROOT, startCollector } from "./support/collector.mjs";
import { send } from "./support/beacon.mjs";
import { unpack } from "./support/make-upgrade-fixture.mjs";

const FIXTURES = join(ROOT, "tests/fixtures/upgrade");
const releases = (await readdir(FIXTURES, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();

/**
 * Asserts that `actual` holds everything `expected` holds: the same value at every path, arrays
 * of the same length in the same order. The one thing allowed beyond `expected` is an object
 * key it does not have — a field a later release adds; those are returned (as paths with `[]`
 * for array positions) so the run can say which. Nothing else is loosened: a missing key, a
 * changed value or type, an extra or missing array element all fail.
 */
function assertKeeps(actual, expected, where, added = new Set()) {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: an array was expected, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${where}: length`);
    expected.forEach((e, i) => assertKeeps(actual[i], e, `${where}[${i}]`, added));
  } else if (expected !== null && typeof expected === "object") {
    assert.ok(actual !== null && typeof actual === "object" && !Array.isArray(actual), `${where}: an object was expected, got ${JSON.stringify(actual)}`);
    for (const key of Object.keys(expected)) {
      assert.ok(Object.hasOwn(actual, key), `${where}.${key}: missing`);
      assertKeeps(actual[key], expected[key], `${where}.${key}`, added);
    }
    for (const key of Object.keys(actual)) {
      if (!Object.hasOwn(expected, key)) added.add(`${where.replace(/\[\d+\]/g, "[]")}.${key}`);
    }
  } else {
    assert.strictEqual(actual, expected, where);
  }
  return added;
}

/** Engaged time as the median counts it: exact below a second, then three significant digits. */
function activeMsBucket(ms) {
  let step = 1;
  while (ms >= step * 1000) step *= 10;
  return Math.floor((ms + step / 2) / step) * step;
}

/** The stats figures a new batch can move, computed from the sessions' summaries. */
function movingFigures(summaries) {
  const buckets = summaries.map((s) => activeMsBucket(s.active_ms)).sort((a, b) => a - b);
  const n = buckets.length;
  const median = n === 0 ? 0 : n % 2 === 1 ? buckets[(n - 1) / 2] : Math.floor((buckets[n / 2 - 1] + buckets[n / 2]) / 2);
  const total = summaries.reduce((sum, s) => sum + s.active_ms, 0);
  return {
    sessions: n,
    pageviews: summaries.reduce((sum, s) => sum + s.pageviews, 0),
    median_active_ms: median,
    mean_active_ms: n === 0 ? 0 : Math.floor(total / n),
    bounce_rate: n === 0 ? 0 : summaries.filter((s) => s.bounce).length / n,
    pages_per_session: n === 0 ? 0 : summaries.reduce((sum, s) => sum + s.pageviews, 0) / n,
  };
}

/**
 * What wave 2 changed on purpose in answers an earlier release gave, stated here apart from
 * the collector's own upgrade (`SessionSummary::upgrade`, index schema 3): browser and OS
 * families apart from their major versions (`Chrome 131` → `Chrome` + `131`), pages grouped
 * by path (`/pricing?utm_source=…` → `/pricing`), and the lists by family and path, counts
 * merged, most sessions first, ties by name.
 */
function asUpgraded(answer) {
  const split = (value) => {
    const m = /^(.*) (\d+)$/.exec(value ?? "");
    return m ? [m[1], m[2]] : [value ?? null, null];
  };
  const path = (page) => (page == null ? page : page.split("?")[0]);
  const regroup = (counts, key) => {
    const merged = new Map();
    for (const c of counts) merged.set(key(c.value), (merged.get(key(c.value)) ?? 0) + c.sessions);
    return [...merged].map(([value, sessions]) => ({ value, sessions }))
      .sort((a, b) => b.sessions - a.sessions || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      .slice(0, 10);
  };
  const summary = (s) => {
    // A release of wave 2 stored them apart already.
    if (Object.hasOwn(s, "browser_version")) return s;
    const [browser, browser_version] = split(s.browser);
    const [os, os_version] = split(s.os);
    return { ...s, browser, browser_version, os, os_version, entry_page: path(s.entry_page), exit_page: path(s.exit_page) };
  };
  if (Array.isArray(answer.sessions)) return { ...answer, sessions: answer.sessions.map(summary) };
  if (answer.session) return { ...answer, session: summary(answer.session) };
  if (Array.isArray(answer.browsers)) {
    return {
      ...answer,
      top_pages: regroup(answer.top_pages, path),
      browsers: regroup(answer.browsers, (v) => split(v)[0]),
      oses: regroup(answer.oses, (v) => split(v)[0]),
    };
  }
  return answer;
}

/** The verdict a session's next batch gives where the release stored the legacy `ua_list`:
 * the maintained list's category and name for the fixture's one crawler (bingbot). */
function verdictAfterNextBatch(session, ua) {
  if (session.bot !== "ua_list") return {};
  assert.match(ua, /bingbot/, "the fixture's listed bot is bingbot");
  return { bot: "search_engine", bot_name: "bingbot" };
}

const ENGAGED_MS = 1_500;

/** The next batch of a stored session: the next seq and a new page with one event of each kind. */
function nextBatch(session, ts) {
  const seq = session.batches.length;
  const page = Math.max(...session.batches.flat().map((e) => e.page)) + 1;
  const url = `https://demo.local/after-upgrade/${session.label}`;
  return {
    v: 1, site: "demo", sid: session.sid, seq,
    events: [
      { type: "pageview", ts, page, url, title: "After the upgrade", w: 1280 },
      { type: "engage", ts: ts + 1, page, active_ms: ENGAGED_MS, scroll: 50 },
      { type: "click", ts: ts + 2, page, href: "https://example.org/after", outbound: true },
      { type: "custom", ts: ts + 3, page, name: "after_upgrade", props: { step: "next", n: 1, ok: true } },
    ],
  };
}

/** The timeline an earlier answer `old` becomes once `batch` (from `nextBatch`) is counted. */
function withBatch(old, batch, ua) {
  const [view, engage] = batch.events;
  const last = batch.events.at(-1).ts;
  const s = old.session;
  return {
    session: {
      ...s,
      last_seen_at: last,
      duration_ms: last - s.started_at,
      active_ms: s.active_ms + ENGAGED_MS,
      pageviews: s.pageviews + 1,
      clicks: s.clicks + 1,
      outbound_clicks: s.outbound_clicks + 1,
      events: s.events + 1,
      max_scroll: Math.max(s.max_scroll, engage.scroll),
      exit_page: new URL(view.url).pathname,
      bounce: false,
      ...verdictAfterNextBatch(s, ua),
    },
    pages: [...old.pages, { index: view.page, url: view.url, title: view.title, entered_at: view.ts, active_ms: ENGAGED_MS, max_scroll: engage.scroll, clicks: 1 }],
    events: [...old.events, ...batch.events],
  };
}

for (const release of releases) {
  describe(`on the state release ${release} persisted`, () => {
    let fixture;
    let collector;
    /** The batches sent since the upgrade, by session ID. */
    const sentSinceUpgrade = new Map();
    const timelinePath = (s) => `/api/sessions/${s.sid}?site=demo`;
    const [wholeHumans, wholeAll] = [0, 1];
    const sendAs = (s, body) => send(collector, body, { origin: fixture.origin, headers: { "user-agent": s.ua } });

    before(async () => {
      fixture = JSON.parse(await readFile(join(FIXTURES, release, "expected.json"), "utf8"));
      const options = { sites: fixture.config.sites, vars: { RETENTION_DAYS: fixture.config.retention_days } };
      // A collector's folder made by a first start, stopped before any object exists; its
      // state is replaced by the release's (unpacked, so the fixture itself is never written
      // to), and the collector starts again on that folder, as it would after an upgrade.
      const blank = await startCollector(options);
      await blank.stop({ keep: true });
      await rm(blank.stateDir, { recursive: true, force: true });
      await mkdir(blank.stateDir);
      unpack(join(FIXTURES, release, fixture.state), blank.stateDir);
      collector = await startCollector({ ...options, reuse: blank });
    });
    after(async () => {
      await collector?.stop();
    });

    test("every listing, page of a listing, timeline and stats answer is the release's", async () => {
      const added = new Set();
      for (const [path, expected] of Object.entries(fixture.answers)) {
        const r = await collector.read(path);
        assert.equal(r.status, 200, `GET ${path}: ${JSON.stringify(r.body)}`);
        assertKeeps(r.body, asUpgraded(expected), `GET ${path} `, added);
      }
      // Every stored session is there, humans and bot alike.
      const listed = fixture.answers[fixture.paths.listings[wholeAll]].sessions.map((s) => s.id).sort();
      assert.deepEqual(listed, fixture.sessions.map((s) => s.sid).sort());
      if (added.size) console.log(`# fields added since ${release}: ${[...added].sort().join(", ")}`);
      assert.deepEqual(collector.stats.failures, []);
    });

    test("a new batch for each stored session is counted, in its summary, pages, timeline, listing and stats", async () => {
      const lastSeen = Math.max(...fixture.sessions.map((s) => fixture.answers[timelinePath(s)].session.last_seen_at));
      const ts = Math.max(Date.now(), lastSeen + 1_000);
      for (const s of fixture.sessions) {
        const batch = nextBatch(s, ts);
        sentSinceUpgrade.set(s.sid, batch);
        const r = await sendAs(s, batch);
        assert.equal(r.status, 202, `${s.label} seq ${batch.seq}: ${r.text}`);
      }
      const summaries = [];
      for (const s of fixture.sessions) {
        const r = await collector.read(timelinePath(s));
        assert.equal(r.status, 200);
        assertKeeps(r.body, withBatch(asUpgraded(fixture.answers[timelinePath(s)]), nextBatch(s, ts), s.ua), `${s.label}: timeline `);
        summaries.push(r.body.session);
      }
      // The listing shows what the session objects hold.
      const listing = (await collector.read(fixture.paths.listings[wholeAll])).body.sessions;
      assert.equal(listing.length, fixture.sessions.length);
      for (const summary of summaries) assert.deepEqual(listing.find((l) => l.id === summary.id), summary, `listed ${summary.id}`);
      // Stats move by exactly what the batches carry; the tops and hours stay as they were.
      for (const [which, humansOnly] of [[wholeHumans, true], [wholeAll, false]]) {
        const path = fixture.paths.stats[which];
        const counted = summaries.filter((s) => !humansOnly || s.bot === null);
        const old = asUpgraded(fixture.answers[path]);
        const oldCounted = fixture.sessions.map((s) => fixture.answers[timelinePath(s)].session).filter((s) => !humansOnly || s.bot === null);
        // The figures the release stated (pages_per_session came with wave 2).
        const keys = Object.keys(movingFigures([])).filter((k) => Object.hasOwn(old, k));
        const stated = (figures) => Object.fromEntries(keys.map((k) => [k, figures[k]]));
        // The oracle agrees with the release's own figures before the batches…
        assert.deepEqual(stated(movingFigures(oldCounted)), stated(old), `oracle vs ${path}`);
        assert.equal(movingFigures(counted).pageviews, movingFigures(oldCounted).pageviews + counted.length);
        // …and gives the figures after them.
        assertKeeps((await collector.read(path)).body, { ...old, ...stated(movingFigures(counted)) }, `GET ${path} `);
      }
      assert.deepEqual(collector.stats.failures, []);
    });

    test("a batch the release stored, sent again, counts once", async () => {
      const reads = async () => {
        const out = {};
        for (const path of [...fixture.paths.timelines, fixture.paths.listings[wholeAll], ...fixture.paths.stats]) out[path] = (await collector.read(path)).body;
        return out;
      };
      const before = await reads();
      // Every batch the release was sent, again (the `reader`'s batch 1 for the third time),
      // and the one batch sent since the upgrade.
      for (const s of fixture.sessions) {
        const again = [...s.batches.map((events, seq) => ({ v: 1, site: "demo", sid: s.sid, seq, events })), sentSinceUpgrade.get(s.sid)];
        for (const batch of again) {
          assert.ok(batch, "the new batches were sent (previous test)");
          const r = await sendAs(s, batch);
          assert.equal(r.status, 202, `${s.label} seq ${batch.seq} again: ${r.text}`);
        }
      }
      assert.deepEqual(await reads(), before);
      assert.deepEqual(collector.stats.failures, []);
    });
  });
}
