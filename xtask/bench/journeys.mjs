// Sessions with journeys for `cargo xtask bench`'s journeys step: several page views each
// through a site's page graph, custom events (signup with a plan, copy_snippet) and link
// clicks (to the next page, outbound, downloads), as one batch per session — what funnels,
// paths and link maps read. Drawn from the bench's seeded PRNG, so a run is reproducible.
import { prng, seededUuid as uuid, weighted as pick } from "./load.mjs";

const HOST = "https://shop.example";
/** Where visitors go from each page (`null`: they leave), with weights. */
const NEXT = {
  "/": [["/pricing", 30], ["/docs", 20], ["/blog", 10], ["/features", 10], [null, 30]],
  "/features": [["/pricing", 40], ["/docs", 20], [null, 40]],
  "/pricing": [["/signup", 30], ["/docs", 15], ["/", 10], ["/contact", 5], [null, 40]],
  "/docs": [["/docs/install", 40], ["/docs/api", 15], ["/pricing", 15], [null, 30]],
  "/docs/install": [["/docs/api", 30], ["/pricing", 15], [null, 55]],
  "/docs/api": [["/pricing", 20], ["/changelog", 10], [null, 70]],
  "/blog": [["/blog/launch", 40], ["/pricing", 15], [null, 45]],
  "/blog/launch": [["/pricing", 25], ["/", 15], [null, 60]],
  "/changelog": [["/docs", 20], [null, 80]],
  "/contact": [[null, 100]],
  "/signup": [["/welcome", 55], [null, 45]],
  "/welcome": [["/docs/install", 50], [null, 50]],
};
const ENTRY = [["/", 45], ["/blog/launch", 15], ["/docs", 15], ["/pricing", 15], ["/features", 10]];
const OUTBOUND = { "/docs/api": "https://github.com/shop/sdk", "/blog/launch": "https://news.example/item", "/docs/install": `${HOST}/files/guide.pdf` };



/** `n` session batches (JSON values) for `site`, started within `[from, to)`. */
export function journeySessions({ site, from, to, n, seed }) {
  const r = prng(seed);
  const out = [];
  for (let k = 0; k < n; k++) {
    const start = from + Math.floor(r() * Math.max(1, to - from - 3_600_000));
    const events = [];
    let path = pick(r, ENTRY);
    let ts = start;
    for (let i = 0; path && i < 12; i++) {
      events.push({ type: "pageview", ts, page: i, url: `${HOST}${path}`, title: path, w: 1280, ...(i === 0 && r() < 0.5 ? { ref: "https://www.google.com/" } : {}) });
      const engaged = 1_000 + Math.floor(r() * 40_000);
      if (path === "/signup" && r() < 0.6) events.push({ type: "custom", ts: ts + 3_000, page: i, name: "signup", props: { plan: pick(r, [["free", 5], ["pro", 3], ["team", 1]]) } });
      if (path === "/docs/install" && r() < 0.4) events.push({ type: "custom", ts: ts + 2_000, page: i, name: "copy_snippet", props: { lang: "npm" } });
      if (OUTBOUND[path] && r() < 0.25) {
        const href = OUTBOUND[path];
        events.push({ type: "click", ts: ts + 1_500, page: i, href, outbound: !href.startsWith(HOST), ...(href.endsWith(".pdf") ? { download: true } : {}) });
      }
      events.push({ type: "engage", ts: ts + engaged, page: i, active_ms: engaged, scroll: Math.floor(r() * 101) });
      const next = pick(r, NEXT[path]);
      ts += engaged + 1_000 + Math.floor(r() * 10_000);
      if (next && r() < 0.8) events.push({ type: "click", ts: ts - 500, page: i, href: `${HOST}${next}`, outbound: false });
      path = next;
    }
    events.sort((a, b) => a.ts - b.ts);
    out.push({ v: 1, site, sid: uuid(r), seq: 0, events });
  }
  return out;
}

/** The reads the journeys step times, as the dashboard's views ask them. */
export const JOURNEY_READS = [
  ["funnel4", "4-step funnel (/, /pricing, /signup, event:signup)", "/api/funnel?step=%2F&step=%2Fpricing&step=%2Fsignup&step=event%3Asignup"],
  ["paths3", "paths 3 deep from /", "/api/paths?start=%2F&depth=3"],
  ["links", "links of /pricing", "/api/links?page=%2Fpricing"],
  ["breakdownPage", "breakdown by page", "/api/breakdown?by=page"],
  ["statsFiltered", "stats, filtered (referrer)", "/api/stats?referrer=www.google.com"],
];
