// A steady load on the collector: honest sessions beaconing at a fixed rate (open loop: the
// next beacon leaves on schedule, not when the last answer came), for a fixed time. Reports
// beacons/s, errors, latency percentiles and workerd's resident memory over the run; then
// the honest load's latency alone and beside one session flooding (flood isolation).
//
//   node tests/support/load.mjs [--seconds 60] [--rate 25] [--session-batches 20] [--flood-rate 100]
//   (or `cargo xtask load …`)
//
// Also a module: `runLoad(collector, options)` for tests that need traffic in the background.
// Each session sends at most one batch every two seconds (well under the per-session limit
// of 2/s) and ends after 20 batches (`--session-batches`), when a new one takes its place, so
// the run keeps creating session objects and index rows as real traffic does.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { startCollector } from "./collector.mjs";

const PAGES = ["/", "/pricing", "/docs", "/blog", "/about", "/signup"];

function nextBatch(session, now) {
  const seq = session.seq++;
  const events = [];
  if (seq % 4 === 0) {
    session.page = seq / 4;
    events.push({ type: "pageview", ts: now, page: session.page, url: `https://demo.local${PAGES[(seq / 4) % PAGES.length]}?utm_source=load`, title: "Load" });
  }
  events.push({ type: "engage", ts: now, page: session.page, active_ms: 1000 + (seq % 7) * 100, scroll: (seq * 13) % 101 });
  if (seq % 3 === 1) events.push({ type: "click", ts: now, page: session.page, href: "https://example.org/", outbound: true });
  return JSON.stringify({ v: 1, site: "demo", sid: session.sid, seq, events });
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);

async function workerdRssKb(collector) {
  const procs = await collector.processes();
  return procs.filter((p) => p.command.startsWith("workerd")).reduce((n, p) => n + p.rssKb, 0);
}

/**
 * Sends `rate` beacons a second for `seconds` straight to the collector's workerd port.
 * Returns {sent, accepted, errors, skipped, resent, errorSamples, seconds, rate, p50, p99, max,
 * rss: [{t, kb}]}.
 */
export async function runLoad(collector, { seconds = 60, rate = 25, maxInFlight = 64, sessionBatches = 20, onTick, floodRate = 0 } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const sessionsNeeded = Math.ceil(rate * 2) + 1;
  const sessions = Array.from({ length: sessionsNeeded }, () => ({ sid: randomUUID(), seq: 0, page: 0 }));
  let turn = 0;
  const latencies = [];
  const errorSamples = [];
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  let inFlight = 0;
  let skipped = 0;
  const rss = [{ t: 0, kb: await workerdRssKb(collector) }];

  let resent = 0;
  // wrangler dev answers 503 "Your worker restarted mid-request" (and drops the connections
  // in flight) when it swaps the local runtime under us; a beacon is idempotent by
  // (sid, seq), so it is sent again, as a tracker's retry would, and counted apart.
  const post = async (body) => {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      const r = await postOnce(body);
      const devRestart = (r.status === 503 && r.text.includes("restarted mid-request")) || r.status === 0;
      if (!devRestart || attempt === 3) return { ...r, ms: performance.now() - started };
      resent++;
      await new Promise((ok) => setTimeout(ok, 100));
    }
  };
  const postOnce = (body) => new Promise((ok) => {
    const started = performance.now();
    const req = http.request({ host: "127.0.0.1", port: collector.port, method: "POST", path: "/collect", agent,
      headers: { "content-type": "text/plain;charset=UTF-8", "content-length": Buffer.byteLength(body), "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36" } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => ok({ status: res.statusCode, ms: performance.now() - started, text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", (e) => ok({ status: 0, ms: performance.now() - started, text: e.message }));
    req.end(body);
  });

  const begin = performance.now();
  const pending = [];
  // A flood: one session sending `floodRate` batches a second, far past its limit of 2/s,
  // beside the honest traffic. Its answers are counted apart by status.
  const flood = { sent: 0, statuses: {} };
  let flooding = floodRate > 0;
  const floodDone = (async () => {
    const victim = { sid: randomUUID(), seq: 0, page: 0 };
    const floodPending = [];
    for (let i = 0; flooding; i++) {
      const due = begin + (i * 1000) / floodRate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!flooding) break;
      flood.sent++;
      floodPending.push(postOnce(nextBatch(victim, Date.now())).then((r) => {
        flood.statuses[r.status] = (flood.statuses[r.status] ?? 0) + 1;
      }));
    }
    await Promise.all(floodPending);
  })();
  let nextSample = 10_000;
  for (let i = 0; ; i++) {
    const due = begin + (i * 1000) / rate;
    const now = performance.now();
    if (now - begin >= seconds * 1000) break;
    if (due > now) await new Promise((r) => setTimeout(r, due - now));
    if (performance.now() - begin >= nextSample) {
      rss.push({ t: nextSample / 1000, kb: await workerdRssKb(collector) });
      onTick?.({ t: nextSample / 1000, sent, accepted, errors, rssKb: rss.at(-1).kb });
      nextSample += 10_000;
    }
    if (inFlight >= maxInFlight) { skipped++; continue; }
    // Round robin over the sessions: each gets a turn every `sessionsNeeded / rate` s ≥ 2 s.
    const slot = turn++ % sessions.length;
    if (sessions[slot].seq >= sessionBatches) sessions[slot] = { sid: randomUUID(), seq: 0, page: 0 };
    const body = nextBatch(sessions[slot], Date.now());
    sent++;
    inFlight++;
    pending.push(post(body).then((r) => {
      inFlight--;
      latencies.push(r.ms);
      if (r.status === 202) accepted++;
      else {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${r.status} ${r.text.slice(0, 120)}`);
      }
    }));
  }
  await Promise.all(pending);
  flooding = false;
  await floodDone;
  const elapsed = (performance.now() - begin) / 1000;
  rss.push({ t: Math.round(elapsed), kb: await workerdRssKb(collector) });
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    sent, accepted, errors, skipped, resent, errorSamples, seconds: elapsed, flood,
    rate: accepted / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1), rss,
  };
}

async function main() {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const seconds = arg("seconds", 60);
  const rate = arg("rate", 25);
  // Batches per session before a new session takes its slot (new sessions mean new objects).
  const sessionBatches = arg("session-batches", 20);
  console.log(`==> starting a fresh collector (wrangler dev, workerd) for a ${seconds} s load at ${rate} beacons/s`);
  const collector = await startCollector();
  let result;
  const isolation = [];
  const floodRate = arg("flood-rate", 100);
  try {
    // Warm-up: the first objects and the worker's first instantiation are not the steady state.
    await runLoad(collector, { seconds: 5, rate: Math.min(rate, 20) });
    result = await runLoad(collector, {
      seconds, rate, sessionBatches,
      onTick: (t) => console.log(`  ${String(t.t).padStart(3)} s  sent ${t.sent}  accepted ${t.accepted}  errors ${t.errors}  workerd RSS ${(t.rssKb / 1024).toFixed(1)} MiB`),
    });
    // Flood isolation: the same honest load without, with, and again without one session
    // flooding at `--flood-rate` batches/s; six 10 s phases, alternating, so drift hits both.
    console.log(`==> flood isolation: honest load at ${rate}/s, alternately alone and beside one session sending ${floodRate} batches/s`);
    for (let round = 0; round < 6; round++) {
      const flooded = round % 2 === 1;
      const r = await runLoad(collector, { seconds: 10, rate, sessionBatches, floodRate: flooded ? floodRate : 0 });
      isolation.push({ flooded, ...r });
      const statuses = Object.entries(r.flood.statuses).map(([k, v]) => `${v}×${k}`).join(" ");
      console.log(`  ${flooded ? "with flood   " : "without flood"}  honest p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms  errors ${r.errors}${flooded ? `  flood: ${r.flood.sent} sent, ${statuses}` : ""}`);
    }
  } finally {
    await collector.stop();
  }
  const notable = collector.logs.join("").split("\n").filter((l) => /error|memory|restart|exceeded/i.test(l) && !l.includes("workers.cloudflare.com"));
  if (notable.length) console.log(`  wrangler/workerd said:\n    ${notable.slice(0, 10).join("\n    ")}`);
  const mib = (kb) => (kb / 1024).toFixed(1);
  const startRss = result.rss[0].kb;
  const endRss = result.rss.at(-1).kb;
  // Live session objects take memory until workerd evicts them when idle, so RSS rises at
  // first; what must not happen is growth that goes on: the last third is compared.
  const third = result.rss.find((s) => s.t >= (2 * seconds) / 3) ?? result.rss[0];
  console.log("");
  console.log(`  beacons sent      ${result.sent} in ${result.seconds.toFixed(1)} s (target ${rate}/s; ${result.skipped} not sent because 64 were already in flight)`);
  console.log(`  accepted (202)    ${result.accepted}  → ${result.rate.toFixed(1)} beacons/s`);
  console.log(`  resent            ${result.resent} (wrangler dev restarted its runtime mid-request; see README)`);
  console.log(`  errors            ${result.errors}${result.errorSamples.length ? `  e.g. ${result.errorSamples.join(" | ")}` : ""}`);
  console.log(`  latency           p50 ${result.p50.toFixed(1)} ms   p99 ${result.p99.toFixed(1)} ms   max ${result.max.toFixed(1)} ms`);
  console.log(`  workerd RSS       start ${mib(startRss)} MiB   at ${third.t} s ${mib(third.kb)} MiB   end ${mib(endRss)} MiB   (every 10 s: ${result.rss.map((r) => mib(r.kb)).join(", ")})`);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const alone = isolation.filter((r) => !r.flooded);
  const beside = isolation.filter((r) => r.flooded);
  const floodStatuses = {};
  for (const r of beside) for (const [k, v] of Object.entries(r.flood.statuses)) floodStatuses[k] = (floodStatuses[k] ?? 0) + v;
  const honestErrors = isolation.reduce((n, r) => n + r.errors, 0);
  console.log(`  flood isolation   honest p50 alone ${median(alone.map((r) => r.p50)).toFixed(1)} ms, beside the flood ${median(beside.map((r) => r.p50)).toFixed(1)} ms` +
    ` (p99 ${median(alone.map((r) => r.p99)).toFixed(1)} / ${median(beside.map((r) => r.p99)).toFixed(1)} ms); honest errors ${honestErrors};` +
    ` flood answers ${Object.entries(floodStatuses).map(([k, v]) => `${v}×${k}`).join(" ")}`);
  const floodLeaked = Object.keys(floodStatuses).some((k) => k !== "202" && k !== "429");
  const grew = endRss > third.kb * 1.2;
  if (result.errors > 0 || result.skipped > 0 || grew || honestErrors > 0 || floodLeaked) {
    console.log(`  FAILED: ${result.errors} errors, ${result.skipped} beacons not sent on time${grew ? ", memory still growing (more than 20% over the last third)" : ""}` +
      `${honestErrors ? `, ${honestErrors} honest beacons refused during the isolation phases` : ""}${floodLeaked ? ", the flood got answers other than 202/429" : ""}`);
    process.exit(1);
  }
  console.log(`  ok: no errors, every beacon sent on schedule, memory levelled off (${(((endRss - third.kb) / third.kb) * 100).toFixed(0)}% over the last third)`);
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
