// The local stack behind `cargo xtask dev`: `wrangler dev` on an internal free port, and the
// resending proxy (resend-proxy.mjs) on the public one, so that a request wrangler drops is
// sent again instead of lost. When wrangler dev exits on its own (4.86 does when a request
// to `/` meets its dropped connection, see resend-proxy.mjs) it is started again on the same
// port and state, and the proxy holds requests until it listens. Ctrl-C (or SIGTERM) stops
// the proxy, then wrangler and its workerd, and waits for them.
//
//   node xtask/dev/serve.mjs --config edge-worker/wrangler.toml --persist-to target/dev-state [--port 8787] [--ip 127.0.0.1]
//
// `cargo xtask dev` builds, then runs exactly this; tests/dev.test.mjs runs it on a free port
// with a copy of the build.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { ANSWER_WAIT_MS, startResendProxy } from "./resend-proxy.mjs";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Whether a live process (not a zombie) of process group `pgid` is left, from /proc. */
function groupAlive(pgid) {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command, which may hold spaces: state, ppid, pgrp…
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z") return true;
    } catch {}
  }
  return false;
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function main() {
  // A terminal that went away (SIGHUP) must not turn the stop's messages into a crash.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  const config = resolve(option("config"));
  const persistTo = resolve(option("persist-to"));
  const ip = option("ip", "127.0.0.1");
  const port = Number(option("port", "8787"));
  const publicUrl = `http://${ip}:${port}`;

  const internalPort = await freePort();
  const resendWhy = {
    "503": 'answered 503 "worker restarted mid-request" by wrangler dev, which never passed it to the worker',
    "500": 'answered 500 "Network connection lost" by wrangler dev on its way to the worker (wrangler dev exits after that)',
    timeout: `no answer from wrangler dev in ${ANSWER_WAIT_MS / 1000} s (it parks a GET that meets its dropped connection)`,
    closed: "wrangler dev closed the connection without answering",
  };
  // Listening first: a public port already taken fails here, before wrangler starts.
  const proxy = await startResendProxy({
    upstreamPort: internalPort,
    host: ip,
    port,
    onResend: ({ method, url, reasons, heldMs, status }) => {
      const parts = [...new Set(reasons)].map((r) => resendWhy[r]);
      if (heldMs > 0) parts.push(`held ${(heldMs / 1000).toFixed(1)} s while wrangler dev was not listening`);
      const times = reasons.length > 1 ? ` (${reasons.length}×)` : "";
      console.log(`dev proxy: ${method} ${url}: ${parts.join("; ")}; sent again${times} → ${status}`);
    },
  }).catch((err) => {
    throw new Error(`cannot listen on ${publicUrl}: ${err.message}`);
  });

  // wrangler and workerd get a process group of their own, so Ctrl-C reaches this process
  // alone and the stop below happens in order, once. `run`: the wrangler dev running now.
  let run;
  const startWrangler = () => {
    const child = spawn(
      join(ROOT, "node_modules/.bin/wrangler"),
      ["dev", "--config", config, "--ip", "127.0.0.1", "--port", String(internalPort), "--persist-to", persistTo,
        "--show-interactive-dev-session=false"],
      { cwd: dirname(config), env: { WRANGLER_SEND_METRICS: "false", ...process.env }, stdio: ["ignore", "inherit", "inherit"], detached: true },
    );
    const started = { pid: child.pid, ready: false, exited: new Promise((ok) => child.on("exit", (code, signal) => ok({ code, signal }))) };
    started.exited.then((how) => void exitedOnItsOwn(started, how));
    run = started;
  };

  const signalGroup = (pgid, signal) => {
    try {
      if (groupAlive(pgid)) process.kill(-pgid, signal);
    } catch {} // gone in the meantime
  };
  /** Waits (up to `ms`) for every process of group `pgid` to be gone. */
  const groupGone = async (pgid, ms) => {
    for (let i = 0; i < ms / 100 && groupAlive(pgid); i++) await sleep(100);
    return !groupAlive(pgid);
  };
  let stopping = false;
  const stop = async (why) => {
    if (stopping) {
      // A second Ctrl-C: do not wait any longer.
      signalGroup(run.pid, "SIGKILL");
      return;
    }
    stopping = true;
    console.log(`dev: ${why}; stopping the proxy and wrangler dev`);
    proxy.close();
    proxy.closeAllConnections();
    // What a terminal's Ctrl-C does to a bare `wrangler dev`: SIGINT to wrangler and workerd.
    signalGroup(run.pid, "SIGINT");
    const timer = setTimeout(() => signalGroup(run.pid, "SIGKILL"), 10_000);
    await run.exited;
    // workerd normally goes with wrangler; whatever of the group is left goes now.
    await groupGone(run.pid, 2_000);
    signalGroup(run.pid, "SIGKILL");
    clearTimeout(timer);
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => void stop(`${signal} received`));

  /**
   * Resolves once wrangler dev answers `/`: asked directly, since the proxy would hold the
   * poll while no one listens and report it like a request of the developer's. (Polls 250 ms
   * apart leave no inner connection idle for the 5 s that could end wrangler dev here.)
   */
  const untilReady = async () => {
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${internalPort}/`);
        await r.arrayBuffer();
        if (r.ok) return;
      } catch {}
      if (stopping) return;
      await sleep(250);
    }
  };

  // wrangler dev exiting while we did not stop it: started again on the same internal port
  // and persist folder, so the proxy (holding requests meanwhile) and the state carry on.
  // Only a wrangler dev that was ready is started again: one that cannot start (a broken
  // config or build) would only fail again, so the stack stops as before.
  const exitedOnItsOwn = async (ended, { code, signal }) => {
    if (stopping) return;
    const how = signal ?? `code ${code}`;
    if (!ended.ready) {
      console.error(`dev: wrangler dev exited (${how}) before it was ready; stopping the proxy — run cargo xtask dev again`);
      proxy.close();
      proxy.closeAllConnections();
      process.exit(code ?? 1);
    }
    // wrangler dev 4.86 exits, for one, when a request to `/` meets the dropped connection
    // that the proxy mends for other requests (resend-proxy.mjs, README under cargo xtask dev).
    console.log(`dev: wrangler dev exited on its own (${how}); starting it again on 127.0.0.1:${internalPort} with the same state, requests wait for it`);
    // What it leaves behind (a workerd) would hold the port or the state: gone first.
    signalGroup(ended.pid, "SIGTERM");
    if (!(await groupGone(ended.pid, 2_000))) signalGroup(ended.pid, "SIGKILL");
    await groupGone(ended.pid, 2_000);
    if (stopping) return;
    startWrangler();
    const current = run;
    await untilReady();
    current.ready = true;
  };

  startWrangler();
  await untilReady();
  run.ready = true;
  if (stopping) return;
  console.log(`dev: ready on ${publicUrl}/ (wrangler dev listens on 127.0.0.1:${internalPort} behind the resending proxy, xtask/dev/resend-proxy.mjs)`);
}

main().catch((err) => {
  console.error(`dev: ${err.message}`);
  process.exit(1);
});
