//! The read API's query parameters (`/api/sessions`, `/api/stats`, filters): anything is a
//! value or an error naming the parameter, an accepted range touches at most 13 months (the
//! reads' subrequest bound), and an accepted filter set writes back to the same parameters
//! (an `i64::MIN` cursor once crashed the worker).
#![no_main]

use libfuzzer_sys::fuzz_target;
use stint_shared::listing::{
    decode_cursor, encode_cursor, ListParams, MAX_LIMIT, MAX_RANGE_MS, MAX_TIME_MS,
};

const NAMES: [&str; 18] = [
    "site",
    "from",
    "to",
    "limit",
    "bots",
    "cursor",
    "channel",
    "country",
    "device",
    "page",
    "goal",
    "goal!",
    "country!",
    "referrer~",
    "session",
    "entry",
    "prop:plan",
    "event~",
];

fuzz_target!(|input: (Vec<(u8, String)>, i64, i64, String)| {
    let (pairs, now, cursor_time, cursor_id) = input;
    // The collector's own clock is always a sane time.
    let now = now.rem_euclid(MAX_TIME_MS);
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (NAMES[usize::from(*k) % NAMES.len()], v.as_str()))
        .collect();
    match ListParams::parse(pairs.iter().copied(), now) {
        Ok(p) => {
            assert!(0 <= p.from && p.from < p.to && p.to <= MAX_TIME_MS);
            assert!(p.to - p.from <= MAX_RANGE_MS);
            assert!((1..=MAX_LIMIT).contains(&p.limit));
            let days =
                stint_shared::time::utc_day(p.to - 1) - stint_shared::time::utc_day(p.from) + 1;
            assert!(days <= 368, "{days} days");
            let months = stint_shared::shard::months_of_range(p.from, p.to).len();
            assert!(months <= 13, "{months} months");
            let again: Vec<(String, String)> = p.filters.to_pairs();
            let mut back = stint_shared::query::Filters::default();
            for (k, v) in &again {
                assert_eq!(back.parse_pair(k, v), Ok(true), "{k}={v}");
            }
            assert_eq!(back, p.filters);
        }
        Err(e) => {
            let (name, problem) = e.0.split_once(": ").expect("`name: problem`");
            assert!(NAMES.contains(&name) && !problem.is_empty(), "{}", e.0);
        }
    }
    let cursor = encode_cursor(cursor_time, &cursor_id);
    if let Some((t, id)) = decode_cursor(&cursor) {
        assert_eq!((t, id.as_str()), (cursor_time, cursor_id.as_str()));
    }
});
