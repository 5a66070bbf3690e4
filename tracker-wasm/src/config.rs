//! Reading the options object passed to `init`, with the contract's defaults.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// `localStorage`: one session shared by the site's tabs.
    Local,
    /// `sessionStorage`: one session per tab.
    Session,
    /// Nothing persisted: a new session on every load, nothing kept for retry.
    Memory,
}

pub struct Config {
    /// `<endpoint>/collect`.
    pub collect_url: String,
    pub site: String,
    pub storage: StorageKind,
    pub session_timeout_ms: i64,
    pub idle_timeout_ms: i64,
    pub respect_dnt: bool,
    pub respect_gpc: bool,
    /// `consent: "pending"`: queue in memory until `grant()`.
    pub consent_pending: bool,
    pub keep_params: Vec<String>,
    pub spa: bool,
    /// Extension to SPEC: `hashRouting: true` makes a `hashchange` a page view.
    pub hash_routing: bool,
    pub flush_interval_ms: i32,
}

fn get(options: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(options, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

pub fn error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

fn flag(options: &JsValue, key: &str, default: bool, message: &str) -> Result<bool, JsValue> {
    match get(options, key) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| error(message)),
    }
}

fn positive(options: &JsValue, key: &str, default: f64, message: &str) -> Result<f64, JsValue> {
    match get(options, key) {
        None => Ok(default),
        Some(v) => v
            .as_f64()
            .filter(|n| *n > 0.0)
            .ok_or_else(|| error(message)),
    }
}

impl Config {
    pub fn from_js(options: &JsValue) -> Result<Config, JsValue> {
        if !options.is_object() {
            return Err(error("stint: init() needs an options object"));
        }
        let endpoint = get(options, "endpoint")
            .and_then(|v| v.as_string())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| error("stint: option `endpoint` must be a URL string"))?;
        let site = get(options, "site")
            .and_then(|v| v.as_string())
            .filter(|s| stint_shared::protocol::is_valid_site_id(s))
            .ok_or_else(|| error("stint: option `site` must be a site id like \"example.com\""))?;
        let storage = match get(options, "storage")
            .and_then(|v| v.as_string())
            .as_deref()
        {
            None | Some("local") => StorageKind::Local,
            Some("session") => StorageKind::Session,
            Some("memory") => StorageKind::Memory,
            Some(_) => {
                return Err(error(
                    "stint: option `storage` must be \"local\", \"session\" or \"memory\"",
                ))
            }
        };
        let consent_pending = match get(options, "consent")
            .and_then(|v| v.as_string())
            .as_deref()
        {
            None | Some("granted") => false,
            Some("pending") => true,
            Some(_) => {
                return Err(error(
                    "stint: option `consent` must be \"granted\" or \"pending\"",
                ))
            }
        };
        let keep_params = match get(options, "keepParams") {
            None => Vec::new(),
            Some(v) => v
                .dyn_into::<js_sys::Array>()
                .map_err(|_| error("stint: option `keepParams` must be an array of strings"))?
                .iter()
                .filter_map(|p| p.as_string())
                .collect(),
        };
        let mut collect_url = endpoint.trim_end_matches('/').to_string();
        collect_url.push_str("/collect");
        Ok(Config {
            collect_url,
            site,
            storage,
            session_timeout_ms: (positive(
                options,
                "sessionTimeoutMin",
                30.0,
                "stint: option `sessionTimeoutMin` must be a positive number",
            )? * 60_000.0) as i64,
            idle_timeout_ms: positive(
                options,
                "idleTimeoutMs",
                15_000.0,
                "stint: option `idleTimeoutMs` must be a positive number",
            )? as i64,
            respect_dnt: flag(
                options,
                "respectDnt",
                true,
                "stint: option `respectDnt` must be true or false",
            )?,
            respect_gpc: flag(
                options,
                "respectGpc",
                true,
                "stint: option `respectGpc` must be true or false",
            )?,
            consent_pending,
            keep_params,
            spa: flag(
                options,
                "spa",
                true,
                "stint: option `spa` must be true or false",
            )?,
            hash_routing: flag(
                options,
                "hashRouting",
                false,
                "stint: option `hashRouting` must be true or false",
            )?,
            flush_interval_ms: positive(
                options,
                "flushIntervalMs",
                15_000.0,
                "stint: option `flushIntervalMs` must be a positive number",
            )?
            .min(f64::from(i32::MAX)) as i32,
        })
    }
}
