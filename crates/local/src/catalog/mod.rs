//! The catalog on SQLite: file records, the usage ledger, and a change log.
//!
//! Every committed catalog change appends a change-log row in the same transaction,
//! holding the old and new item as DynamoDB attribute values, exactly what a DynamoDB
//! stream with `NEW_AND_OLD_IMAGES` would carry. [`SqliteCatalog::stream_records_after`]
//! reads them back as stream records, and a pump position (kept in the same database)
//! says how far a consumer got, so a restart neither loses nor repeats acknowledged
//! records.
//!
//! One file per part: `files` keeps the records (the catalog ports), `stream`
//! the change log and its reading as stream records, `ledger` the usage counters,
//! `walks` where sweep's walks stopped and its walk over CLEAN records.

mod files;
mod ledger;
mod stream;
mod walks;

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use rusqlite::Connection;

use crate::LocalError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS files (
    tenant      TEXT NOT NULL,
    id          TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    deadline_ms INTEGER NOT NULL,
    record      TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_status ON files (tenant, status, id);
CREATE INDEX IF NOT EXISTS files_by_deadline ON files (status, deadline_ms);
CREATE INDEX IF NOT EXISTS files_by_created ON files (status, created_ms);
CREATE TABLE IF NOT EXISTS changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_name TEXT NOT NULL,
    keys       TEXT NOT NULL,
    old_image  TEXT,
    new_image  TEXT,
    at_ms      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS usage (
    tenant TEXT NOT NULL,
    status TEXT NOT NULL,
    files  INTEGER NOT NULL,
    bytes  INTEGER NOT NULL,
    PRIMARY KEY (tenant, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS applied_changes (
    change_id TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sweep_cursors (
    name     TEXT PRIMARY KEY,
    position TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stream_position (
    consumer TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The catalog in one SQLite file (or in memory, for tests). Cheap to clone; clones
/// share one connection, and every operation runs on the blocking pool.
#[derive(Clone)]
pub struct SqliteCatalog {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteCatalog {
    /// Opens (and if needed creates) the catalog at `path`.
    pub fn open(path: &Path) -> Result<Self, LocalError> {
        Self::with_connection(Connection::open(path)?)
    }

    /// A catalog that lives only as long as this value.
    pub fn in_memory() -> Result<Self, LocalError> {
        Self::with_connection(Connection::open_in_memory()?)
    }

    fn with_connection(conn: Connection) -> Result<Self, LocalError> {
        // WAL with synchronous=NORMAL survives a killed process (not a power cut),
        // which is the durability the local stack promises.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T, LocalError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, LocalError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await?
    }
}
