//! Month rollups: a `SessionIndex` object per site and UTC month (`site/YYYY-MM`) that
//! holds a copy of the sessions of the month's closed days, so that a read of a year asks
//! thirteen objects, not four per day.
//!
//! The rollup pulls. Its alarm walks the month's days; once a day is over (plus
//! [`ROLLUP_AFTER_MS`]) it asks each of the day's four shards for its rows, a page at a time
//! ([`hops::Deliver`]), and records in `deliveries` how far each (day, shard) has come. A
//! shard that delivered its first page passes every later change on to the rollup (a late
//! beacon, a retention delete, an erasure), so once `done` both hold the same. A shard that
//! had nothing stays empty and unmarked; if a session comes to it later, its first upsert
//! tells the rollup ([`hops::Ensure`] with the shard), which copies it again.
//!
//! A read counts only the (day, shard) pairs the rollup has completely: the others are
//! answered as pending, and the reader asks those shards itself — normally today's and
//! yesterday's, eight objects. Nothing has to be told about days before the rollup existed
//! (shards written by a release before rollups): its alarm copies every past day of its
//! month the same way, and until then they are pending.
//!
//! Retention: the rollup deletes the rows of days that left the retention period (an
//! ordinary delete, as a shard's own expiry would), and drops itself whole once all its
//! days have; an erasure rewrites it like a shard (`purge.rs`).

use crate::config;
use crate::error::ApiError;
use crate::hops::{self, HeldRow, Pending};
use crate::index_object::{
    apply_upsert, meta, read_summary, run_json_rows, send, set_meta, Counted, SessionIndex,
    UPSERT_SESSIONS_JSON,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use stint_shared::retention::shard_expires_at;
use stint_shared::shard::{index_object_name, month_object_name, rollup_due, INDEX_SHARDS};
use stint_shared::stats::{Dim, StatsRow};
use stint_shared::time::{month_start, next_month_start, utc_day, DAY_MS};

pub use stint_shared::shard::ROLLUP_AFTER_MS;

/// Rows per page of a copy (a few MB of summaries at most).
const PULL_ROWS: u32 = 1_000;

/// Pages one alarm run asks for before it re-arms (each is a subrequest).
const PULLS_PER_ALARM: u32 = 40;

/// Which month a rollup object counts.
pub(crate) struct Rollup {
    pub site: String,
    /// Its first UTC day.
    pub first: i64,
}

impl Rollup {
    fn days(&self) -> std::ops::Range<i64> {
        self.first..next_month_start(self.first)
    }

    fn name(&self) -> String {
        month_object_name(&self.site, self.first)
    }
}

/// Whether UTC day `day` has left the retention period at `now`.
fn expired(day: i64, now: i64, retention_ms: i64) -> bool {
    shard_expires_at(day * DAY_MS, retention_ms) <= now
}

fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

#[derive(Deserialize)]
struct Delivery {
    day: i64,
    shard: i64,
    after: i64,
    done: i64,
}

impl SessionIndex {
    /// The month this object rolls up, if it is a rollup.
    pub(crate) fn rollup_of(&self) -> Result<Option<Rollup>, ApiError> {
        let db = self.db();
        let (Some(site), Some(first)) = (meta(&db, "site")?, meta(&db, "month")?) else {
            return Ok(None);
        };
        Ok(first.parse().ok().map(|first| Rollup { site, first }))
    }

    /// Makes this object the rollup of `hop`'s month if it is not yet, and makes sure its
    /// alarm runs; a shard that just got its first session is copied (again).
    pub(crate) async fn ensure(&self, hop: hops::Ensure) -> Result<(), ApiError> {
        let db = self.db();
        let first = month_start(hop.day);
        let mut wake = false;
        if self.rollup_of()?.is_none() {
            set_meta(&db, "site", &hop.site)?;
            set_meta(&db, "month", &first.to_string())?;
            wake = true;
        }
        if let Some(shard) = hop.shard {
            db.run(
                "UPDATE deliveries SET done = 0, after = 0 WHERE day = ? AND shard = ?",
                vec![hop.day.into(), i64::from(shard).into()],
            )?;
            wake = wake || rollup_due(hop.day, now_ms());
        }
        let storage = self.state.storage();
        if wake || (!self.alarm_checked.get() && storage.get_alarm().await?.is_none()) {
            storage
                .set_alarm(std::time::Duration::from_millis(0))
                .await?;
        }
        self.alarm_checked.set(true);
        Ok(())
    }

    /// Which sessions a read of `[from, to)` may count here, and the (day, shard) pairs it
    /// must ask elsewhere: everything, nothing pending, in a day shard.
    pub(crate) fn coverage(&self, from: i64, to: i64) -> Result<(Counted, Pending), ApiError> {
        let Some(rollup) = self.rollup_of()? else {
            return Ok((Counted::All, Vec::new()));
        };
        let db = self.db();
        let rows: Vec<Delivery> = db.all(
            "SELECT day, shard, after, done FROM deliveries WHERE done = 1",
            vec![],
        )?;
        let mut done: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
        for r in rows {
            done.entry(r.day).or_default().insert(r.shard);
        }
        let now = now_ms();
        let retention = config::get(&self.env).retention_ms;
        let mut pending = Vec::new();
        let today = utc_day(now);
        for day in rollup.days() {
            let (start, end) = (day * DAY_MS, (day + 1) * DAY_MS);
            if end <= from || start >= to || day > today || expired(day, now, retention) {
                continue;
            }
            for shard in 0..INDEX_SHARDS {
                if !done
                    .get(&day)
                    .is_some_and(|s| s.contains(&i64::from(shard)))
                {
                    pending.push((day, shard));
                }
            }
        }
        Ok((Counted::Copied(done), pending))
    }

    /// A rollup's alarm: copy the days that are over, drop the days that expired, and set
    /// the alarm for the next of either.
    pub(crate) async fn rollup_alarm(&self, rollup: Rollup) -> Result<(), ApiError> {
        let now = now_ms();
        let retention = config::get(&self.env).retention_ms;
        let days = rollup.days();
        let mut budget = PULLS_PER_ALARM;
        let mut more = false;
        'days: for day in days.clone() {
            if expired(day, now, retention) {
                continue;
            }
            if !rollup_due(day, now) {
                break;
            }
            for shard in 0..INDEX_SHARDS {
                loop {
                    let state: Option<Delivery> = self.db().first(
                        "SELECT day, shard, after, done FROM deliveries WHERE day = ? AND shard = ?",
                        vec![day.into(), i64::from(shard).into()],
                    )?;
                    if state.as_ref().is_some_and(|d| d.done == 1) {
                        break;
                    }
                    if budget == 0 {
                        more = true;
                        break 'days;
                    }
                    budget -= 1;
                    let after = state.map_or(0, |d| d.after);
                    let page = send(
                        &self.env,
                        &index_object_name(&rollup.site, day, shard),
                        &hops::Deliver {
                            after,
                            limit: PULL_ROWS,
                            expires_at: shard_expires_at(day * DAY_MS, retention),
                            rollup: rollup.name(),
                        },
                    )
                    .await?;
                    let finished = page.next.is_none();
                    self.absorb(&page.rows)?;
                    self.db().run(
                        "INSERT OR REPLACE INTO deliveries (day, shard, after, done) \
                         VALUES (?, ?, ?, ?)",
                        vec![
                            day.into(),
                            i64::from(shard).into(),
                            page.next.unwrap_or(after).into(),
                            i64::from(finished).into(),
                        ],
                    )?;
                    if finished {
                        break;
                    }
                }
            }
        }
        // A shard that got its first session while this run was past its day asked to be
        // copied again (`ensure`): go on at once rather than at the next day's end.
        #[derive(Deserialize)]
        struct N {
            n: i64,
        }
        let reopened = self
            .db()
            .first::<N>(
                "SELECT COUNT(*) AS n FROM deliveries WHERE done = 0 AND day < ?",
                vec![days
                    .clone()
                    .find(|d| !rollup_due(*d, now))
                    .unwrap_or(days.end)
                    .into()],
            )?
            .is_some_and(|r| r.n > 0);
        more = more || reopened;
        // Days that left the retention period go.
        let keep_from = days
            .clone()
            .find(|d| !expired(*d, now, retention))
            .unwrap_or(days.end);
        if keep_from == days.end {
            return self.empty_out().await;
        }
        let db = self.db();
        if keep_from > days.start {
            let cutoff = keep_from * DAY_MS;
            db.run(
                "DELETE FROM sessions WHERE started_at < ?",
                vec![cutoff.into()],
            )?;
            db.run(
                "DELETE FROM session_stats WHERE started_at < ?",
                vec![cutoff.into()],
            )?;
            db.run("DELETE FROM tallies WHERE day < ?", vec![keep_from.into()])?;
        }
        let next_copy = days
            .clone()
            .find(|d| !rollup_due(*d, now))
            .map(|d| (d + 1) * DAY_MS + ROLLUP_AFTER_MS);
        let next_expiry = shard_expires_at(keep_from * DAY_MS, retention);
        let next = if more {
            now
        } else {
            next_copy.map_or(next_expiry, |c| c.min(next_expiry))
        };
        self.state
            .storage()
            .set_alarm(std::time::Duration::from_millis((next - now).max(0) as u64))
            .await?;
        Ok(())
    }

    /// Stores a page of copied rows: in bulk for sessions the rollup does not hold yet (the
    /// usual case), one by one for those it holds an older version of.
    fn absorb(&self, rows: &[HeldRow]) -> Result<(), ApiError> {
        #[derive(Deserialize)]
        struct Version {
            id: String,
            version: i64,
        }
        if rows.is_empty() {
            return Ok(());
        }
        let db = self.db();
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let ids = serde_json::to_string(&ids).map_err(|e| ApiError::internal("rollup ids", e))?;
        let held: BTreeMap<String, i64> = db
            .all::<Version>(
                "SELECT id, version FROM sessions WHERE id IN (SELECT value FROM json_each(?))",
                vec![ids.into()],
            )?
            .into_iter()
            .map(|v| (v.id, v.version))
            .collect();
        let mut fresh = Vec::new();
        let mut stats = Vec::new();
        let mut tallies: BTreeMap<(i64, bool, Dim, String), i64> = BTreeMap::new();
        for row in rows {
            let Some(summary) = read_summary(&row.summary) else {
                worker::console_error!("rollup: a copied summary does not read; left out");
                continue;
            };
            match held.get(&row.id) {
                Some(v) if *v >= row.version => {}
                Some(_) => apply_upsert(
                    &db,
                    row.version,
                    &summary,
                    row.journey.as_deref(),
                    row.shard,
                )?,
                None => {
                    let stats_row = StatsRow::of(&summary);
                    for t in stats_row.contributions() {
                        *tallies.entry((t.day, t.bot, t.dim, t.value)).or_default() += t.n;
                    }
                    stats.push(crate::index_object::stats_json(&row.id, &stats_row));
                    fresh.push(serde_json::json!([
                        row.id,
                        row.started_at,
                        row.bot,
                        row.version,
                        row.summary,
                        row.journey,
                        row.shard
                    ]));
                }
            }
        }
        run_json_rows(&db, UPSERT_SESSIONS_JSON, fresh)?;
        run_json_rows(&db, crate::index_object::INSERT_STATS_JSON, stats)?;
        run_json_rows(
            &db,
            crate::index_object::ADD_TALLIES_JSON,
            crate::index_object::tallies_json(tallies),
        )
    }
}
