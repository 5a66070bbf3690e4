//! The tracker's options, as `js/stint.js` hands them over after checking their types.

use stint_shared::text::pieces;

/// Where the session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// `localStorage`: one session shared by the site's tabs.
    Local,
    /// `sessionStorage`: one session per tab.
    Session,
    /// Nothing persisted: a new session on every load, nothing kept for retry.
    Memory,
}

impl StorageKind {
    /// `storage` as the JS entry numbers it: 0 local, 1 session, anything else memory.
    pub fn from_code(code: u32) -> StorageKind {
        match code {
            0 => StorageKind::Local,
            1 => StorageKind::Session,
            _ => StorageKind::Memory,
        }
    }
}

/// Bits of the `flags` word passed to `start`.
pub mod flags {
    /// `consent: "pending"`.
    pub const CONSENT_PENDING: u32 = 1;
    /// `hashRouting: true`.
    pub const HASH_ROUTING: u32 = 2;
    /// `respectDnt` (default on).
    pub const RESPECT_DNT: u32 = 4;
    /// `respectGpc` (default on).
    pub const RESPECT_GPC: u32 = 8;
    /// The browser sends Do Not Track.
    pub const DNT: u32 = 16;
    /// The browser sends Global Privacy Control.
    pub const GPC: u32 = 32;
    /// `localStorage["stint.optout"]` is set.
    pub const OPTED_OUT: u32 = 64;
}

#[derive(Debug, Clone)]
pub struct Config {
    pub site: String,
    pub storage: StorageKind,
    pub session_timeout_ms: i64,
    pub idle_timeout_ms: i64,
    /// `consent: "pending"`: queue in memory until `grant()`.
    pub consent_pending: bool,
    /// Query parameters kept in URLs besides `utm_*`.
    pub keep_params: Vec<String>,
    /// Extension to SPEC: `hashRouting: true` makes a `hashchange` a page view.
    pub hash_routing: bool,
}

impl Config {
    /// `keep` is the `keepParams` list joined by newlines.
    pub fn new(
        site: String,
        keep: &str,
        storage: StorageKind,
        session_timeout_min: f64,
        idle_timeout_ms: f64,
        flag_bits: u32,
    ) -> Config {
        // A loop, not `collect()`: the iterator's specialised collection is code the module
        // would carry for this one call.
        let mut keep_params = Vec::new();
        for param in pieces(keep, b'\n') {
            if !param.is_empty() {
                keep_params.push(param.to_string());
            }
        }
        Config {
            site,
            storage,
            session_timeout_ms: (session_timeout_min * 60_000.0) as i64,
            idle_timeout_ms: idle_timeout_ms as i64,
            consent_pending: flag_bits & flags::CONSENT_PENDING != 0,
            keep_params,
            hash_routing: flag_bits & flags::HASH_ROUTING != 0,
        }
    }
}

/// True when nothing may be sent: the visitor opted out with `stint.optout`, or Do Not
/// Track / Global Privacy Control is on and the site respects it (the default).
pub fn tracking_refused(flag_bits: u32) -> bool {
    let on = |f: u32| flag_bits & f != 0;
    on(flags::OPTED_OUT)
        || (on(flags::RESPECT_DNT) && on(flags::DNT))
        || (on(flags::RESPECT_GPC) && on(flags::GPC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn privacy_signals_refuse_tracking_unless_the_site_ignores_them() {
        use flags::*;
        assert!(!tracking_refused(RESPECT_DNT | RESPECT_GPC));
        assert!(tracking_refused(RESPECT_DNT | RESPECT_GPC | DNT));
        assert!(tracking_refused(RESPECT_DNT | RESPECT_GPC | GPC));
        assert!(!tracking_refused(RESPECT_DNT | GPC), "respectGpc: false");
        assert!(!tracking_refused(RESPECT_GPC | DNT), "respectDnt: false");
        assert!(tracking_refused(OPTED_OUT), "opt-out is never overridden");
    }

    #[test]
    fn options_are_converted_to_milliseconds_and_a_list() {
        let c = Config::new(
            "demo".into(),
            "ref\n\nlang",
            StorageKind::Local,
            0.5,
            1000.0,
            3,
        );
        assert_eq!(c.session_timeout_ms, 30_000);
        assert_eq!(c.idle_timeout_ms, 1000);
        assert_eq!(c.keep_params, ["ref", "lang"]);
        assert!(c.consent_pending && c.hash_routing);
    }
}
