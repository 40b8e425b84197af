//! Sweep's walks: where each stopped (the `sweep_cursors` table, outside the change
//! log: a position is no file change, and DynamoDB's stream readers skip it too), and
//! the walk over CLEAN records by creation that finds files whose bytes are gone.

use airlock_domain::{
    FileRecord, FileStatus,
    ports::{CatalogCleanWalk, CatalogError, CleanPage, SweepCursors},
};
use rusqlite::{OptionalExtension, params};

use super::{SqliteCatalog, files::backend};
use crate::LocalError;

impl SweepCursors for SqliteCatalog {
    async fn cursor(&self, name: &str) -> Result<Option<String>, CatalogError> {
        let name = name.to_owned();
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT position FROM sweep_cursors WHERE name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .optional()?)
        })
        .await
        .map_err(backend)
    }

    async fn set_cursor(&self, name: &str, position: Option<&str>) -> Result<(), CatalogError> {
        let (name, position) = (name.to_owned(), position.map(str::to_owned));
        self.run(move |conn| {
            match position {
                Some(position) => conn.execute(
                    "INSERT INTO sweep_cursors (name, position) VALUES (?1, ?2)
                     ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                    params![name, position],
                )?,
                None => conn.execute("DELETE FROM sweep_cursors WHERE name = ?1", [name])?,
            };
            Ok(())
        })
        .await
        .map_err(backend)
    }
}

/// A position in the walk: the last record looked at, by creation then key.
#[derive(serde::Serialize, serde::Deserialize)]
struct Position {
    created_ms: i64,
    tenant: String,
    id: String,
}

impl CatalogCleanWalk for SqliteCatalog {
    async fn clean_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<CleanPage, CatalogError> {
        let after: Option<Position> = after
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| CatalogError::Corrupt(Box::new(e)))?;
        self.run(move |conn| {
            let start = after.unwrap_or(Position {
                created_ms: i64::MIN,
                tenant: String::new(),
                id: String::new(),
            });
            let mut stmt = conn.prepare_cached(
                "SELECT created_ms, tenant, id, record FROM files
                 WHERE status IN ('CLEAN', 'REJECTED', 'INFECTED')
                 AND (created_ms, tenant, id) > (?1, ?2, ?3)
                 ORDER BY created_ms, tenant, id LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![start.created_ms, start.tenant, start.id, limit as i64],
                |row| {
                    Ok((
                        Position {
                            created_ms: row.get(0)?,
                            tenant: row.get(1)?,
                            id: row.get(2)?,
                        },
                        row.get::<_, String>(3)?,
                    ))
                },
            )?;
            let mut records = Vec::new();
            let (mut last, mut looked_at) = (None, 0);
            for row in rows {
                let (position, json) = row?;
                looked_at += 1;
                let record: FileRecord = serde_json::from_str(&json)?;
                if record.status == FileStatus::Clean {
                    records.push(record);
                }
                last = Some(position);
            }
            // A full page may have more after it; a short one ended the walk.
            let next = match last {
                Some(position) if looked_at == limit => Some(serde_json::to_string(&position)?),
                _ => None,
            };
            Ok::<_, LocalError>(CleanPage { records, next })
        })
        .await
        .map_err(backend)
    }
}
