//! Enrichment at the edge: whatever User-Agent and referrer a client sends, the verdicts
//! are from the fixed vocabularies, and no part of the raw User-Agent beyond a family and a
//! version number can reach storage.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use stint_shared::classify::{channel, classify_user_agent};
use stint_shared::generated::crawlers::CRAWLERS;
use stint_shared::links::classify_link;

/// A family name: letters and spaces only (no part of the User-Agent's free text).
fn is_family(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic() || b == b' ')
}

/// A major version: at most four digits, or one of the Windows names.
fn is_version(s: &str) -> bool {
    (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
        || matches!(s, "8.1" | "Vista")
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    ua: &'a str,
    referrer_host: Option<&'a str>,
    referrer_app: Option<&'a str>,
    utm_source: Option<&'a str>,
    utm_medium: Option<&'a str>,
    page: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let Input {
        ua,
        referrer_host,
        referrer_app,
        utm_source,
        utm_medium,
        page,
    } = input;
    let info = classify_user_agent(ua);
    // Device, bot reason and channel are enums (`stint_shared::vocab`): their
    // vocabulary is the type. Names and families come from fixed tables.
    for family in [&info.os, &info.browser].into_iter().flatten() {
        assert!(is_family(family), "{family:?} from {ua:?}");
    }
    for version in [&info.os_version, &info.browser_version]
        .into_iter()
        .flatten()
    {
        assert!(is_version(version), "{version:?} from {ua:?}");
    }
    if let Some(name) = &info.bot_name {
        assert!(
            name == "HeadlessChrome"
                || name == "PhantomJS"
                || CRAWLERS.iter().any(|c| c.name == name),
            "{name:?} from {ua:?}"
        );
    }
    let ch = channel(referrer_host, referrer_app, utm_source, utm_medium);
    if referrer_host.is_none()
        && referrer_app.is_none()
        && utm_source.is_none()
        && utm_medium.is_none()
    {
        assert_eq!(ch, stint_shared::vocab::Channel::Direct);
    }
    // The tracker classifies clicked links with the same URL code.
    if let Some(kind) = classify_link(ua, page) {
        let _ = kind.outbound && kind.download;
    }
});
