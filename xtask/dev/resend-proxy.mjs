// The proxy in front of `wrangler dev` that sends again what wrangler dropped. `cargo xtask dev`
// runs it on the public port (xtask/dev/serve.mjs) and the tests' collector runs it in front
// of every instance (tests/support/collector.mjs): one proxy, so what the tests see is what a
// developer's browser gets. It lives here rather than under tests/ because it belongs to the
// local dev server, not to the worker or its tests.
//
// Why it exists. wrangler dev (4.86) answers on its port with a proxy worker of its own,
// which reaches the real worker over kept-alive connections closed after 5 s. A request that
// reaches wrangler about 5 s after the previous one meets such a connection as it closes and
// fails inside wrangler (workers-sdk issue 14641; templates/startDevWorker/ProxyWorker.ts),
// without the worker having seen it. What wrangler does then depends on the request:
//
// - any method but GET/HEAD, to any path but `/`: answered within milliseconds 503 "Your
//   worker restarted mid-request. Please try sending the request again". Bare wrangler dev
//   answered so 5 of 16 beacons sent 4,996–5,006 ms after the previous one. The proxy does
//   what the message asks and sends it again (`/collect` ignores a batch it already applied).
// - GET/HEAD to any path but `/`: parked in a queue wrangler only empties when the worker
//   reloads (on an edit of the worker's build): no answer until then. The proxy waits
//   ANSWER_WAIT_MS for the answer's head, then gives up that request and sends it again
//   (wrangler still replays the given-up one to the worker on its next reload: a GET).
// - any request to `/` exactly: answered within milliseconds 500 "Error: Network connection
//   lost." (DEV_SERVER_LOST), reported as an error of wrangler's own, and ~200 ms later
//   wrangler dev exits with code 1 (bare, 5 of 16 GETs of `/` sent so). The proxy sends the
//   request again; serve.mjs starts wrangler dev again on the same port and state, and
//   meanwhile the proxy holds what finds no one listening (below) until it is back.
//
// (From 4.114 wrangler reports every such failure instead, and the request is lost all the
// same.) Nothing in wrangler 4.86 or its miniflare options reaches that inner connection.
//
// What is sent again, and why that is safe:
//
// - wrangler's 503 above: the worker never saw the request. Its 500 on `/` likewise, but
//   only where a repeat changes nothing (below): that text is not wrangler's promise.
// - no connection (refused: wrangler dev down, or not listening yet): nothing reached even
//   wrangler. Any method is held and tried again every HOLD_POLL_MS, for up to HOLD_MS.
// - GET/HEAD without the head of an answer in ANSWER_WAIT_MS: a GET changes nothing, so
//   sending it twice is harmless even if the first one did reach the worker after all.
// - the connection closed after the request went out and before any answer (wrangler dev
//   exiting under it): the worker may or may not have seen it. Sent again only where a
//   second delivery changes nothing: GET, HEAD, OPTIONS, and POST /collect (the collector
//   applies a batch once per (sid, seq) and answers a repeat 202 like the first). Anything
//   else, i.e. DELETE /api/sessions/<sid> (erasure) or POST /bench/seed, is answered 502
//   saying so: a DELETE sent again would be answered 404 if the first one had erased the
//   session, telling the user there was nothing to erase; an honest "unknown" is better.
//
// At most MAX_RESENDS resends of one request for the 503, the 500, the timeout and the
// closed connection together; the last one waits for its answer as long as the client does (a
// slow but honest GET is never turned into an error). Non-GET requests are never given up
// on a timeout. Each resend is reported (`onResend`), with its reasons.
//
// Every other answer streams through untouched, status line and headers included; 5xx
// answers are read whole first (they are short texts) to tell the dev server's 503 from the
// worker's own, decoded for that if compressed. Once the head of an answer went to the
// client nothing is sent again: an answer cut off after that is cut off for the client too
// (its connection is closed, not ended), so it cannot take it for a whole one. Each request
// goes to wrangler on a new connection, so this hop keeps no idle connection that could be
// lost the same way. Upgrades (WebSocket) are not relayed: nothing in Stint opens one, and
// wrangler's live reload is off.
import http from "node:http";
import zlib from "node:zlib";

/** The text of wrangler dev's own 503 (templates/startDevWorker/ProxyWorker.ts). */
const DEV_SERVER_DROPPED = "restarted mid-request";

/**
 * The whole body of wrangler dev's 500 for a request to `/` that met the race (just before
 * it exits): the error of its proxy worker's fetch of the worker, as miniflare's entry
 * worker renders what its own `service.fetch` threw. An error of the worker itself would
 * carry the worker's frames above that last one, and the worker answers its own errors in
 * JSON anyway.
 */
const DEV_SERVER_LOST = /^Error: Network connection lost\.\n\s*at async Object\.fetch \([^()\n]*\/miniflare\/dist\/src\/workers\/core\/entry\.worker\.js:\d+:\d+\)\s*$/;

/** Sends of one request after the first, at most; the last answer is passed on. */
const MAX_RESENDS = 3;

/**
 * Pause before a resend. A page load leaves several inner connections idle for the same
 * time; an immediate resend could take the next one as it closes too.
 */
const RESEND_PAUSE_MS = 100;

/**
 * How long a GET/HEAD waits for the head of its answer before it is given up as parked by
 * wrangler and sent again. The slowest honest GETs measured locally: the stats of a big
 * day (100k sessions, `cargo xtask bench`) ~150 ms, a read of the listing on a wrangler dev
 * just started up to ~530 ms. 3 s is six times the latter, room for two cores shared with
 * a test run, and it is what a hit costs the client. The resend leaves ~8 s after the
 * request before, when the inner connections that could close under it are long closed
 * (each one measured was answered the first time). An honest GET slower than this is only
 * done twice, and its last send waits as long as the client does.
 */
export const ANSWER_WAIT_MS = 3_000;

/**
 * How long a request that finds no one listening (wrangler dev exited and is starting
 * again, serve.mjs) is held before it is answered 502. wrangler dev started again in
 * 2.5–3.3 s here (measured, machine otherwise idle); 30 s leaves room for a busy machine
 * and is still within a browser's patience.
 */
const HOLD_MS = 30_000;
const HOLD_POLL_MS = 250;

/**
 * Request bodies are kept for a resend up to this size (32× the collector's own limit);
 * a larger one is streamed on and its answer passed on whatever it is.
 */
const KEEP_LIMIT = 1 << 20;

/** Headers about one connection, not the message: not forwarded in either direction. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade"]);

/**
 * Starts the proxy on `host:port` (port 0: any free port) in front of wrangler dev on
 * `127.0.0.1:upstreamPort` and resolves to the listening `http.Server` once it listens.
 *
 * `onResend({method, url, resends, reasons, heldMs, status})`: called once per request that
 * was sent again or held, with how many times, why (`reasons`, one per resend: "503",
 * "500", "timeout" or "closed"), how long it was held while no one listened (ms) and the status
 * finally passed on. `onServerError({method, url, status, body})`: every 5xx answer that is
 * passed on (after any resends), its body decoded; the proxy's own 502s included.
 */
export async function startResendProxy({ upstreamPort, host = "127.0.0.1", port = 0, onResend = () => {}, onServerError = () => {} }) {
  const upstream = { host: "127.0.0.1", port: upstreamPort };
  const server = http.createServer((req, res) => {
    const client = watchClient(res);
    const log = { reasons: [], heldMs: 0 };
    const report = (status) => {
      if (log.reasons.length > 0 || log.heldMs > 0) {
        onResend({ method: req.method, url: req.url, resends: log.reasons.length, reasons: log.reasons, heldMs: log.heldMs, status });
      }
    };
    relay(upstream, req, res, client, log, { report, onServerError }).catch((err) => {
      // wrangler gone or the client gone: answer if there is still someone to answer.
      if (!res.headersSent && !res.destroyed) {
        const body = `dev proxy: ${err.message}`;
        report(502);
        onServerError({ method: req.method, url: req.url, status: 502, body });
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(body);
      } else {
        res.destroy();
      }
    });
  });
  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      ok();
    });
  });
  return server;
}

/**
 * `{gone, upstream}`: `gone` once the client closed its connection before its answer was
 * written; the request then in flight to wrangler (`upstream`) is given up with it.
 */
function watchClient(res) {
  const client = { gone: false, upstream: null };
  res.on("close", () => {
    if (res.writableFinished) return;
    client.gone = true;
    client.upstream?.destroy();
  });
  return client;
}

const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

async function relay(upstream, req, res, client, log, { report, onServerError }) {
  const body = await readUpTo(req, KEEP_LIMIT);
  // What wrangler parks unanswered (above); only a request kept whole can be sent again.
  const parkable = (req.method === "GET" || req.method === "HEAD") && body.complete;
  // Where a second delivery changes nothing, should the first have reached the worker.
  const repeatable = body.complete &&
    (["GET", "HEAD", "OPTIONS"].includes(req.method) || (req.method === "POST" && new URL(req.url, "http://x").pathname === "/collect"));
  let heldSince = null;
  for (;;) {
    if (client.gone) return;
    const last = log.reasons.length === MAX_RESENDS;
    const sent = await send(upstream, req, body, client, parkable && !last ? ANSWER_WAIT_MS : 0);
    if (heldSince !== null && !sent.refused) log.heldMs = Date.now() - heldSince;
    if (client.gone) {
      sent.answer?.destroy();
      return;
    }
    if (sent.refused) {
      // Nothing reached wrangler: safe to send anything again, once it listens.
      heldSince ??= Date.now();
      if (!body.complete) throw new Error(`wrangler dev is not listening (${sent.refused.message})`);
      if (Date.now() - heldSince >= HOLD_MS) {
        log.heldMs = Date.now() - heldSince;
        throw new Error(`wrangler dev has not been listening on 127.0.0.1:${upstream.port} for ${HOLD_MS / 1000} s`);
      }
      await sleep(HOLD_POLL_MS);
      continue;
    }
    if (sent.timedOut) {
      log.reasons.push("timeout");
      await sleep(RESEND_PAUSE_MS);
      continue;
    }
    if (sent.closed) {
      if (!repeatable) {
        throw new Error(`wrangler dev closed the connection without answering ${req.method} ${req.url}; ` +
          "the worker may have acted on it, so it was not sent again: check, then send it again if need be");
      }
      if (last) throw new Error(`wrangler dev closed the connection without answering, ${MAX_RESENDS + 1} times`);
      log.reasons.push("closed");
      await sleep(RESEND_PAUSE_MS);
      continue;
    }
    const { answer } = sent;
    if (answer.statusCode >= 500) {
      const text = await readAll(answer);
      const plain = decoded(text, answer.headers["content-encoding"]);
      const dropped = answer.statusCode === 503 && plain.includes(DEV_SERVER_DROPPED);
      if (dropped && body.complete && !last) {
        log.reasons.push("503");
        await sleep(RESEND_PAUSE_MS);
        continue;
      }
      // The same race on `/`, as wrangler's 500: sent again where a repeat changes nothing.
      const lost = answer.statusCode === 500 && DEV_SERVER_LOST.test(plain.toString());
      if (lost && repeatable && !last) {
        log.reasons.push("500");
        await sleep(RESEND_PAUSE_MS);
        continue;
      }
      report(answer.statusCode);
      onServerError({ method: req.method, url: req.url, status: answer.statusCode, body: plain.toString() });
      res.writeHead(answer.statusCode, answer.statusMessage, messageHeaders(answer.rawHeaders, { answer: true }));
      res.end(text);
      return;
    }
    report(answer.statusCode);
    res.writeHead(answer.statusCode, answer.statusMessage, messageHeaders(answer.rawHeaders, { answer: true }));
    answer.on("error", () => res.destroy());
    answer.on("aborted", () => res.destroy());
    answer.pipe(res);
    return;
  }
}

/**
 * Reads the request body while it fits in `limit` bytes: `{chunks, complete: true}` once it
 * ended, or `{chunks, complete: false}` with the request paused after the chunk that went
 * past the limit (the rest is for `send` to stream on). Rejects if the client goes away.
 */
function readUpTo(req, limit) {
  return new Promise((ok, fail) => {
    const chunks = [];
    let bytes = 0;
    const done = (complete) => {
      req.off("data", onData).off("end", onEnd).off("close", onClose);
      ok({ chunks, complete });
    };
    const onData = (chunk) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes > limit) {
        req.pause();
        done(false);
      }
    };
    const onEnd = () => done(true);
    const onClose = () => fail(new Error("the client closed the connection mid-request"));
    req.on("data", onData).on("end", onEnd).on("close", onClose);
  });
}

/**
 * One request to wrangler, on a connection of its own. Resolves to `{answer}` (the answer's
 * head arrived), `{refused}` (no connection was made, so wrangler saw nothing), `{closed}`
 * (the connection failed after it was made, before any answer) or `{timedOut}` (no head in
 * `waitMs`, if not 0: the request is given up and its connection closed).
 */
function send(upstream, req, body, client, waitMs) {
  return new Promise((settle) => {
    let connected = false;
    let timer = null;
    const out = http.request(
      { ...upstream, method: req.method, path: req.url, headers: messageHeaders(req.rawHeaders), agent: false },
      (answer) => {
        clearTimeout(timer);
        settle({ answer });
      },
    );
    client.upstream = out;
    out.on("socket", (socket) => socket.once("connect", () => { connected = true; }));
    // After the answer arrived an error is the answer's (handled where it is read).
    out.on("error", (err) => {
      clearTimeout(timer);
      settle(connected ? { closed: err } : { refused: err });
    });
    if (waitMs > 0) {
      timer = setTimeout(() => {
        settle({ timedOut: true });
        out.destroy();
      }, waitMs);
    }
    for (const chunk of body.chunks) out.write(chunk);
    if (body.complete) {
      out.end();
    } else {
      req.on("close", () => { if (!req.complete) out.destroy(); });
      req.pipe(out);
    }
  });
}

/**
 * A body as sent before its `Content-Encoding` (wrangler gzips its own 503 for a client
 * that accepts gzip); empty when it cannot be decoded.
 */
function decoded(body, encoding = "identity") {
  try {
    switch (encoding.trim().toLowerCase()) {
      case "identity": return body;
      case "gzip": case "x-gzip": return zlib.gunzipSync(body);
      case "deflate": return zlib.inflateSync(body);
      case "br": return zlib.brotliDecompressSync(body);
      default: return Buffer.alloc(0);
    }
  } catch {
    return Buffer.alloc(0);
  }
}

function readAll(stream) {
  return new Promise((ok, fail) => {
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => ok(Buffer.concat(chunks)));
    stream.on("error", fail);
    stream.on("aborted", () => fail(new Error("wrangler dev closed the connection mid-answer")));
  });
}

/**
 * `rawHeaders` (name, value, name, value…) without the hop-by-hop ones and those the
 * `Connection` header names. `Transfer-Encoding` stays on requests (Node frames the body
 * as the client did) and goes from answers (Node frames what it writes itself).
 */
function messageHeaders(rawHeaders, { answer = false } = {}) {
  const names = (i) => rawHeaders[i].toLowerCase();
  const dropped = new Set(HOP_BY_HOP);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (names(i) === "connection") for (const n of rawHeaders[i + 1].split(",")) dropped.add(n.trim().toLowerCase());
  }
  if (answer) dropped.add("transfer-encoding");
  const kept = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!dropped.has(names(i))) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}
