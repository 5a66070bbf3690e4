//! `cargo xtask bench`: the figures Stint publishes, measured, never asserted.

use crate::{build, run_cmd, step, tools};
use anyhow::Result;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// Transfer size of the tracker: the wasm plus the minified JS entry, gzip -9.
pub fn tracker_size(root: &Path) -> Result<usize> {
    build::tracker(root)?;
    let dir = build::package_dir(root);
    let wasm = std::fs::read(dir.join("stint.wasm"))?;
    let js = std::fs::read(dir.join("stint.min.js"))?;
    let (wasm_gz, js_gz) = (gzip_len(&wasm)?, gzip_len(&js)?);
    step("tracker transfer size (gzip -9)");
    println!(
        "  {:<34} {:>9} raw {:>9} gzip",
        "stint.wasm",
        kb(wasm.len()),
        kb(wasm_gz)
    );
    println!(
        "  {:<34} {:>9} raw {:>9} gzip",
        "stint.min.js",
        kb(js.len()),
        kb(js_gz)
    );
    println!(
        "  {:<34} {:>9} raw {:>9} gzip",
        "total",
        kb(wasm.len() + js.len()),
        kb(wasm_gz + js_gz)
    );
    Ok(wasm_gz + js_gz)
}

/// The peers, each bundled for the browser the way its documentation shows
/// (`xtask/bench/entries/*.js`), with esbuild `--bundle --minify --format=esm`.
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

fn peer_sizes(root: &Path) -> Result<Vec<(&'static str, usize, usize)>> {
    let bench = root.join("xtask/bench");
    tools::ensure_npm_in(&bench, "peer trackers for the size comparison")?;
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    let mut sizes = Vec::new();
    for (name, label) in PEERS {
        let bundle = out.join(format!("{name}.min.js"));
        run_cmd(
            Command::new(root.join("node_modules/@esbuild/linux-x64/bin/esbuild"))
                .current_dir(&bench)
                .arg(format!("entries/{name}.js"))
                .args(["--bundle", "--minify", "--format=esm", "--log-level=error"])
                .arg(format!("--outfile={}", bundle.display())),
        )?;
        let bytes = std::fs::read(&bundle)?;
        sizes.push((label, bytes.len(), gzip_len(&bytes)?));
    }
    Ok(sizes)
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

pub fn run(root: &Path) -> Result<()> {
    let stint = tracker_size(root)?;
    let peers = peer_sizes(root)?;
    let mut table =
        String::from("| tracker | minified | gzip -9 | Stint ÷ peer |\n|---|---:|---:|---:|\n");
    table.push_str(&format!(
        "| Stint (wasm + glue) | — | {} | 1.00 |\n",
        kb(stint)
    ));
    for (label, raw, gz) in &peers {
        let ratio = stint as f64 / *gz as f64;
        table.push_str(&format!(
            "| {label} | {} | {} | {ratio:.2} |\n",
            kb(*raw),
            kb(*gz)
        ));
    }
    step("transfer size beside peers (gzip -9)");
    print!("{table}");
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let doc = format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` on {date} — {cpu}, {cores} cores.\n\n\
         ## Tracker transfer size\n\n{table}\n\
         Stint is the WebAssembly module plus the minified JS entry with the wasm-bindgen glue\n\
         inlined (`stint.min.js`). Peers are bundled with esbuild `--bundle --minify --format=esm`\n\
         from `xtask/bench/entries/`, set up the way each one's documentation shows. Budget 12 KB,\n\
         goal 6 KB: README (\"Size\") says where Stint's bytes go.\n\n\
         Not measured yet: main-thread cost in Chromium, ingest throughput and latency, read\n\
         latency on a 100k-session day.\n",
        date = String::from_utf8_lossy(&date.stdout).trim(),
        cpu = cpu_model(),
    );
    std::fs::write(root.join("BENCHMARKS.md"), doc)?;
    step("wrote BENCHMARKS.md");
    println!();
    println!(
        "tracker: {} gzip (budget 12 KB, goal 6 KB) — `cargo xtask bench`",
        kb(stint)
    );
    Ok(())
}
