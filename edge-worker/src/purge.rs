//! Erasing a session from its index shard so that none of its bytes stay in the shard's
//! files.
//!
//! Deleting a row is not enough: SQLite keeps a deleted row's bytes in the page's free space
//! and in the write-ahead log until they are reused, and a Durable Object may neither set
//! `secure_delete` nor force a checkpoint. `deleteAll()` is the one operation that replaces
//! the files. So a purge reads the rows the shard keeps, calls `deleteAll()` and writes them
//! back — `session_stats` and `day_tallies` derived afresh, the expiry alarm re-armed — in
//! one synchronous run, so that the rewrite goes out with the reset's own commit (workerd's
//! `ActorSqlite` folds a `deleteAll()` into the implicit transaction that follows it in the
//! same turn).
//!
//! In local workerd, though, the reset deletes the files at once and the rewrite reaches disk
//! only at that commit, so a crash in between would empty the shard; whether Cloudflare's
//! storage makes the two one atomic write could not be checked here. Against that, the shard
//! first hands a copy of what it keeps to a second object of the same class,
//! `<shard>/held`, which sets an alarm; the rewrite records the purge's nonce in `purges`,
//! and the shard then releases the copy. A copy still held when its alarm rings, or when the
//! shard's next purge begins, is merged back unless the shard has its nonce (newest version
//! wins, as for upserts). Purges of one shard run one at a time, so a copy never holds a
//! session that an earlier purge erased.

use crate::config;
use crate::error::{json_response, ApiError};
use crate::index_object::{
    call, create_schema, ms_until, parse, tally_sql, SessionIndex, STATS_FROM_SUMMARY,
    UPSERT_SESSION,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use worker::{Delay, Method, Response, SqlStorage, SqlStorageValue};

/// How long a copy waits before making sure its shard was rewritten.
const HOLD_CHECK: Duration = Duration::from_secs(15);

/// A `sessions` (or `held_rows`) row, whole.
#[derive(Serialize, Deserialize)]
struct SessionRow {
    id: String,
    started_at: i64,
    bot: i64,
    version: i64,
    summary: String,
}

impl SessionRow {
    /// The row's values in column order, for `INSERT … (id, started_at, bot, version, summary)`.
    fn into_bindings(self) -> Vec<SqlStorageValue> {
        vec![
            self.id.into(),
            self.started_at.into(),
            self.bot.into(),
            self.version.into(),
            self.summary.into(),
        ]
    }
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

#[derive(Deserialize)]
struct PurgeBody {
    id: String,
    /// The shard's own object name, which names its copy.
    shard: String,
}

/// A purge's copy of the rows its shard keeps.
#[derive(Serialize, Deserialize)]
struct Held {
    shard: String,
    nonce: String,
    /// The shard's expiry alarm (ms since the epoch), which the reset takes with it.
    alarm: Option<i64>,
    rows: Vec<SessionRow>,
}

#[derive(Deserialize)]
struct HeldMeta {
    shard: String,
    nonce: String,
    alarm: Option<i64>,
}

fn copy_name(shard: &str) -> String {
    format!("{shard}/held")
}

fn rows_of(sql: &SqlStorage, table: &str, except: &str) -> Result<Vec<SessionRow>, ApiError> {
    Ok(sql
        .exec(
            &format!("SELECT id, started_at, bot, version, summary FROM {table} WHERE id != ?"),
            vec![except.into()],
        )?
        .to_array()?)
}

/// Writes rows into `sessions`, keeping a stored row when it is newer (as upserts do).
fn merge_rows(sql: &SqlStorage, rows: Vec<SessionRow>) -> Result<(), ApiError> {
    for row in rows {
        sql.exec(UPSERT_SESSION, row.into_bindings())?;
    }
    Ok(())
}

/// Fills a freshly reset shard: its tables, the rows it keeps with their figures, its
/// migrations, and the nonce of the purge that wrote it.
fn rewrite(
    sql: &SqlStorage,
    kept: Vec<SessionRow>,
    migrations: Vec<NameRow>,
    nonce: &str,
) -> Result<(), ApiError> {
    create_schema(sql)?;
    merge_rows(sql, kept)?;
    derive_figures(sql)?;
    for m in migrations {
        sql.exec(
            "INSERT INTO migrations (name) VALUES (?)",
            vec![m.name.into()],
        )?;
    }
    sql.exec("INSERT INTO purges (nonce) VALUES (?)", vec![nonce.into()])?;
    Ok(())
}

/// Derives `session_stats` and `day_tallies` from `sessions` from scratch.
fn derive_figures(sql: &SqlStorage) -> Result<(), ApiError> {
    sql.exec("DELETE FROM session_stats", None)?;
    sql.exec(STATS_FROM_SUMMARY, None)?;
    sql.exec("DELETE FROM day_tallies", None)?;
    sql.exec(&tally_sql("true"), vec![1i64.into()])?;
    Ok(())
}

fn new_nonce() -> String {
    let random = (worker::js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("{:x}-{random:08x}", worker::Date::now().as_millis())
}

impl SessionIndex {
    /// `POST /purge {id, shard}` on a shard.
    pub(crate) async fn handle_purge(&self, body: &str) -> Result<Response, ApiError> {
        let PurgeBody { id, shard } = parse(body)?;
        while self.purging.replace(true) {
            Delay::from(Duration::from_millis(20)).await;
        }
        let result = self.purge(&id, &shard).await;
        self.purging.set(false);
        result
    }

    async fn purge(&self, id: &str, shard: &str) -> Result<Response, ApiError> {
        let storage = self.state.storage();
        let copy = copy_name(shard);
        // A copy left by a purge that did not finish goes back in first.
        let mut prior = call(&self.env, &copy, Method::Post, "/take", None).await?;
        if let Some(held) = prior.json::<Option<Held>>().await? {
            self.restore(held).await?;
        }
        let alarm = storage.get_alarm().await?;
        let nonce = new_nonce();
        let held = Held {
            shard: shard.to_string(),
            nonce: nonce.clone(),
            alarm,
            rows: rows_of(&storage.sql(), "sessions", id)?,
        };
        let held =
            serde_json::to_string(&held).map_err(|e| ApiError::internal("index purge", e))?;
        call(&self.env, &copy, Method::Post, "/hold", Some(held)).await?;

        // Upserts may have come in while the copy travelled: read again. From here on
        // nothing yields to another request until the rewrite is written.
        let sql = storage.sql();
        let kept = rows_of(&sql, "sessions", id)?;
        let migrations: Vec<NameRow> = sql.exec("SELECT name FROM migrations", None)?.to_array()?;
        let reset = Started::now(storage.delete_all()).await;
        let sql = storage.sql();
        let rewritten = if config::fault(&self.env, "purge-after-reset") {
            Err(ApiError::internal(
                "index purge",
                "STINT_FAULTS: stopped after the reset",
            ))
        } else {
            rewrite(&sql, kept, migrations, &nonce)
        };
        if let Err(e) = rewritten {
            // Whatever was written stays; the copy's alarm merges the rest back. The tables
            // are made again, as a restarted instance would, so the shard keeps answering.
            if let Err(schema) = create_schema(&sql) {
                worker::console_error!("index purge: {}", schema.message);
            }
            self.alarm_checked.set(false);
            reset.finish().await?;
            return Err(e);
        }
        let rearmed = match alarm {
            Some(at) => Some(Started::now(storage.set_alarm(ms_until(at))).await),
            None => {
                // An upsert that came in meanwhile may have set one, gone with the reset:
                // let the next upsert check again.
                self.alarm_checked.set(false);
                None
            }
        };
        reset.finish().await?;
        if let Some(rearmed) = rearmed {
            rearmed.finish().await?;
        }
        if let Err(e) = call(&self.env, &copy, Method::Post, "/release", None).await {
            // Harmless: the copy's alarm finds the nonce here and lets the copy go.
            worker::console_error!("index purge: copy not released: {}", e.message);
        }
        json_response(200, &json!({"ok": true}))
    }

    /// Merges a copy back unless this shard was rewritten by the purge that made it.
    async fn restore(&self, held: Held) -> Result<bool, ApiError> {
        let storage = self.state.storage();
        let sql = storage.sql();
        let done: Vec<NameRow> = sql
            .exec(
                "SELECT nonce AS name FROM purges WHERE nonce = ?",
                vec![held.nonce.into()],
            )?
            .to_array()?;
        if !done.is_empty() {
            return Ok(false);
        }
        worker::console_log!(
            "index: a purge did not finish; merging its copy of {} rows back",
            held.rows.len()
        );
        merge_rows(&sql, held.rows)?;
        derive_figures(&sql)?;
        // The shard's expiry alarm went with the reset.
        if let (Some(at), None) = (held.alarm, storage.get_alarm().await?) {
            storage.set_alarm(ms_until(at)).await?;
        }
        Ok(true)
    }

    /// `POST /restore` on a shard, from its copy's alarm.
    pub(crate) async fn handle_restore(&self, body: &str) -> Result<Response, ApiError> {
        let held: Held = parse(body)?;
        let merged = self.restore(held).await?;
        json_response(200, &json!({ "merged": merged }))
    }

    /// `POST /hold` on a copy: keep these rows, replacing any earlier copy, and check back.
    pub(crate) async fn handle_hold(&self, body: &str) -> Result<Response, ApiError> {
        let held: Held = parse(body)?;
        let sql = self.state.storage().sql();
        sql.exec("DELETE FROM held_rows", None)?;
        for row in held.rows {
            sql.exec(
                "INSERT INTO held_rows (id, started_at, bot, version, summary) VALUES (?, ?, ?, ?, ?)",
                row.into_bindings(),
            )?;
        }
        sql.exec(
            "INSERT OR REPLACE INTO held (k, shard, nonce, alarm) VALUES (1, ?, ?, ?)",
            vec![held.shard.into(), held.nonce.into(), held.alarm.into()],
        )?;
        self.state.storage().set_alarm(HOLD_CHECK).await?;
        json_response(200, &json!({"ok": true}))
    }

    fn held(&self) -> Result<Option<Held>, ApiError> {
        let sql = self.state.storage().sql();
        let meta: Vec<HeldMeta> = sql
            .exec("SELECT shard, nonce, alarm FROM held", None)?
            .to_array()?;
        let Some(HeldMeta {
            shard,
            nonce,
            alarm,
        }) = meta.into_iter().next()
        else {
            return Ok(None);
        };
        let rows = rows_of(&sql, "held_rows", "")?;
        Ok(Some(Held {
            shard,
            nonce,
            alarm,
            rows,
        }))
    }

    /// `POST /take` on a copy: the copy still held, if any (`null` otherwise).
    pub(crate) fn handle_take(&self) -> Result<Response, ApiError> {
        let held = self.held()?;
        json_response(
            200,
            &serde_json::to_value(held).map_err(|e| ApiError::internal("index copy", e))?,
        )
    }

    /// `POST /release` on a copy: the rewrite is written; the copy goes, files and all.
    pub(crate) async fn handle_release(&self) -> Result<Response, ApiError> {
        self.empty_out().await?;
        json_response(200, &json!({"ok": true}))
    }

    /// A copy's alarm: hands a still-held copy to its shard (which merges it only if its
    /// purge did not finish), then lets it go; `false` when this object holds no copy.
    pub(crate) async fn check_held_copy(&self) -> Result<bool, ApiError> {
        let Some(held) = self.held()? else {
            return Ok(false);
        };
        let shard = held.shard.clone();
        let body = serde_json::to_string(&held).map_err(|e| ApiError::internal("index copy", e))?;
        match call(&self.env, &shard, Method::Post, "/restore", Some(body)).await {
            Ok(_) => self.empty_out().await?,
            Err(e) => {
                worker::console_error!(
                    "index copy: shard not reached, trying again: {}",
                    e.message
                );
                self.state.storage().set_alarm(HOLD_CHECK).await?;
            }
        }
        Ok(true)
    }
}

/// A storage call begun at once and finished later. The JavaScript method behind a
/// workers-rs storage future runs on its first poll: polling once here makes it take effect
/// now, inside the synchronous run of SQL statements that follows, so that they commit as
/// one implicit transaction; `finish` then waits for its result.
struct Started<'a, T> {
    pending: Pin<Box<dyn Future<Output = T> + 'a>>,
    ready: Option<T>,
}

impl<'a, T> Started<'a, T> {
    async fn now(call: impl Future<Output = T> + 'a) -> Self {
        let mut pending: Pin<Box<dyn Future<Output = T> + 'a>> = Box::pin(call);
        let first = std::future::poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await;
        let ready = match first {
            Poll::Ready(value) => Some(value),
            Poll::Pending => None,
        };
        Started { pending, ready }
    }

    async fn finish(self) -> T {
        match self.ready {
            Some(value) => value,
            None => self.pending.await,
        }
    }
}
