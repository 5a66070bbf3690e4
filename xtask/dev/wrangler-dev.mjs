// Starts `wrangler dev` on a port the kernel picks, for `cargo xtask dev` (serve.mjs) and the
// tests' collectors (tests/support/collector.mjs).
//
// Why not a port found free first: between finding it and workerd binding it, wrangler
// spends seconds starting, and wrangler and workerd bind several sockets of their own on
// ports the kernel picks from the same range. A port found free is then sometimes taken,
// and wrangler dev exits with "Address already in use" right after "Starting local
// server..." (a CI run lost its `cargo xtask dev` test to wrangler exiting at that very
// point). `--port 0` (and `--inspector-port 0`) leave the choice to the kernel at bind
// time. wrangler says which port it got, at any log level, in the message it sends a
// parent that gave it an IPC channel (`{"event":"DEV_SERVER_READY","ip","port"}`, forwarded
// by its bin/wrangler.js).
import { spawn } from "node:child_process";
import { resolve } from "node:path";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);

/** How much of wrangler's output an error quotes, from its end (where the reason is). */
const TAIL_CHARS = 4_000;

/**
 * Spawns `wrangler dev --config <config>` listening on 127.0.0.1 on a port the kernel
 * picks, with `args` after the fixed ones, in `cwd`. The DevTools inspector too, unless
 * `inspectorAsUsual` keeps wrangler's own choice (9229, or the next free one). Its output
 * is kept (`logs`) and each chunk also given to `onOutput(chunk, stream)` if set.
 * `detached`: wrangler and workerd in a process group of their own.
 *
 * Returns `{child, logs, exited, ready}` at once: `exited` resolves to `{code, signal}`;
 * `ready` resolves to the port once wrangler has said it listens (its IPC message) and the
 * worker has answered a GET of `probe.path` (with `probe.headers`) with a 2xx; it rejects if
 * wrangler exits first or is not ready within `withinMs` (then it is killed). The
 * rejection's `why` says which; its message adds the end of wrangler's output.
 */
export function startWranglerDev({ config, cwd, args = [], env = {}, detached = false, inspectorAsUsual = false, probe = { path: "/" }, onOutput = null, withinMs = 90_000 }) {
  const child = spawn(
    resolve(ROOT, "node_modules/.bin/wrangler"),
    ["dev", "--config", config, "--ip", "127.0.0.1", "--port", "0", ...(inspectorAsUsual ? [] : ["--inspector-port", "0"]),
      "--show-interactive-dev-session=false", ...args],
    { cwd, env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env }, stdio: ["ignore", "pipe", "pipe", "ipc"], detached },
  );
  const logs = [];
  const exited = new Promise((ok) => child.on("exit", (code, signal) => ok({ code, signal })));
  const ready = new Promise((ok, fail) => {
    let settled = false;
    const failWith = (why) => {
      if (settled) return;
      settled = true;
      const all = logs.join("");
      const tail = all.length > TAIL_CHARS ? `[…]${all.slice(-TAIL_CHARS)}` : all;
      fail(Object.assign(new Error(`${why}; the end of its output:\n${tail}`), { why }));
    };
    const timer = setTimeout(() => {
      if (settled) return;
      child.kill("SIGKILL");
      failWith(`wrangler dev was not ready within ${withinMs / 1000} s`);
    }, withinMs);
    const take = (stream) => (chunk) => {
      const text = chunk.toString();
      logs.push(text);
      onOutput?.(text, stream);
    };
    child.stdout.on("data", take("stdout"));
    child.stderr.on("data", take("stderr"));
    // Its port, then the worker's first 2xx answer to `probe`: then it is ready.
    const answers = async (port) => {
      while (!settled) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}${probe.path}`, { headers: probe.headers ?? {} });
          await r.arrayBuffer();
          if (r.ok && !settled) {
            settled = true;
            clearTimeout(timer);
            ok(port);
            return;
          }
        } catch {}
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    let told = false;
    child.on("message", (message) => {
      let said;
      try {
        said = typeof message === "string" ? JSON.parse(message) : message;
      } catch {
        return;
      }
      if (told || said?.event !== "DEV_SERVER_READY" || !Number.isInteger(said.port)) return;
      told = true;
      void answers(said.port);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      failWith(`wrangler dev exited (${signal ?? `code ${code}`}) before it was ready`);
    });
  });
  ready.catch(() => {}); // the caller's to handle; not unhandled if it only awaits `exited`
  return { child, logs, exited, ready };
}
