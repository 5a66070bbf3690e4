// The read API, with the token from sessionStorage (this tab only; never in a URL).
const store = sessionStorage;

export function connection() {
  const endpoint = store.getItem("stint.endpoint");
  const token = store.getItem("stint.token");
  const site = store.getItem("stint.site");
  return endpoint && token && site ? { endpoint, token, site } : null;
}

export function connect({ endpoint, site, token }) {
  store.setItem("stint.endpoint", endpoint.replace(/\/$/, ""));
  store.setItem("stint.site", site);
  store.setItem("stint.token", token);
}

export function disconnect() {
  store.removeItem("stint.token");
}

/** The endpoint and site to show in the connect form. */
export function lastUsed() {
  return { endpoint: store.getItem("stint.endpoint") ?? location.origin, site: store.getItem("stint.site") ?? "demo" };
}

/** An error with `kind`: unauthorized, unreachable or failed. */
function failure(message, kind) {
  return Object.assign(new Error(message), { kind });
}

async function request(path, init = {}) {
  const c = connection();
  let response;
  try {
    response = await fetch(new URL(path, c.endpoint), { ...init, headers: { authorization: `Bearer ${c.token}`, ...init.headers } });
  } catch {
    throw failure(`Cannot reach ${c.endpoint}.`, "unreachable");
  }
  if (response.status === 401) throw failure("Unauthorized: the read token was not accepted.", "unauthorized");
  return response;
}

/** GET a read-API path (`params` a URLSearchParams or object; `site` is added). */
export async function get(path, params = {}) {
  const query = new URLSearchParams(params);
  query.set("site", connection().site);
  const response = await request(`${path}?${query}`);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw failure(body.error ?? `HTTP ${response.status}`, "failed");
  return body;
}

export async function put(path, value) {
  const response = await request(`${path}?site=${encodeURIComponent(connection().site)}`, {
    method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(value),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw failure(body.error ?? `HTTP ${response.status}`, "failed");
  return body;
}

export async function erase(sid) {
  const response = await request(`/api/sessions/${sid}?site=${encodeURIComponent(connection().site)}`, { method: "DELETE" });
  if (response.status !== 204) throw failure(`Erasing failed (HTTP ${response.status}).`, "failed");
}

/** The export as a Blob (fetched with the token, so the download link needs none). */
export async function exportBlob(params) {
  const query = new URLSearchParams(params);
  query.set("site", connection().site);
  const response = await request(`/api/export?${query}`);
  if (!response.ok) throw failure(`Export failed (HTTP ${response.status}).`, "failed");
  return response.blob();
}
