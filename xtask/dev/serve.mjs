// The local stack behind `cargo xtask dev`: `wrangler dev` on an internal free port, and the
// resending proxy (resend-proxy.mjs) on the public one, so that a beacon wrangler drops is
// sent again instead of lost. Ctrl-C (or SIGTERM) stops the proxy, then wrangler and its
// workerd, and waits for them.
//
//   node xtask/dev/serve.mjs --config edge-worker/wrangler.toml --persist-to target/dev-state [--port 8787] [--ip 127.0.0.1]
//
// `cargo xtask dev` builds, then runs exactly this; tests/dev.test.mjs runs it on a free port
// with a copy of the build.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { freePort } from "../bench/collector.mjs";
import { startResendProxy } from "./resend-proxy.mjs";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
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
  // Listening first: a public port already taken fails here, before wrangler starts.
  const proxy = await startResendProxy({
    upstreamPort: internalPort,
    host: ip,
    port,
    onResend: ({ method, url, resends, status }) =>
      console.log(`dev proxy: ${method} ${url} answered 503 "worker restarted mid-request" by wrangler dev, which never passed it to the worker; sent again${resends > 1 ? ` (${resends}×)` : ""} → ${status}`),
  }).catch((err) => {
    throw new Error(`cannot listen on ${publicUrl}: ${err.message}`);
  });

  // wrangler and workerd get a process group of their own, so Ctrl-C reaches this process
  // alone and the stop below happens in order, once.
  const wrangler = spawn(
    join(ROOT, "node_modules/.bin/wrangler"),
    ["dev", "--config", config, "--ip", "127.0.0.1", "--port", String(internalPort), "--persist-to", persistTo,
      "--show-interactive-dev-session=false"],
    { cwd: dirname(config), env: { WRANGLER_SEND_METRICS: "false", ...process.env }, stdio: ["ignore", "inherit", "inherit"], detached: true },
  );
  const exited = new Promise((ok) => wrangler.on("exit", (code, signal) => ok({ code, signal })));

  const signalGroup = (signal) => {
    try {
      if (groupAlive(wrangler.pid)) process.kill(-wrangler.pid, signal);
    } catch {} // gone in the meantime
  };
  let stopping = false;
  const stop = async (why) => {
    if (stopping) {
      // A second Ctrl-C: do not wait any longer.
      signalGroup("SIGKILL");
      return;
    }
    stopping = true;
    console.log(`dev: ${why}; stopping the proxy and wrangler dev`);
    proxy.close();
    proxy.closeAllConnections();
    // What a terminal's Ctrl-C does to a bare `wrangler dev`: SIGINT to wrangler and workerd.
    signalGroup("SIGINT");
    const timer = setTimeout(() => signalGroup("SIGKILL"), 10_000);
    await exited;
    // workerd normally goes with wrangler; whatever of the group is left goes now.
    for (let i = 0; i < 20 && groupAlive(wrangler.pid); i++) await sleep(100);
    signalGroup("SIGKILL");
    clearTimeout(timer);
    process.exit(0);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => void stop(`${signal} received`));

  exited.then(({ code, signal }) => {
    if (stopping) return;
    // wrangler dev 4.86 exits, for one, when a GET of `/` meets the dropped connection that
    // the proxy mends for other requests (README, under `cargo xtask dev`).
    console.error(`dev: wrangler dev exited (${signal ?? `code ${code}`}); stopping the proxy — run cargo xtask dev again`);
    proxy.close();
    proxy.closeAllConnections();
    process.exit(code ?? 1);
  });

  for (;;) {
    try {
      const r = await fetch(`${publicUrl}/`);
      await r.arrayBuffer();
      if (r.ok) break;
    } catch {}
    if (stopping) return;
    await sleep(250);
  }
  console.log(`dev: ready on ${publicUrl}/ (wrangler dev listens on 127.0.0.1:${internalPort} behind the resending proxy, xtask/dev/resend-proxy.mjs)`);
}

main().catch((err) => {
  console.error(`dev: ${err.message}`);
  process.exit(1);
});
