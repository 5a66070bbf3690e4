//! An object's SQLite database, counting the rows every statement reads and writes as the
//! runtime counts them (the cursor's `rowsRead` / `rowsWritten`, what Cloudflare bills), so
//! each answer can say what it cost.

use crate::error::ApiError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use worker::{SqlCursor, SqlStorage, SqlStorageValue};

/// Rows read and written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rows {
    pub read: u64,
    pub written: u64,
}

impl std::ops::Add for Rows {
    type Output = Rows;
    fn add(self, o: Rows) -> Rows {
        Rows {
            read: self.read + o.read,
            written: self.written + o.written,
        }
    }
}

pub struct Db {
    sql: SqlStorage,
    rows: Cell<Rows>,
}

impl Db {
    pub fn new(sql: SqlStorage) -> Self {
        Db {
            sql,
            rows: Cell::new(Rows::default()),
        }
    }

    fn count(&self, cursor: &SqlCursor) {
        let r = self.rows.get();
        self.rows.set(Rows {
            read: r.read + cursor.rows_read() as u64,
            written: r.written + cursor.rows_written() as u64,
        });
    }

    /// Runs a statement for its effect.
    pub fn run(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Result<(), ApiError> {
        let cursor = self.sql.exec(query, bindings)?;
        // Writes happen as the statement is stepped: step it to the end.
        for row in cursor.raw() {
            row?;
        }
        self.count(&cursor);
        Ok(())
    }

    /// Every row of a query.
    pub fn all<T: DeserializeOwned>(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>, ApiError> {
        let cursor = self.sql.exec(query, bindings)?;
        let rows = cursor.to_array()?;
        self.count(&cursor);
        Ok(rows)
    }

    /// The first row of a query, if any.
    pub fn first<T: DeserializeOwned>(
        &self,
        query: &str,
        bindings: Vec<SqlStorageValue>,
    ) -> Result<Option<T>, ApiError> {
        Ok(self.all(query, bindings)?.into_iter().next())
    }

    /// Rows read and written since the last call.
    pub fn take_rows(&self) -> Rows {
        self.rows.replace(Rows::default())
    }
}

/// The table every object keeps its schema version in (one row).
pub const SCHEMA_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema (k INTEGER PRIMARY KEY CHECK (k = 1), version INTEGER NOT NULL)";

impl Db {
    /// The version the object's tables were written with; `None` before versions were kept.
    pub fn schema_version(&self) -> Result<Option<i64>, ApiError> {
        #[derive(Deserialize)]
        struct Version {
            version: i64,
        }
        Ok(self
            .first::<Version>("SELECT version FROM schema WHERE k = 1", vec![])?
            .map(|v| v.version))
    }

    pub fn set_schema_version(&self, version: i64) -> Result<(), ApiError> {
        self.run(
            "INSERT OR REPLACE INTO schema (k, version) VALUES (1, ?)",
            vec![version.into()],
        )
    }
}

/// Calls `f` with each element of the JSON array `json` as it is read, so a page of rows
/// is never held decoded all at once: each row's values are dropped before the next is
/// read (30% less time than decoding the page into a `Vec` first, for the bench's page
/// breakdown, natively). `what` names the array in an error.
pub fn each_row<T: DeserializeOwned>(
    json: &str,
    what: &'static str,
    f: impl FnMut(T) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
    /// The visitor; the first error of `f` is kept in `failed` and stops the read.
    struct Each<'f, T, F> {
        f: F,
        failed: &'f mut Option<ApiError>,
        row: std::marker::PhantomData<T>,
    }
    impl<'de, T: DeserializeOwned, F: FnMut(T) -> Result<(), ApiError>> DeserializeSeed<'de>
        for Each<'_, T, F>
    {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de, T: DeserializeOwned, F: FnMut(T) -> Result<(), ApiError>> Visitor<'de>
        for Each<'_, T, F>
    {
        type Value = ();
        fn expecting(&self, out: &mut std::fmt::Formatter) -> std::fmt::Result {
            out.write_str("an array of rows")
        }
        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
            while let Some(row) = seq.next_element::<T>()? {
                if let Err(e) = (self.f)(row) {
                    *self.failed = Some(e);
                    return Err(serde::de::Error::custom("stopped"));
                }
            }
            Ok(())
        }
    }
    let mut failed = None;
    let mut de = serde_json::Deserializer::from_str(json);
    let read = Each {
        f,
        failed: &mut failed,
        row: std::marker::PhantomData,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    match (failed, read) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(ApiError::internal(what, e)),
        (None, Ok(())) => Ok(()),
    }
}
