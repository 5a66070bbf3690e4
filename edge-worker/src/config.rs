//! The worker's configuration (`wrangler.toml` vars and secrets), read once per isolate: an
//! isolate's environment never changes, so every request after the first reuses the parse.

use crate::error::ApiError;
use std::cell::OnceCell;
use std::rc::Rc;
use stint_shared::sites::Sites;
use worker::Env;

/// Everything read from vars and secrets.
pub struct Config {
    /// `SITES`, or why it could not be read (answered 503 on every request that needs it).
    sites: Result<Sites, String>,
    /// `READ_TOKEN`, `None` while unset (then every read is refused).
    pub read_token: Option<String>,
    /// `RETENTION_DAYS` in milliseconds.
    pub retention_ms: i64,
    /// `DASHBOARD_ORIGINS`: browser origins allowed to call the read API.
    pub dashboard_origins: Vec<String>,
    /// `STINT_FAULTS`: faults a test asked for (never set in a deployment).
    faults: Vec<String>,
    /// `STINT_COST_REPORT`: answers to `/collect` carry what the beacon cost in rows
    /// (`x-stint-rows-*` headers), for `cargo xtask bench`.
    pub cost_report: bool,
    /// `STINT_BENCH_SEED`: `POST /bench/seed` answers (see `seed.rs`; bench only).
    pub bench_seed: bool,
    /// `STINT_TEST_EDGE`: `/collect` takes its receive time and country from
    /// `stint-test-now` / `stint-test-country` headers (tests' seeded data sets; never set
    /// in a deployment).
    pub test_edge: bool,
}

thread_local! {
    static CONFIG: OnceCell<Rc<Config>> = const { OnceCell::new() };
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name).ok().map(|v| v.to_string())
}

/// The configuration of this isolate.
pub fn get(env: &Env) -> Rc<Config> {
    CONFIG.with(|cell| cell.get_or_init(|| Rc::new(read(env))).clone())
}

fn read(env: &Env) -> Config {
    let sites = match var(env, "SITES") {
        Some(raw) => Sites::parse(&raw),
        None => Err("SITES is not set".to_string()),
    };
    Config {
        sites,
        read_token: env
            .secret("READ_TOKEN")
            .map(|s| s.to_string())
            .ok()
            .or_else(|| var(env, "READ_TOKEN"))
            .filter(|t| !t.is_empty()),
        retention_ms: stint_shared::retention::retention_ms(var(env, "RETENTION_DAYS").as_deref()),
        dashboard_origins: var(env, "DASHBOARD_ORIGINS")
            .and_then(|v| serde_json::from_str::<Vec<String>>(&v).ok())
            .unwrap_or_default(),
        faults: var(env, "STINT_FAULTS")
            .map(|v| v.split(',').map(|f| f.trim().to_string()).collect())
            .unwrap_or_default(),
        cost_report: var(env, "STINT_COST_REPORT").is_some_and(|v| v == "1"),
        bench_seed: var(env, "STINT_BENCH_SEED").is_some_and(|v| v == "1"),
        test_edge: var(env, "STINT_TEST_EDGE").is_some_and(|v| v == "1"),
    }
}

impl Config {
    pub fn sites(&self) -> Result<&Sites, ApiError> {
        self.sites
            .as_ref()
            .map_err(|e| ApiError::internal("config", e))
    }

    /// Whether a test asked for the named fault. `purge-after-reset` stops an index purge
    /// right after its reset, leaving the shard as a crash at that moment would;
    /// `purge-before-bring-back` stops it once the reset's turn (marker included) is
    /// written, before any row is back.
    pub fn fault(&self, name: &str) -> bool {
        self.faults.iter().any(|f| f == name)
    }
}
