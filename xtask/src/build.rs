//! Building the tracker package, the static site and the worker.
//!
//! Outputs: `target/site/` (the demo site from `www/` plus the tracker under `tracker/`),
//! which wrangler serves as static assets, and `edge-worker/build/` (worker-build's output).

use crate::{run_cmd, step, tools};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// Feature flags rustc's wasm32 output uses; wasm-opt must be told about them.
/// How the tracker's JS entry is minified (and, for the size table, the peers).
pub(crate) const TERSER: [&str; 6] = [
    "--module",
    "--ecma",
    "2020",
    "--compress",
    "passes=2",
    "--mangle",
];

const WASM_FEATURES: [&str; 5] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
    "--enable-multivalue",
];

pub fn all(root: &Path) -> Result<()> {
    site(root)?;
    tracker(root)?;
    worker(root)
}

/// Where the `@stint/tracker` package is assembled.
pub fn package_dir(root: &Path) -> std::path::PathBuf {
    root.join("target/npm/package")
}

/// The tracker package: cargo → wasm-opt, the JS entry and its types, a minified entry,
/// and `package.json`, in `target/npm/package`; then copied to `target/site/tracker` where
/// the collector serves it. The module has no bindings generator step: it imports and
/// exports plain functions, spelled out in `tracker-wasm/js/stint.js`.
pub fn tracker(root: &Path) -> Result<()> {
    let compiled = if tools::ensure_tracker_nightly() {
        step(
            "building tracker (cargo +nightly -Z build-std, panic=immediate-abort → wasm-opt -Oz)",
        );
        run_cmd(
            Command::new("cargo")
                .current_dir(root)
                .arg(format!("+{}", tools::TRACKER_NIGHTLY))
                .args(["build", "--quiet", "-p", "stint-tracker", "--release"])
                .args([
                    "--target",
                    "wasm32-unknown-unknown",
                    "-Z",
                    "build-std=std,panic_abort",
                ])
                .args(["--target-dir", "target/tracker-nightly"])
                // No panic machinery, no source locations or `Debug` output in the binary:
                // a panic in the page is a trap, and its message would never be read.
                .env(
                    "RUSTFLAGS",
                    "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none",
                ),
        )?;
        "target/tracker-nightly/wasm32-unknown-unknown/release/stint_tracker.wasm"
    } else {
        step("building tracker (cargo, stable → wasm-opt -Oz)");
        run_cmd(Command::new("cargo").current_dir(root).args([
            "build",
            "--quiet",
            "-p",
            "stint-tracker",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
        ]))?;
        "target/wasm32-unknown-unknown/release/stint_tracker.wasm"
    };
    let out = package_dir(root);
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::create_dir_all(&out)?;
    let wasm = out.join("stint.wasm");
    run_cmd(
        Command::new(root.join("node_modules/.bin/wasm-opt"))
            .arg("-Oz")
            // Run the passes until the module stops shrinking; memory starts zeroed (the
            // module makes its own) and rustc's output leaves the first 1 KB unused.
            // 0.27 KB less gzip together, measured on the tracker (2026-12-06).
            .args(["--converge", "--zero-filled-memory", "--low-memory-unused"])
            .args(WASM_FEATURES)
            .arg("--strip-debug")
            .arg("--strip-producers")
            .arg("--strip-target-features")
            .arg(root.join(compiled))
            .arg("-o")
            .arg(&wasm),
    )?;
    for file in ["stint.js", "stint.d.ts", "package.json", "README.md"] {
        std::fs::copy(root.join("tracker-wasm/js").join(file), out.join(file))
            .with_context(|| format!("copying tracker-wasm/js/{file}"))?;
    }
    // The minified entry: the script-tag build, and what the size benchmark measures.
    // Terser, not esbuild (which bundles the dashboard): it folds the generated boundary
    // codes (`const VISIBILITY = 0, …`) into the code that uses them, 0.2 KB less gzip
    // (3,919 → 3,714 B, measured 2026-12-06); more passes or `unsafe` changed < 6 B.
    run_cmd(
        Command::new("node")
            .arg(root.join("node_modules/terser/bin/terser"))
            .arg(out.join("stint.js"))
            .args(TERSER)
            .arg("--output")
            .arg(out.join("stint.min.js")),
    )?;
    let site = root.join("target/site/tracker");
    std::fs::create_dir_all(&site)?;
    copy_dir(&out, &site)?;
    let size = std::fs::metadata(&wasm)?.len();
    step(&format!(
        "tracker built: {} ({size} bytes of wasm)",
        out.display()
    ));
    Ok(())
}

/// `npm pack` of the tracker package (built by [`tracker`]) into `target/npm/`; returns the
/// tarball's path.
pub fn pack(root: &Path) -> Result<std::path::PathBuf> {
    step("packing @stint/tracker (npm pack)");
    let out = Command::new("npm")
        .current_dir(root.join("target/npm"))
        .args(["pack", "./package", "--silent"])
        .output()
        .context("running npm pack")?;
    if !out.status.success() {
        anyhow::bail!("npm pack failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let name = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_string();
    let tarball = root.join("target/npm").join(name);
    step(&format!("packed {}", tarball.display()));
    Ok(tarball)
}

/// The static site: a fresh copy of `www/` in `target/site/`, with the dashboard's modules
/// (`www/dashboard/src/`, uPlot from npm) bundled and minified by esbuild into
/// `dashboard/dashboard.js` and `dashboard.css`.
pub fn site(root: &Path) -> Result<()> {
    step("copying www/ to target/site/");
    let out = root.join("target/site");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    copy_dir(&root.join("www"), &out)?;
    step("bundling the dashboard (esbuild)");
    run_cmd(
        Command::new(root.join("node_modules/@esbuild/linux-x64/bin/esbuild"))
            .current_dir(root)
            .args([
                "www/dashboard/src/main.js",
                "--bundle",
                "--minify",
                "--format=esm",
                "--target=es2022",
                "--log-level=warning",
                "--outfile=target/site/dashboard/dashboard.js",
            ]),
    )?;
    let mut gzip_total = 0;
    for file in ["index.html", "dashboard.js", "dashboard.css"] {
        gzip_total += gzip_len(&std::fs::read(out.join("dashboard").join(file))?)?;
    }
    step(&format!(
        "dashboard: {:.1} KiB gzip (index.html, dashboard.js, dashboard.css)",
        gzip_total as f64 / 1024.0
    ));
    Ok(())
}

/// Bytes after gzip -9, as a browser would download them.
pub fn gzip_len(bytes: &[u8]) -> Result<usize> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().context("gzip stdin")?.write_all(bytes)?;
    let out = child.wait_with_output()?;
    Ok(out.stdout.len())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            // The dashboard's sources are bundled, not served.
            if entry.path().ends_with("dashboard/src") {
                continue;
            }
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// The worker, with worker-build pointed at our pinned tools so it downloads nothing.
pub fn worker(root: &Path) -> Result<()> {
    step("building worker (worker-build --release)");
    run_cmd(
        Command::new(tools::worker_build())
            .current_dir(root.join("edge-worker"))
            .arg("--release")
            .env("WASM_BINDGEN_BIN", tools::wasm_bindgen())
            .env(
                "ESBUILD_BIN",
                root.join("node_modules/@esbuild/linux-x64/bin/esbuild"),
            )
            .env("WASM_OPT_BIN", root.join("node_modules/.bin/wasm-opt")),
    )
}
