//! The usage ledger: per-tenant counters by status, each change applied at most once.

use airlock_domain::{
    FileStatus, StatusCount, TenantId, Usage, UsageDelta,
    ports::{LedgerError, UsageLedger, UsageReader},
};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteCatalog;
use crate::LocalError;

fn ledger(e: LocalError) -> LedgerError {
    LedgerError::Backend(Box::new(e))
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
