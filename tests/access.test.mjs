// Access to the read API: no, wrong and almost-right tokens are all refused, and how long a
// refusal takes does not depend on how much of the token was right.
//
// A timing is a poor test in general (the project keeps benchmarks out of the gate); this
// one guards a security property, so it is built to be robust rather than sharp: the classes
// are interleaved request by request (drift hits all alike), medians over hundreds of
// requests are compared, and the bound is generous against the measured noise. It catches a
// comparison that stops at the first wrong character only when that is visible over HTTP —
// the exact property (every byte compared) is proven natively in `stint_shared::auth`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startCollector } from "./support/collector.mjs";

const TOKEN = randomBytes(32).toString("hex");
const ROUNDS = 240;

let collector;
before(async () => { collector = await startCollector({ token: TOKEN }); });
after(async () => { await collector?.stop(); });

const flip = (c) => (c === "a" ? "b" : "a");
const CLASSES = {
  none: null,
  wrongFirst: flip(TOKEN[0]) + TOKEN.slice(1),
  almostRight: TOKEN.slice(0, -1) + flip(TOKEN.at(-1)),
  unrelated: randomBytes(32).toString("hex"),
};

async function timedRead(token) {
  const headers = token === null ? {} : { authorization: `Bearer ${token}` };
  const start = process.hrtime.bigint();
  const r = await fetch(`${collector.origin}/api/sessions?site=demo`, { headers });
  await r.arrayBuffer();
  return { status: r.status, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

test("no, wrong, unrelated and almost-right tokens get 401; the right one 200", async () => {
  for (const [name, token] of Object.entries(CLASSES)) {
    const r = await timedRead(token);
    assert.equal(r.status, 401, name);
  }
  assert.equal((await timedRead(TOKEN)).status, 200);
});

test(`refusal time does not depend on the token's right prefix (medians of ${ROUNDS} interleaved requests)`, async () => {
  const names = Object.keys(CLASSES);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  // Warm up the connection pool and the worker.
  for (let i = 0; i < 30; i++) await timedRead(CLASSES.wrongFirst);
  for (let round = 0; round < ROUNDS; round++) {
    // A different order each round, so no class always follows another.
    const order = names.map((n, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const r = await timedRead(CLASSES[name]);
      assert.equal(r.status, 401);
      times[name].push(r.ms);
    }
  }
  const med = Object.fromEntries(names.map((n) => [n, median(times[n])]));
  // Noise: the median absolute deviation of the two classes compared.
  const mad = (xs) => { const m = median(xs); return median(xs.map((x) => Math.abs(x - m))); };
  const noise = Math.max(mad(times.wrongFirst), mad(times.almostRight));
  const gap = Math.abs(med.almostRight - med.wrongFirst);
  const bound = Math.max(0.5, 3 * noise, 0.25 * med.wrongFirst);
  console.log(`# medians (ms): ${names.map((n) => `${n} ${med[n].toFixed(3)}`).join(", ")}; |almostRight − wrongFirst| = ${gap.toFixed(3)} ms, noise (MAD) ${noise.toFixed(3)} ms, bound ${bound.toFixed(3)} ms`);
  assert.ok(gap < bound, `an almost-right token is refused ${gap.toFixed(3)} ms slower or faster than a wrong one (bound ${bound.toFixed(3)} ms)`);
});
