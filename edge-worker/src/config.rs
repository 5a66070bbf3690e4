//! Reading the worker's configuration (`wrangler.toml` vars and secrets).

use crate::error::ApiError;
use stint_shared::sites::Sites;
use worker::Env;

pub fn sites(env: &Env) -> Result<Sites, ApiError> {
    let raw = env
        .var("SITES")
        .map(|v| v.to_string())
        .map_err(|_| ApiError::internal("config", "SITES is not set"))?;
    Sites::parse(&raw).map_err(|e| ApiError::internal("config", e))
}

/// The read token, `None` while unset (then every read is refused).
pub fn read_token(env: &Env) -> Option<String> {
    env.secret("READ_TOKEN")
        .map(|s| s.to_string())
        .or_else(|_| env.var("READ_TOKEN").map(|v| v.to_string()))
        .ok()
        .filter(|t| !t.is_empty())
}

/// How long sessions are kept, in milliseconds (`RETENTION_DAYS`, default 90; fractions are
/// allowed, which tests use).
pub fn retention_ms(env: &Env) -> i64 {
    let days = env
        .var("RETENTION_DAYS")
        .ok()
        .and_then(|v| v.to_string().trim().parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(90.0);
    (days * stint_shared::time::DAY_MS as f64) as i64
}

/// Origins allowed to call the read API from a browser (`DASHBOARD_ORIGINS`, a JSON array).
pub fn dashboard_origins(env: &Env) -> Vec<String> {
    env.var("DASHBOARD_ORIGINS")
        .ok()
        .and_then(|v| serde_json::from_str::<Vec<String>>(&v.to_string()).ok())
        .unwrap_or_default()
}

/// Whether a test asked for the named fault (`STINT_FAULTS`, comma-separated; unset in
/// `wrangler.toml`, so never in a deployment). `purge-after-reset` stops an index purge right
/// after its reset, leaving the shard as a crash at that moment would.
pub fn fault(env: &Env, name: &str) -> bool {
    env.var("STINT_FAULTS")
        .map(|v| v.to_string().split(',').any(|f| f.trim() == name))
        .unwrap_or(false)
}
