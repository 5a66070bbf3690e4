//! The closed vocabularies of a summary: one enum each, with the one spelling that is
//! stored, sent, filtered on and documented (`edge-worker/openapi.yaml` and the dashboard's
//! filter menus are checked against [`Channel::ALL`] and [`Device::ALL`] by a test below).
//!
//! Open vocabularies (browser and OS names, countries, pages) stay strings.

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "collector", derive(serde::Serialize, serde::Deserialize))]
        pub enum $name {
            $($(#[$vdoc])* #[cfg_attr(feature = "collector", serde(rename = $text))] $variant,)+
        }

        impl $name {
            /// Every value, in the order menus and docs list them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value as stored and sent.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value spelt as [`Self::as_str`] gives it, or `None`.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// "must be one of a, b or c": the end of a message refusing another value.
            pub fn expected() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                match names.split_last() {
                    Some((last, [])) => format!("must be {last}"),
                    Some((last, rest)) => format!("must be {} or {last}", rest.join(", ")),
                    None => String::new(),
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

    };
}

vocabulary! {
    /// Where a visit came from (`classify::channel`). Every session has exactly one.
    Channel {
        /// No referrer and no campaign.
        Direct = "direct",
        /// A search engine.
        Search = "search",
        /// A social network or forum.
        Social = "social",
        /// A mail client or a campaign marked as email.
        Email = "email",
        /// Any other site.
        Referral = "referral",
        /// A campaign marked as paid (`utm_medium=cpc`, …).
        Paid = "paid",
    }
}

vocabulary! {
    /// The kind of device, from the User-Agent (`classify::classify_user_agent`).
    Device {
        Desktop = "desktop",
        Mobile = "mobile",
        Tablet = "tablet",
    }
}

vocabulary! {
    /// Why a session is taken for a bot (`classify::classify_user_agent`, the tracker's
    /// `webdriver` flag). The order is the bit order of `SessionState`'s stored reasons:
    /// new values go at the end.
    BotReason {
        /// A headless browser (HeadlessChrome, PhantomJS).
        Headless = "headless",
        /// The page reported `navigator.webdriver` (automation).
        Webdriver = "webdriver",
        /// Named by the hand-kept list of releases before the maintained one; kept so that
        /// sessions stored then still read.
        ListedBot = "ua_list",
        /// No User-Agent at all.
        EmptyUa = "empty_ua",
        SearchEngine = "search_engine",
        AiCrawler = "ai_crawler",
        SeoTool = "seo_tool",
        Monitor = "monitor",
        LinkPreview = "link_preview",
        HttpLibrary = "http_library",
        /// Browser automation named in the User-Agent (Selenium, Puppeteer, …).
        Automation = "automation",
        FeedReader = "feed_reader",
        Archiver = "archiver",
        Advertising = "advertising",
        SecurityScanner = "security_scanner",
        /// Academic and research crawlers.
        Research = "research",
        /// On the maintained list without a category.
        OtherBot = "other_bot",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        for d in Device::ALL {
            assert_eq!(Device::parse(d.as_str()), Some(*d));
        }
        assert_eq!(Channel::parse("Direct"), None);
        assert_eq!(Device::expected(), "must be desktop, mobile or tablet");
    }

    /// The API description and the dashboard's filter suggestions offer exactly the enum's values, in its
    /// order: a value added here and forgotten there fails this test.
    #[test]
    fn openapi_and_dashboard_list_the_same_values() {
        let openapi = include_str!("../../edge-worker/openapi.yaml");
        let dashboard = include_str!("../../www/dashboard/index.html");
        let check = |name: &str, values: Vec<&str>| {
            let list = values.join(", ");
            assert!(
                openapi.contains(&format!(
                    "{name}: {{ type: [string, \"null\"], enum: [{list}, null] }}"
                )),
                "openapi.yaml: the {name} field lists [{list}]"
            );
            assert!(
                openapi.contains(&format!(
                    "{name}: {{ name: {name}, in: query, schema: {{ type: string, enum: [{list}] }} }}"
                )),
                "openapi.yaml: the {name} parameter lists [{list}]"
            );
            let options: String = values
                .iter()
                .map(|v| format!("<option>{v}</option>"))
                .collect();
            assert!(
                dashboard.contains(&format!(
                    "<datalist id=\"values-{name}\">{options}</datalist>"
                )),
                "dashboard index.html: the {name} filter suggests {list}"
            );
        };
        let bots: Vec<&str> = BotReason::ALL.iter().map(|b| b.as_str()).collect();
        assert!(
            openapi.contains(&format!(
                "bot: {{ type: [string, \"null\"], enum: [{}, null] }}",
                bots.join(", ")
            )),
            "openapi.yaml: the bot field lists [{}]",
            bots.join(", ")
        );
        check("channel", Channel::ALL.iter().map(|c| c.as_str()).collect());
        check("device", Device::ALL.iter().map(|d| d.as_str()).collect());
    }
}
