//! The session listing: query parameters, cursors, and which index shards to ask.
//!
//! `GET /api/sessions` walks the months of the range from the newest, asking each month's
//! rollup and then the shards of the days it does not hold yet for up to `limit` sessions
//! before the cursor, and stops as soon as a page is full (the walk is in the worker's
//! `read_api::list_range`). The cursor is the `(started_at, id)` of the last session
//! returned, so a page never repeats or skips a session even while new ones arrive.

use crate::protocol::is_valid_site_id;
pub use crate::query::MAX_RANGE_MS;
use crate::time::DAY_MS;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;
/// Without `from`, the listing covers the last week.
pub const DEFAULT_RANGE_MS: i64 = 7 * DAY_MS;

/// Largest time accepted in parameters: 2^53 ms, the largest integer JSON clients keep exact.
pub const MAX_TIME_MS: i64 = 1 << 53;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub site: String,
    /// Inclusive, Unix ms.
    pub from: i64,
    /// Exclusive, Unix ms.
    pub to: i64,
    pub limit: u32,
    pub include_bots: bool,
    /// Resume strictly before this `(started_at, id)`.
    pub cursor: Option<(i64, String)>,
    /// Only sessions that match (see [`crate::query`]).
    pub filters: Filters,
}

pub use crate::query::{Filters, ParamError};

impl ListParams {
    /// Parses the query string's pairs; `now` is the collector's clock.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        now: i64,
    ) -> Result<Self, ParamError> {
        Self::parse_except(pairs, now, &[])
    }

    /// [`Self::parse`], leaving the parameters named in `except` to the caller (a
    /// breakdown's `goal` and `limit` mean something else there). Any other parameter that
    /// is not a filter is an error naming it.
    pub fn parse_except<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        now: i64,
        except: &[&str],
    ) -> Result<Self, ParamError> {
        let (mut site, mut from, mut to, mut limit, mut bots, mut cursor) =
            (None, None, None, None, None, None);
        let mut filters = Filters::default();
        for (k, v) in pairs {
            if except.contains(&k) {
                continue;
            }
            match k {
                "site" => site = Some(v),
                "from" => from = Some(int_param("from", v)?),
                "to" => to = Some(int_param("to", v)?),
                "limit" => limit = Some(int_param("limit", v)?),
                "bots" => bots = Some(v),
                "cursor" => {
                    cursor = Some(decode_cursor(v).ok_or_else(|| {
                        ParamError("cursor: not a cursor this API returned".into())
                    })?)
                }
                // A parameter that is neither the listing's nor a filter is refused: a
                // misspelled filter (`contry=DE`) would otherwise answer unfiltered.
                _ => {
                    if !filters.parse_pair(k, v)? {
                        return Err(ParamError(format!("{k}: unknown parameter")));
                    }
                }
            }
        }
        let site = site.ok_or_else(|| ParamError("site: missing".into()))?;
        if !is_valid_site_id(site) {
            return Err(ParamError("site: not a valid site id".into()));
        }
        let to = to.unwrap_or(now + 1);
        if !(0..=MAX_TIME_MS).contains(&to) {
            return Err(ParamError("to: must be a time in Unix milliseconds".into()));
        }
        let from = from.unwrap_or(to - DEFAULT_RANGE_MS);
        if !(0..=MAX_TIME_MS).contains(&from) {
            return Err(ParamError(
                "from: must be a time in Unix milliseconds".into(),
            ));
        }
        if let Some((t, _)) = &cursor {
            if !(0..=MAX_TIME_MS).contains(t) {
                return Err(ParamError("cursor: not a cursor this API returned".into()));
            }
        }
        if from >= to {
            return Err(ParamError("from: must be before to".into()));
        }
        if to - from > MAX_RANGE_MS {
            return Err(ParamError(format!(
                "from: range longer than {} days",
                crate::query::MAX_RANGE_DAYS
            )));
        }
        let limit = limit.unwrap_or(i64::from(DEFAULT_LIMIT));
        if !(1..=i64::from(MAX_LIMIT)).contains(&limit) {
            return Err(ParamError(format!(
                "limit: must be between 1 and {MAX_LIMIT}"
            )));
        }
        let include_bots = match bots {
            None | Some("exclude") => false,
            Some("include") => true,
            Some(_) => return Err(ParamError("bots: must be include or exclude".into())),
        };
        Ok(ListParams {
            site: site.to_string(),
            from,
            to,
            limit: limit as u32,
            include_bots,
            cursor,
            filters,
        })
    }

    /// The position the first shard query starts before.
    pub fn start(&self) -> Position {
        match &self.cursor {
            Some((t, id)) if *t < self.to => Position {
                started_at: *t,
                id: id.clone(),
            },
            _ => Position {
                started_at: self.to,
                id: String::new(),
            },
        }
    }
}

/// Where a shard's part of a listing starts: strictly before this `(started_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "collector", derive(serde::Serialize, serde::Deserialize))]
pub struct Position {
    pub started_at: i64,
    pub id: String,
}

impl Position {
    /// Before every session of UTC day `day` and later: where the walk goes on once a day
    /// has given all it has.
    pub fn day_start(day: i64) -> Self {
        Position {
            started_at: day * DAY_MS,
            id: String::new(),
        }
    }
}

/// A listing page, filled from the days the walk visits newest first: each day's shards
/// answer up to [`Self::want`] rows each, newest first, and the page keeps the newest of
/// them all. Sorting by `(started_at, id)` descending across shards is what makes the cursor
/// exact: no session is repeated or skipped between pages.
#[derive(Debug)]
pub struct PageBuilder<T> {
    limit: usize,
    rows: Vec<T>,
}

impl<T> PageBuilder<T> {
    pub fn new(limit: u32) -> Self {
        PageBuilder {
            limit: limit as usize,
            rows: Vec::new(),
        }
    }

    /// How many more rows the page needs.
    pub fn want(&self) -> u32 {
        (self.limit - self.rows.len().min(self.limit)) as u32
    }

    pub fn is_full(&self) -> bool {
        self.rows.len() >= self.limit
    }

    /// Adds one day's answers, one list per shard.
    pub fn add_day(&mut self, shards: Vec<Vec<T>>, position: impl Fn(&T) -> Position) {
        let want = self.want() as usize;
        let mut day: Vec<T> = shards.into_iter().flatten().collect();
        day.sort_by_key(|row| std::cmp::Reverse(position(row)));
        day.truncate(want);
        self.rows.extend(day);
    }

    /// The page and, when it is full, the cursor of the next one.
    pub fn finish(self, position: impl Fn(&T) -> Position) -> (Vec<T>, Option<String>) {
        let next = if self.is_full() {
            self.rows.last().map(|last| {
                let p = position(last);
                encode_cursor(p.started_at, &p.id)
            })
        } else {
            None
        };
        (self.rows, next)
    }
}

fn int_param(name: &str, v: &str) -> Result<i64, ParamError> {
    v.parse::<i64>()
        .map_err(|_| ParamError(format!("{name}: must be an integer")))
}

/// Opaque to clients; `<started_at>.<id>`.
pub fn encode_cursor(started_at: i64, id: &str) -> String {
    format!("{started_at}.{id}")
}

/// A cursor's position; the ID is a session's, or empty for "everything that started before
/// `started_at`" (where a listing ran out of subrequests at a month's start).
pub fn decode_cursor(s: &str) -> Option<(i64, String)> {
    let (t, id) = s.split_once('.')?;
    let t = t.parse().ok()?;
    (id.is_empty() || crate::protocol::is_uuid_v4(id)).then(|| (t, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_732_390_000_000;

    fn parse(q: &[(&str, &str)]) -> Result<ListParams, ParamError> {
        ListParams::parse(q.iter().copied(), NOW)
    }

    #[test]
    fn defaults_cover_the_last_week_fifty_at_a_time_without_bots() {
        let p = parse(&[("site", "demo")]).unwrap();
        assert_eq!(
            (p.to, p.from, p.limit, p.include_bots),
            (NOW + 1, NOW + 1 - DEFAULT_RANGE_MS, 50, false)
        );
    }

    #[test]
    fn wrong_parameters_are_named() {
        let err = |q: &[(&str, &str)]| parse(q).unwrap_err().0;
        assert!(err(&[]).starts_with("site:"));
        assert!(err(&[("site", "demo"), ("limit", "0")]).starts_with("limit:"));
        assert!(err(&[("site", "demo"), ("limit", "201")]).starts_with("limit:"));
        assert!(err(&[("site", "demo"), ("from", "x")]).starts_with("from:"));
        assert!(err(&[("site", "demo"), ("from", "10"), ("to", "5")]).starts_with("from:"));
        // A misspelled filter is refused, not ignored (which would answer unfiltered).
        assert_eq!(
            err(&[("site", "demo"), ("contry", "DE")]),
            "contry: unknown parameter"
        );
        assert_eq!(
            err(&[("site", "demo"), ("bot", "include")]),
            "bot: unknown parameter"
        );
        assert!(parse(&[("site", "demo"), ("country!", "DE"), ("page~", "blog")]).is_ok());
        assert!(err(&[("site", "demo"), ("cursor", "abc")]).starts_with("cursor:"));
        assert!(err(&[("site", "demo"), ("bots", "yes")]).starts_with("bots:"));
        assert!(err(&[("site", "demo"), ("from", "-5"), ("to", "10")]).starts_with("from:"));
        assert!(err(&[("site", "demo"), ("channel", "tv")]).starts_with("channel:"));
        assert!(err(&[("site", "demo"), ("country", "de")]).starts_with("country:"));
        assert!(err(&[("site", "demo"), ("device", "watch")]).starts_with("device:"));
        let ok = parse(&[
            ("site", "demo"),
            ("channel", "search"),
            ("country", "DE"),
            ("device", "mobile"),
        ])
        .unwrap();
        assert_eq!(ok.filters.0.len(), 3);
        assert!(err(&[("site", "demo"), ("to", "9223372036854775807")]).starts_with("to:"));
        let min_cursor = "-9223372036854775808.0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e";
        assert!(err(&[("site", "demo"), ("cursor", min_cursor)]).starts_with("cursor:"));
    }

    #[test]
    fn cursors_round_trip_and_start_the_walk() {
        let id = "0b5f0c54-1e9c-4a8e-9d3a-2f8f0a6c1b7e";
        let c = encode_cursor(NOW - 5, id);
        let p = parse(&[("site", "demo"), ("cursor", &c)]).unwrap();
        assert_eq!(
            p.start(),
            Position {
                started_at: NOW - 5,
                id: id.to_string()
            }
        );
        // A month's start, where a listing ran out of subrequests: everything before it.
        let month = parse(&[("site", "demo"), ("cursor", "1730419200000.")]).unwrap();
        assert_eq!(month.start(), pos(1_730_419_200_000, ""));
        for bad in [
            "1730419200000.x",
            "1730419200000",
            ".",
            "x.",
            "1.0B5F0C54-1E9C-4A8E-9D3A-2F8F0A6C1B7E",
        ] {
            assert!(
                parse(&[("site", "demo"), ("cursor", bad)]).is_err(),
                "{bad}"
            );
        }
    }

    fn pos(started_at: i64, id: &str) -> Position {
        Position {
            started_at,
            id: id.to_string(),
        }
    }

    /// Shards answer newest first with up to `want` rows each; the page keeps the newest
    /// across them, and walking page after page by cursor gives every row once, in order.
    #[test]
    fn pages_across_shards_and_days_repeat_and_skip_nothing() {
        // Two days, three shards; equal start times broken by id.
        let day0 = 20_000;
        let rows: Vec<Position> = (0..23)
            .map(|i| {
                pos(
                    day0 * DAY_MS + (i / 2) * 1_000 + i % 5 * DAY_MS / 3,
                    &format!("{i:02}"),
                )
            })
            .collect();
        let shard_of = |p: &Position| p.id.as_bytes()[1] as usize % 3;
        let mut all = rows.clone();
        all.sort_by(|a, b| b.cmp(a));
        let mut seen = Vec::new();
        let mut before = pos(i64::MAX, "");
        loop {
            let mut page = PageBuilder::new(4);
            for day in [day0 + 1, day0] {
                let in_day =
                    |p: &&Position| crate::time::utc_day(p.started_at) == day && **p < before;
                let shards: Vec<Vec<Position>> = (0..3)
                    .map(|s| {
                        let mut mine: Vec<Position> = rows
                            .iter()
                            .filter(in_day)
                            .filter(|p| shard_of(p) == s)
                            .cloned()
                            .collect();
                        mine.sort_by(|a, b| b.cmp(a));
                        mine.truncate(page.want() as usize);
                        mine
                    })
                    .collect();
                page.add_day(shards, Position::clone);
                if page.is_full() {
                    break;
                }
                before = before.clone().min(Position::day_start(day));
            }
            let (got, next) = page.finish(Position::clone);
            seen.extend(got.iter().cloned());
            match next {
                Some(cursor) => {
                    let (t, id) = cursor.split_once('.').unwrap();
                    before = pos(t.parse().unwrap(), id);
                    assert_eq!(&before, got.last().unwrap());
                }
                None => break,
            }
        }
        assert_eq!(seen, all);
    }
}
