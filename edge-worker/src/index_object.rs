//! `SessionIndex`: one Durable Object per site, UTC day and hash shard, listing the
//! summaries of the sessions that started in it.
//!
//! Session objects push their summary here after each new batch, with a version (the number
//! of batches applied); an older version never overwrites a newer one, so two pushes that
//! cross on the network leave the newest summary in place.
//!
//! Three tables: `sessions` (the summaries, for listing), `session_stats` (the typed
//! [`StatsRow`] of each session: what `GET /api/stats` counts) and `day_tallies` (those
//! figures pre-aggregated: per bot flag, dimension and value, how many sessions or how
//! much). Every rule about what a session contributes is `stint_shared::stats`'s: an upsert
//! reads the session's old row, asks [`tally_moves`] what changed between it and the new
//! one, and writes only those tallies, in the same synchronous run of statements, so the
//! tallies always equal the contributions of the stored rows. The SQL here is a few static
//! statements on typed columns.
//!
//! Stats for a range that holds the whole shard and has no filter read the tallies (a few
//! hundred rows, however many sessions). Anything else reads the matching rows of
//! `session_stats` in one sequential pass, in pages of JSON, and folds them with
//! [`StatsAccumulator::add_row`] — the same rule, run on fewer rows.

use crate::db::{Db, Rows};
use crate::error::ApiError;
use crate::hops::{self, serve, Class, Hop};
use serde::Deserialize;
use std::cell::Cell;
use std::collections::BTreeMap;
use stint_shared::listing::Filters;
use stint_shared::session::SessionSummary;
use stint_shared::stats::{tally_moves, Dim, StatsAccumulator, StatsRow, Tally};
use stint_shared::vocab::{Channel, Device};
use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorageValue, State,
};

/// The version of this object's tables. 1: before versions were kept (summaries, stats rows
/// and tallies, marked by `tallies-v1` in `migrations`); 2: the version is kept in `schema`;
/// 3: browser and OS versions apart from their families, pages by path (summaries upgraded,
/// `session_stats.browser_version` / `os_version`, tallies derived again). An object that
/// meets an older version migrates when it starts (see [`migrate`]).
pub(crate) const SCHEMA_VERSION: i64 = 3;

const SCHEMA: [&str; 10] = [
    crate::db::SCHEMA_TABLE,
    "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, version INTEGER NOT NULL, summary TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (started_at DESC, id DESC)",
    "CREATE TABLE IF NOT EXISTS session_stats (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, channel TEXT, country TEXT, device TEXT, browser TEXT, os TEXT, \
     entry_page TEXT, referrer_host TEXT, active_ms INTEGER NOT NULL, \
     pageviews INTEGER NOT NULL, bounce INTEGER NOT NULL, browser_version TEXT, os_version TEXT)",
    "CREATE INDEX IF NOT EXISTS session_stats_by_start ON session_stats (started_at)",
    "CREATE TABLE IF NOT EXISTS day_tallies (bot INTEGER NOT NULL, dim TEXT NOT NULL, \
     value TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (bot, dim, value)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)",
    // The nonce of the purge that last rewrote this shard (see `purge`).
    "CREATE TABLE IF NOT EXISTS purges (nonce TEXT PRIMARY KEY)",
    // Only in a `<shard>/held` object: the copy a purge keeps until its rewrite is written.
    "CREATE TABLE IF NOT EXISTS held (k INTEGER PRIMARY KEY CHECK (k = 1), \
     shard TEXT NOT NULL, nonce TEXT NOT NULL, alarm INTEGER)",
    "CREATE TABLE IF NOT EXISTS held_rows (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, version INTEGER NOT NULL, summary TEXT NOT NULL)",
];

/// Stores summary rows (`id, started_at, bot, version, summary`) unless the shard holds a
/// newer version of one: from bindings, or from a JSON array of such rows (a purge's merge).
macro_rules! upsert_sessions {
    ($source:literal) => {
        concat!(
            "INSERT INTO sessions (id, started_at, bot, version, summary) ",
            $source,
            " ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, \
             bot = excluded.bot, version = excluded.version, summary = excluded.summary \
             WHERE excluded.version >= sessions.version"
        )
    };
}
pub(crate) const UPSERT_SESSION: &str = upsert_sessions!("VALUES (?, ?, ?, ?, ?)");
pub(crate) const UPSERT_SESSIONS_JSON: &str = upsert_sessions!(
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
     FROM json_each(?) WHERE true"
);

/// A newer summary of a listed session whose start and bot flag did not change: leaves the
/// `sessions_by_start` index alone (no index row written).
const UPDATE_SUMMARY: &str = "UPDATE sessions SET version = ?, summary = ? WHERE id = ?";

const STATS_COLUMNS: &str = "started_at, bot, active_ms, pageviews, bounce, entry_page, \
     referrer_host, channel, country, device, browser, os, browser_version, os_version";

const INSERT_STATS: &str = "INSERT OR REPLACE INTO session_stats (id, started_at, bot, active_ms, \
     pageviews, bounce, entry_page, referrer_host, channel, country, device, browser, os, \
     browser_version, os_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// [`INSERT_STATS`] for many rows at once, from a JSON array of rows in its column order.
const INSERT_STATS_JSON: &str = "INSERT OR REPLACE INTO session_stats (id, started_at, bot, \
     active_ms, pageviews, bounce, entry_page, referrer_host, channel, country, device, browser, \
     os, browser_version, os_version) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, \
     value ->> 4, value ->> 5, value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, \
     value ->> 11, value ->> 12, value ->> 13, value ->> 14 FROM json_each(?)";

const INSERT_TALLIES_JSON: &str = "INSERT INTO day_tallies (bot, dim, value, n) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?)";

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

/// The figures that change as a session goes on; no index covers them.
const UPDATE_STATS_FIGURES: &str =
    "UPDATE session_stats SET active_ms = ?, pageviews = ?, bounce = ? WHERE id = ?";

const MOVE_TALLY: &str = "INSERT INTO day_tallies (bot, dim, value, n) VALUES (?, ?, ?, ?) \
     ON CONFLICT (bot, dim, value) DO UPDATE SET n = n + excluded.n RETURNING n";

/// A tally that fell to 0 goes, so an erased session's values do not outlive it.
const DROP_TALLY: &str = "DELETE FROM day_tallies WHERE bot = ? AND dim = ? AND value = ?";

/// Milliseconds from now until `at` (ms since the epoch), 0 if it has passed: the offset
/// `set_alarm` takes.
pub(crate) fn ms_until(at: i64) -> i64 {
    (at - worker::Date::now().as_millis() as i64).max(0)
}

/// Shards written before the tallies existed fill them from their summaries once.
const TALLIES_MIGRATION: &str = "tallies-v1";

/// Rows of `session_stats` per page of a stats read (~250 KB of JSON for typical rows). A
/// page of very long labels that the runtime refuses to build is read again in smaller
/// pages, down to [`STATS_PAGE_MIN_ROWS`].
const STATS_PAGE_ROWS: i64 = 2_000;
const STATS_PAGE_MIN_ROWS: i64 = 50;

/// `session_stats` rows in `[from, to)` after `rowid`, as one JSON array of arrays: one
/// sequential pass over the table in rowid order (`NOT INDEXED`: a range on the start index
/// would have to be sorted by rowid for every page).
const STATS_PAGE: &str =
    "SELECT json_group_array(json_array(started_at, bot, active_ms, pageviews, \
     bounce, entry_page, referrer_host, channel, country, device, browser, os, browser_version, \
     os_version)) AS rows, \
     MAX(r) AS last, COUNT(*) AS n FROM (SELECT rowid AS r, * FROM session_stats NOT INDEXED \
     WHERE rowid > ? AND started_at >= ? AND started_at < ? AND (bot = 0 OR ?) \
     AND (? IS NULL OR channel = ?) AND (? IS NULL OR country = ?) AND (? IS NULL OR device = ?) \
     ORDER BY rowid LIMIT ?)";

const LIST: &str = "SELECT summary FROM sessions \
     WHERE started_at >= ? AND started_at <= ? AND (started_at < ? OR id < ?) \
     AND (bot = 0 OR ?) ORDER BY started_at DESC, id DESC LIMIT ?";

/// [`LIST`] for filtered listings: the filters are on `session_stats`' typed columns.
const LIST_FILTERED: &str = "SELECT s.summary FROM sessions s JOIN session_stats t ON t.id = s.id \
     WHERE s.started_at >= ? AND s.started_at <= ? AND (s.started_at < ? OR s.id < ?) \
     AND (s.bot = 0 OR ?) AND (? IS NULL OR t.channel = ?) AND (? IS NULL OR t.country = ?) \
     AND (? IS NULL OR t.device = ?) ORDER BY s.started_at DESC, s.id DESC LIMIT ?";

/// One `session_stats` row as read back (a [`StatsRow`] in column order).
type StatsTuple = (
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

fn row_of(t: StatsTuple) -> StatsRow {
    StatsRow {
        started_at: t.0,
        bot: t.1 != 0,
        active_ms: t.2.max(0) as u64,
        pageviews: t.3.clamp(0, i64::from(u32::MAX)) as u32,
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
    }
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
    ]
}

/// Bindings for `(? IS NULL OR channel = ?) AND (? IS NULL OR country = ?) AND
/// (? IS NULL OR device = ?)`.
fn filter_bindings(f: &Filters) -> Vec<SqlStorageValue> {
    let channel = f.channel.map(|c| c.as_str().to_string());
    let device = f.device.map(|d| d.as_str().to_string());
    [channel, f.country.clone(), device]
        .into_iter()
        .flat_map(|v| [v.clone().into(), v.into()])
        .collect()
}

/// Adds tally moves to `day_tallies`. A tally that reaches 0 is deleted, so a session's
/// values do not outlive it as empty counters — except an engaged-time bucket a continuing
/// session left (`drop_zeros` false): that 0 row, a number and no value of anyone's, stays,
/// one row written less on nearly every beacon; the stats read skips it.
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
    let query =
        format!("SELECT json_array({STATS_COLUMNS}) AS row FROM session_stats WHERE id = ?");
    let Some(Json { row }) = db.first(&query, vec![id.into()])? else {
        return Ok(None);
    };
    let tuple: StatsTuple =
        serde_json::from_str(&row).map_err(|e| ApiError::internal("index stats row", e))?;
    Ok(Some(row_of(tuple)))
}

/// Re-derives `session_stats` and `day_tallies` from the stored summaries: for a shard
/// written before they existed, and after a purge's copy was merged back.
pub(crate) fn derive_figures(db: &Db) -> std::result::Result<(), ApiError> {
    #[derive(Deserialize)]
    struct Summary {
        id: String,
        summary: String,
    }
    let rows: Vec<Summary> = db.all("SELECT id, summary FROM sessions", vec![])?;
    derive_figures_of(db, rows.iter().map(|r| (r.id.as_str(), r.summary.as_str())))
}

/// [`derive_figures`] from summaries at hand (`id`, stored JSON): a purge's rewrite has them.
pub(crate) fn derive_figures_of<'a>(
    db: &Db,
    summaries: impl Iterator<Item = (&'a str, &'a str)>,
) -> std::result::Result<(), ApiError> {
    db.run("DELETE FROM session_stats", vec![])?;
    db.run("DELETE FROM day_tallies", vec![])?;
    let mut tallies: BTreeMap<(bool, Dim, String), i64> = BTreeMap::new();
    let mut stats = Vec::new();
    for (id, json) in summaries {
        let Some(summary) = read_summary(json) else {
            worker::console_error!("index: a stored summary does not read; left out of stats");
            continue;
        };
        let row = StatsRow::of(&summary);
        for t in row.contributions() {
            *tallies.entry((t.bot, t.dim, t.value)).or_default() += t.n;
        }
        stats.push(serde_json::json!([
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
        ]));
    }
    run_json_rows(db, INSERT_STATS_JSON, stats)?;
    let tallies = tallies
        .into_iter()
        .map(|((bot, dim, value), n)| serde_json::json!([i64::from(bot), dim.name(), value, n]))
        .collect();
    run_json_rows(db, INSERT_TALLIES_JSON, tallies)
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
    // Versions 1 and 2 (or none: a new shard, or one from before the tallies). A table
    // created by an older release lacks the version columns.
    // Each column on its own, so a start that added one and stopped adds the other.
    for column in ["browser_version", "os_version"] {
        let present = db
            .all::<serde_json::Value>(
                &format!("SELECT {column} FROM session_stats LIMIT 0"),
                vec![],
            )
            .is_ok();
        if !present {
            db.run(
                &format!("ALTER TABLE session_stats ADD COLUMN {column} TEXT"),
                vec![],
            )?;
        }
    }
    upgrade_summaries(db)?;
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

#[durable_object]
pub struct SessionIndex {
    pub(crate) state: State,
    pub(crate) env: Env,
    /// Set while a purge runs: purges of one shard run one at a time (see `purge`).
    pub(crate) purging: Cell<bool>,
    /// Whether this instance has made sure the shard's expiry alarm exists (checked once per
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
            purging: Cell::new(false),
            alarm_checked: Cell::new(false),
        }
    }

    /// In a `<shard>/held` object, time to check a purge's copy; in a shard, its day has
    /// left the retention period: drop it whole.
    async fn alarm(&self) -> Result<Response> {
        let done = match self.check_held_copy().await {
            Ok(true) => Ok(()),
            Ok(false) => self.empty_out().await,
            Err(e) => Err(e),
        };
        // A failed alarm is retried by the runtime.
        done.map_err(|e| worker::Error::RustError(format!("index alarm: {}", e.message)))?;
        Response::empty()
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body = req.text().await?;
        match path.as_str() {
            hops::Upsert::PATH => serve(&body, |h| self.upsert(h)).await,
            hops::UpsertMany::PATH => serve(&body, |h| self.upsert_many(h)).await,
            hops::Remove::PATH => serve(&body, |h| async { self.remove(h) }).await,
            hops::Purge::PATH => serve(&body, |h| self.handle_purge(h)).await,
            hops::Restore::PATH => serve(&body, |h: hops::Restore| self.restore(h.0)).await,
            hops::Held::PATH => serve(&body, |h| self.hold(h)).await,
            hops::Take::PATH => serve(&body, |_: hops::Take| async { self.held() }).await,
            hops::Release::PATH => serve(&body, |_: hops::Release| self.empty_out()).await,
            hops::List::PATH => serve(&body, |h| async { self.list(h) }).await,
            hops::Stats::PATH => serve(&body, |h| async { self.stats(h) }).await,
            _ => ApiError::not_found("no such index operation").into_response(),
        }
    }
}

/// Sends a hop to the index shard `name`.
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

    async fn upsert(&self, up: hops::Upsert) -> std::result::Result<Rows, ApiError> {
        if !self.alarm_checked.get() {
            let storage = self.state.storage();
            if storage.get_alarm().await?.is_none() {
                let wait = ms_until(up.expires_at) as u64;
                storage
                    .set_alarm(std::time::Duration::from_millis(wait))
                    .await?;
            }
            self.alarm_checked.set(true);
        }
        #[derive(Deserialize)]
        struct Stored {
            version: i64,
            started_at: i64,
            bot: i64,
        }
        let db = self.db();
        let s = &up.summary;
        let stored: Option<Stored> = db.first(
            "SELECT version, started_at, bot FROM sessions WHERE id = ?",
            vec![s.id.clone().into()],
        )?;
        if stored.as_ref().is_some_and(|old| old.version > up.version) {
            // A push that crossed a newer one: the newer stays.
            return Ok(db.take_rows());
        }
        let json = serde_json::to_string(s).map_err(|e| ApiError::internal("index", e))?;
        let bot = i64::from(s.bot.is_some());
        match &stored {
            Some(old) if old.started_at == s.started_at && old.bot == bot => db.run(
                UPDATE_SUMMARY,
                vec![up.version.into(), json.into(), s.id.clone().into()],
            )?,
            _ => db.run(
                UPSERT_SESSION,
                vec![
                    s.id.clone().into(),
                    s.started_at.into(),
                    bot.into(),
                    up.version.into(),
                    json.into(),
                ],
            )?,
        }
        let old = stats_row(&db, &s.id)?;
        let new = StatsRow::of(s);
        let moves = tally_moves(old.as_ref(), Some(&new));
        match &old {
            Some(old) if old == &new => {}
            Some(old) if old.same_labels(&new) => db.run(
                UPDATE_STATS_FIGURES,
                vec![
                    (new.active_ms.min(i64::MAX as u64) as i64).into(),
                    i64::from(new.pageviews).into(),
                    i64::from(new.bounce).into(),
                    s.id.clone().into(),
                ],
            )?,
            _ => db.run(INSERT_STATS, stats_bindings(&s.id, &new))?,
        }
        apply_moves(&db, &moves, false)?;
        Ok(db.take_rows())
    }

    async fn upsert_many(&self, hop: hops::UpsertMany) -> std::result::Result<Rows, ApiError> {
        let mut rows = Rows::default();
        for up in hop.rows {
            rows = rows + self.upsert(up).await?;
        }
        Ok(rows)
    }

    fn remove(&self, hop: hops::Remove) -> std::result::Result<Rows, ApiError> {
        let db = self.db();
        let old = stats_row(&db, &hop.id)?;
        apply_moves(&db, &tally_moves(old.as_ref(), None), true)?;
        db.run(
            "DELETE FROM session_stats WHERE id = ?",
            vec![hop.id.clone().into()],
        )?;
        db.run("DELETE FROM sessions WHERE id = ?", vec![hop.id.into()])?;
        Ok(db.take_rows())
    }

    fn list(&self, q: hops::List) -> std::result::Result<Vec<SessionSummary>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            summary: String,
        }
        let mut bindings: Vec<SqlStorageValue> = vec![
            q.from.into(),
            q.before.started_at.into(),
            q.before.started_at.into(),
            q.before.id.into(),
            i64::from(q.include_bots).into(),
        ];
        let query = if q.filters == Filters::default() {
            LIST
        } else {
            bindings.extend(filter_bindings(&q.filters));
            LIST_FILTERED
        };
        bindings.push(i64::from(q.limit).into());
        // "Before (t, id)" is written as a closed range on `started_at` plus a residual test,
        // not as `started_at < t OR (started_at = t AND id < id)`: with the OR, SQLite
        // answers from two index searches and sorts the whole day in a temporary B-tree
        // (207 ms for a 100k-session day in `cargo xtask bench`); this way it walks
        // `sessions_by_start` in order and stops after `limit` rows.
        Ok(self
            .db()
            .all::<Row>(query, bindings)?
            .iter()
            .filter_map(|r| read_summary(&r.summary))
            .collect())
    }

    fn stats(&self, q: hops::Stats) -> std::result::Result<StatsAccumulator, ApiError> {
        #[derive(Deserialize)]
        struct Bounds {
            lo: Option<i64>,
            hi: Option<i64>,
        }
        #[derive(Deserialize)]
        struct TallyRow {
            dim: String,
            value: String,
            n: i64,
        }
        let db = self.db();
        let bounds: Option<Bounds> = db.first(
            "SELECT MIN(started_at) AS lo, MAX(started_at) AS hi FROM session_stats",
            vec![],
        )?;
        let whole_shard = match bounds.map(|b| (b.lo, b.hi)) {
            Some((Some(lo), Some(hi))) => q.from <= lo && hi < q.to,
            _ => true,
        };
        let mut acc = StatsAccumulator::default();
        if whole_shard && q.filters == Filters::default() {
            // Every session here is in range: the pre-aggregated tallies are the answer.
            let rows: Vec<TallyRow> = db.all(
                "SELECT dim, value, SUM(n) AS n FROM day_tallies WHERE (bot = 0 OR ?) \
                 GROUP BY dim, value HAVING SUM(n) != 0",
                vec![i64::from(q.include_bots).into()],
            )?;
            for row in rows {
                if let Some(dim) = Dim::parse(&row.dim) {
                    acc.add_tally(dim, &row.value, row.n.max(0) as u64);
                }
            }
            return Ok(acc);
        }
        #[derive(Deserialize)]
        struct Page {
            rows: String,
            last: Option<i64>,
            n: i64,
        }
        let mut after = 0i64;
        let mut page_rows = STATS_PAGE_ROWS;
        loop {
            let page: Option<Page> = match db.first(
                STATS_PAGE,
                [
                    vec![
                        after.into(),
                        q.from.into(),
                        q.to.into(),
                        i64::from(q.include_bots).into(),
                    ],
                    filter_bindings(&q.filters),
                    vec![page_rows.into()],
                ]
                .concat(),
            ) {
                Ok(page) => page,
                Err(_) if page_rows > STATS_PAGE_MIN_ROWS => {
                    page_rows /= 4;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(page) = page.filter(|p| p.n > 0) else {
                break;
            };
            let rows: Vec<StatsTuple> = serde_json::from_str(&page.rows)
                .map_err(|e| ApiError::internal("index stats page", e))?;
            for row in rows.into_iter().map(row_of) {
                acc.add_row(&row);
            }
            match page.last {
                Some(last) if page.n == page_rows => after = last,
                _ => break,
            }
        }
        Ok(acc)
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
