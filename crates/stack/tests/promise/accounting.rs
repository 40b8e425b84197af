//! The books every test here closes with: the catalog's change log, the event log and
//! the usage ledger must agree exactly.
//!
//! - Every status change in the change log has exactly one event on the bus, with the
//!   change's id, and the bus holds nothing else (no lost and no doubled event).
//! - No file enters a status twice (the state machine held: nothing moved backwards).
//! - Each tenant's usage counters equal a recount of the catalog's records.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use airlock_domain::{
    DomainEvent, FileItem, FileRecord, FileStatus, StatusCount, TenantId,
    ports::{CatalogReader, ListQuery, UsageReader},
};
use airlock_local::{SqliteCatalog, read_bus_file};

/// What the books held when they balanced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Books {
    /// Rows in the change log (creations and status changes).
    pub changes: usize,
    /// Status changes, each with exactly one event.
    pub status_changes: usize,
    /// Events on the bus.
    pub events: usize,
    /// Files in the catalog, by status, over all tenants checked.
    pub files: BTreeMap<FileStatus, i64>,
}

impl Books {
    /// Files not in a terminal status (PENDING).
    pub fn unfinished(&self) -> i64 {
        self.files.get(&FileStatus::Pending).copied().unwrap_or(0)
    }

    /// Files in every status.
    pub fn total_files(&self) -> i64 {
        self.files.values().sum()
    }
}

/// Balances the books of `tenants`; the error says what did not balance.
pub async fn balance(
    catalog: &SqliteCatalog,
    events_path: &Path,
    tenants: &[&str],
) -> Result<Books, String> {
    let changes = catalog
        .stream_records_after(0, i64::MAX as usize)
        .await
        .map_err(|e| e.to_string())?;
    let mut expected = BTreeSet::new();
    let mut status_changes = 0;
    for change in &changes {
        let Some(new) = image(&change.change.new_image)? else {
            continue;
        };
        let old = image(&change.change.old_image)?;
        let Some(old) = old else { continue };
        if old.status == new.status {
            continue;
        }
        status_changes += 1;
        let event = DomainEvent::from_change(Some(&old), &new)
            .ok_or_else(|| format!("status change without an event: {old:?} -> {new:?}"))?;
        if !expected.insert(event.id.clone()) {
            return Err(format!("{} entered the same status twice", event.id));
        }
    }

    let bus = read_bus_file(events_path).map_err(|e| e.to_string())?;
    let mut published = BTreeSet::new();
    for entry in &bus {
        let id = entry["id"].as_str().unwrap_or_default().to_owned();
        if !published.insert(id.clone()) {
            return Err(format!("event {id} is on the bus twice"));
        }
    }
    if published != expected {
        let missing: Vec<_> = expected.difference(&published).collect();
        let extra: Vec<_> = published.difference(&expected).collect();
        return Err(format!(
            "bus and change log differ: {} events missing {missing:?}, {} extra {extra:?}",
            missing.len(),
            extra.len()
        ));
    }

    let mut files = BTreeMap::new();
    for tenant in tenants {
        let tenant = TenantId::parse(tenant).map_err(|e| e.to_string())?;
        let recount = recount(catalog, &tenant).await?;
        let usage = catalog.usage(&tenant).await.map_err(|e| e.to_string())?;
        for status in FileStatus::ALL {
            let counted = recount.get(&status).copied().unwrap_or_default();
            let ledger = usage.by_status.get(&status).copied().unwrap_or_default();
            if counted != ledger {
                return Err(format!(
                    "{tenant} {status}: ledger {ledger:?}, catalog recount {counted:?}"
                ));
            }
            *files.entry(status).or_insert(0) += counted.files;
        }
    }
    Ok(Books {
        changes: changes.len(),
        status_changes,
        events: bus.len(),
        files,
    })
}

/// Polls until the books balance (the pump may still be delivering), then returns
/// them; fails the test with the last imbalance after `patience`.
pub async fn wait_until_balanced(
    catalog: &SqliteCatalog,
    events_path: &Path,
    tenants: &[&str],
    patience: std::time::Duration,
) -> Books {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match balance(catalog, events_path, tenants).await {
            Ok(books) => return books,
            Err(why) if tokio::time::Instant::now() >= deadline => {
                panic!("the books never balanced: {why}")
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
}

fn image(item: &serde_dynamo::Item) -> Result<Option<FileRecord>, String> {
    if item.is_empty() {
        return Ok(None);
    }
    let item: FileItem = serde_dynamo::from_item(item.clone()).map_err(|e| e.to_string())?;
    item.into_record().map(Some).map_err(|e| e.to_string())
}

/// Files and bytes by status, counted record by record.
async fn recount(
    catalog: &SqliteCatalog,
    tenant: &TenantId,
) -> Result<BTreeMap<FileStatus, StatusCount>, String> {
    let mut counts: BTreeMap<FileStatus, StatusCount> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = catalog
            .list(
                tenant,
                &ListQuery {
                    status: None,
                    after,
                    limit: 1000,
                },
            )
            .await
            .map_err(|e| e.to_string())?;
        for record in &page.records {
            let count = counts.entry(record.status).or_default();
            count.files += 1;
            count.bytes += i64::try_from(record.counted_bytes()).unwrap_or(i64::MAX);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(counts),
        }
    }
}

/// The bytes agree with the records: no PENDING file has its bytes stored (ingest owes
/// it a verdict), and every key the bucket tags CLEAN has a CLEAN record (a CLEAN tag
/// is what makes bytes readable; one left on a key without its object would cover a
/// replayed PUT's bytes). `bucket` is the store's folder.
pub async fn bytes_agree_with_records(
    catalog: &SqliteCatalog,
    bucket: &Path,
) -> Result<(), String> {
    let store = airlock_local::FsObjectStore::new(bucket, "http://127.0.0.1:1", Vec::new());
    let mut pending_with_bytes = Vec::new();
    for record in catalog.pending_records().await.map_err(|e| e.to_string())? {
        if store.exists(&record.key()).await {
            pending_with_bytes.push(record.key().to_string());
        }
    }
    if !pending_with_bytes.is_empty() {
        return Err(format!(
            "PENDING with their bytes stored: {pending_with_bytes:?}"
        ));
    }
    let tags = bucket.join("tags");
    for raw in files_under(&tags.join("uploads"), &tags)? {
        // A temp file a killed tag write left behind is no tag.
        let Ok(key) = airlock_domain::ObjectKey::parse(&raw) else {
            continue;
        };
        if store.status_tag(&raw).await.map_err(|e| e.to_string())? != Some(FileStatus::Clean) {
            continue;
        }
        let record = catalog
            .get(key.tenant(), key.file_id())
            .await
            .map_err(|e| e.to_string())?;
        let status = record.map(|r| r.status);
        if status != Some(FileStatus::Clean) {
            return Err(format!("{key} is tagged CLEAN, its record is {status:?}"));
        }
    }
    Ok(())
}

/// The paths of the files under `dir`, relative to `root`; none when `dir` is absent.
fn files_under(dir: &Path, root: &Path) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(found);
    };
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            found.extend(files_under(&path, root)?);
        } else if let Ok(relative) = path.strip_prefix(root) {
            found.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(found)
}
