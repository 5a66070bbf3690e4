// All view state lives in the URL (never the token): tab, range, interval, comparison,
// filters, open session, open report, segment, a funnel's steps, a journey's start and
// chosen pages, the open link map. Reload, Back, bookmarks and shared links
// all give the same view.
const DAY = 86_400_000;

/** Filter dimensions (the API's `by` names) and how a chip names them. */
export const DIMENSIONS = {
  page: "Page", entry: "Entry page", exit: "Exit page", referrer: "Referrer", channel: "Channel",
  utm_source: "UTM source", utm_medium: "UTM medium", utm_campaign: "UTM campaign", country: "Country",
  device: "Device", browser: "Browser", browser_version: "Browser version", os: "OS", os_version: "OS version",
  event: "Event", goal: "Goal", session: "Session ID", friction: "Friction",
};
/** The `friction` filter's values, as a chip names them. */
export const FRICTION_KINDS = {
  any: "any friction", rage: "rage clicks", dead: "dead clicks", error: "errors", abandoned: "an abandoned form",
};
const OPS = { "": "is", "!": "is not", "~": "contains" };

export const RANGES = [
  ["today", "Today"], ["yesterday", "Yesterday"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"],
  ["30d", "Last 30 days"], ["90d", "Last 90 days"], ["12m", "Last 12 months"], ["custom", "Custom…"],
];

/** Parses a filter key: `country!` → {dim: "country", op: "!"}; null if not a filter. */
export function filterKey(key) {
  const m = /^(.*?)([!~]?)$/.exec(key);
  const dim = m[1].startsWith("prop:") ? m[1] : m[1];
  if (!(dim in DIMENSIONS) && !dim.startsWith("prop:")) return null;
  return { dim, op: m[2] };
}

export const chipLabel = (key, value) => {
  const { dim, op } = filterKey(key);
  const name = dim.startsWith("prop:") ? `Prop ${dim.slice(5)}` : DIMENSIONS[dim];
  if (dim === "friction") return `${op === "!" ? "Met no" : "Met"} ${FRICTION_KINDS[value] ?? value}`;
  return `${name} ${dim === "goal" ? (op === "!" ? "not reached" : "reached") : OPS[op]} ${value}`;
};

/** The state the URL holds. */
export function read(url = new URL(location.href)) {
  const p = url.searchParams;
  const filters = [];
  for (const [k, v] of p) if (filterKey(k)) filters.push([k, v]);
  return {
    view: p.get("view") ?? "overview",
    range: p.get("range") ?? "7d",
    from: p.get("from"),
    to: p.get("to"),
    interval: p.get("interval"),
    compare: p.get("compare") ?? "",
    open: p.get("open"),
    report: p.get("report"),
    segment: p.get("segment"),
    bots: p.get("bots") === "include",
    metric: p.get("metric") ?? "sessions",
    filters,
    // Funnels: steps, mode, window (minutes), the saved funnel shown.
    fstep: p.getAll("fstep"),
    fmode: p.get("fmode") ?? "ordered",
    fwindow: p.get("fwindow") ?? "",
    funnel: p.get("funnel"),
    // Journeys: the start (or end) step, direction, the pages chosen column by column.
    jstart: p.get("jstart") ?? "/",
    jdir: p.get("jdir") === "backward" ? "backward" : "forward",
    jvia: p.getAll("jvia"),
    // Details by page: the page whose link map is open.
    lpage: p.get("lpage"),
    // Friction: how pages are ranked.
    fsort: p.get("fsort") ?? "friction",
  };
}

/** The URL of a state. */
export function href(state) {
  const p = new URLSearchParams();
  if (state.view !== "overview") p.set("view", state.view);
  if (state.range !== "7d") p.set("range", state.range);
  if (state.range === "custom") { p.set("from", state.from ?? ""); p.set("to", state.to ?? ""); }
  for (const k of ["interval", "compare", "open", "report", "segment"]) if (state[k]) p.set(k, state[k]);
  if (state.metric !== "sessions") p.set("metric", state.metric);
  if (state.bots) p.set("bots", "include");
  for (const [k, v] of state.filters) p.append(k, v);
  for (const step of state.fstep ?? []) p.append("fstep", step);
  if (state.fmode && state.fmode !== "ordered") p.set("fmode", state.fmode);
  for (const k of ["fwindow", "funnel", "lpage"]) if (state[k]) p.set(k, state[k]);
  if (state.jstart && state.jstart !== "/") p.set("jstart", state.jstart);
  if (state.jdir === "backward") p.set("jdir", "backward");
  for (const page of state.jvia ?? []) p.append("jvia", page);
  if (state.fsort && state.fsort !== "friction") p.set("fsort", state.fsort);
  const q = p.toString();
  return `${location.pathname}${q ? `?${q}` : ""}`;
}

/** [from, to) in Unix ms for a state's range, UTC days (Stint counts days in UTC). */
export function bounds(state, now = Date.now()) {
  const today = Math.floor(now / DAY) * DAY;
  switch (state.range) {
    case "today": return [today, now + 1];
    case "yesterday": return [today - DAY, today];
    case "24h": return [now + 1 - DAY, now + 1];
    case "30d": return [today - 29 * DAY, now + 1];
    case "90d": return [today - 89 * DAY, now + 1];
    case "12m": {
      const d = new Date(today);
      return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 11, 1), now + 1];
    }
    case "custom": {
      const from = Date.parse(`${state.from}T00:00:00Z`);
      const to = Date.parse(`${state.to}T00:00:00Z`) + DAY;
      if (Number.isFinite(from) && Number.isFinite(to) && from < to) return [from, Math.min(to, from + 366 * DAY)];
      return [today - 6 * DAY, now + 1];
    }
    default: return [today - 6 * DAY, now + 1];
  }
}

/** The intervals a range may use, the first being its default. */
export function intervals(from, to) {
  const days = (to - from) / DAY;
  if (days <= 2) return ["hour", "day"];
  if (days <= 31) return ["day", "hour", "week"];
  if (days <= 62) return ["day", "week"];
  if (days <= 190) return ["week", "day", "month"];
  return ["month", "week", "day"];
}

/** The API parameters of a state: range, bots and filters. */
export function apiParams(state, now = Date.now()) {
  const [from, to] = bounds(state, now);
  const p = new URLSearchParams({ from, to });
  if (state.bots) p.set("bots", "include");
  for (const [k, v] of state.filters) p.append(k, v);
  return p;
}
