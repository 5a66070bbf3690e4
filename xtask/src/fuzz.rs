//! `cargo xtask fuzz`: the libFuzzer targets of `stint-shared` (`shared/fuzz/`).
//!
//! The targets build with the pinned nightly ([`tools::TRACKER_NIGHTLY`]) through
//! `cargo fuzz`, without a sanitizer: `stint-shared` has no `unsafe`, so AddressSanitizer
//! would find nothing and cost most of the speed, while the build keeps debug assertions and
//! overflow checks, which is where a panic on input would come from. Each target runs as one
//! process (one core), so the machine stays usable. New inputs go to
//! `shared/fuzz/corpus/<target>` (not in git); the committed `shared/fuzz/seeds/<target>`
//! start it; crashes land in `shared/fuzz/artifacts/<target>` and fail the run.

use crate::{run_cmd, step, tools};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub const TARGETS: [&str; 5] = ["beacon", "classify", "url", "read_params", "session"];

/// Largest input per target: beacons reach past the 32 KiB body limit.
fn max_len(target: &str) -> u32 {
    match target {
        "beacon" => 36 * 1024,
        _ => 8 * 1024,
    }
}

/// How long each target runs.
#[derive(Clone, Copy)]
pub enum Budget {
    Seconds(u32),
}

pub struct Outcome {
    pub target: &'static str,
    pub execs: u64,
    pub seconds: f64,
}

/// `cargo xtask fuzz [--seconds N] [TARGET...]`.
pub fn command(root: &Path, args: &[String]) -> Result<()> {
    let mut seconds = 60;
    let mut chosen: Vec<&'static str> = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .context("--seconds needs a number")?
                    .parse()
                    .context("--seconds needs a whole number of seconds")?;
            }
            name => match TARGETS.iter().find(|t| **t == name) {
                Some(t) => chosen.push(t),
                None => bail!(
                    "unknown fuzz target `{name}`; targets: {}",
                    TARGETS.join(", ")
                ),
            },
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.to_vec();
    }
    let outcomes = run_targets(root, &chosen, Budget::Seconds(seconds))?;
    println!();
    println!("  target        executions   seconds   execs/s");
    for o in &outcomes {
        println!(
            "  {:<12} {:>11} {:>9.0} {:>9.0}",
            o.target,
            o.execs,
            o.seconds,
            o.execs as f64 / o.seconds.max(0.001)
        );
    }
    let total: u64 = outcomes.iter().map(|o| o.execs).sum();
    println!("  {:<12} {:>11}", "total", total);
    Ok(())
}

/// Builds the targets, then runs each for its budget; fails on the first crash.
pub fn run_targets(root: &Path, targets: &[&'static str], budget: Budget) -> Result<Vec<Outcome>> {
    tools::ensure_cargo_fuzz()?;
    if !tools::ensure_tracker_nightly() {
        bail!(
            "fuzzing needs {} (cargo fuzz uses nightly-only flags)",
            tools::TRACKER_NIGHTLY
        );
    }
    let shared = root.join("shared");
    step("building fuzz targets (cargo fuzz build, nightly, debug assertions, no sanitizer)");
    run_cmd(fuzz_cmd(&shared).args(["build", "-s", "none"]))?;
    let mut outcomes = Vec::new();
    for target in targets {
        let Budget::Seconds(seconds) = budget;
        let corpus = shared.join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let seeds = shared.join("fuzz/seeds").join(target);
        let started = Instant::now();
        let mut cmd = fuzz_cmd(&shared);
        cmd.args(["run", "-s", "none", target]).arg(&corpus);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        cmd.arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-max_len={}", max_len(target)))
            .arg("-print_final_stats=1")
            .arg("-rss_limit_mb=2048");
        let dict = shared.join(format!("fuzz/{target}.dict"));
        if dict.is_file() {
            cmd.arg(format!("-dict={}", dict.display()));
        }
        let out = cmd
            .output()
            .with_context(|| format!("running fuzz target {target}"))?;
        let log = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "fuzz target {target} failed (crash input under shared/fuzz/artifacts/{target}/):\n{}",
                tail.join("\n")
            );
        }
        let execs = log
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .context("libFuzzer printed no execution count")?;
        let seconds = started.elapsed().as_secs_f64();
        step(&format!(
            "fuzz {target}: {execs} executions in {seconds:.0} s, no crash"
        ));
        outcomes.push(Outcome {
            target,
            execs,
            seconds,
        });
    }
    Ok(outcomes)
}

fn fuzz_cmd(shared: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(shared)
        .arg(format!("+{}", tools::TRACKER_NIGHTLY))
        .arg("fuzz");
    cmd
}
