//! The tracker scrubs every URL it sends (the collector scrubs again, by the URL Standard).
//! Whatever the input: no fragment, no userinfo
//! and no query parameter outside `utm_*` and the kept list survive; scrubbing twice
//! changes nothing; the host survives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stint_shared::url::{host_of, is_kept_param, scrub_url, split_url};

fuzz_target!(|input: (&str, Vec<String>)| {
    let (url, keep) = input;
    let Some(scrubbed) = scrub_url(url, &keep) else {
        assert!(split_url(url).is_none());
        return;
    };
    let parts = split_url(&scrubbed).expect("a scrubbed URL is an http(s) URL");
    assert!(!scrubbed.contains('#'), "{scrubbed:?} keeps a fragment");
    assert!(!parts.host.contains('@'), "{scrubbed:?} keeps userinfo");
    // A backslash ends the authority as the URL Standard reads http(s) (`host\\path` is
    // `host/path` in every browser); the splitter leaves it in the path, where the
    // collector's parser reads it as a slash.
    assert!(parts.path.starts_with('/') || parts.path.starts_with('\\'));
    for pair in parts.query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split('=').next().unwrap_or("");
        assert!(
            is_kept_param(name, &keep),
            "{name:?} survived in {scrubbed:?}"
        );
    }
    assert_eq!(
        scrub_url(&scrubbed, &keep).as_deref(),
        Some(scrubbed.as_str()),
        "not idempotent"
    );
    assert_eq!(host_of(&scrubbed), host_of(url));
    assert!(
        scrubbed.len() <= url.len() + 1,
        "{url:?} grew to {scrubbed:?}"
    );
});
