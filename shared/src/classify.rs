//! Classifying what the edge sees, so that only the verdicts are stored: device, OS and
//! browser (family and major version apart), a bot verdict with its category and name, and
//! the channel a visit came from.
//!
//! Bots come from maintained data: the crawler list `cargo xtask lists` generates
//! ([`crate::bots`]), after the two verdicts Stint makes itself (headless browsers, no
//! User-Agent). Browsers and OSes are a short ordered table of product tokens below, in-app
//! browsers first: the families that make up nearly all traffic are few, and a full parser
//! database would cost the worker hundreds of KB. `cargo xtask corpus` measures the table
//! against public lists of real User-Agents and `ua-parser-js` on every gate run.

use crate::vocab::{BotReason, Channel, Device};

/// Device, OS and browser, each `None` when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UaInfo {
    pub device: Option<Device>,
    /// Family: `Android`, `Windows`, `iOS`, `macOS`, `ChromeOS`, `Linux`.
    pub os: Option<String>,
    /// Major version where the User-Agent tells it (`14`, `17`, `10.15`).
    pub os_version: Option<String>,
    /// Family: `Chrome`, `Safari`, `Google app`, `Instagram`, …
    pub browser: Option<String>,
    /// Major version (`126`).
    pub browser_version: Option<String>,
    /// Why this is taken for a bot, from the User-Agent alone.
    pub bot: Option<BotReason>,
    /// The bot's name, where the list knows it (`Googlebot`).
    pub bot_name: Option<String>,
}

/// Browsers by product token, first match wins: in-app browsers and browsers built on
/// Chromium before the engines they name too. (token, family, token the version follows).
const BROWSERS: &[(&str, &str, &str)] = &[
    // In-app browsers: the app's own token.
    ("FBAN/", "Facebook", "FBAV/"),
    ("FBAV/", "Facebook", "FBAV/"),
    ("FB_IAB/", "Facebook", "FBAV/"),
    ("Instagram ", "Instagram", "Instagram "),
    ("Snapchat/", "Snapchat", "Snapchat/"),
    ("musical_ly", "TikTok", "musical_ly_"),
    ("BytedanceWebview/", "TikTok", "BytedanceWebview/"),
    ("TikTok ", "TikTok", "TikTok "),
    (" Line/", "LINE", " Line/"),
    ("MicroMessenger/", "WeChat", "MicroMessenger/"),
    ("GSA/", "Google app", "GSA/"),
    ("Pinterest", "Pinterest", "Pinterest/"),
    ("LinkedInApp", "LinkedIn", "LinkedInApp/"),
    ("Twitter for iPhone", "Twitter", "Twitter for iPhone/"),
    // Browsers built on Chromium or WebKit, before the engine's own token.
    ("DuckDuckGo/", "DuckDuckGo", "DuckDuckGo/"),
    ("Ddg/", "DuckDuckGo", "Ddg/"),
    ("YaBrowser/", "Yandex Browser", "YaBrowser/"),
    ("EdgA/", "Edge", "EdgA/"),
    ("EdgiOS/", "Edge", "EdgiOS/"),
    ("Edg/", "Edge", "Edg/"),
    ("Edge/", "Edge", "Edge/"),
    ("OPT/", "Opera Touch", "OPT/"),
    ("OPR/", "Opera", "OPR/"),
    ("OPiOS/", "Opera", "OPiOS/"),
    ("Vivaldi/", "Vivaldi", "Vivaldi/"),
    ("Brave/", "Brave", "Brave/"),
    ("SamsungBrowser/", "Samsung Internet", "SamsungBrowser/"),
    ("UCBrowser/", "UC Browser", "UCBrowser/"),
    ("MiuiBrowser/", "MIUI Browser", "MiuiBrowser/"),
    ("HuaweiBrowser/", "Huawei Browser", "HuaweiBrowser/"),
    ("Silk/", "Silk", "Silk/"),
    ("Firefox/", "Firefox", "Firefox/"),
    ("FxiOS/", "Firefox", "FxiOS/"),
    ("CriOS/", "Chrome", "CriOS/"),
    // Android's WebView marks itself `; wv)`; an app showing pages in it is not Chrome.
    ("; wv)", "Android WebView", "Chrome/"),
    ("HeadlessChrome/", "Chrome", "HeadlessChrome/"),
    ("Chrome/", "Chrome", "Chrome/"),
    ("Chromium/", "Chromium", "Chromium/"),
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

fn browser_of(ua: &str) -> (Option<String>, Option<String>) {
    if let Some((_, family, version)) = BROWSERS.iter().find(|(t, _, _)| ua.contains(t)) {
        return (Some(family.to_string()), major_after(ua, version));
    }
    let apple_mobile = ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod");
    if ua.contains("Safari/") && ua.contains("Version/") {
        if ua.contains("Android") {
            return (Some("Android Browser".into()), major_after(ua, "Version/"));
        }
        return (Some("Safari".into()), major_after(ua, "Version/"));
    }
    if apple_mobile && ua.contains("AppleWebKit/") {
        // An app's own WebKit view: no `Version/`, no `Safari/`.
        return (Some("iOS WebView".into()), None);
    }
    (None, None)
}

/// Windows versions by NT version. `NT 10.0` is both Windows 10 and 11 (browsers freeze
/// it), so it gives no version rather than a wrong one.
const WINDOWS: [(&str, &str); 4] = [
    ("Windows NT 6.3", "8.1"),
    ("Windows NT 6.2", "8"),
    ("Windows NT 6.1", "7"),
    ("Windows NT 6.0", "Vista"),
];

fn os_of(ua: &str) -> (Option<&'static str>, Option<String>) {
    if ua.contains("Windows") {
        let version = WINDOWS
            .iter()
            .find(|(t, _)| ua.contains(t))
            .map(|(_, v)| v.to_string());
        (Some("Windows"), version)
    } else if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        (Some("iOS"), major_after(ua, " OS "))
    } else if ua.contains("Android") {
        (Some("Android"), major_after(ua, "Android "))
    } else if ua.contains("CrOS") {
        (Some("ChromeOS"), None)
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        // Browsers freeze the version at 10_15 on every release since: none is told.
        (Some("macOS"), None)
    } else if ua.contains("Linux") || ua.contains("X11") {
        (Some("Linux"), None)
    } else {
        (None, None)
    }
}

/// Bytes of a User-Agent that are classified. Real ones are well under 512 bytes; past this,
/// a client would only be buying CPU time on every beacon (the crawler list has ~1,500
/// patterns).
pub const MAX_UA_BYTES: usize = 1024;

pub fn classify_user_agent(ua: &str) -> UaInfo {
    let mut end = ua.len().min(MAX_UA_BYTES);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    let ua = ua[..end].trim();
    if ua.is_empty() {
        return UaInfo {
            bot: Some(BotReason::EmptyUa),
            ..UaInfo::default()
        };
    }
    let lower = ua.to_ascii_lowercase();
    let (bot, bot_name) = if lower.contains("headless") {
        let name = ua
            .contains("HeadlessChrome/")
            .then(|| "HeadlessChrome".to_string());
        (Some(BotReason::Headless), name)
    } else if lower.contains("phantomjs") {
        (Some(BotReason::Headless), Some("PhantomJS".to_string()))
    } else {
        match crate::bots::crawler_of(ua) {
            Some(c) => (Some(c.category), Some(c.name.to_string())),
            None => (None, None),
        }
    };
    let (os, os_version) = os_of(ua);
    let (browser, browser_version) = browser_of(ua);
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
        os: os.map(str::to_string),
        os_version,
        browser,
        browser_version,
        bot,
        bot_name,
    }
}

/// Where a visit came from. Every session has exactly one: the campaign's medium if it
/// names a channel, else the referrer (a host, or an app's package) or, without one, the
/// campaign's source, looked up in [`crate::channels::SOURCES`]; any other referrer is a
/// referral, none at all direct.
pub fn channel(
    referrer_host: Option<&str>,
    referrer_app: Option<&str>,
    utm_source: Option<&str>,
    utm_medium: Option<&str>,
) -> Channel {
    use crate::channels::{medium_channel, source_of, Kind};
    if let Some(channel) = utm_medium.and_then(medium_channel) {
        return channel;
    }
    let (kind, name) = match (referrer_app, referrer_host, utm_source) {
        (Some(app), _, _) => (Kind::App, app),
        (None, Some(host), _) => (Kind::Host, host),
        (None, None, Some(source)) => (Kind::Campaign, source),
        (None, None, None) => return Channel::Direct,
    };
    source_of(kind, name).map_or(Channel::Referral, |row| row.channel)
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
            Some("desktop"), Some("Linux"), Some("Chrome 156"), Some("headless")),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            None, None, None, Some("search_engine")),
        ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
            None, None, Some("Chrome 116"), Some("search_engine")),
        ("curl/8.5.0", None, None, None, Some("http_library")),
        ("python-requests/2.32.3", None, None, None, Some("http_library")),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", None, None, None, Some("link_preview")),
        ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", None, None, None, Some("seo_tool")),
        // Missed by the hand-kept list of earlier releases (issue 13).
        ("Mediapartners-Google", None, None, None, Some("advertising")),
        ("APIs-Google (+https://developers.google.com/webmasters/APIs-Google.html)", None, None, None, Some("search_engine")),
        ("Mozilla/5.0 (compatible; Google-InspectionTool/1.0;)", None, None, None, Some("search_engine")),
        ("GoogleOther", None, None, None, Some("search_engine")),
        ("python-httpx/0.27.0", None, None, None, Some("http_library")),
        ("Mozilla/2.0 (compatible; Ask Jeeves/Teoma)", None, None, None, Some("search_engine")),
        // A phone whose brand contains "bot" is a phone.
        ("Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
            Some("mobile"), Some("Android 10"), Some("Chrome 120"), None),
        // In-app browsers are named after the app, not the engine underneath.
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/321.0.654321 Mobile/15E148 Safari/604.1",
            Some("mobile"), Some("iOS 17"), Some("Google app 321"), None),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 330.0.3.12.235 (iPhone14,5; iOS 17_4; en_US; en; scale=3.00; 1170x2532; 597224574)",
            Some("mobile"), Some("iOS 17"), Some("Instagram 330"), None),
        ("Mozilla/5.0 (Linux; Android 14; SM-S911B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/463.0.0.43.107;]",
            Some("mobile"), Some("Android 14"), Some("Facebook 463"), None),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/13.2.0.45 (like Safari/8618.2.12.10.5, panda)",
            Some("mobile"), Some("iOS 17"), Some("Snapchat 13"), None),
        ("Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.118 Mobile Safari/537.36 trill_340204 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/34.2.4 ByteLocale/en ByteFullLocale/en Region/US BytedanceWebview/d8a21c6",
            Some("mobile"), Some("Android 13"), Some("TikTok"), None),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/14.5.0",
            Some("mobile"), Some("iOS 17"), Some("LINE 14"), None),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.48(0x18003030) NetType/WIFI Language/zh_CN",
            Some("mobile"), Some("iOS 17"), Some("WeChat 8"), None),
        ("Mozilla/5.0 (Linux; Android 12; SM-A525F Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/122.0.6261.105 Mobile Safari/537.36",
            Some("mobile"), Some("Android 12"), Some("Android WebView 122"), None),
        ("", None, None, None, Some("empty_ua")),
    ];

    #[test]
    fn real_user_agents_are_classified() {
        let joined = |family: &Option<String>, version: &Option<String>| match (family, version) {
            (Some(f), Some(v)) => Some(format!("{f} {v}")),
            (f, _) => f.clone(),
        };
        for (ua, device, os, browser, bot) in TABLE {
            let got = classify_user_agent(ua);
            assert_eq!(got.device.map(Device::as_str), *device, "device of {ua}");
            assert_eq!(
                joined(&got.os, &got.os_version).as_deref(),
                *os,
                "os of {ua}"
            );
            assert_eq!(
                joined(&got.browser, &got.browser_version).as_deref(),
                *browser,
                "browser of {ua}"
            );
            assert_eq!(got.bot.map(BotReason::as_str), *bot, "bot verdict of {ua}");
        }
    }

    #[test]
    fn bots_are_named() {
        let got = classify_user_agent(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        );
        assert_eq!(got.bot_name.as_deref(), Some("Googlebot"));
        let got = classify_user_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36");
        assert_eq!(got.bot_name.as_deref(), Some("HeadlessChrome"));
    }

    #[test]
    fn channels_follow_utm_then_referrer() {
        let check = |r: Option<&str>, s: Option<&str>, m: Option<&str>, expected: &str| {
            assert_eq!(
                channel(r, None, s, m).as_str(),
                expected,
                "{r:?} {s:?} {m:?}"
            );
        };
        assert_eq!(
            channel(None, Some("com.google.android.gm"), None, None),
            Channel::Email,
            "the Gmail app"
        );
        assert_eq!(
            channel(None, Some("com.example.reader"), None, None),
            Channel::Referral,
            "an unknown app"
        );
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
    fn only_the_first_kilobyte_is_classified() {
        let padded = format!("{}Googlebot/2.1", "é".repeat(MAX_UA_BYTES));
        assert_eq!(classify_user_agent(&padded).bot, None);
        let near = format!("Googlebot/2.1 {}", "x".repeat(100_000));
        assert_eq!(
            classify_user_agent(&near).bot,
            Some(BotReason::SearchEngine)
        );
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
        assert_eq!(
            (got.browser.as_deref(), got.browser_version),
            (Some("Edge"), None)
        );
        let got = classify_user_agent(&format!(
            "Mozilla/5.0 (Linux; Android {}) Chrome/1234.0",
            "7".repeat(500)
        ));
        assert_eq!(
            (got.os_version, got.browser_version.as_deref()),
            (None, Some("1234"))
        );
    }
}
