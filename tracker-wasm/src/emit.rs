//! How an event leaves the module: as its wire type and one (field, value) pair per field
//! it carries, which the JS entry sets on a plain object and `JSON.stringify` turns into
//! the batch's text. The module keeps no JSON writer of its own (the bench measured the
//! batch's JSON encoding at 1.37 KB of the gzipped module, the largest piece of byte work
//! in it); what each event carries, and when, is still decided here.
//!
//! The wire names below are the JS entry's only knowledge of the protocol: `boundary.rs`
//! writes them into `js/stint.js`, and the native tests build every batch from these pairs
//! exactly as the JS entry does and read it with the collector's decoder.

use stint_shared::protocol::{EventKind, PropValue};

/// A field's value as it crosses to JS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
}

impl<'a> From<&'a PropValue> for Value<'a> {
    fn from(v: &'a PropValue) -> Value<'a> {
        match v {
            PropValue::Str(s) => Value::Str(s),
            PropValue::Num(n) => Value::Num(*n),
            PropValue::Bool(b) => Value::Bool(*b),
        }
    }
}

/// Every field an event may carry, by code; [`FIELDS`] gives each its wire name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Field {
    Url,
    Ref,
    Title,
    W,
    ActiveMs,
    Scroll,
    Href,
    Outbound,
    Download,
    Name,
    El,
    Src,
    Line,
    Form,
    Phase,
    Ttfb,
    Fcp,
    Lcp,
    Load,
    Inp,
    Cls,
}

/// Wire names of [`Field`], by code (SPEC's wire protocol).
pub const FIELDS: [(Field, &str); 21] = [
    (Field::Url, "url"),
    (Field::Ref, "ref"),
    (Field::Title, "title"),
    (Field::W, "w"),
    (Field::ActiveMs, "active_ms"),
    (Field::Scroll, "scroll"),
    (Field::Href, "href"),
    (Field::Outbound, "outbound"),
    (Field::Download, "download"),
    (Field::Name, "name"),
    (Field::El, "el"),
    (Field::Src, "src"),
    (Field::Line, "line"),
    (Field::Form, "form"),
    (Field::Phase, "phase"),
    (Field::Ttfb, "ttfb"),
    (Field::Fcp, "fcp"),
    (Field::Lcp, "lcp"),
    (Field::Load, "load"),
    (Field::Inp, "inp"),
    (Field::Cls, "cls"),
];

/// Wire types by the code [`kind_code`] gives.
pub const TYPES: [&str; 9] = [
    "pageview", "engage", "click", "custom", "rage", "dead", "error", "form", "perf",
];

pub fn kind_code(kind: &EventKind) -> u32 {
    match kind {
        EventKind::Pageview { .. } => 0,
        EventKind::Engage { .. } => 1,
        EventKind::Click { .. } => 2,
        EventKind::Custom { .. } => 3,
        EventKind::Rage(_) => 4,
        EventKind::Dead(_) => 5,
        EventKind::Error { .. } => 6,
        EventKind::Form { .. } => 7,
        EventKind::Perf(_) => 8,
    }
}

/// Calls `f` with each field `kind` carries (absent optional fields are left out, as the
/// wire leaves them out); a custom event's props go to `prop` instead.
pub fn fields<'a>(
    kind: &'a EventKind,
    mut f: impl FnMut(Field, Value<'a>),
    mut prop: impl FnMut(&'a str, Value<'a>),
) {
    match kind {
        EventKind::Pageview {
            url,
            referrer,
            title,
            width,
        } => {
            f(Field::Url, Value::Str(url));
            if let Some(s) = referrer {
                f(Field::Ref, Value::Str(s));
            }
            if let Some(s) = title {
                f(Field::Title, Value::Str(s));
            }
            if let Some(px) = width {
                f(Field::W, Value::Num(f64::from(*px)));
            }
        }
        EventKind::Engage { active_ms, scroll } => {
            f(Field::ActiveMs, Value::Num(f64::from(*active_ms)));
            f(Field::Scroll, Value::Num(f64::from(*scroll)));
        }
        EventKind::Click {
            href,
            outbound,
            download,
        } => {
            f(Field::Href, Value::Str(href));
            f(Field::Outbound, Value::Bool(*outbound));
            if *download {
                f(Field::Download, Value::Bool(true));
            }
        }
        EventKind::Custom { name, props } => {
            f(Field::Name, Value::Str(name));
            for (key, value) in props {
                prop(key, value.into());
            }
        }
        EventKind::Rage(e) | EventKind::Dead(e) => {
            f(Field::El, Value::Str(&e.el));
            if let Some(s) = &e.name {
                f(Field::Name, Value::Str(s));
            }
        }
        EventKind::Error { name, src, line } => {
            f(Field::Name, Value::Str(name));
            if let Some(s) = src {
                f(Field::Src, Value::Str(s));
            }
            if let Some(line) = line {
                f(Field::Line, Value::Num(f64::from(*line)));
            }
        }
        EventKind::Form { form, submit } => {
            f(Field::Form, Value::Str(form));
            f(
                Field::Phase,
                Value::Str(if *submit { "submit" } else { "start" }),
            );
        }
        EventKind::Perf(v) => {
            let times = [
                (Field::Ttfb, v.ttfb),
                (Field::Fcp, v.fcp),
                (Field::Lcp, v.lcp),
                (Field::Load, v.load),
                (Field::Inp, v.inp),
            ];
            for (field, ms) in times {
                if let Some(ms) = ms {
                    f(field, Value::Num(f64::from(ms)));
                }
            }
            if let Some(cls) = v.cls {
                f(Field::Cls, Value::Num(cls));
            }
        }
    }
}
