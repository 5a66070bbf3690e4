//! `SessionIndex`: the session index, in two kinds of object of one class.
//!
//! A **day shard** (`site/YYYY-MM-DD/k`) lists the sessions that started on one UTC day and
//! hash to shard `k`. Session objects push their summary and journey here after each new
//! batch, with a version (the number of batches applied); an older version never overwrites
//! a newer one, so two pushes that cross on the network leave the newest in place.
//!
//! A **month rollup** (`site/YYYY-MM`, see `rollup.rs`) copies the sessions of each closed
//! day from its four shards and answers for them, so a read of a year asks thirteen objects
//! instead of 1,464. Once a shard has been copied it passes every later change (a late
//! beacon, a retention delete, an erasure) on to its rollup, so both hold the same.
//!
//! Both keep the same tables: `sessions` (summary, journey, and in a rollup the shard a row
//! came from), `session_stats` (the typed [`StatsRow`] of each session: what the totals
//! count, and a copy of its journey, so reads that scan journeys read one narrow table
//! instead of the summaries' and look nothing up per row) and `tallies` (those figures
//! pre-aggregated per UTC day, bot flag, dimension and value). Every rule about what a
//! session contributes is `stint_shared::stats`'s: an upsert reads the session's old row,
//! asks [`tally_moves`] what changed between it and the new one, and writes only those
//! tallies, in the same synchronous run of statements, so the tallies always equal the
//! contributions of the stored rows.
//!
//! A read ([`hops::Query`]) of whole days without filters, for totals or a series of days or
//! longer, answers from the tallies (a few hundred rows a day, however many sessions).
//! Anything else folds the matching sessions (their typed stats rows, and journeys when the
//! read needs pages or events, in pages of JSON) with `stint_shared::report` — the same
//! rules on fewer rows; filters are `stint_shared::query::Filters::matches`, in Rust, never SQL.

use crate::db::{each_row, Db, Rows};
use crate::error::ApiError;
use crate::hops::{self, serve, Class, HeldRow, Hop};
use serde::Deserialize;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use stint_shared::journey::Journey;
use stint_shared::listing::Position;
use stint_shared::query::By;
use stint_shared::report::Partial;
use stint_shared::session::SessionSummary;
use stint_shared::shard::shard_of;
use stint_shared::stats::{tally_moves, Dim, StatsRow, Tally};
use stint_shared::time::{utc_day, DAY_MS};
use stint_shared::vocab::{Channel, Device};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorageValue, State,
};

/// The version of this object's tables. 1: before versions were kept (summaries, stats rows
/// and tallies, marked by `tallies-v1` in `migrations`); 2: the version is kept in `schema`;
/// 3: browser and OS versions apart from their families, pages by path (summaries upgraded,
/// `session_stats.browser_version` / `os_version`, tallies derived again); 4: journeys,
/// last-seen times and rollups (`sessions.journey` / `last_seen_at` / `shard`, tallies per
/// UTC day in `tallies` instead of `day_tallies`, `meta`, `deliveries`); 5: the friction
/// columns of `session_stats`; 6: `session_stats.journey`, a copy of `sessions.journey`
/// written with it. An object that meets an older version migrates when it starts (see
/// [`migrate`]).
pub(crate) const SCHEMA_VERSION: i64 = 6;

const SCHEMA: [&str; 12] = [
    crate::db::SCHEMA_TABLE,
    "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, version INTEGER NOT NULL, summary TEXT NOT NULL, journey TEXT, \
     last_seen_at INTEGER, shard INTEGER)",
    "CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (started_at DESC, id DESC)",
    "CREATE TABLE IF NOT EXISTS session_stats (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, channel TEXT, country TEXT, device TEXT, browser TEXT, os TEXT, \
     entry_page TEXT, referrer_host TEXT, active_ms INTEGER NOT NULL, \
     pageviews INTEGER NOT NULL, bounce INTEGER NOT NULL, browser_version TEXT, os_version TEXT, \
     exit_page TEXT, utm_source TEXT, utm_medium TEXT, utm_campaign TEXT, \
     rage_clicks INTEGER NOT NULL DEFAULT 0, dead_clicks INTEGER NOT NULL DEFAULT 0, \
     errors INTEGER NOT NULL DEFAULT 0, forms_abandoned INTEGER NOT NULL DEFAULT 0, \
     journey TEXT)",
    "CREATE TABLE IF NOT EXISTS tallies (day INTEGER NOT NULL, bot INTEGER NOT NULL, \
     dim TEXT NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL, \
     PRIMARY KEY (day, bot, dim, value)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)",
    // The nonce of the purge that last rewrote this object (see `purge`).
    "CREATE TABLE IF NOT EXISTS purges (nonce TEXT PRIMARY KEY)",
    // Only in a `<object>/held` object: the copy a purge keeps until its rewrite is written.
    "CREATE TABLE IF NOT EXISTS held (k INTEGER PRIMARY KEY CHECK (k = 1), \
     shard TEXT NOT NULL, nonce TEXT NOT NULL, alarm INTEGER, meta TEXT, deliveries TEXT)",
    "CREATE TABLE IF NOT EXISTS held_rows (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, version INTEGER NOT NULL, summary TEXT NOT NULL, journey TEXT, \
     shard INTEGER)",
    // What kind of index object this is: in a day shard, `rollup` (the month rollup it
    // passes changes on to, once copied); in a rollup, `site` and `month` (its first day).
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
    // In a rollup: how far the copy of each (day, shard) has come; `done` once complete.
    "CREATE TABLE IF NOT EXISTS deliveries (day INTEGER NOT NULL, shard INTEGER NOT NULL, \
     after INTEGER NOT NULL, done INTEGER NOT NULL, PRIMARY KEY (day, shard)) WITHOUT ROWID",
    // Tables other releases used; kept out of the way.
    "DROP TABLE IF EXISTS day_tallies",
];

/// Stores summary rows (`id, started_at, bot, version, summary, journey, shard`) unless the
/// object holds a newer version of one: from bindings, or from a JSON array of such rows
/// (a purge's merge, a rollup's copy). `last_seen_at` is read from the summary.
macro_rules! upsert_sessions {
    ($source:literal) => {
        concat!(
            "INSERT INTO sessions (id, started_at, bot, version, summary, journey, shard, \
             last_seen_at) ",
            $source,
            " ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, \
             bot = excluded.bot, version = excluded.version, summary = excluded.summary, \
             journey = excluded.journey, shard = excluded.shard, \
             last_seen_at = excluded.last_seen_at \
             WHERE excluded.version >= sessions.version"
        )
    };
}
pub(crate) const UPSERT_SESSION: &str =
    upsert_sessions!("VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, json_extract(?5, '$.last_seen_at'))");
pub(crate) const UPSERT_SESSIONS_JSON: &str = upsert_sessions!(
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, json_extract(value ->> 4, '$.last_seen_at') FROM json_each(?) WHERE true"
);

/// A newer summary of a listed session whose start and bot flag did not change: leaves the
/// `sessions_by_start` index alone (no index row written).
const UPDATE_SUMMARY: &str = "UPDATE sessions SET version = ?1, summary = ?2, journey = ?3, \
     shard = ?4, last_seen_at = json_extract(?2, '$.last_seen_at') WHERE id = ?5";

/// The typed columns of a stats row as one JSON value, in [`StatsTuple`]'s shape (two arrays:
/// serde reads tuples of at most 16).
const STATS_JSON: &str = "json_array(json_array(started_at, bot, active_ms, pageviews, bounce, \
     entry_page, referrer_host, channel, country, device, browser, os, browser_version, \
     os_version), json_array(exit_page, utm_source, utm_medium, utm_campaign, rage_clicks, \
     dead_clicks, errors, forms_abandoned))";

/// A session's stats row ([`stats_bindings`]) and, last, its journey.
const INSERT_STATS: &str = "INSERT OR REPLACE INTO session_stats (id, started_at, bot, active_ms, \
     pageviews, bounce, entry_page, referrer_host, channel, country, device, browser, os, \
     browser_version, os_version, exit_page, utm_source, utm_medium, utm_campaign, rage_clicks, \
     dead_clicks, errors, forms_abandoned, journey) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// [`INSERT_STATS`] for many rows at once, from a JSON array of rows in its column order
/// but the journey, which is copied from the session's row in `sessions` (every caller
/// writes that first).
pub(crate) const INSERT_STATS_JSON: &str = "INSERT OR REPLACE INTO session_stats (id, started_at, \
     bot, active_ms, pageviews, bounce, entry_page, referrer_host, channel, country, device, \
     browser, os, browser_version, os_version, exit_page, utm_source, utm_medium, utm_campaign, \
     rage_clicks, dead_clicks, errors, forms_abandoned, journey) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
     value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, \
     value ->> 13, value ->> 14, value ->> 15, value ->> 16, value ->> 17, value ->> 18, \
     coalesce(value ->> 19, 0), coalesce(value ->> 20, 0), coalesce(value ->> 21, 0), \
     coalesce(value ->> 22, 0), (SELECT s.journey FROM sessions s WHERE s.id = value ->> 0) \
     FROM json_each(?)";

/// Adds tallies `[day, bot, dim, value, n]` from a JSON array.
pub(crate) const ADD_TALLIES_JSON: &str = "INSERT INTO tallies (day, bot, dim, value, n) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?) \
     WHERE true ON CONFLICT (day, bot, dim, value) DO UPDATE SET n = n + excluded.n";

/// Rows per statement when many are written at once (a few hundred KB of JSON).
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// Runs `statement` (one `json_each(?)` over rows) for `rows` in chunks.
pub(crate) fn run_json_rows(
    db: &Db,
    statement: &str,
    rows: Vec<serde_json::Value>,
) -> std::result::Result<(), ApiError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let json = serde_json::to_string(chunk).map_err(|e| ApiError::internal("index rows", e))?;
        db.run(statement, vec![json.into()])?;
    }
    Ok(())
}

/// The figures that change as a session goes on, and its journey; no index covers them.
const UPDATE_STATS_FIGURES: &str = "UPDATE session_stats SET active_ms = ?, pageviews = ?, \
     bounce = ?, rage_clicks = ?, dead_clicks = ?, errors = ?, forms_abandoned = ?, journey = ? \
     WHERE id = ?";

/// A session's journey when its figures stayed (a click); no row written when it stayed too.
const UPDATE_STATS_JOURNEY: &str =
    "UPDATE session_stats SET journey = ?1 WHERE id = ?2 AND journey IS NOT ?1";

const MOVE_TALLY: &str = "INSERT INTO tallies (day, bot, dim, value, n) VALUES (?, ?, ?, ?, ?) \
     ON CONFLICT (day, bot, dim, value) DO UPDATE SET n = n + excluded.n RETURNING n";

/// A tally that fell to 0 goes, so an erased session's values do not outlive it.
const DROP_TALLY: &str = "DELETE FROM tallies WHERE day = ? AND bot = ? AND dim = ? AND value = ?";

/// Milliseconds from now until `at` (ms since the epoch), 0 if it has passed: the offset
/// `set_alarm` takes.
pub(crate) fn ms_until(at: i64) -> i64 {
    (at - worker::Date::now().as_millis() as i64).max(0)
}

/// Shards written before the tallies existed fill them from their summaries once.
const TALLIES_MIGRATION: &str = "tallies-v1";

/// Sessions per page of a fold, a filtered listing or a derivation of the figures (~1 MB
/// of JSON for typical rows). A fold's or listing's page of very long rows that the runtime
/// refuses to build is read again in smaller pages, down to [`PAGE_MIN_ROWS`].
const PAGE_ROWS: i64 = 1_000;
const PAGE_MIN_ROWS: i64 = 25;

/// Typed rows of `session_stats` in `[?2, ?3)` after rowid `?1`, as one JSON array of
/// `[id, <the StatsRow columns>, journey]`: one sequential pass in rowid order (`NOT INDEXED`:
/// a range on the start index would be sorted for every page). The journey only when `?5`
/// (the read needs pages or events).
/// `{narrow}` takes the equality conditions of [`narrowing`].
const FOLD_STATS_PAGE: &str = "SELECT json_group_array(json_array(id, json_array(started_at, \
     bot, active_ms, pageviews, bounce, entry_page, referrer_host, channel, country, device, \
     browser, os, browser_version, os_version), json_array(exit_page, utm_source, utm_medium, \
     utm_campaign, rage_clicks, dead_clicks, errors, forms_abandoned), CASE WHEN ?5 THEN \
     json(t.journey) END)) AS rows, \
     MAX(r) AS last, COUNT(*) AS n FROM (SELECT rowid AS r, * FROM session_stats NOT INDEXED \
     WHERE rowid > ?1 AND started_at >= ?2 AND started_at < ?3 AND (bot = 0 OR ?4){narrow} \
     ORDER BY rowid LIMIT ?6) t";

/// Journeys of sessions in `[?2, ?3)` after rowid `?1`, `[id, started_at, active_ms,
/// pageviews, bounce, journey]`, for reads that need nothing else of a session
/// ([`stint_shared::report::Want::lean`]): one sequential pass over `session_stats` (whose
/// rows hold the figures and a copy of the journey, not the summary), skipping unread those
/// whose journey lacks the text `?6` (when given) — a session that cannot count, as the rule
/// (still run on each row read) would find. The figures only where the read asks for
/// them; otherwise null.
///
/// The page is written as text, not built by SQLite's JSON functions: every piece is
/// already JSON — a UUID, integers, and the journey as this release stored it (serde, or a
/// rollup's copy of it) — so no value is parsed and written again on the way. Each row is
/// one `format` (`{row}`, see [`fold_journeys`]) rather than a chain of `||`, each of which
/// copies the row so far: a fifth less time for the page (natively, on the bench's rows).
const FOLD_JOURNEYS_PAGE: &str = "SELECT '[' || group_concat(format({row}, t.id, \
     t.started_at, t.active_ms, t.pageviews, t.bounce, coalesce(t.journey, 'null')), ',') \
     || ']' AS rows, MAX(t.r) AS last, COUNT(*) AS n FROM (SELECT rowid AS r, id, \
     started_at, active_ms, pageviews, bounce, journey FROM session_stats NOT INDEXED \
     WHERE rowid > ?1 AND started_at >= ?2 AND started_at < ?3 AND (bot = 0 OR ?4) \
     AND (?6 IS NULL OR instr(journey, ?6) > 0) ORDER BY rowid LIMIT ?5) t";

/// The `session_stats` column holding a dimension's one value per session.
fn stats_column(by: &By) -> Option<&'static str> {
    Some(match by {
        By::Entry => "entry_page",
        By::Exit => "exit_page",
        By::Referrer => "referrer_host",
        By::Channel => "channel",
        By::UtmSource => "utm_source",
        By::UtmMedium => "utm_medium",
        By::UtmCampaign => "utm_campaign",
        By::Country => "country",
        By::Device => "device",
        By::Browser => "browser",
        By::Os => "os",
        _ => return None,
    })
}

/// SQL conditions (`AND column = ?n`, from `?7` on) and their values for the filters that
/// are plain equalities ([`Filters::equalities`]): the rows read are narrowed to those that
/// can match; the filters still decide.
fn narrowing(filters: &stint_shared::query::Filters) -> (String, Vec<SqlStorageValue>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    for (by, value) in filters.equalities() {
        if let Some(column) = stats_column(by) {
            sql.push_str(&format!(" AND {column} = ?{}", 7 + values.len()));
            values.push(value.to_string().into());
        }
    }
    (sql, values)
}

/// Sessions in `[?1, (?2, ?3))` newest first, seen since `?5` (or any time), as [`FOLD_PAGE`].
const LIST_PAGE: &str = "SELECT json_group_array(json_array(started_at, id, json(summary), \
     json(journey), shard)) AS rows, COUNT(*) AS n FROM (SELECT started_at, id, summary, \
     journey, shard FROM sessions WHERE started_at >= ?1 AND started_at <= ?2 \
     AND (started_at < ?2 OR id < ?3) AND (bot = 0 OR ?4) \
     AND (?5 IS NULL OR last_seen_at >= ?5) ORDER BY started_at DESC, id DESC LIMIT ?6)";

/// One session as a fold reads it.
type FoldTuple = (i64, String, SessionSummary, Option<Journey>, Option<i64>);

/// One `session_stats` row as read back (a [`StatsRow`] in column order, see [`STATS_JSON`]).
type StatsTuple = (StatsBase, StatsExtra);

/// The tallied columns of a stats row.
type StatsBase = (
    i64,
    i64,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<Channel>,
    Option<String>,
    Option<Device>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The columns filters and breakdowns read besides: exit page, UTM source, medium, campaign,
/// and the friction counts.
type StatsExtra = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
);

fn count(n: i64) -> u32 {
    n.clamp(0, i64::from(u32::MAX)) as u32
}

fn row_of((t, x): StatsTuple) -> StatsRow {
    StatsRow {
        started_at: t.0,
        bot: t.1 != 0,
        active_ms: t.2.max(0) as u64,
        pageviews: count(t.3),
        bounce: t.4 != 0,
        entry_page: t.5,
        referrer_host: t.6,
        channel: t.7,
        country: t.8,
        device: t.9,
        browser: t.10,
        os: t.11,
        browser_version: t.12,
        os_version: t.13,
        exit_page: x.0,
        utm_source: x.1,
        utm_medium: x.2,
        utm_campaign: x.3,
        rage_clicks: count(x.4),
        dead_clicks: count(x.5),
        errors: count(x.6),
        forms_abandoned: count(x.7),
    }
}

pub(crate) fn stats_json(id: &str, row: &StatsRow) -> serde_json::Value {
    serde_json::json!([
        id,
        row.started_at,
        i64::from(row.bot),
        row.active_ms.min(i64::MAX as u64),
        row.pageviews,
        i64::from(row.bounce),
        row.entry_page,
        row.referrer_host,
        row.channel.map(Channel::as_str),
        row.country,
        row.device.map(Device::as_str),
        row.browser,
        row.os,
        row.browser_version,
        row.os_version,
        row.exit_page,
        row.utm_source,
        row.utm_medium,
        row.utm_campaign,
        row.rage_clicks,
        row.dead_clicks,
        row.errors,
        row.forms_abandoned,
    ])
}

fn stats_bindings(id: &str, r: &StatsRow) -> Vec<SqlStorageValue> {
    vec![
        id.into(),
        r.started_at.into(),
        i64::from(r.bot).into(),
        (r.active_ms.min(i64::MAX as u64) as i64).into(),
        i64::from(r.pageviews).into(),
        i64::from(r.bounce).into(),
        r.entry_page.clone().into(),
        r.referrer_host.clone().into(),
        r.channel.map(|c| c.as_str().to_string()).into(),
        r.country.clone().into(),
        r.device.map(|d| d.as_str().to_string()).into(),
        r.browser.clone().into(),
        r.os.clone().into(),
        r.browser_version.clone().into(),
        r.os_version.clone().into(),
        r.exit_page.clone().into(),
        r.utm_source.clone().into(),
        r.utm_medium.clone().into(),
        r.utm_campaign.clone().into(),
        i64::from(r.rage_clicks).into(),
        i64::from(r.dead_clicks).into(),
        i64::from(r.errors).into(),
        i64::from(r.forms_abandoned).into(),
    ]
}

/// Adds tally moves to `tallies`. A tally that reaches 0 is deleted, so a session's
/// values do not outlive it as empty counters — except an engaged-time bucket a continuing
/// session left (`drop_zeros` false): that 0 row, a number and no value of anyone's, stays,
/// one row written less on nearly every beacon; reads skip it.
pub(crate) fn apply_moves(
    db: &Db,
    moves: &[Tally],
    drop_zeros: bool,
) -> std::result::Result<(), ApiError> {
    #[derive(Deserialize)]
    struct N {
        n: i64,
    }
    for t in moves {
        let key = || -> Vec<SqlStorageValue> {
            vec![
                t.day.into(),
                i64::from(t.bot).into(),
                t.dim.name().into(),
                t.value.clone().into(),
            ]
        };
        let mut bindings = key();
        bindings.push(t.n.into());
        let now: Option<N> = db.first(MOVE_TALLY, bindings)?;
        if now.is_some_and(|r| r.n == 0) && (drop_zeros || t.dim != Dim::ActiveMs) {
            db.run(DROP_TALLY, key())?;
        }
    }
    Ok(())
}

/// The stored stats row of one session.
fn stats_row(db: &Db, id: &str) -> std::result::Result<Option<StatsRow>, ApiError> {
    #[derive(Deserialize)]
    struct Json {
        row: String,
    }
    let query = format!("SELECT {STATS_JSON} AS row FROM session_stats WHERE id = ?");
    let Some(Json { row }) = db.first(&query, vec![id.into()])? else {
        return Ok(None);
    };
    let tuple: StatsTuple =
        serde_json::from_str(&row).map_err(|e| ApiError::internal("index stats row", e))?;
    Ok(Some(row_of(tuple)))
}

/// Tallies summed in Rust, written as `[day, bot, dim, value, n]` rows.
pub(crate) fn tallies_json(
    tallies: BTreeMap<(i64, bool, Dim, String), i64>,
) -> Vec<serde_json::Value> {
    tallies
        .into_iter()
        .filter(|(_, n)| *n != 0)
        .map(|((day, bot, dim, value), n)| {
            serde_json::json!([day, i64::from(bot), dim.name(), value, n])
        })
        .collect()
}

/// Re-derives `session_stats` and `tallies` from the stored summaries, a page of sessions
/// at a time: for an object written before they existed, and after a purge brought its rows
/// back.
pub(crate) fn derive_figures(db: &Db) -> std::result::Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Summary {
        r: i64,
        id: String,
        summary: String,
    }
    db.run("DELETE FROM session_stats", vec![])?;
    db.run("DELETE FROM tallies", vec![])?;
    let mut tallies: BTreeMap<(i64, bool, Dim, String), i64> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page: Vec<Summary> = db.all(
            "SELECT rowid AS r, id, summary FROM sessions WHERE rowid > ? ORDER BY rowid LIMIT ?",
            vec![after.into(), PAGE_ROWS.into()],
        )?;
        let mut stats = Vec::with_capacity(page.len());
        for row in &page {
            let Some(summary) = read_summary(&row.summary) else {
                worker::console_error!("index: a stored summary does not read; left out of stats");
                continue;
            };
            let stats_row = StatsRow::of(&summary);
            for t in stats_row.contributions() {
                *tallies.entry((t.day, t.bot, t.dim, t.value)).or_default() += t.n;
            }
            stats.push(stats_json(&row.id, &stats_row));
        }
        run_json_rows(db, INSERT_STATS_JSON, stats)?;
        match page.last() {
            Some(last) if page.len() as i64 == PAGE_ROWS => after = last.r,
            _ => break,
        }
    }
    run_json_rows(db, ADD_TALLIES_JSON, tallies_json(tallies))
}

/// Adds `column` (`name TYPE`) to `table` unless it has it (a table an older release
/// created).
fn add_column(db: &Db, table: &str, column: &str) -> std::result::Result<(), ApiError> {
    // `table` and `column` are literals of this module, never input.
    let name = column.split(' ').next().unwrap_or(column);
    let present = db
        .all::<serde_json::Value>(&format!("SELECT {name} FROM {table} LIMIT 0"), vec![])
        .is_ok();
    if !present {
        db.run(&format!("ALTER TABLE {table} ADD COLUMN {column}"), vec![])?;
    }
    Ok(())
}

/// Brings an object's tables from the version it was written with to [`SCHEMA_VERSION`].
fn migrate(db: &Db) -> std::result::Result<(), ApiError> {
    let version = db.schema_version()?;
    if version == Some(SCHEMA_VERSION) {
        return Ok(());
    }
    if let Some(newer) = version.filter(|v| *v > SCHEMA_VERSION) {
        // Written by a newer release (a rollback): its tables are a superset; read on.
        worker::console_log!("index: tables of version {newer}, newer than this release");
        return Ok(());
    }
    // Version 4 (issue 15's): the friction columns are new; sessions it stored had no
    // friction signals, so their 0 default is right.
    let friction = [
        ("session_stats", "rage_clicks INTEGER NOT NULL DEFAULT 0"),
        ("session_stats", "dead_clicks INTEGER NOT NULL DEFAULT 0"),
        ("session_stats", "errors INTEGER NOT NULL DEFAULT 0"),
        (
            "session_stats",
            "forms_abandoned INTEGER NOT NULL DEFAULT 0",
        ),
    ];
    // Versions 4 and 5: the copy of each journey beside its figures (schema 6) is new; it
    // is made once from `sessions`.
    let journeys = ("session_stats", "journey TEXT");
    if version == Some(4) || version == Some(5) {
        if version == Some(4) {
            for (table, column) in friction {
                add_column(db, table, column)?;
            }
        }
        add_column(db, journeys.0, journeys.1)?;
        db.run(
            "UPDATE session_stats SET journey = \
             (SELECT s.journey FROM sessions s WHERE s.id = session_stats.id)",
            vec![],
        )?;
        return set_version(db);
    }
    // Versions 1 to 3 (or none: a new object, or one from before the tallies). A table
    // created by an older release lacks the later columns; each is added on its own, so a
    // start that added one and stopped adds the others.
    for (table, column) in [
        ("session_stats", "browser_version TEXT"),
        ("session_stats", "os_version TEXT"),
        ("session_stats", "exit_page TEXT"),
        ("session_stats", "utm_source TEXT"),
        ("session_stats", "utm_medium TEXT"),
        ("session_stats", "utm_campaign TEXT"),
        ("sessions", "journey TEXT"),
        ("sessions", "last_seen_at INTEGER"),
        ("sessions", "shard INTEGER"),
        ("held_rows", "journey TEXT"),
        ("held_rows", "shard INTEGER"),
        ("held", "meta TEXT"),
        ("held", "deliveries TEXT"),
    ]
    .into_iter()
    .chain(friction)
    .chain([journeys])
    {
        add_column(db, table, column)?;
    }
    upgrade_summaries(db)?;
    db.run(
        "UPDATE sessions SET last_seen_at = json_extract(summary, '$.last_seen_at') \
         WHERE last_seen_at IS NULL",
        vec![],
    )?;
    derive_figures(db)?;
    db.run(
        "INSERT OR IGNORE INTO migrations (name) VALUES (?)",
        vec![TALLIES_MIGRATION.into()],
    )?;
    set_version(db)
}

/// Rewrites the summaries an older release stored as this one writes them
/// ([`SessionSummary::upgrade`]); the session objects upgrade theirs as they load.
fn upgrade_summaries(db: &Db) -> std::result::Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        summary: String,
    }
    let rows: Vec<Row> = db.all("SELECT id, summary FROM sessions", vec![])?;
    for row in rows {
        let Some(upgraded) = read_summary(&row.summary) else {
            continue;
        };
        let json =
            serde_json::to_string(&upgraded).map_err(|e| ApiError::internal("index summary", e))?;
        if json != row.summary {
            db.run(
                "UPDATE sessions SET summary = ? WHERE id = ?",
                vec![json.into(), row.id.into()],
            )?;
        }
    }
    Ok(())
}

/// A stored summary, read as this release reads it (upgraded), or `None` when it does not
/// read at all.
pub(crate) fn read_summary(json: &str) -> Option<SessionSummary> {
    let mut summary: SessionSummary = serde_json::from_str(json).ok()?;
    summary.upgrade();
    Some(summary)
}

pub(crate) fn set_version(db: &Db) -> std::result::Result<(), ApiError> {
    db.set_schema_version(SCHEMA_VERSION)
}

pub(crate) fn create_schema(db: &Db) -> std::result::Result<(), ApiError> {
    for statement in SCHEMA {
        db.run(statement, vec![])?;
    }
    Ok(())
}

/// One value of the `meta` table.
pub(crate) fn meta(db: &Db, key: &str) -> std::result::Result<Option<String>, ApiError> {
    #[derive(Deserialize)]
    struct V {
        v: String,
    }
    Ok(db
        .first::<V>("SELECT v FROM meta WHERE k = ?", vec![key.into()])?
        .map(|r| r.v))
}

pub(crate) fn set_meta(db: &Db, key: &str, value: &str) -> std::result::Result<(), ApiError> {
    db.run(
        "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
        vec![key.into(), value.into()],
    )
}

/// Stores one session's newest summary and journey unless a newer version is stored, and
/// moves its tallies: the whole upsert, as one synchronous run of statements.
pub(crate) fn apply_upsert(
    db: &Db,
    version: i64,
    s: &SessionSummary,
    journey: Option<&str>,
    shard: Option<i64>,
) -> std::result::Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Stored {
        version: i64,
        started_at: i64,
        bot: i64,
    }
    let stored: Option<Stored> = db.first(
        "SELECT version, started_at, bot FROM sessions WHERE id = ?",
        vec![s.id.clone().into()],
    )?;
    if stored.as_ref().is_some_and(|old| old.version > version) {
        // A push that crossed a newer one: the newer stays.
        return Ok(());
    }
    let json = serde_json::to_string(s).map_err(|e| ApiError::internal("index", e))?;
    let bot = i64::from(s.bot.is_some());
    // Written to `sessions` and copied to `session_stats`.
    let journey = || -> SqlStorageValue { journey.map(str::to_string).into() };
    match &stored {
        Some(old) if old.started_at == s.started_at && old.bot == bot => db.run(
            UPDATE_SUMMARY,
            vec![
                version.into(),
                json.into(),
                journey(),
                shard.into(),
                s.id.clone().into(),
            ],
        )?,
        _ => db.run(
            UPSERT_SESSION,
            vec![
                s.id.clone().into(),
                s.started_at.into(),
                bot.into(),
                version.into(),
                json.into(),
                journey(),
                shard.into(),
            ],
        )?,
    }
    let old = stats_row(db, &s.id)?;
    let new = StatsRow::of(s);
    let moves = tally_moves(old.as_ref(), Some(&new));
    match &old {
        Some(old) if old == &new => {
            db.run(UPDATE_STATS_JOURNEY, vec![journey(), s.id.clone().into()])?
        }
        Some(old) if old.same_labels(&new) => db.run(
            UPDATE_STATS_FIGURES,
            vec![
                (new.active_ms.min(i64::MAX as u64) as i64).into(),
                i64::from(new.pageviews).into(),
                i64::from(new.bounce).into(),
                i64::from(new.rage_clicks).into(),
                i64::from(new.dead_clicks).into(),
                i64::from(new.errors).into(),
                i64::from(new.forms_abandoned).into(),
                journey(),
                s.id.clone().into(),
            ],
        )?,
        _ => {
            let mut bindings = stats_bindings(&s.id, &new);
            bindings.push(journey());
            db.run(INSERT_STATS, bindings)?
        }
    }
    apply_moves(db, &moves, false)
}

/// Deletes one session's rows and its tallies.
pub(crate) fn apply_remove(db: &Db, id: &str) -> std::result::Result<(), ApiError> {
    let old = stats_row(db, id)?;
    apply_moves(db, &tally_moves(old.as_ref(), None), true)?;
    db.run("DELETE FROM session_stats WHERE id = ?", vec![id.into()])?;
    db.run("DELETE FROM sessions WHERE id = ?", vec![id.into()])
}

/// Which sessions of an object a read may count: in a day shard all of them; in a month
/// rollup only those of the (day, shard) pairs it has completely copied — the others the
/// reader asks their shard for.
pub(crate) enum Counted {
    All,
    Copied(BTreeMap<i64, BTreeSet<i64>>),
}

impl Counted {
    fn admits(&self, started_at: i64, shard: Option<i64>) -> bool {
        match self {
            Counted::All => true,
            Counted::Copied(done) => done
                .get(&utc_day(started_at))
                .is_some_and(|shards| shard.is_some_and(|k| shards.contains(&k))),
        }
    }

    /// Whether every session of `day` is counted (so its tallies are the day's answer).
    fn whole_day(&self, day: i64) -> bool {
        match self {
            Counted::All => true,
            Counted::Copied(done) => done
                .get(&day)
                .is_some_and(|s| s.len() as u32 == stint_shared::shard::INDEX_SHARDS),
        }
    }
}

/// One page of `statement`, of at most `page_rows` rows (`bindings(page_rows)`). A page the
/// runtime refuses to build is asked again a quarter the size, down to [`PAGE_MIN_ROWS`];
/// `page_rows` keeps the size that worked, for the pages after.
fn first_page<T: serde::de::DeserializeOwned>(
    db: &Db,
    statement: &str,
    page_rows: &mut i64,
    mut bindings: impl FnMut(i64) -> Vec<SqlStorageValue>,
) -> std::result::Result<Option<T>, ApiError> {
    loop {
        match db.first(statement, bindings(*page_rows)) {
            Ok(page) => return Ok(page),
            Err(_) if *page_rows > PAGE_MIN_ROWS => *page_rows /= 4,
            Err(e) => return Err(e),
        }
    }
}

/// Reads pages of sessions with `statement` (one of [`FOLD_PAGE`], [`LIST_PAGE`]) until
/// `take` says stop; `next` gives the bindings of the page after the last row seen.
fn read_pages(
    db: &Db,
    statement: &str,
    mut bindings: impl FnMut(Option<&FoldTuple>, i64) -> Vec<SqlStorageValue>,
    mut take: impl FnMut(FoldTuple) -> bool,
) -> std::result::Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Page {
        rows: String,
        n: i64,
    }
    let mut page_rows = PAGE_ROWS;
    let mut last: Option<FoldTuple> = None;
    loop {
        let page: Option<Page> = first_page(db, statement, &mut page_rows, |n| {
            bindings(last.as_ref(), n)
        })?;
        let Some(page) = page.filter(|p| p.n > 0) else {
            return Ok(());
        };
        let rows: Vec<FoldTuple> =
            serde_json::from_str(&page.rows).map_err(|e| ApiError::internal("index page", e))?;
        let full = page.n == page_rows;
        for mut row in rows {
            row.2.upgrade();
            last = Some((row.0, row.1.clone(), SessionSummary::default(), None, None));
            if !take(row) {
                return Ok(());
            }
        }
        if !full {
            return Ok(());
        }
    }
}

/// Folds the object's matching sessions in `[from, to)` as `q.want` says, from the tallies
/// for whole days where they suffice and from the sessions otherwise.
pub(crate) fn fold(
    db: &Db,
    q: &hops::Query,
    counted: &Counted,
) -> std::result::Result<Partial, ApiError> {
    #[derive(Deserialize)]
    struct Bounds {
        lo: Option<i64>,
        hi: Option<i64>,
    }
    let mut partial = Partial::new(&q.want);
    let bounds: Option<Bounds> = db.first(
        "SELECT MIN(started_at) AS lo, MAX(started_at) AS hi FROM sessions",
        vec![],
    )?;
    let Some((Some(lo), Some(hi))) = bounds.map(|b| (b.lo, b.hi)) else {
        return Ok(partial);
    };
    let (from, to) = (q.from.max(lo), q.to.min(hi + 1));
    if from >= to {
        return Ok(partial);
    }
    let tallies_suffice = Partial::tallies_suffice(&q.want) && q.filters.is_empty();
    // Days answered by their tallies, and the spans read session by session.
    let mut tally_days = BTreeSet::new();
    let mut spans: Vec<(i64, i64)> = Vec::new();
    // A day is whole for this read when every session of it that this object holds is in
    // range: the day lies inside [from, to), or (a range ending now, starting mid-day) its
    // first and last sessions do.
    let holds_whole = |day: i64| -> std::result::Result<bool, ApiError> {
        let (start, end) = (day * DAY_MS, (day + 1) * DAY_MS);
        if q.from <= start && end <= q.to {
            return Ok(true);
        }
        let b: Option<Bounds> = db.first(
            "SELECT MIN(started_at) AS lo, MAX(started_at) AS hi FROM sessions \
             WHERE started_at >= ? AND started_at < ?",
            vec![start.into(), end.into()],
        )?;
        Ok(match b.map(|b| (b.lo, b.hi)) {
            Some((Some(lo), Some(hi))) => q.from <= lo && hi < q.to,
            _ => true,
        })
    };
    for day in utc_day(from)..=utc_day(to - 1) {
        let (start, end) = (day * DAY_MS, (day + 1) * DAY_MS);
        if tallies_suffice && counted.whole_day(day) && holds_whole(day)? {
            tally_days.insert(day);
            continue;
        }
        let span = (start.max(from), end.min(to));
        match spans.last_mut() {
            Some(last) if last.1 == span.0 => last.1 = span.1,
            _ => spans.push(span),
        }
    }
    if let (Some(&first), Some(&last)) = (tally_days.first(), tally_days.last()) {
        #[derive(Deserialize)]
        struct TallyRow {
            day: Option<i64>,
            dim: String,
            value: String,
            n: i64,
        }
        // When every tallied day falls in one answer bucket (totals, or a month of a monthly
        // series) and they run without a gap, SQLite sums across the days: a month's tallies
        // come back as one day's worth of rows.
        let contiguous = (last - first + 1) as usize == tally_days.len();
        let one_bucket = match q.want {
            stint_shared::report::Want::Stats => true,
            stint_shared::report::Want::Series(i) => {
                i.bucket(first * DAY_MS) == i.bucket(last * DAY_MS)
            }
            _ => false,
        };
        let statement = if contiguous && one_bucket {
            "SELECT NULL AS day, dim, value, SUM(n) AS n FROM tallies WHERE day >= ? AND day <= ? \
             AND (bot = 0 OR ?) GROUP BY dim, value HAVING SUM(n) != 0"
        } else {
            "SELECT day, dim, value, SUM(n) AS n FROM tallies WHERE day >= ? AND day <= ? \
             AND (bot = 0 OR ?) GROUP BY day, dim, value HAVING SUM(n) != 0"
        };
        let rows: Vec<TallyRow> = db.all(
            statement,
            vec![first.into(), last.into(), i64::from(q.include_bots).into()],
        )?;
        for row in rows {
            let day = row.day.unwrap_or(first);
            if !tally_days.contains(&day) {
                continue;
            }
            if let Some(dim) = Dim::parse(&row.dim) {
                partial.add_tally(day, dim, &row.value, row.n.max(0) as u64);
            }
        }
    }
    let journeys = q.want.needs_journey() || q.filters.need_journey();
    let lean = q.filters.is_empty().then(|| q.want.lean()).flatten();
    for (start, end) in spans {
        match &lean {
            Some(lean) => {
                // Sessions skipped unread must still be counted where an answer states all
                // (a funnel's sessions): only where every session of the span is counted here.
                let whole = (utc_day(start)..=utc_day(end - 1)).all(|d| counted.whole_day(d));
                let needle = lean.needle.as_deref().filter(|_| whole);
                let span = (start, end);
                fold_journeys(db, q, counted, span, needle, lean.figures, &mut partial)?;
            }
            None => fold_span(db, q, counted, (start, end), journeys, &mut partial)?,
        }
    }
    Ok(partial)
}

/// Runs a fold statement page by page in rowid order: `bindings(after, page_rows)` gives the
/// bindings of the page after rowid `after`; the statement answers `rows` (one JSON text),
/// `last` (its last rowid) and `n`. A page the runtime refuses to build is asked again in
/// smaller pages, down to [`PAGE_MIN_ROWS`]. Each page's rows go to `take`.
fn scan_pages(
    db: &Db,
    statement: &str,
    mut bindings: impl FnMut(i64, i64) -> Vec<SqlStorageValue>,
    mut take: impl FnMut(&str) -> std::result::Result<(), ApiError>,
) -> std::result::Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Page {
        rows: Option<String>,
        last: Option<i64>,
        n: i64,
    }
    let mut after = 0i64;
    let mut page_rows = PAGE_ROWS;
    loop {
        let page: Option<Page> = first_page(db, statement, &mut page_rows, |n| bindings(after, n))?;
        let Some(page) = page.filter(|p| p.n > 0) else {
            return Ok(());
        };
        take(page.rows.as_deref().unwrap_or("[]"))?;
        match page.last {
            Some(last) if page.n == page_rows => after = last,
            _ => return Ok(()),
        }
    }
}

/// Folds the journeys of `[start, end)` (see [`FOLD_JOURNEYS_PAGE`]); sessions skipped for
/// lacking `needle` are counted with [`Partial::add_unread`].
fn fold_journeys(
    db: &Db,
    q: &hops::Query,
    counted: &Counted,
    (start, end): (i64, i64),
    needle: Option<&str>,
    figures: bool,
    partial: &mut Partial,
) -> std::result::Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Count {
        n: i64,
    }
    type JourneyRow = (
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<Journey>,
    );
    let mut read = 0u64;
    let mut summary = SessionSummary::default();
    // `%.0s` writes nothing: the figures are left out where the read does not need them.
    let statement = FOLD_JOURNEYS_PAGE.replace(
        "{row}",
        if figures {
            "'[\"%s\",%d,%d,%d,%d,%s]'"
        } else {
            "'[\"%s\",%d,null%.0s,null%.0s,null%.0s,%s]'"
        },
    );
    let bindings = |after: i64, page_rows: i64| {
        vec![
            after.into(),
            start.into(),
            end.into(),
            i64::from(q.include_bots).into(),
            page_rows.into(),
            needle.map(str::to_string).into(),
        ]
    };
    scan_pages(db, &statement, bindings, |rows| {
        each_row(rows, "index journeys page", |row: JourneyRow| {
            let (id, started_at, active_ms, pageviews, bounce, journey) = row;
            if !counted.admits(started_at, Some(i64::from(shard_of(&id)))) {
                return Ok(());
            }
            read += 1;
            summary.id = id;
            summary.started_at = started_at;
            // As `row_of` reads them from `session_stats`.
            summary.active_ms = active_ms.unwrap_or(0).max(0) as u64;
            summary.pageviews = pageviews.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32;
            summary.bounce = bounce.unwrap_or(0) != 0;
            partial.add(&summary, &journey.unwrap_or_default());
            Ok(())
        })
    })?;
    if needle.is_some() && partial.counts_unread() {
        // Counted in the table the fold read, whose narrow rows scan faster than an index
        // walk that reads each session's wide row for its bot flag.
        let all: Option<Count> = db.first(
            "SELECT COUNT(*) AS n FROM session_stats NOT INDEXED WHERE started_at >= ? \
             AND started_at < ? \
             AND (bot = 0 OR ?)",
            vec![start.into(), end.into(), i64::from(q.include_bots).into()],
        )?;
        let all = all.map_or(0, |c| c.n.max(0) as u64);
        partial.add_unread(all.saturating_sub(read));
    }
    Ok(())
}

/// Folds the typed rows of `[start, end)` (see [`FOLD_STATS_PAGE`]).
fn fold_span(
    db: &Db,
    q: &hops::Query,
    counted: &Counted,
    (start, end): (i64, i64),
    journeys: bool,
    partial: &mut Partial,
) -> std::result::Result<(), ApiError> {
    type FoldRow = (String, StatsBase, StatsExtra, Option<Journey>);
    let (narrow, narrow_values) = narrowing(&q.filters);
    let statement = FOLD_STATS_PAGE.replace("{narrow}", &narrow);
    let bindings = |after: i64, page_rows: i64| {
        let mut bindings = vec![
            after.into(),
            start.into(),
            end.into(),
            i64::from(q.include_bots).into(),
            i64::from(journeys).into(),
            page_rows.into(),
        ];
        bindings.extend(narrow_values.iter().cloned());
        bindings
    };
    scan_pages(db, &statement, bindings, |rows| {
        each_row(rows, "index fold page", |(id, a, b, journey): FoldRow| {
            let row = row_of((a, b));
            let shard = Some(i64::from(shard_of(&id)));
            if !counted.admits(row.started_at, shard) {
                return Ok(());
            }
            // Totals add the typed row itself (the same contributions as its summary:
            // `StatsRow::of(&row.to_summary(id)) == row`); the summary is rebuilt only for
            // filters and the other reports.
            if let (true, Partial::Stats(acc)) = (q.filters.is_empty(), &mut *partial) {
                acc.add_row(&row);
                return Ok(());
            }
            let summary = row.to_summary(id);
            let journey = journey.unwrap_or_default();
            if q.filters.matches(&summary, &journey) {
                match &mut *partial {
                    Partial::Stats(acc) => acc.add_row(&row),
                    other => other.add(&summary, &journey),
                }
            }
            Ok(())
        })
    })
}

/// Up to `q.limit` of the object's matching sessions before `q.before`, newest first.
pub(crate) fn list(
    db: &Db,
    q: &hops::List,
    counted: &Counted,
) -> std::result::Result<Vec<SessionSummary>, ApiError> {
    let mut out = Vec::new();
    let limit = q.limit as usize;
    if limit == 0 {
        return Ok(out);
    }
    // Without filters, in an object whose rows all count, the first `limit` rows are the
    // page: read no more (a rollup may skip rows of days it has not completely copied).
    let exact = q.filters.is_empty() && matches!(counted, Counted::All);
    let page_limit = |page: i64| {
        if exact {
            page.min(i64::from(q.limit))
        } else {
            page
        }
    };
    read_pages(
        db,
        LIST_PAGE,
        |last, page| {
            let before = last.map_or(q.before.clone(), |l| Position {
                started_at: l.0,
                id: l.1.clone(),
            });
            vec![
                q.from.into(),
                before.started_at.into(),
                before.id.into(),
                i64::from(q.include_bots).into(),
                q.seen_since.into(),
                page_limit(page).into(),
            ]
        },
        |(started_at, _, summary, journey, shard)| {
            let journey = journey.unwrap_or_default();
            if counted.admits(started_at, shard) && q.filters.matches(&summary, &journey) {
                out.push(summary);
            }
            out.len() < limit
        },
    )?;
    Ok(out)
}

#[durable_object]
pub struct SessionIndex {
    pub(crate) state: State,
    pub(crate) env: Env,
    /// Set while a purge runs: every other request to the object waits (see `purge.rs`).
    pub(crate) busy: Cell<bool>,
    /// Whether this instance has made sure no purge stopped midway in the object (its
    /// marker), checked before the first request and after a purge that failed.
    pub(crate) purge_checked: Cell<bool>,
    /// Whether this instance has made sure the object's alarm exists (checked once per
    /// instance, so upserts do not each touch the alarm).
    pub(crate) alarm_checked: Cell<bool>,
}

impl DurableObject for SessionIndex {
    fn new(state: State, env: Env) -> Self {
        let db = Db::new(state.storage().sql());
        if let Err(e) = create_schema(&db).and_then(|()| migrate(&db)) {
            worker::console_error!("index schema: {}", e.message);
        }
        SessionIndex {
            state,
            env,
            busy: Cell::new(false),
            purge_checked: Cell::new(false),
            alarm_checked: Cell::new(false),
        }
    }

    /// In a `<object>/held` object, time to check a purge's copy; in a month rollup, time to
    /// copy or expire days; in a day shard, its day has left the retention period: drop it
    /// whole.
    async fn alarm(&self) -> Result<Response> {
        if let Err(e) = self.settle().await {
            return Err(worker::Error::RustError(format!(
                "index alarm: {}",
                e.message
            )));
        }
        let done = match self.check_held_copy().await {
            Ok(true) => Ok(()),
            Ok(false) => match self.rollup_of() {
                Ok(Some(rollup)) => self.rollup_alarm(rollup).await,
                Ok(None) => self.empty_out().await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        // A failed alarm is retried by the runtime.
        done.map_err(|e| worker::Error::RustError(format!("index alarm: {}", e.message)))?;
        Response::empty()
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body = req.text().await?;
        if let Err(e) = self.settle().await {
            return e.into_response();
        }
        match path.as_str() {
            hops::Upsert::PATH => serve(&body, |h| self.upsert(h)).await,
            hops::UpsertMany::PATH => serve(&body, |h| self.upsert_many(h)).await,
            hops::Remove::PATH => serve(&body, |h| self.remove(h)).await,
            hops::Purge::PATH => serve(&body, |h| self.handle_purge(h)).await,
            hops::Resume::PATH => serve(&body, |h| self.resume(h)).await,
            hops::HoldPart::PATH => serve(&body, |h| self.hold(h)).await,
            hops::TakePart::PATH => serve(&body, |h| async { self.take(h) }).await,
            hops::Release::PATH => serve(&body, |_: hops::Release| self.empty_out()).await,
            hops::List::PATH => serve(&body, |h| self.list(h)).await,
            hops::Query::PATH => serve(&body, |h| self.query(h)).await,
            hops::Ensure::PATH => serve(&body, |h| self.ensure(h)).await,
            hops::Deliver::PATH => serve(&body, |h| self.deliver(h)).await,
            _ => ApiError::not_found("no such index operation").into_response(),
        }
    }
}

/// Sends a hop to the index object `name`.
pub async fn send<H: Hop>(
    env: &Env,
    name: &str,
    hop: &H,
) -> std::result::Result<H::Answer, ApiError> {
    hops::send(env, Class::Index, name, hop).await
}

impl SessionIndex {
    pub(crate) fn db(&self) -> Db {
        Db::new(self.state.storage().sql())
    }

    /// Deletes the object's database, files and alarm included, and makes its tables again:
    /// the instance lives on and may be asked for more (a late upsert, which must then set
    /// the expiry alarm anew; another purge).
    pub(crate) async fn empty_out(&self) -> std::result::Result<(), ApiError> {
        self.state.storage().delete_all().await?;
        self.alarm_checked.set(false);
        let db = self.db();
        create_schema(&db)?;
        set_version(&db)
    }

    /// The month rollup a copied day shard passes its changes on to.
    pub(crate) fn copied_to(&self) -> std::result::Result<Option<String>, ApiError> {
        meta(&self.db(), "rollup")
    }

    async fn upsert(&self, up: hops::Upsert) -> std::result::Result<Rows, ApiError> {
        let s = &up.summary;
        let journey = up.journey.as_ref().map(Journey::to_json);
        if up.shard.is_some() {
            // Passed on by a copied day shard: this is its month rollup.
            let db = self.db();
            apply_upsert(
                &db,
                up.version,
                s,
                journey.as_deref(),
                up.shard.map(i64::from),
            )?;
            return Ok(db.take_rows());
        }
        // The row first: a rollup that copies this shard from here on finds it.
        let db = self.db();
        apply_upsert(&db, up.version, s, journey.as_deref(), None)?;
        let rows = db.take_rows();
        if !self.alarm_checked.get() {
            let storage = self.state.storage();
            if storage.get_alarm().await?.is_none() {
                // A new shard: its month rollup copies it once its day is over (again, if it
                // found it empty before). The alarm is set once the rollup knows, so a
                // failure here is tried again by the next upsert.
                let day = utc_day(s.started_at);
                let rollup = stint_shared::shard::month_object_name(&s.site, day);
                let ensure = hops::Ensure {
                    site: s.site.clone(),
                    day,
                    shard: Some(shard_of(&s.id)),
                };
                send(&self.env, &rollup, &ensure).await?;
                let wait = ms_until(up.expires_at) as u64;
                storage
                    .set_alarm(std::time::Duration::from_millis(wait))
                    .await?;
            }
            self.alarm_checked.set(true);
        }
        if let Some(rollup) = self.copied_to()? {
            let passed = hops::Upsert {
                shard: Some(shard_of(&s.id)),
                ..up
            };
            send(&self.env, &rollup, &passed).await?;
        }
        Ok(rows)
    }

    async fn upsert_many(&self, hop: hops::UpsertMany) -> std::result::Result<Rows, ApiError> {
        let mut rows = Rows::default();
        for up in hop.rows {
            rows = rows + self.upsert(up).await?;
        }
        Ok(rows)
    }

    async fn remove(&self, hop: hops::Remove) -> std::result::Result<Rows, ApiError> {
        let db = self.db();
        apply_remove(&db, &hop.id)?;
        let rows = db.take_rows();
        if let Some(rollup) = self.copied_to()? {
            send(&self.env, &rollup, &hop).await?;
        }
        Ok(rows)
    }

    async fn list(&self, q: hops::List) -> std::result::Result<hops::Listed, ApiError> {
        if let Some(rollup) = q.rollup.clone() {
            self.ensure(rollup).await?;
        }
        let (counted, pending) = self.coverage(q.from, q.before.started_at + 1)?;
        Ok(hops::Listed {
            sessions: list(&self.db(), &q, &counted)?,
            pending,
        })
    }

    async fn query(&self, q: hops::Query) -> std::result::Result<hops::Answered, ApiError> {
        if let Some(rollup) = q.rollup.clone() {
            self.ensure(rollup).await?;
        }
        let (counted, pending) = self.coverage(q.from, q.to)?;
        Ok(hops::Answered {
            partial: fold(&self.db(), &q, &counted)?,
            pending,
        })
    }

    /// To a day shard, from its rollup: the next page of rows to copy; from now on the shard
    /// passes its changes on.
    async fn deliver(&self, hop: hops::Deliver) -> std::result::Result<hops::Delivered, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            r: i64,
            id: String,
            started_at: i64,
            bot: i64,
            version: i64,
            summary: String,
            journey: Option<String>,
        }
        let db = self.db();
        #[derive(Deserialize)]
        struct Any {
            n: i64,
        }
        let held = db
            .first::<Any>(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM sessions LIMIT 1)",
                vec![],
            )?
            .is_some_and(|a| a.n > 0);
        // A shard that never had a session stays empty: it marks nothing (its first session,
        // if a late one comes, tells the rollup to copy it again).
        if held && self.copied_to()?.as_deref() != Some(hop.rollup.as_str()) {
            set_meta(&db, "rollup", &hop.rollup)?;
            let storage = self.state.storage();
            if storage.get_alarm().await?.is_none() {
                storage
                    .set_alarm(std::time::Duration::from_millis(
                        ms_until(hop.expires_at) as u64
                    ))
                    .await?;
                self.alarm_checked.set(true);
            }
        }
        let rows: Vec<Row> = db.all(
            "SELECT rowid AS r, id, started_at, bot, version, summary, journey FROM sessions \
             WHERE rowid > ? ORDER BY rowid LIMIT ?",
            vec![hop.after.into(), i64::from(hop.limit).into()],
        )?;
        let next = (rows.len() as u32 == hop.limit)
            .then(|| rows.last().map(|r| r.r))
            .flatten();
        Ok(hops::Delivered {
            rows: rows
                .into_iter()
                .map(|r| HeldRow {
                    shard: Some(i64::from(shard_of(&r.id))),
                    id: r.id,
                    started_at: r.started_at,
                    bot: r.bot,
                    version: r.version,
                    summary: r.summary,
                    journey: r.journey,
                })
                .collect(),
            next,
        })
    }
}

/// How a session leaves its index shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The row is deleted. SQLite keeps the deleted bytes in free space and in the
    /// write-ahead log until they are reused; for retention, where the shard's whole day is
    /// dropped within a day anyway.
    Delete,
    /// The row is deleted and the shard's database rewritten without it, so no byte of the
    /// session stays in its files: erasure on request, and a session moving to another day.
    Purge,
}

pub async fn remove(
    env: &Env,
    object: &str,
    sid: &str,
    how: Removal,
) -> std::result::Result<(), ApiError> {
    let id = sid.to_string();
    match how {
        Removal::Delete => send(env, object, &hops::Remove { id }).await.map(drop),
        Removal::Purge => {
            let shard = object.to_string();
            send(env, object, &hops::Purge { id, shard }).await
        }
    }
}
