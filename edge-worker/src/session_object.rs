//! `SessionObject`: one Durable Object per site and session.
//!
//! Tables (version [`SCHEMA_VERSION`] in `schema`): `batches` (one row per applied batch: its
//! seq, so a retried batch counts once, its receive time and its scrubbed events) and `state`
//! (the reducer's state as JSON, the shard it is listed in and how many batches it holds, one
//! row). After a new batch it pushes the fresh summary to the index shard of the session's
//! start day. Every write of one batch happens without an `await` in between, so the runtime
//! commits them together: a batch is either wholly applied or not at all.

use crate::config;
use crate::db::{Db, Rows};
use crate::error::ApiError;
use crate::hops::{self, Class, Hop, Ingest, IngestCost, Ingested, Timeline};
use crate::index_object;
use serde::Deserialize;
use std::cell::RefCell;
use stint_shared::rate::TokenBucket;
use stint_shared::refusal::Refusal;
use stint_shared::retention::{session_alarm, shard_expires_at, SessionAlarm};
use stint_shared::session::{stored_events, timeline_events, SessionState};
use stint_shared::shard::{index_object_for, session_object_name, shard_left};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

/// 1: before versions were kept (`applied` with one row per seq, `events` with one row per
/// event, `state` without a batch count). 2: `batches`, one row per batch; `state.batches`.
pub(crate) const SCHEMA_VERSION: i64 = 2;

const SCHEMA: [&str; 3] = [
    crate::db::SCHEMA_TABLE,
    "CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, \
     events TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL, \
     index_name TEXT NOT NULL, batches INTEGER NOT NULL DEFAULT 0)",
];

/// Version 1 → 2, in one synchronous run (one implicit transaction): each batch's events
/// become one `batches` row, in the order they were stored.
const MIGRATE_V1: [&str; 5] = [
    "INSERT OR IGNORE INTO batches (seq, received_at, events) \
     SELECT a.seq, a.received_at, (SELECT json_group_array(json_array(e.ts, json(e.body))) \
     FROM (SELECT ts, body FROM events e WHERE e.seq = a.seq ORDER BY e.i) e) FROM applied a",
    "ALTER TABLE state ADD COLUMN batches INTEGER NOT NULL DEFAULT 0",
    "UPDATE state SET batches = (SELECT COUNT(*) FROM batches)",
    "DROP TABLE events",
    "DROP TABLE applied",
];

/// Sends a hop to the object of session `sid` of `site`.
pub async fn send<H: Hop>(
    env: &Env,
    site: &str,
    sid: &str,
    hop: &H,
) -> std::result::Result<H::Answer, ApiError> {
    hops::send(env, Class::Sessions, &session_object_name(site, sid), hop).await
}

#[durable_object]
pub struct SessionObject {
    state: State,
    env: Env,
    /// The per-session rate limit. In memory: an evicted object starts with a full bucket,
    /// which only ever errs towards accepting.
    bucket: RefCell<Option<TokenBucket>>,
}

#[derive(Deserialize)]
struct StateRow {
    json: String,
    index_name: String,
    batches: i64,
}

/// A session's stored state.
struct Stored {
    state: SessionState,
    index_name: String,
    /// Batches applied: the version of the summary pushed to the index.
    batches: i64,
}

impl DurableObject for SessionObject {
    fn new(state: State, env: Env) -> Self {
        let object = SessionObject {
            state,
            env,
            bucket: RefCell::new(None),
        };
        if let Err(e) = object.ensure_schema() {
            worker::console_error!("session schema: {}", e.message);
        }
        object
    }

    /// Retention: erase the session once its last batch is `RETENTION_DAYS` old. The alarm
    /// is set once, when the session is created; a session still active then is given
    /// another period.
    async fn alarm(&self) -> Result<Response> {
        #[derive(Deserialize)]
        struct Last {
            last: Option<i64>,
        }
        let retention = config::get(&self.env).retention_ms;
        let last = self
            .db()
            .first::<Last>("SELECT MAX(received_at) AS last FROM batches", vec![])
            .map_err(|e| worker::Error::RustError(e.message))?
            .and_then(|l| l.last);
        let now = worker::Date::now().as_millis() as i64;
        match session_alarm(last, retention, now) {
            SessionAlarm::WaitMs(ms) => {
                self.state
                    .storage()
                    .set_alarm(std::time::Duration::from_millis(ms as u64))
                    .await?
            }
            SessionAlarm::Erase => {
                if let Err(e) = self.erase_everywhere(index_object::Removal::Delete).await {
                    worker::console_error!("retention: {}", e.message);
                    // Try again later rather than lose track of expired data.
                    self.state
                        .storage()
                        .set_alarm(std::time::Duration::from_secs(60))
                        .await?;
                }
            }
        }
        Response::empty()
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body = req.text().await?;
        match path.as_str() {
            Ingest::PATH => hops::serve(&body, |h| self.ingest(h)).await,
            hops::GetTimeline::PATH => {
                hops::serve(&body, |_: hops::GetTimeline| async { self.timeline() }).await
            }
            hops::Erase::PATH => {
                hops::serve(&body, |_: hops::Erase| {
                    self.erase_everywhere(index_object::Removal::Purge)
                })
                .await
            }
            _ => ApiError::not_found("no such session operation").into_response(),
        }
    }
}

impl SessionObject {
    fn db(&self) -> Db {
        Db::new(self.state.storage().sql())
    }

    /// Creates the tables, or brings an older object's to [`SCHEMA_VERSION`].
    fn ensure_schema(&self) -> std::result::Result<(), ApiError> {
        #[derive(Deserialize)]
        struct Name {
            #[allow(dead_code)]
            name: String,
        }
        let db = self.db();
        db.run(SCHEMA[0], vec![])?;
        let version = db.schema_version()?;
        match version {
            Some(v) if v >= SCHEMA_VERSION => return Ok(()),
            Some(_) => {}
            None => {
                let v1 = db
                    .first::<Name>(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'applied'",
                        vec![],
                    )?
                    .is_some();
                for statement in &SCHEMA[1..] {
                    db.run(statement, vec![])?;
                }
                if v1 {
                    for statement in MIGRATE_V1 {
                        db.run(statement, vec![])?;
                    }
                }
            }
        }
        for statement in &SCHEMA[1..] {
            db.run(statement, vec![])?;
        }
        db.set_schema_version(SCHEMA_VERSION)
    }

    /// Removes the session from its index shard (`how`: purged on request, deleted for
    /// retention), then every row and the alarm of this object. `false` when there was no
    /// session.
    async fn erase_everywhere(
        &self,
        how: index_object::Removal,
    ) -> std::result::Result<bool, ApiError> {
        let Some(stored) = self.load()? else {
            self.state.storage().delete_all().await?;
            self.ensure_schema()?;
            return Ok(false);
        };
        index_object::remove(&self.env, &stored.index_name, &stored.state.summary.id, how).await?;
        self.state.storage().delete_alarm().await?;
        self.state.storage().delete_all().await?;
        // The object may receive a late beacon of the same session: keep its tables.
        self.ensure_schema()?;
        Ok(true)
    }

    fn load(&self) -> std::result::Result<Option<Stored>, ApiError> {
        let row: Option<StateRow> = self.db().first(
            "SELECT json, index_name, batches FROM state WHERE id = 1",
            vec![],
        )?;
        match row {
            Some(row) => {
                let mut state = serde_json::from_str::<SessionState>(&row.json)
                    .map_err(|e| ApiError::internal("session state", e))?;
                // State a release before wave 2 wrote: browser and OS versions apart,
                // pages by path.
                state.summary.upgrade();
                Ok(Some(Stored {
                    state,
                    index_name: row.index_name,
                    batches: row.batches,
                }))
            }
            None => Ok(None),
        }
    }

    /// Pushes the session's summary and journey (at `version` batches applied) to its index
    /// shard, which
    /// keeps it until the end of the session's start day plus the retention period.
    async fn push_to_index(
        &self,
        index_name: &str,
        state: &SessionState,
        version: i64,
    ) -> std::result::Result<Rows, ApiError> {
        let retention = config::get(&self.env).retention_ms;
        let hop = hops::Upsert {
            version,
            summary: state.summary.clone(),
            journey: Some(state.journey()),
            expires_at: shard_expires_at(state.summary.started_at, retention),
            shard: None,
        };
        index_object::send(&self.env, index_name, &hop).await
    }

    /// A retried batch is already stored, but whatever made the client retry (a crash, a
    /// restart, a failed subrequest) may have struck after its rows were written and before
    /// the index shard heard of it or the retention alarm was set. Both are redone: the
    /// upsert is idempotent (the shard keeps the newest version), and the alarm is only set
    /// when none is.
    async fn repair_after_retry(&self) -> std::result::Result<Rows, ApiError> {
        let Some(stored) = self.load()? else {
            return Ok(Rows::default());
        };
        let rows = self
            .push_to_index(&stored.index_name, &stored.state, stored.batches)
            .await?;
        let retention = config::get(&self.env).retention_ms;
        if self.state.storage().get_alarm().await?.is_none() {
            self.state
                .storage()
                .set_alarm(std::time::Duration::from_millis(retention as u64))
                .await?;
        }
        Ok(rows)
    }

    /// The session's summary, pages and events in the order they happened.
    fn timeline(&self) -> std::result::Result<Option<Timeline>, ApiError> {
        #[derive(Deserialize)]
        struct BatchRow {
            seq: i64,
            events: String,
        }
        let Some(stored) = self.load()? else {
            return Ok(None);
        };
        let rows: Vec<(u32, String)> = self
            .db()
            .all::<BatchRow>("SELECT seq, events FROM batches", vec![])?
            .into_iter()
            .map(|r| (r.seq.clamp(0, i64::from(u32::MAX)) as u32, r.events))
            .collect();
        let events = timeline_events(&rows).ok_or_else(|| {
            ApiError::internal("session timeline", "a stored batch does not read")
        })?;
        Ok(Some(Timeline {
            session: stored.state.summary,
            pages: stored.state.pages,
            events,
        }))
    }

    /// Whether the site may start one more session now (the `NEW_SESSIONS` rate-limit
    /// binding, keyed by site; absent from an older `wrangler.toml`: no bound).
    async fn new_session_allowed(&self, site: &str) -> std::result::Result<bool, ApiError> {
        let Ok(limiter) = self.env.rate_limiter("NEW_SESSIONS") else {
            return Ok(true);
        };
        Ok(limiter.limit(site.to_string()).await?.success)
    }

    async fn ingest(&self, hop: Ingest) -> std::result::Result<Ingested, ApiError> {
        let Ingest { facts, batch } = hop;
        let received_at = facts.received_at;
        // Retries count against the limit too: a flood of duplicates is still a flood.
        let admitted = self
            .bucket
            .borrow_mut()
            .get_or_insert_with(|| TokenBucket::new(received_at))
            .try_take(received_at);
        if !admitted {
            return Err(Refusal::SessionRate.into());
        }
        let config = config::get(&self.env);
        let keep_params = config
            .sites()?
            .get(&batch.site)
            .map(|s| s.keep_params.clone())
            .unwrap_or_default();
        let db = self.db();

        #[derive(Deserialize)]
        struct Seq {
            #[allow(dead_code)]
            seq: i64,
        }
        let seen = db
            .first::<Seq>(
                "SELECT seq FROM batches WHERE seq = ?",
                vec![i64::from(batch.seq).into()],
            )?
            .is_some();
        if seen {
            let session = db.take_rows();
            let index = self.repair_after_retry().await?;
            return Ok(Ingested {
                duplicate: true,
                cost: IngestCost { session, index },
            });
        }

        let loaded = self.load()?;
        let is_new = loaded.is_none();
        if is_new && !self.new_session_allowed(&batch.site).await? {
            return Err(Refusal::NewSessions.into());
        }
        let (mut state, old_index, batches) = match loaded {
            Some(s) => (s.state, Some(s.index_name), s.batches),
            None => (SessionState::new(&batch.site, &batch.sid), None, 0),
        };
        if state.would_exceed_cap(batch.events.len()) {
            return Err(Refusal::EventCap.into());
        }
        let before = state.summary.clone();
        let ctx = facts.context(keep_params);
        state.apply(&batch, &ctx);
        let Some(state_json) = state.stored_json() else {
            return Err(Refusal::StateCap.into());
        };
        let index_name = index_object_for(&batch.site, &batch.sid, state.summary.started_at);
        let version = batches + 1;

        // No await from here until every row of this batch is written.
        db.run(
            "INSERT INTO batches (seq, received_at, events) VALUES (?, ?, ?)",
            vec![
                i64::from(batch.seq).into(),
                received_at.into(),
                stored_events(&batch, &ctx.keep_params, received_at).into(),
            ],
        )?;
        db.run(
            "INSERT INTO state (id, json, index_name, batches) VALUES (1, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET json = excluded.json, \
             index_name = excluded.index_name, batches = excluded.batches",
            vec![state_json.into(), index_name.clone().into(), version.into()],
        )?;
        let session = db.take_rows();

        // The batch is stored; the index is refreshed next. A reordered batch can move the
        // session's start to an earlier day: then it leaves the old day's shard, purged, so
        // that an erasure later finds nothing of it there.
        let moved = shard_left(old_index.as_deref(), &index_name);
        if let Some(old) = moved {
            index_object::remove(&self.env, old, &batch.sid, index_object::Removal::Purge).await?;
        }
        // Only a summary that changed is pushed: a batch that moved no listed or counted
        // figure (a repeated click on nothing, an engagement of 0 ms) costs no index write.
        let index = if is_new || moved.is_some() || state.summary != before {
            self.push_to_index(&index_name, &state, version).await?
        } else {
            Rows::default()
        };
        if is_new {
            // One alarm per session, set when it is created — not on every beacon — for the
            // retention period after this batch's receive time (now, but for a test edge's).
            let wait =
                crate::index_object::ms_until(received_at.saturating_add(config.retention_ms));
            self.state
                .storage()
                .set_alarm(std::time::Duration::from_millis(wait as u64))
                .await?;
        }
        Ok(Ingested {
            duplicate: false,
            cost: IngestCost { session, index },
        })
    }
}
