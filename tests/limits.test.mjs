// Refusals as the tracker reads them: a rate limit passes (429 with Retry-After; a cap a
// session can never get back under is final, 422: see faults.test.mjs), and the per-site bound on new sessions refuses a flood of minted session IDs
// while the site's sessions already started keep getting 202.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startCollector } from "./support/collector.mjs";
import { batch, newSid, pageview } from "./support/beacon.mjs";

/** POSTs a batch; returns {status, body, retryAfter}. */
async function post(collector, body) {
  const r = await collector.fetch("/collect", {
    method: "POST",
    headers: { "content-type": "text/plain;charset=UTF-8", origin: collector.origin },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, retryAfter: r.headers.get("retry-after") };
}

describe("the per-session rate limit", () => {
  let collector;
  before(async () => { collector = await startCollector(); });
  after(async () => { await collector?.stop(); });

  test("a burst past the session rate limit gets 429 with Retry-After", async () => {
    const sid = newSid();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, seq) =>
      post(collector, batch({ sid, seq, events: [pageview({ page: seq })] }))));
    const limited = answers.filter((a) => a.status === 429);
    assert.ok(limited.length > 0, "some are limited");
    for (const a of limited) {
      assert.match(a.body.error, /^rate: .*retry later/);
      assert.equal(a.retryAfter, "1");
    }
  });
});

describe("the per-site bound on new sessions", () => {
  const LIMIT = 30;
  let collector;
  before(async () => { collector = await startCollector({ newSessionsPerMinute: LIMIT }); });
  after(async () => { await collector?.stop(); });

  test("a flood of minted session IDs is refused with 429 while the site's started sessions still get 202", async () => {
    const honest = Array.from({ length: 5 }, () => newSid());
    for (const sid of honest) assert.equal((await post(collector, batch({ sid }))).status, 202);
    const minted = Array.from({ length: 200 }, () => newSid());
    const answers = [];
    for (let i = 0; i < minted.length; i += 20) {
      answers.push(...await Promise.all(minted.slice(i, i + 20).map((sid) => post(collector, batch({ sid })))));
    }
    const accepted = answers.filter((a) => a.status === 202).length;
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(accepted + refused.length, minted.length, "every answer is 202 or 429");
    // The bound counts per clock-aligned minute: the flood may straddle one boundary.
    assert.ok(accepted <= 2 * LIMIT, `${accepted} minted sessions accepted, at most ${2 * LIMIT}`);
    for (const a of refused) {
      assert.match(a.body.error, /^rate: too many new sessions this minute for this site/);
      assert.equal(a.retryAfter, "60");
    }
    // Sessions already started are not new: they go on.
    for (const sid of honest) {
      const r = await post(collector, batch({ sid, seq: 1, events: [pageview({ page: 1, url: "https://demo.local/docs" })] }));
      assert.equal(r.status, 202, "an honest session continues");
    }
    const list = await collector.read("/api/sessions?site=demo&limit=200");
    const ids = new Set(list.body.sessions.map((s) => s.id));
    for (const sid of honest) assert.ok(ids.has(sid));
    const listedMinted = minted.filter((sid) => ids.has(sid)).length;
    assert.equal(listedMinted, accepted, "a refused session left nothing behind");
    const second = list.body.sessions.find((s) => s.id === honest[0]);
    assert.equal(second.pageviews, 2);
  });
});
