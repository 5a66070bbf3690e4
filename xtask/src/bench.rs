//! `cargo xtask bench`: the figures Stint publishes, measured, never asserted.
//!
//! The Rust half builds what is measured (tracker package, worker, the peers' bundles), runs
//! the measuring half (`xtask/bench/run.mjs`: sizes, Chromium, load against `wrangler dev`),
//! asks wrangler for the worker's upload size, and writes `BENCHMARKS.md` from the results.
//! Timings on a shared machine drift, so every timing is a median over several runs and is
//! compared with peers measured in the same run.

use crate::{build, run_cmd, step, tools, worker_upload_size};
use anyhow::{Context, Result};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The peers, each bundled for the browser the way its documentation shows
/// (`xtask/bench/entries/*.js`, measured for size; `entries/browser/*.js` is the same setup
/// sending to the benchmark's local sink, loaded in Chromium).
const PEERS: [(&str, &str); 3] = [
    (
        "plausible",
        "@plausible-analytics/tracker 0.4.6, outbound links",
    ),
    (
        "snowplow",
        "@snowplow/browser-tracker 4.10.1, activity tracking",
    ),
    ("posthog", "posthog-js 1.449.2"),
];

fn bundle_peers(root: &Path) -> Result<()> {
    let bench = root.join("xtask/bench");
    tools::ensure_npm_in(&bench, "peer trackers, bench only")?;
    step("bundling the peers (esbuild --bundle --minify --format=esm)");
    let out = root.join("target/bench");
    std::fs::create_dir_all(out.join("browser"))?;
    for (name, _) in PEERS {
        for (entry, bundle) in [
            (
                format!("entries/{name}.js"),
                out.join(format!("{name}.min.js")),
            ),
            (
                format!("entries/browser/{name}.js"),
                out.join(format!("browser/{name}.js")),
            ),
        ] {
            run_cmd(
                Command::new(root.join("node_modules/@esbuild/linux-x64/bin/esbuild"))
                    .current_dir(&bench)
                    .arg(entry)
                    .args(["--bundle", "--minify", "--format=esm", "--log-level=error"])
                    .arg(format!("--outfile={}", bundle.display())),
            )?;
        }
    }
    Ok(())
}

fn first_line_of(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn memory_gb() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0)
}

/// A number at a JSON pointer, if there is one.
fn num(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

fn kb(bytes: f64) -> String {
    format!("{:.1} KB", bytes / 1000.0)
}

fn ms(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 100.0 => format!("{x:.0} ms"),
        Some(x) => format!("{x:.1} ms"),
        None => "—".into(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "—".into(),
    }
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

/// Parses wrangler's `612.30 KiB / gzip: 201.77 KiB` into (raw, gzip) kilobytes (1000 B).
fn upload_kb(size: &str) -> Option<(f64, f64)> {
    let kib = |s: &str| -> Option<f64> {
        let s = s.trim();
        let n: f64 = s.split_whitespace().next()?.parse().ok()?;
        let factor = if s.contains("MiB") {
            1024.0 * 1024.0
        } else {
            1024.0
        };
        Some(n * factor / 1000.0)
    };
    let (raw, gzip) = size.split_once("/ gzip:")?;
    Some((kib(raw)?, kib(gzip)?))
}

pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    build::all(root)?;
    bundle_peers(root)?;
    tools::ensure_browser()?;
    step("measuring (xtask/bench/run.mjs): sizes, Chromium, ingest, read path");
    run_cmd(
        Command::new("node")
            .current_dir(root)
            .arg("xtask/bench/run.mjs")
            .arg(root)
            .env("WRANGLER_SEND_METRICS", "false"),
    )?;
    step("worker bundle size (wrangler deploy --dry-run)");
    let upload = worker_upload_size(root)?;
    println!("  {upload}");
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("target/bench/results.json"))
            .context("reading target/bench/results.json")?,
    )?;
    let wall = started.elapsed();
    let doc = render(root, &results, &upload, wall.as_secs());
    std::fs::write(root.join("BENCHMARKS.md"), &doc)?;
    step(&format!(
        "wrote BENCHMARKS.md — whole bench took {}m{:02}s",
        wall.as_secs() / 60,
        wall.as_secs() % 60
    ));
    Ok(())
}

fn render(root: &Path, r: &Value, upload: &str, wall_s: u64) -> String {
    let date = first_line_of(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
    let chromium = first_line_of(Command::new("/usr/bin/chromium").arg("--version"));
    let node = first_line_of(Command::new("node").arg("--version"));
    let wrangler = first_line_of(
        Command::new(root.join("node_modules/.bin/wrangler"))
            .arg("--version")
            .env("WRANGLER_SEND_METRICS", "false"),
    );
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut d = String::new();
    d.push_str("# Benchmarks\n\n");
    d.push_str(&format!(
        "Written by `cargo xtask bench` on {date}, in {}m{:02}s including the build.\n\
         Machine: {cpu}, {cores} cores (shared with other work), {mem:.0} GB RAM; {chromium}; \
         Node {node}; wrangler {wrangler}.\n\n\
         Timings on this shared machine drift from run to run: compare medians and the ratios \
         to peers measured in the same run, not absolute milliseconds across runs. None of \
         these figures is a test.\n\n",
        wall_s / 60,
        wall_s % 60,
        cpu = cpu_model(),
        mem = memory_gb(),
    ));

    // Figures used in several places.
    let stint_gz = num(r, "/sizes/stint/gzip");
    let bt = |t: &str, f: &str| num(r, &format!("/browser/trackers/{t}/{f}"));
    let script = |t: &str| bt(t, "totalScriptMs");
    let ingest_phases: Vec<Value> = r
        .pointer("/ingest/phases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // The steady phase at full concurrency is the one the target speaks of.
    let first_phase = ingest_phases
        .iter()
        .find(|p| p.get("kind").is_none())
        .cloned()
        .unwrap_or(Value::Null);
    let rate = num(&first_phase, "/perSecond");
    let p99 = num(&first_phase, "/p99Ms");
    let day_sessions = num(r, "/read/daySessions");
    let list_p50 = num(r, "/read/list/p50Ms");
    let stats_p50 = num(r, "/read/stats/p50Ms");
    let bundle = upload_kb(upload);

    d.push_str("## Against the targets\n\n| figure | target | measured | |\n|---|---|---|---|\n");
    d.push_str(&format!(
        "| tracker transfer size | ≤ 6 KB gzip | {} gzip | {} |\n",
        stint_gz.map(kb).unwrap_or("—".into()),
        verdict(stint_gz.map(|g| g <= 6000.0))
    ));
    let vs_plausible = script("stint").zip(script("plausible")).map(|(s, p)| s / p);
    let vs_snowplow = script("stint").zip(script("snowplow")).map(|(s, p)| s / p);
    d.push_str(&format!(
        "| main-thread script time (load + interaction) ÷ Plausible's | ≤ 1.5 | {} | {} |\n",
        ratio(script("stint"), script("plausible")),
        verdict(vs_plausible.map(|x| x <= 1.5))
    ));
    d.push_str(&format!(
        "| main-thread script time ÷ Snowplow's | ≤ 0.3 | {} | {} |\n",
        ratio(script("stint"), script("snowplow")),
        verdict(vs_snowplow.map(|x| x <= 0.3))
    ));
    d.push_str(&format!(
        "| ingest, {} sessions, {} in flight | ≥ 2,000 beacons/s, p99 ≤ 50 ms | {} beacons/s, p99 {} | {} |\n",
        num(&first_phase, "/sessions").map(|n| format!("{n:.0}")).unwrap_or("—".into()),
        num(&first_phase, "/concurrency").unwrap_or(0.0),
        rate.map(|x| format!("{x:.0}")).unwrap_or("—".into()),
        ms(p99),
        verdict(rate.zip(p99).map(|(r, p)| r >= 2000.0 && p <= 50.0))
    ));
    let day = day_sessions
        .map(|n| format!("{n:.0}-session day"))
        .unwrap_or("day".into());
    d.push_str(&format!(
        "| list 50 sessions, {day} | ≤ 50 ms | p50 {}, p99 {} | {} |\n",
        ms(list_p50),
        ms(num(r, "/read/list/p99Ms")),
        verdict(list_p50.map(|x| x <= 50.0))
    ));
    d.push_str(&format!(
        "| stats, {day} | ≤ 200 ms | p50 {}, p99 {} | {} |\n",
        ms(stats_p50),
        ms(num(r, "/read/stats/p99Ms")),
        verdict(stats_p50.map(|x| x <= 200.0))
    ));
    d.push_str(&format!(
        "| worker bundle | ≤ 400 KB gzip | {} gzip | {} |\n\n",
        bundle
            .map(|(_, g)| format!("{g:.0} KB"))
            .unwrap_or(upload.into()),
        verdict(bundle.map(|(_, g)| g <= 400.0))
    ));
    d.push_str(
        "Latency targets are judged on the median of repeated requests; p99 is shown beside it.\n\n",
    );

    // 1. Size.
    d.push_str("## 1. Tracker transfer size\n\n");
    d.push_str("| tracker | minified | gzip -9 | brotli q11 | Stint ÷ peer (gzip) | Stint ÷ peer (brotli) |\n|---|---:|---:|---:|---:|---:|\n");
    let size_row = |key: &str| {
        (
            num(r, &format!("/sizes/{key}/raw")),
            num(r, &format!("/sizes/{key}/gzip")),
            num(r, &format!("/sizes/{key}/brotli")),
        )
    };
    let (_, sgz, sbr) = size_row("stint");
    for (key, label) in [
        ("stint", "Stint (wasm + JS entry)"),
        ("stint_wasm", "— of which `stint_tracker_bg.wasm`"),
        ("stint_js", "— of which `stint.min.js` (glue inlined)"),
    ] {
        let (raw, gz, br) = size_row(key);
        let ratios = if key == "stint" { "1.00 | 1.00" } else { " | " };
        d.push_str(&format!(
            "| {label} | {} | {} | {} | {ratios} |\n",
            raw.map(kb).unwrap_or_default(),
            gz.map(kb).unwrap_or_default(),
            br.map(kb).unwrap_or_default()
        ));
    }
    for (key, label) in PEERS {
        let (raw, gz, br) = size_row(key);
        d.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} |\n",
            raw.map(kb).unwrap_or_default(),
            gz.map(kb).unwrap_or_default(),
            br.map(kb).unwrap_or_default(),
            ratio(sgz, gz),
            ratio(sbr, br)
        ));
    }
    d.push_str(
        "\nStint is the WebAssembly module plus the minified JS entry with the wasm-bindgen glue \
         inlined, as the script-tag build ships them. Peers are bundled with esbuild \
         `--bundle --minify --format=esm` from `xtask/bench/entries/`, set up the way each \
         one's documentation shows. gzip at level 9 and brotli at quality 11 (Node's zlib), \
         per file; KB are 1000 bytes.\n\n",
    );

    // 2. Main thread.
    let runs = num(r, "/browser/runs").unwrap_or(0.0);
    d.push_str(&format!(
        "## 2. Main-thread cost in Chromium\n\nMedians of {runs:.0} runs per page (runs \
         interleaved: each round loads every page once, in a rotated order, after one \
         uncounted warm-up round). Script and task time are the Chrome DevTools Protocol's \
         `Performance.getMetrics` `ScriptDuration` and `TaskDuration` of the page's renderer \
         main thread: *load* from navigation until the tracker is ready, *interaction* over \
         200 scripted wheel-scroll steps and 50 clicks on links (which the page keeps from \
         navigating). *Ready* is `performance.now()` when the tracker's setup returned (Stint: \
         `await init(…)` resolved).\n\n"
    ));
    d.push_str("| page | ready | load: script | load: task | interaction: script | interaction: task | script, load + interaction | ÷ Plausible | ÷ no tracker |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (key, label) in [
        ("none", "no tracker"),
        ("stint", "Stint"),
        ("plausible", "Plausible"),
        ("snowplow", "Snowplow"),
        ("posthog", "PostHog"),
    ] {
        d.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            ms(bt(key, "readyMs")),
            ms(bt(key, "loadScriptMs")),
            ms(bt(key, "loadTaskMs")),
            ms(bt(key, "interactScriptMs")),
            ms(bt(key, "interactTaskMs")),
            ms(script(key)),
            ratio(script(key), script("plausible")),
            ratio(script(key), script("none")),
        ));
    }
    d.push_str("\n| Stint ÷ peer | ready | load: script | interaction: script | script, load + interaction | task, load + interaction |\n|---|---:|---:|---:|---:|---:|\n");
    let task = |t: &str| {
        bt(t, "loadTaskMs")
            .zip(bt(t, "interactTaskMs"))
            .map(|(a, b)| a + b)
    };
    for (key, label) in [
        ("plausible", "Plausible"),
        ("snowplow", "Snowplow"),
        ("posthog", "PostHog"),
        ("none", "no tracker"),
    ] {
        d.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} |\n",
            ratio(bt("stint", "readyMs"), bt(key, "readyMs")),
            ratio(bt("stint", "loadScriptMs"), bt(key, "loadScriptMs")),
            ratio(bt("stint", "interactScriptMs"), bt(key, "interactScriptMs")),
            ratio(script("stint"), script(key)),
            ratio(task("stint"), task(key)),
        ));
    }
    d.push_str(&format!(
        "\nStint sends to the collector under test (`wrangler dev`); the peers send to a sink on \
         the page's own origin that answers 2xx ({} requests received). PostHog is told \
         `opt_out_useragent_filter` and Plausible `captureOnLocalhost`, so that neither skips \
         its work in headless Chromium (`xtask/bench/entries/browser/`).\n\n",
        num(r, "/browser/sinkReceived/posts").unwrap_or(0.0)
            + num(r, "/browser/sinkReceived/gets").unwrap_or(0.0)
    ));
    if let Some(errors) = r.pointer("/browser/errors").and_then(Value::as_object) {
        for (t, e) in errors {
            d.push_str(&format!("Page errors seen with {t}: `{e}`\n\n"));
        }
    }

    // 3. Ingest.
    d.push_str(&format!(
        "## 3. Ingest\n\n`POST /collect` on `wrangler dev` (workerd, local SQLite Durable \
         Objects, fresh state), from `xtask/bench/load.mjs` on the same machine. Each beacon is \
         a session's next batch as the tracker sends it (`text/plain` JSON; the first carries a \
         page view, an engagement delta and 0–2 clicks, later ones an engagement delta, clicks \
         and sometimes a new page view; `seq` counts up; a desktop Chrome User-Agent). Phases, \
         in order: the *floor* (a malformed body the worker refuses with 400 before any \
         Durable Object: what the local runtime costs per request), {:.0} s of 1,000 sessions \
         sent to round-robin (the first pass creates them, later passes continue them), 10 s of \
         the same one request at a time (service time without queueing), then new sessions \
         only, one first beacon each, until the day holds 10k and then {:.0} sessions or {:.0} s \
         of filling have passed. Sessions start spread over {} (UTC), the day the read path is \
         measured on.\n\n",
        num(r, "/config/ingestSeconds").unwrap_or(0.0),
        num(r, "/config/daySessions").unwrap_or(0.0),
        num(r, "/config/dayCapSeconds").unwrap_or(0.0),
        r.pointer("/ingest/day")
            .and_then(Value::as_str)
            .unwrap_or("—"),
    ));
    d.push_str("| phase | in flight | sessions touched | requests | seconds | requests/s | p50 | p99 | non-2xx | workerd CPU per request | workerd cores busy |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for p in &ingest_phases {
        let errors = num(p, "/errors").unwrap_or(0.0);
        let by_status = p
            .get("errorsByStatus")
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())
            .map(|m| {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{v}×{k}")).collect();
                format!(" ({})", parts.join(", "))
            })
            .unwrap_or_default();
        let sessions = num(p, "/sessions")
            .map(|n| format!("{n:.0}"))
            .unwrap_or("—".into());
        d.push_str(&format!(
            "| {} | {:.0} | {sessions} | {:.0} | {:.1} | {:.0} | {} | {} | {errors:.0}{by_status} | {} | {:.1} |\n",
            p.get("name").and_then(Value::as_str).unwrap_or("?"),
            num(p, "/concurrency").unwrap_or(0.0),
            num(p, "/beacons").unwrap_or(0.0),
            num(p, "/seconds").unwrap_or(0.0),
            num(p, "/perSecond").unwrap_or(0.0),
            ms(num(p, "/p50Ms")),
            ms(num(p, "/p99Ms")),
            ms(num(p, "/cpuMsPerBeacon")),
            num(p, "/cpuCoresBusy").unwrap_or(0.0),
        ));
    }
    d.push_str(
        "\nCPU per beacon is the user + system time of the `workerd` process (from \
         `/proc/<pid>/stat`) over the phase, divided by the beacons sent: the worker, both \
         Durable Objects, SQLite and workerd's own HTTP handling together; workerd does not \
         expose a per-request CPU figure locally. The load generator, wrangler's Node process \
         and Chromium-free rest of the machine share the same 2 cores.\n\n",
    );
    d.push_str(&format!(
        "Worker bundle (`wrangler deploy --dry-run`, what would be uploaded): **{upload}**.\n\n"
    ));

    // 4. Read path.
    let small_sessions = num(r, "/readSmall/daySessions");
    d.push_str(&format!(
        "## 4. Read path\n\nRequests one after another with the read token, on the same day \
         twice: after the steady phase ({} sessions) and after the filling ({} sessions, as \
         `GET /api/stats` counts them; bots excluded). The filtered stats request \
         (`&channel=search`) cannot use the pre-aggregated tallies and counts every session \
         row of the day: it shows what an unaggregated count costs at this size.\n\n",
        small_sessions
            .map(|n| format!("{n:.0}"))
            .unwrap_or("—".into()),
        day_sessions
            .map(|n| format!("{n:.0}"))
            .unwrap_or("—".into())
    ));
    d.push_str(
        "| request | small day: p50 | small day: p99 | big day: requests | first | p50 | p99 | max | workerd CPU per request |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (key, label) in [
        ("list", "`GET /api/sessions?…&limit=50`, first page"),
        ("listPage2", "the same, second page (cursor)"),
        ("stats", "`GET /api/stats` for the day"),
        (
            "statsFiltered",
            "`GET /api/stats` for the day, `channel=search`",
        ),
        ("timeline", "`GET /api/sessions/<sid>` (timeline)"),
    ] {
        let p = r
            .pointer(&format!("/read/{key}"))
            .cloned()
            .unwrap_or(Value::Null);
        if p.is_null() {
            continue;
        }
        let small = |f: &str| num(r, &format!("/readSmall/{key}/{f}"));
        d.push_str(&format!(
            "| {label} | {} | {} | {:.0} | {} | {} | {} | {} | {} |\n",
            ms(small("p50Ms")),
            ms(small("p99Ms")),
            num(&p, "/requests").unwrap_or(0.0),
            ms(num(&p, "/firstMs")),
            ms(num(&p, "/p50Ms")),
            ms(num(&p, "/p99Ms")),
            ms(num(&p, "/maxMs")),
            ms(num(&p, "/workerdCpuMsPerRequest")),
        ));
    }
    d.push('\n');
    d.push_str(ANALYSIS);
    d.push_str(&format!(
        "\n---\n\nReproduce: `cargo xtask bench` (knobs: `STINT_BENCH_RUNS`, \
         `STINT_BENCH_INGEST_S`, `STINT_BENCH_DAY_SESSIONS`, `STINT_BENCH_DAY_CAP_S`, \
         `STINT_BENCH_CONCURRENCY`; raw figures in `target/bench/results.json`). Measuring took \
         {:.0} s of the run.\n",
        num(r, "/seconds").unwrap_or(0.0)
    ));
    d
}

/// What bounds each figure and what would move it. Kept beside the renderer so it is updated
/// with the measurement; the figures it cites are in the tables above.
const ANALYSIS: &str = "## 5. Analysis\n\nTBD\n";
