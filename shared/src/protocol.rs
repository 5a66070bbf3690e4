//! Wire protocol v1: the batch a tracker sends to `POST /collect`.
//!
//! One type per concept, with the contract's limits as constants. Encoding (the tracker's
//! side) is always available and uses [`JsonWriter`]; decoding and validation (the
//! collector's side) need the `serde` feature. Decoding is written by hand over
//! `serde_json::Value` rather than derived, so that every rejection names the exact field
//! (`events[3].ts`) and says what was wrong with it — the message a site owner sees when
//! their integration is off.

use crate::json::JsonWriter;
use crate::text::char_count;

pub const PROTOCOL_VERSION: i64 = 1;
/// Largest body `POST /collect` accepts.
pub const MAX_BODY_BYTES: usize = 32 * 1024;
pub const MAX_EVENTS_PER_BATCH: usize = 100;
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_TITLE_CHARS: usize = 256;
pub const MAX_CUSTOM_NAME_CHARS: usize = 64;
pub const MAX_PROPS: usize = 20;
/// Extension to SPEC: prop keys and string values are bounded too.
pub const MAX_PROP_KEY_CHARS: usize = 64;
pub const MAX_PROP_VALUE_CHARS: usize = 256;
/// Extension to SPEC: numeric prop values lie within ±10^15. Beyond that a number is no longer
/// an exact integer for JavaScript and JSON readers, the wire's six decimals mean nothing, and
/// the encoder would need an exponent form that does not survive a decode unchanged.
pub const MAX_PROP_NUMBER: f64 = 1e15;
pub const MAX_SITE_CHARS: usize = 64;
pub const MAX_EVENTS_PER_SESSION: u32 = 10_000;
pub const MAX_PAGEVIEWS_PER_SESSION: u32 = 500;
/// An engagement delta can never exceed a day: nothing flushes that rarely.
pub const MAX_ACTIVE_MS_DELTA: i64 = 24 * 60 * 60 * 1000;
/// Extension to SPEC: how a `rage` / `dead` click names its element (`el`: tag, `#id`,
/// `.class`) and the element's `data-stint-name`, and how long a form's or an error type's
/// name may be.
pub const MAX_ELEMENT_CHARS: usize = 160;
pub const MAX_SIGNAL_NAME_CHARS: usize = 64;
/// SPEC: at most this many `error` events per page (the tracker stops sending; the
/// collector counts no more).
pub const MAX_ERRORS_PER_PAGE: u32 = 10;
/// Extension to SPEC: a page speed time is at most 10 minutes, a layout shift score at
/// most 100.
pub const MAX_PERF_MS: i64 = 600_000;
pub const MAX_CLS: f64 = 100.0;

/// One beacon: a numbered batch of events from one session of one site.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "collector", derive(serde::Serialize, serde::Deserialize))]
pub struct Batch {
    pub site: String,
    /// Session ID, a lowercase UUID v4.
    pub sid: String,
    /// Batch number within the session, from 0. `(sid, seq)` identifies a retry.
    pub seq: u32,
    /// Extension to SPEC (optional `"wd": true`): the page reported `navigator.webdriver`.
    pub webdriver: bool,
    /// 1..=100 events.
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "collector", derive(serde::Serialize, serde::Deserialize))]
pub struct Event {
    /// Client clock, Unix milliseconds. Used for ordering only; see `time::clamp_client_ts`.
    pub ts: i64,
    /// Index of the page view within the session this event belongs to.
    pub page: u32,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "collector", derive(serde::Serialize, serde::Deserialize))]
pub enum EventKind {
    Pageview {
        url: String,
        referrer: Option<String>,
        title: Option<String>,
        /// Viewport width in CSS pixels.
        width: Option<u32>,
    },
    Engage {
        /// Engaged milliseconds since the previous `engage` of this page (a delta).
        active_ms: u32,
        /// Deepest scroll so far on this page, 0–100 (merged by max).
        scroll: u8,
    },
    Click {
        href: String,
        outbound: bool,
        /// Extension to SPEC (optional `"download": true`): the link is a file download.
        download: bool,
    },
    Custom {
        name: String,
        props: Vec<(String, PropValue)>,
    },
    /// Three or more clicks on one element within a second (one event per burst).
    Rage(Element),
    /// A click on a button-like element after which nothing changed within a second.
    Dead(Element),
    /// An uncaught error or unhandled rejection: its type only, never its message.
    Error {
        /// `TypeError`, `UnhandledRejection`, …
        name: String,
        /// The script's URL (scrubbed like every URL before it is stored).
        src: Option<String>,
        line: Option<u32>,
    },
    /// A form's first input (`submit: false`) or its submission.
    Form { form: String, submit: bool },
    /// Page speed (SPEC "Friction and speed signals"): the first page of a load has TTFB,
    /// FCP, LCP and load; every page INP and CLS over its life so far (merged by max).
    Perf(Vitals),
}

/// The element a rage or dead click was on: `tag#id.class` (id and first class when it has
/// them) and its `data-stint-name`. Never its text.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "collector", derive(serde::Serialize, serde::Deserialize))]
pub struct Element {
    pub el: String,
    pub name: Option<String>,
}

impl Element {
    /// What reports call the element: its `data-stint-name`, else `tag#id.class`.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.el)
    }
}

/// Page speed figures in milliseconds (CLS a unitless score); each optional.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "collector", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "collector", serde(default))]
pub struct Vitals {
    #[cfg_attr(feature = "collector", serde(skip_serializing_if = "Option::is_none"))]
    pub ttfb: Option<u32>,
    #[cfg_attr(feature = "collector", serde(skip_serializing_if = "Option::is_none"))]
    pub fcp: Option<u32>,
    #[cfg_attr(feature = "collector", serde(skip_serializing_if = "Option::is_none"))]
    pub lcp: Option<u32>,
    #[cfg_attr(feature = "collector", serde(skip_serializing_if = "Option::is_none"))]
    pub load: Option<u32>,
    #[cfg_attr(feature = "collector", serde(skip_serializing_if = "Option::is_none"))]
    pub inp: Option<u32>,
    #[cfg_attr(feature = "collector", serde(skip_serializing_if = "Option::is_none"))]
    pub cls: Option<f64>,
}

impl Vitals {
    /// The millisecond figures by their wire names.
    pub fn times(&self) -> [(&'static str, Option<u32>); 5] {
        [
            ("ttfb", self.ttfb),
            ("fcp", self.fcp),
            ("lcp", self.lcp),
            ("load", self.load),
            ("inp", self.inp),
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.times().iter().all(|(_, v)| v.is_none()) && self.cls.is_none()
    }

    /// Each figure the larger of the two (what a page's later reports replace).
    pub fn merge_max(&mut self, other: &Vitals) {
        let max = |a: Option<u32>, b: Option<u32>| a.max(b);
        self.ttfb = max(self.ttfb, other.ttfb);
        self.fcp = max(self.fcp, other.fcp);
        self.lcp = max(self.lcp, other.lcp);
        self.load = max(self.load, other.load);
        self.inp = max(self.inp, other.inp);
        self.cls = match (self.cls, other.cls) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "collector", derive(serde::Serialize, serde::Deserialize))]
pub enum PropValue {
    Str(String),
    /// Kept to six decimals on the wire (see `JsonWriter::float`).
    Num(f64),
    Bool(bool),
}

impl EventKind {
    /// Wire types, by [`EventKind::code`].
    pub const TYPE_NAMES: [&'static str; 9] = [
        "pageview", "engage", "click", "custom", "rage", "dead", "error", "form", "perf",
    ];

    /// The event's type as a number (its index in [`EventKind::TYPE_NAMES`]).
    pub fn code(&self) -> u32 {
        match self {
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

    pub fn type_name(&self) -> &'static str {
        EventKind::TYPE_NAMES[self.code() as usize]
    }
}

impl Batch {
    /// The body the tracker sends.
    pub fn to_json(&self) -> String {
        let mut w = JsonWriter::new();
        w.begin_object();
        w.field_int("v", PROTOCOL_VERSION);
        w.field_str("site", &self.site);
        w.field_str("sid", &self.sid);
        w.field_int("seq", i64::from(self.seq));
        if self.webdriver {
            w.field_bool("wd", true);
        }
        w.key("events");
        w.begin_array();
        for event in &self.events {
            event.write_json(&mut w);
        }
        w.end_array();
        w.end_object();
        w.finish()
    }
}

/// A field's value as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WireValue<'a> {
    Str(&'a str),
    /// A whole number (milliseconds, pixels, percent, a line).
    Int(i64),
    /// Any number (CLS, a prop).
    Num(f64),
    Bool(bool),
}

impl<'a> From<&'a PropValue> for WireValue<'a> {
    fn from(v: &'a PropValue) -> WireValue<'a> {
        match v {
            PropValue::Str(s) => WireValue::Str(s),
            PropValue::Num(n) => WireValue::Num(*n),
            PropValue::Bool(b) => WireValue::Bool(*b),
        }
    }
}

/// Every field an event may carry besides `type`, `ts`, `page` and a custom event's
/// `props`, by code; [`Field::name`] is its wire name.
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

impl Field {
    /// Wire names, by code.
    pub const NAMES: [&'static str; 21] = [
        "url",
        "ref",
        "title",
        "w",
        "active_ms",
        "scroll",
        "href",
        "outbound",
        "download",
        "name",
        "el",
        "src",
        "line",
        "form",
        "phase",
        "ttfb",
        "fcp",
        "lcp",
        "load",
        "inp",
        "cls",
    ];

    pub fn name(self) -> &'static str {
        Field::NAMES[self as usize]
    }
}

impl EventKind {
    /// Calls `f` with each field the event carries, in wire order; absent optional fields
    /// are left out, as the wire leaves them out. The one reading of an event's wire shape:
    /// the JSON writer below and the tracker's hand-over to the page both walk it.
    pub fn each_field<'a>(&'a self, mut f: impl FnMut(Field, WireValue<'a>)) {
        use WireValue::{Bool, Int, Num, Str};
        match self {
            EventKind::Pageview {
                url,
                referrer,
                title,
                width,
            } => {
                f(Field::Url, Str(url));
                if let Some(s) = referrer {
                    f(Field::Ref, Str(s));
                }
                if let Some(s) = title {
                    f(Field::Title, Str(s));
                }
                if let Some(px) = width {
                    f(Field::W, Int(i64::from(*px)));
                }
            }
            EventKind::Engage { active_ms, scroll } => {
                f(Field::ActiveMs, Int(i64::from(*active_ms)));
                f(Field::Scroll, Int(i64::from(*scroll)));
            }
            EventKind::Click {
                href,
                outbound,
                download,
            } => {
                f(Field::Href, Str(href));
                f(Field::Outbound, Bool(*outbound));
                if *download {
                    f(Field::Download, Bool(true));
                }
            }
            EventKind::Custom { name, .. } => f(Field::Name, Str(name)),
            EventKind::Rage(e) | EventKind::Dead(e) => {
                f(Field::El, Str(&e.el));
                if let Some(s) = &e.name {
                    f(Field::Name, Str(s));
                }
            }
            EventKind::Error { name, src, line } => {
                f(Field::Name, Str(name));
                if let Some(s) = src {
                    f(Field::Src, Str(s));
                }
                if let Some(line) = line {
                    f(Field::Line, Int(i64::from(*line)));
                }
            }
            EventKind::Form { form, submit } => {
                f(Field::Form, Str(form));
                f(Field::Phase, Str(if *submit { "submit" } else { "start" }));
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
                        f(field, Int(i64::from(ms)));
                    }
                }
                if let Some(cls) = v.cls {
                    f(Field::Cls, Num(cls));
                }
            }
        }
    }

    /// A custom event's props (empty ones included); `None` for other events.
    pub fn props(&self) -> Option<&[(String, PropValue)]> {
        match self {
            EventKind::Custom { props, .. } => Some(props),
            _ => None,
        }
    }
}

fn write_value(w: &mut JsonWriter, v: WireValue) {
    match v {
        WireValue::Str(s) => w.string(s),
        WireValue::Int(n) => w.int(n),
        WireValue::Num(n) => w.float(n),
        WireValue::Bool(b) => w.bool(b),
    }
}

impl Event {
    /// Writes the event as one JSON object in wire form.
    pub fn write_json(&self, w: &mut JsonWriter) {
        w.begin_object();
        w.field_str("type", self.kind.type_name());
        w.field_int("ts", self.ts);
        w.field_int("page", i64::from(self.page));
        self.kind.each_field(|field, v| {
            w.key(field.name());
            write_value(w, v);
        });
        if let Some(props) = self.kind.props() {
            w.key("props");
            w.begin_object();
            for (k, v) in props {
                w.key(k);
                write_value(w, v.into());
            }
            w.end_object();
        }
        w.end_object();
    }
}

/// Why a body was refused. Maps one-to-one onto the collector's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Body over [`MAX_BODY_BYTES`]: `413`.
    TooLarge { bytes: usize },
    /// Malformed or out of schema: `400`, the message names the field.
    Invalid { field: String, problem: String },
}

impl DecodeError {
    #[cfg(feature = "collector")]
    fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        DecodeError::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The sentence sent back in `{"error": …}`.
    pub fn message(&self) -> String {
        match self {
            DecodeError::TooLarge { bytes } => {
                format!("body: {bytes} bytes is over the limit of {MAX_BODY_BYTES} bytes")
            }
            DecodeError::Invalid { field, problem } => format!("{field}: {problem}"),
        }
    }
}

/// Checks a custom event against the contract's limits, as the tracker does in the page
/// before queueing it. The message names the offending part.
pub fn check_custom(name: &str, props: &[(String, PropValue)]) -> Result<(), &'static str> {
    let name_chars = char_count(name);
    if name_chars == 0 || name_chars > MAX_CUSTOM_NAME_CHARS {
        return Err("name: must be 1 to 64 characters");
    }
    if props.len() > MAX_PROPS {
        return Err("props: at most 20 props");
    }
    for (key, value) in props {
        let key_chars = char_count(key);
        if key_chars == 0 || key_chars > MAX_PROP_KEY_CHARS {
            return Err("props: names must be 1 to 64 characters");
        }
        match value {
            PropValue::Str(s) if char_count(s) > MAX_PROP_VALUE_CHARS => {
                return Err("props: string values must be at most 256 characters")
            }
            PropValue::Num(n) if !n.is_finite() || n.abs() > MAX_PROP_NUMBER => {
                return Err("props: numbers must be finite and within ±1e15")
            }
            _ => {}
        }
    }
    Ok(())
}

/// Whether a `Content-Type` header value is one `POST /collect` accepts (its essence is
/// `text/plain` or `application/json`, any parameters such as `charset` aside).
pub fn is_accepted_content_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("text/plain") || essence.eq_ignore_ascii_case("application/json")
}

/// A lowercase UUID v4 (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`).
pub fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => c == b'-',
            14 => c == b'4',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Site IDs are short and URL-safe: they appear in object names and query strings.
pub fn is_valid_site_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SITE_CHARS
        && s.bytes().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'_')
        })
}

#[cfg(feature = "collector")]
pub use decode::decode_batch;

#[cfg(feature = "collector")]
mod decode {
    use super::*;
    use serde_json::{Map, Value};

    /// Parses and validates a beacon body. Never panics, whatever the bytes.
    pub fn decode_batch(body: &[u8]) -> Result<Batch, DecodeError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(DecodeError::TooLarge { bytes: body.len() });
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            let kind = if e.is_eof() {
                "ends early"
            } else {
                "is not valid JSON"
            };
            DecodeError::invalid(
                "body",
                format!("{kind} (line {}, column {})", e.line(), e.column()),
            )
        })?;
        let obj = value
            .as_object()
            .ok_or_else(|| DecodeError::invalid("body", "must be a JSON object"))?;

        let v = int(obj, "v", "v")?;
        if v != PROTOCOL_VERSION {
            return Err(DecodeError::invalid(
                "v",
                "unsupported protocol version, expected 1",
            ));
        }
        let site = string(obj, "site", "site", MAX_SITE_CHARS)?;
        if !is_valid_site_id(&site) {
            return Err(DecodeError::invalid(
                "site",
                "must be lowercase letters, digits, '.', '-' or '_'",
            ));
        }
        let sid = string(obj, "sid", "sid", 36)?;
        if !is_uuid_v4(&sid) {
            return Err(DecodeError::invalid("sid", "must be a lowercase UUID v4"));
        }
        let seq = bounded(obj, "seq", "seq", 0, i64::from(u32::MAX))? as u32;
        let webdriver = opt_bool(obj, "wd", "wd")?.unwrap_or(false);
        let events = match obj.get("events") {
            Some(Value::Array(items)) => items,
            Some(_) => return Err(DecodeError::invalid("events", "must be an array")),
            None => return Err(DecodeError::invalid("events", "is missing")),
        };
        if events.is_empty() || events.len() > MAX_EVENTS_PER_BATCH {
            return Err(DecodeError::invalid(
                "events",
                format!(
                    "must hold 1 to {MAX_EVENTS_PER_BATCH} events, got {}",
                    events.len()
                ),
            ));
        }
        let events = events
            .iter()
            .enumerate()
            .map(|(i, e)| decode_event(e, &format!("events[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Batch {
            site,
            sid,
            seq,
            webdriver,
            events,
        })
    }

    fn decode_event(value: &Value, path: &str) -> Result<Event, DecodeError> {
        let obj = value
            .as_object()
            .ok_or_else(|| DecodeError::invalid(path, "must be an object"))?;
        let field = |name: &str| format!("{path}.{name}");
        let type_name = string(obj, "type", &field("type"), 16)?;
        let ts = bounded(obj, "ts", &field("ts"), 0, 1 << 53)?;
        let page = bounded(
            obj,
            "page",
            &field("page"),
            0,
            i64::from(MAX_PAGEVIEWS_PER_SESSION) - 1,
        )? as u32;
        let kind =
            match type_name.as_str() {
                "pageview" => EventKind::Pageview {
                    url: http_url(obj, "url", &field("url"))?,
                    referrer: opt_string(obj, "ref", &field("ref"), MAX_URL_CHARS)?
                        .filter(|r| !r.is_empty()),
                    title: opt_string(obj, "title", &field("title"), MAX_TITLE_CHARS)?,
                    width: match obj.get("w") {
                        None | Some(Value::Null) => None,
                        Some(_) => Some(bounded(obj, "w", &field("w"), 0, 100_000)? as u32),
                    },
                },
                "engage" => EventKind::Engage {
                    active_ms: bounded(
                        obj,
                        "active_ms",
                        &field("active_ms"),
                        0,
                        MAX_ACTIVE_MS_DELTA,
                    )? as u32,
                    scroll: bounded(obj, "scroll", &field("scroll"), 0, 100)? as u8,
                },
                "click" => EventKind::Click {
                    href: string(obj, "href", &field("href"), MAX_URL_CHARS)?,
                    outbound: opt_bool(obj, "outbound", &field("outbound"))?.unwrap_or(false),
                    download: opt_bool(obj, "download", &field("download"))?.unwrap_or(false),
                },
                "custom" => {
                    let name = string(obj, "name", &field("name"), MAX_CUSTOM_NAME_CHARS)?;
                    if name.is_empty() {
                        return Err(DecodeError::invalid(field("name"), "must not be empty"));
                    }
                    EventKind::Custom {
                        name,
                        props: props(obj, &field("props"))?,
                    }
                }
                "rage" => EventKind::Rage(element(obj, path)?),
                "dead" => EventKind::Dead(element(obj, path)?),
                "error" => EventKind::Error {
                    name: name(obj, &field("name"))?,
                    src: opt_string(obj, "src", &field("src"), MAX_URL_CHARS)?
                        .filter(|s| !s.is_empty()),
                    line: match obj.get("line") {
                        None | Some(Value::Null) => None,
                        Some(_) => Some(bounded(obj, "line", &field("line"), 0, 1 << 31)? as u32),
                    },
                },
                "form" => {
                    let form = string(obj, "form", &field("form"), MAX_SIGNAL_NAME_CHARS)?;
                    if form.is_empty() {
                        return Err(DecodeError::invalid(field("form"), "must not be empty"));
                    }
                    let submit = match obj.get("phase").and_then(Value::as_str) {
                        Some("start") => false,
                        Some("submit") => true,
                        _ => {
                            return Err(DecodeError::invalid(
                                field("phase"),
                                "must be \"start\" or \"submit\"",
                            ))
                        }
                    };
                    EventKind::Form { form, submit }
                }
                "perf" => EventKind::Perf(vitals(obj, path)?),
                _ => return Err(DecodeError::invalid(
                    field("type"),
                    "must be one of pageview, engage, click, custom, rage, dead, error, form, perf",
                )),
            };
        Ok(Event { ts, page, kind })
    }

    /// A required, non-empty name of at most [`MAX_SIGNAL_NAME_CHARS`].
    fn name(obj: &Map<String, Value>, path: &str) -> Result<String, DecodeError> {
        let name = string(obj, "name", path, MAX_SIGNAL_NAME_CHARS)?;
        if name.is_empty() {
            return Err(DecodeError::invalid(path, "must not be empty"));
        }
        Ok(name)
    }

    fn element(obj: &Map<String, Value>, path: &str) -> Result<Element, DecodeError> {
        let el = string(obj, "el", &format!("{path}.el"), MAX_ELEMENT_CHARS)?;
        if !el.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(DecodeError::invalid(
                format!("{path}.el"),
                "must start with the element's tag name",
            ));
        }
        let name = opt_string(obj, "name", &format!("{path}.name"), MAX_SIGNAL_NAME_CHARS)?
            .filter(|n| !n.is_empty());
        Ok(Element { el, name })
    }

    fn vitals(obj: &Map<String, Value>, path: &str) -> Result<Vitals, DecodeError> {
        let ms = |key: &str| -> Result<Option<u32>, DecodeError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(_) => Ok(Some(
                    bounded(obj, key, &format!("{path}.{key}"), 0, MAX_PERF_MS)? as u32,
                )),
            }
        };
        let cls = match obj.get("cls") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if (0.0..=MAX_CLS).contains(&f) => Some(f),
                _ => {
                    return Err(DecodeError::invalid(
                        format!("{path}.cls"),
                        format!("must be a number between 0 and {MAX_CLS}"),
                    ))
                }
            },
            Some(_) => {
                return Err(DecodeError::invalid(
                    format!("{path}.cls"),
                    "must be a number",
                ))
            }
        };
        let v = Vitals {
            ttfb: ms("ttfb")?,
            fcp: ms("fcp")?,
            lcp: ms("lcp")?,
            load: ms("load")?,
            inp: ms("inp")?,
            cls,
        };
        if v.is_empty() {
            return Err(DecodeError::invalid(
                path,
                "a perf event needs at least one of ttfb, fcp, lcp, load, inp, cls",
            ));
        }
        Ok(v)
    }

    fn props(
        obj: &Map<String, Value>,
        path: &str,
    ) -> Result<Vec<(String, PropValue)>, DecodeError> {
        let map = match obj.get("props") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(DecodeError::invalid(path, "must be an object")),
        };
        if map.len() > MAX_PROPS {
            return Err(DecodeError::invalid(
                path,
                format!("at most {MAX_PROPS} props, got {}", map.len()),
            ));
        }
        let mut out = Vec::with_capacity(map.len());
        for (key, value) in map {
            let at = format!("{path}.{key}");
            if key.is_empty() || key.chars().count() > MAX_PROP_KEY_CHARS {
                return Err(DecodeError::invalid(
                    path,
                    format!("prop names must be 1 to {MAX_PROP_KEY_CHARS} characters"),
                ));
            }
            let value = match value {
                Value::String(s) if s.chars().count() <= MAX_PROP_VALUE_CHARS => {
                    PropValue::Str(s.clone())
                }
                Value::String(_) => {
                    return Err(DecodeError::invalid(
                        at,
                        format!("longer than {MAX_PROP_VALUE_CHARS} characters"),
                    ))
                }
                Value::Bool(b) => PropValue::Bool(*b),
                Value::Number(n) => match n.as_f64() {
                    Some(f) if f.abs() <= MAX_PROP_NUMBER => PropValue::Num(f),
                    _ => {
                        return Err(DecodeError::invalid(
                            at,
                            "must be a finite number within ±1e15",
                        ))
                    }
                },
                _ => {
                    return Err(DecodeError::invalid(
                        at,
                        "must be a string, number or boolean",
                    ))
                }
            };
            out.push((key.clone(), value));
        }
        Ok(out)
    }

    fn int(obj: &Map<String, Value>, key: &str, path: &str) -> Result<i64, DecodeError> {
        match obj.get(key) {
            None => Err(DecodeError::invalid(path, "is missing")),
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| DecodeError::invalid(path, "must be an integer")),
            Some(_) => Err(DecodeError::invalid(path, "must be an integer")),
        }
    }

    fn bounded(
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        min: i64,
        max: i64,
    ) -> Result<i64, DecodeError> {
        let n = int(obj, key, path)?;
        if n < min || n > max {
            return Err(DecodeError::invalid(
                path,
                format!("must be between {min} and {max}"),
            ));
        }
        Ok(n)
    }

    fn string(
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        max_chars: usize,
    ) -> Result<String, DecodeError> {
        opt_string(obj, key, path, max_chars)?
            .ok_or_else(|| DecodeError::invalid(path, "is missing"))
    }

    fn opt_string(
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
        max_chars: usize,
    ) -> Result<Option<String>, DecodeError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= max_chars => Ok(Some(s.clone())),
            Some(Value::String(_)) => Err(DecodeError::invalid(
                path,
                format!("longer than {max_chars} characters"),
            )),
            Some(_) => Err(DecodeError::invalid(path, "must be a string")),
        }
    }

    fn opt_bool(
        obj: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Result<Option<bool>, DecodeError> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(DecodeError::invalid(path, "must be true or false")),
        }
    }

    fn http_url(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, DecodeError> {
        let url = string(obj, key, path, MAX_URL_CHARS)?;
        if crate::weburl::parse_http(&url).is_none() {
            return Err(DecodeError::invalid(
                path,
                "must be an absolute http(s) URL",
            ));
        }
        Ok(url)
    }
}
