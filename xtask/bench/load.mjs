// A load generator for Stint's collector: simulated sessions sending wire-protocol-v1 batches
// (`text/plain` JSON, as the tracker's sendBeacon does) to `POST /collect`, with a fixed number
// of requests in flight. Reusable: `cargo xtask bench` drives it, and anything else that needs
// realistic beacons can import `SessionPool`, `SimulatedSession` or `runLoad`.
//
// A beacon is a session's next batch: the first carries a page view, an engagement delta and
// a click or two; later ones an engagement delta, clicks and now and then the next page view.
// `seq` counts up from 0 within each session. Timestamps are chosen by the caller's clock
// window, so a benchmark can spread sessions over the hours of one UTC day.
import http from "node:http";
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";

const PAGES = ["/", "/pricing", "/docs", "/docs/install", "/docs/api", "/blog", "/blog/edge-analytics",
  "/about", "/careers", "/contact", "/changelog", "/signup", "/login", "/features", "/security"];
const REFERRERS = [null, null, null, "https://www.google.com/", "https://news.ycombinator.com/",
  "https://duckduckgo.com/", "https://twitter.com/", "https://www.reddit.com/r/rust/", "https://example.org/post"];
const UTM = [null, null, null, null, "?utm_source=newsletter&utm_medium=email", "?utm_source=ads&utm_medium=cpc&utm_campaign=fall"];
const OUTBOUND = ["https://github.com/stint/stint", "https://example.org/partner", "https://docs.rs/"];

/** Small deterministic PRNG (mulberry32), so a run's traffic mix is reproducible. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = (rand, list) => list[Math.floor(rand() * list.length)];

/** One of `items` (`[value, weight]` pairs), drawn by weight with `rand`. */
export function weighted(rand, items) {
  const total = items.reduce((n, [, w]) => n + w, 0);
  let x = rand() * total;
  for (const [value, w] of items) if ((x -= w) < 0) return value;
  return items[items.length - 1][0];
}

/** A UUID v4 drawn from `rand`, so seeded traffic has the same session IDs every run. */
export function seededUuid(rand) {
  const hex = [...Array(32)].map(() => Math.floor(rand() * 16).toString(16));
  hex[12] = "4";
  hex[16] = ((parseInt(hex[16], 16) & 3) | 8).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** One visitor's session: produces its batches in order, `seq` 0, 1, 2, … */
export class SimulatedSession {
  constructor({ site, startTs, rand, host = "https://demo.local" }) {
    this.site = site;
    this.sid = randomUUID();
    this.seq = 0;
    this.page = 0;
    this.ts = startTs;
    this.rand = rand;
    this.host = host;
  }

  #pageview() {
    const path = pick(this.rand, PAGES);
    const first = this.page === 0 && this.seq === 0;
    return {
      type: "pageview", ts: this.ts, page: this.page,
      url: this.host + path + (first ? pick(this.rand, UTM) ?? "" : ""),
      ref: first ? pick(this.rand, REFERRERS) : this.host + "/",
      title: `Demo — ${path}`, w: 1280,
    };
  }

  /** The next batch's body (a JSON string), advancing the session's clock and counters. */
  nextBody() {
    const rand = this.rand;
    const events = [];
    if (this.seq === 0) {
      events.push(this.#pageview());
    } else if (rand() < 0.3 && this.page < 50) {
      this.page += 1;
      events.push(this.#pageview());
    }
    this.ts += 1000 + Math.floor(rand() * 14_000);
    events.push({ type: "engage", ts: this.ts, page: this.page, active_ms: 500 + Math.floor(rand() * 14_000), scroll: Math.floor(rand() * 101) });
    const clicks = Math.floor(rand() * 3);
    for (let i = 0; i < clicks; i++) {
      const outbound = rand() < 0.4;
      events.push({ type: "click", ts: this.ts + i, page: this.page, href: outbound ? pick(rand, OUTBOUND) : this.host + pick(rand, PAGES), outbound });
    }
    const body = JSON.stringify({ v: 1, site: this.site, sid: this.sid, seq: this.seq, events });
    this.seq += 1;
    return body;
  }
}

/**
 * A fixed set of `size` distinct sessions, sent to round-robin: the first pass through the
 * pool creates every session, later passes continue them. Session starts are spread evenly
 * over `[windowStart, windowEnd)` (Unix ms).
 */
export class SessionPool {
  constructor({ size, site, windowStart, windowEnd, seed = 1 }) {
    this.rand = prng(seed);
    this.sessions = [];
    this.size = size;
    this.site = site;
    this.windowStart = windowStart;
    this.span = Math.max(1, windowEnd - windowStart - 60 * 60_000);
    this.next = 0;
  }

  /** The next beacon body, or null never (a pool is endless). */
  nextBody() {
    const i = this.next;
    this.next = (this.next + 1) % this.size;
    if (i >= this.sessions.length) {
      const startTs = this.windowStart + Math.floor(this.rand() * this.span);
      this.sessions.push(new SimulatedSession({ site: this.site, startTs, rand: this.rand }));
    }
    return this.sessions[i].nextBody();
  }

  get created() {
    return this.sessions.length;
  }
}

/** Percentile (0–100) of an ascending array, nearest rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

function post(agent, target, headers, body) {
  return new Promise((ok) => {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => ok({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on("error", (err) => ok({ status: 0, body: err.message }));
    req.end(body);
  });
}

/**
 * Sends beacons with `concurrency` requests in flight until `durationMs` passes or `maxBeacons`
 * were sent (whichever first), each body from `source.nextBody()`.
 * Returns {beacons, accepted, rows, errors: {"<status>": n}, elapsedMs, latenciesMs (sorted),
 * p50Ms, p99Ms, perSecond, sample} where `sample` holds the first few error answers.
 */
export async function runLoad({ url, origin, source, concurrency = 32, durationMs = 30_000, maxBeacons = Infinity, userAgent, onProgress, progressEveryMs = 5_000 }) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const headers = {
    "content-type": "text/plain;charset=UTF-8",
    origin,
    "user-agent": userAgent ?? "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  };
  const latencies = [];
  const errors = {};
  const sample = [];
  let sent = 0;
  let accepted = 0;
  // What the collector says each accepted beacon cost in SQLite rows (`x-stint-rows-*`, sent
  // when STINT_COST_REPORT=1): the runtime's own rowsRead / rowsWritten counts, per phase.
  const rows = { reported: 0, session: { read: 0, written: 0 }, index: { read: 0, written: 0 } };
  const addRows = (into, header) => {
    const [read, written] = String(header ?? "").split(" ").map(Number);
    if (Number.isFinite(read) && Number.isFinite(written)) {
      into.read += read;
      into.written += written;
      return true;
    }
    return false;
  };
  const started = performance.now();
  const deadline = started + durationMs;
  let lastReport = started;
  const worker = async () => {
    while (sent < maxBeacons && performance.now() < deadline) {
      sent += 1;
      const body = source.nextBody();
      const t0 = performance.now();
      const answer = await post(agent, target, headers, body);
      const t1 = performance.now();
      latencies.push(t1 - t0);
      if (answer.status >= 200 && answer.status < 300) {
        accepted += 1;
        if (addRows(rows.session, answer.headers?.["x-stint-rows-session"])) {
          addRows(rows.index, answer.headers?.["x-stint-rows-index"]);
          rows.reported += 1;
        }
      } else {
        errors[answer.status] = (errors[answer.status] ?? 0) + 1;
        if (sample.length < 5) sample.push(`${answer.status} ${answer.body.slice(0, 160)}`);
      }
      if (onProgress && t1 - lastReport >= progressEveryMs) {
        lastReport = t1;
        onProgress({ beacons: latencies.length, accepted, elapsedMs: t1 - started });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    beacons: latencies.length,
    accepted,
    rows,
    errors,
    errorCount: latencies.length - accepted,
    sample,
    elapsedMs,
    perSecond: latencies.length / (elapsedMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}
