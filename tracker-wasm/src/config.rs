//! Reading the options object passed to `init`.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// `localStorage`: one session shared by the site's tabs.
    Local,
    /// `sessionStorage`: one session per tab.
    Session,
    /// Nothing persisted: a new session on every load.
    Memory,
}

pub struct Config {
    /// `<endpoint>/collect`.
    pub collect_url: String,
    pub site: String,
    pub storage: StorageKind,
    pub session_timeout_ms: i64,
    pub keep_params: Vec<String>,
}

fn get(options: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(options, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

impl Config {
    pub fn from_js(options: &JsValue) -> Result<Config, JsValue> {
        if !options.is_object() {
            return Err(error("stint: init() needs an options object"));
        }
        let endpoint = get(options, "endpoint")
            .and_then(|v| v.as_string())
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
        let session_timeout_min = match get(options, "sessionTimeoutMin") {
            None => 30.0,
            Some(v) => v.as_f64().filter(|m| *m > 0.0).ok_or_else(|| {
                error("stint: option `sessionTimeoutMin` must be a positive number")
            })?,
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
            session_timeout_ms: (session_timeout_min * 60_000.0) as i64,
            keep_params,
        })
    }
}
