//! Erasing a session from its index object so that none of its bytes stay in the object's
//! files.
//!
//! Deleting a row is not enough: SQLite keeps a deleted row's bytes in the page's free space
//! and in the write-ahead log until they are reused, and a Durable Object may neither set
//! `secure_delete` nor force a checkpoint. `deleteAll()` is the one operation that replaces
//! the files. So a purge takes the session out of the tables (its figures subtracted, as any
//! removal), copies the sessions the object keeps to a second object of the same class,
//! `<object>/held`, part by part, resets the object with `deleteAll()`, and brings the rows
//! back from the copy part by part, deriving `session_stats` and `tallies` from them again.
//!
//! Parts, not the whole object at once: a month rollup of a busy site holds hundreds of
//! megabytes of summaries, more than a Worker's memory (128 MB), and the rows travel as the
//! JSON text SQLite writes and reads (`json_group_array`, `json_each`), never decoded. Memory
//! is one part (`PART_ROWS` rows, about a megabyte) whatever the object's size.
//!
//! While a purge runs, every other request to the object waits (`SessionIndex::busy`), so
//! the copy is exactly what the reset drops and no reader sees the object half rebuilt. The
//! reset's own turn writes a marker (`meta` `purge`: the nonce and the object's name); the
//! purge clears it once every row is back and its nonce is in `purges`. A purge that stops
//! midway — the runtime restarted, a part failed — is finished by the next request to the
//! object (the marker), or, where even the marker did not reach the disk (locally the reset
//! deletes the files at once and the rest reaches disk at the turn's commit), by the copy's
//! alarm, which asks the object to `Resume`. Bringing rows back is idempotent (newest
//! version wins, as for upserts), so a copy of a purge that never reset merges as a no-op.

use crate::config;
use crate::db::Db;
use crate::error::ApiError;
use crate::hops::{self, HeldFrame, HeldPage, HoldPart, Resume, TakePart};
use crate::index_object::{
    apply_remove, create_schema, derive_figures, meta, ms_until, send, set_meta, set_version,
    SessionIndex, UPSERT_SESSIONS_JSON,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use worker::Delay;

/// How long a copy waits before making sure its object was brought back.
const HOLD_CHECK: Duration = Duration::from_secs(15);

/// Session rows per part of a copy, out and back (about a megabyte of JSON for typical rows).
const PART_ROWS: i64 = 1_000;

/// The `meta` key of the marker a reset leaves until its purge has brought every row back:
/// `<nonce> <object name>`.
const MARKER: &str = "purge";

/// The rows of `{table}` (`sessions`, or a copy's `held_rows`) after rowid `?1`, at most `?2`,
/// as one JSON array in the column order `json_each` statements read, with the last rowid.
const PART: &str = "SELECT json_group_array(json_array(id, started_at, bot, version, summary, \
     journey, shard)) AS rows, MAX(r) AS last, COUNT(*) AS n FROM (SELECT rowid AS r, * \
     FROM {table} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)";

#[derive(Deserialize)]
struct Part {
    rows: String,
    last: Option<i64>,
    n: i64,
}

/// A part's rows as they travel (see [`HoldPart`]).
fn raw(rows: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(rows).map_err(|e| ApiError::internal("index purge", e))
}

impl Part {
    /// The `after` of the next part, if this one was full.
    fn next(&self, limit: i64) -> Option<i64> {
        self.last.filter(|_| limit > 0 && self.n == limit)
    }
}

fn part_of(db: &Db, table: &str, after: i64, limit: i64) -> Result<Part, ApiError> {
    // `table` is one of two literals of this module, never input.
    db.first(
        &PART.replace("{table}", table),
        vec![after.into(), limit.into()],
    )?
    .ok_or_else(|| ApiError::internal("index purge", "no part"))
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
        "SELECT (SELECT json_group_array(json_array(k, v)) FROM meta) AS meta, \
         (SELECT json_group_array(json_array(day, shard, after, done)) FROM deliveries) \
         AS deliveries",
        vec![],
    )?
    .ok_or_else(|| ApiError::internal("index purge", "no kept tables"))
}

fn put_back(db: &Db, meta: &str, deliveries: &str) -> Result<(), ApiError> {
    db.run(
        "INSERT OR REPLACE INTO meta (k, v) SELECT value ->> 0, value ->> 1 FROM json_each(?)",
        vec![meta.into()],
    )?;
    db.run(
        "INSERT OR REPLACE INTO deliveries (day, shard, after, done) SELECT value ->> 0, \
         value ->> 1, value ->> 2, value ->> 3 FROM json_each(?)",
        vec![deliveries.into()],
    )
}

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

fn copy_name(object: &str) -> String {
    format!("{object}/held")
}

fn purge_done(db: &Db, nonce: &str) -> Result<bool, ApiError> {
    let done: Vec<NameRow> = db.all(
        "SELECT nonce AS name FROM purges WHERE nonce = ?",
        vec![nonce.into()],
    )?;
    Ok(!done.is_empty())
}

/// Writes the object's frame anew right after its reset, in the reset's turn: tables, the
/// migrations it had, its kind, and the marker of this purge.
fn rewrite_frame(
    db: &Db,
    kept: &Kept,
    migrations: Vec<NameRow>,
    marker: &str,
) -> Result<(), ApiError> {
    create_schema(db)?;
    set_version(db)?;
    put_back(db, &kept.meta, &kept.deliveries)?;
    for m in migrations {
        db.run(
            "INSERT INTO migrations (name) VALUES (?)",
            vec![m.name.into()],
        )?;
    }
    set_meta(db, MARKER, marker)
}

fn new_nonce() -> String {
    let random = (worker::js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("{:x}-{random:08x}", worker::Date::now().as_millis())
}

impl SessionIndex {
    /// Waits while a purge runs in this object, and finishes one that stopped midway (its
    /// marker is still in `meta`) before the request goes on: what every request and alarm
    /// does first.
    pub(crate) async fn settle(&self) -> Result<(), ApiError> {
        while self.busy.get() {
            Delay::from(Duration::from_millis(20)).await;
        }
        if self.purge_checked.get() {
            return Ok(());
        }
        if let Some(marker) = meta(&self.db(), MARKER)? {
            let (nonce, object) = marker.split_once(' ').unwrap_or((&marker, ""));
            let (nonce, object) = (nonce.to_string(), object.to_string());
            self.exclusive(async {
                worker::console_log!("index: finishing a purge that stopped midway");
                self.bring_back(&object, &nonce).await.map(drop)
            })
            .await?;
        }
        self.purge_checked.set(true);
        Ok(())
    }

    /// Runs `work` with every other request to this object waiting.
    async fn exclusive<T>(
        &self,
        work: impl Future<Output = Result<T, ApiError>>,
    ) -> Result<T, ApiError> {
        while self.busy.replace(true) {
            Delay::from(Duration::from_millis(20)).await;
        }
        let result = work.await;
        self.busy.set(false);
        result
    }

    /// A purge of one session. A copied day shard then has its rollup purge the session too.
    pub(crate) async fn handle_purge(&self, hop: hops::Purge) -> Result<(), ApiError> {
        let rollup = self.copied_to()?;
        self.exclusive(self.purge(&hop.id, &hop.shard)).await?;
        if let Some(rollup) = rollup {
            let passed = hops::Purge {
                id: hop.id,
                shard: rollup.clone(),
            };
            send(&self.env, &rollup, &passed).await?;
        }
        Ok(())
    }

    /// From a copy's alarm: bring the copy back unless its purge finished.
    pub(crate) async fn resume(&self, hop: Resume) -> Result<bool, ApiError> {
        self.exclusive(self.bring_back(&hop.shard, &hop.nonce))
            .await
    }

    /// Takes the session out, copies what the object keeps to `<object>/held`, resets the
    /// object and brings the copy back (see the module's notes).
    async fn purge(&self, id: &str, object: &str) -> Result<(), ApiError> {
        let storage = self.state.storage();
        let copy = copy_name(object);
        // A copy an earlier purge left (its marker never reached the disk): back first.
        if let Some(held) = send(&self.env, &copy, &TakePart { after: 0, limit: 0 }).await? {
            self.bring_back(object, &held.frame.nonce).await?;
        }
        let db = self.db();
        apply_remove(&db, id)?;
        let alarm = storage.get_alarm().await?;
        let nonce = new_nonce();
        let kept = kept_tables(&db)?;
        let mut after = 0;
        let mut first = true;
        loop {
            let part = part_of(&db, "sessions", after, PART_ROWS)?;
            let next = part.next(PART_ROWS);
            let hold = HoldPart {
                frame: HeldFrame {
                    shard: object.to_string(),
                    nonce: nonce.clone(),
                    alarm,
                    meta: Some(kept.meta.clone()),
                    deliveries: Some(kept.deliveries.clone()),
                },
                first,
                rows: raw(part.rows)?,
            };
            send(&self.env, &copy, &hold).await?;
            first = false;
            match next {
                Some(last) => after = last,
                None => break,
            }
        }

        let migrations: Vec<NameRow> = db.all("SELECT name FROM migrations", vec![])?;
        let reset = Started::now(storage.delete_all()).await;
        let db = self.db();
        let framed = if config::get(&self.env).fault("purge-after-reset") {
            Err(ApiError::internal(
                "index purge",
                "STINT_FAULTS: stopped after the reset",
            ))
        } else {
            rewrite_frame(&db, &kept, migrations, &format!("{nonce} {object}"))
        };
        if let Err(e) = framed {
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
        // Until the rows are back, the marker makes the next request finish the purge.
        self.purge_checked.set(false);
        if config::get(&self.env).fault("purge-before-bring-back") {
            return Err(ApiError::internal(
                "index purge",
                "STINT_FAULTS: stopped before bringing the rows back",
            ));
        }
        self.bring_back(object, &nonce).await?;
        self.purge_checked.set(true);
        Ok(())
    }

    /// Merges the rows of `<object>/held` back, part by part, unless the purge `nonce`
    /// finished; then derives the figures again, records the nonce, clears the marker and
    /// releases the copy. Whether rows came back.
    async fn bring_back(&self, object: &str, nonce: &str) -> Result<bool, ApiError> {
        let db = self.db();
        if purge_done(&db, nonce)? {
            return Ok(false);
        }
        let copy = copy_name(object);
        let mut after = 0;
        let mut first = true;
        loop {
            let take = TakePart {
                after,
                limit: PART_ROWS,
            };
            let Some(page) = send(&self.env, &copy, &take).await? else {
                break;
            };
            if page.frame.nonce != nonce {
                worker::console_error!("index purge: the copy belongs to another purge");
                break;
            }
            if first {
                self.frame_from(&db, &page).await?;
                first = false;
            }
            db.run(UPSERT_SESSIONS_JSON, vec![page.rows.get().into()])?;
            match page.next {
                Some(next) => after = next,
                None => break,
            }
        }
        derive_figures(&db)?;
        db.run(
            "INSERT OR IGNORE INTO purges (nonce) VALUES (?)",
            vec![nonce.into()],
        )?;
        db.run("DELETE FROM meta WHERE k = ?", vec![MARKER.into()])?;
        if let Err(e) = send(&self.env, &copy, &hops::Release {}).await {
            worker::console_error!("index purge: copy not released: {}", e.message);
        }
        Ok(!first)
    }

    /// Puts back what a reset whose turn never reached the disk lost: the object's kind and
    /// its alarm.
    async fn frame_from(&self, db: &Db, page: &HeldPage) -> Result<(), ApiError> {
        #[derive(Deserialize)]
        struct N {
            n: i64,
        }
        let has_kind = db
            .first::<N>(
                "SELECT COUNT(*) AS n FROM meta WHERE k != ?",
                vec![MARKER.into()],
            )?
            .is_some_and(|r| r.n > 0);
        let frame = &page.frame;
        if let (false, Some(meta), Some(deliveries)) = (has_kind, &frame.meta, &frame.deliveries) {
            put_back(db, meta, deliveries)?;
        }
        let storage = self.state.storage();
        if let (Some(at), None) = (frame.alarm, storage.get_alarm().await?) {
            storage.set_alarm(ms_until(at)).await?;
        }
        Ok(())
    }

    /// On a copy: keep this part (the first replaces an earlier copy), and check back.
    pub(crate) async fn hold(&self, part: HoldPart) -> Result<(), ApiError> {
        let db = self.db();
        if part.first {
            let frame = part.frame;
            db.run("DELETE FROM held_rows", vec![])?;
            db.run(
                "INSERT OR REPLACE INTO held (k, shard, nonce, alarm, meta, deliveries) \
                 VALUES (1, ?, ?, ?, ?, ?)",
                vec![
                    frame.shard.into(),
                    frame.nonce.into(),
                    frame.alarm.into(),
                    frame.meta.into(),
                    frame.deliveries.into(),
                ],
            )?;
            self.state.storage().set_alarm(HOLD_CHECK).await?;
        }
        db.run(
            "INSERT OR REPLACE INTO held_rows (id, started_at, bot, version, summary, journey, \
             shard) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
             value ->> 5, value ->> 6 FROM json_each(?)",
            vec![part.rows.get().into()],
        )
    }

    fn held_frame(&self) -> Result<Option<HeldFrame>, ApiError> {
        Ok(self
            .db()
            .all::<HeldFrame>(
                "SELECT shard, nonce, alarm, meta, deliveries FROM held",
                vec![],
            )?
            .into_iter()
            .next())
    }

    /// On a copy: a page of the copy still held, if any.
    pub(crate) fn take(&self, q: TakePart) -> Result<Option<HeldPage>, ApiError> {
        let Some(frame) = self.held_frame()? else {
            return Ok(None);
        };
        let part = part_of(&self.db(), "held_rows", q.after, q.limit)?;
        Ok(Some(HeldPage {
            frame,
            next: part.next(q.limit),
            rows: raw(part.rows)?,
        }))
    }

    /// A copy's alarm: asks its object to make sure the purge finished (which brings the
    /// copy back if it did not), then lets the copy go; `false` when this object holds no
    /// copy.
    pub(crate) async fn check_held_copy(&self) -> Result<bool, ApiError> {
        let Some(held) = self.held_frame()? else {
            return Ok(false);
        };
        let resume = Resume {
            shard: held.shard.clone(),
            nonce: held.nonce,
        };
        match send(&self.env, &held.shard, &resume).await {
            Ok(_) => self.empty_out().await?,
            Err(e) => {
                worker::console_error!(
                    "index copy: object not reached, trying again: {}",
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
