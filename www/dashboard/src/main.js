// Stint dashboard: plain ES modules bundled by esbuild (`cargo xtask build`), uPlot for the
// chart. Every view is a function of the URL's state (state.js): a change of view, range or
// filter pushes a new URL and renders it, so reload, Back and shared links work.
import "uplot/dist/uPlot.min.css";
import "./dashboard.css";
import * as api from "./api.js";
import * as state from "./state.js";
import { draw, METRICS, resize } from "./chart.js";
import { botLabel, change, count, country, duration, exact, h, offset, percent, relative, versioned } from "./format.js";

const $ = (id) => document.getElementById(id);
let current = state.read();
let renderToken = 0;

// ---- Navigation --------------------------------------------------------------------------

/** Moves to a new state: a new history entry (or a replaced one), then renders it. */
function go(changes, { replace = false } = {}) {
  current = { ...current, ...changes };
  const url = state.href(current);
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  render();
}

addEventListener("popstate", () => {
  current = state.read();
  render();
});

function addFilter(key, value) {
  if (current.filters.some(([k, v]) => k === key && v === value)) return;
  go({ filters: [...current.filters, [key, value]], segment: null, open: null });
}

// ---- Connect -----------------------------------------------------------------------------

function renderConnect() {
  const last = api.lastUsed();
  $("endpoint").value ||= last.endpoint;
  $("site").value ||= last.site;
}

$("connect-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const site = $("site").value.trim();
  if (!/^[a-z0-9._-]{1,64}$/.test(site)) {
    $("connect-error").textContent = "Site: lowercase letters, digits, dots, dashes and underscores.";
    return;
  }
  api.connect({ endpoint: $("endpoint").value, site, token: $("token").value });
  $("token").value = "";
  $("connect-error").textContent = "";
  render();
});

$("disconnect").addEventListener("click", () => {
  api.disconnect();
  render();
});

// ---- Toolbar: views, range, interval, comparison, bots, export ---------------------------

for (const [value, label] of state.RANGES) $("range").append(h("option", { value }, label));

function renderToolbar() {
  for (const b of document.querySelectorAll("#views [data-view]")) {
    if (b.dataset.view === current.view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  $("range").value = current.range;
  $("custom").hidden = current.range !== "custom";
  const [from, to] = state.bounds(current);
  if (current.range === "custom") {
    $("from").value = current.from ?? new Date(from).toISOString().slice(0, 10);
    $("to").value = current.to ?? new Date(to - 1).toISOString().slice(0, 10);
  }
  const allowed = state.intervals(from, to);
  const interval = allowed.includes(current.interval) ? current.interval : allowed[0];
  $("interval").replaceChildren(...allowed.map((i) => h("option", { value: i }, i[0].toUpperCase() + i.slice(1))));
  $("interval").value = interval;
  $("compare").value = current.compare;
  $("bots").checked = current.bots;
  const timeBound = ["overview", "details", "funnels"].includes(current.view);
  $("interval-label").hidden = current.view !== "overview";
  $("compare-label").hidden = !timeBound;
  $("range-label").hidden = current.view === "live";
  return interval;
}

for (const b of document.querySelectorAll("#views [data-view]")) {
  b.addEventListener("click", () => go({ view: b.dataset.view, open: null, report: null }));
}
$("range").addEventListener("change", () => {
  const range = $("range").value;
  if (range === "custom") {
    const [from, to] = state.bounds(current);
    go({ range, from: new Date(from).toISOString().slice(0, 10), to: new Date(to - 1).toISOString().slice(0, 10), interval: null });
  } else go({ range, interval: null });
});
$("custom").addEventListener("submit", (e) => {
  e.preventDefault();
  go({ from: $("from").value, to: $("to").value, interval: null });
});
$("interval").addEventListener("change", () => go({ interval: $("interval").value }));
$("compare").addEventListener("change", () => go({ compare: $("compare").value }));
$("bots").addEventListener("change", () => go({ bots: $("bots").checked }));

async function download(format) {
  $("export-status").textContent = "Preparing the export…";
  try {
    const blob = await api.exportBlob({ ...Object.fromEntries(state.apiParams(current)), format });
    const a = h("a", { href: URL.createObjectURL(blob), download: `stint-sessions.${format}` });
    document.body.append(a);
    a.click();
    a.remove();
    $("export-status").textContent = `Exported ${format.toUpperCase()}.`;
  } catch (err) {
    $("export-status").textContent = err.message;
  }
}
$("export-csv").addEventListener("click", () => download("csv"));
$("export-ndjson").addEventListener("click", () => download("ndjson"));

// ---- Filters and segments ----------------------------------------------------------------

let settings = { segments: [], funnels: [], min_sessions: 1 };

function renderFilters() {
  const chips = current.filters.map(([k, v], i) => h("li", { class: "chip" },
    h("span", { text: state.chipLabel(k, v) }),
    h("button", {
      type: "button", class: "remove", "aria-label": `Remove filter ${state.chipLabel(k, v)}`,
      onclick: () => go({ filters: current.filters.filter((_, j) => j !== i), segment: null }),
    }, "×")));
  $("chips").replaceChildren(...chips);
  $("filters-empty").hidden = chips.length > 0;
  $("save-segment").hidden = chips.length === 0 || !!current.segment;
  $("segment").replaceChildren(h("option", { value: "" }, "All sessions"),
    ...settings.segments.map((s) => h("option", { value: s.name }, s.name)));
  $("segment").value = settings.segments.some((s) => s.name === current.segment) ? current.segment : "";
  $("delete-segment").hidden = !current.segment;
}

async function loadSettings() {
  try {
    settings = await api.get("/api/settings");
  } catch {
    settings = { segments: [], funnels: [], min_sessions: 1 };
  }
  renderFilters();
  drawSavedFunnels();
}

$("segment").addEventListener("change", () => {
  const s = settings.segments.find((x) => x.name === $("segment").value);
  go(s ? { segment: s.name, filters: s.filters } : { segment: null, filters: [] });
});
$("save-segment").addEventListener("click", () => {
  $("segment-form").hidden = false;
  $("segment-name").focus();
});
$("segment-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = $("segment-name").value.trim();
  const next = { ...settings, segments: [...settings.segments.filter((s) => s.name !== name), { name, filters: current.filters }] };
  try {
    settings = await api.put("/api/settings", next);
    $("segment-form").hidden = true;
    $("segment-name").value = "";
    go({ segment: name });
  } catch (err) {
    $("segment-error").textContent = err.message;
  }
});
$("delete-segment").addEventListener("click", async () => {
  settings = await api.put("/api/settings", { ...settings, segments: settings.segments.filter((s) => s.name !== current.segment) });
  go({ segment: null });
});
$("filter-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const value = $("filter-value").value.trim();
  if (!value) return;
  addFilter(`${$("filter-dim").value}${$("filter-op").value}`, value);
  $("filter-value").value = "";
});
for (const [k, label] of Object.entries(state.DIMENSIONS)) $("filter-dim").append(h("option", { value: k }, label));
// The friction filter's values, as the chips name them (the collector's are the same).
for (const kind of Object.keys(state.FRICTION_KINDS)) $("values-friction").append(h("option", {}, kind));
// Channel, device and friction take one of their vocabulary's values: the input suggests them.
// A session is found by its ID's start only; a goal is reached or not, friction met or not
// (the collector answers 400 to the rest): the operators offered follow the dimension.
const OPS_OF = { session: [""], goal: ["", "!"], friction: ["", "!"] };
$("filter-dim").addEventListener("change", () => {
  const dim = $("filter-dim").value;
  const list = { channel: "values-channel", device: "values-device", friction: "values-friction" }[dim];
  if (list) $("filter-value").setAttribute("list", list);
  else $("filter-value").removeAttribute("list");
  const ops = OPS_OF[dim];
  for (const option of $("filter-op").options) option.disabled = !!ops && !ops.includes(option.value);
  if ($("filter-op").selectedOptions[0]?.disabled) $("filter-op").value = "";
});

// ---- Overview: KPI cards, chart, reports -------------------------------------------------

const KPIS = ["sessions", "pageviews", "median_active_ms", "bounce_rate", "pages_per_session"];

function kpiCards(stats) {
  return KPIS.map((key) => {
    const m = METRICS[key];
    const c = stats.change?.[key];
    let note = null;
    if (c) {
      const text = change(c.change);
      // A lower bounce rate is better; every other figure is better higher.
      const good = c.change == null ? null : (key === "bounce_rate" ? c.change < 0 : c.change > 0);
      note = text == null
        ? h("span", { class: "change muted" }, "too few sessions to compare")
        : h("span", { class: `change ${good ? "up" : "down"}` }, `${text} vs ${m.text(c.previous)}`);
    }
    return h("button", {
      type: "button", class: "kpi", "aria-pressed": String(current.metric === key), "data-kpi": key,
      onclick: () => go({ metric: key }, { replace: true }),
    }, h("span", { class: "kpi-label" }, m.label), h("b", {}, m.text(stats[key])), note);
  });
}

const REPORTS = [
  { id: "pages", title: "Pages", tabs: [["page", "Pages"], ["entry", "Entry pages"], ["exit", "Exit pages"]] },
  { id: "sources", title: "Sources", tabs: [["channel", "Channels"], ["referrer", "Referrers"], ["utm_source", "UTM source"], ["utm_medium", "UTM medium"], ["utm_campaign", "UTM campaign"]] },
  { id: "locations", title: "Locations", tabs: [["country", "Countries"]] },
  { id: "devices", title: "Devices", tabs: [["device", "Devices"], ["browser", "Browsers"], ["os", "Operating systems"]] },
  { id: "goals", title: "Goals & events", tabs: [["event", "Events"]] },
];
const reportTab = {};

/** The dimension a report tab shows: a browser or OS family filtered on drills into versions. */
function dimensionOf(by) {
  if (by === "browser" && current.filters.some(([k]) => k === "browser")) return "browser_version";
  if (by === "os" && current.filters.some(([k]) => k === "os")) return "os_version";
  return by;
}

const valueText = (by, v) => (by === "country" ? country(v) : v);

/** The filter a click on a row adds. */
const filterFor = (by, value) => (by === "event" ? ["goal", `event:${value}`] : [by, value]);

function reportRows(by, body, { limit = 8 } = {}) {
  if (body.rows.length === 0) return [h("p", { class: "muted empty" }, "Nothing in this range.")];
  const top = Math.max(...body.rows.map((r) => r.sessions));
  return [h("ol", { class: "bars" }, body.rows.slice(0, limit).map((r) => h("li", {},
    h("button", {
      type: "button", class: "bar-row", title: `Filter: ${by} is ${r.value}`,
      onclick: () => addFilter(...filterFor(by, r.value)),
    },
    h("span", { class: "fill", style: `width:${(r.sessions / top) * 100}%` }),
    h("span", { class: "label" }, valueText(by, r.value)),
    h("span", { class: "n" }, count(r.sessions)),
    h("span", { class: "pct muted" }, percent(r.share)))))),
  ];
}

async function renderReport(report, box, token) {
  const by = dimensionOf(reportTab[report.id] ?? report.tabs[0][0]);
  const tabs = report.tabs.length > 1 ? h("div", { class: "report-tabs", role: "group", "aria-label": `${report.title}: show` },
    report.tabs.map(([key, label]) => h("button", {
      type: "button", "aria-pressed": String((reportTab[report.id] ?? report.tabs[0][0]) === key),
      onclick: () => { reportTab[report.id] = key; renderReport(report, box, renderToken); },
    }, label))) : null;
  const head = h("div", { class: "report-head" }, h("h3", {}, report.title), tabs,
    h("button", { type: "button", class: "link", onclick: () => go({ view: "details", report: by }) }, "Details"));
  box.replaceChildren(head, h("p", { class: "muted" }, "Loading…"));
  try {
    const params = state.apiParams(current);
    params.set("by", by);
    params.set("limit", "8");
    const body = await api.get("/api/breakdown", params);
    if (token !== renderToken) return;
    const label = h("p", { class: "report-cols muted" }, h("span", {}, by.includes("version") ? "Version" : report.tabs.find(([k]) => k === by)?.[1] ?? by), h("span", {}, "Sessions"));
    box.replaceChildren(head, label, ...reportRows(by, body));
  } catch (err) {
    box.replaceChildren(head, h("p", { class: "error" }, err.message));
  }
}

async function renderOverview(interval, token) {
  const params = state.apiParams(current);
  if (current.compare) params.set("compare", current.compare);
  $("overview-status").textContent = "Loading…";
  const series = new URLSearchParams(params);
  series.set("interval", interval);
  const [stats, points] = await Promise.all([api.get("/api/stats", params), api.get("/api/timeseries", series)]);
  if (token !== renderToken) return;
  $("overview-status").textContent = stats.sessions === 0 ? "No sessions in this range yet." : "";
  $("incomplete").hidden = !stats.incomplete;
  $("incomplete").textContent = stats.incomplete ? `Still counting ${stats.incomplete.days.length} day(s) (${stats.incomplete.days.join(", ")}): the figures may grow; reload in a moment.` : "";
  $("kpis").replaceChildren(...kpiCards(stats));
  $("chart-title").textContent = `${METRICS[current.metric]?.label ?? "Sessions"} per ${interval}`;
  draw($("chart"), points, current.metric, stats);
  $("reports").replaceChildren(...REPORTS.map((report) => {
    const box = h("section", { class: "report", "aria-label": report.title });
    renderReport(report, box, token);
    return box;
  }));
}

addEventListener("resize", () => resize($("chart")));

// ---- Details: one report in full, sortable ------------------------------------------------

const COLUMNS = {
  value: ["Value", (r) => r.value, (r, by) => valueText(by, r.value)],
  sessions: ["Sessions", (r) => r.sessions, (r) => count(r.sessions)],
  share: ["Share", (r) => r.share, (r) => percent(r.share, 1)],
  pageviews: ["Page views", (r) => r.pageviews, (r) => count(r.pageviews)],
  bounce_rate: ["Bounce rate", (r) => r.bounce_rate, (r) => percent(r.bounce_rate)],
  median_active_ms: ["Median engaged", (r) => r.median_active_ms, (r) => duration(r.median_active_ms)],
  median_view_active_ms: ["Engaged per view", (r) => r.median_view_active_ms, (r) => duration(r.median_view_active_ms)],
  median_scroll: ["Median scroll", (r) => r.median_scroll, (r) => `${r.median_scroll}%`],
  exit_rate: ["Exit rate", (r) => r.exit_rate, (r) => percent(r.exit_rate)],
  conversions: ["Conversions", (r) => r.conversions, (r) => count(r.conversions)],
  conversion_rate: ["Conversion rate", (r) => r.conversion_rate, (r) => percent(r.conversion_rate, 1)],
  rage_clicks: ["Rage clicks", (r) => r.rage_clicks, (r) => count(r.rage_clicks)],
  dead_clicks: ["Dead clicks", (r) => r.dead_clicks, (r) => count(r.dead_clicks)],
  errors: ["Errors", (r) => r.errors, (r) => count(r.errors)],
  change: ["Change", (r) => r.change ?? -Infinity, (r) => change(r.change) ?? "—"],
};
let detailSort = { key: "sessions", down: true };

async function renderDetails(token) {
  const by = current.report ?? "page";
  const params = state.apiParams(current);
  params.set("by", by);
  params.set("limit", "100");
  const goal = $("goal").value;
  if (goal) params.set("goal", goal);
  if (current.compare) params.set("compare", current.compare);
  $("details-title").textContent = `${state.DIMENSIONS[by] ?? by} — details`;
  $("details-status").textContent = "Loading…";
  const [body, events] = await Promise.all([
    api.get("/api/breakdown", params),
    api.get("/api/breakdown", (() => { const p = state.apiParams(current); p.set("by", "event"); return p; })()),
  ]);
  if (token !== renderToken) return;
  const goals = events.rows.map((r) => `event:${r.value}`);
  $("goal").replaceChildren(h("option", { value: "" }, "No goal"), ...goals.map((g) => h("option", { value: g }, g.slice(6))));
  $("goal").value = goals.includes(goal) ? goal : "";
  const keys = ["value", "sessions", "share", ...(by === "page"
    ? ["pageviews", "median_view_active_ms", "median_scroll", "exit_rate"]
    : ["pageviews", "bounce_rate", "median_active_ms"]),
  ...(goal ? ["conversions", "conversion_rate"] : []), ...(current.compare ? ["change"] : []),
  // Friction columns where the range has any (errors by browser, rage clicks by page).
  ...["rage_clicks", "dead_clicks", "errors"].filter((k) => body.rows.some((r) => r[k] > 0)),
  ...(by === "page" ? ["links"] : [])];
  const [, sortValue] = COLUMNS[detailSort.key] ?? COLUMNS.sessions;
  const rows = [...body.rows].sort((a, b) => {
    const x = sortValue(a), y = sortValue(b);
    const order = typeof x === "string" ? x.localeCompare(y) : x - y;
    return detailSort.down ? -order : order;
  });
  $("details-status").textContent = `${count(body.rows_total)} value${body.rows_total === 1 ? "" : "s"} across ${count(body.sessions)} sessions${body.rows_total > rows.length ? `; the top ${rows.length} shown` : ""}.`;
  const head = h("tr", {}, keys.map((k) => (k === "links" ? h("th", { scope: "col" }, "Link map") : h("th", {
    scope: "col", "aria-sort": detailSort.key === k ? (detailSort.down ? "descending" : "ascending") : null,
  }, h("button", {
    type: "button", class: "sort",
    onclick: () => { detailSort = { key: k, down: detailSort.key === k ? !detailSort.down : k !== "value" }; renderDetails(renderToken); },
  }, COLUMNS[k][0])))));
  const top = Math.max(1, ...rows.map((r) => r.sessions));
  const cell = (r, k) => {
    if (k === "value") {
      return h("th", { scope: "row" }, h("button", { type: "button", class: "bar-row", onclick: () => addFilter(...filterFor(by, r.value)) },
        h("span", { class: "fill", style: `width:${(r.sessions / top) * 100}%` }), h("span", { class: "label" }, valueText(by, r.value))));
    }
    if (k === "links") {
      return h("td", {}, r.other ? "" : h("button", {
        type: "button", class: "link", "aria-pressed": String(current.lpage === r.value), "aria-label": `Links clicked on ${r.value}`,
        onclick: () => go({ lpage: r.value }, { replace: true }),
      }, "Links"));
    }
    return h("td", { class: "n" }, COLUMNS[k][2](r, by));
  };
  const bodyRows = rows.map((r) => h("tr", {}, keys.map((k) => cell(r, k))));
  $("details-table").replaceChildren(h("thead", {}, head), h("tbody", {}, bodyRows));
  await renderLinkMap(by === "page" ? current.lpage : null, token);
}

/** The links clicked on a page: the details view's link map. */
async function renderLinkMap(page, token) {
  $("linkmap").hidden = !page;
  if (!page) return;
  $("linkmap-title").textContent = `Links clicked on ${page}`;
  $("linkmap-status").textContent = "Loading…";
  const params = state.apiParams(current);
  params.set("page", page);
  const body = await api.get("/api/links", params);
  if (token !== renderToken) return;
  $("linkmap-status").textContent = body.sessions === 0
    ? "No session viewed this page in this range."
    : `${count(body.sessions)} sessions viewed it; ${count(body.clicking_sessions)} clicked a link (${count(body.clicks)} clicks)${body.other_clicks ? `; ${count(body.other_clicks)} clicks on links not listed` : ""}.`;
  const top = Math.max(1, ...body.links.map((l) => l.clicks));
  const kind = (l) => [l.outbound ? "outbound" : "internal", l.download ? "download" : null].filter(Boolean).join(", ");
  $("linkmap-table").replaceChildren(
    h("thead", {}, h("tr", {}, ["Link", "Clicks", "Sessions", "Share of clicks", "Kind"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, body.links.length === 0
      ? h("tr", {}, h("td", { colspan: "5", class: "muted" }, "No link on this page was clicked in this range."))
      : body.links.map((l) => h("tr", {},
        h("th", { scope: "row", class: "path" }, h("span", { class: "bar-row static" },
          h("span", { class: "fill", style: `width:${(l.clicks / top) * 100}%` }), h("span", { class: "label mono" }, l.href))),
        h("td", { class: "n" }, count(l.clicks)),
        h("td", { class: "n" }, count(l.sessions)),
        h("td", { class: "n" }, percent(l.share, 1)),
        h("td", {}, kind(l))))));
}
$("linkmap-close").addEventListener("click", () => go({ lpage: null }, { replace: true }));

// ---- Funnels ------------------------------------------------------------------------------

/** Pages and events seen in the range, offered as steps (a datalist). */
async function loadStepOptions() {
  const params = state.apiParams(current);
  const pagesP = new URLSearchParams(params);
  pagesP.set("by", "page");
  pagesP.set("limit", "100");
  const eventsP = new URLSearchParams(params);
  eventsP.set("by", "event");
  eventsP.set("limit", "50");
  const [pagesB, eventsB] = await Promise.all([api.get("/api/breakdown", pagesP), api.get("/api/breakdown", eventsP)]);
  const options = [...pagesB.rows.filter((r) => !r.other).map((r) => r.value), ...eventsB.rows.filter((r) => !r.other).map((r) => `event:${r.value}`)];
  $("step-options").replaceChildren(...options.map((o) => h("option", { value: o })));
}

/** The step inputs as the form shows them (what the URL says, or two empty ones). */
function drawStepInputs(steps) {
  const list = steps.length >= 2 ? steps : [...steps, "", ""].slice(0, 2);
  $("funnel-steps").replaceChildren(...list.map((value, i) => h("li", { class: "inline" },
    h("label", { class: "inline" }, `Step ${i + 1}`, h("input", {
      class: "step-input", value, list: "step-options", required: "", maxlength: "256", spellcheck: "false",
      placeholder: i === 0 ? "/pricing" : "event:signup",
    })),
    list.length > 2 ? h("button", {
      type: "button", class: "quiet", "aria-label": `Remove step ${i + 1}`,
      onclick: () => drawStepInputs(readStepInputs().filter((_, j) => j !== i)),
    }, "×") : null)));
  $("add-step").hidden = list.length >= 10;
}
const readStepInputs = () => [...document.querySelectorAll("#funnel-steps .step-input")].map((i) => i.value.trim());

$("add-step").addEventListener("click", () => {
  drawStepInputs([...readStepInputs(), ""]);
  [...document.querySelectorAll("#funnel-steps .step-input")].pop().focus();
});
$("funnel-form").addEventListener("submit", (e) => {
  e.preventDefault();
  go({ fstep: readStepInputs().filter(Boolean), fmode: $("funnel-mode").value, fwindow: $("funnel-window").value, funnel: null });
});
$("save-funnel").addEventListener("click", async () => {
  const name = $("funnel-name").value.trim();
  if (!name) {
    $("funnel-error").textContent = "Funnel name: give the funnel a name to save it.";
    return;
  }
  const funnel = { name, steps: readStepInputs().filter(Boolean), mode: $("funnel-mode").value, window: $("funnel-window").value ? Number($("funnel-window").value) : null };
  try {
    settings = await api.put("/api/settings", { ...settings, funnels: [...(settings.funnels ?? []).filter((f) => f.name !== name), funnel] });
    $("funnel-error").textContent = "";
    $("funnel-name").value = "";
    go({ fstep: funnel.steps, fmode: funnel.mode, fwindow: funnel.window ? String(funnel.window) : "", funnel: name });
  } catch (err) {
    $("funnel-error").textContent = err.message;
  }
});
$("saved-funnel").addEventListener("change", () => {
  const f = (settings.funnels ?? []).find((x) => x.name === $("saved-funnel").value);
  if (f) go({ fstep: f.steps, fmode: f.mode, fwindow: f.window ? String(f.window) : "", funnel: f.name });
});
$("delete-funnel").addEventListener("click", async () => {
  settings = await api.put("/api/settings", { ...settings, funnels: (settings.funnels ?? []).filter((f) => f.name !== current.funnel) });
  go({ funnel: null });
});

function drawSavedFunnels() {
  const funnels = settings.funnels ?? [];
  $("saved-funnel").replaceChildren(h("option", { value: "" }, funnels.length ? "Choose…" : "None saved yet"),
    ...funnels.map((f) => h("option", { value: f.name }, f.name)));
  $("saved-funnel").value = funnels.some((f) => f.name === current.funnel) ? current.funnel : "";
  $("delete-funnel").hidden = !current.funnel;
}

/** One step of the answer: its bar, conversion, drop-off, and where the dropped went. */
function funnelStep(step, i, compare) {
  const dropped = i > 0 && step.dropped > 0 ? h("div", { class: "dropped" },
    h("p", {}, h("b", {}, `${count(step.dropped)} dropped`), " before this step. Went instead: "),
    h("ul", { class: "went" },
      ...step.went_instead.map((w) => h("li", {}, h("span", { class: "mono" }, w.page), ` ${count(w.sessions)}`)),
      step.went_other ? h("li", {}, `other pages ${count(step.went_other)}`) : null,
      step.left ? h("li", {}, `left the site ${count(step.left)}`) : null),
    step.dropped_sessions.length ? h("p", { class: "inline" }, "Open a dropped session:",
      ...step.dropped_sessions.map((id) => h("button", { type: "button", class: "link mono", "aria-label": `Open dropped session ${id}`, onclick: () => go({ open: id }) }, id.slice(0, 8)))) : null) : null;
  const was = compare && step.previous ? h("span", { class: "muted" },
    ` · was ${percent(step.previous.conversion, 1)} (${count(step.previous.sessions)})`,
    step.change == null ? " — too few sessions to compare" : h("span", { class: `change ${step.change > 0 ? "up" : "down"}` }, ` ${change(step.change)}`)) : null;
  return h("li", { class: "funnel-step", "data-step": String(i + 1) },
    h("div", { class: "step-head" },
      h("span", { class: "step-n" }, `${i + 1}`),
      h("strong", { class: "mono" }, step.step),
      h("span", { class: "n" }, `${count(step.sessions)} sessions`),
      h("span", { class: "pct" }, percent(step.conversion, 1))),
    h("span", { class: "track", role: "img", "aria-label": `${percent(step.conversion, 1)} of step 1` }, h("span", { class: "engaged", style: `width:${step.conversion * 100}%` })),
    i > 0 ? h("p", { class: "muted step-facts" },
      `${percent(step.step_conversion, 1)} of the step before · median engaged ${duration(step.median_engaged_ms)} from it`, was) : was,
    dropped);
}

async function renderFunnels(token) {
  drawSavedFunnels();
  drawStepInputs(current.fstep);
  $("funnel-mode").value = current.fmode;
  $("funnel-window").value = current.fwindow;
  const options = loadStepOptions().catch(() => {});
  if (current.fstep.length < 2) {
    $("funnels-status").textContent = "Choose two to ten steps — pages (/pricing, /blog/*) or events (event:signup) — and show the funnel.";
    $("funnel-result").replaceChildren();
    return options;
  }
  $("funnels-status").textContent = "Loading…";
  const params = state.apiParams(current);
  for (const step of current.fstep) params.append("step", step);
  if (current.fmode !== "ordered") params.set("mode", current.fmode);
  if (current.fwindow) params.set("window", current.fwindow);
  if (current.compare) params.set("compare", current.compare);
  const body = await api.get("/api/funnel", params);
  if (token !== renderToken) return;
  const first = body.steps[0]?.sessions ?? 0;
  const last = body.steps[body.steps.length - 1];
  $("funnels-status").textContent = first === 0
    ? `None of the ${count(body.sessions)} sessions in this range reached step 1.`
    : `${count(first)} of ${count(body.sessions)} sessions entered; ${count(last.sessions)} reached the last step (${percent(last.conversion, 1)}).`;
  $("funnel-result").replaceChildren(...body.steps.map((step, i) => funnelStep(step, i, !!current.compare)));
  await options;
}

// ---- Journeys ------------------------------------------------------------------------------

$("journey-form").addEventListener("submit", (e) => {
  e.preventDefault();
  go({ jstart: $("journey-start").value.trim() || "/", jdir: $("journey-dir").value, jvia: [] });
});

async function renderJourneys(token) {
  $("journey-start").value = current.jstart;
  $("journey-dir").value = current.jdir;
  const options = loadStepOptions().catch(() => {});
  const via = current.jvia.slice(0, 5);
  const params = state.apiParams(current);
  params.set(current.jdir === "backward" ? "end" : "start", current.jstart);
  params.set("depth", String(Math.min(6, via.length + 2)));
  params.set("limit", "8");
  for (const page of via) params.append("via", page);
  $("journeys-status").textContent = "Loading…";
  const body = await api.get("/api/paths", params);
  if (token !== renderToken) return;
  const back = body.direction === "backward";
  $("journeys-status").textContent = body.sessions === 0
    ? `No session reached ${current.jstart} in this range.`
    : `${count(body.sessions)} sessions reached ${current.jstart}. ${back ? "Pages before it" : "Pages after it"}, step by step; choose a page to follow its sessions.`;
  const column = (step, i) => {
    const top = Math.max(1, ...step.pages.map((p) => p.sessions));
    return h("section", { class: "column", "aria-label": `Step ${step.step} ${back ? "before" : "after"}` },
      h("h3", {}, back ? `${step.step} before` : `Step ${step.step}`, h("span", { class: "muted" }, ` · ${count(step.sessions)}`)),
      h("ol", { class: "bars" }, step.pages.map((p) => h("li", {}, h("button", {
        type: "button", class: "bar-row", "aria-pressed": String(via[i] === p.page),
        onclick: () => go({ jvia: [...via.slice(0, i), p.page] }),
      },
      h("span", { class: "fill", style: `width:${(p.sessions / top) * 100}%` }),
      h("span", { class: "label mono" }, p.page),
      h("span", { class: "n" }, count(p.sessions)))))),
      step.other ? h("p", { class: "muted" }, `Other pages: ${count(step.other)}`) : null,
      h("p", { class: "muted no-further" }, back ? `Came in here: ${count(step.no_further)}` : `No further action: ${count(step.no_further)}`));
  };
  const start = h("section", { class: "column start", "aria-label": back ? "End" : "Start" },
    h("h3", {}, back ? "End" : "Start"), h("p", { class: "mono" }, current.jstart), h("p", { class: "muted" }, `${count(body.sessions)} sessions`));
  const cols = back ? [...body.steps.map(column)].reverse().concat(start) : [start, ...body.steps.map(column)];
  $("journey-columns").replaceChildren(...cols);
  await options;
}
// ---- Friction ------------------------------------------------------------------------------

/** A time as it reads: "2.3 s" from a second on, "180 ms" below. */
const msText = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
/** A speed figure's p75 as it reads: "2.3 s", "180 ms", "0.12". */
function speed(s, unit = "ms") {
  if (!s) return "—";
  return unit === "" ? s.p75.toFixed(2) : msText(s.p75);
}
// The collector rates each figure against the Web Vitals thresholds; shown as Lighthouse
// does, by shape as well as colour.
const RATING = { good: ["●", "good"], "needs-improvement": ["■", "needs improvement"], poor: ["▲", "poor"] };
/** A rating's mark, with its words for screen readers ("" for none). */
function ratingMark(rating) {
  const [mark, words] = RATING[rating] ?? [];
  return mark ? h("span", { class: `rating ${rating}`, "data-rating": rating, title: words },
    ` ${mark}`, h("span", { class: "visually-hidden" }, ` ${words}`)) : "";
}
/** A speed cell: the p75 and, where the figure has thresholds, its rating. */
function speedCell(s, unit) {
  return h("td", { class: "n" }, h("span", { class: "figure" }, speed(s, unit)), ratingMark(s?.rating));
}
const MARK = { rage: "Rage clicks on", dead: "Dead clicks on", error: "Error", form: "Form abandoned:" };

async function renderFriction(token) {
  $("friction-sort").value = current.fsort;
  const params = state.apiParams(current);
  params.set("sort", current.fsort);
  params.set("limit", "50");
  $("friction-status").textContent = "Loading…";
  const body = await api.get("/api/friction", params);
  if (token !== renderToken) return;
  const share = body.sessions ? body.frustrated_sessions / body.sessions : 0;
  $("friction-status").textContent = body.sessions === 0
    ? "No sessions in this range yet."
    : `${count(body.frustrated_sessions)} of ${count(body.sessions)} sessions (${percent(share, 1)}) met a rage click, a dead click, an error or left a form unsent. Speed is the 75th percentile of the page's views; choose a page to filter every view by it, or a figure to list the sessions behind it.`;
  // Each figure lists the sessions that met it (the `friction` filter), with the filters in force.
  const kpi = (label, value, kind) => h("button", {
    type: "button", class: "kpi", "data-friction": kind,
    onclick: () => go({ view: "sessions", filters: [...current.filters.filter(([k, v]) => !(k === "friction" && v === kind)), ["friction", kind]], segment: null, open: null }),
  }, h("span", { class: "kpi-label" }, label), h("b", {}, value), h("span", { class: "change muted" }, "list these sessions"));
  $("friction-kpis").replaceChildren(
    kpi("Frustrated sessions", percent(share, 1), "any"),
    kpi("Rage clicks", count(body.rage_clicks), "rage"),
    kpi("Dead clicks", count(body.dead_clicks), "dead"),
    kpi("Errors", count(body.errors), "error"),
    kpi("Forms abandoned", `${count(body.forms_abandoned)} of ${count(body.forms_started)}`, "abandoned"));
  const heads = ["Page", "Views", "Frustrated sessions", "Rage clicks", "Dead clicks", "Errors", "Forms abandoned", "LCP p75", "INP p75", "CLS p75"];
  const rows = body.pages.flatMap((r) => {
    const page = r.other
      ? h("th", { scope: "row", class: "path" }, `${r.page} (pages with few sessions)`)
      : h("th", { scope: "row", class: "path" }, h("button", { type: "button", class: "link mono", onclick: () => addFilter("page", r.page) }, r.page));
    const row = h("tr", {}, page,
      h("td", { class: "n" }, count(r.views)),
      h("td", { class: "n" }, `${count(r.frustrated_sessions)} (${percent(r.sessions ? r.frustrated_sessions / r.sessions : 0)})`),
      h("td", { class: "n" }, count(r.rage_clicks)),
      h("td", { class: "n" }, count(r.dead_clicks)),
      h("td", { class: "n" }, count(r.errors)),
      h("td", { class: "n" }, r.forms_started ? `${count(r.forms_abandoned)} of ${count(r.forms_started)}` : "—"),
      speedCell(r.lcp_ms),
      speedCell(r.inp_ms),
      speedCell(r.cls, ""));
    if (!r.top.length) return [row];
    const why = h("tr", { class: "why" }, h("td", { colspan: String(heads.length) },
      h("ul", { class: "marks" }, r.top.map((m) => h("li", {},
        `${MARK[m.kind] ?? m.kind} `, h("span", { class: "mono" }, m.label),
        h("span", { class: "muted" }, ` · ${count(m.count)} in ${count(m.sessions)} session${m.sessions === 1 ? "" : "s"}`))))));
    return [row, why];
  });
  $("friction-table").replaceChildren(
    h("thead", {}, h("tr", {}, heads.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: String(heads.length), class: "muted" }, "No page views in this range."))));
}
$("friction-sort").addEventListener("change", () => go({ fsort: $("friction-sort").value }, { replace: true }));

$("goal").addEventListener("change", () => renderDetails(renderToken));
$("details-back").addEventListener("click", () => go({ view: "overview", report: null }));

// ---- Sessions and the timeline -----------------------------------------------------------

let sessionRows = [];
let cursor = null;
let sessionSort = { key: "started_at", down: true };

/** A session's friction in words ("2 rage clicks · 1 error"); "" for none. */
function frictionText(s) {
  const n = (count, one, many = `${one}s`) => count ? `${count} ${count === 1 ? one : many}` : null;
  return [n(s.rage_clicks, "rage click"), n(s.dead_clicks, "dead click"), n(s.errors, "error"),
    n(s.forms_abandoned, "form abandoned", "forms abandoned")].filter(Boolean).join(" · ");
}
/** Rage and dead clicks, errors and abandoned forms together: the column's sort key. */
const frictionCount = (s) => (s.rage_clicks ?? 0) + (s.dead_clicks ?? 0) + (s.errors ?? 0) + (s.forms_abandoned ?? 0);

const SESSION_COLUMNS = [
  ["started_at", "Started", (s) => s.started_at],
  ["id", "Session", (s) => s.id],
  ["country", "Country", (s) => country(s.country)],
  ["device", "Device / OS / browser", (s) => [s.device, versioned(s.os, s.os_version), versioned(s.browser, s.browser_version)].filter(Boolean).join(" · ")],
  ["duration_ms", "Duration", (s) => s.duration_ms],
  ["active_ms", "Engaged", (s) => s.active_ms],
  ["pageviews", "Pages", (s) => s.pageviews],
  ["channel", "Source", (s) => s.referrer_host ?? s.channel ?? ""],
  ["entry_page", "Entry → exit", (s) => s.entry_page ?? ""],
  ["friction", "Friction", frictionCount],
];

function sessionRow(s) {
  const open = () => go({ open: s.id });
  const when = h("td", {}, h("time", { datetime: new Date(s.started_at).toISOString(), title: exact(s.started_at) }, relative(s.started_at)));
  if (s.bot) when.append(h("span", { class: "bot" }, `bot: ${botLabel(s)}`));
  return h("tr", { tabindex: "0", "data-sid": s.id, onclick: open, onkeydown: (e) => { if (e.key === "Enter") open(); } },
    when,
    h("td", { class: "mono", title: s.id }, s.id.slice(0, 8)),
    h("td", {}, country(s.country)),
    h("td", {}, SESSION_COLUMNS[3][2](s) || "—"),
    h("td", { class: "n" }, duration(s.duration_ms)),
    h("td", { class: "n" }, duration(s.active_ms)),
    h("td", { class: "n" }, String(s.pageviews)),
    h("td", {}, s.referrer_host ? `${s.channel} · ${s.referrer_host}` : (s.channel ?? "—")),
    h("td", { class: "path" }, `${s.entry_page ?? "—"} → ${s.exit_page ?? "—"}`),
    h("td", { class: frictionCount(s) ? "friction" : "muted" }, frictionText(s) || "—"));
}

function drawSessions() {
  const column = SESSION_COLUMNS.find(([k]) => k === sessionSort.key) ?? SESSION_COLUMNS[0];
  const rows = [...sessionRows].sort((a, b) => {
    const x = column[2](a), y = column[2](b);
    const order = typeof x === "string" ? x.localeCompare(y) : x - y;
    return sessionSort.down ? -order : order;
  });
  $("session-head").replaceChildren(h("tr", {}, SESSION_COLUMNS.map(([key, label]) => h("th", {
    scope: "col", "aria-sort": sessionSort.key === key ? (sessionSort.down ? "descending" : "ascending") : null,
  }, h("button", { type: "button", class: "sort", onclick: () => { sessionSort = { key, down: sessionSort.key === key ? !sessionSort.down : true }; drawSessions(); } }, label)))));
  $("session-body").replaceChildren(...rows.map(sessionRow));
  $("more").hidden = !cursor;
  const n = sessionRows.length;
  $("sessions-status").textContent = n === 0 ? "No sessions in this range yet." : `${n} session${n === 1 ? "" : "s"}${cursor ? " so far" : ""}, newest first unless sorted.`;
}

async function renderSessions(token, { append = false } = {}) {
  const params = state.apiParams(current);
  params.set("limit", "50");
  if (append && cursor) params.set("cursor", cursor);
  $("sessions-status").textContent = "Loading…";
  const body = await api.get("/api/sessions", params);
  if (token !== renderToken) return;
  sessionRows = append ? [...sessionRows, ...body.sessions] : body.sessions;
  cursor = body.next_cursor;
  drawSessions();
}
$("more").addEventListener("click", () => renderSessions(renderToken, { append: true }).catch(showError));
$("find").addEventListener("submit", (e) => {
  e.preventDefault();
  const prefix = $("find-id").value.trim().toLowerCase();
  if (prefix) addFilter("session", prefix);
  $("find-id").value = "";
});

const FRICTION = { rage: 1, dead: 1, error: 1 };
const element = (e) => e.name ? `${e.name} (${e.el})` : e.el;
/** How the timeline states each kind of event. */
const EVENT_TEXT = {
  // A link on the page's own site reads as its path; another site's as its whole URL.
  click: (e, page) => {
    let to = e.href;
    try {
      const url = new URL(e.href);
      if (page && url.host === page.host) to = `${url.pathname}${url.search}`;
    } catch {}
    return `click ${to}${e.outbound ? " (outbound)" : ""}${e.download ? " (download)" : ""}`;
  },
  custom: (e) => `${e.name} ${JSON.stringify(e.props ?? {})}`,
  rage: (e) => `rage click on ${element(e)}`,
  dead: (e) => `dead click on ${element(e)}`,
  error: (e) => `error ${e.name}${e.src ? ` at ${new URL(e.src).pathname}${e.line != null ? `:${e.line}` : ""}` : ""}`,
  form: (e) => `form ${e.form} ${e.phase === "submit" ? "submitted" : "started"}`,
};

async function renderTimeline(token) {
  $("timeline-title").textContent = "Session";
  $("timeline-facts").replaceChildren();
  $("timeline-pages").replaceChildren();
  const t = await api.get(`/api/sessions/${current.open}`);
  if (token !== renderToken) return;
  const s = t.session;
  $("timeline-title").textContent = `Session ${s.id.slice(0, 8)} · ${exact(s.started_at)}`;
  const facts = [
    ["Session ID", s.id],
    ["Source", s.referrer_host ? `${s.referrer_host} (${s.channel})` : s.channel],
    ["UTM", Object.entries(s.utm).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(", ") || "—"],
    ["Visitor", [country(s.country), s.device, versioned(s.os, s.os_version), versioned(s.browser, s.browser_version)].filter(Boolean).join(" · ") || "—"],
    ["Duration", `${duration(s.duration_ms)} (engaged ${duration(s.active_ms)})`],
    ["Bot", s.bot ? botLabel(s) : "no"],
    ["Friction", frictionText(s) || "none"],
  ];
  $("timeline-facts").replaceChildren(...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { class: k === "Session ID" ? "mono" : null }, v)]));
  for (const p of t.pages) {
    // Time on the page: until the next page view, or the session's last event.
    const next = t.pages.find((q) => q.index > p.index && q.entered_at != null);
    const wall = p.entered_at == null ? null : Math.max(0, (next ? next.entered_at : s.last_seen_at) - p.entered_at);
    const url = p.url ? new URL(p.url) : null;
    const engagedShare = wall ? Math.min(1, p.active_ms / Math.max(wall, 1)) : 0;
    const events = t.events.filter((e) => e.page === p.index && e.type in EVENT_TEXT);
    const v = p.vitals ?? {};
    // The view's speed, written as in the Friction view, each figure with its rating.
    const figures = [["TTFB", "ttfb"], ["FCP", "fcp"], ["LCP", "lcp"], ["load", "load"], ["INP", "inp"], ["CLS", "cls"]]
      .filter(([, k]) => v[k] != null)
      .flatMap(([label, k], i) => [i ? " · " : "", h("span", { "data-figure": k },
        `${label} ${k === "cls" ? v.cls.toFixed(2) : msText(v[k])}`, ratingMark(p.ratings?.[k]))]);
    $("timeline-pages").append(h("li", { "data-index": p.index },
      h("span", { class: "offset mono" }, p.entered_at == null ? "" : offset(p.entered_at - s.started_at)),
      h("div", {},
        h("strong", {}, url ? url.pathname : "(page view not received)"),
        url?.search ? h("span", { class: "muted params" }, ` ${url.search}`) : null,
        h("div", { class: "muted meta" }, `${wall == null ? "" : `on page ${duration(wall)}, `}engaged ${duration(p.active_ms)} · scrolled ${p.max_scroll}% · ${p.clicks} click${p.clicks === 1 ? "" : "s"}`),
        figures.length ? h("div", { class: "muted meta speed" }, ...figures) : null,
        h("span", { class: "track", role: "img", "aria-label": `engaged ${percent(engagedShare)} of the time on the page` },
          h("span", { class: "engaged", style: `width:${engagedShare * 100}%` })),
        h("ul", { class: "events" }, events.map((e) => h("li", { class: e.outbound ? "outbound" : (e.type in FRICTION ? "friction" : null), "data-type": e.type },
          h("span", { class: "mono" }, offset(e.ts - s.started_at)), " ", EVENT_TEXT[e.type](e, url)))))));
  }
}
$("back").addEventListener("click", () => go({ open: null }));
$("erase").addEventListener("click", async () => {
  if (!confirm("Erase this session everywhere? This cannot be undone.")) return;
  try {
    await api.erase(current.open);
    go({ open: null }, { replace: true });
  } catch (err) {
    $("timeline-title").textContent = err.message;
  }
});

// ---- Live --------------------------------------------------------------------------------

async function refreshLiveCount() {
  if (!api.connection()) return;
  try {
    const live = await api.get("/api/live", current.bots ? { bots: "include" } : {});
    $("live-count").textContent = `${live.count} live`;
    $("live-count").setAttribute("aria-label", `${live.count} live: sessions active in the last 5 minutes; show them`);
    if (current.view === "live" && !current.open) drawLive(live);
  } catch {
    $("live-count").textContent = "live";
  }
}

function drawLive(live) {
  $("live-status").textContent = live.count === 0 ? "Nobody on the site in the last 5 minutes." : `${live.count} session${live.count === 1 ? "" : "s"} active in the last 5 minutes (refreshes every 10 s).`;
  $("live-body").replaceChildren(...live.sessions.map((s) => h("tr", { tabindex: "0", onclick: () => go({ open: s.id }), onkeydown: (e) => { if (e.key === "Enter") go({ open: s.id }); } },
    h("td", { class: "path" }, s.page ?? "—"),
    h("td", { class: "n" }, duration(s.active_ms)),
    h("td", { class: "n" }, String(s.pageviews)),
    h("td", {}, h("time", { datetime: new Date(s.started_at).toISOString(), title: exact(s.started_at) }, relative(s.started_at))),
    h("td", {}, s.referrer_host ? `${s.channel} · ${s.referrer_host}` : (s.channel ?? "—")),
    h("td", {}, country(s.country)),
    h("td", {}, s.device ?? "—"))));
}
$("live-count").addEventListener("click", () => go({ view: "live", open: null }));
setInterval(() => { if (!document.hidden) refreshLiveCount(); }, 10_000);

// ---- Rendering ---------------------------------------------------------------------------

function showError(err) {
  const target = { overview: "overview-status", details: "details-status", sessions: "sessions-status", live: "live-status", funnels: "funnels-status", journeys: "journeys-status", friction: "friction-status" }[current.view] ?? "overview-status";
  $(target).textContent = err.message;
  $(target).classList.add("error");
}

async function render() {
  const token = ++renderToken;
  const connected = !!api.connection();
  $("connect").hidden = connected;
  $("app").hidden = !connected;
  $("disconnect").hidden = !connected;
  $("live-count").hidden = !connected;
  $("site-label").textContent = connected ? `${api.connection().site}` : "";
  if (!connected) return renderConnect();
  for (const id of ["overview-status", "details-status", "sessions-status", "live-status", "funnels-status", "journeys-status", "friction-status"]) $(id).classList.remove("error");
  const interval = renderToolbar();
  renderFilters();
  const view = current.open ? "timeline" : current.view;
  for (const v of ["overview", "details", "sessions", "live", "timeline", "funnels", "journeys", "friction"]) $(v).hidden = v !== view;
  $("toolbar").hidden = view === "timeline";
  try {
    if (view === "overview") await renderOverview(interval, token);
    else if (view === "details") await renderDetails(token);
    else if (view === "sessions") await renderSessions(token);
    else if (view === "funnels") await renderFunnels(token);
    else if (view === "journeys") await renderJourneys(token);
    else if (view === "friction") await renderFriction(token);
    else if (view === "live") await refreshLiveCount();
    else if (view === "timeline") await renderTimeline(token);
  } catch (err) {
    if (token === renderToken) {
      showError(err);
      if (view === "timeline") $("timeline-title").textContent = err.message;
    }
  }
}

if (api.connection()) loadSettings();
$("connect-form").addEventListener("submit", () => { loadSettings(); refreshLiveCount(); });
render();
refreshLiveCount();
