//! Installing what the build needs, pinned, only when missing.

use crate::{run_cmd, step};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Must equal the `wasm-bindgen` crate version in Cargo.lock, to the patch.
pub const WASM_BINDGEN_VERSION: &str = "0.2.130";
pub const WORKER_BUILD_VERSION: &str = "0.8.7";
/// `cargo fuzz`, for the libFuzzer targets in `shared/fuzz/`.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

fn cargo_bin(name: &str) -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin").join(name)
}

pub fn wasm_bindgen() -> PathBuf {
    cargo_bin("wasm-bindgen")
}

pub fn worker_build() -> PathBuf {
    cargo_bin("worker-build")
}

/// First line of `<tool> --version`, or `None` if it does not run.
fn version_of(tool: &Path) -> Option<String> {
    let out = Command::new(tool).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn ensure_cargo_tool(binary: &str, krate: &str, version: &str, locked: bool) -> Result<()> {
    let path = cargo_bin(binary);
    match version_of(&path) {
        Some(v) if v.split_whitespace().any(|w| w == version) => {
            step(&format!("{binary} {version}: present"));
            return Ok(());
        }
        Some(v) => step(&format!(
            "{binary}: found `{v}`, need {version}; installing (several minutes)"
        )),
        None => step(&format!(
            "{binary} {version}: missing; installing with cargo (several minutes)"
        )),
    }
    let mut cmd = Command::new("cargo");
    cmd.args(["install", krate, "--version", version, "--force"]);
    // wasm-bindgen-cli 0.2.130's lockfile names a crate version the registry no longer
    // serves, so it is installed without `--locked`; its own version is still pinned.
    if locked {
        cmd.arg("--locked");
    }
    run_cmd(&mut cmd)
}

/// cargo-fuzz, pinned, installed with its own lockfile when missing.
pub fn ensure_cargo_fuzz() -> Result<()> {
    ensure_cargo_tool("cargo-fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION, true)
}

/// The nightly that builds the shipped tracker with `panic=immediate-abort` and a rebuilt
/// std, which removes panic formatting from the page's WebAssembly. Pinned by date: it is the
/// one verified to carry wasm32's rust-std and rust-src.
pub const TRACKER_NIGHTLY: &str = "nightly-2026-05-20";

/// Installs [`TRACKER_NIGHTLY`] when missing. Returns false (and says so) when it cannot be
/// had; the tracker is then built with the stable toolchain, larger but working.
pub fn ensure_tracker_nightly() -> bool {
    let listed = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains(TRACKER_NIGHTLY))
        .unwrap_or(false);
    let has_src = listed
        && Command::new("rustup")
            .args([
                "component",
                "list",
                "--installed",
                "--toolchain",
                TRACKER_NIGHTLY,
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("rust-src"))
            .unwrap_or(false);
    if has_src {
        step(&format!("{TRACKER_NIGHTLY} (tracker size build): present"));
        return true;
    }
    step(&format!(
        "{TRACKER_NIGHTLY} (tracker size build): missing; installing with rustup"
    ));
    let installed = run_cmd(Command::new("rustup").args([
        "toolchain",
        "install",
        TRACKER_NIGHTLY,
        "--profile",
        "minimal",
        "--target",
        "wasm32-unknown-unknown",
        "--component",
        "rust-src",
    ]));
    if let Err(err) = installed {
        step(&format!(
            "warning: {err:#}; building the tracker with stable instead"
        ));
        return false;
    }
    true
}

/// Everything `build` needs: wasm32 target, wasm-bindgen-cli, worker-build, npm packages.
pub fn ensure_build_tools(root: &Path) -> Result<()> {
    let installed = Command::new("rustup")
        .current_dir(root)
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32 target")?;
    if String::from_utf8_lossy(&installed.stdout).contains("wasm32-unknown-unknown") {
        step("rust target wasm32-unknown-unknown: present");
    } else {
        step("rust target wasm32-unknown-unknown: missing; adding");
        run_cmd(Command::new("rustup").current_dir(root).args([
            "target",
            "add",
            "wasm32-unknown-unknown",
        ]))?;
    }
    ensure_cargo_tool(
        "wasm-bindgen",
        "wasm-bindgen-cli",
        WASM_BINDGEN_VERSION,
        false,
    )?;
    ensure_cargo_tool("worker-build", "worker-build", WORKER_BUILD_VERSION, true)?;
    ensure_npm(root)
}

fn ensure_npm(root: &Path) -> Result<()> {
    ensure_npm_in(
        root,
        "wrangler, esbuild, binaryen, playwright-core, ajv, yaml",
    )
}

/// `npm ci` in `dir` when its `node_modules` is missing or older than `package-lock.json`.
pub fn ensure_npm_in(dir: &Path, what: &str) -> Result<()> {
    let lock = dir.join("package-lock.json");
    let stamp = dir.join("node_modules/.package-lock.json");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = matches!((modified(&lock), modified(&stamp)), (Some(l), Some(s)) if s >= l);
    if fresh {
        step(&format!("npm packages ({what}): present"));
        return Ok(());
    }
    step(&format!(
        "npm packages ({what}): installing from package-lock.json (npm ci)"
    ));
    run_cmd(
        Command::new("npm")
            .current_dir(dir)
            .args(["ci", "--no-audit", "--no-fund"]),
    )
}

/// Debian's Chromium and ChromeDriver, for the browser tests. No test tool downloads a
/// browser of its own.
pub fn ensure_browser() -> Result<()> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        step("chromium + chromium-driver: present");
        return Ok(());
    }
    step("chromium + chromium-driver: missing; installing with apt-get");
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.push("apt-get");
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        run_cmd(&mut cmd)
    };
    apt(&["update", "-q"])?;
    apt(&["install", "-y", "-q", "chromium", "chromium-driver"])?;
    if !Path::new("/usr/bin/chromium").exists() {
        bail!("apt-get finished but /usr/bin/chromium is still missing");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
