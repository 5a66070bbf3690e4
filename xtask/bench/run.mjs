// The measuring half of `cargo xtask bench` (the Rust half builds, bundles and writes
// BENCHMARKS.md from what this prints to target/bench/results.json).
//
//   node xtask/bench/run.mjs <repo root>
//
// Steps: transfer sizes (gzip -9 and brotli q11) · main-thread cost in Chromium · ingest at
// 1k, 10k and 100k distinct sessions · read path on the day those sessions filled.
// Knobs (environment): STINT_BENCH_RUNS (browser runs per tracker, 10), STINT_BENCH_INGEST_S
// (seconds of the steady ingest phase, 30), STINT_BENCH_DAY_SESSIONS (sessions the day is
// filled to, 100000), STINT_BENCH_DAY_CAP_S (time cap of the filling, 200: keeps a fresh clone's
// build plus the bench under 15 minutes), STINT_BENCH_CONCURRENCY
// (requests in flight, 32), STINT_BENCH_STEPS (comma list of size,browser,ingest,read,year,
// journeys), STINT_BENCH_JOURNEY_SIZES (sessions of the journeys day at each measurement,
// 10000,30000,100000), STINT_BENCH_WEEK_DAY_SESSIONS (sessions of each earlier day of the
// journeys week, 10000).
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join, resolve } from "node:path";
import { startCollector } from "./collector.mjs";
import { mainThreadBench, profileBench, startPageServer } from "./browser.mjs";
import { SessionPool, runLoad, percentile } from "./load.mjs";
import { JOURNEY_READS, journeySessions } from "./journeys.mjs";

const root = resolve(process.argv[2] ?? ".");
const env = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const RUNS = env("STINT_BENCH_RUNS", 10);
const INGEST_S = env("STINT_BENCH_INGEST_S", 30);
const DAY_SESSIONS = env("STINT_BENCH_DAY_SESSIONS", 100_000);
const DAY_CAP_S = env("STINT_BENCH_DAY_CAP_S", 200);
const CONCURRENCY = env("STINT_BENCH_CONCURRENCY", 32);
const YEAR_DAY_SESSIONS = env("STINT_BENCH_YEAR_DAY_SESSIONS", 300);
const STEPS = (process.env.STINT_BENCH_STEPS ?? "size,browser,ingest,read,year,journeys").split(",");
const JOURNEY_SIZES = (process.env.STINT_BENCH_JOURNEY_SIZES ?? "10000,30000,100000").split(",").map(Number);
const WEEK_DAY_SESSIONS = env("STINT_BENCH_WEEK_DAY_SESSIONS", 10_000);
const DAY_MS = 86_400_000;

const log = (line) => console.log(line);
const step = (line) => console.log(`==> ${line}`);
const round1 = (x) => (x == null ? null : Math.round(x * 10) / 10);

async function sizeOf(files) {
  let raw = 0, gzip = 0, brotli = 0;
  for (const file of files) {
    const bytes = await readFile(file);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
    brotli += brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length;
  }
  return { raw, gzip, brotli };
}

async function sizes() {
  step("transfer sizes (gzip -9, brotli q11)");
  const pkg = join(root, "target/npm/package");
  const bench = join(root, "target/bench");
  const out = {
    stint_wasm: await sizeOf([join(pkg, "stint.wasm")]),
    stint_js: await sizeOf([join(pkg, "stint.min.js")]),
    stint: await sizeOf([join(pkg, "stint.wasm"), join(pkg, "stint.min.js")]),
  };
  for (const peer of ["plausible", "snowplow", "posthog"]) out[peer] = await sizeOf([join(bench, `${peer}.min.js`)]);
  for (const [name, s] of Object.entries(out)) log(`  ${name.padEnd(12)} ${s.raw} raw  ${s.gzip} gzip  ${s.brotli} brotli`);
  return out;
}

/** The UTC day the load fills, and the part of it a client clock may claim (within a day of now). */
function dayWindow(now) {
  const day = Math.floor((now - 12 * 3_600_000) / DAY_MS);
  const dayStart = day * DAY_MS;
  return {
    day, dayStart, dayEnd: dayStart + DAY_MS,
    windowStart: Math.max(dayStart, now - 23 * 3_600_000),
    windowEnd: Math.min(dayStart + DAY_MS, now - 60_000),
  };
}

async function ingestPhase(collector, { name, source, durationMs, maxBeacons = Infinity, sessions = () => null, concurrency = CONCURRENCY }) {
  step(`ingest: ${name} (${concurrency} in flight${maxBeacons < Infinity ? `, up to ${maxBeacons} beacons` : ""}, at most ${Math.round(durationMs / 1000)} s)`);
  const cpu0 = collector.cpu();
  const result = await runLoad({
    url: `${collector.origin}/collect`,
    origin: collector.sender,
    source,
    concurrency,
    durationMs,
    maxBeacons,
    onProgress: (p) => log(`  ${name}: ${p.beacons} beacons in ${(p.elapsedMs / 1000).toFixed(0)} s (${Math.round(p.beacons / (p.elapsedMs / 1000))}/s)`),
  });
  const cpu1 = collector.cpu();
  const workerdCpuMs = cpu1.workerdMs - cpu0.workerdMs;
  const out = {
    name,
    concurrency,
    sessions: sessions(),
    beacons: result.beacons,
    accepted: result.accepted,
    errors: result.errorCount,
    errorsByStatus: result.errors,
    errorSample: result.sample,
    seconds: round1(result.elapsedMs / 1000),
    perSecond: round1(result.perSecond),
    p50Ms: round1(result.p50Ms),
    p99Ms: round1(result.p99Ms),
    workerdCpuMs: Math.round(workerdCpuMs),
    wranglerCpuMs: Math.round(cpu1.wranglerMs - cpu0.wranglerMs),
    cpuMsPerBeacon: result.beacons ? Math.round((workerdCpuMs / result.beacons) * 100) / 100 : null,
    cpuCoresBusy: round1(workerdCpuMs / result.elapsedMs),
    // SQLite rows per accepted beacon, by phase (the session object's own rows; the index
    // shard's), as the runtime counted them.
    rowsPerBeacon: result.rows.reported ? {
      beacons: result.rows.reported,
      sessionRead: round1(result.rows.session.read / result.rows.reported),
      sessionWritten: round1(result.rows.session.written / result.rows.reported),
      indexRead: round1(result.rows.index.read / result.rows.reported),
      indexWritten: round1(result.rows.index.written / result.rows.reported),
    } : null,
  };
  log(`  ${name}: ${out.beacons} requests, ${out.perSecond}/s, p50 ${out.p50Ms} ms, p99 ${out.p99Ms} ms, ${out.errors} non-2xx, workerd ${out.cpuMsPerBeacon} CPU-ms each`);
  const r = out.rowsPerBeacon;
  if (r) log(`  ${name}: rows per beacon: session object ${r.sessionWritten} written / ${r.sessionRead} read; index shard ${r.indexWritten} written / ${r.indexRead} read`);
  if (out.errors) log(`  ${name}: first non-2xx: ${out.errorSample.join(" | ")}`);
  return out;
}

/**
 * The phases: the local runtime's floor (a malformed beacon the worker refuses at once), a
 * steady 1k-session phase, then new sessions only (one first beacon each) until the day
 * holds 10k and then DAY_SESSIONS sessions, or the time cap stops it.
 */
async function ingest(collector, window, readSmall) {
  const phases = [];
  const floor = { nextBody: () => "{" };
  phases.push({ kind: "floor", ...(await ingestPhase(collector, { name: "floor: malformed beacon, answered 400 by the worker", source: floor, durationMs: 10_000 })) });
  const steady = new SessionPool({ size: 1_000, site: "demo", windowStart: window.windowStart, windowEnd: window.windowEnd, seed: 1 });
  // The pool's first pass creates its sessions; the steady phase after it only continues them.
  phases.push({ kind: "create", ...(await ingestPhase(collector, { name: "first beacons: 1k new sessions", source: steady, durationMs: 120_000, maxBeacons: 1_000, sessions: () => steady.created })) });
  phases.push(await ingestPhase(collector, { name: "steady: 1k sessions continued, round-robin", source: steady, durationMs: INGEST_S * 1000, sessions: () => steady.created }));
  // Service time without queueing: one request at a time, continuing the same sessions.
  phases.push({ kind: "serial", ...(await ingestPhase(collector, { name: "steady: 1k sessions, 1 in flight", source: steady, durationMs: 10_000, sessions: () => steady.created, concurrency: 1 })) });
  const small = readSmall ? await readSmall([steady]) : null;
  const fresh = new SessionPool({ size: DAY_SESSIONS, site: "demo", windowStart: window.windowStart, windowEnd: window.windowEnd, seed: 2 });
  const capEnds = performance.now() + DAY_CAP_S * 1000;
  for (const target of [10_000, DAY_SESSIONS]) {
    const want = target - steady.created - fresh.created;
    const left = capEnds - performance.now();
    if (want <= 0 || left <= 1000) continue;
    const phase = await ingestPhase(collector, {
      name: `new sessions: day ${(steady.created + fresh.created).toLocaleString("en")} → ${target.toLocaleString("en")}`,
      source: fresh, durationMs: left, maxBeacons: want, sessions: () => steady.created + fresh.created,
    });
    phase.daySessionsAfter = steady.created + fresh.created;
    phases.push(phase);
  }
  // What the time cap left of the day is listed directly in the index shards (POST
  // /bench/seed: the same reducer and upsert, no session objects), so the read path is
  // measured on a day of DAY_SESSIONS sessions.
  const seeded = new SessionPool({ size: DAY_SESSIONS, site: "demo", windowStart: window.windowStart, windowEnd: window.windowEnd, seed: 3 });
  const toSeed = DAY_SESSIONS - steady.created - fresh.created;
  if (toSeed > 0) {
    step(`seeding the day's index shards: ${toSeed.toLocaleString("en")} more sessions (read path only)`);
    const t0 = performance.now();
    for (let done = 0; done < toSeed;) {
      const n = Math.min(500, toSeed - done);
      const bodies = Array.from({ length: n }, () => JSON.parse(seeded.nextBody()));
      const r = await fetch(`${collector.origin}/bench/seed`, { method: "POST", headers: { origin: collector.sender }, body: JSON.stringify(bodies) });
      if (r.status !== 202) throw new Error(`seed: ${r.status} ${await r.text()}`);
      done += n;
      if (done % 10_000 < 500) log(`  seeded ${done.toLocaleString("en")} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    phases.push({ kind: "seed", name: "seeded (index shards only)", beacons: toSeed, seconds: round1((performance.now() - t0) / 1000), sessions: steady.created + fresh.created + toSeed });
  }
  return { phases, pools: [steady, fresh], small };
}

async function timed(collector, path, { times, capMs, method = "GET" }) {
  const ms = [];
  const statuses = {};
  let resent = 0;
  let last = null;
  const cpu0 = collector.cpu().workerdMs;
  const started = performance.now();
  for (let i = 0; i < times && performance.now() - started < capMs; i++) {
    const r = await collector.read(typeof path === "function" ? path(i) : path, method);
    ms.push(r.ms);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    resent += r.resent;
    last = r;
  }
  const cpu = collector.cpu().workerdMs - cpu0;
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    requests: ms.length, statuses, resent, firstMs: round1(ms[0]), p50Ms: round1(percentile(sorted, 50)), p99Ms: round1(percentile(sorted, 99)),
    maxMs: round1(sorted.at(-1)), workerdCpuMsPerRequest: Math.round(cpu / ms.length), last,
  };
}

/** Sessions erased so far by the read path's erase measurement. */
const erased = new Set();

async function readPath(collector, window, pools, { label = "the filled day", scale = 1 } = {}) {
  step(`read path on ${label}`);
  const range = `site=demo&from=${window.dayStart}&to=${window.dayEnd}`;
  const stats = await timed(collector, `/api/stats?${range}`, { times: Math.ceil(30 * scale), capMs: 90_000 });
  const daySessions = stats.last?.status === 200 ? JSON.parse(stats.last.body).sessions : null;
  log(`  stats: ${daySessions} sessions in the day; p50 ${stats.p50Ms} ms, p99 ${stats.p99Ms} ms over ${stats.requests}`);
  // A filtered request cannot use the tallies: it counts the shard's rows in range.
  const statsFiltered = await timed(collector, `/api/stats?${range}&channel=search`, { times: Math.ceil(10 * scale), capMs: 60_000 });
  log(`  stats, filtered: p50 ${statsFiltered.p50Ms} ms, p99 ${statsFiltered.p99Ms} ms over ${statsFiltered.requests}`);
  const list = await timed(collector, `/api/sessions?${range}&limit=50`, { times: Math.ceil(100 * scale), capMs: 60_000 });
  const listed = list.last?.status === 200 ? JSON.parse(list.last.body).sessions.length : null;
  log(`  list 50: p50 ${list.p50Ms} ms, p99 ${list.p99Ms} ms over ${list.requests} (${listed} listed)`);
  // A second page, through the cursor the first page returned.
  const cursor = list.last?.status === 200 ? JSON.parse(list.last.body).next_cursor : null;
  const list2 = cursor
    ? await timed(collector, `/api/sessions?${range}&limit=50&cursor=${encodeURIComponent(cursor)}`, { times: Math.ceil(50 * scale), capMs: 30_000 })
    : null;
  const sids = pools.flatMap((p) => p.sessions.slice(0, 40).map((s) => s.sid));
  const timeline = await timed(collector, (i) => `/api/sessions/${sids[i % sids.length]}?site=demo`, { times: Math.ceil(100 * scale), capMs: 60_000 });
  log(`  timeline: p50 ${timeline.p50Ms} ms, p99 ${timeline.p99Ms} ms over ${timeline.requests}`);
  // Last, as it changes the day: erasure rewrites the session's shard (a quarter of the day).
  const victims = pools.flatMap((p) => p.sessions.slice(40).map((s) => s.sid)).filter((sid) => !erased.has(sid));
  const erase = await timed(collector, (i) => {
    erased.add(victims[i]);
    return `/api/sessions/${victims[i]}?site=demo`;
  }, { times: Math.min(victims.length, Math.ceil(6 * scale)), capMs: 120_000, method: "DELETE" });
  log(`  erase: p50 ${erase.p50Ms} ms, p99 ${erase.p99Ms} ms over ${erase.requests} (statuses ${JSON.stringify(erase.statuses)}; ${erase.resent} sent again after wrangler dev dropped them)`);
  const strip = ({ last, ...rest }) => rest;
  return { daySessions, day: new Date(window.dayStart).toISOString().slice(0, 10), stats: strip(stats), statsFiltered: strip(statsFiltered), list: strip(list), listPage2: list2 && strip(list2), timeline: strip(timeline), erase: strip(erase) };
}

/**
 * A year of past days (YEAR_DAY_SESSIONS sessions each, through /bench/seed with each day's
 * receive time), rolled up by the month rollups' alarms; then the reads a dashboard makes
 * for 12 months, timed, with the Durable Object subrequests each made (`stint-subrequests`).
 */
async function yearPath(collector, skipDay) {
  const DAY = 86_400_000;
  const today = Math.floor(Date.now() / DAY) * DAY;
  step(`a year of days: ${YEAR_DAY_SESSIONS} sessions each, seeded with their own receive time`);
  const t0 = performance.now();
  let seeded = 0;
  for (let d = 365; d >= 1; d--) {
    const dayStart = today - d * DAY;
    if (dayStart === skipDay) continue;
    const pool = new SessionPool({ size: YEAR_DAY_SESSIONS, site: "demo", windowStart: dayStart, windowEnd: dayStart + DAY, seed: 1000 + d });
    const bodies = Array.from({ length: YEAR_DAY_SESSIONS }, () => JSON.parse(pool.nextBody()));
    const r = await fetch(`${collector.origin}/bench/seed?now=${dayStart + DAY - 60_000}`, { method: "POST", headers: { origin: collector.sender }, body: JSON.stringify(bodies) });
    if (r.status !== 202) throw new Error(`seed: ${r.status} ${await r.text()}`);
    seeded += bodies.length;
    if (d % 60 === 0) log(`  seeded ${seeded.toLocaleString("en")} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const seedSeconds = round1((performance.now() - t0) / 1000);
  // The rollups copy every closed day; a read of them alone is answered by 13 month objects.
  const closed = `site=demo&from=${today - 365 * DAY}&to=${today - DAY}`;
  const t1 = performance.now();
  let waited = null;
  for (;;) {
    const r = await collector.read(`/api/stats?${closed}`);
    const months = new Set([...Array(364).keys()].map((i) => new Date(today - 365 * DAY + i * DAY).toISOString().slice(0, 7))).size;
    if (r.status === 200 && r.subrequests === months) { waited = round1((performance.now() - t1) / 1000); break; }
    if (performance.now() - t1 > 900_000) { log("  rollups did not finish within 15 minutes; measuring anyway"); break; }
    await new Promise((ok) => setTimeout(ok, 2_000));
  }
  log(`  seeded ${seeded.toLocaleString("en")} sessions in ${seedSeconds} s; rollups held every closed day ${waited} s later`);
  const year = `site=demo&from=${today - 365 * DAY}&to=${Date.now() + 1}`;
  const reads = {};
  for (const [key, path, times] of [
    ["stats", `/api/stats?${year}`, 30],
    ["statsCompare", `/api/stats?${year}&compare=previous`, 20],
    ["series", `/api/timeseries?${year}&interval=month&compare=previous`, 20],
    ["statsFiltered", `/api/stats?${year}&channel=search`, 5],
    ["breakdownPage", `/api/breakdown?${year}&by=page`, 5],
    ["list", `/api/sessions?${year}&limit=50`, 20],
    ["live", `/api/live?site=demo`, 20],
  ]) {
    const t = await timed(collector, path, { times, capMs: 120_000 });
    reads[key] = { ...(({ last, ...rest }) => rest)(t), subrequests: t.last?.subrequests ?? null };
    log(`  ${key}: p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms over ${t.requests}; ${t.last?.subrequests} subrequests`);
  }
  // The 12-month overview as the dashboard loads it: totals with comparison and the monthly
  // series with comparison, side by side.
  const overview = [];
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    await Promise.all([collector.read(`/api/stats?${year}&compare=previous`), collector.read(`/api/timeseries?${year}&interval=month&compare=previous`)]);
    overview.push(performance.now() - t);
  }
  overview.sort((a, b) => a - b);
  reads.overview = { requests: overview.length, p50Ms: round1(percentile(overview, 50)), p99Ms: round1(percentile(overview, 99)) };
  log(`  12-month overview (stats + series, both compared): p50 ${reads.overview.p50Ms} ms`);
  return { daySessions: YEAR_DAY_SESSIONS, sessions: seeded, seedSeconds, rollupSeconds: waited, reads };
}

/**
 * Funnels, paths, link maps and breakdowns (site `journeys`, multi-page sessions with events
 * and clicks, journeys.mjs): a day filled to each of JOURNEY_SIZES and the reads timed at
 * each size, then six earlier days of WEEK_DAY_SESSIONS and the same reads over the week.
 */
async function journeysPath(collector) {
  const site = "journeys";
  const end = Date.now() - 60_000;
  const dayFrom = end - 21 * 3_600_000;
  let journeyBytes = 0;
  let journeyMax = 0;
  let seededAll = 0;
  let seed = 20_000;
  const fill = async (from, to, n, now) => {
    for (let done = 0; done < n;) {
      const k = Math.min(500, n - done);
      const bodies = journeySessions({ site, from, to, n: k, seed: seed++ });
      const r = await fetch(`${collector.origin}/bench/seed?now=${now}`, { method: "POST", headers: { origin: collector.sender }, body: JSON.stringify(bodies) });
      if (r.status !== 202) throw new Error(`seed: ${r.status} ${await r.text()}`);
      const answer = JSON.parse(await r.text());
      journeyBytes += answer.journey_bytes;
      journeyMax = Math.max(journeyMax, answer.journey_max_bytes);
      done += k;
      seededAll += k;
    }
  };
  const measure = async (from, to, times) => {
    const reads = {};
    for (const [key, label, path] of JOURNEY_READS) {
      const t = await timed(collector, `${path}&site=${site}&from=${from}&to=${to}`, { times, capMs: 90_000 });
      if (t.last?.status !== 200) throw new Error(`${label}: ${t.last?.status} ${t.last?.body}`);
      reads[key] = { label, ...(({ last, ...rest }) => rest)(t), subrequests: t.last?.subrequests ?? null };
      log(`  ${label}: p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms over ${t.requests}; ${t.last?.subrequests} subrequests`);
    }
    return reads;
  };
  const bySize = [];
  let inDay = 0;
  for (const size of JOURNEY_SIZES) {
    step(`journeys: a day of ${size.toLocaleString("en")} multi-page sessions (site ${site})`);
    const t0 = performance.now();
    await fill(dayFrom, end, size - inDay, end);
    inDay = size;
    log(`  seeded in ${round1((performance.now() - t0) / 1000)} s`);
    bySize.push({ sessions: size, reads: await measure(dayFrom, end + 1, 5) });
  }
  step(`journeys: six earlier days of ${WEEK_DAY_SESSIONS.toLocaleString("en")} sessions, then the week`);
  const weekFrom = dayFrom - 6 * DAY_MS;
  for (let d = 6; d >= 1; d--) {
    const from = dayFrom - d * DAY_MS;
    await fill(from, from + DAY_MS, WEEK_DAY_SESSIONS, from + DAY_MS - 60_000);
  }
  // The month rollups copy the closed days; give them a while, as a site's readers would.
  const t1 = performance.now();
  let settled = null;
  let last = null;
  for (;;) {
    const r = await collector.read(`/api/stats?site=${site}&from=${weekFrom}&to=${end + 1}`);
    if (r.status === 200 && r.subrequests === last) { settled = round1((performance.now() - t1) / 1000); break; }
    last = r.subrequests;
    if (performance.now() - t1 > 300_000) break;
    await new Promise((ok) => setTimeout(ok, 5_000));
  }
  log(`  rollups settled after ${settled} s`);
  const weekSessions = inDay + 6 * WEEK_DAY_SESSIONS;
  const week = { sessions: weekSessions, reads: await measure(weekFrom, end + 1, 5) };
  return {
    bySize, week, rollupSettleSeconds: settled,
    journeyBytes: { sessions: seededAll, mean: round1(journeyBytes / seededAll), max: journeyMax },
  };
}

async function main() {
  const started = performance.now();
  // When each step was measured ("YYYY-MM-DD HH:MM UTC"): a run of some steps keeps the
  // others' figures, and BENCHMARKS.md's header says from when.
  const stamp = new Date().toISOString().replace("T", " ").slice(0, 16) + " UTC";
  const results = { steps: STEPS, measuredSteps: STEPS, measuredAt: Object.fromEntries(STEPS.map((s) => [s, stamp])), config: { runs: RUNS, ingestSeconds: INGEST_S, daySessions: DAY_SESSIONS, dayCapSeconds: DAY_CAP_S, concurrency: CONCURRENCY } };
  if (STEPS.includes("size")) results.sizes = await sizes();
  const needsCollector = STEPS.some((s) => ["browser", "ingest", "read", "year", "journeys"].includes(s));
  if (needsCollector) {
    const page = await startPageServer({
      pageFile: join(root, "xtask/bench/page/page.html"),
      trackerDir: join(root, "target/npm/package"),
      peersDir: join(root, "target/bench/browser"),
    });
    step("starting the collector (wrangler dev, fresh state)");
    const collector = await startCollector({ root, origins: [page.origin] });
    log(`  collector ${collector.origin}, workerd pid(s) ${collector.workerdPids.join(", ") || "not found"}`);
    try {
      if (STEPS.includes("browser")) {
        step(`main-thread cost in Chromium (${RUNS} runs × 5 pages, interleaved)`);
        results.browser = await mainThreadBench({ pageOrigin: page.origin, stintCollector: collector.origin, runs: RUNS, log });
        results.browser.sinkReceived = { ...page.received };
        for (const [t, m] of Object.entries(results.browser.trackers)) {
          log(`  ${t.padEnd(10)} ready ${round1(m.readyMs)} ms, load script ${round1(m.loadScriptMs)} ms, interaction script ${round1(m.interactScriptMs)} ms`);
        }
        step("where Stint's main-thread time goes (V8 sampling profiler, 3 runs; long tasks)");
        results.profile = await profileBench({ pageOrigin: page.origin, stintCollector: collector.origin, log });
        log(`  by part (ms a run): ${Object.entries(results.profile.parts).map(([k, v]) => `${k} ${v}`).join(", ")}`);
        for (const f of results.profile.functions.slice(0, 8)) log(`  ${f.ms} ms  ${f.name}`);
        log(`  long tasks > 50 ms: ${JSON.stringify(results.profile.longTasks)}`);
        log(`  long animation frames of the Stint page: ${JSON.stringify(results.profile.longFrames)}`);
      }
      if (STEPS.includes("ingest") || STEPS.includes("read")) {
        const window = dayWindow(Date.now());
        const readSmall = STEPS.includes("read")
          ? (pools) => readPath(collector, window, pools, { label: "the day after the steady phase", scale: 0.3 })
          : null;
        const { phases, pools, small } = await ingest(collector, window, readSmall);
        results.ingest = { phases, day: new Date(window.dayStart).toISOString().slice(0, 10) };
        if (small) results.readSmall = small;
        if (STEPS.includes("read")) results.read = await readPath(collector, window, pools);
      }
      if (STEPS.includes("year")) results.year = await yearPath(collector, dayWindow(Date.now()).dayStart);
      if (STEPS.includes("journeys")) results.journeys = await journeysPath(collector);
    } finally {
      await collector.stop();
      await page.close();
    }
  }
  results.seconds = Math.round((performance.now() - started) / 1000);
  await mkdir(join(root, "target/bench"), { recursive: true });
  // A run of some steps keeps the other steps' figures of the last full run.
  if (process.env.STINT_BENCH_STEPS) {
    const earlier = await readFile(join(root, "target/bench/results.json"), "utf8").then(JSON.parse).catch(() => ({}));
    for (const [k, v] of Object.entries(earlier)) if (!(k in results) || k === "steps" || k === "config") results[k] ??= v;
    results.steps = [...new Set([...(earlier.steps ?? []), ...STEPS])];
    results.measuredAt = { ...(earlier.measuredAt ?? {}), ...results.measuredAt };
  }
  await writeFile(join(root, "target/bench/results.json"), JSON.stringify(results, null, 2));
  step(`measurements written to target/bench/results.json (${results.seconds} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
