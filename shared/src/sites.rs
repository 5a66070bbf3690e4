//! The `SITES` configuration: which sites may send, from which Origins, keeping which
//! query parameters.
//!
//! `SITES` is a JSON object in `wrangler.toml`:
//! `{"demo": {"origins": ["http://127.0.0.1:8787"], "keep_params": ["ref"]}}`.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SiteConfig {
    /// Origins allowed to send beacons. An empty list allows beacons without an `Origin`
    /// header only (server-side senders).
    #[serde(default)]
    pub origins: Vec<String>,
    /// Query parameters kept in stored URLs besides `utm_*`.
    #[serde(default)]
    pub keep_params: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sites(BTreeMap<String, SiteConfig>);

/// Why a beacon's sender is refused (`403`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteRefusal {
    UnknownSite,
    OriginNotAllowed,
}

impl Sites {
    pub fn parse(json: &str) -> Result<Sites, String> {
        serde_json::from_str::<BTreeMap<String, SiteConfig>>(json)
            .map(Sites)
            .map_err(|e| format!("SITES is not valid configuration: {e}"))
    }

    pub fn get(&self, site: &str) -> Option<&SiteConfig> {
        self.0.get(site)
    }

    /// Whether any site allows this Origin (for CORS preflights, which carry no body).
    pub fn origin_known(&self, origin: &str) -> bool {
        self.0
            .values()
            .any(|c| c.origins.iter().any(|o| o == origin))
    }

    /// Checks that `site` exists and that `origin` (the request's `Origin` header, if any)
    /// may send for it. Browsers always send `Origin` with `sendBeacon` and cross-origin
    /// `fetch`; its absence means a non-browser sender, which is allowed.
    pub fn admit(&self, site: &str, origin: Option<&str>) -> Result<&SiteConfig, SiteRefusal> {
        let config = self.get(site).ok_or(SiteRefusal::UnknownSite)?;
        match origin {
            Some(o) if !config.origins.iter().any(|allowed| allowed == o) => {
                Err(SiteRefusal::OriginNotAllowed)
            }
            _ => Ok(config),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_configured_origins_only() {
        let sites = Sites::parse(r#"{"demo":{"origins":["http://127.0.0.1:8787"]}}"#).unwrap();
        assert!(sites.admit("demo", Some("http://127.0.0.1:8787")).is_ok());
        assert!(sites.admit("demo", None).is_ok());
        assert_eq!(
            sites.admit("demo", Some("https://evil.example")),
            Err(SiteRefusal::OriginNotAllowed)
        );
        assert_eq!(sites.admit("other", None), Err(SiteRefusal::UnknownSite));
    }

    #[test]
    fn bad_configuration_is_reported() {
        assert!(Sites::parse("[1]").unwrap_err().contains("SITES"));
    }
}
