//! A site's settings (`GET` / `PUT /api/settings`): its saved segments — named sets of
//! filters the dashboard applies in one click —, its saved funnels, and `min_sessions`,
//! below which a breakdown row, a path's page, a link or a "went instead" page is folded
//! into "other". Validated here, field
//! by field, so a bad `PUT` gets a 400 naming the field and nothing half-valid is stored.

use crate::funnel::FunnelSpec;
use crate::query::{Filters, ParamError};
use serde::{Deserialize, Serialize};

pub const MAX_SEGMENTS: usize = 50;
pub const MAX_FUNNELS: usize = 50;
pub const MAX_SEGMENT_NAME_CHARS: usize = 64;
pub const MAX_MIN_SESSIONS: u32 = 1_000;
/// Largest settings body accepted.
pub const MAX_SETTINGS_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub name: String,
    /// The filters as query parameters (`["country", "DE"]`, `["page!", "/pricing"]`).
    pub filters: Vec<(String, String)>,
}

/// A funnel as the dashboard saves it: its steps as written (`/pricing`, `event:signup`),
/// mode and window, checked by the rule `GET /api/funnel` reads them with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedFunnel {
    pub name: String,
    pub steps: Vec<String>,
    #[serde(default = "ordered")]
    pub mode: String,
    /// Minutes; `None`: the whole session.
    #[serde(default)]
    pub window: Option<i64>,
}

fn ordered() -> String {
    "ordered".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteSettings {
    #[serde(default)]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub funnels: Vec<SavedFunnel>,
    #[serde(default = "one")]
    pub min_sessions: u32,
}

/// Checks a saved item's name: present, not too long, no control characters, unique among
/// those before it.
fn check_name<'a>(
    field: &str,
    name: &str,
    mut before: impl Iterator<Item = &'a str>,
) -> Result<(), ParamError> {
    if name.trim().is_empty() || name.chars().count() > MAX_SEGMENT_NAME_CHARS {
        return Err(ParamError(format!(
            "{field}.name: 1 to {MAX_SEGMENT_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ParamError(format!("{field}.name: has a control character")));
    }
    if before.any(|n| n == name) {
        return Err(ParamError(format!(
            "{field}.name: another one has this name"
        )));
    }
    Ok(())
}

fn one() -> u32 {
    1
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            segments: Vec::new(),
            funnels: Vec::new(),
            min_sessions: 1,
        }
    }
}

impl SiteSettings {
    /// Reads and checks a `PUT` body.
    pub fn parse(body: &[u8]) -> Result<SiteSettings, ParamError> {
        if body.len() > MAX_SETTINGS_BYTES {
            return Err(ParamError(format!(
                "body: larger than {MAX_SETTINGS_BYTES} bytes"
            )));
        }
        let shape = |e: String| {
            ParamError(format!(
                "body: {{\"segments\": [{{\"name\", \"filters\": [[key, value]…]}}], \"min_sessions\"}} ({e})"
            ))
        };
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| shape(e.to_string()))?;
        if !value.is_object() {
            return Err(shape("not an object".into()));
        }
        let settings: SiteSettings =
            serde_json::from_value(value).map_err(|e| shape(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ParamError> {
        if self.segments.len() > MAX_SEGMENTS {
            return Err(ParamError(format!("segments: more than {MAX_SEGMENTS}")));
        }
        if !(1..=MAX_MIN_SESSIONS).contains(&self.min_sessions) {
            return Err(ParamError(format!(
                "min_sessions: must be between 1 and {MAX_MIN_SESSIONS}"
            )));
        }
        if self.funnels.len() > MAX_FUNNELS {
            return Err(ParamError(format!("funnels: more than {MAX_FUNNELS}")));
        }
        for (i, funnel) in self.funnels.iter().enumerate() {
            let field = format!("funnels[{i}]");
            check_name(
                &field,
                &funnel.name,
                self.funnels[..i].iter().map(|f| f.name.as_str()),
            )?;
            let window = funnel.window.map(|w| w.to_string());
            let pairs = funnel
                .steps
                .iter()
                .map(|s| ("step", s.as_str()))
                .chain([("mode", funnel.mode.as_str())])
                .chain(window.as_deref().map(|w| ("window", w)));
            FunnelSpec::parse(pairs).map_err(|e| ParamError(format!("{field}.{}", e.0)))?;
        }
        for (i, segment) in self.segments.iter().enumerate() {
            check_name(
                &format!("segments[{i}]"),
                &segment.name,
                self.segments[..i].iter().map(|s| s.name.as_str()),
            )?;
            if segment.filters.is_empty() {
                return Err(ParamError(format!(
                    "segments[{i}].filters: a segment needs a filter"
                )));
            }
            let mut filters = Filters::default();
            for (j, (k, v)) in segment.filters.iter().enumerate() {
                match filters.parse_pair(k, v) {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(ParamError(format!(
                            "segments[{i}].filters[{j}]: {k} is not a filter"
                        )))
                    }
                    Err(e) => {
                        return Err(ParamError(format!("segments[{i}].filters[{j}]: {}", e.0)))
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_read_with_defaults_and_round_trip() {
        let s = SiteSettings::parse(br#"{"segments":[{"name":"German search","filters":[["country","DE"],["channel","search"]]}]}"#).unwrap();
        assert_eq!(s.min_sessions, 1);
        assert_eq!(s.segments[0].filters.len(), 2);
        let json = serde_json::to_vec(&s).unwrap();
        assert_eq!(SiteSettings::parse(&json).unwrap(), s);
        assert_eq!(SiteSettings::parse(b"{}").unwrap(), SiteSettings::default());
    }

    #[test]
    fn bad_settings_name_the_field() {
        let err = |body: &str| SiteSettings::parse(body.as_bytes()).unwrap_err().0;
        assert!(err("[]").starts_with("body:"));
        assert!(err(r#"{"min_sessions":0}"#).starts_with("min_sessions:"));
        assert!(
            err(r#"{"segments":[{"name":"","filters":[["country","DE"]]}]}"#)
                .starts_with("segments[0].name:")
        );
        assert!(
            err(r#"{"segments":[{"name":"a","filters":[]}]}"#).starts_with("segments[0].filters:")
        );
        assert!(
            err(r#"{"segments":[{"name":"a","filters":[["country","de"]]}]}"#)
                .starts_with("segments[0].filters[0]: country:")
        );
        assert!(
            err(r#"{"segments":[{"name":"a","filters":[["site","x"]]}]}"#)
                .starts_with("segments[0].filters[0]: site is not")
        );
        assert!(err(r#"{"segments":[{"name":"a","filters":[["country","DE"]]},{"name":"a","filters":[["country","FR"]]}]}"#)
            .starts_with("segments[1].name:"));
        assert!(err(r#"{"funnels":[{"name":"a","steps":["/pricing"]}]}"#)
            .starts_with("funnels[0].step: a funnel has 2 to 10 steps"));
        assert!(err(r#"{"funnels":[{"name":"a","steps":["/a","b"]}]}"#)
            .starts_with("funnels[0].step 2:"));
        assert!(
            err(r#"{"funnels":[{"name":"a","steps":["/a","/b"],"mode":"x"}]}"#)
                .starts_with("funnels[0].mode:")
        );
        assert!(
            err(r#"{"funnels":[{"name":"a","steps":["/a","/b"],"window":0}]}"#)
                .starts_with("funnels[0].window:")
        );
        assert!(err(r#"{"funnels":[{"name":" ","steps":["/a","/b"]}]}"#)
            .starts_with("funnels[0].name:"));
    }

    #[test]
    fn funnels_are_saved_with_their_mode_and_window() {
        let s = SiteSettings::parse(
            br#"{"funnels":[{"name":"Signup","steps":["/pricing","event:signup"],"window":30}]}"#,
        )
        .unwrap();
        assert_eq!(s.funnels[0].mode, "ordered");
        assert_eq!(s.funnels[0].window, Some(30));
        let json = serde_json::to_vec(&s).unwrap();
        assert_eq!(SiteSettings::parse(&json).unwrap(), s);
    }
}
