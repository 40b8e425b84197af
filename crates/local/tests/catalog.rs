//! The SQLite catalog: conditional writes, listing, sweep queries, the usage ledger
//! and the change log read back as DynamoDB stream records.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_domain::{
    ContentType, FileId, FileItem, FileRecord, FileStatus, Finding, Inspection, Policy,
    StatusCount, TenantId, Timestamp, UsageDelta,
    ports::{
        CatalogError, CatalogReader, CatalogSweep, CatalogWriter, ListQuery, Page, UsageLedger,
        UsageReader,
    },
};
use airlock_local::SqliteCatalog;
use airlock_testkit::{clock::fixture_time as now, uploads};

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

/// A PENDING upload of `tenant_name`'s, created at `created`.
fn pending(tenant_name: &str, created: Timestamp) -> FileRecord {
    uploads::pending(
        tenant_name,
        FileId::generate(),
        "a.txt",
        "text/plain",
        5,
        created,
    )
}

/// One page of acme's listing.
async fn acme_page(
    catalog: &SqliteCatalog,
    status: Option<FileStatus>,
    after: Option<FileId>,
    limit: usize,
) -> Page {
    let query = ListQuery {
        status,
        after,
        limit,
    };
    catalog.list(&tenant("acme"), &query).await.unwrap()
}

fn clean(record: &FileRecord) -> FileRecord {
    let found = Inspection {
        sha256: "00".repeat(32),
        size: 5,
        detected_type: ContentType::parse("text/plain").unwrap(),
    };
    let verdict = Policy::default().evaluate(&record.declared_type, 5, &found);
    record
        .with_finding(Finding::new(found, verdict, now()), now())
        .unwrap()
}

#[tokio::test]
async fn a_created_record_reads_back_and_cannot_be_created_twice() {
    let catalog = SqliteCatalog::in_memory().unwrap();
    let record = pending("acme", now());
    catalog.create(&record).await.unwrap();
    assert_eq!(
        catalog.get(&record.tenant, record.id).await.unwrap(),
        Some(record.clone())
    );
    assert!(matches!(
        catalog.create(&record).await,
        Err(CatalogError::AlreadyExists)
    ));
}

#[tokio::test]
async fn a_record_is_invisible_to_other_tenants() {
    let catalog = SqliteCatalog::in_memory().unwrap();
    let record = pending("acme", now());
    catalog.create(&record).await.unwrap();
    assert_eq!(
        catalog.get(&tenant("other"), record.id).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn of_two_racing_writers_exactly_one_wins() {
    let catalog = SqliteCatalog::in_memory().unwrap();
    let record = pending("acme", now());
    catalog.create(&record).await.unwrap();
    let accepted = clean(&record);
    let expired = record.expired(now()).unwrap();
    let (a, b) = tokio::join!(
        catalog.replace(FileStatus::Pending, &accepted),
        catalog.replace(FileStatus::Pending, &expired)
    );
    assert_eq!([a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(), 1);
    let loser = if a.is_err() { a } else { b };
    assert!(matches!(
        loser,
        Err(CatalogError::StatusChanged {
            expected: FileStatus::Pending
        })
    ));
}

#[tokio::test]
async fn replacing_a_missing_record_is_not_found() {
    let catalog = SqliteCatalog::in_memory().unwrap();
    let record = pending("acme", now());
    assert!(matches!(
        catalog.replace(FileStatus::Pending, &clean(&record)).await,
        Err(CatalogError::NotFound)
    ));
}

#[tokio::test]
async fn listing_pages_newest_first_and_filters_by_status() {
    let catalog = SqliteCatalog::in_memory().unwrap();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let record = pending("acme", now());
        catalog.create(&record).await.unwrap();
        ids.push(record.id);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    catalog.create(&pending("other", now())).await.unwrap();
    let first = acme_page(&catalog, None, None, 2).await;
    assert_eq!(
        first.records.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
    let second = acme_page(&catalog, None, first.next, 2).await;
    assert_eq!(
        second.records.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[2], ids[1]]
    );
    let last = acme_page(&catalog, None, second.next, 2).await;
    assert_eq!(last.records.len(), 1);
    assert_eq!(last.next, None);
    let clean_only = acme_page(&catalog, Some(FileStatus::Clean), None, 10).await;
    assert!(clean_only.records.is_empty());
}

#[tokio::test]
async fn sweep_finds_only_pending_uploads_past_their_deadline() {
    let catalog = SqliteCatalog::in_memory().unwrap();
    let old = pending("acme", now() - chrono::Duration::hours(2));
    let fresh = pending("acme", now());
    let decided = pending("acme", now() - chrono::Duration::hours(3));
    for record in [&old, &fresh, &decided] {
        catalog.create(record).await.unwrap();
    }
    catalog
        .replace(FileStatus::Pending, &clean(&decided))
        .await
        .unwrap();
    let due = catalog.pending_past_deadline(now(), 10).await.unwrap();
    assert_eq!(due.iter().map(|r| r.id).collect::<Vec<_>>(), vec![old.id]);
    let retained = catalog
        .decided_before(now() - chrono::Duration::hours(1), 10)
        .await
        .unwrap();
    assert_eq!(
        retained.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![decided.id]
    );
}

#[tokio::test]
async fn a_usage_delta_is_applied_exactly_once() {
    let catalog = SqliteCatalog::in_memory().unwrap();
    let record = pending("acme", now());
    let delta = UsageDelta::from_change(None, &record).unwrap();
    assert!(!catalog.is_applied(&delta.change_id).await.unwrap());
    assert!(catalog.apply_once(&delta).await.unwrap());
    assert!(!catalog.apply_once(&delta).await.unwrap());
    assert!(catalog.is_applied(&delta.change_id).await.unwrap());
    let usage = catalog.usage(&record.tenant).await.unwrap();
    assert_eq!(
        usage.by_status[&FileStatus::Pending],
        StatusCount { files: 1, bytes: 5 }
    );
    assert_eq!(usage.by_status[&FileStatus::Clean], StatusCount::default());
}

#[tokio::test]
async fn every_committed_change_is_in_the_change_log_with_old_and_new_images() {
    let catalog = SqliteCatalog::in_memory().unwrap();
    let record = pending("acme", now());
    catalog.create(&record).await.unwrap();
    let accepted = clean(&record);
    catalog
        .replace(FileStatus::Pending, &accepted)
        .await
        .unwrap();
    // A lost conditional write must leave no trace in the log.
    let _ = catalog
        .replace(FileStatus::Pending, &record.expired(now()).unwrap())
        .await;

    let records = catalog.stream_records_after(0, 10).await.unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].event_name, "INSERT");
    assert!(records[0].change.old_image.is_empty());
    assert_eq!(records[1].event_name, "MODIFY");
    let old: FileItem = serde_dynamo::from_item(records[1].change.old_image.clone()).unwrap();
    let new: FileItem = serde_dynamo::from_item(records[1].change.new_image.clone()).unwrap();
    assert_eq!(old.into_record().unwrap(), record);
    assert_eq!(new.into_record().unwrap(), accepted);
    let seqs: Vec<_> = records
        .iter()
        .map(|r| r.change.sequence_number.clone().unwrap())
        .collect();
    assert!(seqs[0] < seqs[1]);
    assert_eq!(catalog.stream_records_after(1, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_stream_position_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    {
        let catalog = SqliteCatalog::open(&path).unwrap();
        assert_eq!(catalog.stream_position("publish").await.unwrap(), 0);
        catalog.set_stream_position("publish", 7).await.unwrap();
    }
    let reopened = SqliteCatalog::open(&path).unwrap();
    assert_eq!(reopened.stream_position("publish").await.unwrap(), 7);
}
