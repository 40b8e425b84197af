//! The catalog's item layout: one mapping between a [`FileRecord`] and the item the
//! catalog stores, shared by every adapter that writes items and by the stream decoder
//! that reads them back, so both always agree.
//!
//! Single-table design (DynamoDB; the local SQLite catalog writes the same items into
//! its change log):
//!
//! | attribute   | value                                  | used by                          |
//! |-------------|----------------------------------------|----------------------------------|
//! | `pk`        | `TENANT#{tenant}`                      | table partition key              |
//! | `sk`        | `FILE#{file id}`                       | table sort key (ULID: time order)|
//! | `kind`      | `file`                                 | tells file items from others     |
//! | `status_pk` | `TENANT#{tenant}#{status}`             | GSI `by-status` (sort key `sk`)  |
//! | `due_pk`    | `PENDING` or `DECIDED`; absent after   | sparse GSI `due` (sort `due_at`) |
//! | `due_at`    | PENDING: the upload deadline; DECIDED: creation time (UTC, millis) | sweep's expiry and retention queries |
//! | `rescan_pk` | `TENANT#{tenant}` while a CLEAN file's re-scan is asked for; absent otherwise | sparse GSI `rescans` (sort `sk`): the api's per-tenant limit |
//! | `ttl`       | epoch seconds, a week past the deadline while pending | TTL backstop      |
//! | the record's fields, flattened                                                         |

use serde::{Deserialize, Serialize};

use crate::{FileRecord, FileStatus};

/// The `kind` of file items.
pub const FILE_ITEM_KIND: &str = "file";

/// How long past its deadline a PENDING item is kept before TTL may remove it; sweep
/// expires it long before, so TTL only cleans up after a sweep that never ran.
const TTL_GRACE_SECS: i64 = 7 * 24 * 3600;

/// A file record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileItem {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
    /// Always [`FILE_ITEM_KIND`].
    pub kind: String,
    /// Key of the per-status index.
    pub status_pk: String,
    /// Key of the sparse index of uploads awaiting their deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    /// Sort key of the `due` index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// Key of the sparse index of re-scans asked for and not yet done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescan_pk: Option<String>,
    /// DynamoDB TTL attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// The record itself.
    #[serde(flatten)]
    pub record: FileRecord,
}

/// An item is not a file item, or its fields do not hold a valid record.
#[derive(Debug, thiserror::Error)]
pub enum ItemError {
    /// The item has another `kind` (a usage counter, a ledger entry, …).
    #[error("item of kind {0:?} is not a file")]
    NotAFile(String),
}

impl FileItem {
    /// The partition key of a tenant's items.
    pub fn tenant_pk(tenant: &crate::TenantId) -> String {
        format!("TENANT#{tenant}")
    }

    /// The sort key of a file.
    pub fn file_sk(id: crate::FileId) -> String {
        format!("FILE#{id}")
    }

    /// The partition key of the per-status index.
    pub fn status_pk(tenant: &crate::TenantId, status: FileStatus) -> String {
        format!("TENANT#{tenant}#{status}")
    }

    /// The partition of the `due` index holding uploads awaiting their deadline.
    pub const DUE_PENDING: &'static str = "PENDING";
    /// The partition of the `due` index holding decided files, for retention.
    pub const DUE_DECIDED: &'static str = "DECIDED";

    /// The `due_at` form of an instant: fixed-width UTC, so text order is time order.
    pub fn due_at(at: crate::Timestamp) -> String {
        at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// The item for a record.
    pub fn from_record(record: FileRecord) -> Self {
        let pending = record.status == FileStatus::Pending;
        let (due_pk, due_at) = if pending {
            (
                Some(Self::DUE_PENDING),
                Some(Self::due_at(record.upload_deadline)),
            )
        } else if record.status.is_verdict() {
            (
                Some(Self::DUE_DECIDED),
                Some(Self::due_at(record.created_at)),
            )
        } else {
            (None, None)
        };
        Self {
            pk: Self::tenant_pk(&record.tenant),
            sk: Self::file_sk(record.id),
            kind: FILE_ITEM_KIND.to_owned(),
            status_pk: Self::status_pk(&record.tenant, record.status),
            due_pk: due_pk.map(str::to_owned),
            due_at,
            rescan_pk: (record.status == FileStatus::Clean && record.rescan_requested_at.is_some())
                .then(|| Self::tenant_pk(&record.tenant)),
            ttl: pending.then(|| record.upload_deadline.timestamp() + TTL_GRACE_SECS),
            record,
        }
    }

    /// The record, once the item is known to be a file.
    pub fn into_record(self) -> Result<FileRecord, ItemError> {
        if self.kind != FILE_ITEM_KIND {
            return Err(ItemError::NotAFile(self.kind));
        }
        Ok(self.record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reason;
    use crate::record::tests::{finding, pending_record};

    #[test]
    fn a_pending_item_is_indexed_as_due_and_carries_a_ttl() {
        let item = FileItem::from_record(pending_record());
        assert_eq!(item.pk, "TENANT#acme");
        assert_eq!(item.sk, "FILE#01JCZ5K6Q2V1E7W8X9Y0Z1A2B3");
        assert_eq!(item.status_pk, "TENANT#acme#PENDING");
        assert_eq!(item.due_pk.as_deref(), Some("PENDING"));
        assert_eq!(item.due_at.as_deref(), Some("2026-01-02T04:04:05.000Z"));
        assert!(item.ttl.is_some());
    }

    #[test]
    fn a_decided_item_is_due_for_retention_by_creation_time_and_loses_its_ttl() {
        let record = pending_record();
        let clean = record
            .with_finding(finding(vec![]), record.created_at)
            .unwrap();
        let item = FileItem::from_record(clean.clone());
        assert_eq!(item.status_pk, "TENANT#acme#CLEAN");
        assert_eq!(item.due_pk.as_deref(), Some("DECIDED"));
        assert_eq!(item.due_at.as_deref(), Some("2026-01-02T03:04:05.000Z"));
        assert_eq!(item.ttl, None);
        let deleted = FileItem::from_record(clean.deleted(clean.updated_at).unwrap());
        assert_eq!((deleted.due_pk, deleted.due_at), (None, None));
    }

    #[test]
    fn only_a_clean_file_whose_rescan_is_asked_for_is_in_the_rescans_index() {
        let record = pending_record();
        let clean = record
            .with_finding(finding(vec![]), record.created_at)
            .unwrap();
        assert_eq!(FileItem::from_record(clean.clone()).rescan_pk, None);
        let asked = clean.with_rescan_requested(record.created_at).unwrap();
        assert_eq!(
            FileItem::from_record(asked).rescan_pk.as_deref(),
            Some("TENANT#acme")
        );
    }

    #[test]
    fn items_round_trip_through_dynamodb_attribute_values() {
        let record = pending_record();
        let rejected = record
            .with_finding(
                finding(vec![Reason::TooLarge { size: 40, max: 10 }, Reason::Empty]),
                record.created_at,
            )
            .unwrap();
        for record in [record, rejected] {
            let item: serde_dynamo::Item =
                serde_dynamo::to_item(FileItem::from_record(record.clone())).unwrap();
            let back: FileItem = serde_dynamo::from_item(item).unwrap();
            assert_eq!(back.into_record().unwrap(), record);
        }
    }

    #[test]
    fn items_of_another_kind_are_not_files() {
        let mut item = FileItem::from_record(pending_record());
        item.kind = "usage".into();
        assert!(matches!(item.into_record(), Err(ItemError::NotAFile(k)) if k == "usage"));
    }
}
