// Starts the real collector — the built worker in workerd via `wrangler dev`, with SQLite
// Durable Objects persisted to a fresh temporary folder — on a free port, for one test file.
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, writeFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
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
 * @param {{token?: string|null, sites?: object}} options
 *   token: the READ_TOKEN secret (null: unset). sites: SITES; by default `demo` allowing
 *   this instance's own origins.
 */
export async function startCollector({ token = TOKEN, sites } = {}) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), "stint-collector-"));
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
  const configDir = join(dir, "config");
  await mkdir(configDir);
  await writeFile(join(configDir, "wrangler.toml"), toml);
  if (token !== null) await writeFile(join(configDir, ".dev.vars"), `READ_TOKEN=${token}\n`);
  sites ??= { demo: { origins: [origin, `http://localhost:${port}`], keep_params: [] } };

  const stateDir = join(dir, "state");
  const logs = [];
  const child = spawn(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["dev", "--config", join(configDir, "wrangler.toml"), "--ip", "127.0.0.1", "--port", String(port),
      "--persist-to", stateDir, "--var", `SITES:${JSON.stringify(sites)}`, "--show-interactive-dev-session=false"],
    { cwd: configDir, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, stdio: ["ignore", "pipe", "pipe"] },
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
    stateDir,
    logs,
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
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      if (!keep) await rm(dir, { recursive: true, force: true });
    },
  };
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
