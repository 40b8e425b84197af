//! The change log: a row appended in the same transaction as every catalog change,
//! read back as DynamoDB stream records, and how far each consumer has read.

use airlock_domain::{FileItem, FileRecord};
use aws_lambda_events::dynamodb::{EventRecord, StreamRecord, StreamViewType};
use rusqlite::{OptionalExtension, params};

use super::SqliteCatalog;
use crate::LocalError;

impl SqliteCatalog {
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

pub(super) fn append_change(
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
