// Starts the real collector — the built worker in workerd via `wrangler dev`, with SQLite
// Durable Objects persisted to a fresh temporary folder — on a free port, for one test file.
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import http from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(process.env.STINT_ROOT ?? new URL("../..", import.meta.url).pathname);
export const TOKEN = "test-read-token";

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * @param {{token?: string|null, sites?: object, vars?: object}} options
 *   token: the READ_TOKEN secret (null: unset). sites: SITES; by default `demo` allowing
 *   this instance's own origins. vars: other wrangler vars to override.
 */
/**
 * A pass-through proxy in front of wrangler dev. wrangler's local runtime sometimes answers
 * a request with 503 "Your worker restarted mid-request. Please try sending the request
 * again" without the worker having seen it (seen in these tests for beacons that follow an
 * idle pause of about 5 s; it is the local dev server, not the worker). The proxy does what
 * that message asks — sends the same request again — and passes every other answer through
 * untouched, so tests see the worker's own answers and nothing the worker answered is
 * retried. Retries are counted in `proxyRetries`.
 */
async function startProxy(upstreamPort, stats) {
  const forward = (req, body) => new Promise((ok, fail) => {
    // Uncompressed answers, so the proxy can read the dev server's 503 message.
    const { "accept-encoding": _, ...headers } = req.headers;
    const upstream = http.request(
      { host: "127.0.0.1", port: upstreamPort, method: req.method, path: req.url, headers, agent: false },
      (answer) => {
        const chunks = [];
        answer.on("data", (c) => chunks.push(c));
        answer.on("end", () => ok({ status: answer.statusCode, headers: answer.headers, body: Buffer.concat(chunks) }));
      },
    );
    upstream.on("error", fail);
    upstream.end(body);
  });
  const server = http.createServer(async (req, res) => {
    try {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = Buffer.concat(chunks);
      let answer = await forward(req, body);
      for (let i = 0; i < 3 && answer.status === 503 && answer.body.includes("restarted mid-request"); i++) {
        stats.proxyRetries++;
        await new Promise((r) => setTimeout(r, 100));
        answer = await forward(req, body);
      }
      if (answer.status >= 500) stats.failures.push(`${answer.status} ${answer.body.toString().slice(0, 200)}`);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch (err) {
      // A client that went away mid-request (or an upstream failure): answer if still possible.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`proxy: ${err.message}`);
      }
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}

/**
 * Extra options: `reuse` — a stopped or killed collector whose folder (config, assets and
 * persisted state) this one starts on, as a restart would; `detached` — run wrangler and
 * workerd in a process group of their own, so `kill()` can SIGKILL them all at once.
 */
export async function startCollector({ token = TOKEN, sites, vars = {}, reuse = null, detached = false } = {}) {
  const port = await freePort();
  const stats = { proxyRetries: 0, failures: [] };
  const proxy = await startProxy(port, stats);
  const origin = `http://127.0.0.1:${proxy.address().port}`;
  const dir = reuse ? reuse.dir : await mkdtemp(join(tmpdir(), "stint-collector-"));
  const configDir = join(dir, "config");
  if (!reuse) {
    // The built site plus the test fixtures (under /fixtures/) as static assets.
    const assets = join(dir, "site");
    await cp(join(ROOT, "target/site"), assets, { recursive: true });
    await cp(join(ROOT, "tests/fixtures"), join(assets, "fixtures"), { recursive: true });
    // A copy of the real wrangler.toml with absolute paths, so this instance has its own
    // .dev.vars, assets and state folder.
    const toml = (await readFile(join(ROOT, "edge-worker/wrangler.toml"), "utf8"))
      .replace('main = "build/index.js"', `main = "${join(ROOT, "edge-worker/build/index.js")}"`)
      .replace('directory = "../target/site"', `directory = "${assets}"`);
    // The config sits in a folder of its own: wrangler watches it, and state written beside it
    // would restart the worker mid-test (answered 503 while it restarts).
    await mkdir(configDir);
    await writeFile(join(configDir, "wrangler.toml"), toml);
    if (token !== null) await writeFile(join(configDir, ".dev.vars"), `READ_TOKEN=${token}\n`);
  }
  sites ??= { demo: { origins: [origin, `http://localhost:${proxy.address().port}`], keep_params: [] } };

  const stateDir = join(dir, "state");
  const logs = [];
  const child = spawn(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["dev", "--config", join(configDir, "wrangler.toml"), "--ip", "127.0.0.1", "--port", String(port),
      "--persist-to", stateDir, "--var", `SITES:${JSON.stringify(sites)}`, "--show-interactive-dev-session=false",
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])],
    { cwd: configDir, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, stdio: ["ignore", "pipe", "pipe"], detached },
  );
  child.stdout.on("data", (d) => logs.push(d.toString()));
  child.stderr.on("data", (d) => logs.push(d.toString()));
  const exited = new Promise((ok) => child.on("exit", ok));

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${logs.join("")}`);
    try {
      const r = await fetch(`${origin}/`);
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`wrangler dev did not become ready in 90 s:\n${logs.join("")}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    origin,
    port,
    stats,
    dir,
    stateDir,
    logs,
    /** SIGKILL to wrangler and workerd together (needs `detached`), as a crash would. */
    async kill() {
      if (!detached) throw new Error("kill() needs startCollector({ detached: true })");
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, "SIGKILL");
      await exited;
      proxy.closeAllConnections();
      await new Promise((ok) => proxy.close(ok));
    },
    /** The processes running this collector (wrangler, workerd…), with their memory. */
    processes: () => descendants(child.pid),
    /** fetch against this collector. */
    fetch: (path, init) => fetch(origin + path, init),
    /** GET a read-API path with the bearer token; returns {status, body}. */
    async read(path, tokenToUse = token) {
      const headers = tokenToUse ? { authorization: `Bearer ${tokenToUse}` } : {};
      const r = await fetch(origin + path, { headers });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : null };
    },
    /** Stops wrangler; the temporary folder (and its state) is removed unless `keep`. */
    async stop({ keep = false } = {}) {
      if (stats.proxyRetries > 0) {
        console.log(`# note: wrangler dev asked for ${stats.proxyRetries} request(s) to be sent again ("worker restarted mid-request")`);
      }
      if (proxy.listening) {
        proxy.closeAllConnections();
        await new Promise((ok) => proxy.close(ok));
      }
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `pid` and every process below it, from /proc: `{pid, command, rssKb}`. Used to find
 * workerd under wrangler and read its resident memory.
 */
export async function descendants(pid) {
  const parents = new Map();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // The command is in parentheses and may hold spaces; fields after it are fixed.
      const close = stat.lastIndexOf(")");
      const command = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      parents.set(Number(entry), { ppid, command });
    } catch {}
  }
  const out = [];
  const walk = async (p) => {
    const info = parents.get(p);
    if (!info) return;
    let rssKb = 0;
    try {
      const status = await readFile(`/proc/${p}/status`, "utf8");
      rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {}
    out.push({ pid: p, command: info.command, rssKb });
    for (const [child, i] of parents) if (i.ppid === p) await walk(child);
  };
  await walk(pid);
  return out;
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function eventually(check, { ms = 10_000, what = "condition" } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
