// Retention by alarms and CORS for dashboard origins, on a collector configured for them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, startCollector, TOKEN } from "./support/collector.mjs";
import { batch, newSid, pageview, send } from "./support/beacon.mjs";

const DASHBOARD = "https://dash.example";
let collector;
before(async () => {
  collector = await startCollector({
    // 0.00012 days = 10.4 s: the alarm is workerd's own timer, so this is wall-clock time —
    // long enough for the reads below on a busy machine, short enough to wait for.
    vars: { RETENTION_DAYS: "0.00012", DASHBOARD_ORIGINS: JSON.stringify([DASHBOARD]) },
  });
});
after(async () => { await collector?.stop(); });

test("a session is erased by its alarm once RETENTION_DAYS have passed", async () => {
  const sid = newSid();
  assert.equal((await send(collector, batch({ sid, events: [pageview()] }))).status, 202);
  assert.equal((await collector.read(`/api/sessions/${sid}?site=demo`)).status, 200);
  const listed = async () => (await collector.read("/api/sessions?site=demo&bots=include")).body.sessions.some((s) => s.id === sid);
  assert.ok(await listed());
  await eventually(async () => (await collector.read(`/api/sessions/${sid}?site=demo`)).status === 404, { ms: 30_000, what: "the session to expire" });
  assert.equal(await listed(), false, "and it left the list");
});

test("the read API answers CORS only for configured dashboard origins", async () => {
  const preflight = (origin) => collector.fetch("/api/sessions?site=demo", {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" },
  });
  const ok = await preflight(DASHBOARD);
  assert.equal(ok.status, 204);
  assert.match(ok.headers.get("access-control-allow-headers") ?? "", /authorization/);
  assert.equal(ok.headers.get("access-control-allow-origin"), DASHBOARD);
  const evil = await preflight("https://evil.example");
  assert.equal(evil.headers.get("access-control-allow-origin"), null);
  assert.equal(evil.headers.get("access-control-allow-headers"), null);

  const get = (origin, token = TOKEN) => collector.fetch("/api/sessions?site=demo", { headers: { origin, authorization: `Bearer ${token}` } });
  assert.equal((await get(DASHBOARD)).headers.get("access-control-allow-origin"), DASHBOARD);
  const denied = await get(DASHBOARD, "wrong");
  assert.equal(denied.status, 401);
  assert.equal(denied.headers.get("access-control-allow-origin"), DASHBOARD, "so the dashboard can show 'unauthorized'");
  assert.equal((await get("https://evil.example")).headers.get("access-control-allow-origin"), null);
});

test("a session of a closed day leaves its month rollup too when its retention ends", async () => {
  // Retention of two days and a bit: a session received two days ago (the test edge) is in a
  // closed day, which the month rollup copies, and expires seconds later.
  const DAY = 86_400_000;
  const edge = await startCollector({ vars: { RETENTION_DAYS: "2.0001", STINT_TEST_EDGE: "1" } });
  try {
    const at = Date.now() - 2 * DAY;
    const dayStart = Math.floor(at / DAY) * DAY;
    const sid = newSid();
    const r = await send(edge, batch({ sid, events: [pageview({ ts: at })] }), { headers: { "stint-test-now": String(at) } });
    assert.equal(r.status, 202);
    const day = `/api/stats?site=demo&bots=include&from=${dayStart}&to=${dayStart + DAY}`;
    const read = async () => {
      const res = await edge.fetch(day, { headers: { authorization: `Bearer ${TOKEN}` } });
      return { sessions: (await res.json()).sessions, subrequests: Number(res.headers.get("stint-subrequests")) };
    };
    // Copied: the month rollup alone answers for the day.
    await eventually(async () => { const x = await read(); return x.subrequests === 1 && x.sessions === 1; }, { ms: 30_000, what: "the rollup to hold the day" });
    await eventually(async () => (await edge.read(`/api/sessions/${sid}?site=demo`)).status === 404, { ms: 30_000, what: "the session to expire" });
    const after = await read();
    assert.equal(after.sessions, 0, "the rollup counts it no more");
    assert.equal(after.subrequests, 1);
  } finally {
    await edge.stop();
  }
});
