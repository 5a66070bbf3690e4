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

function row(s) {
  const tr = document.createElement("tr");
  tr.tabIndex = 0;
  tr.dataset.sid = s.id;
  const first = cell(when(s.started_at));
  if (s.bot) {
    const badge = document.createElement("span");
    badge.className = "bot";
    badge.textContent = `bot: ${s.bot}`;
    first.append(badge);
  }
  tr.append(
    first,
    cell(text(s.country)),
    cell([s.device, s.os, s.browser].filter(Boolean).join(" · ") || "—"),
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

async function loadSessions({ append = false } = {}) {
  const c = connection();
  const params = new URLSearchParams({ site: c.site, limit: "25" });
  if ($("include-bots").checked) params.set("bots", "include");
  if (append && cursor) params.set("cursor", cursor);
  setStatus("Loading…");
  try {
    const body = await api(`/api/sessions?${params}`);
    const tbody = $("session-table").tBodies[0];
    if (!append) tbody.replaceChildren();
    tbody.append(...body.sessions.map(row));
    cursor = body.next_cursor;
    $("more").hidden = !cursor;
    const shown = tbody.rows.length;
    setStatus(shown === 0 ? "No sessions in the last 7 days yet." : `${shown} session${shown === 1 ? "" : "s"}, newest first.`);
  } catch (err) {
    setStatus(err.message, true);
  }
}

async function showTimeline(sid) {
  const c = connection();
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
      ["Visitor", [s.country, s.device, s.os, s.browser].filter(Boolean).join(" · ") || "—"],
      ["Duration", `${ms(s.duration_ms)} (engaged ${ms(s.active_ms)})`],
      ["Bot", s.bot ?? "no"],
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
      title.textContent = p.url ? new URL(p.url).pathname + new URL(p.url).search : "(page view not received)";
      const meta = document.createElement("div");
      meta.className = "muted";
      meta.textContent = `engaged ${ms(p.active_ms)} · scrolled ${p.max_scroll}% · ${p.clicks} click${p.clicks === 1 ? "" : "s"}`;
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
      li.append(title, meta, bar, events);
      $("timeline-pages").append(li);
    }
  } catch (err) {
    $("timeline-title").textContent = err.message;
  }
}

function showConnected() {
  const c = connection();
  $("connect").hidden = !!c;
  $("sessions").hidden = !c;
  $("timeline").hidden = true;
  $("disconnect").hidden = !c;
  $("site-label").textContent = c ? `${c.site} at ${c.endpoint}` : "";
  if (c) loadSessions();
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
$("include-bots").addEventListener("change", () => loadSessions());
$("more").addEventListener("click", () => loadSessions({ append: true }));
$("back").addEventListener("click", () => { $("timeline").hidden = true; $("sessions").hidden = false; });
showConnected();
