// The local stack behind `cargo xtask dev`: `wrangler dev` on an internal port, and the
// resending proxy (resend-proxy.mjs) on the public one, so that a beacon wrangler drops is
// sent again instead of lost. Ctrl-C (or SIGTERM) stops the proxy, then wrangler and its
// workerd, and waits for them.
//
//   node xtask/dev/serve.mjs --config edge-worker/wrangler.toml --persist-to target/dev-state [--port 8787] [--ip 127.0.0.1]
//
// `--port 0` takes any free port (the ready line names it). `cargo xtask dev` builds, then
// runs exactly this; tests/dev.test.mjs runs it with `--port 0` on a copy of the build.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { startResendProxy } from "./resend-proxy.mjs";
import { startWranglerDev } from "./wrangler-dev.mjs";

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

  // Listening first: a public port already taken fails here, before wrangler starts.
  let upstreamPort;
  const proxy = await startResendProxy({
    upstreamPort: new Promise((ok) => { upstreamPort = { ok }; }),
    host: ip,
    port,
    onResend: ({ method, url, resends, status }) =>
      console.log(`dev proxy: ${method} ${url} answered 503 "worker restarted mid-request" by wrangler dev, which never passed it to the worker; sent again${resends > 1 ? ` (${resends}×)` : ""} → ${status}`),
  }).catch((err) => {
    throw new Error(`cannot listen on http://${ip}:${port}: ${err.message}`);
  });
  // `--port 0` asks for any free port: the ready line says which one the proxy got.
  const publicUrl = `http://${ip}:${proxy.address().port}`;

  // wrangler dev on a port the kernel picks (wrangler-dev.mjs), its output passed on as it
  // comes. wrangler and workerd get a process group of their own, so Ctrl-C reaches this
  // process alone and the stop below happens in order, once.
  const { child: wrangler, exited, ready } = startWranglerDev({
    config,
    cwd: dirname(config),
    args: ["--persist-to", persistTo],
    detached: true,
    // A developer's debugger finds wrangler's inspector where wrangler documents it.
    inspectorAsUsual: true,
    onOutput: (text, stream) => (stream === "stderr" ? process.stderr : process.stdout).write(text),
  });
  upstreamPort.ok(ready);

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

  let internalPort;
  try {
    internalPort = await ready;
  } catch {
    return; // wrangler exited: said above, as it stops this process
  }
  if (stopping) return;
  console.log(`dev: ready on ${publicUrl}/ (wrangler dev listens on 127.0.0.1:${internalPort} behind the resending proxy, xtask/dev/resend-proxy.mjs)`);
}

main().catch((err) => {
  console.error(`dev: ${err.message}`);
  process.exit(1);
});
