// The measuring half of `cargo xtask bench` (the Rust half builds, bundles and writes
// BENCHMARKS.md from what this prints to target/bench/results.json).
//
//   node xtask/bench/run.mjs <repo root>
//
// Steps: transfer sizes (gzip -9 and brotli q11) · main-thread cost in Chromium · ingest at
// 1k, 10k and 100k distinct sessions · read path on the day those sessions filled.
// Knobs (environment): STINT_BENCH_RUNS (browser runs per tracker, 10), STINT_BENCH_INGEST_S
// (seconds per steady ingest phase, 30), STINT_BENCH_DAY_SESSIONS (sessions of the big phase,
// 100000), STINT_BENCH_DAY_CAP_S (time cap of that phase, 420), STINT_BENCH_CONCURRENCY
// (requests in flight, 32), STINT_BENCH_STEPS (comma list of size,browser,ingest,read).
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { join, resolve } from "node:path";
import { startCollector } from "./collector.mjs";
import { mainThreadBench, startPageServer } from "./browser.mjs";
import { SessionPool, runLoad, percentile } from "./load.mjs";

const root = resolve(process.argv[2] ?? ".");
const env = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
const RUNS = env("STINT_BENCH_RUNS", 10);
const INGEST_S = env("STINT_BENCH_INGEST_S", 30);
const DAY_SESSIONS = env("STINT_BENCH_DAY_SESSIONS", 100_000);
const DAY_CAP_S = env("STINT_BENCH_DAY_CAP_S", 420);
const CONCURRENCY = env("STINT_BENCH_CONCURRENCY", 32);
const STEPS = (process.env.STINT_BENCH_STEPS ?? "size,browser,ingest,read").split(",");
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
    stint_wasm: await sizeOf([join(pkg, "stint_tracker_bg.wasm")]),
    stint_js: await sizeOf([join(pkg, "stint.min.js")]),
    stint: await sizeOf([join(pkg, "stint_tracker_bg.wasm"), join(pkg, "stint.min.js")]),
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

async function ingestPhase(collector, { name, pool, durationMs, maxBeacons }) {
  step(`ingest: ${name} (${CONCURRENCY} in flight${maxBeacons < Infinity ? `, ${maxBeacons} beacons` : ""}, at most ${Math.round(durationMs / 1000)} s)`);
  const cpu0 = collector.cpu();
  const result = await runLoad({
    url: `${collector.origin}/collect`,
    origin: collector.origin,
    source: pool,
    concurrency: CONCURRENCY,
    durationMs,
    maxBeacons,
    onProgress: (p) => log(`  ${name}: ${p.beacons} beacons in ${(p.elapsedMs / 1000).toFixed(0)} s (${Math.round(p.beacons / (p.elapsedMs / 1000))}/s), ${pool.created} sessions`),
  });
  const cpu1 = collector.cpu();
  const workerdCpuMs = cpu1.workerdMs - cpu0.workerdMs;
  const out = {
    name,
    sessions: pool.created,
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
  };
  log(`  ${name}: ${out.beacons} beacons, ${out.perSecond}/s, p50 ${out.p50Ms} ms, p99 ${out.p99Ms} ms, ${out.errors} errors, workerd ${out.cpuMsPerBeacon} CPU-ms/beacon`);
  if (out.errors) log(`  ${name}: first errors: ${out.errorSample.join(" | ")}`);
  return out;
}

async function ingest(collector, window) {
  const phases = [];
  const pools = [];
  const plan = [
    { name: "1k sessions", size: 1_000, durationMs: INGEST_S * 1000, maxBeacons: Infinity },
    { name: "10k sessions", size: 10_000, durationMs: INGEST_S * 1000, maxBeacons: Infinity },
    { name: `${DAY_SESSIONS / 1000}k sessions`, size: DAY_SESSIONS, durationMs: DAY_CAP_S * 1000, maxBeacons: DAY_SESSIONS },
  ];
  let seed = 1;
  for (const p of plan) {
    const pool = new SessionPool({ size: p.size, site: "demo", windowStart: window.windowStart, windowEnd: window.windowEnd, seed: seed++ });
    pools.push(pool);
    phases.push(await ingestPhase(collector, { ...p, pool }));
  }
  return { phases, pools };
}

async function timed(collector, path, { times, capMs }) {
  const ms = [];
  const statuses = {};
  let last = null;
  const cpu0 = collector.cpu().workerdMs;
  const started = performance.now();
  for (let i = 0; i < times && performance.now() - started < capMs; i++) {
    const r = await collector.read(typeof path === "function" ? path(i) : path);
    ms.push(r.ms);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    last = r;
  }
  const cpu = collector.cpu().workerdMs - cpu0;
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    requests: ms.length, statuses, firstMs: round1(ms[0]), p50Ms: round1(percentile(sorted, 50)), p99Ms: round1(percentile(sorted, 99)),
    maxMs: round1(sorted.at(-1)), workerdCpuMsPerRequest: Math.round(cpu / ms.length), last,
  };
}

async function readPath(collector, window, pools) {
  step("read path on the filled day");
  const range = `site=demo&from=${window.dayStart}&to=${window.dayEnd}`;
  const stats = await timed(collector, `/api/stats?${range}`, { times: 30, capMs: 90_000 });
  const daySessions = stats.last?.status === 200 ? JSON.parse(stats.last.body).sessions : null;
  log(`  stats: ${daySessions} sessions in the day; p50 ${stats.p50Ms} ms, p99 ${stats.p99Ms} ms over ${stats.requests}`);
  const list = await timed(collector, `/api/sessions?${range}&limit=50`, { times: 100, capMs: 60_000 });
  const listed = list.last?.status === 200 ? JSON.parse(list.last.body).sessions.length : null;
  log(`  list 50: p50 ${list.p50Ms} ms, p99 ${list.p99Ms} ms over ${list.requests} (${listed} listed)`);
  // A second page, through the cursor the first page returned.
  const cursor = list.last?.status === 200 ? JSON.parse(list.last.body).next_cursor : null;
  const list2 = cursor
    ? await timed(collector, `/api/sessions?${range}&limit=50&cursor=${encodeURIComponent(cursor)}`, { times: 50, capMs: 30_000 })
    : null;
  const sids = pools.flatMap((p) => p.sessions.slice(0, 40).map((s) => s.sid));
  const timeline = await timed(collector, (i) => `/api/sessions/${sids[i % sids.length]}?site=demo`, { times: 100, capMs: 60_000 });
  log(`  timeline: p50 ${timeline.p50Ms} ms, p99 ${timeline.p99Ms} ms over ${timeline.requests}`);
  const strip = ({ last, ...rest }) => rest;
  return { daySessions, day: new Date(window.dayStart).toISOString().slice(0, 10), stats: strip(stats), list: strip(list), listPage2: list2 && strip(list2), timeline: strip(timeline) };
}

async function main() {
  const started = performance.now();
  const results = { steps: STEPS, config: { runs: RUNS, ingestSeconds: INGEST_S, daySessions: DAY_SESSIONS, dayCapSeconds: DAY_CAP_S, concurrency: CONCURRENCY } };
  if (STEPS.includes("size")) results.sizes = await sizes();
  const needsCollector = STEPS.some((s) => ["browser", "ingest", "read"].includes(s));
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
      }
      if (STEPS.includes("ingest") || STEPS.includes("read")) {
        const window = dayWindow(Date.now());
        const { phases, pools } = await ingest(collector, window);
        results.ingest = { phases, day: new Date(window.dayStart).toISOString().slice(0, 10) };
        if (STEPS.includes("read")) results.read = await readPath(collector, window, pools);
      }
    } finally {
      await collector.stop();
      await page.close();
    }
  }
  results.seconds = Math.round((performance.now() - started) / 1000);
  await mkdir(join(root, "target/bench"), { recursive: true });
  await writeFile(join(root, "target/bench/results.json"), JSON.stringify(results, null, 2));
  step(`measurements written to target/bench/results.json (${results.seconds} s)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
