//! `SessionIndex`: one Durable Object per site, UTC day and hash shard, listing the
//! summaries of the sessions that started in it.
//!
//! Session objects push their summary here after each new batch, with a version (the number
//! of batches applied); an older version never overwrites a newer one, so two pushes that
//! cross on the network leave the newest summary in place.
//!
//! Three tables: `sessions` (the summaries, for listing), `session_stats` (the figures
//! `GET /api/stats` counts, one narrow row per session) and `day_tallies` (those figures
//! pre-aggregated: per bot flag, dimension and value, how many sessions or how much). Every
//! upsert takes the session's old row out of the tallies and puts the new one in, in the same
//! synchronous run of statements, so the tallies always equal a count over `session_stats`.
//! Stats for a range that holds the whole shard and has no filter read the tallies (a few
//! hundred rows, however many sessions); anything else counts `session_stats` rows in range.

use crate::error::{json_response, ApiError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::cell::Cell;
use stint_shared::listing::{Filters, ListParams};
use stint_shared::session::SessionSummary;
use stint_shared::stats::StatsAccumulator;
use worker::{
    durable_object, DurableObject, Env, Method, Request, RequestInit, Response, Result,
    SqlStorageValue, State,
};

const SCHEMA: [&str; 9] = [
    "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, version INTEGER NOT NULL, summary TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (started_at DESC, id DESC)",
    "CREATE TABLE IF NOT EXISTS session_stats (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, channel TEXT, country TEXT, device TEXT, browser TEXT, os TEXT, \
     entry_page TEXT, referrer_host TEXT, active_ms INTEGER NOT NULL, \
     pageviews INTEGER NOT NULL, bounce INTEGER NOT NULL)",
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

/// Stores a summary row (`id, started_at, bot, version, summary`) unless the shard holds a
/// newer version of it.
pub(crate) const UPSERT_SESSION: &str = "INSERT INTO sessions \
     (id, started_at, bot, version, summary) VALUES (?, ?, ?, ?, ?) \
     ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, bot = excluded.bot, \
     version = excluded.version, summary = excluded.summary \
     WHERE excluded.version >= sessions.version";

/// Milliseconds from now until `at` (ms since the epoch), 0 if it has passed: the offset
/// `set_alarm` takes.
pub(crate) fn ms_until(at: i64) -> i64 {
    (at - worker::Date::now().as_millis() as i64).max(0)
}

/// Shards written before the tallies existed fill them from their summaries once.
const TALLIES_MIGRATION: &str = "tallies-v1";

/// A `session_stats` row from the stored summary of the same session.
pub(crate) const STATS_FROM_SUMMARY: &str = "INSERT OR REPLACE INTO session_stats \
     SELECT id, started_at, bot, json_extract(summary, '$.channel'), \
     json_extract(summary, '$.country'), json_extract(summary, '$.device'), \
     json_extract(summary, '$.browser'), json_extract(summary, '$.os'), \
     json_extract(summary, '$.entry_page'), json_extract(summary, '$.referrer_host'), \
     COALESCE(json_extract(summary, '$.active_ms'), 0), \
     COALESCE(json_extract(summary, '$.pageviews'), 0), \
     COALESCE(json_extract(summary, '$.bounce'), 0) FROM sessions";

/// `stint_shared::stats::active_ms_bucket` in SQL: exact below 1000, then three significant
/// digits, rounded half up.
fn active_ms_bucket_sql() -> String {
    let mut sql = String::from("CASE WHEN active_ms < 1000 THEN active_ms");
    let mut step: u64 = 10;
    while step <= 1_000_000_000_000 {
        sql.push_str(&format!(
            " WHEN active_ms < {} THEN (active_ms + {}) / {step} * {step}",
            step * 1000,
            step / 2
        ));
        step *= 10;
    }
    sql.push_str(" ELSE active_ms END");
    sql
}

/// The tallies (`bot, dim, value, n`) of the sessions in a CTE named `r` with
/// `session_stats`' columns; the names are `stint_shared::stats::tally`'s. One row per
/// session and dimension, by a join with the list of dimensions (Durable Objects' SQLite
/// allows only a few terms in a compound SELECT, so no `UNION ALL` chain).
fn contributions_sql() -> String {
    let labels = [
        "entry_page",
        "referrer_host",
        "channel",
        "country",
        "device",
        "browser",
        "os",
    ];
    let mut value = format!(
        "CASE d.value WHEN 'active_ms' THEN CAST({} AS TEXT) \
         WHEN 'hour' THEN CAST(started_at / 3600000 * 3600000 AS TEXT)",
        active_ms_bucket_sql()
    );
    for column in labels {
        value.push_str(&format!(" WHEN '{column}' THEN {column}"));
    }
    value.push_str(" ELSE '' END");
    let dims: Vec<String> = [
        "sessions",
        "pageviews",
        "bounces",
        "active_ms_total",
        "active_ms",
        "hour",
    ]
    .iter()
    .chain(labels.iter())
    .map(|d| format!("\"{d}\""))
    .collect();
    format!(
        "SELECT bot, dim, value, n FROM (SELECT bot, d.value AS dim, {value} AS value, \
         CASE d.value WHEN 'pageviews' THEN pageviews WHEN 'bounces' THEN bounce \
         WHEN 'active_ms_total' THEN active_ms ELSE 1 END AS n \
         FROM r, json_each('[{}]') AS d) WHERE value IS NOT NULL",
        dims.join(",")
    )
}

/// Adds `sign` × the tallies of the `session_stats` rows matching `condition` to
/// `day_tallies`.
pub(crate) fn tally_sql(condition: &str) -> String {
    format!(
        "WITH r AS (SELECT * FROM session_stats WHERE {condition}) \
         INSERT INTO day_tallies (bot, dim, value, n) \
         SELECT bot, dim, value, SUM(n) * ? FROM ({}) WHERE true GROUP BY bot, dim, value \
         ON CONFLICT (bot, dim, value) DO UPDATE SET n = n + excluded.n",
        contributions_sql()
    )
}

/// Where a listing page starts: strictly before this `(started_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub started_at: i64,
    pub id: String,
}

/// One shard's part of a listing.
pub struct ListQuery<'a> {
    pub from: i64,
    pub before: &'a Position,
    pub limit: u32,
    pub include_bots: bool,
    pub filters: &'a Filters,
}

/// SQL condition for the optional filters; binds each value twice (`? IS NULL OR … = ?`).
const FILTER_SQL: &str = "(? IS NULL OR json_extract(summary, '$.channel') = ?) \
     AND (? IS NULL OR json_extract(summary, '$.country') = ?) \
     AND (? IS NULL OR json_extract(summary, '$.device') = ?)";

/// The same filters on `session_stats`' columns.
const STATS_FILTER_SQL: &str = "(? IS NULL OR channel = ?) AND (? IS NULL OR country = ?) \
     AND (? IS NULL OR device = ?)";

#[derive(Deserialize, Default)]
struct FilterBody {
    channel: Option<String>,
    country: Option<String>,
    device: Option<String>,
}

impl FilterBody {
    fn is_empty(&self) -> bool {
        self.channel.is_none() && self.country.is_none() && self.device.is_none()
    }

    fn bindings(&self) -> Vec<SqlStorageValue> {
        [&self.channel, &self.country, &self.device]
            .into_iter()
            .flat_map(|v| [v.clone().into(), v.clone().into()])
            .collect()
    }
}

fn filter_json(f: &Filters) -> Value {
    json!({ "channel": f.channel, "country": f.country, "device": f.device })
}

pub(crate) async fn call(
    env: &Env,
    object: &str,
    method: Method,
    path: &str,
    body: Option<String>,
) -> std::result::Result<Response, ApiError> {
    let stub = env
        .durable_object("INDEX")?
        .id_from_name(object)?
        .get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(method).with_body(body.map(Into::into));
    let req = Request::new_with_init(&format!("https://index.stint{path}"), &init)?;
    let resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| ApiError::internal("index object", e))?;
    if resp.status_code() >= 300 {
        return Err(ApiError::internal("index object", resp.status_code()));
    }
    Ok(resp)
}

/// Stores a session's newest summary in an index shard; `expires_at` is when the shard's day
/// leaves the retention period.
pub async fn upsert(
    env: &Env,
    object: &str,
    summary: &SessionSummary,
    version: i64,
    expires_at: i64,
) -> std::result::Result<(), ApiError> {
    let body =
        json!({ "version": version, "summary": summary, "expires_at": expires_at }).to_string();
    call(env, object, Method::Post, "/upsert", Some(body))
        .await
        .map(drop)
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
    let body = json!({ "id": sid, "shard": object }).to_string();
    let path = match how {
        Removal::Delete => "/remove",
        Removal::Purge => "/purge",
    };
    call(env, object, Method::Post, path, Some(body))
        .await
        .map(drop)
}

/// One shard's partial totals for `[from, to)`.
pub async fn stats(
    env: &Env,
    object: &str,
    params: &ListParams,
) -> std::result::Result<StatsAccumulator, ApiError> {
    let body = json!({
        "from": params.from,
        "to": params.to,
        "include_bots": params.include_bots,
        "filters": filter_json(&params.filters),
    })
    .to_string();
    let mut resp = call(env, object, Method::Post, "/stats", Some(body)).await?;
    Ok(resp.json().await?)
}

/// Summaries from one shard, newest first, as stored (JSON values).
pub async fn list(
    env: &Env,
    object: &str,
    q: &ListQuery<'_>,
) -> std::result::Result<Vec<Value>, ApiError> {
    let body = json!({
        "from": q.from,
        "before_started_at": q.before.started_at,
        "before_id": q.before.id,
        "limit": q.limit,
        "include_bots": q.include_bots,
        "filters": filter_json(q.filters),
    })
    .to_string();
    let mut resp = call(env, object, Method::Post, "/list", Some(body)).await?;
    let rows: Vec<Value> = resp.json().await?;
    Ok(rows)
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

#[derive(Deserialize)]
struct UpsertBody {
    version: i64,
    summary: SessionSummary,
    expires_at: i64,
}

#[derive(Deserialize)]
struct RemoveBody {
    id: String,
}

#[derive(Deserialize)]
struct ListBody {
    from: i64,
    before_started_at: i64,
    before_id: String,
    limit: u32,
    include_bots: bool,
    #[serde(default)]
    filters: FilterBody,
}

#[derive(Deserialize)]
struct StatsBody {
    from: i64,
    to: i64,
    include_bots: bool,
    #[serde(default)]
    filters: FilterBody,
}

#[derive(Deserialize)]
struct SummaryRow {
    summary: String,
}

#[derive(Deserialize)]
struct TallyRow {
    dim: String,
    value: String,
    n: i64,
}

#[derive(Deserialize)]
struct Bounds {
    lo: Option<i64>,
    hi: Option<i64>,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

impl DurableObject for SessionIndex {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = create_schema(&sql) {
            worker::console_error!("index schema: {}", e.message);
        }
        if let Err(e) = migrate_to_tallies(&sql) {
            worker::console_error!("index tallies migration: {}", e.message);
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
        let answer = match path.as_str() {
            "/upsert" => self.handle_upsert(&body).await,
            "/remove" => self.handle_remove(&body),
            "/purge" => self.handle_purge(&body).await,
            "/restore" => self.handle_restore(&body).await,
            "/hold" => self.handle_hold(&body).await,
            "/take" => self.handle_take(),
            "/release" => self.handle_release().await,
            "/list" => self.handle_list(&body),
            "/stats" => self.handle_stats(&body),
            _ => Err(ApiError::not_found("no such index operation")),
        };
        answer.or_else(ApiError::into_response)
    }
}

pub(crate) fn create_schema(sql: &worker::SqlStorage) -> std::result::Result<(), ApiError> {
    for statement in SCHEMA {
        sql.exec(statement, None)?;
    }
    Ok(())
}

/// Fills `session_stats` and `day_tallies` from the summaries of a shard written before they
/// existed; once (a row in `migrations` says it is done).
fn migrate_to_tallies(sql: &worker::SqlStorage) -> std::result::Result<(), ApiError> {
    let done = sql
        .exec(
            "SELECT COUNT(*) AS n FROM migrations WHERE name = ?",
            vec![TALLIES_MIGRATION.into()],
        )?
        .one::<Count>()?
        .n;
    if done == 0 {
        sql.exec(STATS_FROM_SUMMARY, None)?;
        sql.exec("DELETE FROM day_tallies", None)?;
        sql.exec(&tally_sql("true"), vec![1i64.into()])?;
        sql.exec(
            "INSERT INTO migrations (name) VALUES (?)",
            vec![TALLIES_MIGRATION.into()],
        )?;
    }
    Ok(())
}

pub(crate) fn parse<'a, T: Deserialize<'a>>(body: &'a str) -> std::result::Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::bad_request(format!("index request: {e}")))
}

impl SessionIndex {
    /// Deletes the object's database, files and alarm included, and makes its tables again:
    /// the instance lives on and may be asked for more (a late upsert, which must then set
    /// the expiry alarm anew; another purge).
    pub(crate) async fn empty_out(&self) -> std::result::Result<(), ApiError> {
        self.state.storage().delete_all().await?;
        self.alarm_checked.set(false);
        create_schema(&self.state.storage().sql())
    }

    async fn handle_upsert(&self, body: &str) -> std::result::Result<Response, ApiError> {
        let UpsertBody {
            version,
            summary,
            expires_at,
        } = parse(body)?;
        if !self.alarm_checked.get() {
            let storage = self.state.storage();
            if storage.get_alarm().await?.is_none() {
                let wait = ms_until(expires_at) as u64;
                storage
                    .set_alarm(std::time::Duration::from_millis(wait))
                    .await?;
            }
            self.alarm_checked.set(true);
        }
        let json = serde_json::to_string(&summary).map_err(|e| ApiError::internal("index", e))?;
        self.state.storage().sql().exec(
            UPSERT_SESSION,
            vec![
                summary.id.clone().into(),
                summary.started_at.into(),
                i64::from(summary.bot.is_some()).into(),
                version.into(),
                json.into(),
            ],
        )?;
        self.refresh_tallies(&summary.id)?;
        json_response(200, &json!({"ok": true}))
    }

    /// Re-derives one session's `session_stats` row from its stored summary, moving its
    /// tallies from the old row to the new one. Synchronous: commits with the upsert.
    fn refresh_tallies(&self, id: &str) -> std::result::Result<(), ApiError> {
        let sql = self.state.storage().sql();
        sql.exec(&tally_sql("id = ?"), vec![id.into(), (-1i64).into()])?;
        sql.exec(
            &format!("{STATS_FROM_SUMMARY} WHERE id = ?"),
            vec![id.into()],
        )?;
        sql.exec(&tally_sql("id = ?"), vec![id.into(), 1i64.into()])?;
        Ok(())
    }

    fn handle_remove(&self, body: &str) -> std::result::Result<Response, ApiError> {
        let RemoveBody { id } = parse(body)?;
        let sql = self.state.storage().sql();
        sql.exec(
            &tally_sql("id = ?"),
            vec![id.clone().into(), (-1i64).into()],
        )?;
        sql.exec(
            "DELETE FROM session_stats WHERE id = ?",
            vec![id.clone().into()],
        )?;
        sql.exec("DELETE FROM sessions WHERE id = ?", vec![id.into()])?;
        // Tallies the session alone made (its entry page, referrer, …) are now 0: they go
        // too, so an erased session's values do not outlive it as empty counters.
        sql.exec("DELETE FROM day_tallies WHERE n = 0", None)?;
        json_response(200, &json!({"ok": true}))
    }

    fn handle_list(&self, body: &str) -> std::result::Result<Response, ApiError> {
        let q: ListBody = parse(body)?;
        let mut bindings: Vec<SqlStorageValue> = vec![
            q.from.into(),
            q.before_started_at.into(),
            q.before_started_at.into(),
            q.before_id.into(),
            i64::from(q.include_bots).into(),
        ];
        bindings.extend(q.filters.bindings());
        bindings.push(i64::from(q.limit).into());
        // "Before (t, id)" is written as a closed range on `started_at` plus a residual test,
        // not as `started_at < t OR (started_at = t AND id < id)`: with the OR, SQLite
        // answers from two index searches and sorts the whole day in a temporary B-tree
        // (207 ms for a 100k-session day in `cargo xtask bench`); this way it walks
        // `sessions_by_start` in order and stops after `limit` rows.
        let query = format!(
            "SELECT summary FROM sessions \
             WHERE started_at >= ? AND started_at <= ? AND (started_at < ? OR id < ?) \
             AND (bot = 0 OR ?) AND {FILTER_SQL} \
             ORDER BY started_at DESC, id DESC LIMIT ?"
        );
        let summaries: Vec<Value> = self
            .summaries(&query, bindings)?
            .iter()
            .filter_map(|r| serde_json::from_str(&r.summary).ok())
            .collect();
        json_response(200, &Value::Array(summaries))
    }

    /// Runs a `SELECT summary …` over this shard.
    fn summaries(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> std::result::Result<Vec<SummaryRow>, ApiError> {
        Ok(self
            .state
            .storage()
            .sql()
            .exec(query, bindings)?
            .to_array::<SummaryRow>()?)
    }

    fn handle_stats(&self, body: &str) -> std::result::Result<Response, ApiError> {
        let q: StatsBody = parse(body)?;
        let sql = self.state.storage().sql();
        let bounds = sql
            .exec(
                "SELECT MIN(started_at) AS lo, MAX(started_at) AS hi FROM session_stats",
                None,
            )?
            .one::<Bounds>()?;
        let whole_shard = match (bounds.lo, bounds.hi) {
            (Some(lo), Some(hi)) => q.from <= lo && hi < q.to,
            _ => true,
        };
        let rows: Vec<TallyRow> = if whole_shard && q.filters.is_empty() {
            // Every session here is in range: the pre-aggregated tallies are the answer.
            sql.exec(
                "SELECT dim, value, SUM(n) AS n FROM day_tallies WHERE (bot = 0 OR ?) \
                 GROUP BY dim, value HAVING SUM(n) != 0",
                vec![i64::from(q.include_bots).into()],
            )?
            .to_array()?
        } else {
            let mut bindings: Vec<SqlStorageValue> =
                vec![q.from.into(), q.to.into(), i64::from(q.include_bots).into()];
            bindings.extend(q.filters.bindings());
            let query = format!(
                "WITH r AS (SELECT * FROM session_stats WHERE started_at >= ? AND started_at < ? \
                 AND (bot = 0 OR ?) AND {STATS_FILTER_SQL}) \
                 SELECT dim, value, SUM(n) AS n FROM ({}) WHERE true GROUP BY dim, value",
                contributions_sql()
            );
            sql.exec(&query, bindings)?.to_array()?
        };
        let mut acc = StatsAccumulator::default();
        for row in rows {
            acc.add_tally(&row.dim, &row.value, row.n.max(0) as u64);
        }
        let json = serde_json::to_value(&acc).map_err(|e| ApiError::internal("index stats", e))?;
        json_response(200, &json)
    }
}
