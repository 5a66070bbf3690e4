// The collector under benchmark: the built worker in workerd via `wrangler dev`, with fresh
// SQLite Durable Object state in a temporary folder, talked to directly (no proxy in front,
// so every answer and every millisecond measured is workerd's own).
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { droppedByDevServer } from "../dev/resend-proxy.mjs";
import { startWranglerDev } from "../dev/wrangler-dev.mjs";

export const READ_TOKEN = "bench-read-token";

/** CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** Every descendant of `root` as {pid, comm}. */
async function descendants(root) {
  const children = new Map();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push({ pid: Number(name), comm });
    } catch {}
  }
  const found = [];
  const walk = (pid) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      walk(child.pid);
    }
  };
  walk(root);
  return found;
}

/**
 * The Origin the bench's own senders (the load generator, `POST /bench/seed`) send, allowed
 * for `demo` in SITES. The collector's own address is not known before it starts.
 */
const SENDER_ORIGIN = "http://bench.stint.localhost";

/**
 * Starts `wrangler dev` on a port the kernel picks (xtask/dev/wrangler-dev.mjs). `origins`
 * are the extra Origins allowed to send for the `demo` site (the benchmark page's server).
 * `build` is the worker build to run (this checkout's by default); `stateDir` a state
 * folder to persist to and leave in place at `stop` (by default a fresh one, removed).
 * Resolves once the worker answers.
 */
export async function startCollector({ root, origins = [], build = join(root, "edge-worker/build"), stateDir = null }) {
  const dir = await mkdtemp(join(tmpdir(), "stint-bench-"));
  const state = stateDir ?? join(dir, "state");
  const configDir = join(dir, "config");
  await mkdir(configDir);
  // The bench runs on its own copy of the worker and the site, so a `cargo xtask build` in
  // another terminal does not reload the worker under measurement.
  await cp(build, join(dir, "worker"), { recursive: true, dereference: true });
  await cp(join(root, "target/site"), join(dir, "site"), { recursive: true, dereference: true });
  const toml = (await readFile(join(root, "edge-worker/wrangler.toml"), "utf8"))
    .replace('main = "build/index.js"', `main = "${join(dir, "worker/index.js")}"`)
    .replace('directory = "../target/site"', `directory = "${join(dir, "site")}"`)
    // The bench starts sessions far faster than any one site's visitors would.
    .replace("simple = { limit = 1000, period = 60 }", "simple = { limit = 100000000, period = 60 }")
    // POST /bench/seed (STINT_BENCH_SEED below) reaches the worker.
    .replace('run_worker_first = ["/collect", "/api/*"]', 'run_worker_first = ["/collect", "/api/*", "/bench/*"]');
  await writeFile(join(configDir, "wrangler.toml"), toml);
  await writeFile(join(configDir, ".dev.vars"), `READ_TOKEN=${READ_TOKEN}\n`);
  const sites = { demo: { origins: [SENDER_ORIGIN, ...origins], keep_params: [] } };
  const { child, logs, exited, ready } = startWranglerDev({
    config: join(configDir, "wrangler.toml"),
    cwd: configDir,
    args: ["--persist-to", state, "--var", `SITES:${JSON.stringify(sites)}`, "--var", "STINT_COST_REPORT:1", "--var", "STINT_BENCH_SEED:1",
      ...(process.env.STINT_BENCH_FAULTS ? ["--var", `STINT_FAULTS:${process.env.STINT_BENCH_FAULTS}`] : []),
      "--log-level", "warn"],
    env: { CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
    probe: { path: "/api/sessions?site=demo", headers: { authorization: `Bearer ${READ_TOKEN}` } },
  });
  const origin = `http://127.0.0.1:${await ready}`;
  const processes = await descendants(child.pid);
  const workerd = processes.filter((p) => p.comm === "workerd").map((p) => p.pid);
  return {
    origin,
    /** The Origin header the bench's own senders give (allowed in SITES). */
    sender: SENDER_ORIGIN,
    logs,
    stateDir: state,
    /** CPU ms used so far by workerd, and by wrangler's own node process. */
    cpu: () => ({
      workerdMs: workerd.reduce((sum, pid) => sum + cpuMs(pid), 0),
      wranglerMs: cpuMs(child.pid),
    }),
    workerdPids: workerd,
    /**
     * One request with the read token, timed from the first send to the last answer. An
     * answer of wrangler dev's own 503 (a request its runtime never received: README, `cargo
     * xtask dev`) is sent again, at most 3 times, as the tests' proxy does; `resent` counts.
     */
    async read(path, method = "GET") {
      const t0 = performance.now();
      for (let resent = 0; ; resent++) {
        const r = await fetch(origin + path, { method, headers: { authorization: `Bearer ${READ_TOKEN}` } });
        const text = await r.text();
        if (droppedByDevServer(r.status, text) && resent < 3) continue;
        return { status: r.status, ms: performance.now() - t0, body: text, resent, subrequests: Number(r.headers.get("stint-subrequests") ?? NaN) };
      }
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
