//! Erasing a session from its index shard so that none of its bytes stay in the shard's
//! files.
//!
//! Deleting a row is not enough: SQLite keeps a deleted row's bytes in the page's free space
//! and in the write-ahead log until they are reused, and a Durable Object may neither set
//! `secure_delete` nor force a checkpoint. `deleteAll()` is the one operation that replaces
//! the files. So a purge reads the rows the shard keeps, calls `deleteAll()` and writes them
//! back — `session_stats` and `tallies` derived afresh, the expiry alarm re-armed — in
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
use crate::db::Db;
use crate::error::ApiError;
use crate::hops::{self, Held, HeldRow};
use crate::index_object::{
    create_schema, derive_figures, derive_figures_of, ms_until, run_json_rows, send, set_version,
    SessionIndex, UPSERT_SESSIONS_JSON,
};
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use worker::Delay;

/// How long a copy waits before making sure its shard was rewritten.
const HOLD_CHECK: Duration = Duration::from_secs(15);

/// Summary rows (of `sessions` or `held_rows`) as the JSON array `json_each(?)` statements
/// read, in column order.
fn rows_json(rows: &[HeldRow]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|r| {
            serde_json::json!([
                r.id,
                r.started_at,
                r.bot,
                r.version,
                r.summary,
                r.journey,
                r.shard
            ])
        })
        .collect()
}

/// What an object keeps besides its sessions and their figures: its kind (`meta`) and, in
/// a rollup, how far each day's copy has come. A rewrite puts them back as they were.
#[derive(Deserialize)]
struct Kept {
    meta: String,
    deliveries: String,
}

fn kept_tables(db: &Db) -> Result<Kept, ApiError> {
    db.first(
        "SELECT (SELECT json_group_array(json_array(k, v)) FROM meta) AS meta,          (SELECT json_group_array(json_array(day, shard, after, done)) FROM deliveries)          AS deliveries",
        vec![],
    )?
    .ok_or_else(|| ApiError::internal("index purge", "no kept tables"))
}

fn put_back(db: &Db, kept: &Kept) -> Result<(), ApiError> {
    db.run(
        "INSERT INTO meta (k, v) SELECT value ->> 0, value ->> 1 FROM json_each(?)",
        vec![kept.meta.clone().into()],
    )?;
    db.run(
        "INSERT INTO deliveries (day, shard, after, done) SELECT value ->> 0, value ->> 1,          value ->> 2, value ->> 3 FROM json_each(?)",
        vec![kept.deliveries.clone().into()],
    )
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

#[derive(Deserialize)]
struct HeldMeta {
    shard: String,
    nonce: String,
    alarm: Option<i64>,
    meta: Option<String>,
    deliveries: Option<String>,
}

fn copy_name(shard: &str) -> String {
    format!("{shard}/held")
}

fn rows_of(db: &Db, table: &str, except: &str) -> Result<Vec<HeldRow>, ApiError> {
    // `table` is one of two literals below, never input.
    db.all(
        &format!(
            "SELECT id, started_at, bot, version, summary, journey, shard FROM {table} \
             WHERE id != ?"
        ),
        vec![except.into()],
    )
}

/// Merges summary rows into the shard, keeping the newer version of each.
fn merge_rows(db: &Db, rows: &[HeldRow]) -> Result<(), ApiError> {
    run_json_rows(db, UPSERT_SESSIONS_JSON, rows_json(rows))
}

/// Writes the shard anew after its reset: tables, the kept summaries, the figures derived
/// from them, the migrations it had, and this purge's nonce — one synchronous run.
fn rewrite(
    db: &Db,
    kept: Vec<HeldRow>,
    tables: &Kept,
    migrations: Vec<NameRow>,
    nonce: &str,
) -> Result<(), ApiError> {
    create_schema(db)?;
    set_version(db)?;
    put_back(db, tables)?;
    merge_rows(db, &kept)?;
    derive_figures_of(db, kept.iter().map(|r| (r.id.as_str(), r.summary.as_str())))?;
    for m in migrations {
        db.run(
            "INSERT INTO migrations (name) VALUES (?)",
            vec![m.name.into()],
        )?;
    }
    db.run("INSERT INTO purges (nonce) VALUES (?)", vec![nonce.into()])?;
    Ok(())
}

fn new_nonce() -> String {
    let random = (worker::js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("{:x}-{random:08x}", worker::Date::now().as_millis())
}

impl SessionIndex {
    /// A purge of one session: purges of one shard run one at a time.
    /// A copied day shard then has its rollup purge the session too.
    pub(crate) async fn handle_purge(&self, hop: hops::Purge) -> Result<(), ApiError> {
        while self.purging.replace(true) {
            Delay::from(Duration::from_millis(20)).await;
        }
        let rollup = self.copied_to();
        let result = self.purge(&hop.id, &hop.shard).await;
        self.purging.set(false);
        result?;
        if let Some(rollup) = rollup? {
            let passed = hops::Purge {
                id: hop.id,
                shard: rollup.clone(),
            };
            send(&self.env, &rollup, &passed).await?;
        }
        Ok(())
    }

    /// Deletes a session and rewrites the shard without it. Before the reset, the kept rows
    /// go to the `<shard>/held` copy; a purge that dies between the reset and the rewrite is
    /// repaired from it (by the next purge, or by the copy's alarm).
    async fn purge(&self, id: &str, shard: &str) -> Result<(), ApiError> {
        let storage = self.state.storage();
        let copy = copy_name(shard);
        if let Some(held) = send(&self.env, &copy, &hops::Take {}).await? {
            self.restore(held).await?;
        }
        let alarm = storage.get_alarm().await?;
        let nonce = new_nonce();
        let tables = kept_tables(&self.db())?;
        let held = Held {
            shard: shard.to_string(),
            nonce: nonce.clone(),
            alarm,
            rows: rows_of(&self.db(), "sessions", id)?,
            meta: Some(tables.meta),
            deliveries: Some(tables.deliveries),
        };
        send(&self.env, &copy, &held).await?;

        let db = self.db();
        let kept = rows_of(&db, "sessions", id)?;
        let migrations: Vec<NameRow> = db.all("SELECT name FROM migrations", vec![])?;
        let tables = kept_tables(&db)?;
        let reset = Started::now(storage.delete_all()).await;
        let db = self.db();
        let rewritten = if config::get(&self.env).fault("purge-after-reset") {
            Err(ApiError::internal(
                "index purge",
                "STINT_FAULTS: stopped after the reset",
            ))
        } else {
            rewrite(&db, kept, &tables, migrations, &nonce)
        };
        if let Err(e) = rewritten {
            if let Err(schema) = create_schema(&db).and_then(|()| set_version(&db)) {
                worker::console_error!("index purge: {}", schema.message);
            }
            self.alarm_checked.set(false);
            reset.finish().await?;
            return Err(e);
        }
        let rearmed = match alarm {
            Some(at) => Some(Started::now(storage.set_alarm(ms_until(at))).await),
            None => {
                self.alarm_checked.set(false);
                None
            }
        };
        reset.finish().await?;
        if let Some(rearmed) = rearmed {
            rearmed.finish().await?;
        }
        if let Err(e) = send(&self.env, &copy, &hops::Release {}).await {
            worker::console_error!("index purge: copy not released: {}", e.message);
        }
        Ok(())
    }

    /// Merges a held copy back unless its purge finished (its nonce is in `purges`).
    pub(crate) async fn restore(&self, held: Held) -> Result<bool, ApiError> {
        let storage = self.state.storage();
        let db = self.db();
        let done: Vec<NameRow> = db.all(
            "SELECT nonce AS name FROM purges WHERE nonce = ?",
            vec![held.nonce.into()],
        )?;
        if !done.is_empty() {
            return Ok(false);
        }
        worker::console_log!(
            "index: a purge did not finish; merging its copy of {} rows back",
            held.rows.len()
        );
        merge_rows(&db, &held.rows)?;
        derive_figures(&db)?;
        #[derive(Deserialize)]
        struct N {
            n: i64,
        }
        let has_meta = db
            .first::<N>("SELECT COUNT(*) AS n FROM meta", vec![])?
            .is_some_and(|r| r.n > 0);
        if let (false, Some(meta), Some(deliveries)) = (has_meta, held.meta, held.deliveries) {
            put_back(&db, &Kept { meta, deliveries })?;
        }
        if let (Some(at), None) = (held.alarm, storage.get_alarm().await?) {
            storage.set_alarm(ms_until(at)).await?;
        }
        Ok(true)
    }

    /// On a copy: keep these rows, replacing any earlier copy, and check back.
    pub(crate) async fn hold(&self, held: Held) -> Result<(), ApiError> {
        let db = self.db();
        db.run("DELETE FROM held_rows", vec![])?;
        run_json_rows(
            &db,
            "INSERT INTO held_rows (id, started_at, bot, version, summary, journey, shard) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
             value ->> 5, value ->> 6 FROM json_each(?)",
            rows_json(&held.rows),
        )?;
        db.run(
            "INSERT OR REPLACE INTO held (k, shard, nonce, alarm, meta, deliveries) \
             VALUES (1, ?, ?, ?, ?, ?)",
            vec![
                held.shard.into(),
                held.nonce.into(),
                held.alarm.into(),
                held.meta.into(),
                held.deliveries.into(),
            ],
        )?;
        self.state.storage().set_alarm(HOLD_CHECK).await?;
        Ok(())
    }

    /// On a copy: the copy still held, if any.
    pub(crate) fn held(&self) -> Result<Option<Held>, ApiError> {
        let db = self.db();
        let meta: Vec<HeldMeta> = db.all(
            "SELECT shard, nonce, alarm, meta, deliveries FROM held",
            vec![],
        )?;
        let Some(HeldMeta {
            shard,
            nonce,
            alarm,
            meta,
            deliveries,
        }) = meta.into_iter().next()
        else {
            return Ok(None);
        };
        let rows = rows_of(&db, "held_rows", "")?;
        Ok(Some(Held {
            shard,
            nonce,
            alarm,
            rows,
            meta,
            deliveries,
        }))
    }

    /// A copy's alarm: hands a still-held copy to its shard (which merges it only if its
    /// purge did not finish), then lets it go; `false` when this object holds no copy.
    pub(crate) async fn check_held_copy(&self) -> Result<bool, ApiError> {
        let Some(held) = self.held()? else {
            return Ok(false);
        };
        let shard = held.shard.clone();
        match send(&self.env, &shard, &hops::Restore(held)).await {
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
