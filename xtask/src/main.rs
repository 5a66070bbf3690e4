//! `cargo xtask`: Stint's build, dev server and test driver.
//!
//! Every command first makes sure the tools it needs are present (see `tools.rs`), installing
//! pinned versions only when missing, so a fresh machine needs nothing by hand and a second
//! run starts within seconds.

mod bench;
mod build;
mod corpus;
mod fuzz;
mod lists;
mod tools;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  dev      build everything and serve collector + demo site on http://127.0.0.1:8787
  test     every test: fmt, clippy, generated lists current, User-Agent corpora, Rust
           unit/property, short fuzz runs, worker in workerd, e2e in Chromium
  build    build the tracker package, the demo site and the worker
  pack     build the @stint/tracker npm tarball into target/npm/
  bench    measure size, main-thread cost, ingest and read latency beside peers; write BENCHMARKS.md
           (`bench --render-only`: rewrite BENCHMARKS.md from the last run's figures)
  deploy-check  build, then `wrangler deploy --dry-run`: the bundle that would be uploaded, and its size
  fuzz [--seconds N] [TARGET...]
           run the libFuzzer targets of stint-shared (default: all, 60 s each, one core)
           and print the executions; targets: beacon, classify, url, read_params, session
  lists [--check]
           regenerate shared/src/generated/ from the pinned lists in package.json
           (crawler-user-agents); --check fails when the committed files are not current
  codes    rewrite the codes js/stint.js shares with the tracker's module (signals, reads,
           storage keys, flags) from tracker-wasm/src/boundary.rs; `cargo xtask test`
           fails when they are stale
  corpus   User-Agent verdicts against public corpora (crawler-user-agents, user-agents,
           ua-parser-js, isbot): prints the figures, fails below the floors
  load [--seconds N] [--rate N] [--session-batches N]
           load run against the collector in workerd: beacons/s, errors, p50/p99 latency,
           workerd memory at start and end (default 60 s at 25 beacons/s)
";

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("dev") => dev(&root),
        Some("test") => test(&root),
        Some("build") => {
            tools::ensure_build_tools(&root)?;
            build::all(&root)
        }
        Some("pack") => {
            tools::ensure_build_tools(&root)?;
            build::tracker(&root)?;
            build::pack(&root).map(drop)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("--render-only") => {
            bench::render_only(&root)
        }
        Some("bench") => {
            tools::ensure_build_tools(&root)?;
            bench::run(&root)
        }
        Some("fuzz") => fuzz::command(&root, &args[1..]),
        Some("lists") => lists::command(&root, &args[1..]),
        Some("codes") => {
            step("writing the shared codes into tracker-wasm/js/stint.js (tracker-wasm/src/boundary.rs)");
            let status = Command::new("cargo")
                .current_dir(&root)
                .env("STINT_WRITE_CODES", "1")
                .args([
                    "test",
                    "-q",
                    "-p",
                    "stint-tracker",
                    "--lib",
                    "boundary::tests::js_entry_has_the_current_codes",
                ])
                .status()?;
            anyhow::ensure!(status.success(), "cargo test (writing the codes) failed");
            Ok(())
        }
        Some("corpus") => {
            tools::ensure_build_tools(&root)?;
            corpus::command(&root)
        }
        Some("load") => {
            tools::ensure_build_tools(&root)?;
            build::all(&root)?;
            load(&root, &args[1..])
        }
        Some("deploy-check") => {
            tools::ensure_build_tools(&root)?;
            build::all(&root)?;
            deploy_check(&root)
        }
        Some("help") | Some("--help") | Some("-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Prints a step line, the way every long step announces itself.
pub fn step(message: &str) {
    println!("==> {message}");
}

/// Runs a command, failing with its command line if it does not succeed.
pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

const DEV_TOKEN: &str = "stint-dev-token";

/// The public port of `cargo xtask dev`: the README's address, and the Origins `SITES` allows
/// for `demo` in `edge-worker/wrangler.toml`.
const DEV_PORT: u16 = 8787;

fn dev(root: &Path) -> Result<()> {
    tools::ensure_build_tools(root)?;
    build::all(root)?;
    let dev_vars = root.join("edge-worker/.dev.vars");
    if !dev_vars.exists() {
        step("writing edge-worker/.dev.vars with the local read token");
        std::fs::write(&dev_vars, format!("READ_TOKEN={DEV_TOKEN}\n"))?;
    }
    let base = format!("http://127.0.0.1:{DEV_PORT}");
    println!();
    println!("  demo site   {base}/");
    println!("  tracker     {base}/tracker/stint.js");
    println!("  collector   POST {base}/collect");
    println!("  read API    {base}/api/sessions?site=demo");
    println!("  read token  {DEV_TOKEN}   (edge-worker/.dev.vars)");
    println!();
    println!("  curl -H 'Authorization: Bearer {DEV_TOKEN}' '{base}/api/sessions?site=demo'");
    println!();
    step("starting wrangler dev behind the resending proxy (xtask/dev/serve.mjs; Ctrl-C stops both); local state in target/dev-state");
    // `node` takes this process's place (as `cargo run` took cargo's), so a Ctrl-C reaches
    // serve.mjs alone and it stops the proxy, wrangler and workerd in order.
    use std::os::unix::process::CommandExt;
    let err = Command::new("node")
        .current_dir(root)
        .arg("xtask/dev/serve.mjs")
        .arg("--config")
        .arg(root.join("edge-worker/wrangler.toml"))
        .args(["--port", &DEV_PORT.to_string(), "--persist-to"])
        .arg(root.join("target/dev-state"))
        .env("WRANGLER_SEND_METRICS", "false")
        .exec();
    Err(err).context("could not start node xtask/dev/serve.mjs")
}

/// `wrangler deploy --dry-run`: validates wrangler.toml, bundles the worker as it would be
/// uploaded (offline), and reports the upload size against Workers' limits.
fn deploy_check(root: &Path) -> Result<()> {
    step("wrangler deploy --dry-run (nothing is uploaded)");
    let size = worker_upload_size(root)?;
    println!("  worker bundle: {size}");
    println!(
        "  (Workers allow 3 MiB gzip on the free plan, 10 MiB paid; Stint's budget is 400 KB gzip)"
    );
    Ok(())
}

/// Runs `wrangler deploy --dry-run` on the built worker and returns wrangler's upload size,
/// e.g. `612.30 KiB / gzip: 201.77 KiB`.
pub fn worker_upload_size(root: &Path) -> Result<String> {
    let out = Command::new(root.join("node_modules/.bin/wrangler"))
        .current_dir(root.join("edge-worker"))
        .args(["deploy", "--dry-run", "--outdir"])
        .arg(root.join("target/deploy-check"))
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .context("running wrangler deploy --dry-run")?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("wrangler deploy --dry-run failed:\n{text}");
    }
    let size = text
        .lines()
        .find(|l| l.contains("Total Upload"))
        .context("wrangler printed no `Total Upload` line")?;
    Ok(size.trim().trim_start_matches("Total Upload: ").to_string())
}

/// `cargo xtask load`: `tests/support/load.mjs` against a fresh collector.
fn load(root: &Path, args: &[String]) -> Result<()> {
    step("load run against the collector in workerd (tests/support/load.mjs)");
    run_cmd(
        Command::new("node")
            .current_dir(root)
            .arg("tests/support/load.mjs")
            .args(args)
            .env("STINT_ROOT", root)
            .env("WRANGLER_SEND_METRICS", "false"),
    )
}

fn test(root: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    tools::ensure_build_tools(root)?;
    tools::ensure_browser()?;

    step("cargo fmt --check");
    run_cmd(
        Command::new("cargo")
            .current_dir(root)
            .args(["fmt", "--all", "--check"]),
    )?;
    step("cargo clippy (native: shared, tracker, xtask)");
    run_cmd(Command::new("cargo").current_dir(root).args([
        "clippy",
        "-p",
        "stint-shared",
        "-p",
        "stint-tracker",
        "-p",
        "xtask",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("cargo clippy (wasm32: tracker, worker)");
    run_cmd(Command::new("cargo").current_dir(root).args([
        "clippy",
        "-p",
        "stint-tracker",
        "-p",
        "stint-worker",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    lists::command(root, &["--check".to_string()])?;
    corpus::command(root)?;
    step("Rust unit and property tests (stint-shared, stint-tracker)");
    run_cmd(Command::new("cargo").current_dir(root).args([
        "test",
        "-p",
        "stint-shared",
        "-p",
        "stint-tracker",
    ]))?;
    step("short fuzz runs (every target of shared/fuzz, a few seconds each)");
    run_cmd(Command::new("cargo").current_dir(root).args([
        "fmt",
        "--manifest-path",
        "shared/fuzz/Cargo.toml",
        "--check",
    ]))?;
    run_cmd(Command::new("cargo").current_dir(root).args([
        "clippy",
        "--manifest-path",
        "shared/fuzz/Cargo.toml",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    fuzz::run_targets(root, &fuzz::TARGETS, fuzz::Budget::Seconds(4))?;

    build::all(root)?;
    let tarball = build::pack(root)?;
    deploy_check(root)?;

    step("worker tests in workerd and end-to-end tests in Chromium (node --test tests/)");
    run_cmd(
        Command::new("node")
            .current_dir(root)
            .args(["--test", "--test-concurrency=1", "tests/"])
            .env("STINT_ROOT", root)
            .env("STINT_TARBALL", &tarball)
            .env("WRANGLER_SEND_METRICS", "false"),
    )?;
    step(&format!("all tests passed in {:.0?}", started.elapsed()));
    Ok(())
}
