//! Which channel a visit came from, as data: campaign mediums, referrer hosts and Android
//! apps, each row with where the fact comes from.
//!
//! Order of the rules (`classify::channel`): a campaign's `utm_medium` first (the site said
//! so), then the referrer (or, without one, `utm_source` read as a name) against
//! [`SOURCES`], then `referral` for any other referrer and `direct` for none. Every row
//! carries an example the tests feed through the whole rule, so a row that stops matching
//! fails by name.

use crate::vocab::Channel;

/// `utm_medium` values (lowercase) that decide the channel on their own. Source: Google
/// Analytics 4's default channel group definitions (the mediums of Paid Search, Display,
/// Paid Social, Affiliates, Email, Organic Social), which campaign builders follow.
pub const MEDIUMS: &[(&str, Channel)] = &[
    ("cpc", Channel::Paid),
    ("ppc", Channel::Paid),
    ("paid", Channel::Paid),
    ("paidsearch", Channel::Paid),
    ("paid_search", Channel::Paid),
    ("paid_social", Channel::Paid),
    ("paidsocial", Channel::Paid),
    ("display", Channel::Paid),
    ("cpm", Channel::Paid),
    ("banner", Channel::Paid),
    ("affiliate", Channel::Paid),
    ("email", Channel::Email),
    ("e-mail", Channel::Email),
    ("e_mail", Channel::Email),
    ("newsletter", Channel::Email),
    ("social", Channel::Social),
    ("social-network", Channel::Social),
    ("social_media", Channel::Social),
    ("sm", Channel::Social),
];

/// How a [`Source`] row matches a referrer host, app package or `utm_source` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The host is this domain or a subdomain of it (`t.co`, `l.facebook.com` for
    /// `facebook.com`).
    Domain(&'static str),
    /// Any label of the host is this (`google` in `www.google.co.uk`): for engines with a
    /// domain per country.
    Label(&'static str),
    /// An Android app's package (`android-app://<package>/` referrers).
    App(&'static str),
    /// A bare `utm_source` name (`newsletter`, `twitter`).
    Name(&'static str),
}

/// One row: what matches, the channel, the site's name, where the fact comes from, and an
/// example (a referrer host, app package or utm_source) that the tests check.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub matches: Match,
    pub channel: Channel,
    pub name: &'static str,
    pub source: &'static str,
    pub example: &'static str,
}

const GA4: &str = "GA4 default channel group source lists";
const PLAY: &str = "Google Play package name";
const SELF: &str = "the site's own domain list";

macro_rules! row {
    ($m:expr, $c:ident, $name:literal, $src:expr, $ex:literal) => {
        Source {
            matches: $m,
            channel: Channel::$c,
            name: $name,
            source: $src,
            example: $ex,
        }
    };
}

use Match::*;

/// Referrer hosts, apps and source names with a channel. The first row that matches wins:
/// mail hosts come before the search engines whose companies run them.
pub const SOURCES: &[Source] = &[
    // Email: webmail hosts and mail apps.
    row!(
        Domain("mail.google.com"),
        Email,
        "Gmail",
        GA4,
        "mail.google.com"
    ),
    row!(Label("mail"), Email, "Webmail", GA4, "mail.yahoo.com"),
    row!(
        Label("webmail"),
        Email,
        "Webmail",
        GA4,
        "webmail.example.net"
    ),
    row!(Label("outlook"), Email, "Outlook", GA4, "outlook.live.com"),
    row!(Domain("proton.me"), Email, "Proton Mail", GA4, "proton.me"),
    row!(
        App("com.google.android.gm"),
        Email,
        "Gmail app",
        PLAY,
        "com.google.android.gm"
    ),
    row!(
        App("com.microsoft.office.outlook"),
        Email,
        "Outlook app",
        PLAY,
        "com.microsoft.office.outlook"
    ),
    row!(
        App("com.yahoo.mobile.client.android.mail"),
        Email,
        "Yahoo Mail app",
        PLAY,
        "com.yahoo.mobile.client.android.mail"
    ),
    row!(
        App("ch.protonmail.android"),
        Email,
        "Proton Mail app",
        PLAY,
        "ch.protonmail.android"
    ),
    row!(
        App("com.samsung.android.email.provider"),
        Email,
        "Samsung Email app",
        PLAY,
        "com.samsung.android.email.provider"
    ),
    row!(Name("newsletter"), Email, "Newsletter", SELF, "newsletter"),
    // Search engines.
    row!(Label("google"), Search, "Google", GA4, "www.google.co.uk"),
    row!(Label("bing"), Search, "Bing", GA4, "www.bing.com"),
    row!(Label("yahoo"), Search, "Yahoo", GA4, "search.yahoo.com"),
    row!(Label("yandex"), Search, "Yandex", GA4, "yandex.ru"),
    row!(Label("baidu"), Search, "Baidu", GA4, "www.baidu.com"),
    row!(
        Label("duckduckgo"),
        Search,
        "DuckDuckGo",
        GA4,
        "duckduckgo.com"
    ),
    row!(Label("ecosia"), Search, "Ecosia", GA4, "www.ecosia.org"),
    row!(Label("qwant"), Search, "Qwant", GA4, "www.qwant.com"),
    row!(
        Label("startpage"),
        Search,
        "Startpage",
        GA4,
        "www.startpage.com"
    ),
    row!(Label("naver"), Search, "Naver", GA4, "search.naver.com"),
    row!(Label("seznam"), Search, "Seznam", GA4, "search.seznam.cz"),
    row!(
        Domain("search.brave.com"),
        Search,
        "Brave Search",
        GA4,
        "search.brave.com"
    ),
    row!(Domain("kagi.com"), Search, "Kagi", GA4, "kagi.com"),
    row!(
        App("com.google.android.googlequicksearchbox"),
        Search,
        "Google app",
        PLAY,
        "com.google.android.googlequicksearchbox"
    ),
    row!(
        App("com.google.android.gm.lite"),
        Email,
        "Gmail Go app",
        PLAY,
        "com.google.android.gm.lite"
    ),
    // Social networks and forums.
    row!(
        Domain("facebook.com"),
        Social,
        "Facebook",
        GA4,
        "l.facebook.com"
    ),
    row!(Domain("fb.com"), Social, "Facebook", GA4, "fb.com"),
    row!(Domain("t.co"), Social, "X (Twitter)", GA4, "t.co"),
    row!(
        Domain("twitter.com"),
        Social,
        "X (Twitter)",
        GA4,
        "twitter.com"
    ),
    row!(Domain("x.com"), Social, "X (Twitter)", GA4, "x.com"),
    row!(
        Domain("linkedin.com"),
        Social,
        "LinkedIn",
        GA4,
        "www.linkedin.com"
    ),
    row!(Domain("lnkd.in"), Social, "LinkedIn", GA4, "lnkd.in"),
    row!(
        Domain("reddit.com"),
        Social,
        "Reddit",
        GA4,
        "old.reddit.com"
    ),
    row!(
        Domain("news.ycombinator.com"),
        Social,
        "Hacker News",
        GA4,
        "news.ycombinator.com"
    ),
    row!(
        Domain("instagram.com"),
        Social,
        "Instagram",
        GA4,
        "l.instagram.com"
    ),
    row!(
        Domain("youtube.com"),
        Social,
        "YouTube",
        GA4,
        "m.youtube.com"
    ),
    row!(
        Domain("tiktok.com"),
        Social,
        "TikTok",
        GA4,
        "www.tiktok.com"
    ),
    row!(
        Domain("pinterest.com"),
        Social,
        "Pinterest",
        GA4,
        "www.pinterest.com"
    ),
    row!(Domain("bsky.app"), Social, "Bluesky", GA4, "bsky.app"),
    row!(
        Domain("threads.net"),
        Social,
        "Threads",
        GA4,
        "www.threads.net"
    ),
    row!(
        Domain("mastodon.social"),
        Social,
        "Mastodon",
        GA4,
        "mastodon.social"
    ),
    row!(Domain("vk.com"), Social, "VK", GA4, "vk.com"),
    row!(Domain("weibo.com"), Social, "Weibo", GA4, "weibo.com"),
    row!(
        App("com.facebook.katana"),
        Social,
        "Facebook app",
        PLAY,
        "com.facebook.katana"
    ),
    row!(
        App("com.instagram.android"),
        Social,
        "Instagram app",
        PLAY,
        "com.instagram.android"
    ),
    row!(
        App("com.twitter.android"),
        Social,
        "X app",
        PLAY,
        "com.twitter.android"
    ),
    row!(
        App("com.linkedin.android"),
        Social,
        "LinkedIn app",
        PLAY,
        "com.linkedin.android"
    ),
    row!(
        App("com.reddit.frontpage"),
        Social,
        "Reddit app",
        PLAY,
        "com.reddit.frontpage"
    ),
    row!(
        App("com.zhiliaoapp.musically"),
        Social,
        "TikTok app",
        PLAY,
        "com.zhiliaoapp.musically"
    ),
    row!(
        App("com.google.android.youtube"),
        Social,
        "YouTube app",
        PLAY,
        "com.google.android.youtube"
    ),
    row!(
        App("com.pinterest"),
        Social,
        "Pinterest app",
        PLAY,
        "com.pinterest"
    ),
    row!(Name("facebook"), Social, "Facebook", SELF, "facebook"),
    row!(Name("twitter"), Social, "X (Twitter)", SELF, "twitter"),
    row!(Name("linkedin"), Social, "LinkedIn", SELF, "linkedin"),
    row!(Name("reddit"), Social, "Reddit", SELF, "reddit"),
    row!(
        Name("hackernews"),
        Social,
        "Hacker News",
        SELF,
        "hackernews"
    ),
    row!(Name("hn"), Social, "Hacker News", SELF, "hn"),
    row!(Name("google"), Search, "Google", SELF, "google"),
    row!(Name("bing"), Search, "Bing", SELF, "bing"),
];

/// What is being looked up: rows of other kinds never match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A referrer's host (lowercase).
    Host,
    /// An app's package, from an `android-app://` referrer.
    App,
    /// A `utm_source` without a referrer: a bare name, or a host.
    Campaign,
}

/// The first row of `kind` that matches `name`.
pub fn source_of(kind: Kind, name: &str) -> Option<&'static Source> {
    let name = name.to_ascii_lowercase();
    let name = name.as_str();
    SOURCES.iter().find(|row| match (row.matches, kind) {
        (Domain(d), Kind::Host | Kind::Campaign) => {
            name == d || name.strip_suffix(d).is_some_and(|head| head.ends_with('.'))
        }
        (Label(l), Kind::Host | Kind::Campaign) => {
            name.contains('.') && name.split('.').any(|x| x == l)
        }
        (App(p), Kind::App) => name == p,
        (Name(n), Kind::Campaign) => name == n,
        _ => false,
    })
}

/// The channel a campaign medium names, if any.
pub fn medium_channel(medium: &str) -> Option<Channel> {
    let medium = medium.to_ascii_lowercase();
    MEDIUMS.iter().find(|(m, _)| *m == medium).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row, fed its own example, is the row that answers.
    #[test]
    fn every_row_matches_its_example() {
        for row in SOURCES {
            let kind = match row.matches {
                Domain(_) | Label(_) => Kind::Host,
                App(_) => Kind::App,
                Name(_) => Kind::Campaign,
            };
            let got = source_of(kind, row.example).map(|r| (r.name, r.channel));
            assert_eq!(
                got,
                Some((row.name, row.channel)),
                "{:?} with example {}",
                row.matches,
                row.example
            );
        }
        for (medium, channel) in MEDIUMS {
            assert_eq!(
                medium_channel(&medium.to_uppercase()),
                Some(*channel),
                "{medium}"
            );
        }
    }

    #[test]
    fn near_misses_match_nothing() {
        for name in [
            "notgoogle.example",
            "fakefacebook.com",
            "blog.example",
            "google",
        ] {
            assert_eq!(source_of(Kind::Host, name).map(|r| r.name), None, "{name}");
        }
        assert_eq!(
            source_of(Kind::App, "com.google.android.gmx").map(|r| r.name),
            None
        );
        // An app is looked up as an app, not as a host with a `google` label.
        assert_eq!(
            source_of(Kind::App, "com.google.android.youtube").map(|r| r.channel),
            Some(Channel::Social)
        );
        assert_eq!(
            source_of(Kind::Campaign, "Google").map(|r| r.name),
            Some("Google")
        );
    }
}
