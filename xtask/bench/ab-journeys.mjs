// Two worker builds on the same journeys data, their reads interleaved: how much faster (or
// slower) one build answers the journeys step's reads than another, in the same minutes on
// the same machine, where single bench runs drift by ±20% (BENCHMARKS.md).
//
//     git worktree add /tmp/old <commit> && (cd /tmp/old && cargo xtask build)
//     cargo xtask build
//     node xtask/bench/ab-journeys.mjs /tmp/old/edge-worker/build edge-worker/build [sessions]
//
// The first build seeds a day of `sessions` (100,000 by default) multi-page sessions
// (journeys.mjs, the bench's own generator) into a fresh state, which is then copied, so each
// build runs on its own copy of the same stored data (a newer build may migrate its copy).
// Then each of JOURNEY_READS is asked of both builds in turn, one request in flight at a
// time, 11 times each after an uncounted first round, alternating which goes first; the
// medians, their ratio (second ÷ first) and whether the answers were identical are printed.
// Not part of `cargo xtask bench` or the gate: a tool for a change's note.
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startCollector } from "./collector.mjs";
import { JOURNEY_READS, journeySessions } from "./journeys.mjs";

const [oldBuild, newBuild, sessionsArg] = process.argv.slice(2);
if (!oldBuild || !newBuild) {
  console.error("usage: node xtask/bench/ab-journeys.mjs OLD_BUILD_DIR NEW_BUILD_DIR [sessions]");
  process.exit(2);
}
const root = resolve(new URL("../..", import.meta.url).pathname);
const sessions = Number(sessionsArg ?? 100_000);
const ROUNDS = 11;
const site = "journeys";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = await mkdtemp(join(tmpdir(), "stint-ab-"));
const [stateOld, stateNew] = [join(dir, "old"), join(dir, "new")];
const end = Date.now() - 60_000;
const from = end - 21 * 3_600_000;
try {
  console.log(`seeding ${sessions.toLocaleString("en")} sessions with ${oldBuild}`);
  const seeder = await startCollector({ root, build: resolve(oldBuild), stateDir: stateOld });
  try {
    for (let done = 0, seed = 20_000; done < sessions; seed++) {
      const n = Math.min(500, sessions - done);
      const r = await fetch(`${seeder.origin}/bench/seed?now=${end}`, {
        method: "POST",
        headers: { origin: seeder.sender },
        body: JSON.stringify(journeySessions({ site, from, to: end, n, seed })),
      });
      if (r.status !== 202) throw new Error(`seed: ${r.status} ${await r.text()}`);
      await r.text();
      done += n;
    }
  } finally {
    await seeder.stop();
  }
  await cp(stateOld, stateNew, { recursive: true });
  const old = await startCollector({ root, build: resolve(oldBuild), stateDir: stateOld });
  const next = await startCollector({ root, build: resolve(newBuild), stateDir: stateNew });
  try {
    for (const [, label, path] of JOURNEY_READS) {
      const url = `${path}&site=${site}&from=${from}&to=${end + 1}`;
      const ms = { old: [], next: [] };
      const bodies = {};
      for (let round = 0; round <= ROUNDS; round++) {
        const order = round % 2 ? [["old", old], ["next", next]] : [["next", next], ["old", old]];
        for (const [name, collector] of order) {
          const r = await collector.read(url);
          if (r.status !== 200) throw new Error(`${name} build, ${label}: ${r.status} ${r.body}`);
          if (round > 0) ms[name].push(r.ms);
          bodies[name] = r.body;
        }
      }
      const [a, b] = [median(ms.old), median(ms.next)];
      console.log(`${label}: ${a.toFixed(0)} ms → ${b.toFixed(0)} ms (${(b / a).toFixed(2)}×), answers ${bodies.old === bodies.next ? "identical" : "DIFFERENT"}`);
    }
  } finally {
    await old.stop();
    await next.stop();
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
