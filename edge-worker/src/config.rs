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
