// Starts the real collector — the built worker in workerd via `wrangler dev`, with SQLite
// Durable Objects persisted to a fresh temporary folder — behind the resending proxy, for one
// test file.
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startResendProxy } from "../../xtask/dev/resend-proxy.mjs";
import { startWranglerDev } from "../../xtask/dev/wrangler-dev.mjs";

export const ROOT = resolve(process.env.STINT_ROOT ?? new URL("../..", import.meta.url).pathname);
export const TOKEN = "test-read-token";

/**
 * A folder for one collector: `config/` (a copy of the real wrangler.toml pointing at the
 * copies below, and `.dev.vars` with the READ_TOKEN unless `token` is null), `worker/` (a
 * copy of edge-worker/build) and `site/` (the built site plus the test fixtures under
 * /fixtures/). The instance runs on its own copy of the build, so a `cargo xtask build` in
 * another terminal does not reload it mid-test. Returns `{dir, configDir}`.
 */
export async function makeCollectorDir({ token = TOKEN, newSessionsPerMinute = null } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "stint-collector-"));
  const worker = join(dir, "worker");
  // Links are followed: the copy holds files, nothing that leads back into the tree.
  await cp(join(ROOT, "edge-worker/build"), worker, { recursive: true, dereference: true });
  const assets = join(dir, "site");
  await cp(join(ROOT, "target/site"), assets, { recursive: true, dereference: true });
  await cp(join(ROOT, "tests/fixtures"), join(assets, "fixtures"), { recursive: true });
  const toml = (await readFile(join(ROOT, "edge-worker/wrangler.toml"), "utf8"))
    .replace('main = "build/index.js"', `main = "${join(worker, "index.js")}"`)
    .replace('directory = "../target/site"', `directory = "${assets}"`)
    // The per-site bound on new sessions (NEW_SESSIONS): a test may set its own.
    .replace("simple = { limit = 1000, period = 60 }", `simple = { limit = ${newSessionsPerMinute ?? 1000}, period = 60 }`);
  // The config sits in a folder of its own: wrangler watches it, and state written beside it
  // would restart the worker mid-test (answered 503 while it restarts).
  const configDir = join(dir, "config");
  await mkdir(configDir);
  await writeFile(join(configDir, "wrangler.toml"), toml);
  if (token !== null) await writeFile(join(configDir, ".dev.vars"), `READ_TOKEN=${token}\n`);
  return { dir, configDir };
}

/**
 * Starts a collector in a new folder (`makeCollectorDir`). `token`: the READ_TOKEN secret
 * (null: unset). `sites`: SITES; by default `demo` allowing this instance's own origins.
 * `vars`: other wrangler vars to override. `newSessionsPerMinute`: the NEW_SESSIONS bound
 * (wrangler.toml's 1,000 by default). `reuse` — a stopped or killed collector whose folder (config, assets and
 * persisted state) this one starts on, as a restart would; `detached` — run wrangler and
 * workerd in a process group of their own, so `kill()` can SIGKILL them all at once.
 */
export async function startCollector({ token = TOKEN, sites, vars = {}, reuse = null, detached = false, newSessionsPerMinute = null } = {}) {
  // wrangler dev behind the resending proxy of `cargo xtask dev` (see xtask/dev/resend-proxy.mjs):
  // tests see the worker's own answers, and nothing the worker answered is sent twice. The
  // proxy listens first (SITES names its origin); wrangler's port, which the kernel picks
  // (xtask/dev/wrangler-dev.mjs), follows once wrangler says it.
  const stats = { proxyRetries: 0, failures: [] };
  let upstreamPort;
  const proxy = await startResendProxy({
    upstreamPort: new Promise((ok) => { upstreamPort = { ok }; }),
    onResend: ({ resends }) => { stats.proxyRetries += resends; },
    onServerError: ({ status, body }) => stats.failures.push(`${status} ${body.slice(0, 200)}`),
  });
  const origin = `http://127.0.0.1:${proxy.address().port}`;
  const { dir, configDir } = reuse ? { dir: reuse.dir, configDir: join(reuse.dir, "config") } : await makeCollectorDir({ token, newSessionsPerMinute });
  sites ??= { demo: { origins: [origin, `http://localhost:${proxy.address().port}`], keep_params: [] } };

  const stateDir = join(dir, "state");
  const closeProxy = async () => {
    if (!proxy.listening) return;
    proxy.closeAllConnections();
    await new Promise((ok) => proxy.close(ok));
  };
  const { child, logs, exited, ready } = startWranglerDev({
    config: join(configDir, "wrangler.toml"),
    cwd: configDir,
    args: ["--persist-to", stateDir, "--var", `SITES:${JSON.stringify(sites)}`,
      ...Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`])],
    env: { CI: "true" },
    detached,
  });
  upstreamPort.ok(ready);
  let port;
  try {
    port = await ready;
  } catch (err) {
    await closeProxy();
    throw err;
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
      await closeProxy();
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

/**
 * Polls `collector`'s stored timeline of `sid` until `ready(timeline)` holds; on a timeout
 * the error says what was stored and what the collector answered, so it explains itself.
 */
export async function storedSession(collector, sid, ready = () => true, what = "stored session") {
  let last;
  try {
    return await eventually(async () => {
      const r = await collector.read(`/api/sessions/${sid}?site=demo`);
      last = r;
      return r.status === 200 && ready(r.body) && r.body;
    }, { what: `${what} (${sid})` });
  } catch (err) {
    const answers = collector.logs.join("").split("\n").filter((l) => l.trim() && !/202 Accepted|GET \/|getaddrinfo|GetAddrInfo|Request.cf/.test(l)).slice(-8);
    err.message += `\nstored: ${JSON.stringify(last?.body)}\ncollector answers other than 202: ${answers.join(" | ")}` +
      `\nproxy retries: ${collector.stats.proxyRetries}; 5xx passed on: ${collector.stats.failures.join(" | ")}`;
    throw err;
  }
}
