//! `cargo xtask corpus`: the collector's User-Agent verdicts measured against public lists of
//! real User-Agents nobody here wrote, with the figures printed and the floors enforced.
//!
//! `xtask/corpus.mjs` reads the pinned npm packages (crawler-user-agents, user-agents,
//! ua-parser-js, isbot) and prints the strings with what the references say of them; the
//! verdicts themselves are `stint_shared::classify::classify_user_agent`, the function the
//! collector calls, run natively here.

use crate::step;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use stint_shared::classify::classify_user_agent;

/// Floors from issue 13: crawlers flagged, real browsers flagged (at most), device type
/// right, browser family as ua-parser-js names it.
const MIN_CRAWLERS_FLAGGED: f64 = 0.99;
const MAX_BROWSERS_FLAGGED: f64 = 0.001;
const MIN_DEVICE_RIGHT: f64 = 0.99;
const MIN_FAMILY_AGREEMENT: f64 = 0.98;

/// ua-parser-js's browser names where Stint spells the same family otherwise.
fn stint_name_of(ua_parser: &str) -> &str {
    match ua_parser {
        "Mobile Safari" => "Safari",
        "Mobile Chrome" => "Chrome",
        "Mobile Firefox" => "Firefox",
        "GSA" => "Google app",
        "Chrome WebView" => "Android WebView",
        "Yandex" => "Yandex Browser",
        "Line" => "LINE",
        "WebKit" => "iOS WebView",
        other => other,
    }
}

pub fn command(root: &Path) -> Result<()> {
    step("User-Agent corpora: crawler-user-agents, user-agents, ua-parser-js, isbot");
    let out = Command::new("node")
        .arg(root.join("xtask/corpus.mjs"))
        .output()
        .context("could not run node xtask/corpus.mjs")?;
    if !out.status.success() {
        bail!(
            "node xtask/corpus.mjs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let corpus: Value = serde_json::from_slice(&out.stdout)?;
    let sources = &corpus["sources"];
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let crawlers = strings(&corpus["crawlers"]);
    let browsers = corpus["browsers"].as_array().context("no browsers")?;
    if crawlers.is_empty() || browsers.is_empty() {
        bail!("a corpus is empty: is npm ci done?");
    }

    let started = std::time::Instant::now();
    let mut missed = Vec::new();
    for ua in &crawlers {
        if classify_user_agent(ua).bot.is_none() {
            missed.push(ua.as_str());
        }
    }
    let (mut flagged, mut device_wrong, mut family_wrong) = (Vec::new(), Vec::new(), Vec::new());
    for b in browsers {
        let ua = b["ua"].as_str().unwrap_or("");
        let got = classify_user_agent(ua);
        if let Some(reason) = got.bot {
            flagged.push(format!("{reason}: {ua}"));
        }
        let device = b["device"].as_str().unwrap_or("");
        if got.device.map(|d| d.as_str()) != Some(device) {
            device_wrong.push(format!("{device} vs {:?}: {ua}", got.device));
        }
        let reference = b["family"].as_str().map(stint_name_of);
        if got.browser.as_deref() != reference {
            family_wrong.push(format!("{reference:?} vs {:?}: {ua}", got.browser));
        }
    }
    let classified = crawlers.len() + browsers.len();
    let per_ua = started.elapsed().as_secs_f64() * 1e6 / classified as f64;

    let share = |n: usize, of: usize| n as f64 / of as f64;
    let line = |what: &str, n: usize, of: usize, floor: &str| {
        println!(
            "  {what:<44} {n:>5} / {of:<5} {:>6.2}%   ({floor})",
            100.0 * share(n, of)
        )
    };
    let c = crawlers.len();
    let b = browsers.len();
    println!(
        "corpus: {} crawler instances, {} distinct browser User-Agents ({}); reference {}",
        c,
        b,
        sources["browsers"].as_str().unwrap_or("?"),
        sources["reference"].as_str().unwrap_or("?")
    );
    line("crawlers flagged as bots", c - missed.len(), c, "floor 99%");
    line(
        "real browsers flagged as bots",
        flagged.len(),
        b,
        "ceiling 0.1%",
    );
    line(
        "real browsers, device type right",
        b - device_wrong.len(),
        b,
        "floor 99%",
    );
    line(
        "real browsers, family as ua-parser-js says",
        b - family_wrong.len(),
        b,
        "floor 98%",
    );
    let isbot = &corpus["isbot"];
    println!(
        "  beside: {} flags {} / {c} crawlers and {} / {b} browsers",
        sources["isbot"].as_str().unwrap_or("isbot"),
        isbot["crawlers"],
        isbot["browsers"]
    );
    println!("  classification: {per_ua:.1} µs per User-Agent (native, this machine)");
    for (what, list) in [
        (
            "crawler not flagged",
            missed.iter().map(|s| s.to_string()).collect(),
        ),
        ("browser flagged", flagged.clone()),
        ("device differs", device_wrong.clone()),
        ("family differs", family_wrong.clone()),
    ] as [(&str, Vec<String>); 4]
    {
        for s in list.iter().take(5) {
            println!("    {what}: {s}");
        }
        if list.len() > 5 {
            println!("    … and {} more", list.len() - 5);
        }
    }

    let mut failures = Vec::new();
    if share(c - missed.len(), c) < MIN_CRAWLERS_FLAGGED {
        failures.push("crawlers flagged");
    }
    if share(flagged.len(), b) > MAX_BROWSERS_FLAGGED {
        failures.push("browsers flagged");
    }
    if share(b - device_wrong.len(), b) < MIN_DEVICE_RIGHT {
        failures.push("device type");
    }
    if share(b - family_wrong.len(), b) < MIN_FAMILY_AGREEMENT {
        failures.push("browser family");
    }
    if !failures.is_empty() {
        bail!("corpus figures below their floors: {}", failures.join(", "));
    }
    Ok(())
}
