//! Every number the JS entry (`js/stint.js`) and the module share, defined once: signal
//! codes, what each number and string code reads from the page, storage keys and areas,
//! the `storage` option's values, the bits of `start`'s flags, `prop` kinds and `start`'s
//! answers, and the wire's event types and field names (`emit.rs`). [`js`] writes them as
//! the JS constants between the markers in `js/stint.js`
//! (`cargo xtask codes`); the test `js_entry_has_the_current_codes` fails when that block
//! is stale, so a code changed on one side only cannot ship.

use crate::config::{flags, StorageKind};
use crate::emit::Field;
use crate::host::{Area, Key, Num, Text};
use crate::tracker::Signal;
use crate::transport::MAX_PENDING;
use stint_shared::protocol::{EventKind, PROTOCOL_VERSION};
use stint_shared::signals::{Vital, DEAD_AFTER_MS};

/// Signals, by code, with the JS constant naming each.
pub const SIGNALS: [(Signal, &str); 12] = [
    (Signal::Visibility, "VISIBILITY"),
    (Signal::Focus, "FOCUS"),
    (Signal::Blur, "BLUR"),
    (Signal::Hide, "HIDE"),
    (Signal::Restore, "RESTORE"),
    (Signal::ScrollFrame, "SCROLL_FRAME"),
    (Signal::Navigation, "NAVIGATION"),
    (Signal::Tick, "TICK"),
    (Signal::Flush, "FLUSH"),
    (Signal::Grant, "GRANT"),
    (Signal::Change, "CHANGE"),
    (Signal::Settle, "SETTLE"),
];

/// `vital` codes: what a PerformanceObserver entry is, with the JS constant naming each.
pub const VITALS: [(Vital, &str); 6] = [
    (Vital::Ttfb, "TTFB"),
    (Vital::Fcp, "FCP"),
    (Vital::Lcp, "LCP"),
    (Vital::Load, "LOAD"),
    (Vital::Shift, "SHIFT"),
    (Vital::Interaction, "INTERACTION"),
];

/// Numbers, by code, with the JS expression that reads each.
pub const NUMS: [(Num, &str); 9] = [
    (Num::Mono, "performance.now()"),
    (Num::Wall, "Date.now()"),
    (Num::Width, "innerWidth"),
    (Num::ScrollY, "scrollY"),
    (Num::ViewportHeight, "innerHeight"),
    (Num::DocumentHeight, "document.documentElement.scrollHeight"),
    (Num::Visible, "document.visibilityState == \"visible\""),
    (Num::Focused, "document.hasFocus()"),
    (Num::Webdriver, "!!navigator.webdriver"),
];

/// Strings, by code, with the JS expression that reads each.
pub const TEXTS: [(Text, &str); 5] = [
    (Text::Href, "location.href"),
    (Text::Path, "location.pathname"),
    (Text::Hash, "location.hash"),
    (Text::Referrer, "document.referrer"),
    (Text::Title, "document.title"),
];

/// Storage keys, by code, with the key each is stored under.
pub const KEYS: [(Key, &str); 2] = [(Key::Session, "stint.sid"), (Key::Pending, "stint.queue")];

/// Storage areas, by code, with the JS expression of each.
pub const AREAS: [(Area, &str); 2] = [
    (Area::Local, "localStorage"),
    (Area::Session, "sessionStorage"),
];

/// The `storage` option's values, by code.
pub const STORAGE: [(StorageKind, &str); 3] = [
    (StorageKind::Local, "local"),
    (StorageKind::Session, "session"),
    (StorageKind::Memory, "memory"),
];

/// Bits of `start`'s `flags`, with the JS constant naming each.
pub const FLAGS: [(u32, &str); 7] = [
    (flags::CONSENT_PENDING, "CONSENT_PENDING"),
    (flags::HASH_ROUTING, "HASH_ROUTING"),
    (flags::RESPECT_DNT, "RESPECT_DNT"),
    (flags::RESPECT_GPC, "RESPECT_GPC"),
    (flags::DNT, "DNT"),
    (flags::GPC, "GPC"),
    (flags::OPTED_OUT, "OPTED_OUT"),
];

/// `prop` kinds (its `kind` argument).
pub const PROP_STRING: u32 = 0;
pub const PROP_NUMBER: u32 = 1;
pub const PROP_BOOL: u32 = 2;

/// What `start` answers.
pub const STARTED: u32 = 0;
/// Nothing may be sent (opt-out, DNT, GPC), or tracking had started already.
pub const NOT_TRACKING: u32 = 1;
/// A bad option; the message went to `fail`.
pub const BAD_OPTION: u32 = 2;

/// The first and last lines of the generated block in `js/stint.js`.
pub const BEGIN: &str =
    "// ---- codes shared with the module: written by `cargo xtask codes` from tracker-wasm/src/boundary.rs; do not edit ----";
pub const END: &str = "// ---- end of the shared codes ----";

fn constants<T>(list: &[(T, &str)], code: impl Fn(&T) -> u32) -> String {
    let parts: Vec<String> = list
        .iter()
        .map(|(v, name)| format!("{name} = {}", code(v)))
        .collect();
    format!("const {};\n", parts.join(", "))
}

fn array(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// The generated block, markers included.
pub fn js() -> String {
    let mut out = String::new();
    out.push_str(BEGIN);
    out.push('\n');
    out.push_str("// `Signal` (tracker.rs): wasm.on(code).\n");
    out.push_str(&constants(&SIGNALS, |s| *s as u32));
    out.push_str(
        "// `signals::Vital`: wasm.vital(code, value, extra); when SETTLE follows a click.\n",
    );
    out.push_str(&constants(&VITALS, |v| *v as u32));
    out.push_str(&format!("const DEAD_AFTER_MS = {DEAD_AFTER_MS};\n"));
    out.push_str("// `host::Num` and `host::Text`: what env.num(code) and env.text(code) read.\n");
    out.push_str(&format!(
        "const numbers = {};\n",
        array(NUMS.iter().map(|(_, js)| format!("() => {js}")))
    ));
    out.push_str(&format!(
        "const texts = {};\n",
        array(TEXTS.iter().map(|(_, js)| format!("() => {js}")))
    ));
    out.push_str("// `host::Key` and `host::Area`: storage keys and areas by code.\n");
    out.push_str(&format!(
        "const KEYS = {};\n",
        array(KEYS.iter().map(|(_, k)| format!("\"{k}\"")))
    ));
    out.push_str(&format!(
        "const areas = {};\n",
        array(AREAS.iter().map(|(_, js)| format!("() => {js}")))
    ));
    out.push_str("// `transport.rs`: batches kept for a retry, at most.\n");
    out.push_str(&format!("const MAX_PENDING = {MAX_PENDING};\n"));
    out.push_str("// `config::StorageKind`: the `storage` option's values by code.\n");
    out.push_str(&format!(
        "const STORAGE = {};\n",
        array(STORAGE.iter().map(|(_, v)| format!("\"{v}\"")))
    ));
    out.push_str("// `config::flags`: bits of start()'s flags.\n");
    out.push_str(&constants(&FLAGS, |bit| *bit));
    out.push_str("// `emit.rs`: the wire's version, event types and field names by code.\n");
    out.push_str(&format!("const VERSION = {PROTOCOL_VERSION};\n"));
    out.push_str(&format!(
        "const TYPES = {};\n",
        array(EventKind::TYPE_NAMES.iter().map(|t| format!("\"{t}\"")))
    ));
    out.push_str(&format!(
        "const FIELDS = {};\n",
        array(Field::NAMES.iter().map(|name| format!("\"{name}\"")))
    ));
    out.push_str("// prop() and field() value kinds, and what start() answers.\n");
    out.push_str(&format!(
        "const PROP_STRING = {PROP_STRING}, PROP_NUMBER = {PROP_NUMBER}, PROP_BOOL = {PROP_BOOL};\n"
    ));
    out.push_str(&format!(
        "const STARTED = {STARTED}, NOT_TRACKING = {NOT_TRACKING}, BAD_OPTION = {BAD_OPTION};\n"
    ));
    out.push_str(END);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails to compile when a variant is added and not listed above (the lists' lengths
    /// follow these counts).
    fn counts() -> [usize; 6] {
        let signal = |s: Signal| match s {
            Signal::Visibility
            | Signal::Focus
            | Signal::Blur
            | Signal::Hide
            | Signal::Restore
            | Signal::ScrollFrame
            | Signal::Navigation
            | Signal::Tick
            | Signal::Flush
            | Signal::Grant
            | Signal::Change
            | Signal::Settle => 12,
        };
        let vital = |v: Vital| match v {
            Vital::Ttfb
            | Vital::Fcp
            | Vital::Lcp
            | Vital::Load
            | Vital::Shift
            | Vital::Interaction => 6,
        };
        let num = |n: Num| match n {
            Num::Mono
            | Num::Wall
            | Num::Width
            | Num::ScrollY
            | Num::ViewportHeight
            | Num::DocumentHeight
            | Num::Visible
            | Num::Focused
            | Num::Webdriver => 9,
        };
        let text = |t: Text| match t {
            Text::Href | Text::Path | Text::Hash | Text::Referrer | Text::Title => 5,
        };
        let key = |k: Key| match k {
            Key::Session | Key::Pending => 2,
        };
        let storage = |s: StorageKind| match s {
            StorageKind::Local | StorageKind::Session | StorageKind::Memory => 3,
        };
        [
            signal(Signal::Grant),
            num(Num::Mono),
            text(Text::Href),
            key(Key::Session),
            storage(StorageKind::Memory),
            vital(Vital::Shift),
        ]
    }

    #[test]
    fn every_code_is_its_position_and_every_variant_is_listed() {
        assert_eq!(
            counts(),
            [
                SIGNALS.len(),
                NUMS.len(),
                TEXTS.len(),
                KEYS.len(),
                STORAGE.len(),
                VITALS.len()
            ]
        );
        for (i, (v, _)) in VITALS.iter().enumerate() {
            assert_eq!(Vital::from_code(i as u32), Some(*v));
        }
        for (i, (s, _)) in SIGNALS.iter().enumerate() {
            assert_eq!(Signal::from_code(i as u32), Some(*s));
        }
        assert_eq!(Signal::from_code(SIGNALS.len() as u32), None);
        for (i, (n, _)) in NUMS.iter().enumerate() {
            assert_eq!(*n as usize, i);
        }
        for (i, (t, _)) in TEXTS.iter().enumerate() {
            assert_eq!(*t as usize, i);
        }
        for (i, (k, _)) in KEYS.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
        for (i, (a, _)) in AREAS.iter().enumerate() {
            assert_eq!(*a as usize, i);
        }
        for (i, (s, _)) in STORAGE.iter().enumerate() {
            assert_eq!(StorageKind::from_code(i as u32), *s);
        }
        let mut bits = 0;
        for (bit, _) in FLAGS {
            assert_eq!(bit.count_ones(), 1);
            assert_eq!(bits & bit, 0, "each flag its own bit");
            bits |= bit;
        }
    }

    /// `STINT_WRITE_CODES=1` (what `cargo xtask codes` sets) rewrites the block instead.
    #[test]
    fn js_entry_has_the_current_codes() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/js/stint.js");
        let file = std::fs::read_to_string(path).expect("js/stint.js");
        let (Some(begin), Some(end)) = (file.find(BEGIN), file.find(END)) else {
            panic!("js/stint.js has no block between the markers of boundary.rs");
        };
        let current = &file[begin..end + END.len()];
        let wanted = js();
        if std::env::var_os("STINT_WRITE_CODES").is_some() {
            let updated = format!("{}{wanted}{}", &file[..begin], &file[end + END.len()..]);
            std::fs::write(path, updated).expect("write js/stint.js");
            return;
        }
        assert!(
            current == wanted,
            "js/stint.js's shared codes are stale: run `cargo xtask codes`\n--- in the file\n{current}\n--- from boundary.rs\n{wanted}"
        );
    }
}
