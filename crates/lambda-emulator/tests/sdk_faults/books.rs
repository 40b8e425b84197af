//! The books every case closes with, the promise tests' accounting
//! (`crates/stack/tests/promise/accounting.rs`) on the AWS backend: the table's
//! stream is the change log, the queue the bus delivers to is the event log, the
//! bucket's versions and tags are what is stored.
//!
//! - Every status change on the stream has its event on the bus, with the change's
//!   id, and the bus carries no other id. EventBridge, unlike the local bus, does not
//!   drop a second delivery of an id (publish sends an event again when its ledger
//!   write failed after the event went out), so repeats of an id are counted, not
//!   refused: consumers drop them by id.
//! - No file enters a status twice.
//! - Each status's usage counters equal a recount of the catalog's records.
//! - No PENDING file has bytes stored, and every current object tagged CLEAN is a
//!   CLEAN file's. A version behind a delete marker is counted, not refused: the
//!   api's delete leaves the verified version there, tagged as it was, until the
//!   bucket's lifecycle rule expires it (`ObjectRemover::remove_upload`'s contract).
//! - The flow's files end as the flow leaves them.

use std::collections::{BTreeMap, BTreeSet};

use airlock_aws::{DynamoCatalog, STATUS_TAG};
use airlock_domain::{
    DomainEvent, FileItem, FileRecord, FileStatus, ObjectKey, StatusCount, TenantId,
    ports::{CatalogReader, ListQuery, UsageReader},
};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use serde_json::Value;

use crate::{
    flow::{Files, TENANT, is_file_record, key_of},
    support::Deployment,
};

/// What the books held when they balanced.
#[derive(Debug, Clone, Default)]
pub struct Books {
    /// Status changes on the stream, each with its event.
    pub status_changes: usize,
    /// Deliveries of an event id the bus had delivered already.
    pub repeated_events: usize,
    /// Files in the catalog.
    pub files: usize,
    /// Versions tagged CLEAN behind a delete marker whose file is not CLEAN.
    pub clean_behind_delete_marker: usize,
}

/// Balances the books of `deployment`; the error says what did not balance.
pub async fn balance(deployment: &Deployment, files: &Files) -> Result<Books, String> {
    let expected = status_changes(deployment).await?;
    let repeated_events = match_bus(deployment, &expected).await?;
    let catalog = DynamoCatalog::from_sdk(&deployment.sdk, &deployment.table);
    let tenant = TenantId::parse(TENANT).map_err(|e| e.to_string())?;
    let records = all_records(&catalog, &tenant).await?;
    counters_equal_recount(&catalog, &tenant, &records).await?;
    no_pending_bytes(deployment, &records).await?;
    let clean_behind_delete_marker =
        no_clean_tag_without_clean_record(deployment, &records).await?;
    files_ended_as_left(&records, files)?;
    Ok(Books {
        status_changes: expected.len(),
        repeated_events,
        files: records.len(),
        clean_behind_delete_marker,
    })
}

/// The event id of every status change on the stream.
async fn status_changes(deployment: &Deployment) -> Result<BTreeSet<String>, String> {
    let event = deployment.stream_event().await;
    let mut expected = BTreeSet::new();
    let records = event["Records"].as_array().into_iter().flatten();
    for record in records.filter(|r| is_file_record(r)) {
        let change = &record["dynamodb"];
        let (Some(old), Some(new)) = (image(&change["OldImage"])?, image(&change["NewImage"])?)
        else {
            continue;
        };
        if old.status == new.status {
            continue;
        }
        let event = DomainEvent::from_change(Some(&old), &new)
            .ok_or_else(|| format!("status change without an event: {old:?} -> {new:?}"))?;
        if !expected.insert(event.id.clone()) {
            return Err(format!("{} entered the same status twice", event.id));
        }
    }
    Ok(expected)
}

/// A file record from a stream image; `None` for no image or another kind of item.
fn image(attributes: &Value) -> Result<Option<FileRecord>, String> {
    let empty = attributes
        .as_object()
        .is_none_or(|fields| fields.is_empty());
    let kind = attributes["kind"]["S"].as_str();
    if empty || kind.is_some_and(|kind| kind != airlock_domain::FILE_ITEM_KIND) {
        return Ok(None);
    }
    let item: serde_dynamo::Item =
        serde_json::from_value(attributes.clone()).map_err(|e| e.to_string())?;
    let item: FileItem = serde_dynamo::from_item(item).map_err(|e| e.to_string())?;
    item.into_record().map(Some).map_err(|e| e.to_string())
}

/// Drains the bus's queue; the ids must be exactly `expected`. Answers how many
/// deliveries repeated an id.
async fn match_bus(deployment: &Deployment, expected: &BTreeSet<String>) -> Result<usize, String> {
    let mut delivered = BTreeMap::<String, usize>::new();
    for event in drain(deployment).await? {
        let id = event["detail"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        *delivered.entry(id).or_default() += 1;
    }
    let published: BTreeSet<String> = delivered.keys().cloned().collect();
    if &published != expected {
        let missing: Vec<_> = expected.difference(&published).collect();
        let extra: Vec<_> = published.difference(expected).collect();
        return Err(format!(
            "bus and stream differ: missing {missing:?}, extra {extra:?}"
        ));
    }
    Ok(delivered.values().map(|n| n - 1).sum())
}

/// Every message on the bus's queue, deleted as read, until a receive comes back
/// empty (the emulator delivers an event to the queue within PutEvents).
async fn drain(deployment: &Deployment) -> Result<Vec<Value>, String> {
    let sqs = aws_sdk_sqs::Client::new(&deployment.sdk);
    let mut bodies = Vec::new();
    loop {
        let output = sqs
            .receive_message()
            .queue_url(&deployment.events_queue)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(bodies);
        }
        let mut read = Vec::new();
        for (n, message) in messages.iter().enumerate() {
            let body = message.body().unwrap_or_default();
            bodies.push(serde_json::from_str(body).map_err(|e| e.to_string())?);
            let entry = DeleteMessageBatchRequestEntry::builder()
                .id(n.to_string())
                .set_receipt_handle(message.receipt_handle().map(str::to_owned))
                .build()
                .map_err(|e| e.to_string())?;
            read.push(entry);
        }
        sqs.delete_message_batch()
            .queue_url(&deployment.events_queue)
            .set_entries(Some(read))
            .send()
            .await
            .map_err(|e| e.to_string())?;
    }
}

async fn all_records(
    catalog: &DynamoCatalog,
    tenant: &TenantId,
) -> Result<Vec<FileRecord>, String> {
    let mut records = Vec::new();
    let mut after = None;
    loop {
        let query = ListQuery {
            status: None,
            after,
            limit: 1000,
        };
        let page = catalog
            .list(tenant, &query)
            .await
            .map_err(|e| e.to_string())?;
        records.extend(page.records);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(records),
        }
    }
}

/// The usage counters, less those at zero, must be the recount of `records`.
async fn counters_equal_recount(
    catalog: &DynamoCatalog,
    tenant: &TenantId,
    records: &[FileRecord],
) -> Result<(), String> {
    let mut recount: BTreeMap<FileStatus, StatusCount> = BTreeMap::new();
    for record in records {
        let count = recount.entry(record.status).or_default();
        count.files += 1;
        count.bytes += i64::try_from(record.counted_bytes()).unwrap_or(i64::MAX);
    }
    let usage = catalog.usage(tenant).await.map_err(|e| e.to_string())?;
    let ledger: BTreeMap<FileStatus, StatusCount> = usage
        .by_status
        .into_iter()
        .filter(|(_, count)| *count != StatusCount::default())
        .collect();
    if ledger != recount {
        return Err(format!("ledger {ledger:?}, catalog recount {recount:?}"));
    }
    Ok(())
}

async fn no_pending_bytes(deployment: &Deployment, records: &[FileRecord]) -> Result<(), String> {
    let store = airlock_aws::S3Store::from_sdk(&deployment.sdk, &deployment.bucket);
    for record in records.iter().filter(|r| r.status == FileStatus::Pending) {
        let versions = store
            .versions(&record.key())
            .await
            .map_err(|e| e.to_string())?;
        if !versions.is_empty() {
            return Err(format!(
                "PENDING {} has bytes stored: {versions:?}",
                record.id
            ));
        }
    }
    Ok(())
}

/// Every current object under `uploads/` whose status tag says CLEAN must be a CLEAN
/// file's; answers how many versions behind a delete marker are tagged CLEAN for a
/// file that is not.
async fn no_clean_tag_without_clean_record(
    deployment: &Deployment,
    records: &[FileRecord],
) -> Result<usize, String> {
    let s3 = airlock_aws::s3_client(&deployment.sdk);
    let listed = s3
        .list_object_versions()
        .bucket(&deployment.bucket)
        .prefix("uploads/")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let mut behind_delete_marker = 0;
    for version in listed.versions() {
        let (Some(key), Some(id)) = (version.key(), version.version_id()) else {
            continue;
        };
        let tags = s3
            .get_object_tagging()
            .bucket(&deployment.bucket)
            .key(key)
            .version_id(id)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let clean = tags
            .tag_set()
            .iter()
            .any(|t| t.key() == STATUS_TAG && t.value() == FileStatus::Clean.as_str());
        if !clean {
            continue;
        }
        let status = ObjectKey::parse(key)
            .ok()
            .and_then(|k| records.iter().find(|r| r.id == k.file_id()))
            .map(|r| r.status);
        if status == Some(FileStatus::Clean) {
            continue;
        }
        if version.is_latest() == Some(true) {
            return Err(format!(
                "{key} ({id}) is tagged CLEAN, its file is {status:?}"
            ));
        }
        behind_delete_marker += 1;
    }
    Ok(behind_delete_marker)
}

fn files_ended_as_left(records: &[FileRecord], files: &Files) -> Result<(), String> {
    let expected = [
        (&files.kept, FileStatus::Clean),
        (&files.infected, FileStatus::Infected),
        (&files.deleted, FileStatus::Deleted),
        (&files.never_sent, FileStatus::Expired),
        (&files.in_parts, FileStatus::Expired),
    ];
    for (id, want) in expected {
        let key = key_of(id)?;
        let status = records
            .iter()
            .find(|r| r.id == key.file_id())
            .map(|r| r.status);
        if status != Some(want) {
            return Err(format!("file {id} ended {status:?}, not {want}"));
        }
    }
    Ok(())
}
