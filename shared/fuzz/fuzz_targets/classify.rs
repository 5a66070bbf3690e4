//! Enrichment at the edge: whatever User-Agent and referrer a client sends, the verdicts
//! are from the fixed vocabularies, and no part of the raw User-Agent beyond a family and a
//! version number can reach storage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stint_shared::classify::{bot_reason, channel, classify_user_agent};
use stint_shared::links::classify_link;

const REASONS: [&str; 4] = [
    bot_reason::UA_LIST,
    bot_reason::HEADLESS,
    bot_reason::WEBDRIVER,
    bot_reason::EMPTY_UA,
];

/// A family name followed by an optional major version: letters and spaces, then digits.
fn is_family_and_major(s: &str) -> bool {
    let (family, major) = match s.rsplit_once(' ') {
        Some((f, m)) if m.bytes().all(|b| b.is_ascii_digit()) => (f, m),
        _ => (s, ""),
    };
    !family.is_empty()
        && family.bytes().all(|b| b.is_ascii_alphabetic() || b == b' ')
        && major.len() <= 4
}

fuzz_target!(
    |input: (&str, Option<&str>, Option<&str>, Option<&str>, &str)| {
        let (ua, referrer_host, utm_source, utm_medium, page) = input;
        let info = classify_user_agent(ua);
        // Device and channel are enums (`stint_shared::vocab`): their vocabulary is the type.
        assert!(info.bot.is_none_or(|b| REASONS.contains(&b)));
        for derived in [&info.os, &info.browser].into_iter().flatten() {
            assert!(is_family_and_major(derived), "{derived:?} from {ua:?}");
        }
        let ch = channel(referrer_host, utm_source, utm_medium);
        if referrer_host.is_none() && utm_source.is_none() && utm_medium.is_none() {
            assert_eq!(ch, stint_shared::vocab::Channel::Direct);
        }
        // The tracker classifies clicked links with the same URL code.
        if let Some(kind) = classify_link(ua, page) {
            let _ = kind.outbound && kind.download;
        }
    }
);
