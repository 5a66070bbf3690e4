//! The tracker's rules for friction and speed signals (SPEC "Friction and speed signals"),
//! pure so they are tested natively: when clicks are a rage click, when a click is dead,
//! what an error's type may be called, how layout shifts add up to CLS and interactions to
//! INP. The page only reports what it saw (a click on an element, a DOM change, a
//! PerformanceObserver entry); these decide what is sent.

use crate::protocol::{Element, Vitals, MAX_CLS, MAX_ELEMENT_CHARS, MAX_SIGNAL_NAME_CHARS};
use crate::text::truncate_chars;

/// Clicks on one element within [`RAGE_WINDOW_MS`] that make a rage click.
pub const RAGE_CLICKS: usize = 3;
pub const RAGE_WINDOW_MS: i64 = 1_000;
/// How long after a click on a button-like element nothing may change for it to be dead.
pub const DEAD_AFTER_MS: i64 = 1_000;
/// Interactions per INP step: with n interactions, INP is the (n / 50 + 1)-th longest, so
/// one very slow outlier in a long session does not stand for the page (as Chrome's INP).
const INTERACTIONS_PER_STEP: u32 = 50;
const KEPT_INTERACTIONS: usize = 10;
/// Layout shifts less than this apart share a session window, which lasts at most
/// [`CLS_WINDOW_MS`]; CLS is the largest window's sum.
const CLS_GAP_MS: f64 = 1_000.0;
const CLS_WINDOW_MS: f64 = 5_000.0;

/// The element a click was on, from the page's reading of it: tag, `id`, first class and
/// `data-stint-name` (empty where absent), bounded as the wire protocol bounds them.
#[allow(clippy::single_char_add_str)] // deliberately: see below
pub fn element(tag: &str, id: &str, class: &str, name: &str) -> Element {
    let mut el = String::from(truncate_chars(tag, 32));
    // `push_str` of one-byte strings and a byte test, not `push(char)` and a char
    // predicate: those bring a UTF-8 encoder and a char iterator into the tracker's module.
    if !id.is_empty() {
        el.push_str("#");
        el.push_str(truncate_chars(id, 64));
    }
    if !class.is_empty() {
        el.push_str(".");
        el.push_str(class);
    }
    // The wire wants a tag first; a page that reports none gets one.
    if !el.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
        el.insert_str(0, "x");
    }
    Element {
        el: truncate_chars(&el, MAX_ELEMENT_CHARS).to_string(),
        name: (!name.is_empty()).then(|| truncate_chars(name, MAX_SIGNAL_NAME_CHARS).to_string()),
    }
}

/// What an error's type is sent as: its name when it looks like a type name (letters,
/// digits, `_`, `$`, `.`), else `Error` — a thrown string or an object with a made-up name
/// could carry anything, and no message may leave the page.
pub fn error_name(name: &str) -> &str {
    let ok = !name.is_empty()
        && name.len() <= MAX_SIGNAL_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'));
    if ok {
        name
    } else {
        "Error"
    }
}

/// Finds rage clicks: [`RAGE_CLICKS`] clicks on one element within [`RAGE_WINDOW_MS`]. A
/// burst goes on while each click comes within the window of the one before; it is one
/// rage click however long it lasts.
#[derive(Debug, Default)]
pub struct RageClicks {
    element: String,
    /// The latest [`RAGE_CLICKS`] click times, oldest first; `clicks` in the burst so far.
    /// (Fixed arrays, not `Vec`s, here and in [`PageSpeed`]: every byte of code counts in
    /// the tracker.)
    times: [i64; RAGE_CLICKS],
    clicks: usize,
    reported: bool,
}

impl RageClicks {
    /// A click on `element` (its identifying text) at `at` ms; true when this click makes
    /// the burst a rage click.
    pub fn click(&mut self, element: &str, at: i64) -> bool {
        let last = self.times[RAGE_CLICKS - 1];
        let goes_on = self.clicks > 0 && self.element == element && at - last <= RAGE_WINDOW_MS;
        if !goes_on {
            self.element.clear();
            self.element.push_str(element);
            self.clicks = 0;
            self.reported = false;
        }
        self.times.copy_within(1.., 0);
        self.times[RAGE_CLICKS - 1] = at;
        self.clicks += 1;
        let rage =
            !self.reported && self.clicks >= RAGE_CLICKS && at - self.times[0] <= RAGE_WINDOW_MS;
        self.reported |= rage;
        rage
    }
}

/// Finds dead clicks: the latest click on a button-like element waits [`DEAD_AFTER_MS`];
/// a DOM change or a navigation in that time clears it.
#[derive(Debug, Default)]
pub struct DeadClicks {
    waiting: Option<(Element, i64)>,
}

impl DeadClicks {
    pub fn click(&mut self, element: Element, at: i64) {
        self.waiting = Some((element, at));
    }

    /// Something changed (the DOM, the page): the click did something.
    pub fn changed(&mut self) {
        self.waiting = None;
    }

    /// The time has come to look (a timer the page set after the click): the element of a
    /// click that waited [`DEAD_AFTER_MS`] with nothing changing, once.
    pub fn settle(&mut self, now: i64) -> Option<Element> {
        match &self.waiting {
            Some((_, at)) if now - at >= DEAD_AFTER_MS => self.waiting.take().map(|(e, _)| e),
            _ => None,
        }
    }
}

/// What a page's PerformanceObserver entries tell, by the code the page passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vital {
    /// Navigation timing's `responseStart`.
    Ttfb,
    /// The `first-contentful-paint` paint entry's `startTime`.
    Fcp,
    /// A `largest-contentful-paint` candidate's `startTime` (the last one counts).
    Lcp,
    /// Navigation timing's `loadEventEnd`.
    Load,
    /// A `layout-shift` without recent input: its value, at its `startTime`.
    Shift,
    /// An `event` entry of an interaction: its duration, with its `interactionId`.
    Interaction,
}

impl Vital {
    pub const ALL: [Vital; 6] = [
        Vital::Ttfb,
        Vital::Fcp,
        Vital::Lcp,
        Vital::Load,
        Vital::Shift,
        Vital::Interaction,
    ];

    pub fn from_code(code: u32) -> Option<Vital> {
        Vital::ALL.get(code as usize).copied()
    }
}

/// One page's speed as its entries arrive. TTFB, FCP, LCP and load are taken only on the
/// first page of a load (a SPA page has none of its own).
#[derive(Debug)]
pub struct PageSpeed {
    first_of_load: bool,
    ttfb: Option<u32>,
    fcp: Option<u32>,
    lcp: Option<u32>,
    load: Option<u32>,
    window_start: f64,
    window_last: f64,
    window_sum: f64,
    cls: Option<f64>,
    interactions: u32,
    last_interaction: u64,
    /// The longest interactions, longest first: (duration, interactionId), `kept` of them.
    longest: [(u32, u64); KEPT_INTERACTIONS],
    kept: usize,
    /// What was last sent, so only a change is sent again.
    sent: Vitals,
}

fn ms(value: f64) -> Option<u32> {
    (value.is_finite() && value >= 0.0).then(|| value.round().min(600_000.0) as u32)
}

impl Default for PageSpeed {
    fn default() -> PageSpeed {
        PageSpeed::new(false)
    }
}

impl PageSpeed {
    pub fn new(first_of_load: bool) -> PageSpeed {
        // Every field spelled out: a derived `Default` brings a generic array default into
        // the tracker's module.
        PageSpeed {
            first_of_load,
            ttfb: None,
            fcp: None,
            lcp: None,
            load: None,
            window_start: 0.0,
            window_last: 0.0,
            window_sum: 0.0,
            cls: None,
            interactions: 0,
            last_interaction: 0,
            longest: [(0, 0); KEPT_INTERACTIONS],
            kept: 0,
            sent: Vitals::default(),
        }
    }

    /// An entry: `value` and `extra` as [`Vital`] says.
    pub fn note(&mut self, vital: Vital, value: f64, extra: f64) {
        let first = self.first_of_load;
        match vital {
            Vital::Ttfb if first => self.ttfb = ms(value).filter(|v| *v > 0).or(self.ttfb),
            Vital::Fcp if first => self.fcp = self.fcp.or(ms(value)),
            Vital::Lcp if first => self.lcp = ms(value).max(self.lcp),
            Vital::Load if first => self.load = ms(value).filter(|v| *v > 0).or(self.load),
            Vital::Shift if value.is_finite() && value >= 0.0 => self.shift(value, extra),
            Vital::Interaction if value.is_finite() && extra >= 1.0 => {
                self.interaction(ms(value).unwrap_or(0), extra as u64)
            }
            _ => {}
        }
    }

    fn shift(&mut self, value: f64, at: f64) {
        let joins = self.window_sum > 0.0
            && at - self.window_last < CLS_GAP_MS
            && at - self.window_start < CLS_WINDOW_MS;
        if joins {
            self.window_sum += value;
        } else {
            self.window_start = at;
            self.window_sum = value;
        }
        self.window_last = at;
        // As the wire bounds it (a page that shifts that much is broken either way).
        let sum = ((self.window_sum * 10_000.0).round() / 10_000.0).min(MAX_CLS);
        self.cls = Some(self.cls.map_or(sum, |c| c.max(sum)));
    }

    fn interaction(&mut self, duration: u32, id: u64) {
        // The entries of one interaction (pointerdown, pointerup, click) share its id.
        if id > self.last_interaction {
            self.interactions += 1;
            self.last_interaction = id;
        }
        let mut duration = duration;
        let kept = &mut self.longest[..self.kept];
        if let Some(at) = kept.iter().position(|(_, i)| *i == id) {
            duration = duration.max(kept[at].0);
            kept.copy_within(at + 1.., at);
            self.kept -= 1;
        }
        // Longest first: an insertion, the shortest falling off the end.
        let at = self.longest[..self.kept].partition_point(|(d, _)| *d >= duration);
        if at < KEPT_INTERACTIONS {
            let end = (self.kept + 1).min(KEPT_INTERACTIONS);
            self.longest.copy_within(at..end - 1, at + 1);
            self.longest[at] = (duration, id);
            self.kept = end;
        }
    }

    /// The figures so far.
    pub fn vitals(&self) -> Vitals {
        let step = (self.interactions / INTERACTIONS_PER_STEP) as usize;
        let inp = self.longest[..self.kept]
            .get(step.min(self.kept.saturating_sub(1)))
            .map(|(d, _)| *d);
        Vitals {
            ttfb: self.ttfb,
            fcp: self.fcp,
            lcp: self.lcp,
            load: self.load,
            inp,
            cls: self.cls,
        }
    }

    /// The figures, when they changed since last taken.
    pub fn take_changed(&mut self) -> Option<Vitals> {
        let now = self.vitals();
        if now.is_empty() || now == self.sent {
            return None;
        }
        self.sent = now;
        Some(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_quick_clicks_on_one_element_are_one_rage_click() {
        let mut r = RageClicks::default();
        let clicks = [0, 200, 400, 600, 800, 1_000];
        let rage: Vec<bool> = clicks.iter().map(|t| r.click("button#buy", *t)).collect();
        assert_eq!(rage, [false, false, true, false, false, false]);
        // A pause, then another burst: a second rage click.
        assert!(!r.click("button#buy", 2_500));
        assert!(!r.click("button#buy", 2_600));
        assert!(r.click("button#buy", 2_700));
    }

    #[test]
    fn steady_or_mixed_clicks_are_not_rage() {
        let mut r = RageClicks::default();
        // One click every 600 ms: three take 1.2 s.
        assert!((0..6).all(|i| !r.click("a.next", i * 600)));
        // Three clicks within a second on two elements.
        let mut r = RageClicks::default();
        assert!(!r.click("button#a", 0));
        assert!(!r.click("button#b", 100));
        assert!(!r.click("button#a", 200));
    }

    #[test]
    fn a_click_is_dead_only_when_nothing_changed_for_a_second() {
        let el = |n: &str| element("button", n, "", "");
        let mut d = DeadClicks::default();
        d.click(el("save"), 100);
        assert_eq!(d.settle(1_099), None);
        assert_eq!(d.settle(1_100), Some(el("save")));
        assert_eq!(d.settle(2_000), None, "once");
        d.click(el("open"), 3_000);
        d.changed();
        assert_eq!(d.settle(4_000), None);
        // The first click's timer comes while a later click waits: not yet.
        d.click(el("a"), 5_000);
        d.click(el("b"), 5_400);
        assert_eq!(d.settle(6_000), None);
        assert_eq!(d.settle(6_400), Some(el("b")));
    }

    #[test]
    fn elements_are_named_by_tag_id_class_and_name_only() {
        let e = element("button", "buy", "btn", "checkout-pay");
        assert_eq!(
            (e.el.as_str(), e.label()),
            ("button#buy.btn", "checkout-pay")
        );
        assert_eq!(element("div", "", "card", "").el, "div.card");
        assert_eq!(element("a", "", "", "").label(), "a");
        let long = element("div", &"i".repeat(200), &"c".repeat(200), "");
        assert!(long.el.chars().count() <= MAX_ELEMENT_CHARS);
    }

    #[test]
    fn error_names_are_type_names_or_error() {
        assert_eq!(error_name("TypeError"), "TypeError");
        assert_eq!(error_name("UnhandledRejection"), "UnhandledRejection");
        assert_eq!(error_name("card 4242 declined"), "Error");
        assert_eq!(error_name(""), "Error");
    }

    #[test]
    fn layout_shifts_add_up_in_session_windows() {
        let mut s = PageSpeed::new(true);
        s.note(Vital::Shift, 0.05, 100.0);
        s.note(Vital::Shift, 0.05, 600.0);
        // 3 s later: a new window, smaller.
        s.note(Vital::Shift, 0.02, 3_600.0);
        assert_eq!(s.vitals().cls, Some(0.1));
        // Shifts every 900 ms keep one window for at most 5 s.
        let mut s = PageSpeed::new(false);
        for i in 0..10 {
            s.note(Vital::Shift, 0.01, 10_000.0 + f64::from(i) * 900.0);
        }
        assert_eq!(s.vitals().cls, Some(0.06));
    }

    #[test]
    fn inp_is_the_longest_interaction_stepping_down_every_fifty() {
        let mut s = PageSpeed::new(false);
        // Three entries of interaction 1 (the longest counts), then interaction 2.
        s.note(Vital::Interaction, 40.0, 1.0);
        s.note(Vital::Interaction, 120.0, 1.0);
        s.note(Vital::Interaction, 56.0, 1.0);
        s.note(Vital::Interaction, 80.0, 2.0);
        assert_eq!(s.vitals().inp, Some(120));
        // 50 more interactions of 30 ms: the longest is now left out.
        for id in 3..53 {
            s.note(Vital::Interaction, 30.0, id as f64);
        }
        assert_eq!(s.vitals().inp, Some(80));
        // An entry without an interaction id is no interaction.
        let mut s = PageSpeed::new(false);
        s.note(Vital::Interaction, 500.0, 0.0);
        assert_eq!(s.vitals().inp, None);
    }

    proptest::proptest! {
        /// INP from the ten kept interactions equals INP from all of them (fewer than 500).
        #[test]
        fn kept_interactions_give_the_inp_of_all(
            entries in proptest::collection::vec((0u32..600, 1u64..40), 0..200),
        ) {
            let mut s = PageSpeed::new(false);
            let mut all = std::collections::BTreeMap::new();
            for (d, id) in &entries {
                s.note(Vital::Interaction, f64::from(*d), *id as f64);
                let e = all.entry(*id).or_insert(0u32);
                *e = (*e).max(*d);
            }
            let mut durations: Vec<u32> = all.values().copied().collect();
            durations.sort_unstable_by(|a, b| b.cmp(a));
            let counted = entries.iter().scan(0u64, |top, (_, id)| {
                let new = *id > *top;
                if new { *top = *id; }
                Some(new)
            }).filter(|n| *n).count();
            let step = (counted / 50).min(durations.len().saturating_sub(1));
            proptest::prop_assert_eq!(s.vitals().inp, durations.get(step).copied());
        }
    }

    #[test]
    fn load_figures_only_on_a_loads_first_page_and_only_changes_are_sent() {
        let mut first = PageSpeed::new(true);
        first.note(Vital::Ttfb, 120.4, 0.0);
        first.note(Vital::Fcp, 300.0, 0.0);
        first.note(Vital::Lcp, 800.0, 0.0);
        first.note(Vital::Lcp, 1_250.0, 0.0);
        first.note(Vital::Load, 1_400.0, 0.0);
        let v = first.take_changed().unwrap();
        assert_eq!(
            (v.ttfb, v.fcp, v.lcp, v.load),
            (Some(120), Some(300), Some(1_250), Some(1_400))
        );
        assert_eq!(first.take_changed(), None);
        first.note(Vital::Interaction, 64.0, 7.0);
        assert_eq!(first.take_changed().unwrap().inp, Some(64));
        let mut spa = PageSpeed::new(false);
        spa.note(Vital::Lcp, 900.0, 0.0);
        spa.note(Vital::Ttfb, 100.0, 0.0);
        assert_eq!(spa.take_changed(), None);
    }
}
