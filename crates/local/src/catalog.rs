//! The catalog on SQLite: file records, the usage ledger, and a change log.
//!
//! Every committed catalog change appends a change-log row in the same transaction,
//! holding the old and new item as DynamoDB attribute values, exactly what a DynamoDB
//! stream with `NEW_AND_OLD_IMAGES` would carry. [`SqliteCatalog::stream_records_after`]
//! reads them back as stream records, and a pump position (kept in the same database)
//! says how far a consumer got, so a restart neither loses nor repeats acknowledged
//! records.

use std::{path::Path, sync::Arc};

use airlock_domain::{
    FileId, FileItem, FileRecord, FileStatus, StatusCount, TenantId, Timestamp, Usage, UsageDelta,
    ports::{
        CatalogError, CatalogReader, CatalogSweep, CatalogWriter, LedgerError, ListQuery, Page,
        UsageLedger, UsageReader,
    },
};
use aws_lambda_events::dynamodb::{EventRecord, StreamRecord, StreamViewType};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::sync::Mutex;

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

    /// Up to `limit` change-log records after sequence number `after`, in order, as
    /// DynamoDB stream records.
    pub async fn stream_records_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<EventRecord>, LocalError> {
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, event_name, keys, old_image, new_image, at_ms FROM changes
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after, limit as i64], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<String>>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            })?;
            rows.map(|row| {
                let (seq, name, keys, old, new, at_ms) = row?;
                stream_record(seq, name, &keys, old.as_deref(), new.as_deref(), at_ms)
            })
            .collect()
        })
        .await
    }

    /// How far `consumer` has acknowledged the change log (0 before anything).
    pub async fn stream_position(&self, consumer: &str) -> Result<i64, LocalError> {
        let consumer = consumer.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT seq FROM stream_position WHERE consumer = ?1",
                    [consumer],
                    |row| row.get(0),
                )
                .optional()?
                .unwrap_or(0))
        })
        .await
    }

    /// Records that `consumer` has acknowledged everything up to `seq`.
    pub async fn set_stream_position(&self, consumer: &str, seq: i64) -> Result<(), LocalError> {
        let consumer = consumer.to_owned();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO stream_position (consumer, seq) VALUES (?1, ?2)
                 ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq",
                params![consumer, seq],
            )?;
            Ok(())
        })
        .await
    }

    /// Every PENDING record of every tenant, for the stack's start-up reconciliation.
    pub async fn pending_records(&self) -> Result<Vec<FileRecord>, LocalError> {
        self.run(|conn| {
            query_records(
                conn,
                "SELECT record FROM files WHERE status = 'PENDING' ORDER BY deadline_ms",
                [],
            )
        })
        .await
    }
}

fn stream_record(
    seq: i64,
    event_name: String,
    keys: &str,
    old: Option<&str>,
    new: Option<&str>,
    at_ms: i64,
) -> Result<EventRecord, LocalError> {
    let image = |json: Option<&str>| -> Result<serde_dynamo::Item, LocalError> {
        Ok(match json {
            Some(json) => serde_json::from_str(json)?,
            None => serde_dynamo::Item::default(),
        })
    };
    let mut change = StreamRecord::default();
    change.approximate_creation_date_time =
        chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    change.keys = serde_json::from_str(keys)?;
    change.old_image = image(old)?;
    change.new_image = image(new)?;
    // DynamoDB sequence numbers are decimal strings; padding keeps them sortable as text.
    change.sequence_number = Some(format!("{seq:021}"));
    change.size_bytes = (keys.len() + old.map_or(0, str::len) + new.map_or(0, str::len)) as i64;
    change.stream_view_type = Some(StreamViewType::NewAndOldImages);
    let mut record = EventRecord::default();
    record.aws_region = "local".to_owned();
    record.change = change;
    record.event_id = format!("{seq:032x}");
    record.event_name = event_name;
    record.event_source = Some("aws:dynamodb".to_owned());
    record.event_version = Some("1.1".to_owned());
    record.event_source_arn =
        Some("arn:aws:dynamodb:local:000000000000:table/airlock/stream/local".to_owned());
    Ok(record)
}

/// The item of a record as DynamoDB attribute-value JSON.
fn item_json(record: &FileRecord) -> Result<String, LocalError> {
    let item: serde_dynamo::Item = serde_dynamo::to_item(FileItem::from_record(record.clone()))?;
    Ok(serde_json::to_string(&item)?)
}

fn keys_json(record: &FileRecord) -> Result<String, LocalError> {
    let keys = serde_json::json!({
        "pk": {"S": FileItem::tenant_pk(&record.tenant)},
        "sk": {"S": FileItem::file_sk(record.id)},
    });
    Ok(keys.to_string())
}

fn append_change(
    tx: &rusqlite::Transaction<'_>,
    event_name: &str,
    old: Option<&FileRecord>,
    new: &FileRecord,
) -> Result<(), LocalError> {
    let old_image = old.map(item_json).transpose()?;
    tx.execute(
        "INSERT INTO changes (event_name, keys, old_image, new_image, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            event_name,
            keys_json(new)?,
            old_image,
            item_json(new)?,
            new.updated_at.timestamp_millis()
        ],
    )?;
    Ok(())
}

fn read_record(
    conn: &Connection,
    tenant: &str,
    id: &str,
) -> Result<Option<FileRecord>, LocalError> {
    let json: Option<String> = conn
        .query_row(
            "SELECT record FROM files WHERE tenant = ?1 AND id = ?2",
            params![tenant, id],
            |row| row.get(0),
        )
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

fn backend(e: LocalError) -> CatalogError {
    match e {
        LocalError::Json(e) => CatalogError::Corrupt(Box::new(e)),
        other => CatalogError::Backend(Box::new(other)),
    }
}

fn ledger(e: LocalError) -> LedgerError {
    LedgerError::Backend(Box::new(e))
}

fn query_records(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<FileRecord>, LocalError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |row| row.get::<_, String>(0))?;
    rows.map(|json| Ok(serde_json::from_str(&json?)?)).collect()
}

impl CatalogReader for SqliteCatalog {
    async fn get(&self, tenant: &TenantId, id: FileId) -> Result<Option<FileRecord>, CatalogError> {
        let tenant = tenant.to_string();
        self.run(move |conn| read_record(conn, &tenant, &id.to_string()))
            .await
            .map_err(backend)
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<Page, CatalogError> {
        let tenant = tenant.to_string();
        let status = query.status.map(|s| s.as_str().to_owned());
        // ULIDs sort as text in creation order, so the greatest id is the newest file.
        let after = query
            .after
            .map_or_else(|| "~".to_owned(), |id| id.to_string());
        let limit = query.limit;
        let mut records = self
            .run(move |conn| {
                query_records(
                    conn,
                    "SELECT record FROM files WHERE tenant = ?1 AND (?2 IS NULL OR status = ?2)
                     AND id < ?3 ORDER BY id DESC LIMIT ?4",
                    params![tenant, status, after, limit as i64 + 1],
                )
            })
            .await
            .map_err(backend)?;
        let next = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|r| r.id)
        } else {
            None
        };
        Ok(Page { records, next })
    }

    async fn rescans_requested(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<usize, CatalogError> {
        let tenant = tenant.to_string();
        let count = self
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM files WHERE tenant = ?1
                     AND status = 'CLEAN'
                     AND json_extract(record, '$.rescan_requested_at') IS NOT NULL LIMIT ?2)",
                )?;
                Ok(stmt.query_row(params![tenant, limit as i64], |row| row.get::<_, i64>(0))?)
            })
            .await
            .map_err(backend)?;
        Ok(usize::try_from(count).unwrap_or(0))
    }
}

impl CatalogWriter for SqliteCatalog {
    async fn create(&self, record: &FileRecord) -> Result<(), CatalogError> {
        let record = record.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO files (tenant, id, status, created_ms, deadline_ms, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    record.tenant.as_str(),
                    record.id.to_string(),
                    record.status.as_str(),
                    record.created_at.timestamp_millis(),
                    record.upload_deadline.timestamp_millis(),
                    serde_json::to_string(&record)?
                ],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            append_change(&tx, "INSERT", None, &record)?;
            tx.commit()?;
            Ok(true)
        })
        .await
        .map_err(backend)?
        .then_some(())
        .ok_or(CatalogError::AlreadyExists)
    }

    async fn replace(&self, expected: FileStatus, next: &FileRecord) -> Result<(), CatalogError> {
        let next = next.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(current) = read_record(&tx, next.tenant.as_str(), &next.id.to_string())?
            else {
                return Ok(Err(CatalogError::NotFound));
            };
            if current.status != expected {
                return Ok(Err(CatalogError::StatusChanged { expected }));
            }
            tx.execute(
                "UPDATE files SET status = ?3, record = ?4 WHERE tenant = ?1 AND id = ?2",
                params![
                    next.tenant.as_str(),
                    next.id.to_string(),
                    next.status.as_str(),
                    serde_json::to_string(&next)?
                ],
            )?;
            append_change(&tx, "MODIFY", Some(&current), &next)?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
        .map_err(backend)?
    }
}

impl CatalogSweep for SqliteCatalog {
    async fn pending_past_deadline(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<FileRecord>, CatalogError> {
        self.run(move |conn| {
            query_records(
                conn,
                "SELECT record FROM files WHERE status = 'PENDING' AND deadline_ms < ?1
                 ORDER BY deadline_ms LIMIT ?2",
                params![now.timestamp_millis(), limit as i64],
            )
        })
        .await
        .map_err(backend)
    }

    async fn decided_before(
        &self,
        cutoff: Timestamp,
        limit: usize,
    ) -> Result<Vec<FileRecord>, CatalogError> {
        self.run(move |conn| {
            query_records(
                conn,
                "SELECT record FROM files WHERE status IN ('CLEAN', 'REJECTED', 'INFECTED')
                 AND created_ms < ?1 ORDER BY created_ms LIMIT ?2",
                params![cutoff.timestamp_millis(), limit as i64],
            )
        })
        .await
        .map_err(backend)
    }

    async fn clean_needing_rescan(
        &self,
        ruleset: &str,
        limit: usize,
    ) -> Result<Vec<FileRecord>, CatalogError> {
        let ruleset = ruleset.to_owned();
        self.run(move |conn| {
            query_records(
                conn,
                "SELECT record FROM files WHERE status = 'CLEAN'
                 AND (json_extract(record, '$.rescan_requested_at') IS NOT NULL
                      OR json_extract(record, '$.finding.scan.ruleset') IS NOT ?1)
                 ORDER BY created_ms LIMIT ?2",
                params![ruleset, limit as i64],
            )
        })
        .await
        .map_err(backend)
    }
}

impl UsageLedger for SqliteCatalog {
    async fn is_applied(&self, change_id: &str) -> Result<bool, LedgerError> {
        let change_id = change_id.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT 1 FROM applied_changes WHERE change_id = ?1",
                    [change_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
        })
        .await
        .map_err(ledger)
    }

    async fn apply_once(&self, delta: &UsageDelta) -> Result<bool, LedgerError> {
        let delta = delta.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let fresh = tx.execute(
                "INSERT OR IGNORE INTO applied_changes (change_id) VALUES (?1)",
                [&delta.change_id],
            )?;
            if fresh == 0 {
                return Ok(false);
            }
            for (status, by) in &delta.moves {
                tx.execute(
                    "INSERT INTO usage (tenant, status, files, bytes) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (tenant, status) DO UPDATE
                     SET files = files + excluded.files, bytes = bytes + excluded.bytes",
                    params![delta.tenant.as_str(), status.as_str(), by.files, by.bytes],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
        .map_err(ledger)
    }
}

impl UsageReader for SqliteCatalog {
    async fn usage(&self, tenant: &TenantId) -> Result<Usage, LedgerError> {
        let tenant = tenant.to_string();
        self.run(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT status, files, bytes FROM usage WHERE tenant = ?1")?;
            let rows = stmt.query_map([tenant], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                ))
            })?;
            let mut usage = Usage::default();
            for row in rows {
                let (status, files, bytes) = row?;
                if let Some(status) = FileStatus::parse(&status) {
                    usage.by_status.insert(status, StatusCount { files, bytes });
                }
            }
            Ok(usage)
        })
        .await
        .map_err(ledger)
    }
}
