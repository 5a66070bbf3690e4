// `cargo xtask dev` loses no beacon: the stack it runs (xtask/dev/serve.mjs — wrangler dev on
// an internal port behind the resending proxy) gets beacons sent right where wrangler dev
// drops requests, ~5 s after the previous one (see xtask/dev/resend-proxy.mjs), answers
// every one 202 and stores every one; and Ctrl-C stops the proxy, wrangler and workerd.
//
// It runs serve.mjs itself, on any free port (`--port 0`) and a copy of the build made as for
// every other test (`makeCollectorDir`: the real wrangler.toml, so the dev SITES; the read
// token in .dev.vars), with the arguments `cargo xtask dev` gives it otherwise.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { descendants, eventually, makeCollectorDir, ROOT, TOKEN } from "./support/collector.mjs";
import { batch, newSid, send } from "./support/beacon.mjs";
import http from "node:http";
import { startResendProxy } from "../xtask/dev/resend-proxy.mjs";

/**
 * When each beacon leaves, in ms after the previous one left. wrangler dev drops requests
 * that reach it about 5 s after the previous request reached it (whatever its answer took:
 * after an answer of a few ms that is 4,990–4,995 ms after the answer). Measured on bare
 * wrangler dev 4.86 with these beacons (new sessions, answered in 15–150 ms): 5 of 16 sent
 * on this schedule were answered 503, 0 of 61 sent 4,980–5,010 ms after the answer.
 */
const GAPS_MS = [4996, 4998, 5000, 5001, 5002, 5003, 5004, 5006];

/** The Origin of a page served by `cargo xtask dev` (SITES in edge-worker/wrangler.toml). */
const DEV_ORIGIN = "http://127.0.0.1:8787";

let dir;
let serve;
let base;
const output = [];
let stopped = false;

before(async () => {
  ({ dir } = await makeCollectorDir({ token: TOKEN }));
  serve = spawn(
    "node",
    ["xtask/dev/serve.mjs", "--config", join(dir, "config/wrangler.toml"), "--port", "0", "--persist-to", join(dir, "state")],
    { cwd: ROOT, env: { ...process.env, CI: "true" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  serve.stdout.on("data", (d) => output.push(d.toString()));
  serve.stderr.on("data", (d) => output.push(d.toString()));
  // The ready line names the port; an exit before it fails at once, quoting why.
  base = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`serve.mjs not ready in 90 s; its output:\n${output.join("").slice(-4_000)}`)), 90_000);
    const look = () => {
      const url = /dev: ready on (http:\/\/127\.0\.0\.1:\d+)\//.exec(output.join(""))?.[1];
      if (url) {
        clearTimeout(timer);
        ok(url);
      }
    };
    serve.stdout.on("data", look);
    serve.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`serve.mjs exited (${signal ?? `code ${code}`}) before it was ready; the end of its output:\n${output.join("").slice(-4_000)}`));
    });
  });
});

after(async () => {
  if (!stopped && serve?.exitCode === null) {
    const left = await descendants(serve.pid);
    serve.kill("SIGINT");
    await new Promise((ok) => {
      const timer = setTimeout(ok, 12_000);
      serve.once("exit", () => { clearTimeout(timer); ok(); });
    });
    for (const p of left.filter((p) => running(p.pid))) process.kill(p.pid, "SIGKILL");
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Whether `pid` is a live process (a zombie waiting for its parent is not). */
function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Resolves at `at` (performance.now() ms) to within about a millisecond. */
async function until(at) {
  const coarse = at - performance.now() - 20;
  if (coarse > 0) await new Promise((ok) => setTimeout(ok, coarse));
  while (performance.now() < at) {}
}

test("beacons sent where wrangler dev drops requests are all answered 202 and all stored", { timeout: 80_000 }, async (t) => {
  const collector = { origin: DEV_ORIGIN, fetch: (path, init) => fetch(base + path, init) };
  const sids = [];
  const post = async () => {
    const sid = newSid();
    sids.push(sid);
    const r = await send(collector, batch({ sid }));
    return { status: r.status, text: r.text };
  };
  let sentAt = performance.now();
  const first = await post();
  assert.equal(first.status, 202, first.text);
  const answers = [];
  for (const gap of GAPS_MS) {
    await until(sentAt + gap);
    sentAt = performance.now();
    answers.push({ gap, ...(await post()) });
  }
  const resent = output.join("").split("\n").filter((l) => l.startsWith("dev proxy:"));
  t.diagnostic(`wrangler dev dropped ${resent.length} of ${GAPS_MS.length} beacons and the proxy sent them again`);
  assert.deepEqual(answers.filter((a) => a.status !== 202).map((a) => `${a.gap} ms: ${a.status} ${a.text}`), []);

  const stored = await eventually(async () => {
    const r = await fetch(`${base}/api/sessions?site=demo&limit=200&bots=include`, { headers: { authorization: `Bearer ${TOKEN}` } });
    if (r.status !== 200) throw new Error(`read API: ${r.status} ${await r.text()}`);
    const ids = new Set((await r.json()).sessions.map((s) => s.id));
    return sids.every((sid) => ids.has(sid)) && ids;
  }, { what: "every beacon's session in the listing" });
  assert.equal(sids.filter((sid) => stored.has(sid)).length, GAPS_MS.length + 1);
});

test("SIGINT (Ctrl-C) stops the proxy, wrangler and workerd", { timeout: 30_000 }, async () => {
  const processes = await descendants(serve.pid);
  assert.ok(processes.some((p) => p.command.startsWith("workerd")), `workerd under serve.mjs: ${JSON.stringify(processes)}`);
  const exited = new Promise((ok) => serve.once("exit", (code, signal) => ok({ code, signal })));
  serve.kill("SIGINT");
  assert.deepEqual(await exited, { code: 0, signal: null }, output.join(""));
  stopped = true;
  assert.deepEqual(processes.filter((p) => running(p.pid)), [], "every process of the stack is gone");
  await assert.rejects(fetch(`${base}/`), "the public port is closed");
});

// wrangler dev sometimes gives a read no answer at all (the same race; a full test run once
// waited 300 s on one `/api/sessions/<sid>`). Upstream here is a server that swallows the
// first GET, as wrangler does then, and answers the second.
test("a read wrangler dev leaves unanswered is sent again, and its answer passed on", { timeout: 10_000 }, async () => {
  const seen = [];
  const upstream = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (seen.length > 1) res.end("the second answer");
  });
  await new Promise((ok) => upstream.listen(0, "127.0.0.1", ok));
  const resent = [];
  const proxy = await startResendProxy({ upstreamPort: upstream.address().port, noAnswerMs: 300, onResend: (r) => resent.push(r) });
  try {
    const r = await fetch(`http://127.0.0.1:${proxy.address().port}/api/sessions/x?site=demo`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "the second answer");
    assert.deepEqual(seen, ["GET /api/sessions/x?site=demo", "GET /api/sessions/x?site=demo"]);
    assert.deepEqual(resent.map((x) => [x.method, x.resends, x.status]), [["GET", 1, 200]]);
  } finally {
    proxy.closeAllConnections();
    upstream.closeAllConnections();
    await new Promise((ok) => proxy.close(ok));
    await new Promise((ok) => upstream.close(ok));
  }
});
