// The proxy in front of `wrangler dev` that sends again what wrangler dropped. `cargo xtask dev`
// runs it on the public port (xtask/dev/serve.mjs) and the tests' collector runs it in front
// of every instance (tests/support/collector.mjs): one proxy, so what the tests see is what a
// developer's browser gets. It lives here rather than under tests/ because it belongs to the
// local dev server, not to the worker or its tests.
//
// Why it exists. wrangler dev (4.86) answers on its port with a proxy worker of its own,
// which reaches the real worker over kept-alive connections closed after 5 s. A request that
// reaches wrangler about 5 s after the previous one meets such a connection as it closes and
// fails inside wrangler; for a POST to any path but `/`, wrangler mistakes that for a reload
// of the worker and answers within milliseconds 503 "Your worker restarted mid-request.
// Please try sending the request again" without the worker having seen the request
// (workers-sdk issue 14641; from 4.114 wrangler reports the failure instead, and the request
// is lost all the same). Bare wrangler dev answered so 5 of 16 beacons sent 4,996–5,006 ms
// after the previous one. Nothing in wrangler 4.86 or its miniflare options reaches that
// inner connection, so the proxy does what the message asks and sends the request again.
// (A GET meeting the same race gets no answer at all, or ends wrangler dev for `/`: nothing
// here can tell, see README.)
//
// Only that answer is resent: the worker never saw the request (and `/collect` ignores a
// batch it has already applied). Every other answer streams through untouched, status line
// and headers included; 5xx answers are read whole first (they are short texts) to tell the
// dev server's 503 from the worker's own, decoded for that if compressed. Each request goes
// to wrangler on a new connection, so this hop keeps no idle connection that could be lost
// the same way. Upgrades (WebSocket) are not relayed: nothing in Stint opens one, and
// wrangler's live reload is off.
import http from "node:http";
import zlib from "node:zlib";

/** The text of wrangler dev's own 503 (templates/startDevWorker/ProxyWorker.ts). */
const DEV_SERVER_DROPPED = "restarted mid-request";

/**
 * Whether an answer is wrangler dev's own 503 for a request its runtime never received,
 * which asks for the request to be sent again (`body`: the answer's text, decoded).
 */
export function droppedByDevServer(status, body) {
  return status === 503 && String(body).includes(DEV_SERVER_DROPPED);
}

/** Sends of one request after the first, at most; the last answer is passed on. */
const MAX_RESENDS = 3;

/**
 * A GET or HEAD whose answer has not begun after this long met the race and will get none
 * (seen in a full test run: a read of `/api/sessions/<sid>` unanswered until the client's
 * own 300 s limit): it is sent again, as it may be. The slowest read the bench makes answers
 * in about 2 s.
 */
const NO_ANSWER_MS = 20_000;

/**
 * Pause before a resend. A page load leaves several inner connections idle for the same
 * time; an immediate resend could take the next one as it closes too.
 */
const RESEND_PAUSE_MS = 100;

/**
 * Request bodies are kept for a resend up to this size (32× the collector's own limit);
 * a larger one is streamed on and its answer passed on whatever it is.
 */
const KEEP_LIMIT = 1 << 20;

/** Headers about one connection, not the message: not forwarded in either direction. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade"]);

/**
 * Starts the proxy on `host:port` (port 0: any free port) in front of wrangler dev on
 * `127.0.0.1:upstreamPort` (a number, or a promise of one) and resolves to the listening
 * `http.Server` once it listens.
 *
 * `onResend({method, url, resends, status})`: called once per request that was sent again,
 * with how many times and the status finally passed on. `onServerError({method, url,
 * status, body})`: every 5xx answer from upstream that is passed on (after any resends),
 * its body decoded. `noAnswerMs`: how long a read may wait for an answer to begin before it
 * is sent again.
 */
export async function startResendProxy({ upstreamPort, host = "127.0.0.1", port = 0, onResend = () => {}, onServerError = () => {}, noAnswerMs = NO_ANSWER_MS }) {
  // The port may be a promise: wrangler dev says its port once it listens, after the proxy's
  // own port went into its configuration. Requests wait for it.
  const upstream = Promise.resolve(upstreamPort).then((p) => ({ host: "127.0.0.1", port: p }));
  upstream.catch(() => {}); // a start that failed is the starter's to report
  const server = http.createServer((req, res) => {
    upstream.then((to) => relay(to, req, res, { onResend, onServerError, noAnswerMs })).catch((err) => {
      // wrangler gone or the client gone: answer if there is still someone to answer.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`dev proxy: ${err.message}`);
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

async function relay(upstream, req, res, { onResend, onServerError, noAnswerMs }) {
  const body = await readUpTo(req, KEEP_LIMIT);
  let resends = 0;
  // Reads only: a POST may have reached the worker whatever wrangler answered (or not).
  const waitAtMost = ["GET", "HEAD"].includes(req.method) && body.complete ? noAnswerMs : 0;
  const answered = async () => {
    for (;;) {
      try {
        return await send(upstream, req, body, waitAtMost);
      } catch (err) {
        if (!err.noAnswer || resends === MAX_RESENDS) throw err;
        resends++;
      }
    }
  };
  let answer = await answered();
  while (answer.statusCode >= 500) {
    const text = await readAll(answer);
    const plain = decoded(text, answer.headers["content-encoding"]);
    const dropped = droppedByDevServer(answer.statusCode, plain);
    if (!dropped || !body.complete || resends === MAX_RESENDS) {
      if (resends > 0) onResend({ method: req.method, url: req.url, resends, status: answer.statusCode });
      onServerError({ method: req.method, url: req.url, status: answer.statusCode, body: plain.toString() });
      res.writeHead(answer.statusCode, answer.statusMessage, messageHeaders(answer.rawHeaders, { answer: true }));
      res.end(text);
      return;
    }
    resends++;
    await new Promise((ok) => setTimeout(ok, RESEND_PAUSE_MS));
    answer = await answered();
  }
  if (resends > 0) onResend({ method: req.method, url: req.url, resends, status: answer.statusCode });
  res.writeHead(answer.statusCode, answer.statusMessage, messageHeaders(answer.rawHeaders, { answer: true }));
  answer.on("error", () => res.destroy());
  answer.on("aborted", () => res.destroy());
  answer.pipe(res);
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
 * One request to wrangler, on a connection of its own; resolves to the answer's head.
 * With `waitAtMost` (ms), rejects with `noAnswer` set if no answer has begun by then.
 */
function send(upstream, req, body, waitAtMost = 0) {
  return new Promise((ok, fail) => {
    const out = http.request(
      { ...upstream, method: req.method, path: req.url, headers: messageHeaders(req.rawHeaders), agent: false },
      (answer) => {
        out.setTimeout(0);
        ok(answer);
      },
    );
    if (waitAtMost) {
      out.setTimeout(waitAtMost, () => {
        const err = new Error(`wrangler dev did not answer ${req.method} ${req.url} in ${waitAtMost} ms`);
        err.noAnswer = true;
        out.destroy(err);
      });
    }
    // After the answer arrived an error is the answer's (handled where it is read).
    out.on("error", fail);
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
