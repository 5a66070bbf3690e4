//! The collector's first line: any bytes a client sends to `POST /collect` are either a
//! valid batch or an error that names a field. Never a panic, and what is accepted is
//! within the contract's limits and survives the tracker's encoder unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stint_shared::protocol::{
    decode_batch, is_uuid_v4, is_valid_site_id, DecodeError, EventKind, PropValue, MAX_BODY_BYTES,
    MAX_CLS, MAX_CUSTOM_NAME_CHARS, MAX_ELEMENT_CHARS, MAX_EVENTS_PER_BATCH,
    MAX_PAGEVIEWS_PER_SESSION, MAX_PERF_MS, MAX_PROPS, MAX_PROP_NUMBER, MAX_SIGNAL_NAME_CHARS,
    MAX_TITLE_CHARS, MAX_URL_CHARS,
};
use stint_shared::weburl::parse_http;

fuzz_target!(|body: &[u8]| {
    let batch = match decode_batch(body) {
        Ok(batch) => batch,
        Err(DecodeError::TooLarge { bytes }) => {
            assert!(bytes > MAX_BODY_BYTES && body.len() > MAX_BODY_BYTES);
            return;
        }
        Err(err @ DecodeError::Invalid { .. }) => {
            let DecodeError::Invalid { field, problem } = &err else {
                unreachable!()
            };
            assert!(!field.is_empty() && !problem.is_empty());
            assert!(err.message().starts_with(&format!("{field}: ")));
            return;
        }
    };
    assert!(is_valid_site_id(&batch.site));
    assert!(is_uuid_v4(&batch.sid));
    assert!((1..=MAX_EVENTS_PER_BATCH).contains(&batch.events.len()));
    for event in &batch.events {
        assert!(event.page < MAX_PAGEVIEWS_PER_SESSION);
        assert!((0..=1i64 << 53).contains(&event.ts));
        match &event.kind {
            EventKind::Pageview { url, title, .. } => {
                assert!(url.chars().count() <= MAX_URL_CHARS && parse_http(url).is_some());
                assert!(title
                    .as_ref()
                    .is_none_or(|t| t.chars().count() <= MAX_TITLE_CHARS));
            }
            EventKind::Engage { scroll, .. } => assert!(*scroll <= 100),
            EventKind::Click { href, .. } => assert!(href.chars().count() <= MAX_URL_CHARS),
            EventKind::Custom { name, props } => {
                assert!(!name.is_empty() && name.chars().count() <= MAX_CUSTOM_NAME_CHARS);
                assert!(props.len() <= MAX_PROPS);
                for (_, value) in props {
                    if let PropValue::Num(n) = value {
                        assert!(n.abs() <= MAX_PROP_NUMBER);
                    }
                }
            }
            EventKind::Rage(e) | EventKind::Dead(e) => {
                assert!(!e.el.is_empty() && e.el.chars().count() <= MAX_ELEMENT_CHARS);
                assert!(e
                    .name
                    .as_ref()
                    .is_none_or(|n| !n.is_empty() && n.chars().count() <= MAX_SIGNAL_NAME_CHARS));
            }
            EventKind::Error { name, src, .. } => {
                assert!(!name.is_empty() && name.chars().count() <= MAX_SIGNAL_NAME_CHARS);
                assert!(src
                    .as_ref()
                    .is_none_or(|s| s.chars().count() <= MAX_URL_CHARS));
            }
            EventKind::Form { form, .. } => {
                assert!(!form.is_empty() && form.chars().count() <= MAX_SIGNAL_NAME_CHARS)
            }
            EventKind::Perf(v) => {
                assert!(!v.is_empty());
                assert!(v.cls.is_none_or(|c| (0.0..=MAX_CLS).contains(&c)));
                assert!(v
                    .times()
                    .iter()
                    .all(|(_, t)| t.is_none_or(|t| i64::from(t) <= MAX_PERF_MS)));
            }
        }
    }
    // The tracker's encoder writes what the collector reads: an accepted batch re-encodes to
    // a body that decodes again, and encoding is stable after one pass (numeric props are
    // rounded to six decimals on the first).
    let once = batch.to_json();
    let again = decode_batch(once.as_bytes())
        .unwrap_or_else(|e| panic!("re-encoded batch refused: {}\n{once}", e.message()));
    assert_eq!(
        again.to_json(),
        decode_batch(again.to_json().as_bytes()).unwrap().to_json()
    );
    assert_eq!(
        (&again.site, &again.sid, again.seq),
        (&batch.site, &batch.sid, batch.seq)
    );
    assert_eq!(again.events.len(), batch.events.len());
});
