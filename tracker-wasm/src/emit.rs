//! How an event leaves the module: as its wire type and one (field, value) pair per field
//! it carries (`EventKind::each_field` in `stint_shared::protocol`, the same walk the
//! collector's JSON writer makes), plus a custom event's props. The JS entry sets them on a
//! plain object and `JSON.stringify` turns the batch into text: the module keeps no JSON
//! writer of its own (the bench measured the batch's JSON encoding at 1.37 KB of the
//! gzipped module, the largest piece of byte work in it); what each event carries, and
//! when, is still decided here.
//!
//! The wire names (`EventKind::TYPE_NAMES`, `Field::NAMES`) are the JS entry's only
//! knowledge of the protocol: `boundary.rs` writes them into `js/stint.js`, and the native
//! tests build every batch from these pairs exactly as the JS entry does and read it with
//! the collector's decoder.

use stint_shared::protocol::EventKind;
pub use stint_shared::protocol::{Field, WireValue};

/// Calls `f` with each field `kind` carries and `prop` with each prop of a custom event.
pub fn fields<'a>(
    kind: &'a EventKind,
    f: impl FnMut(Field, WireValue<'a>),
    mut prop: impl FnMut(&'a str, WireValue<'a>),
) {
    kind.each_field(f);
    for (key, value) in kind.props().unwrap_or_default() {
        prop(key, value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_reads_each_wire_type_as_the_kind_of_its_code() {
        for (code, name) in EventKind::TYPE_NAMES.iter().enumerate() {
            let kind = stint_shared::protocol::decode_batch(
                format!(
                    r#"{{"v":1,"site":"s","sid":"4e5c5b4e-3b8a-4c53-9a55-2f0f3c4b1a77","seq":0,"events":[{}]}}"#,
                    sample(name)
                )
                .as_bytes(),
            )
            .map(|b| b.events[0].kind.clone())
            .unwrap_or_else(|e| panic!("{name}: {}", e.message()));
            assert_eq!(kind.code() as usize, code, "{name}");
        }
    }

    fn sample(name: &str) -> String {
        let fields = match name {
            "pageview" => r#""url":"https://a.example/""#,
            "engage" => r#""active_ms":1,"scroll":2"#,
            "click" => r#""href":"https://b.example/","outbound":true"#,
            "custom" => r#""name":"signup""#,
            "rage" | "dead" => r#""el":"button""#,
            "error" => r#""name":"TypeError""#,
            "form" => r#""form":"f","phase":"start""#,
            _ => r#""lcp":5"#,
        };
        format!(r#"{{"type":"{name}","ts":1,"page":0,{fields}}}"#)
    }
}
