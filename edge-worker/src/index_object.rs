//! `SessionIndex`: one Durable Object per site, UTC day and hash shard, listing the
//! summaries of the sessions that started in it.
//!
//! Session objects push their summary here after each new batch, with a version (the number
//! of batches applied); an older version never overwrites a newer one, so two pushes that
//! cross on the network leave the newest summary in place.

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

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, started_at INTEGER NOT NULL, \
     bot INTEGER NOT NULL, version INTEGER NOT NULL, summary TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sessions_by_start ON sessions (started_at DESC, id DESC)",
];

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

#[derive(Deserialize, Default)]
struct FilterBody {
    channel: Option<String>,
    country: Option<String>,
    device: Option<String>,
}

impl FilterBody {
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

async fn call(
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

pub async fn remove(env: &Env, object: &str, sid: &str) -> std::result::Result<(), ApiError> {
    let body = json!({ "id": sid }).to_string();
    call(env, object, Method::Post, "/remove", Some(body))
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
    state: State,
    /// Whether this instance has made sure the shard's expiry alarm exists (checked once per
    /// instance, so upserts do not each touch the alarm).
    alarm_checked: Cell<bool>,
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

impl DurableObject for SessionIndex {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        for statement in SCHEMA {
            if let Err(e) = sql.exec(statement, None) {
                worker::console_error!("index schema: {e}");
            }
        }
        SessionIndex {
            state,
            alarm_checked: Cell::new(false),
        }
    }

    /// The shard's day has left the retention period: drop it whole.
    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::empty()
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body = req.text().await?;
        let answer = match path.as_str() {
            "/upsert" => self.handle_upsert(&body).await,
            "/remove" => self.handle_remove(&body),
            "/list" => self.handle_list(&body),
            "/stats" => self.handle_stats(&body),
            _ => Err(ApiError::not_found("no such index operation")),
        };
        answer.or_else(ApiError::into_response)
    }
}

fn parse<'a, T: Deserialize<'a>>(body: &'a str) -> std::result::Result<T, ApiError> {
    serde_json::from_str(body).map_err(|e| ApiError::bad_request(format!("index request: {e}")))
}

impl SessionIndex {
    async fn handle_upsert(&self, body: &str) -> std::result::Result<Response, ApiError> {
        let UpsertBody {
            version,
            summary,
            expires_at,
        } = parse(body)?;
        if !self.alarm_checked.get() {
            let storage = self.state.storage();
            if storage.get_alarm().await?.is_none() {
                let now = worker::Date::now().as_millis() as i64;
                let wait = (expires_at - now).max(0) as u64;
                storage
                    .set_alarm(std::time::Duration::from_millis(wait))
                    .await?;
            }
            self.alarm_checked.set(true);
        }
        let json = serde_json::to_string(&summary).map_err(|e| ApiError::internal("index", e))?;
        self.state.storage().sql().exec(
            "INSERT INTO sessions (id, started_at, bot, version, summary) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET started_at = excluded.started_at, bot = excluded.bot, \
             version = excluded.version, summary = excluded.summary \
             WHERE excluded.version >= sessions.version",
            vec![
                summary.id.clone().into(),
                summary.started_at.into(),
                i64::from(summary.bot.is_some()).into(),
                version.into(),
                json.into(),
            ],
        )?;
        json_response(200, &json!({"ok": true}))
    }

    fn handle_remove(&self, body: &str) -> std::result::Result<Response, ApiError> {
        let RemoveBody { id } = parse(body)?;
        self.state
            .storage()
            .sql()
            .exec("DELETE FROM sessions WHERE id = ?", vec![id.into()])?;
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
        let query = format!(
            "SELECT summary FROM sessions \
             WHERE started_at >= ? AND (started_at < ? OR (started_at = ? AND id < ?)) \
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
        let mut bindings: Vec<SqlStorageValue> =
            vec![q.from.into(), q.to.into(), i64::from(q.include_bots).into()];
        bindings.extend(q.filters.bindings());
        let query = format!(
            "SELECT summary FROM sessions \
             WHERE started_at >= ? AND started_at < ? AND (bot = 0 OR ?) AND {FILTER_SQL}"
        );
        let rows = self.summaries(&query, bindings)?;
        let mut acc = StatsAccumulator::default();
        for row in rows {
            if let Ok(summary) = serde_json::from_str::<SessionSummary>(&row.summary) {
                acc.add(&summary);
            }
        }
        let json = serde_json::to_value(&acc).map_err(|e| ApiError::internal("index stats", e))?;
        json_response(200, &json)
    }
}
