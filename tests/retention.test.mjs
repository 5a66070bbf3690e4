// Retention by alarms and CORS for dashboard origins, on a collector configured for them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { eventually, startCollector, TOKEN } from "./support/collector.mjs";
import { batch, newSid, pageview, send } from "./support/beacon.mjs";

const DASHBOARD = "https://dash.example";
let collector;
before(async () => {
  collector = await startCollector({
    // 0.00005 days = 4.3 s: long enough to see the session stored, short enough to wait for.
    vars: { RETENTION_DAYS: "0.00005", DASHBOARD_ORIGINS: JSON.stringify([DASHBOARD]) },
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
