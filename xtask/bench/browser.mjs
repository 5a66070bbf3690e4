// Main-thread cost of each tracker in Debian's Chromium: the same page (page/page.html) with
// Stint, Plausible, Snowplow, PostHog or no tracker, measured with the Chrome DevTools
// Protocol's Performance.getMetrics (ScriptDuration, TaskDuration: main-thread time of the
// page's renderer) at three points: before navigation, once the tracker is ready, and around
// 200 scripted scroll steps and 50 clicks. Runs are interleaved (every round loads each
// tracker once, in a rotated order) so drift on a shared machine spreads over all of them.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { chromium } from "playwright-core";
import { percentile } from "./load.mjs";

export const TRACKERS = ["none", "stint", "plausible", "snowplow", "posthog"];

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

/**
 * The page's own origin: the page, the Stint package under /tracker/, the peers' bundles
 * under /peers/, and a sink that answers every other request 2xx (the peers' collectors),
 * counting what it received.
 */
export async function startPageServer({ pageFile, trackerDir, peersDir }) {
  const received = { posts: 0, gets: 0 };
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    let file = null;
    if (path === "/page.html") file = pageFile;
    else if (path.startsWith("/tracker/")) file = join(trackerDir, path.slice("/tracker/".length));
    else if (path.startsWith("/peers/")) file = join(peersDir, path.slice("/peers/".length));
    if (file && !file.includes("..")) {
      try {
        const body = await readFile(file);
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
        res.end(body);
        return;
      } catch {}
    }
    // The sink: drain the body, answer 2xx so no peer retries or logs an error.
    for await (const _ of req);
    if (req.method === "POST") received.posts++;
    else received.gets++;
    if (path.endsWith(".js")) res.writeHead(200, { "content-type": "text/javascript" }).end("");
    else res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    received,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(ok); }),
  };
}

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function metrics(cdp) {
  const { metrics } = await cdp.send("Performance.getMetrics");
  const get = (name) => (metrics.find((m) => m.name === name)?.value ?? 0) * 1000;
  return { script: get("ScriptDuration"), task: get("TaskDuration") };
}

const diff = (a, b) => ({ script: b.script - a.script, task: b.task - a.task });

/** The scripted interaction every run does: 200 wheel-scroll steps, then 50 link clicks. */
async function interact(page) {
  await page.mouse.move(640, 400);
  for (let i = 0; i < 200; i++) {
    await page.mouse.wheel(0, i < 100 ? 60 : -60);
    if (i % 10 === 9) await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  }
  const links = await page.$$eval("nav a", (as) => as.map((a) => { const r = a.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }));
  for (let i = 0; i < 50; i++) {
    const [x, y] = links[i % links.length];
    await page.mouse.click(x, y);
  }
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50))));
}

/** One page load and interaction; the four figures of one run, in ms. */
async function oneRun(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const start = await metrics(cdp);
  await page.goto(url, { waitUntil: "load" });
  const readyAt = await page.evaluate(() => window.benchReady);
  const ready = await metrics(cdp);
  // Let work the tracker scheduled after "ready" (timers, network answers) settle first, so
  // the interaction window measures the listeners.
  await page.waitForTimeout(300);
  const before = await metrics(cdp);
  await interact(page);
  const after = await metrics(cdp);
  await context.close();
  const load = diff(start, ready);
  const interaction = diff(before, after);
  return { readyMs: readyAt, loadScriptMs: load.script, loadTaskMs: load.task, interactScriptMs: interaction.script, interactTaskMs: interaction.task, errors };
}

const median = (xs) => percentile([...xs].sort((a, b) => a - b), 50);

/**
 * Runs every tracker `runs` times. `stintCollector` is where Stint sends (wrangler dev).
 * Returns {runs, trackers: {name: {readyMs, loadScriptMs, …: median}}, errors}.
 */
export async function mainThreadBench({ pageOrigin, stintCollector, runs = 10, log = console.log }) {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ARGS });
  const samples = Object.fromEntries(TRACKERS.map((t) => [t, []]));
  const errors = {};
  try {
    // One warm-up load of each, not counted: the first load pays for Chromium's own caches.
    for (const t of TRACKERS) await oneRun(browser, urlFor(pageOrigin, t, stintCollector));
    for (let round = 0; round < runs; round++) {
      const order = TRACKERS.map((_, i) => TRACKERS[(i + round) % TRACKERS.length]);
      for (const t of order) {
        const run = await oneRun(browser, urlFor(pageOrigin, t, stintCollector));
        samples[t].push(run);
        if (run.errors.length) errors[t] = [...(errors[t] ?? []), ...run.errors].slice(0, 3);
      }
      log(`  main thread: round ${round + 1}/${runs} done`);
    }
  } finally {
    await browser.close();
  }
  const fields = ["readyMs", "loadScriptMs", "loadTaskMs", "interactScriptMs", "interactTaskMs"];
  const trackers = {};
  for (const t of TRACKERS) {
    trackers[t] = Object.fromEntries(fields.map((f) => [f, median(samples[t].map((s) => s[f]))]));
    trackers[t].totalScriptMs = median(samples[t].map((s) => s.loadScriptMs + s.interactScriptMs));
  }
  return { runs, trackers, errors };
}

function urlFor(origin, tracker, collector) {
  return `${origin}/page.html?tracker=${tracker}&collector=${encodeURIComponent(collector)}`;
}

/** What a CPU profile's frame is: Stint's JS entry, its module, the engine, or the rest. */
function partOf(frame) {
  if (frame.url.startsWith("wasm://")) return "stint.wasm";
  if (frame.url.includes("/tracker/")) return "stint.js";
  if (/^\((garbage collector|program|idle|root)\)$/.test(frame.functionName)) return frame.functionName;
  return frame.url ? "page and harness" : "browser (native)";
}

/**
 * Where Stint's main-thread time goes: the V8 sampling profiler (CDP `Profiler`, 50 µs)
 * over `runs` loads and interactions of the Stint page, self time by part and by function;
 * and every long task (> 50 ms, the page's own `longtask` observer) on the Stint page and
 * on the page without a tracker, so a long task the tracker causes shows as a difference.
 * Long tasks are attributed by the page's `long-animation-frame` entries, whose script
 * timings name the script each callback came from: the tracker's script time in each long
 * frame, and whether the frame would have been long without it (`caused`).
 */
export async function profileBench({ pageOrigin, stintCollector, runs = 3, log = console.log }) {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ARGS });
  const parts = {};
  const functions = {};
  const longTasks = { stint: [], none: [] };
  // Long animation frames of the Stint page: [duration, the tracker's script ms in it].
  const longFrames = [];
  let attributed = true;
  let sampledMs = 0;
  try {
    for (let round = 0; round < runs; round++) {
      for (const tracker of ["stint", "none"]) {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        await context.addInitScript(() => {
          window.__long = [];
          try {
            new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
              .observe({ type: "longtask", buffered: true });
          } catch { /* no long task timing */ }
          window.__frames = [];
          try {
            new PerformanceObserver((l) => {
              for (const e of l.getEntries()) {
                const mine = e.scripts.filter((s) => s.sourceURL.includes("/tracker/")).reduce((ms, s) => ms + s.duration, 0);
                window.__frames.push([e.duration, mine]);
              }
            }).observe({ type: "long-animation-frame", buffered: true });
          } catch { window.__frames = null; /* no long animation frame timing */ }
        });
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        const profiling = tracker === "stint";
        if (profiling) {
          await cdp.send("Profiler.enable");
          await cdp.send("Profiler.setSamplingInterval", { interval: 50 });
          await cdp.send("Profiler.start");
        }
        await page.goto(urlFor(pageOrigin, tracker, stintCollector), { waitUntil: "load" });
        await page.waitForFunction(() => window.benchReady !== undefined);
        await interact(page);
        longTasks[tracker].push(...(await page.evaluate(() => window.__long)));
        const frames = tracker === "stint" ? await page.evaluate(() => window.__frames) : [];
        if (frames) longFrames.push(...frames);
        else attributed = false;
        if (profiling) {
          const { profile } = await cdp.send("Profiler.stop");
          const byId = new Map(profile.nodes.map((n) => [n.id, n]));
          profile.samples.forEach((id, i) => {
            const ms = (profile.timeDeltas[i] ?? 0) / 1000;
            const frame = byId.get(id).callFrame;
            const part = partOf(frame);
            sampledMs += ms;
            parts[part] = (parts[part] ?? 0) + ms;
            if (part === "stint.js" || part === "stint.wasm") {
              const name = `${part}: ${frame.functionName || "(anonymous)"}${part === "stint.js" ? `:${frame.lineNumber + 1}` : ""}`;
              functions[name] = (functions[name] ?? 0) + ms;
            }
          });
        }
        await context.close();
      }
      log(`  profile: round ${round + 1}/${runs} done`);
    }
  } finally {
    await browser.close();
  }
  const per = (ms) => Math.round((ms / runs) * 100) / 100;
  const top = Object.entries(functions).sort((a, b) => b[1] - a[1]).slice(0, 15).map(([name, ms]) => ({ name, ms: per(ms) }));
  return {
    runs,
    sampledMs: per(sampledMs),
    parts: Object.fromEntries(Object.entries(parts).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, per(v)])),
    functions: top,
    longTasks: Object.fromEntries(Object.entries(longTasks).map(([t, d]) => [t, { count: d.filter((x) => x > 50).length, maxMs: Math.round(Math.max(0, ...d)) }])),
    // Of the Stint page's long animation frames (> 50 ms): how many ran tracker script at
    // all, the most tracker script time in one, and how many the tracker made long (the
    // frame less the tracker's script would have been 50 ms or less).
    longFrames: attributed ? {
      count: longFrames.length,
      withTracker: longFrames.filter(([, mine]) => mine > 0).length,
      trackerMaxMs: Math.round(Math.max(0, ...longFrames.map(([, mine]) => mine))),
      caused: longFrames.filter(([d, mine]) => mine > 0 && d - mine <= 50).length,
    } : null,
  };
}
