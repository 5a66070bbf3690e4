//! Classifying what the edge sees, so that only the verdicts are stored: device, OS and
//! browser families from the User-Agent, a bot verdict with its reason, and the channel a
//! visit came from.
//!
//! Hand-written rules rather than a regex database: the families Stint reports are few, the
//! rules below cover the browsers that make up nearly all traffic, and a table of real
//! User-Agent strings in the tests keeps them honest. The whole classifier is a few KB in
//! the worker, where a full parser database would be hundreds.

use crate::vocab::{Channel, Device};

/// Device, OS and browser families, each `None` when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UaInfo {
    pub device: Option<Device>,
    /// Family and major version, e.g. `Android 14`, `Windows`, `iOS 17`.
    pub os: Option<String>,
    /// Family and major version, e.g. `Chrome 126`, `Safari 17`.
    pub browser: Option<String>,
    /// Why this is taken for a bot, from the User-Agent alone.
    pub bot: Option<&'static str>,
}

/// Bot reasons, as stored in `SessionSummary::bot`.
pub mod bot_reason {
    /// The User-Agent names a crawler, a monitoring service or an HTTP library.
    pub const UA_LIST: &str = "ua_list";
    /// The User-Agent is a headless browser.
    pub const HEADLESS: &str = "headless";
    /// The page reported `navigator.webdriver` (automation).
    pub const WEBDRIVER: &str = "webdriver";
    /// No User-Agent at all.
    pub const EMPTY_UA: &str = "empty_ua";
}

/// Lowercase substrings that mark a non-human client.
const BOT_TOKENS: [&str; 42] = [
    "bot",
    "crawl",
    "spider",
    "slurp",
    "facebookexternalhit",
    "embedly",
    "preview",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "go-http-client",
    "java/",
    "okhttp",
    "axios/",
    "node-fetch",
    "undici",
    "httpclient",
    "libwww",
    "lighthouse",
    "pingdom",
    "uptime",
    "monitor",
    "scrapy",
    "puppeteer",
    "playwright",
    "selenium",
    "ahrefs",
    "semrush",
    "mj12",
    "yandex",
    "baiduspider",
    "bingpreview",
    "petalbot",
    "gptbot",
    "ccbot",
    "claude",
    "bytespider",
    "headless",
    "phantomjs",
    "feedfetcher",
];

/// Longest major version taken from a User-Agent. Real ones have at most three digits; a
/// longer run is not a version, and stored as-is it would let a client write an arbitrary
/// number into every summary (found by the `classify` fuzz target).
const MAX_MAJOR_DIGITS: usize = 4;

/// Major version after `token` (e.g. `Chrome/126.0` → `126`); `None` when there is none or
/// it is longer than [`MAX_MAJOR_DIGITS`].
fn major_after(ua: &str, token: &str) -> Option<String> {
    let start = ua.find(token)? + token.len();
    let digits: String = ua[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .take(MAX_MAJOR_DIGITS + 1)
        .collect();
    (1..=MAX_MAJOR_DIGITS)
        .contains(&digits.len())
        .then_some(digits)
}

fn with_major(family: &str, major: Option<String>) -> String {
    match major {
        Some(m) => {
            let mut s = String::with_capacity(family.len() + 1 + m.len());
            s.push_str(family);
            s.push(' ');
            s.push_str(&m);
            s
        }
        None => family.to_string(),
    }
}

pub fn classify_user_agent(ua: &str) -> UaInfo {
    let ua = ua.trim();
    if ua.is_empty() {
        return UaInfo {
            bot: Some(bot_reason::EMPTY_UA),
            ..UaInfo::default()
        };
    }
    let lower = ua.to_ascii_lowercase();
    let bot = if lower.contains("headless") || lower.contains("phantomjs") {
        Some(bot_reason::HEADLESS)
    } else if BOT_TOKENS.iter().any(|t| lower.contains(t)) {
        Some(bot_reason::UA_LIST)
    } else {
        None
    };

    let os = if ua.contains("Windows") {
        Some("Windows".to_string())
    } else if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        Some(with_major("iOS", major_after(ua, " OS ")))
    } else if ua.contains("Android") {
        Some(with_major("Android", major_after(ua, "Android ")))
    } else if ua.contains("CrOS") {
        Some("ChromeOS".to_string())
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        Some("macOS".to_string())
    } else if ua.contains("Linux") {
        Some("Linux".to_string())
    } else {
        None
    };

    let browser = if ua.contains("Edg/") || ua.contains("EdgA/") || ua.contains("EdgiOS/") {
        let token = ["Edg/", "EdgA/", "EdgiOS/"]
            .into_iter()
            .find(|t| ua.contains(t));
        Some(with_major("Edge", token.and_then(|t| major_after(ua, t))))
    } else if ua.contains("OPR/") {
        Some(with_major("Opera", major_after(ua, "OPR/")))
    } else if ua.contains("SamsungBrowser/") {
        Some(with_major(
            "Samsung Internet",
            major_after(ua, "SamsungBrowser/"),
        ))
    } else if ua.contains("Firefox/") {
        Some(with_major("Firefox", major_after(ua, "Firefox/")))
    } else if ua.contains("FxiOS/") {
        Some(with_major("Firefox", major_after(ua, "FxiOS/")))
    } else if ua.contains("CriOS/") {
        Some(with_major("Chrome", major_after(ua, "CriOS/")))
    } else if ua.contains("HeadlessChrome/") {
        Some(with_major("Chrome", major_after(ua, "HeadlessChrome/")))
    } else if ua.contains("Chrome/") {
        Some(with_major("Chrome", major_after(ua, "Chrome/")))
    } else if ua.contains("Safari/") && ua.contains("Version/") {
        Some(with_major("Safari", major_after(ua, "Version/")))
    } else {
        None
    };

    let device = if ua.contains("iPad")
        || ua.contains("Tablet")
        || (ua.contains("Android") && !ua.contains("Mobile"))
    {
        Some(Device::Tablet)
    } else if ua.contains("Mobi") || ua.contains("iPhone") || ua.contains("iPod") {
        Some(Device::Mobile)
    } else if os.is_some() {
        Some(Device::Desktop)
    } else {
        None
    };

    UaInfo {
        device,
        os,
        browser,
        bot,
    }
}

/// Where a visit came from. Every session has exactly one.
pub fn channel(
    referrer_host: Option<&str>,
    utm_source: Option<&str>,
    utm_medium: Option<&str>,
) -> Channel {
    let medium = utm_medium.map(str::to_ascii_lowercase);
    let medium = medium.as_deref();
    if matches!(
        medium,
        Some(
            "cpc"
                | "ppc"
                | "paid"
                | "paidsearch"
                | "paid_search"
                | "paid_social"
                | "paidsocial"
                | "display"
                | "cpm"
                | "banner"
                | "affiliate"
        )
    ) {
        return Channel::Paid;
    }
    if matches!(medium, Some("email" | "e-mail" | "newsletter")) {
        return Channel::Email;
    }
    if matches!(
        medium,
        Some("social" | "social-network" | "social_media" | "sm")
    ) {
        return Channel::Social;
    }
    let host = referrer_host.or(utm_source).map(str::to_ascii_lowercase);
    let Some(host) = host.as_deref() else {
        return Channel::Direct;
    };
    let labels: Vec<&str> = host.split('.').collect();
    let is = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    if labels
        .iter()
        .any(|l| matches!(*l, "mail" | "outlook" | "webmail"))
        || is("mail.google.com")
    {
        return Channel::Email;
    }
    if labels.iter().any(|l| {
        matches!(
            *l,
            "google"
                | "bing"
                | "yahoo"
                | "yandex"
                | "baidu"
                | "ecosia"
                | "duckduckgo"
                | "qwant"
                | "startpage"
                | "naver"
                | "seznam"
        )
    }) || is("search.brave.com")
        || host == "google"
        || host == "bing"
    {
        return Channel::Search;
    }
    const SOCIAL: [&str; 18] = [
        "facebook.com",
        "fb.com",
        "t.co",
        "twitter.com",
        "x.com",
        "linkedin.com",
        "lnkd.in",
        "reddit.com",
        "news.ycombinator.com",
        "instagram.com",
        "youtube.com",
        "tiktok.com",
        "pinterest.com",
        "bsky.app",
        "threads.net",
        "mastodon.social",
        "vk.com",
        "weibo.com",
    ];
    if SOCIAL.iter().any(|d| is(d))
        || matches!(
            host,
            "facebook" | "twitter" | "linkedin" | "reddit" | "hackernews" | "hn"
        )
    {
        return Channel::Social;
    }
    Channel::Referral
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (User-Agent, device, OS, browser, bot reason).
    type Case = (
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
    );

    /// Real User-Agent strings and what a site owner should see for them.
    const TABLE: &[Case] = &[
        // (UA, device, os, browser, bot)
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            Some("desktop"), Some("Windows"), Some("Chrome 126"), None),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.92",
            Some("desktop"), Some("Windows"), Some("Edge 125"), None),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            Some("desktop"), Some("macOS"), Some("Safari 17"), None),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
            Some("desktop"), Some("macOS"), Some("Firefox 127"), None),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            Some("desktop"), Some("Linux"), Some("Firefox 128"), None),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            Some("mobile"), Some("iOS 17"), Some("Safari 17"), None),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
            Some("mobile"), Some("iOS 17"), Some("Chrome 126"), None),
        ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
            Some("tablet"), Some("iOS 16"), Some("Safari 16"), None),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
            Some("mobile"), Some("Android 14"), Some("Chrome 126"), None),
        ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
            Some("tablet"), Some("Android 13"), Some("Chrome 125"), None),
        ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
            Some("mobile"), Some("Android 14"), Some("Samsung Internet 25"), None),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0",
            Some("desktop"), Some("Windows"), Some("Opera 110"), None),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            Some("desktop"), Some("ChromeOS"), Some("Chrome 126"), None),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
            Some("desktop"), Some("Linux"), Some("Chrome 156"), Some(bot_reason::HEADLESS)),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            None, None, None, Some(bot_reason::UA_LIST)),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
            None, None, Some("Chrome 116"), Some(bot_reason::UA_LIST)),
        ("curl/8.5.0", None, None, None, Some(bot_reason::UA_LIST)),
        ("python-requests/2.32.3", None, None, None, Some(bot_reason::UA_LIST)),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", None, None, None, Some(bot_reason::UA_LIST)),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", None, None, None, Some(bot_reason::UA_LIST)),
        ("", None, None, None, Some(bot_reason::EMPTY_UA)),
    ];

    #[test]
    fn real_user_agents_are_classified() {
        for (ua, device, os, browser, bot) in TABLE {
            let got = classify_user_agent(ua);
            assert_eq!(got.device.map(Device::as_str), *device, "device of {ua}");
            assert_eq!(got.os.as_deref(), *os, "os of {ua}");
            assert_eq!(got.browser.as_deref(), *browser, "browser of {ua}");
            assert_eq!(got.bot, *bot, "bot verdict of {ua}");
        }
    }

    #[test]
    fn channels_follow_utm_then_referrer() {
        let check = |r: Option<&str>, s: Option<&str>, m: Option<&str>, expected: &str| {
            assert_eq!(channel(r, s, m).as_str(), expected, "{r:?} {s:?} {m:?}");
        };
        check(None, None, None, "direct");
        check(Some("www.google.com"), None, None, "search");
        check(Some("www.google.co.uk"), None, None, "search");
        check(Some("duckduckgo.com"), None, None, "search");
        check(Some("news.ycombinator.com"), None, None, "social");
        check(Some("t.co"), None, None, "social");
        check(Some("l.facebook.com"), None, None, "social");
        check(Some("mail.google.com"), None, None, "email");
        check(Some("blog.example"), None, None, "referral");
        check(Some("www.google.com"), Some("google"), Some("cpc"), "paid");
        check(None, Some("newsletter"), Some("email"), "email");
        check(None, Some("twitter"), None, "social");
        check(None, Some("partner-site"), None, "referral");
        check(Some("notgoogle.example"), None, None, "referral");
    }

    #[test]
    fn never_panics_on_odd_input() {
        for ua in [
            "Chrome/",
            "Android ",
            " OS ",
            "Édg/ü",
            "\u{0}",
            "Version/Safari/",
            "Firefox/x",
        ] {
            let _ = classify_user_agent(ua);
        }
    }

    /// Regression (fuzz target `classify`): a run of digits after a browser token was kept
    /// whole as the "major version".
    #[test]
    fn an_overlong_version_is_not_kept() {
        let got = classify_user_agent("6OS9\nC:R/REdgA/222222222");
        assert_eq!(got.browser.as_deref(), Some("Edge"));
        let got = classify_user_agent(&format!(
            "Mozilla/5.0 (Linux; Android {}) Chrome/1234.0",
            "7".repeat(5_000)
        ));
        assert_eq!(
            (got.os.as_deref(), got.browser.as_deref()),
            (Some("Android"), Some("Chrome 1234"))
        );
    }
}
