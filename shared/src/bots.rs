//! Crawlers, from the maintained list.
//!
//! The patterns are not typed here: `cargo xtask lists` compiles the pinned npm
//! `crawler-user-agents` into [`crate::generated::crawlers`], one [`Crawler`] per entry of
//! the list, each a few alternatives of [`Tok`]s (the list's patterns use only literals,
//! `^`, `$`, `\d`, `\d+`, `[^x]` and `[\s\S]*`; the generator refuses anything more). This
//! module matches them. Matching is case-sensitive, as the list's own users match it.
//!
//! Cost: the list has about 1,500 patterns. Each alternative carries its longest literal as
//! a needle, and a User-Agent's byte pairs are hashed into a 4,096-bit set once, so most
//! patterns are dismissed by one bit test before any substring search.

use crate::vocab::BotReason;

/// One step of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    /// These bytes, exactly.
    Lit(&'static str),
    /// The start of the User-Agent (`^`).
    Start,
    /// The end of the User-Agent (`$`).
    End,
    /// Any run of bytes, possibly empty (`[\s\S]*`).
    Gap,
    /// One ASCII digit (`\d`).
    Digit,
    /// One or more ASCII digits (`\d+`).
    Digits,
    /// One byte that is not this one (`[^-]`).
    NotByte(u8),
}

/// One entry of the maintained list.
#[derive(Debug)]
pub struct Crawler {
    /// A readable name taken from the pattern (`Googlebot`).
    pub name: &'static str,
    pub category: BotReason,
    /// The pattern matches when any alternative does.
    pub alternatives: &'static [&'static [Tok]],
}

/// The crawler a User-Agent names: where several entries match, the one whose matching
/// alternative has the most literal bytes (the most specific).
pub fn crawler_of(ua: &str) -> Option<&'static Crawler> {
    let pairs = PairSet::of(ua.as_bytes());
    let mut best: Option<(&'static Crawler, usize)> = None;
    for crawler in crate::generated::crawlers::CRAWLERS {
        for alt in crawler.alternatives {
            let weight = literal_bytes(alt);
            if best.is_some_and(|(_, w)| w >= weight) {
                continue;
            }
            if pairs.may_contain(needle(alt)) && matches(alt, ua.as_bytes()) {
                best = Some((crawler, weight));
            }
        }
    }
    best.map(|(c, _)| c)
}

fn literal_bytes(alt: &[Tok]) -> usize {
    alt.iter()
        .map(|t| match t {
            Tok::Lit(s) => s.len(),
            _ => 0,
        })
        .sum()
}

/// The longest literal of an alternative: any match contains it.
fn needle(alt: &[Tok]) -> &'static [u8] {
    alt.iter()
        .filter_map(|t| match t {
            Tok::Lit(s) => Some(s.as_bytes()),
            _ => None,
        })
        .max_by_key(|s| s.len())
        .unwrap_or(b"")
}

/// Byte pairs of a text, hashed into 4,096 bits: "may contain" is never wrong when it says
/// no.
struct PairSet([u64; 64]);

impl PairSet {
    fn hash(a: u8, b: u8) -> usize {
        ((usize::from(a) << 5) ^ usize::from(b)) & 4095
    }

    fn of(text: &[u8]) -> Self {
        let mut bits = [0u64; 64];
        for w in text.windows(2) {
            let h = Self::hash(w[0], w[1]);
            bits[h / 64] |= 1 << (h % 64);
        }
        PairSet(bits)
    }

    fn may_contain(&self, needle: &[u8]) -> bool {
        needle.windows(2).all(|w| {
            let h = Self::hash(w[0], w[1]);
            self.0[h / 64] & (1 << (h % 64)) != 0
        })
    }
}

/// Whether the tokens match somewhere in `hay` (anywhere, unless they start with `Start`).
fn matches(toks: &[Tok], hay: &[u8]) -> bool {
    match toks.first() {
        Some(Tok::Start) => match_here(&toks[1..], hay, 0),
        Some(Tok::Lit(lit)) => {
            let lit = lit.as_bytes();
            let mut from = 0;
            while let Some(at) = find(&hay[from..], lit) {
                let at = from + at;
                if match_here(&toks[1..], hay, at + lit.len()) {
                    return true;
                }
                from = at + 1;
            }
            false
        }
        _ => (0..=hay.len()).any(|i| match_here(toks, hay, i)),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether the tokens match at exactly `i`. Backtracks only at `Gap` and `Digits`, which
/// the list uses at most once per pattern.
fn match_here(toks: &[Tok], hay: &[u8], i: usize) -> bool {
    let Some((tok, rest)) = toks.split_first() else {
        return true;
    };
    match *tok {
        Tok::Lit(lit) => {
            hay.get(i..).is_some_and(|h| h.starts_with(lit.as_bytes()))
                && match_here(rest, hay, i + lit.len())
        }
        Tok::Start => i == 0 && match_here(rest, hay, i),
        Tok::End => i == hay.len() && match_here(rest, hay, i),
        Tok::Gap => (i..=hay.len()).any(|k| match_here(rest, hay, k)),
        Tok::Digit => hay.get(i).is_some_and(u8::is_ascii_digit) && match_here(rest, hay, i + 1),
        Tok::Digits => {
            let n = hay
                .get(i..)
                .map_or(0, |h| h.iter().take_while(|b| b.is_ascii_digit()).count());
            (1..=n).rev().any(|k| match_here(rest, hay, i + k))
        }
        Tok::NotByte(b) => hay.get(i).is_some_and(|&c| c != b) && match_here(rest, hay, i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Tok::*;

    #[test]
    fn tokens_match_as_the_regular_expressions_do() {
        let yes = |toks: &[Tok], hay: &str| assert!(matches(toks, hay.as_bytes()), "{hay}");
        let no = |toks: &[Tok], hay: &str| assert!(!matches(toks, hay.as_bytes()), "{hay}");
        // AdsBot-Google([^-]|$)
        let ads1 = [Lit("AdsBot-Google"), NotByte(b'-')];
        let ads2 = [Lit("AdsBot-Google"), End];
        yes(&ads1, "AdsBot-Google (+http://www.google.com/adsbot.html)");
        yes(&ads2, "AdsBot-Google");
        no(&ads1, "AdsBot-Google-Mobile");
        no(&ads2, "AdsBot-Google-Mobile");
        // ^curl
        yes(&[Start, Lit("curl")], "curl/8.5.0");
        no(&[Start, Lit("curl")], "Mozilla/5.0 curl");
        // BlogTraffic\/\d\.\d+ Feed-Fetcher
        let blog = [
            Lit("BlogTraffic/"),
            Digit,
            Lit("."),
            Digits,
            Lit(" Feed-Fetcher"),
        ];
        yes(&blog, "BlogTraffic/1.42 Feed-Fetcher");
        no(&blog, "BlogTraffic/1. Feed-Fetcher");
        // Spider[\s\S]*spider\.com
        let spider = [Lit("Spider"), Gap, Lit("spider.com")];
        yes(&spider, "Mozilla Spider (+https://spider.com)");
        yes(&spider, "Spiderspider.com");
        no(&spider, "spider.com Spider");
        // A literal found twice, the second occurrence the one that matches.
        yes(&[Lit("ab"), End], "ab ab");
    }

    #[test]
    fn the_most_specific_entry_names_the_crawler() {
        let c =
            crawler_of("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
                .expect("Googlebot is listed");
        assert_eq!((c.name, c.category), ("Googlebot", BotReason::SearchEngine));
        let c = crawler_of("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)")
            .expect("GPTBot is listed");
        assert_eq!(c.category, BotReason::AiCrawler);
        assert!(crawler_of("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36").is_none());
    }
}
