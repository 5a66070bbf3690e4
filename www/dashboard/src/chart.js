// The top chart: uPlot (npm `uplot`), the range's series and, with a comparison, the compared
// period's as a second, dashed series point for point. The legend under the chart is the
// tooltip: it follows the cursor and names both periods' values; off the chart it states the
// whole range and its figure (the headline card's).
import uPlot from "uplot";
import { duration, percent } from "./format.js";

export const METRICS = {
  sessions: { label: "Sessions", value: (p) => p.sessions, text: (v) => String(v ?? "—") },
  pageviews: { label: "Page views", value: (p) => p.pageviews, text: (v) => String(v ?? "—") },
  median_active_ms: { label: "Median engaged", value: (p) => p.median_active_ms, text: (v) => (v == null ? "—" : duration(v)) },
  bounce_rate: { label: "Bounce rate", value: (p) => p.bounce_rate, text: (v) => (v == null ? "—" : percent(v)) },
  pages_per_session: { label: "Pages / session", value: (p) => p.pages_per_session, text: (v) => (v == null ? "—" : v.toFixed(2)) },
};

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

const stamp = (interval) => (t) => {
  const d = new Date(t);
  const opts = interval === "hour" ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "UTC" }
    : interval === "month" ? { month: "long", year: "numeric", timeZone: "UTC" }
      : { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" };
  return d.toLocaleString("en", opts) + (interval === "week" ? " (week)" : "") + (interval === "hour" ? " UTC" : "");
};

let plot = null;

/**
 * Draws `series` (the API's timeseries answer) into `box` for `metric`. `stats`: the stats
 * answer for the same range, whose figure (and compared figure) the legend shows while the
 * cursor is off the chart.
 */
export function draw(box, series, metric, stats = null) {
  const m = METRICS[metric] ?? METRICS.sessions;
  const xs = series.points.map((p) => p.t);
  const now = series.points.map(m.value);
  const data = [xs, now];
  const label = stamp(series.interval);
  const day = (t) => new Date(t).toLocaleString("en", { month: "short", day: "numeric", year: "numeric", timeZone: "UTC" });
  // uPlot asks for a value with no point (idx null) while the cursor is off the chart.
  const range = xs.length ? `${day(xs[0])} – ${day(xs.at(-1))}` : "—";
  const seriesOpts = [
    { label: "Date", value: (u, t, si, i) => (i == null ? range : label(t)) },
    { label: `${m.label}`, stroke: css("--accent"), width: 2, fill: css("--accent-fill"), points: { size: 5 },
      value: (u, v, si, i) => m.text(i == null ? stats?.[metric] : v) },
  ];
  if (series.compare) {
    const then = series.compare.points;
    data.push(xs.map((_, i) => (then[i] ? m.value(then[i]) : null)));
    seriesOpts.push({
      label: series.compare.compare === "year" ? "Year before" : "Previous period",
      stroke: css("--muted"), width: 1.5, dash: [6, 4], points: { show: false },
      value: (u, v, si, i) => (i == null ? m.text(stats?.change?.[metric]?.previous)
        : v == null || !then[i] ? "—" : `${m.text(v)} (${label(then[i].t)})`),
    });
  }
  const width = Math.max(280, box.clientWidth);
  const opts = {
    width, height: 240, ms: 1,
    tzDate: (t) => uPlot.tzDate(new Date(t), "UTC"),
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, Math.max(1, hi * 1.1)] } },
    axes: [
      { stroke: css("--text"), grid: { stroke: css("--grid") }, ticks: { stroke: css("--grid") } },
      { stroke: css("--text"), grid: { stroke: css("--grid") }, ticks: { stroke: css("--grid") }, size: 60, values: (u, vals) => vals.map((v) => m.text(v)) },
    ],
    series: seriesOpts,
    cursor: { points: { size: 7 } },
    legend: { live: true },
  };
  plot?.destroy();
  box.replaceChildren();
  plot = new uPlot(opts, data, box);
  const total = now.reduce((a, b) => a + (b ?? 0), 0);
  box.setAttribute("aria-label", `${m.label} per ${series.interval}, ${series.points.length} points${metric === "sessions" || metric === "pageviews" ? `, ${total} in all` : ""}`);
  return plot;
}

export function resize(box) {
  if (plot) plot.setSize({ width: Math.max(280, box.clientWidth), height: 240 });
}
