// A seeded data set of realistic human sessions spread over past weeks, with its ground
// truth. The sessions go through the collector's real path (`POST /collect`, validation,
// session objects, index shards, month rollups); only the receive time and the country
// come from test headers (`stint-test-now`, `stint-test-country`), which the collector
// honours with `STINT_TEST_EDGE=1` alone — set by these tests, by no wrangler.toml — since
// it clamps client clocks to a day of its own.
//
// Everything is drawn from a seeded generator, so a run always sends the same sessions (up
// to "now"), and every figure a test asserts is computed here from what was sent.
import { batch, send } from "./beacon.mjs";
import { prng, seededUuid as uuid, weighted as pick } from "../../xtask/bench/load.mjs";

export const DAY_MS = 86_400_000;

/** The bench's seeded PRNG (mulberry32), so a run always sends the same sessions. */
export const rng = prng;


/** Real browsers' User-Agents and what the collector calls them. */
export const BROWSERS = [
  { ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", device: "desktop", browser: "Chrome", os: "Windows", w: 1536 },
  { ua: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", device: "desktop", browser: "Safari", os: "macOS", w: 1440 },
  { ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", device: "mobile", browser: "Safari", os: "iOS", w: 390 },
  { ua: "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", device: "mobile", browser: "Chrome", os: "Android", w: 412 },
  { ua: "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", device: "desktop", browser: "Firefox", os: "Linux", w: 1920 },
  { ua: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", device: "desktop", browser: "Edge", os: "Windows", w: 1280 },
  { ua: "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", device: "tablet", browser: "Safari", os: "iOS", w: 820 },
];

/** Where visitors come from, and the channel the collector gives each. */
export const SOURCES = [
  { channel: "direct", w: 30 },
  { channel: "search", ref: "https://www.google.com/", referrer: "www.google.com", w: 32 },
  { channel: "search", ref: "https://duckduckgo.com/", referrer: "duckduckgo.com", w: 6 },
  { channel: "social", ref: "https://t.co/Ab12", referrer: "t.co", w: 8 },
  { channel: "social", ref: "https://news.ycombinator.com/item?id=1", referrer: "news.ycombinator.com", w: 6 },
  { channel: "referral", ref: "https://blog.example.org/2026/analytics", referrer: "blog.example.org", w: 6 },
  { channel: "email", utm: { source: "newsletter", medium: "email", campaign: "november" }, w: 8 },
  { channel: "paid", utm: { source: "google", medium: "cpc", campaign: "brand" }, w: 6 },
];

export const COUNTRIES = [["US", 30], ["DE", 18], ["GB", 12], ["FR", 9], ["IN", 9], ["CA", 6], ["NL", 5], ["BR", 5], ["JP", 4], ["SE", 2]];

/** The site's pages and where visitors go from each (`null`: they leave). */
const NEXT = {
  "/": [["/pricing", 30], ["/docs", 25], ["/blog/launch", 12], [null, 33]],
  "/pricing": [["/signup", 35], ["/docs", 15], ["/", 10], [null, 40]],
  "/docs": [["/docs/install", 45], ["/pricing", 15], [null, 40]],
  "/docs/install": [["/docs/api", 35], ["/pricing", 15], [null, 50]],
  "/docs/api": [["/pricing", 20], [null, 80]],
  "/blog/launch": [["/pricing", 20], ["/", 20], [null, 60]],
  "/blog/privacy": [["/pricing", 15], ["/docs", 15], [null, 70]],
  "/signup": [[null, 100]],
};
const ENTRIES = [["/", 45], ["/blog/launch", 15], ["/blog/privacy", 10], ["/docs", 15], ["/pricing", 15]];
const TITLES = { "/": "Stint demo", "/pricing": "Pricing", "/docs": "Docs", "/docs/install": "Install", "/docs/api": "API", "/blog/launch": "Launch", "/blog/privacy": "Privacy", "/signup": "Sign up" };


/**
 * The data set: `days` days of sessions ending at `now` (more on weekdays, growing over
 * time), plus `live` sessions still going at `now`. Each session has the fields the
 * collector will derive, for ground truth.
 */
export function makeDataset({ now = Date.now(), days = 35, seed = 7, live = 3 } = {}) {
  const r = rng(seed);
  // Clicks draw from their own stream, so adding them left the rest of the data set as it was.
  const rc = rng(seed + 1_000);
  // So do friction and page speed.
  const rf = rng(seed + 2_000);
  const today = Math.floor(now / DAY_MS);
  const sessions = [];
  for (let d = days - 1; d >= 0; d--) {
    const day = today - d;
    const weekday = (day + 4) % 7; // 0 = Sunday
    const base = 5 + Math.round((days - d) / 6) + (weekday === 0 || weekday === 6 ? 0 : 4);
    for (let i = 0; i < base; i++) {
      // Waking hours of the visitor, mostly.
      const hour = pick(r, [[8, 2], [9, 4], [10, 5], [11, 5], [13, 4], [14, 5], [15, 5], [16, 4], [19, 3], [20, 3], [21, 2], [23, 1], [2, 1]]);
      const startedAt = day * DAY_MS + hour * 3_600_000 + Math.floor(r() * 3_500_000);
      if (startedAt > now - 30 * 60_000) continue; // only finished sessions in the past
      sessions.push(makeSession(r, rc, rf, startedAt));
    }
  }
  for (let i = 0; i < live; i++) {
    // Still going: its last event a little before now.
    const s = makeSession(r, rc, rf, 0, { minPages: 2 });
    s.startedAt = now - s.span - 20_000 - i * 15_000;
    s.live = true;
    sessions.push(s);
  }
  return { now, days, sessions };
}

/** Links on the site's pages besides those to the next page: outbound and downloads. */
const EXTRA_LINKS = {
  "/docs/install": [["https://demo.local/files/stint-guide.pdf", 0.25], ["https://github.com/stint-demo/stint", 0.2]],
  "/docs/api": [["https://github.com/stint-demo/stint", 0.3]],
  "/blog/launch": [["https://news.example/stint-launch", 0.15]],
};

/** Friction on the site's pages: who meets it where, and how often (a share of views). */
export const FRICTION = {
  "/pricing": { kind: "rage", el: "button#buy.cta", name: "buy", chance: 0.15 },
  "/docs": { kind: "dead", el: "div.copy-box", chance: 0.12 },
  "/docs/api": { kind: "error", name: "TypeError", src: "https://demo.local/assets/app.js?v=3", line: 212, chance: 0.2 },
};

/** A page view's friction and speed: every view is a full load, so each has all figures. */
function frictionOf(rf, path) {
  const f = FRICTION[path];
  const hit = f && rf() < f.chance ? f : null;
  const lcp = 800 + Math.floor(rf() * 32) * 100;
  return {
    friction: hit,
    vitals: {
      ttfb: 50 + Math.floor(rf() * 40) * 10,
      fcp: 400 + Math.floor(rf() * 4) * 100,
      lcp: path === "/docs/api" ? lcp + 2_000 : lcp,
      load: lcp + 300,
      ...(rf() < 0.5 ? { inp: 40 + Math.floor(rf() * 30) * 10 } : {}),
      cls: Math.floor(rf() * 30) / 100,
    },
  };
}

function makeSession(r, rc, rf, startedAt, { minPages = 1 } = {}) {
  const browser = pick(r, BROWSERS.map((b) => [b, b.device === "mobile" ? 3 : 2]));
  const source = pick(r, SOURCES.map((s) => [s, s.w]));
  const country = pick(r, COUNTRIES);
  const pages = [];
  let path = pick(r, ENTRIES);
  let at = 0;
  while (path && pages.length < 8) {
    const engagedMs = Math.round(2_000 + r() * (path.startsWith("/docs") || path.startsWith("/blog") ? 90_000 : 35_000));
    const scroll = Math.min(100, Math.round(20 + r() * 85));
    pages.push({ path, at, engagedMs, scroll });
    at += engagedMs + Math.round(1_000 + r() * 20_000);
    path = pick(r, NEXT[path]);
    if (!path && pages.length < minPages) path = "/pricing";
  }
  const events = [];
  const signup = pages.findIndex((p) => p.path === "/signup");
  if (signup >= 0 && r() < 0.6) {
    const plan = pick(r, [["free", 5], ["pro", 3], ["team", 1]]);
    events.push({ name: "signup", props: { plan }, page: signup, at: pages[signup].at + 4_000 });
  }
  const docs = pages.findIndex((p) => p.path === "/docs/install");
  if (docs >= 0 && r() < 0.5) events.push({ name: "copy_snippet", props: { lang: pick(r, [["npm", 3], ["html", 1]]) }, page: docs, at: pages[docs].at + 2_000 });
  const sid = uuid(r);
  // Most moves to the next page are a click on a link to it (the rest: the nav bar, typed,
  // back); some pages have outbound links and downloads.
  pages.forEach((p, i) => {
    p.clicks = [];
    const next = pages[i + 1];
    if (next && rc() < 0.8) p.clicks.push({ href: `https://demo.local${next.path}`, at: next.at - 500 });
    for (const [href, chance] of EXTRA_LINKS[p.path] ?? []) {
      if (rc() < chance) p.clicks.push({ href, at: p.at + 1_500, outbound: !href.startsWith("https://demo.local"), download: href.endsWith(".pdf") });
    }
  });
  // Friction and speed per page; the signup form is started on /signup and sent by those
  // who sign up.
  for (const p of pages) Object.assign(p, frictionOf(rf, p.path));
  const form = signup >= 0 ? { page: signup, submitted: events.some((e) => e.name === "signup") } : null;
  return {
    sid, startedAt, browser, source, country, pages, events, form,
    get span() { return Math.max(...this.pages.map((p) => p.at + p.engagedMs), ...this.events.map((e) => e.at)); },
    get lastAt() { return this.startedAt + this.span; },
    get pageviews() { return this.pages.length; },
    get activeMs() { return this.pages.reduce((n, p) => n + p.engagedMs, 0); },
    get bounce() { return this.pages.length <= 1 && this.events.length === 0; },
    get entry() { return this.pages[0].path; },
    get exit() { return this.pages[this.pages.length - 1].path; },
  };
}

/** The session as the tracker would send it: one batch, page views with engagement. */
export function batchOf(s, site = "demo") {
  const events = [];
  s.pages.forEach((p, i) => {
    const query = i === 0 && s.source.utm
      ? "?" + Object.entries(s.source.utm).map(([k, v]) => `utm_${k}=${encodeURIComponent(v)}`).join("&")
      : "";
    events.push({
      type: "pageview", ts: s.startedAt + p.at, page: i, url: `https://demo.local${p.path}${query}`,
      title: TITLES[p.path], w: s.browser.w, ...(i === 0 && s.source.ref ? { ref: s.source.ref } : {}),
    });
    // Engagement reported when it ends (the tracker sends deltas as they accrue).
    events.push({ type: "engage", ts: s.startedAt + p.at + p.engagedMs, page: i, active_ms: p.engagedMs, scroll: p.scroll });
  });
  for (const e of s.events) events.push({ type: "custom", ts: s.startedAt + e.at, page: e.page, name: e.name, props: e.props });
  s.pages.forEach((p, i) => {
    for (const c of p.clicks ?? []) {
      events.push({ type: "click", ts: s.startedAt + c.at, page: i, href: c.href, outbound: Boolean(c.outbound), ...(c.download ? { download: true } : {}) });
    }
  });
  s.pages.forEach((p, i) => {
    const at = s.startedAt + p.at + 1_000;
    const f = p.friction;
    if (f?.kind === "error") events.push({ type: "error", ts: at, page: i, name: f.name, src: f.src, line: f.line });
    else if (f) events.push({ type: f.kind, ts: at, page: i, el: f.el, ...(f.name ? { name: f.name } : {}) });
    if (p.vitals) events.push({ type: "perf", ts: at, page: i, ...p.vitals });
  });
  if (s.form) {
    const at = s.startedAt + s.pages[s.form.page].at + 2_000;
    events.push({ type: "form", ts: at, page: s.form.page, form: "signup", phase: "start" });
    if (s.form.submitted) events.push({ type: "form", ts: at + 1_000, page: s.form.page, form: "signup", phase: "submit" });
  }
  events.sort((a, b) => a.ts - b.ts);
  return batch({ sid: s.sid, site, events });
}

/** Sends every session (a few at a time); fails on any answer but 202. */
export async function sendDataset(collector, dataset, { site = "demo", concurrency = 4 } = {}) {
  const queue = [...dataset.sessions];
  const worker = async () => {
    for (let s; (s = queue.shift());) {
      const body = batchOf(s, site);
      const r = await send(collector, body, {
        headers: { "user-agent": s.browser.ua, "stint-test-now": String(s.lastAt + 500), "stint-test-country": s.country },
      });
      if (r.status !== 202) throw new Error(`seeding ${s.sid}: ${r.status} ${r.text}`);
    }
  };
  await Promise.all([...Array(concurrency)].map(worker));
}

// ---- Ground truth ---------------------------------------------------------------------

/** Sessions that started in [from, to). */
export const within = (dataset, from, to) => dataset.sessions.filter((s) => s.startedAt >= from && s.startedAt < to);

/** The median as the collector states it: whole numbers, the mean of the two middle values
 * rounded down for an even count (`stint_shared::report::median`). */
export function median(values) {
  if (values.length === 0) return 0;
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : Math.floor((v[n / 2 - 1] + v[n / 2]) / 2);
}

/** The collector's engaged-time buckets: three significant digits (medians are of those). */
export function bucket(ms) {
  let step = 1;
  while (ms >= step * 1000) step *= 10;
  return Math.floor((ms + step / 2) / step) * step;
}

/** value → number of sessions, for a field of the session. */
export function countBy(sessions, key) {
  const out = new Map();
  for (const s of sessions) {
    for (const v of [].concat(key(s))) if (v != null) out.set(v, (out.get(v) ?? 0) + 1);
  }
  return out;
}
