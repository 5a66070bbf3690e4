// The hostile suite: hundreds of generated requests (a seeded PRNG, so every run sends the
// same ones) against the collector in workerd — malformed JSON, wrong types in every field,
// deep nesting, huge strings and arrays, invalid UTF-8, control characters, out-of-range
// numbers, wrong methods and content types, oversized and chunked bodies, unknown sites,
// forged Origins and header tricks. Each must get its 4xx (never a 5xx, never a 2xx), and
// a 400 must name the field. Honest sessions sent in between must be stored intact.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startCollector, TOKEN } from "./support/collector.mjs";

const SEED = 0x5717_0007;
const TOTAL_HOSTILE = 540;

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (xs) => xs[int(0, xs.length - 1)];
  // A UUID v4 from the PRNG, so session IDs are deterministic too.
  const uuid = () => {
    const hex = () => int(0, 15).toString(16);
    const h = (n) => Array.from({ length: n }, hex).join("");
    return `${h(8)}-${h(4)}-4${h(3)}-${pick(["8", "9", "a", "b"])}${h(3)}-${h(12)}`;
  };
  return { next, int, pick, uuid };
}

const rnd = prng(SEED);
const T0 = Date.now() - 3_600_000;

let collector;
let agent;
before(async () => {
  collector = await startCollector();
  agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
});
after(async () => {
  agent?.destroy();
  await collector?.stop();
});

/** One request over node:http, so methods, headers and bodies are exactly what we say. */
function request({ method = "POST", path = "/collect", headers = {}, body, chunked = false }) {
  const url = new URL(collector.origin);
  return new Promise((ok, fail) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, headers, agent },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let json = null;
          try { json = JSON.parse(text); } catch {}
          ok({ status: res.statusCode, text, json });
        });
      },
    );
    req.on("error", fail);
    if (body === undefined) return req.end();
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
    if (chunked) {
      // No Content-Length: node sends Transfer-Encoding: chunked, in several chunks.
      for (let i = 0; i < buf.length; i += 4096) req.write(buf.subarray(i, i + 4096));
      return req.end();
    }
    // An explicit length: without it node sends a GET's body with neither length nor
    // chunking, which is not HTTP at all.
    req.setHeader("content-length", buf.length);
    req.end(buf);
  });
}

// ---- honest sessions, interleaved ----------------------------------------------------

const honest = new Map(); // sid → expected totals

function honestEvents(sid, seq) {
  const ts = T0 + seq * 10_000 + rnd.int(0, 999);
  const page = seq;
  const events = [{ type: "pageview", ts, page, url: `https://demo.local/h${seq}?utm_source=hostile&drop=1#frag`, title: `Page ${seq}` }];
  const extra = rnd.int(0, 4);
  for (let i = 0; i < extra; i++) {
    events.push(rnd.pick([
      () => ({ type: "engage", ts: ts + 100 + i, page, active_ms: rnd.int(0, 20_000), scroll: rnd.int(0, 100) }),
      () => ({ type: "click", ts: ts + 100 + i, page, href: "https://example.org/out", outbound: true }),
      () => ({ type: "custom", ts: ts + 100 + i, page, name: "signup", props: { plan: "pro", n: rnd.int(0, 9), ok: true } }),
    ])());
  }
  return events;
}

/** A valid batch for an honest session; the expected totals are updated. */
function honestCase(sid = rnd.uuid(), { headers = {}, chunked = false, contentType = "text/plain;charset=UTF-8", what = "honest batch" } = {}) {
  const exp = honest.get(sid) ?? { seqs: 0, pageviews: 0, clicks: 0, outbound: 0, custom: 0, active: 0, events: 0 };
  honest.set(sid, exp);
  const seq = exp.seqs++;
  const events = honestEvents(sid, seq);
  exp.pageviews += 1;
  exp.events += events.length;
  for (const e of events) {
    if (e.type === "click") { exp.clicks++; exp.outbound++; }
    if (e.type === "custom") exp.custom++;
    if (e.type === "engage") exp.active += e.active_ms;
  }
  return {
    what,
    req: { headers: { "content-type": contentType, origin: collector.origin, ...headers }, body: JSON.stringify({ v: 1, site: "demo", sid, seq, events }), chunked },
    expect: 202,
  };
}

// ---- hostile generators --------------------------------------------------------------

const validBatch = () => ({
  v: 1, site: "demo", sid: rnd.uuid(), seq: rnd.int(0, 50),
  events: [
    { type: "pageview", ts: T0, page: 0, url: "https://demo.local/", ref: "https://news.example/", title: "T", w: 1280 },
    { type: "engage", ts: T0 + 1, page: 0, active_ms: 10, scroll: 5 },
    { type: "click", ts: T0 + 2, page: 0, href: "https://example.org/", outbound: true, download: false },
    { type: "custom", ts: T0 + 3, page: 0, name: "signup", props: { plan: "pro" } },
  ],
});

const RAW = "__RAW_VALUE__";
/** A body whose field at `path` holds `value`; a `raw` value is spliced in as JSON text. */
function withField(path, value, { raw = false } = {}) {
  const b = validBatch();
  let target = b;
  for (const k of path.slice(0, -1)) target = target[k];
  target[path.at(-1)] = raw ? RAW : value;
  const text = JSON.stringify(b);
  return raw ? text.replace(`"${RAW}"`, value) : text;
}
const fieldName = (path) => path.reduce((s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${k}` : k), "");

const post = (body, extra = {}) => ({ headers: { "content-type": "text/plain", origin: collector.origin, ...extra }, body });

// Fields and which wrong values they get; the event index fixes the event's type.
const NUMERIC = [["v"], ["seq"], ["events", 0, "ts"], ["events", 0, "page"], ["events", 0, "w"], ["events", 1, "active_ms"], ["events", 1, "scroll"], ["events", 2, "ts"], ["events", 3, "page"]];
const STRINGS = [["site"], ["sid"], ["events", 0, "type"], ["events", 0, "url"], ["events", 0, "ref"], ["events", 0, "title"], ["events", 2, "href"], ["events", 3, "name"]];
const BOOLS = [["wd"], ["events", 2, "outbound"], ["events", 2, "download"]];
const WRONG_FOR_NUMBER = ['"12"', "true", "[]", "{}", "1.5", '"NaN"', "[1]", '{"n":1}'];
const WRONG_FOR_STRING = ["12", "true", "[]", "{}", "-0.5", '["https://demo.local/"]', '{"url":"x"}'];
const WRONG_FOR_BOOL = ['"true"', "1", "0", "[]", "{}", '"yes"'];
// Out of range for each numeric field (valid JSON integers or floats).
const OUT_OF_RANGE = ["-1", "-9007199254740993", "9007199254740993", "18446744073709551616", "1e30", "-1e30", "4294967296", "1.0e2"];

const generators = [
  // Malformed JSON: truncated, with trailing garbage, or not JSON at all.
  () => {
    const text = JSON.stringify(validBatch());
    return { what: "truncated JSON", req: post(text.slice(0, rnd.int(0, text.length - 1))), expect: 400, field: "body" };
  },
  () => ({ what: "trailing garbage", req: post(JSON.stringify(validBatch()) + rnd.pick(["x", "}", ",", "{}", "\u0000"])), expect: 400, field: "body" }),
  () => ({ what: "not JSON", req: post(rnd.pick(["", " ", "undefined", "NaN", "{'v':1}", "<xml/>", "v=1&site=demo", "[1,2,3]", "\"string\"", "42", "null"])), expect: 400, field: "body" }),
  // A wrong type in one field: the error names that field.
  () => {
    const path = rnd.pick(NUMERIC);
    return { what: `wrong type in ${fieldName(path)}`, req: post(withField(path, rnd.pick(WRONG_FOR_NUMBER), { raw: true })), expect: 400, field: fieldName(path) };
  },
  () => {
    const path = rnd.pick(STRINGS);
    return { what: `wrong type in ${fieldName(path)}`, req: post(withField(path, rnd.pick(WRONG_FOR_STRING), { raw: true })), expect: 400, field: fieldName(path) };
  },
  () => {
    const path = rnd.pick(BOOLS);
    return { what: `wrong type in ${fieldName(path)}`, req: post(withField(path, rnd.pick(WRONG_FOR_BOOL), { raw: true })), expect: 400, field: fieldName(path) };
  },
  () => ({ what: "props of the wrong type", req: post(withField(["events", 3, "props"], rnd.pick(['"plan"', "[1]", "7", "true"]), { raw: true })), expect: 400, field: "events[3].props" }),
  () => ({ what: "a prop value of the wrong type", req: post(withField(["events", 3, "props", "plan"], rnd.pick(["[]", "{}", "null", '[{"a":1}]'] ), { raw: true })), expect: 400, field: "events[3].props.plan" }),
  () => ({ what: "events not an array", req: post(withField(["events"], rnd.pick(['{"0":{}}', '"pageview"', "1", "true", "null"]), { raw: true })), expect: 400, field: "events" }),
  () => ({ what: "an event not an object", req: post(withField(["events", rnd.int(0, 3)], rnd.pick(["1", '"pageview"', "[]", "null", "true"]), { raw: true })), field: null, expect: 400 }),
  // Negative, enormous and non-integral numbers.
  () => {
    const path = rnd.pick(NUMERIC);
    // 2^32 ms is a valid (if early) time: out of range for every other field.
    const values = path.at(-1) === "ts" ? OUT_OF_RANGE.filter((v) => v !== "4294967296") : OUT_OF_RANGE;
    return { what: `out of range ${fieldName(path)}`, req: post(withField(path, rnd.pick(values), { raw: true })), expect: 400, field: fieldName(path) };
  },
  () => ({ what: "a number JSON cannot hold", req: post(withField(rnd.pick(NUMERIC), rnd.pick(["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "0x10", "01", "+1", ".5"]), { raw: true })), expect: 400, field: "body" }),
  () => ({ what: "a non-finite prop number", req: post(withField(["events", 3, "props", "n"], rnd.pick(["1e400", "NaN"]), { raw: true })), expect: 400, field: "body" }),
  // Deep nesting, anywhere.
  () => {
    // Past serde_json's recursion limit (128), within the 32 KiB body limit.
    const open = rnd.pick(["[", '{"a":']);
    const depth = open === "[" ? rnd.int(200, 12_000) : rnd.int(200, 4_500);
    const close = open === "[" ? "]" : "}";
    const nest = open.repeat(depth) + "1" + close.repeat(depth);
    return { what: `nesting ${depth} deep`, req: post(rnd.next() < 0.5 ? nest : withField(["extra"], nest, { raw: true })), expect: 400, field: "body" };
  },
  () => ({ what: "nested props", req: post(withField(["events", 3, "props", "deep"], "[".repeat(100) + "]".repeat(100), { raw: true })), expect: 400, field: "events[3].props.deep" }),
  // Huge strings and arrays (inside the 32 KiB limit).
  () => {
    const [path, max] = rnd.pick([[["events", 0, "url"], 2048], [["events", 0, "ref"], 2048], [["events", 0, "title"], 256], [["events", 2, "href"], 2048], [["events", 3, "name"], 64], [["site"], 64], [["events", 3, "props", "plan"], 256]]);
    const len = rnd.int(max + 1, Math.min(max * 8, 30_000));
    const value = path.at(-1) === "url" || path.at(-1) === "ref" || path.at(-1) === "href" ? `https://demo.local/${"a".repeat(len)}` : "a".repeat(len);
    return { what: `${fieldName(path)} of ${len} chars`, req: post(withField(path, value)), expect: 400, field: fieldName(path) };
  },
  () => {
    const n = rnd.pick([0, 101, rnd.int(102, 300)]);
    const b = validBatch();
    b.events = Array.from({ length: n }, (_, i) => ({ type: "engage", ts: T0, page: 0, active_ms: i, scroll: 1 }));
    return { what: `${n} events`, req: post(JSON.stringify(b)), expect: 400, field: "events" };
  },
  () => {
    const b = validBatch();
    b.events[3].props = Object.fromEntries(Array.from({ length: rnd.int(21, 200) }, (_, i) => [`k${i}`, i]));
    return { what: "too many props", req: post(JSON.stringify(b)), expect: 400, field: "events[3].props" };
  },
  () => {
    const b = validBatch();
    b.events[3].props = { ["k".repeat(rnd.int(65, 500))]: 1 };
    return { what: "an overlong prop name", req: post(JSON.stringify(b)), expect: 400, field: "events[3].props" };
  },
  // Bodies past the limit, with and without Content-Length.
  () => {
    const size = rnd.int(32 * 1024 + 1, 200_000);
    const b = JSON.stringify(validBatch());
    const body = b.replace("{", `{"pad":"${"p".repeat(Math.max(0, size - b.length - 9))}",`);
    return { what: `body of ${body.length} bytes`, req: { ...post(body), chunked: rnd.next() < 0.5 }, expect: 413, field: "body" };
  },
  // Invalid UTF-8 and control characters.
  () => {
    const text = withField(["events", 0, "title"], "XX");
    const at = text.indexOf('"XX"') + 1;
    const bad = Buffer.from(rnd.pick([[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82]]));
    const body = Buffer.concat([Buffer.from(text.slice(0, at)), bad, Buffer.from(text.slice(at + 2))]);
    return { what: "invalid UTF-8 in a string", req: post(body), expect: 400, field: "body" };
  },
  () => ({ what: "a lone surrogate escape", req: post(withField(["events", 0, "title"], rnd.pick(['"\\ud800"', '"a\\udfffb"', '"\\ud83d"']), { raw: true })), expect: 400, field: "body" }),
  () => {
    const c = String.fromCharCode(rnd.int(0, 31));
    return { what: "a raw control character in a string", req: post(withField(["events", 0, "title"], `"a${c}b"`, { raw: true })), expect: 400, field: "body" };
  },
  () => {
    const c = String.fromCharCode(rnd.pick([0, 1, 9, 10, 13, 27, 127, 0x85, 0x2028]));
    return { what: "a control character in a URL's host", req: post(withField(["events", 0, "url"], `https://de${c}mo.local/`)), expect: 400, field: "events[0].url" };
  },
  () => ({ what: "a URL that is not http(s)", req: post(withField(["events", 0, "url"], rnd.pick(["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "//demo.local/", "/relative", "https:///nohost", "mailto:a@b.c", "ws://demo.local/"]))), expect: 400, field: "events[0].url" }),
  () => ({ what: "an unknown event type", req: post(withField(["events", rnd.int(0, 3), "type"], rnd.pick(["PAGEVIEW", "", "pageview ", "click\u0000", "x".repeat(17), "identify"]))), field: null, expect: 400 }),
  () => ({ what: "a bad sid", req: post(withField(["sid"], rnd.pick(["", "nope", rnd.uuid().toUpperCase(), (() => { const u = rnd.uuid(); return `${u.slice(0, 14)}${rnd.pick(["1", "3", "5", "f"])}${u.slice(15)}`; })(), `${rnd.uuid()} `, "00000000-0000-0000-0000-000000000000"]))), expect: 400, field: "sid" }),
  () => ({ what: "a bad site id", req: post(withField(["site"], rnd.pick(["", "Demo", "de mo", "demo/../x", "demo\u0000", "демо"]))), expect: 400, field: "site" }),
  () => ({ what: "another protocol version", req: post(withField(["v"], rnd.pick([0, 2, -1, 99]))), expect: 400, field: "v" }),
  // Who may send.
  () => ({ what: "an unknown site", req: post(withField(["site"], `unknown-${rnd.int(0, 1e6)}.example`)), expect: 403, field: "site" }),
  () => {
    const port = new URL(collector.origin).port;
    const origin = rnd.pick(["https://evil.example", "null", `${collector.origin}/`, `http://127.0.0.1:${Number(port) + 1}`, `http://127.0.0.1:${port}.evil.example`, `HTTP://127.0.0.1:${port}`, `https://127.0.0.1:${port}`, "file://", `http://127.0.0.1:${port}@evil.example`]);
    return { what: `forged Origin ${origin}`, req: post(withField(["site"], "demo"), { origin }), expect: 403, field: "origin" };
  },
  // Wrong methods and paths.
  () => ({ what: "a wrong method", req: { method: rnd.pick(["GET", "PUT", "DELETE", "PATCH"]), headers: { "content-type": "text/plain" }, body: JSON.stringify(validBatch()) }, expect: 405 }),
  () => ({ what: "HEAD /collect", req: { method: "HEAD", headers: {} }, expect: 405, noBody: true }),
  () => ({ what: "a method on the read API it does not have", req: { method: rnd.pick(["POST", "PUT", "PATCH"]), path: rnd.pick(["/api/sessions", "/api/stats", "/api/sessions/x"]), headers: { authorization: `Bearer ${TOKEN}` }, body: "{}" }, expect: 404 }),
  // Wrong content types.
  () => ({ what: "a wrong content type", req: post(JSON.stringify(validBatch()), { "content-type": rnd.pick(["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html", "application/xml", "image/png", "text/plainx", "application/jsonp", "text/plain-evil; charset=utf-8", "application/json+evil", "*/*"]) }), expect: 415, field: "content-type" }),
  // The read API: parameters and tokens.
  () => {
    const [param, value] = rnd.pick([["from", "-1"], ["to", "abc"], ["limit", "0"], ["limit", "201"], ["limit", "1e3"], ["cursor", "garbage"], ["cursor", `-9223372036854775808.${rnd.uuid()}`], ["bots", "all"], ["channel", "tv"], ["device", "fridge"], ["country", "usa"], ["site", "Demo"], ["from", "99999999999999999999999"], ["contry", "DE"], ["bot", "include"]]);
    const site = param === "site" ? "" : "site=demo&";
    return { what: `read API ${param}=${value}`, req: { method: "GET", path: `/api/${rnd.pick(["sessions", "stats"])}?${site}${param}=${encodeURIComponent(value)}`, headers: { authorization: `Bearer ${TOKEN}` } }, expect: 400, field: param };
  },
  () => ({ what: "a read with a bad token", req: { method: "GET", path: "/api/sessions?site=demo", headers: { authorization: rnd.pick(["", "Bearer", "Bearer ", `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `bearer ${TOKEN}`, `Basic ${TOKEN}`, `Bearer ${TOKEN.toUpperCase()}`, `Bearer ${"x".repeat(6000)}`]) } }, expect: 401 }),
];

// Header tricks on otherwise valid beacons: answered as the beacon deserves (202, stored).
const tricks = [
  () => ({ what: "odd Host", headers: { host: rnd.pick(["evil.example", "127.0.0.1", "localhost:1", "[::1]:8787", "x".repeat(200)]) } }),
  () => ({ what: "a large header", headers: { "x-padding": "p".repeat(rnd.int(1000, 8000)) } }),
  () => ({ what: "a large User-Agent", headers: { "user-agent": `Mozilla/5.0 Chrome/126.0 ${"u".repeat(rnd.int(1000, 6000))}` } }),
  () => ({ what: "content-type parameters", contentType: rnd.pick(["text/plain; charset=utf-16", 'application/json; charset="utf-8"; foo=bar', "TEXT/PLAIN", "application/json;", " text/plain ; q=1", 'text/plain; boundary="a;b"']) }),
  () => ({ what: "chunked transfer encoding", chunked: true }),
  () => ({ what: "no Origin (a server-side sender)", headers: { origin: undefined } }),
  () => ({ what: "spoofed client addresses", headers: { "x-forwarded-for": "1.2.3.4, 5.6.7.8", "cf-connecting-ip": "9.9.9.9", "x-real-ip": "8.8.8.8" } }),
];

function buildPlan() {
  const plan = [];
  let hostile = 0;
  while (hostile < TOTAL_HOSTILE) {
    const r = rnd.next();
    if (r < 0.12) {
      // A new honest session or the next batch of one already started.
      const existing = [...honest.keys()].filter((sid) => honest.get(sid).seqs < 4);
      plan.push(honestCase(existing.length && rnd.next() < 0.6 ? rnd.pick(existing) : undefined));
    } else if (r < 0.17) {
      const t = rnd.pick(tricks)();
      const c = honestCase(undefined, { what: `valid beacon with ${t.what}`, headers: t.headers, chunked: t.chunked, contentType: t.contentType });
      for (const [k, v] of Object.entries(c.req.headers)) if (v === undefined) delete c.req.headers[k];
      plan.push(c);
    } else {
      plan.push(rnd.pick(generators)());
      hostile++;
    }
  }
  return plan;
}

test(`${TOTAL_HOSTILE} generated hostile requests get their 4xx; honest sessions in between are stored intact`, async () => {
  const plan = buildPlan();
  const answers = new Array(plan.length);
  let next = 0;
  const started = Date.now();
  // Four at a time, in plan order.
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < plan.length) {
      const i = next++;
      answers[i] = await request(plan[i].req);
    }
  }));
  const seconds = (Date.now() - started) / 1000;

  const problems = [];
  const byStatus = {};
  for (let i = 0; i < plan.length; i++) {
    const { what, expect, field, noBody } = plan[i];
    const a = answers[i];
    byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    const say = (why) => problems.push(`#${i} ${what}: ${why} (got ${a.status} ${a.text.slice(0, 160)})`);
    if (a.status >= 500) { say("a 5xx"); continue; }
    if (a.status !== expect) { say(`expected ${expect}`); continue; }
    if (expect >= 400 && !noBody) {
      const message = a.json?.error;
      if (typeof message !== "string" || !message) { say("no error message"); continue; }
      if (field && !message.startsWith(`${field}:`)) say(`the message should name ${field}`);
      if (field === null && !/^(events\[\d\]|body)[.:]/.test(message)) say("the message should name the event");
    }
  }
  const hostileCount = plan.filter((p) => p.expect >= 400).length;
  console.log(`# ${plan.length} requests (${hostileCount} hostile, ${plan.length - hostileCount} valid) in ${seconds.toFixed(1)} s; answers ${JSON.stringify(byStatus)}`);
  assert.ok(hostileCount >= 500);
  assert.deepEqual(problems, []);

  // Every honest session is there, with exactly what was sent.
  assert.ok(honest.size >= 30, `${honest.size} honest sessions`);
  for (const [sid, exp] of honest) {
    const r = await collector.read(`/api/sessions/${sid}?site=demo`);
    assert.equal(r.status, 200, `honest session ${sid}`);
    const s = r.body.session;
    assert.deepEqual(
      [s.pageviews, s.clicks, s.outbound_clicks, s.events, s.active_ms, r.body.events.length],
      [exp.pageviews, exp.clicks, exp.outbound, exp.custom, exp.active, exp.events],
      `session ${sid}: pageviews, clicks, outbound, custom events, engaged ms, stored events`,
    );
    assert.equal(s.entry_page, "/h0");
    assert.ok(r.body.events.every((e) => !JSON.stringify(e).includes("frag") && !JSON.stringify(e).includes("drop=")));
  }
  // And the collector still lists them.
  const listed = await collector.read(`/api/sessions?site=demo&limit=200&bots=include&from=${T0 - 60_000}&to=${Date.now() + 60_000}`);
  const ids = new Set(listed.body.sessions.map((s) => s.id));
  for (const sid of honest.keys()) assert.ok(ids.has(sid), `${sid} listed`);
  assert.deepEqual(collector.stats.failures, [], "no 5xx passed the proxy");
});
