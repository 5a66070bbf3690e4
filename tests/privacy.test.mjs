// The privacy promise, proven on the stored state: beacons carry unique client IPs, a unique
// User-Agent marker, a cookie and private query parameters; afterwards no file of the
// persisted local state, and no line the worker logged, contains any of them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { startCollector } from "./support/collector.mjs";
import { batch, newSid, pageview, send } from "./support/beacon.mjs";

async function filesUnder(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath ?? entry.path, entry.name));
  }
  return out;
}

test("no IP, User-Agent, cookie, fragment or unkept query parameter is persisted or logged", async () => {
  const collector = await startCollector();
  const marker = randomBytes(6).toString("hex");
  const ip = () => `198.51.${randomInt(0, 255)}.${randomInt(1, 254)}`;
  const secrets = {
    "CF-Connecting-IP": ip(),
    "X-Forwarded-For": `${ip()}, ${ip()}`,
    "X-Real-IP": ip(),
    "User-Agent": `Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0.0.0 Safari/537.36 StintUaMarker${marker}`,
    Cookie: `session=StintCookie${marker}`,
  };
  const forbidden = [
    ...secrets["X-Forwarded-For"].split(", "),
    secrets["CF-Connecting-IP"],
    secrets["X-Real-IP"],
    `StintUaMarker${marker}`,
    `StintCookie${marker}`,
    `StintQuery${marker}`,
    `StintFragment${marker}`,
    `StintRefQuery${marker}`,
    // SPEC keeps a referrer's host only: the page someone came from can name them.
    `StintRefPath${marker}`,
  ];
  const sids = [];
  try {
    for (let i = 0; i < 5; i++) {
      const sid = newSid();
      sids.push(sid);
      const r = await send(collector, batch({
        sid,
        events: [
          pageview({ url: `https://demo.local/p${i}?utm_source=ok&email=StintQuery${marker}#StintFragment${marker}`, ref: `https://ref.example/customers/StintRefPath${marker}?q=StintRefQuery${marker}` }),
          { type: "click", ts: Date.now(), page: 0, href: `https://out.example/?token=StintQuery${marker}`, outbound: true },
        ],
      }), { headers: secrets });
      assert.equal(r.status, 202);
    }
    // The data is there (so the scan below looks at real state)…
    const listed = await collector.read("/api/sessions?site=demo&limit=200&bots=include");
    for (const sid of sids) assert.ok(listed.body.sessions.some((s) => s.id === sid && s.utm.source === "ok"));
    const timeline = await collector.read(`/api/sessions/${sids[0]}?site=demo`);
    assert.equal(timeline.body.events[0].url, "https://demo.local/p0?utm_source=ok");
    assert.equal(timeline.body.events[0].ref, "https://ref.example/", "the referrer is kept as its origin");
  } finally {
    await collector.stop({ keep: true });
  }
  // …and none of the secrets is, in any file of the persisted state or in the log.
  const files = await filesUnder(collector.stateDir);
  assert.ok(files.length > 0, "the state folder holds the Durable Objects' files");
  let bytes = 0;
  for (const file of files) {
    const content = await readFile(file);
    bytes += content.length;
    for (const secret of forbidden) {
      assert.equal(content.indexOf(Buffer.from(secret)), -1, `${secret} found in ${file}`);
    }
  }
  assert.ok(bytes > 10_000, `scanned ${bytes} bytes of state`);
  const log = collector.logs.join("");
  for (const secret of forbidden) assert.ok(!log.includes(secret), `${secret} found in the worker's log`);
  await rm(join(collector.stateDir, ".."), { recursive: true, force: true });
});

// Erasure on request must leave nothing: not in the session's object, and not in its index
// shard, whose SQLite files would keep a deleted row's bytes in free space and in the
// write-ahead log (the shard rewrites itself without the session; see `handle_purge`). The
// erased session has several batches, so older versions of its summary were written too, and
// shares its shard with others, which must come through the erasure intact. Four more are
// erased after it: five erasures over four shards purge at least one shard twice.
test("an erased session leaves no trace in any persisted file, and its shard keeps the rest", async () => {
  const collector = await startCollector();
  const marker = `StintErased${randomBytes(6).toString("hex")}`;
  const sid = newSid();
  const day = "site=demo&bots=include&limit=200";
  const desktop = { "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36" };
  let before;
  let erased = [];
  try {
    const t0 = Date.now();
    const pages = [0, 1, 2].map((page) => pageview({
      page,
      ts: t0 + page * 1000,
      url: `https://demo.local/${marker}/p${page}?utm_source=${marker}`,
      title: `${marker} title`,
      ref: page === 0 ? `https://${marker.toLowerCase()}.example/from` : undefined,
    }));
    for (const [seq, event] of pages.entries()) {
      const events = [event, { type: "custom", ts: event.ts + 10, page: seq, name: "signup", props: { plan: marker } }];
      assert.equal((await send(collector, batch({ sid, seq, events }), { headers: desktop })).status, 202);
    }
    // Twenty others on the same day: with four shards per day, the erased session's shard
    // holds some of them.
    const others = [];
    for (let i = 0; i < 20; i++) {
      const other = newSid();
      others.push(other);
      assert.equal((await send(collector, batch({ sid: other, events: [pageview({ url: `https://demo.local/keep${i}` })] }), { headers: desktop })).status, 202);
    }
    before = await collector.read(`/api/sessions?${day}`);
    assert.equal(before.body.sessions.length, 21);
    const statsBefore = (await collector.read("/api/stats?site=demo&bots=include")).body;
    assert.ok(statsBefore.top_pages.some((p) => p.value.includes(marker)), "the erased session's entry page is counted before");

    erased = [sid, ...others.slice(0, 4)];
    for (const gone of erased) {
      const r = await collector.fetch(`/api/sessions/${gone}?site=demo`, { method: "DELETE", headers: { authorization: "Bearer test-read-token" } });
      assert.equal(r.status, 204, `erasing ${gone}: ${r.status} ${await r.text()}`);
    }

    // The rest is intact: the same summaries, field for field, and totals less the erased.
    const after = await collector.read(`/api/sessions?${day}`);
    assert.deepEqual(after.body.sessions, before.body.sessions.filter((s) => !erased.includes(s.id)));
    const statsAfter = (await collector.read("/api/stats?site=demo&bots=include")).body;
    assert.equal(statsAfter.sessions, statsBefore.sessions - 5);
    assert.equal(statsAfter.pageviews, statsBefore.pageviews - 3 - 4);
    assert.ok(!JSON.stringify(statsAfter).includes(marker), "no total names the erased session's pages or referrer");
    const device = before.body.sessions.find((s) => s.id === sid).device;
    assert.ok(before.body.sessions.every((s) => s.device === device), "one device for all, so its count is simple");
    assert.deepEqual(statsAfter.devices, [{ value: device, sessions: statsBefore.sessions - 5 }]);
    for (const gone of erased) assert.equal((await collector.read(`/api/sessions/${gone}?site=demo`)).status, 404);
    // …and the shard still takes new sessions.
    assert.equal((await send(collector, batch())).status, 202);
  } finally {
    await collector.stop({ keep: true });
  }
  const files = await filesUnder(collector.stateDir);
  assert.ok(files.some((f) => f.includes("SessionIndex")) && files.some((f) => f.includes("SessionObject")), "both kinds of object have files");
  let bytes = 0;
  for (const file of files) {
    const content = await readFile(file);
    bytes += content.length;
    for (const trace of [marker, marker.toLowerCase(), ...erased]) {
      assert.equal(content.indexOf(Buffer.from(trace)), -1, `${trace} found in ${file}`);
    }
  }
  assert.ok(bytes > 10_000, `scanned ${bytes} bytes of state`);
  await rm(join(collector.stateDir, ".."), { recursive: true, force: true });
});
