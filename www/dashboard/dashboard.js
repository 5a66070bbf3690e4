// Stint dashboard: plain ES module, no framework. Reads the collector's read API with the
// bearer token kept in sessionStorage (this tab only; never in a URL).
const $ = (id) => document.getElementById(id);
const store = sessionStorage;
let cursor = null;

function connection() {
  const endpoint = store.getItem("stint.endpoint");
  const token = store.getItem("stint.token");
  const site = store.getItem("stint.site");
  return endpoint && token && site ? { endpoint, token, site } : null;
}

/** Calls the read API; throws an Error whose `kind` is unauthorized, unreachable or failed. */
async function api(path) {
  const c = connection();
  let response;
  try {
    response = await fetch(new URL(path, c.endpoint), { headers: { authorization: `Bearer ${c.token}` } });
  } catch {
    throw Object.assign(new Error(`Cannot reach ${c.endpoint}.`), { kind: "unreachable" });
  }
  if (response.status === 401) {
    throw Object.assign(new Error("Unauthorized: the read token was not accepted."), { kind: "unauthorized" });
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error ?? `HTTP ${response.status}`), { kind: "failed" });
  return body;
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

const ms = (n) => (n >= 60_000 ? `${Math.floor(n / 60_000)}m ${Math.round((n % 60_000) / 1000)}s` : `${(n / 1000).toFixed(1)}s`);
const when = (t) => new Date(t).toLocaleString();
const text = (v) => v ?? "—";

function cell(content) {
  const td = document.createElement("td");
  td.textContent = content;
  return td;
}

/** "Chrome 126": a family with its major version, where the summary has one. */
const versioned = (family, version) => (family && version ? `${family} ${version}` : family);

/** "Android 14 · Chrome 126". */
const software = (s) => [versioned(s.os, s.os_version), versioned(s.browser, s.browser_version)];

/** "search engine (Googlebot)": the bot's category as words, and its name where known. */
const botLabel = (s) => {
  const reason = s.bot === "ua_list" ? "listed bot" : s.bot.replaceAll("_", " ");
  return s.bot_name ? `${reason} (${s.bot_name})` : reason;
};

function row(s) {
  const tr = document.createElement("tr");
  tr.tabIndex = 0;
  tr.dataset.sid = s.id;
  const first = cell(when(s.started_at));
  if (s.bot) {
    const badge = document.createElement("span");
    badge.className = "bot";
    badge.textContent = `bot: ${botLabel(s)}`;
    first.append(badge);
  }
  tr.append(
    first,
    cell(text(s.country)),
    cell([s.device, ...software(s)].filter(Boolean).join(" · ") || "—"),
    cell(ms(s.duration_ms)),
    cell(ms(s.active_ms)),
    cell(String(s.pageviews)),
    cell(`${s.clicks}${s.outbound_clicks ? ` (${s.outbound_clicks} out)` : ""}`),
    cell(s.referrer_host ? `${text(s.channel)} · ${s.referrer_host}` : text(s.channel)),
    cell(`${text(s.entry_page)} → ${text(s.exit_page)}`),
  );
  const open = () => showTimeline(s.id);
  tr.addEventListener("click", open);
  tr.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  return tr;
}

/** `from` and `to` of the chosen range. */
function range() {
  const to = Date.now() + 1;
  return { from: to - Number($("range").value) * 86_400_000, to };
}

/** Query parameters shared by the Sessions tab and the overview. */
function filterParams() {
  const c = connection();
  const { from, to } = range();
  const params = new URLSearchParams({ site: c.site, from, to });
  if ($("include-bots").checked) params.set("bots", "include");
  for (const [name, id] of [["channel", "f-channel"], ["device", "f-device"], ["country", "f-country"]]) {
    const raw = $(id).value.trim();
    const value = name === "country" ? raw.toUpperCase() : raw;
    if (value) params.set(name, value);
  }
  return params;
}

let pagedBeyondFirst = false;

async function loadSessions({ append = false } = {}) {
  const params = filterParams();
  params.set("limit", "25");
  if (append && cursor) params.set("cursor", cursor);
  pagedBeyondFirst = append;
  setStatus("Loading…");
  try {
    const body = await api(`/api/sessions?${params}`);
    const tbody = $("session-table").tBodies[0];
    if (!append) tbody.replaceChildren();
    tbody.append(...body.sessions.map(row));
    cursor = body.next_cursor;
    $("more").hidden = !cursor;
    const shown = tbody.rows.length;
    setStatus(shown === 0 ? "No sessions in this range yet." : `${shown} session${shown === 1 ? "" : "s"}, newest first.`);
  } catch (err) {
    setStatus(err.message, true);
  }
}

async function loadOverview() {
  const { from, to } = range();
  $("overview-status").textContent = "Loading…";
  $("overview-status").classList.remove("error");
  try {
    const st = await api(`/api/stats?${filterParams()}`);
    $("overview-status").textContent = st.sessions === 0 ? "No sessions in this range yet." : "";
    const totals = [
      ["Sessions", st.sessions],
      ["Page views", st.pageviews],
      ["Median engaged", ms(st.median_active_ms)],
      ["Bounce rate", `${Math.round(st.bounce_rate * 100)}%`],
    ];
    $("totals").replaceChildren(...totals.map(([k, v]) => {
      const d = document.createElement("div");
      const b = document.createElement("b");
      b.textContent = v;
      d.append(b, k);
      return d;
    }));
    const svg = $("per-hour");
    const start = Math.floor(from / 3_600_000) * 3_600_000;
    const hours = Math.max(1, Math.ceil((to - start) / 3_600_000));
    const max = Math.max(1, ...st.sessions_per_hour.map((h) => h.sessions));
    const width = 600 / hours;
    svg.replaceChildren(...st.sessions_per_hour.map((h) => {
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      const height = (h.sessions / max) * 110;
      rect.setAttribute("x", ((h.hour - start) / 3_600_000) * width);
      rect.setAttribute("y", 120 - height);
      rect.setAttribute("width", Math.max(width * 0.8, 2));
      rect.setAttribute("height", height);
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = `${new Date(h.hour).toLocaleString()}: ${h.sessions}`;
      rect.append(title);
      return rect;
    }));
    const lists = [["Top pages", st.top_pages], ["Referrers", st.referrers], ["Channels", st.channels],
      ["Countries", st.countries], ["Devices", st.devices], ["Browsers", st.browsers], ["OSes", st.oses]];
    $("tops").replaceChildren(...lists.map(([title, items]) => {
      const box = document.createElement("div");
      const h = document.createElement("h3");
      h.textContent = title;
      const ol = document.createElement("ol");
      for (const it of items) {
        const li = document.createElement("li");
        li.textContent = `${it.value} — ${it.sessions}`;
        ol.append(li);
      }
      if (items.length === 0) ol.append(Object.assign(document.createElement("li"), { textContent: "—" }));
      box.append(h, ol);
      return box;
    }));
  } catch (err) {
    $("overview-status").textContent = err.message;
    $("overview-status").classList.add("error");
  }
}

function showView(name) {
  $("overview").hidden = name !== "overview";
  $("sessions").hidden = name !== "sessions";
  $("timeline").hidden = true;
  $("tab-overview").toggleAttribute("aria-current", name === "overview");
  $("tab-sessions").toggleAttribute("aria-current", name === "sessions");
  if (name === "overview") $("tab-overview").setAttribute("aria-current", "page");
  if (name === "sessions") $("tab-sessions").setAttribute("aria-current", "page");
  if (name === "overview") loadOverview(); else loadSessions();
}

let openSession = null;

async function showTimeline(sid) {
  const c = connection();
  openSession = sid;
  $("sessions").hidden = true;
  $("timeline").hidden = false;
  $("timeline-title").textContent = "Session";
  $("timeline-facts").replaceChildren();
  $("timeline-pages").replaceChildren();
  try {
    const t = await api(`/api/sessions/${sid}?site=${encodeURIComponent(c.site)}`);
    const s = t.session;
    $("timeline-title").textContent = `Session ${when(s.started_at)}`;
    const facts = [
      ["Referrer", s.referrer_host ? `${s.referrer_host} (${s.channel})` : s.channel],
      ["UTM", Object.entries(s.utm).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(", ") || "—"],
      ["Visitor", [s.country, s.device, ...software(s)].filter(Boolean).join(" · ") || "—"],
      ["Duration", `${ms(s.duration_ms)} (engaged ${ms(s.active_ms)})`],
      ["Bot", s.bot ? botLabel(s) : "no"],
    ];
    for (const [k, v] of facts) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      $("timeline-facts").append(dt, dd);
    }
    for (const p of t.pages) {
      const li = document.createElement("li");
      li.dataset.index = p.index;
      const title = document.createElement("strong");
      // The page is its path (pages are grouped by path); the parameters the site keeps
      // are shown beside it, from the stored URL.
      title.textContent = p.url ? new URL(p.url).pathname : "(page view not received)";
      const kept = p.url ? new URL(p.url).search : "";
      const meta = document.createElement("div");
      meta.className = "muted";
      // Wall time on a page: until the next page opened, or until the session's last event.
      const next = t.pages.find((q) => q.index > p.index && q.entered_at != null);
      const wall = p.entered_at == null ? null : (next ? next.entered_at : s.last_seen_at) - p.entered_at;
      meta.textContent = `${wall == null ? "" : `on page ${ms(wall)}, `}engaged ${ms(p.active_ms)} · scrolled ${p.max_scroll}% · ${p.clicks} click${p.clicks === 1 ? "" : "s"}`;
      const bar = document.createElement("span");
      bar.className = "scroll";
      bar.setAttribute("role", "img");
      bar.setAttribute("aria-label", `scroll depth ${p.max_scroll}%`);
      const fill = document.createElement("span");
      fill.style.width = `${p.max_scroll}%`;
      bar.append(fill);
      const events = document.createElement("ul");
      events.className = "events";
      for (const e of t.events.filter((e) => e.page === p.index && (e.type === "click" || e.type === "custom"))) {
        const item = document.createElement("li");
        if (e.type === "click") {
          item.textContent = `${new Date(e.ts).toLocaleTimeString()} click ${e.href}${e.outbound ? " (outbound)" : ""}`;
          if (e.outbound) item.className = "outbound";
        } else {
          item.textContent = `${new Date(e.ts).toLocaleTimeString()} ${e.name} ${JSON.stringify(e.props ?? {})}`;
        }
        events.append(item);
      }
      li.append(title);
      if (kept) {
        const params = document.createElement("span");
        params.className = "muted params";
        params.textContent = ` ${kept}`;
        li.append(params);
      }
      li.append(meta, bar, events);
      $("timeline-pages").append(li);
    }
  } catch (err) {
    $("timeline-title").textContent = err.message;
  }
}

function showConnected() {
  const c = connection();
  $("connect").hidden = !!c;
  $("tabs").hidden = !c;
  $("disconnect").hidden = !c;
  $("site-label").textContent = c ? `${c.site} at ${c.endpoint}` : "";
  if (c) {
    showView("sessions");
  } else {
    $("overview").hidden = $("sessions").hidden = $("timeline").hidden = true;
  }
}

async function erase() {
  const c = connection();
  if (!openSession || !confirm("Erase this session everywhere? This cannot be undone.")) return;
  const response = await fetch(new URL(`/api/sessions/${openSession}?site=${encodeURIComponent(c.site)}`, c.endpoint), {
    method: "DELETE",
    headers: { authorization: `Bearer ${c.token}` },
  }).catch(() => null);
  if (response?.status === 204) {
    openSession = null;
    showView("sessions");
  } else {
    $("timeline-title").textContent = response ? `Erasing failed (HTTP ${response.status}).` : "Cannot reach the collector.";
  }
}

$("endpoint").value = store.getItem("stint.endpoint") ?? location.origin;
$("connect-form").addEventListener("submit", (e) => {
  e.preventDefault();
  store.setItem("stint.endpoint", $("endpoint").value.replace(/\/$/, ""));
  store.setItem("stint.site", $("site").value);
  store.setItem("stint.token", $("token").value);
  $("token").value = "";
  showConnected();
});
$("disconnect").addEventListener("click", () => {
  store.removeItem("stint.token");
  showConnected();
});
$("refresh").addEventListener("click", () => loadSessions());
const reload = () => showView($("overview").hidden ? "sessions" : "overview");
for (const id of ["include-bots", "f-channel", "f-device", "f-country"]) $(id).addEventListener("change", reload);
// Live: refresh the open view every 15 s; the Sessions tab only while on its first page, so
// the reader never loses their place.
setInterval(() => {
  if (!$("live").checked || !connection() || !$("timeline").hidden) return;
  if (!$("overview").hidden) loadOverview();
  else if (!pagedBeyondFirst) loadSessions();
}, 15_000);
$("more").addEventListener("click", () => loadSessions({ append: true }));
$("back").addEventListener("click", () => { $("timeline").hidden = true; $("sessions").hidden = false; });
$("erase").addEventListener("click", erase);
$("tab-overview").addEventListener("click", () => showView("overview"));
$("tab-sessions").addEventListener("click", () => showView("sessions"));
$("range").addEventListener("change", () => showView($("overview").hidden ? "sessions" : "overview"));
showConnected();
