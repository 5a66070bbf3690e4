//! Building the tracker package, the static site and the worker.
//!
//! Outputs: `target/site/` (the demo site from `www/` plus the tracker under `tracker/`),
//! which wrangler serves as static assets, and `edge-worker/build/` (worker-build's output).

use crate::{run_cmd, step, tools};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// Feature flags rustc's wasm32 output uses; wasm-opt must be told about them.
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

/// The tracker: cargo → wasm-bindgen → wasm-opt, then the JS entry, into `target/site/tracker`.
pub fn tracker(root: &Path) -> Result<()> {
    step("building tracker (cargo → wasm-bindgen → wasm-opt -Oz)");
    run_cmd(Command::new("cargo").current_dir(root).args([
        "build",
        "--quiet",
        "-p",
        "stint-tracker",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let out = root.join("target/site/tracker");
    std::fs::create_dir_all(&out)?;
    run_cmd(
        Command::new(tools::wasm_bindgen())
            .current_dir(root)
            .arg("target/wasm32-unknown-unknown/release/stint_tracker.wasm")
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                "stint_tracker",
                "--out-dir",
            ])
            .arg(&out),
    )?;
    let wasm = out.join("stint_tracker_bg.wasm");
    run_cmd(
        Command::new(root.join("node_modules/.bin/wasm-opt"))
            .arg("-Oz")
            .args(WASM_FEATURES)
            .arg("--strip-debug")
            .arg("--strip-producers")
            .arg(&wasm)
            .arg("-o")
            .arg(&wasm),
    )?;
    std::fs::copy(root.join("tracker-wasm/js/stint.js"), out.join("stint.js"))
        .context("copying tracker-wasm/js/stint.js")?;
    let size = std::fs::metadata(&wasm)?.len();
    step(&format!(
        "tracker built: {} ({size} bytes of wasm)",
        out.display()
    ));
    Ok(())
}

/// The static site: a fresh copy of `www/` in `target/site/`.
pub fn site(root: &Path) -> Result<()> {
    step("copying www/ to target/site/");
    let out = root.join("target/site");
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    copy_dir(&root.join("www"), &out)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
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
