//! `cargo xtask bench`: the figures Stint publishes, measured, never asserted.

use crate::{build, step};
use anyhow::Result;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::Path;

fn gzip_len(bytes: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len())
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// Transfer size of the tracker: the wasm plus the minified JS entry (glue inlined), gzip -9.
pub fn tracker_size(root: &Path) -> Result<usize> {
    build::tracker(root)?;
    let dir = build::package_dir(root);
    let wasm = std::fs::read(dir.join("stint_tracker_bg.wasm"))?;
    let js = std::fs::read(dir.join("stint.min.js"))?;
    let (wasm_gz, js_gz) = (gzip_len(&wasm)?, gzip_len(&js)?);
    step("tracker transfer size (gzip -9)");
    println!(
        "  {:<34} {:>9} raw {:>9} gzip",
        "stint_tracker_bg.wasm",
        kb(wasm.len()),
        kb(wasm_gz)
    );
    println!(
        "  {:<34} {:>9} raw {:>9} gzip",
        "stint.min.js (glue inlined)",
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

pub fn run(root: &Path) -> Result<()> {
    let total = tracker_size(root)?;
    println!();
    println!(
        "tracker: {} gzip (budget 12 KB, goal 6 KB) — `cargo xtask bench`",
        kb(total)
    );
    Ok(())
}
