//! `SessionObject`: one Durable Object per site and session.
//!
//! It owns three tables: `applied` (the seqs already folded, so a retried batch counts once),
//! `events` (the scrubbed timeline) and `state` (the reducer's state as JSON, one row). After
//! each new batch it pushes the fresh summary to the index shard for the session's start day.
//! Every write of one batch happens without an `await` in between, so the runtime commits
//! them together: a batch is either wholly applied or not at all.

use crate::config;
use crate::error::{json_response, ApiError};
use crate::index_object::Removal;
use serde::Deserialize;
use serde_json::json;
use std::cell::RefCell;
use stint_shared::classify::UaInfo;
use stint_shared::json::JsonWriter;
use stint_shared::protocol::{decode_batch, MAX_EVENTS_PER_SESSION};
use stint_shared::rate::{TokenBucket, BURST, PER_SECOND};
use stint_shared::session::{scrub_event, BatchContext, SessionState, MAX_STORED_STATE_BYTES};
use stint_shared::shard::{index_object_for, session_object_name};
use stint_shared::time::{utc_day, DAY_MS};
use worker::{
    durable_object, DurableObject, Env, Headers, Method, Request, RequestInit, Response, Result,
    SqlStorage, State,
};

const SCHEMA: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS applied (seq INTEGER PRIMARY KEY, received_at INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER NOT NULL, i INTEGER NOT NULL, ts INTEGER NOT NULL, \
     page INTEGER NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (seq, i))",
    "CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, \
     index_name TEXT NOT NULL)",
];

/// What the edge derived from a request, sent to the session object beside the body.
pub struct EdgeFacts {
    pub received_at: i64,
    pub country: Option<String>,
    pub ua: UaInfo,
}

const RECEIVED_AT: &str = "x-stint-received-at";
const COUNTRY: &str = "x-stint-country";
const DEVICE: &str = "x-stint-device";
const OS: &str = "x-stint-os";
const BROWSER: &str = "x-stint-browser";
const UA_BOT: &str = "x-stint-ua-bot";

/// Sends a validated beacon to its session's object and returns the object's answer.
pub async fn ingest(
    env: &Env,
    batch: &stint_shared::protocol::Batch,
    body: Vec<u8>,
    edge: &EdgeFacts,
) -> std::result::Result<Response, ApiError> {
    let stub = env
        .durable_object("SESSIONS")?
        .id_from_name(&session_object_name(&batch.site, &batch.sid))?
        .get_stub()?;
    let headers = Headers::new();
    headers.set(RECEIVED_AT, &edge.received_at.to_string())?;
    let facts = [
        (COUNTRY, edge.country.as_deref()),
        (DEVICE, edge.ua.device),
        (OS, edge.ua.os.as_deref()),
        (BROWSER, edge.ua.browser.as_deref()),
        (UA_BOT, edge.ua.bot),
    ];
    for (name, value) in facts {
        if let Some(value) = value {
            headers.set(name, value)?;
        }
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    let req = Request::new_with_init("https://session.stint/ingest", &init)?;
    stub.fetch_with_request(req)
        .await
        .map_err(|e| ApiError::internal("session object", e))
}

#[durable_object]
pub struct SessionObject {
    state: State,
    env: Env,
    /// The per-session rate limit. In memory: an evicted object starts with a full bucket,
    /// which only ever errs towards accepting.
    bucket: RefCell<Option<TokenBucket>>,
}

impl DurableObject for SessionObject {
    fn new(state: State, env: Env) -> Self {
        let object = SessionObject {
            state,
            env,
            bucket: RefCell::new(None),
        };
        object.ensure_schema();
        object
    }

    /// Retention: erase the session once its last batch is `RETENTION_DAYS` old. The alarm
    /// is set once, when the session is created; a session still active then is given
    /// another period.
    async fn alarm(&self) -> Result<Response> {
        let retention = config::retention_ms(&self.env);
        let last = self
            .sql()
            .exec(
                "SELECT COALESCE(MAX(received_at), 0) AS n FROM applied",
                None,
            )?
            .one::<Count>()?
            .n;
        let now = worker::Date::now().as_millis() as i64;
        if last > 0 && last + retention > now {
            self.state
                .storage()
                .set_alarm(std::time::Duration::from_millis(
                    (last + retention - now) as u64,
                ))
                .await?;
        } else if let Err(e) = self.erase_everywhere(Removal::Delete).await {
            worker::console_error!("retention: {}", e.message);
            // Try again later rather than lose track of expired data.
            self.state
                .storage()
                .set_alarm(std::time::Duration::from_secs(60))
                .await?;
        }
        Response::empty()
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let answer = match (req.method(), req.path().as_str()) {
            (Method::Post, "/ingest") => self.handle_ingest(req).await,
            (Method::Get, "/timeline") => self.handle_timeline(),
            (Method::Delete, "/erase") => self.handle_erase().await,
            _ => Err(ApiError::not_found("no such session operation")),
        };
        answer.or_else(ApiError::into_response)
    }
}

#[derive(Deserialize)]
struct StateRow {
    json: String,
    index_name: String,
}

#[derive(Deserialize)]
struct EventRow {
    body: String,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// Asks a session's object for its timeline; `None` if the session is unknown.
pub async fn timeline(
    env: &Env,
    site: &str,
    sid: &str,
) -> std::result::Result<Option<serde_json::Value>, ApiError> {
    let stub = env
        .durable_object("SESSIONS")?
        .id_from_name(&session_object_name(site, sid))?
        .get_stub()?;
    let mut resp = stub
        .fetch_with_str("https://session.stint/timeline")
        .await
        .map_err(|e| ApiError::internal("session object", e))?;
    match resp.status_code() {
        200 => Ok(Some(resp.json().await?)),
        404 => Ok(None),
        other => Err(ApiError::internal("session object", other)),
    }
}

/// Asks a session's object to erase the session everywhere; `false` if it was unknown.
pub async fn erase(env: &Env, site: &str, sid: &str) -> std::result::Result<bool, ApiError> {
    let stub = env
        .durable_object("SESSIONS")?
        .id_from_name(&session_object_name(site, sid))?
        .get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Delete);
    let req = Request::new_with_init("https://session.stint/erase", &init)?;
    let resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| ApiError::internal("session object", e))?;
    match resp.status_code() {
        204 => Ok(true),
        404 => Ok(false),
        other => Err(ApiError::internal("session object", other)),
    }
}

impl SessionObject {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    fn ensure_schema(&self) {
        let sql = self.sql();
        for statement in SCHEMA {
            if let Err(e) = sql.exec(statement, None) {
                worker::console_error!("session schema: {e}");
            }
        }
    }

    async fn handle_erase(&self) -> std::result::Result<Response, ApiError> {
        if self.erase_everywhere(Removal::Purge).await? {
            Ok(Response::empty()?.with_status(204))
        } else {
            Err(ApiError::not_found("session: unknown session"))
        }
    }

    /// Removes the session from its index shard (`how`: purged on request, deleted for
    /// retention), then every row and the alarm of this object. `false` when there was no
    /// session.
    async fn erase_everywhere(&self, how: Removal) -> std::result::Result<bool, ApiError> {
        let Some((state, index_name)) = self.load_state()? else {
            self.state.storage().delete_all().await?;
            self.ensure_schema();
            return Ok(false);
        };
        crate::index_object::remove(&self.env, &index_name, &state.summary.id, how).await?;
        self.state.storage().delete_alarm().await?;
        self.state.storage().delete_all().await?;
        // The object may receive a late beacon of the same session: keep its tables.
        self.ensure_schema();
        Ok(true)
    }

    fn load_state(&self) -> std::result::Result<Option<(SessionState, String)>, ApiError> {
        let rows = self
            .sql()
            .exec("SELECT json, index_name FROM state WHERE id = 1", None)?
            .to_array::<StateRow>()?;
        match rows.into_iter().next() {
            Some(row) => {
                let state = serde_json::from_str::<SessionState>(&row.json)
                    .map_err(|e| ApiError::internal("session state", e))?;
                Ok(Some((state, row.index_name)))
            }
            None => Ok(None),
        }
    }

    /// How many batches are applied: the version of the summary pushed to the index.
    fn version(&self) -> std::result::Result<i64, ApiError> {
        Ok(self
            .sql()
            .exec("SELECT COUNT(*) AS n FROM applied", None)?
            .one::<Count>()?
            .n)
    }

    /// Pushes the session's summary (at `version` batches applied) to its index shard, which
    /// keeps it until the end of the session's start day plus the retention period.
    async fn push_to_index(
        &self,
        index_name: &str,
        state: &SessionState,
        version: i64,
    ) -> std::result::Result<(), ApiError> {
        let day_end = (utc_day(state.summary.started_at) + 1) * DAY_MS;
        let expires_at = day_end + config::retention_ms(&self.env);
        crate::index_object::upsert(&self.env, index_name, &state.summary, version, expires_at)
            .await
    }

    /// A retried batch is already stored, but whatever made the client retry (a crash, a
    /// restart, a failed subrequest) may have struck after its rows were written and before
    /// the index shard heard of it or the retention alarm was set. Both are redone: the
    /// upsert is idempotent (the shard keeps the newest version), and the alarm is only set
    /// when none is.
    async fn repair_after_retry(&self) -> std::result::Result<(), ApiError> {
        let Some((state, index_name)) = self.load_state()? else {
            return Ok(());
        };
        self.push_to_index(&index_name, &state, self.version()?)
            .await?;
        let retention = config::retention_ms(&self.env);
        if self.state.storage().get_alarm().await?.is_none() {
            self.state
                .storage()
                .set_alarm(std::time::Duration::from_millis(retention as u64))
                .await?;
        }
        Ok(())
    }

    /// The session's summary, pages and events in the order they happened.
    fn handle_timeline(&self) -> std::result::Result<Response, ApiError> {
        let Some((state, _)) = self.load_state()? else {
            return Err(ApiError::not_found("session: unknown session"));
        };
        let events: Vec<serde_json::Value> = self
            .sql()
            .exec("SELECT body FROM events ORDER BY ts, seq, i", None)?
            .to_array::<EventRow>()?
            .into_iter()
            .filter_map(|row| serde_json::from_str(&row.body).ok())
            .collect();
        json_response(
            200,
            &json!({ "session": state.summary, "pages": state.pages, "events": events }),
        )
    }

    async fn handle_ingest(&self, mut req: Request) -> std::result::Result<Response, ApiError> {
        let header = |name: &str| req.headers().get(name).ok().flatten();
        let received_at = header(RECEIVED_AT)
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| ApiError::bad_request("x-stint-received-at: missing"))?;
        // Retries count against the limit too: a flood of duplicates is still a flood.
        let admitted = self
            .bucket
            .borrow_mut()
            .get_or_insert_with(|| TokenBucket::new(received_at))
            .try_take(received_at);
        if !admitted {
            return Err(ApiError::new(
                429,
                format!(
                    "rate: over {BURST} batches at once or {PER_SECOND} a second for this session"
                ),
            ));
        }
        let ctx_edge = (
            header(COUNTRY),
            header(DEVICE),
            header(OS),
            header(BROWSER),
            header(UA_BOT),
        );
        let body = req.bytes().await?;
        let batch = decode_batch(&body).map_err(|e| ApiError::bad_request(e.message()))?;
        let sites = config::sites(&self.env)?;
        let keep_params = sites
            .get(&batch.site)
            .map(|s| s.keep_params.clone())
            .unwrap_or_default();
        let sql = self.sql();

        let seen = sql
            .exec(
                "SELECT COUNT(*) AS n FROM applied WHERE seq = ?",
                vec![i64::from(batch.seq).into()],
            )?
            .one::<Count>()?
            .n;
        if seen > 0 {
            self.repair_after_retry().await?;
            return json_response(202, &json!({"ok": true, "duplicate": true}));
        }

        let (mut state, old_index) = match self.load_state()? {
            Some((state, index_name)) => (state, Some(index_name)),
            None => (SessionState::new(&batch.site, &batch.sid), None),
        };
        let is_new = old_index.is_none();
        if state.would_exceed_cap(batch.events.len()) {
            return Err(ApiError::new(
                429,
                format!("session: over the limit of {MAX_EVENTS_PER_SESSION} events"),
            ));
        }

        let (country, device, os, browser, ua_bot) = ctx_edge;
        let ctx = BatchContext {
            received_at,
            keep_params,
            country,
            device,
            os,
            browser,
            ua_bot,
        };
        state.apply(&batch, &ctx);
        let Some(state_json) = state.stored_json() else {
            return Err(ApiError::new(
                429,
                format!("session: over the storage limit of {MAX_STORED_STATE_BYTES} bytes"),
            ));
        };
        let index_name = index_object_for(&batch.site, &batch.sid, state.summary.started_at);

        // No await from here until every row of this batch is written.
        for (i, event) in batch.events.iter().enumerate() {
            let scrubbed = scrub_event(event, &ctx.keep_params);
            let mut w = JsonWriter::new();
            scrubbed.write_json(&mut w);
            sql.exec(
                "INSERT INTO events (seq, i, ts, page, type, body) VALUES (?, ?, ?, ?, ?, ?)",
                vec![
                    i64::from(batch.seq).into(),
                    (i as i64).into(),
                    stint_shared::time::clamp_client_ts(event.ts, received_at).into(),
                    i64::from(event.page).into(),
                    event.kind.type_name().into(),
                    w.finish().into(),
                ],
            )?;
        }
        sql.exec(
            "INSERT INTO applied (seq, received_at) VALUES (?, ?)",
            vec![i64::from(batch.seq).into(), received_at.into()],
        )?;
        sql.exec(
            "INSERT INTO state (id, json, index_name) VALUES (1, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, index_name = excluded.index_name",
            vec![state_json.into(), index_name.clone().into()],
        )?;
        let version = self.version()?;

        // The batch is stored; the index is refreshed next. A reordered batch can move the
        // session's start to an earlier day: then it leaves the old day's shard, purged, so
        // that an erasure later finds nothing of it there.
        if let Some(old) = old_index.filter(|old| *old != index_name) {
            crate::index_object::remove(&self.env, &old, &batch.sid, Removal::Purge).await?;
        }
        self.push_to_index(&index_name, &state, version).await?;
        let retention = config::retention_ms(&self.env);
        if is_new {
            // One alarm per session, set when it is created — not on every beacon.
            self.state
                .storage()
                .set_alarm(std::time::Duration::from_millis(retention as u64))
                .await?;
        }
        json_response(202, &json!({"ok": true}))
    }
}
