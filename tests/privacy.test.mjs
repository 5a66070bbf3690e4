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
  ];
  const sids = [];
  try {
    for (let i = 0; i < 5; i++) {
      const sid = newSid();
      sids.push(sid);
      const r = await send(collector, batch({
        sid,
        events: [
          pageview({ url: `https://demo.local/p${i}?utm_source=ok&email=StintQuery${marker}#StintFragment${marker}`, ref: `https://ref.example/x?q=StintRefQuery${marker}` }),
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

// FIXME(issue 7): only the session object's own files are scanned. The index shard deletes
// the erased summary's row, but SQLite keeps the old page in the shard's write-ahead log
// until a checkpoint, and a Durable Object cannot force one (nor set secure_delete); the
// index must stop holding anything beyond what a listing needs before this can cover it.
test("an erased session leaves no trace in its session object's persisted state", async () => {
  const collector = await startCollector();
  const marker = `StintErased${randomBytes(6).toString("hex")}`;
  const sid = newSid();
  try {
    assert.equal((await send(collector, batch({ sid, events: [pageview({ url: `https://demo.local/${marker}`, title: marker })] }))).status, 202);
    // A session that stays, so the state is not simply empty.
    assert.equal((await send(collector, batch())).status, 202);
    const r = await collector.fetch(`/api/sessions/${sid}?site=demo`, { method: "DELETE", headers: { authorization: "Bearer test-read-token" } });
    assert.equal(r.status, 204);
  } finally {
    await collector.stop({ keep: true });
  }
  const sessionFiles = (await filesUnder(collector.stateDir)).filter((f) => f.includes("SessionObject"));
  assert.ok(sessionFiles.length > 0, "session objects' files exist");
  for (const file of sessionFiles) {
    const content = await readFile(file);
    assert.equal(content.indexOf(Buffer.from(marker)), -1, `erased data found in ${file}`);
  }
  await rm(join(collector.stateDir, ".."), { recursive: true, force: true });
});
