//! The engaged-time clock: a pure state machine driven by events with explicit timestamps.
//!
//! Time counts only while the document is visible AND the window has focus AND there was
//! input within `idle_timeout_ms`. Becoming visible or focused counts as input. The clock
//! never reads a clock of its own: the tracker passes `performance.now()`-style times, and
//! tests pass simulated ones.
//!
//! Accounting is lazy: each call first credits the time since the previous call under the
//! state that held during it, then applies the change. So the answer is exact at every
//! event, whatever the spacing of events, and no timer is needed to stop counting when the
//! reader walks away: the idle deadline caps the credit.

#[derive(Debug, Clone, PartialEq)]
pub struct EngagementClock {
    idle_timeout_ms: i64,
    visible: bool,
    focused: bool,
    /// Time of the last input, if any.
    last_input: Option<i64>,
    /// Everything before this instant has been credited (or deliberately not).
    accounted_until: i64,
    /// Credited but not yet taken.
    pending_ms: u64,
}

impl EngagementClock {
    /// A clock starting at `now` in the given state. A page that starts visible and focused
    /// counts its load as input.
    pub fn new(now: i64, idle_timeout_ms: i64, visible: bool, focused: bool) -> Self {
        EngagementClock {
            idle_timeout_ms: idle_timeout_ms.max(0),
            visible,
            focused,
            last_input: (visible && focused).then_some(now),
            accounted_until: now,
            pending_ms: 0,
        }
    }

    /// Credits engaged time from `accounted_until` to `now` under the current state.
    fn accrue(&mut self, now: i64) {
        if now <= self.accounted_until {
            // A clock that went backwards credits nothing and does not move the mark back.
            return;
        }
        if self.visible && self.focused {
            if let Some(input) = self.last_input {
                let engaged_until = now.min(input.saturating_add(self.idle_timeout_ms));
                if engaged_until > self.accounted_until {
                    self.pending_ms += (engaged_until - self.accounted_until) as u64;
                }
            }
        }
        self.accounted_until = now;
    }

    /// Pointer, key, wheel, touch or scroll input.
    pub fn input(&mut self, now: i64) {
        self.accrue(now);
        if now >= self.accounted_until {
            self.last_input = Some(self.last_input.map_or(now, |t| t.max(now)));
        }
    }

    pub fn set_visible(&mut self, now: i64, visible: bool) {
        self.accrue(now);
        let became = visible && !self.visible;
        self.visible = visible;
        if became {
            self.input(now);
        }
    }

    pub fn set_focused(&mut self, now: i64, focused: bool) {
        self.accrue(now);
        let became = focused && !self.focused;
        self.focused = focused;
        if became {
            self.input(now);
        }
    }

    /// Whether time is being counted at `now` (for "flush while engaged").
    pub fn is_engaged(&self, now: i64) -> bool {
        self.visible
            && self.focused
            && self
                .last_input
                .is_some_and(|t| now < t.saturating_add(self.idle_timeout_ms))
    }

    /// Engaged milliseconds credited up to `now` and not taken before: the delta to send.
    pub fn take(&mut self, now: i64) -> u64 {
        self.accrue(now);
        std::mem::take(&mut self.pending_ms)
    }

    /// Credited time not yet taken, as of the last event (no accrual).
    pub fn pending(&self) -> u64 {
        self.pending_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_issue_scenario_input_hidden_idle() {
        // idleTimeoutMs 1000: input for 3 s, hidden for 2 s, idle for 3 s → 4 s.
        let mut c = EngagementClock::new(0, 1000, true, true);
        for t in (0..=3000).step_by(100) {
            c.input(t);
        }
        c.set_visible(3000, false);
        c.set_visible(5000, true);
        assert_eq!(c.take(8000), 3000 + 1000);
    }

    #[test]
    fn a_reader_who_left_the_desk_stops_counting_at_the_idle_timeout() {
        let mut c = EngagementClock::new(0, 15_000, true, true);
        c.input(10_000);
        assert!(c.is_engaged(20_000));
        assert!(!c.is_engaged(25_000));
        assert_eq!(c.take(600_000), 25_000);
    }

    #[test]
    fn blur_stops_and_focus_restarts() {
        let mut c = EngagementClock::new(0, 10_000, true, true);
        c.set_focused(2_000, false);
        c.input(3_000); // input while unfocused cannot count
        c.set_focused(50_000, true);
        assert_eq!(c.take(52_000), 2_000 + 2_000);
    }

    #[test]
    fn deltas_add_up_and_do_not_repeat() {
        let mut c = EngagementClock::new(0, 5_000, true, true);
        assert_eq!(c.take(1_000), 1_000);
        assert_eq!(c.take(1_000), 0);
        c.input(1_500);
        assert_eq!(c.take(4_000), 3_000);
    }

    #[test]
    fn a_page_loaded_in_the_background_counts_nothing_until_shown() {
        let mut c = EngagementClock::new(0, 5_000, false, false);
        c.input(100);
        assert_eq!(c.take(10_000), 0);
        c.set_visible(10_000, true);
        c.set_focused(10_000, true);
        assert_eq!(c.take(11_000), 1_000);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Input,
        Visible(bool),
        Focused(bool),
        Take,
    }

    fn steps() -> impl Strategy<Value = Vec<(i64, Step)>> {
        let step = prop_oneof![
            4 => Just(Step::Input),
            1 => any::<bool>().prop_map(Step::Visible),
            1 => any::<bool>().prop_map(Step::Focused),
            1 => Just(Step::Take),
        ];
        // Gaps may be negative: clocks are not always monotonic.
        proptest::collection::vec((-50i64..5_000, step), 0..60)
    }

    proptest! {
        #[test]
        fn never_more_than_wall_time_and_never_while_hidden(
            idle in 0i64..20_000,
            start_visible in any::<bool>(),
            steps in steps(),
        ) {
            let mut c = EngagementClock::new(0, idle, start_visible, true);
            let mut now = 0i64;
            let mut high = 0i64;
            let mut taken = 0u64;
            for (gap, step) in steps {
                now += gap;
                let hidden_before = !c.visible;
                let before = taken + c.pending();
                let from = high;
                match step {
                    Step::Input => c.input(now),
                    Step::Visible(v) => c.set_visible(now, v),
                    Step::Focused(f) => c.set_focused(now, f),
                    Step::Take => taken += c.take(now),
                }
                let after = taken + c.pending();
                // Credit over an interval never exceeds its length…
                prop_assert!(after - before <= (now - from).max(0) as u64);
                // …and is zero across an interval spent hidden.
                if hidden_before {
                    prop_assert_eq!(after, before);
                }
                high = high.max(now);
            }
            taken += c.take(now);
            prop_assert!(taken <= high.max(0) as u64);
        }

        /// The tracker's JS entry passes input on at most every `every` ms (leading edge)
        /// and holds the latest input in between, handing it over before any other call.
        /// With `every` ≤ the idle timeout that gives exactly the engaged time of passing
        /// every input: each input held back lies within the idle window of one passed on.
        #[test]
        fn coalescing_inputs_as_the_js_entry_does_changes_nothing(
            idle in 1i64..20_000,
            every in 1i64..500,
            steps in proptest::collection::vec((0i64..800, prop_oneof![
                6 => Just(Step::Input),
                1 => any::<bool>().prop_map(Step::Visible),
                1 => any::<bool>().prop_map(Step::Focused),
                1 => Just(Step::Take),
            ]), 0..80),
        ) {
            let every = every.min(idle);
            let mut all = EngagementClock::new(0, idle, true, true);
            let mut coalesced = all.clone();
            let (mut sent, mut held): (Option<i64>, Option<i64>) = (None, None);
            let (mut all_taken, mut coalesced_taken) = (0u64, 0u64);
            let mut now = 0i64;
            for (gap, step) in steps {
                now += gap;
                if let Step::Input = step {
                    all.input(now);
                    if sent.is_none_or(|s| now - s >= every) {
                        if let Some(h) = held.take() {
                            coalesced.input(h);
                        }
                        coalesced.input(now);
                        sent = Some(now);
                    } else {
                        held = Some(now);
                    }
                    continue;
                }
                if let Some(h) = held.take() {
                    coalesced.input(h);
                }
                match step {
                    Step::Visible(v) => {
                        all.set_visible(now, v);
                        coalesced.set_visible(now, v);
                    }
                    Step::Focused(f) => {
                        all.set_focused(now, f);
                        coalesced.set_focused(now, f);
                    }
                    _ => {
                        all_taken += all.take(now);
                        coalesced_taken += coalesced.take(now);
                    }
                }
                prop_assert_eq!(all_taken, coalesced_taken);
            }
            if let Some(h) = held.take() {
                coalesced.input(h);
            }
            let end = now + 30_000;
            prop_assert_eq!(all_taken + all.take(end), coalesced_taken + coalesced.take(end));
        }
    }
}
