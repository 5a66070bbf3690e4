// Builders for wire-protocol v1 bodies, as a tracker would send them.
import { randomUUID } from "node:crypto";

export const newSid = () => randomUUID();

export function pageview({ page = 0, ts = Date.now(), url = "https://demo.local/", ...rest } = {}) {
  return { type: "pageview", ts, page, url, ...rest };
}

export function batch({ sid = newSid(), seq = 0, site = "demo", events = [pageview()] } = {}) {
  return { v: 1, site, sid, seq, events };
}

/** POSTs a batch (object or raw string) to /collect; returns {status, body}. */
export async function send(collector, body, { origin = collector.origin, contentType = "text/plain;charset=UTF-8", headers = {} } = {}) {
  const h = { "content-type": contentType, ...headers };
  if (origin) h.origin = origin;
  const r = await collector.fetch("/collect", {
    method: "POST",
    headers: h,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, body: json, text };
}
