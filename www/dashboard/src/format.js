// How figures read: durations, counts, shares, changes, times and country names.
const regions = new Intl.DisplayNames(["en"], { type: "region" });
const numbers = new Intl.NumberFormat("en");

/** 119,600 ms → "2m 0s"; 8,400 ms → "8.4s"; an hour and more → "1h 5m". */
export function duration(ms) {
  if (ms == null) return "—";
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** Offset from a session's start: "+0:42", "+12:05", "+1:02:03". */
export function offset(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const mm = String(Math.floor((s % 3600) / 60)).padStart(s >= 3600 ? 2 : 1, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `+${Math.floor(s / 3600)}:${mm}:${ss}` : `+${mm}:${ss}`;
}

export const count = (n) => numbers.format(n ?? 0);
export const percent = (x, digits = 0) => `${((x ?? 0) * 100).toFixed(digits)}%`;

/** "+12%" / "−5%" for a change; null for none. */
export function change(x) {
  if (x == null) return null;
  const p = Math.round(x * 100);
  return `${p > 0 ? "+" : p < 0 ? "−" : "±"}${Math.abs(p)}%`;
}

export const country = (code) => {
  try { return code ? `${regions.of(code)}` : "—"; } catch { return code; }
};

/** "4 min ago", "3 h ago", "yesterday", or the date. */
export function relative(t, now = Date.now()) {
  const s = Math.round((now - t) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 2 * 86_400) return "yesterday";
  return new Date(t).toLocaleDateString("en", { month: "short", day: "numeric" });
}

export const exact = (t) => new Date(t).toLocaleString("en", { dateStyle: "medium", timeStyle: "medium" });

/** "Chrome 126". */
export const versioned = (family, version) => (family && version ? `${family} ${version}` : family);

/** "search engine (Googlebot)". */
export function botLabel(s) {
  const reason = s.bot === "ua_list" ? "listed bot" : s.bot.replaceAll("_", " ");
  return s.bot_name ? `${reason} (${s.bot_name})` : reason;
}

/** An element with text and attributes: h("td", {class: "n"}, "12"). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat().filter((c) => c != null));
  return el;
}
