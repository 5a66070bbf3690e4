// The published contract agrees with the collector: bodies the JSON Schema accepts are
// accepted (202), bodies it rejects are refused (400); the OpenAPI description names every
// endpoint the worker serves.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { parse } from "yaml";
import { ROOT, startCollector } from "./support/collector.mjs";
import { batch, newSid, pageview, send } from "./support/beacon.mjs";

let collector;
let validate;
before(async () => {
  const schema = JSON.parse(await readFile(join(ROOT, "edge-worker/beacon.schema.json"), "utf8"));
  validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  collector = await startCollector();
});
after(async () => { await collector?.stop(); });

const now = Date.now();
const valid = [
  batch({ events: [pageview({ ts: now, ref: "https://news.example/", title: "Pricing", w: 1280 })] }),
  batch({ events: [pageview({ ts: now }), { type: "engage", ts: now, page: 0, active_ms: 5120, scroll: 62 },
    { type: "click", ts: now, page: 0, href: "https://example.org/x", outbound: true },
    { type: "custom", ts: now, page: 0, name: "signup", props: { plan: "pro", seats: 3, trial: false } }] }),
  { ...batch({ events: [pageview({ ts: now, page: 499 })] }), wd: true },
  // The friction and speed signals (SPEC "Friction and speed signals").
  batch({ events: [pageview({ ts: now }),
    { type: "rage", ts: now, page: 0, el: "button#buy.cta", name: "buy" },
    { type: "dead", ts: now, page: 0, el: "div.copy-box" },
    { type: "error", ts: now, page: 0, name: "TypeError", src: "https://demo.local/app.js", line: 12 },
    { type: "form", ts: now, page: 0, form: "signup", phase: "start" },
    { type: "form", ts: now, page: 0, form: "signup", phase: "submit" },
    { type: "perf", ts: now, page: 0, ttfb: 120, fcp: 800, lcp: 1500, load: 2100, inp: 90, cls: 0.05 },
    { type: "perf", ts: now, page: 0, inp: null, cls: 0 }] }),
];
const invalid = [
  { ...batch(), v: 2 },
  { ...batch(), sid: "0B5F0C54-1E9C-4A8E-9D3A-2F8F0A6C1B7E" },
  { ...batch(), seq: -1 },
  batch({ events: [] }),
  batch({ events: Array.from({ length: 101 }, () => pageview({ ts: now })) }),
  batch({ events: [pageview({ ts: now, page: 500 })] }),
  batch({ events: [pageview({ ts: now, url: "ftp://demo.local/" })] }),
  batch({ events: [pageview({ ts: now, title: "t".repeat(257) })] }),
  batch({ events: [{ type: "engage", ts: now, page: 0, active_ms: 1, scroll: 101 }] }),
  batch({ events: [{ type: "custom", ts: now, page: 0, name: "" }] }),
  batch({ events: [{ type: "custom", ts: now, page: 0, name: "x", props: { a: [1] } }] }),
  batch({ events: [{ type: "hover", ts: now, page: 0 }] }),
  batch({ events: [{ type: "rage", ts: now, page: 0, el: "#buy" }] }),
  batch({ events: [{ type: "dead", ts: now, page: 0 }] }),
  batch({ events: [{ type: "error", ts: now, page: 0, name: "" }] }),
  batch({ events: [{ type: "form", ts: now, page: 0, form: "signup", phase: "end" }] }),
  batch({ events: [{ type: "perf", ts: now, page: 0 }] }),
  batch({ events: [{ type: "perf", ts: now, page: 0, lcp: 600_001 }] }),
  batch({ events: [{ type: "perf", ts: now, page: 0, cls: -1 }] }),
];

test("bodies the JSON Schema accepts, the collector accepts", async () => {
  for (const body of valid) {
    body.sid = newSid();
    assert.ok(validate(body), `schema rejects a valid body: ${JSON.stringify(validate.errors)}`);
    assert.equal((await send(collector, body)).status, 202, JSON.stringify(body).slice(0, 200));
  }
});

test("bodies the JSON Schema rejects, the collector refuses with 400", async () => {
  for (const body of invalid) {
    assert.equal(validate(body), false, `schema accepts an invalid body: ${JSON.stringify(body).slice(0, 200)}`);
    assert.equal((await send(collector, body)).status, 400, JSON.stringify(body).slice(0, 200));
  }
});

test("the OpenAPI description covers every endpoint", async () => {
  const spec = parse(await readFile(join(ROOT, "edge-worker/openapi.yaml"), "utf8"));
  assert.equal(spec.openapi, "3.1.0");
  const described = Object.entries(spec.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
  // The routes as the worker's router has them (edge-worker/src/lib.rs), but the bench-only
  // seeding endpoint and the read API's CORS preflight.
  const router = await readFile(join(ROOT, "edge-worker/src/lib.rs"), "utf8");
  const routes = [
    ...[...router.matchAll(/\(Method::(\w+), "([^"]+)"\)/g)].map(([, m, p]) => `${m.toUpperCase()} ${p}`),
    ...[...router.matchAll(/\(Method::(\w+), p\) if p\.starts_with\("\/api\/sessions\/"\)/g)].map(([, m]) => `${m.toUpperCase()} /api/sessions/{sid}`),
  ].filter((r) => r !== "POST /bench/seed");
  assert.ok(routes.length >= 16, `the router's routes were read: ${routes.join(", ")}`);
  for (const route of routes) assert.ok(described.includes(route), `${route} is described`);
});
