//! File records: the catalog ports (read, write with a status precondition, sweep's
//! queries) over the `files` table.

use airlock_domain::{
    FileId, FileRecord, FileStatus, TenantId, Timestamp,
    ports::{
        CatalogError, CatalogReader, CatalogSweep, CatalogWriter, CheckpointWriter, ListQuery, Page,
    },
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{SqliteCatalog, stream::append_change};
use crate::LocalError;

impl SqliteCatalog {
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

pub(super) fn backend(e: LocalError) -> CatalogError {
    match e {
        LocalError::Json(e) => CatalogError::Corrupt(Box::new(e)),
        other => CatalogError::Backend(Box::new(other)),
    }
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
        self.replace_if(next, move |current| {
            if current.status == expected {
                Ok(())
            } else {
                Err(CatalogError::StatusChanged { expected })
            }
        })
        .await
    }
}

impl CheckpointWriter for SqliteCatalog {
    async fn carry_over(&self, expected: u32, next: &FileRecord) -> Result<(), CatalogError> {
        self.replace_if(next, move |current| {
            if current.status != FileStatus::Pending {
                Err(CatalogError::StatusChanged {
                    expected: FileStatus::Pending,
                })
            } else if current.checkpoint_seq() != expected {
                Err(CatalogError::CheckpointMoved { expected })
            } else {
                Ok(())
            }
        })
        .await
    }
}

impl SqliteCatalog {
    /// Writes `next` over the stored record in one transaction, if `check` passes on
    /// what is stored: the conditional write both [`CatalogWriter::replace`] and
    /// [`CheckpointWriter::carry_over`] are.
    async fn replace_if(
        &self,
        next: &FileRecord,
        check: impl FnOnce(&FileRecord) -> Result<(), CatalogError> + Send + 'static,
    ) -> Result<(), CatalogError> {
        let next = next.clone();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some(current) = read_record(&tx, next.tenant.as_str(), &next.id.to_string())?
            else {
                return Ok(Err(CatalogError::NotFound));
            };
            if let Err(refused) = check(&current) {
                return Ok(Err(refused));
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
