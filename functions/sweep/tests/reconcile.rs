//! Sweep's reconciliation of the bucket with the catalog, driven by an EventBridge
//! scheduled event on the embedded adapters: orphan bytes and multipart uploads go
//! after their grace, records are never changed, the walks are bounded and resume.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_domain::{
    ContentType, FileId, FileRecord, FileStatus, Finding, Inspection, MultipartUpload, ObjectKey,
    Policy, TenantId,
    ports::{CatalogWriter, ObjectMultipart, SweepCursors, UploadInventory},
};
use airlock_local::{DirRuleSource, FsObjectStore, SqliteCatalog};
use airlock_sweep::{OBJECTS_CURSOR, Sweep, SweepReport, SweepSettings};
use airlock_testkit::{
    FixedClock, LogBuffer, clock::fixture_time, scanning::scanning_from, uploads,
};

const SCHEDULED: &str = include_str!("fixtures/example-eventbridge-scheduled-event.json");

struct World {
    dir: tempfile::TempDir,
    catalog: SqliteCatalog,
    store: FsObjectStore,
    clock: FixedClock,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    World {
        catalog: SqliteCatalog::in_memory().unwrap(),
        store: FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"k".to_vec()),
        clock: FixedClock::at(fixture_time()),
        dir,
    }
}

/// Bytes a file's upload PUT stored `a.txt`'s three bytes as.
const BYTES: &[u8] = b"abc";

impl World {
    /// One scheduled run with `settings`.
    async fn run(&self, settings: SweepSettings) -> SweepReport {
        let scanning = scanning_from(self.dir.path().join("rules"), Default::default()).await;
        let sweep: Sweep<SqliteCatalog, FsObjectStore, FixedClock, DirRuleSource> = Sweep::new(
            self.catalog.clone(),
            self.store.clone(),
            self.clock.clone(),
            // Re-scans are not what these tests are about.
            SweepSettings {
                rescan_limit: 0,
                ..settings
            },
            scanning,
        );
        sweep
            .handle_payload(serde_json::from_str(SCHEDULED).unwrap())
            .await
            .unwrap()
    }

    /// The clock moved to `by` after the wall clock (objects are stamped by the
    /// file system's clock, records by this one).
    fn move_clock_past_now_by(&self, by: chrono::Duration) {
        self.clock.advance(chrono::Utc::now() - fixture_time() + by);
    }

    /// A PENDING record (created in the catalog only when `recorded`), its bytes stored.
    async fn stored(&self, recorded: bool) -> FileRecord {
        let record = uploads::pending(
            "acme",
            FileId::generate(),
            "a.txt",
            "text/plain",
            3,
            fixture_time(),
        );
        if recorded {
            uploads::upload(&self.catalog, &self.store, &record, Some(BYTES)).await;
        } else {
            self.store.put_bytes(&record.key(), BYTES).await.unwrap();
        }
        record
    }

    /// A stored upload moved to CLEAN, as ingest leaves it.
    async fn clean(&self) -> FileRecord {
        let record = self.stored(true).await;
        let found = Inspection {
            sha256: airlock_domain::Inspector::new().finish().sha256,
            size: 3,
            detected_type: ContentType::parse("text/plain").unwrap(),
        };
        let verdict = Policy::default().evaluate(&record.declared_type, 3, &found);
        let next = record
            .with_finding(Finding::new(found, verdict, fixture_time()), fixture_time())
            .unwrap();
        assert_eq!(next.status, FileStatus::Clean);
        self.catalog
            .replace(FileStatus::Pending, &next)
            .await
            .unwrap();
        next
    }

    /// A CLEAN file its owner deleted, whose bytes a presigned PUT replayed after the
    /// delete stored again (and no ingest removed).
    async fn deleted_then_replayed(&self) -> FileRecord {
        let clean = self.clean().await;
        let deleted = clean.deleted(fixture_time()).unwrap();
        self.catalog
            .replace(FileStatus::Clean, &deleted)
            .await
            .unwrap();
        assert!(self.store.exists(&deleted.key()).await);
        deleted
    }

    async fn status_of(&self, record: &FileRecord) -> FileStatus {
        uploads::reread(&self.catalog, record).await.status
    }
}

#[tokio::test]
async fn bytes_with_no_record_are_removed_only_once_the_orphan_grace_is_over() {
    let world = world();
    let orphan = world.stored(false).await;
    world.move_clock_past_now_by(chrono::Duration::hours(23));

    let early = world.run(SweepSettings::default()).await;
    assert_eq!(early.orphans_removed, 0);
    assert!(
        world.store.exists(&orphan.key()).await,
        "removed within the grace"
    );

    world.clock.advance(chrono::Duration::hours(2));
    let late = world.run(SweepSettings::default()).await;

    assert_eq!(late.orphans_removed, 1);
    assert!(!world.store.exists(&orphan.key()).await);
}

#[tokio::test]
async fn bytes_replayed_after_a_delete_are_removed_after_the_shorter_grace_and_the_record_stays_deleted()
 {
    let world = world();
    let deleted = world.deleted_then_replayed().await;
    world.move_clock_past_now_by(
        SweepSettings::default().retired_grace + chrono::Duration::minutes(1),
    );

    let report = world.run(SweepSettings::default()).await;

    assert_eq!(report.orphans_removed, 1);
    assert!(!world.store.exists(&deleted.key()).await);
    assert!(
        world
            .store
            .list_uploads(None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(world.status_of(&deleted).await, FileStatus::Deleted);
}

#[tokio::test]
async fn bytes_of_pending_and_clean_files_are_never_removed() {
    let world = world();
    let pending = world.stored(true).await;
    let clean = world.clean().await;
    world.move_clock_past_now_by(chrono::Duration::days(30));

    let report = world
        .run(SweepSettings {
            ingest_grace: chrono::Duration::days(3650),
            ..SweepSettings::default()
        })
        .await;

    assert_eq!(report.orphans_removed, 0);
    assert!(world.store.exists(&pending.key()).await);
    assert!(world.store.exists(&clean.key()).await);
    assert_eq!(world.status_of(&clean).await, FileStatus::Clean);
}

#[tokio::test]
async fn the_walk_over_objects_is_bounded_resumes_where_it_stopped_and_wraps_around() {
    let world = world();
    let mut orphans = Vec::new();
    for _ in 0..3 {
        orphans.push(world.stored(false).await.key().to_string());
    }
    orphans.sort();
    world.move_clock_past_now_by(chrono::Duration::days(2));
    let settings = SweepSettings {
        reconcile_limit: 2,
        ..SweepSettings::default()
    };

    let first = world.run(settings.clone()).await;
    assert_eq!(first.orphans_removed, 2);
    assert_eq!(first.reconcile_cursor.as_deref(), Some(orphans[1].as_str()));
    assert!(first.more_due);
    assert_eq!(
        world.catalog.cursor(OBJECTS_CURSOR).await.unwrap(),
        first.reconcile_cursor
    );

    let second = world.run(settings.clone()).await;
    assert_eq!(second.orphans_removed, 1);
    assert_eq!(second.reconcile_cursor, None, "the walk did not start over");
    assert_eq!(world.catalog.cursor(OBJECTS_CURSOR).await.unwrap(), None);

    let late = world.stored(false).await;
    world.clock.advance(chrono::Duration::days(2));
    let third = world.run(settings).await;
    assert_eq!(
        third.orphans_removed, 1,
        "a new orphan at the start was not found again"
    );
    assert!(!world.store.exists(&late.key()).await);
}

#[tokio::test]
async fn a_multipart_upload_no_pending_record_names_is_aborted_and_one_it_names_is_kept() {
    let world = world();
    let text = ContentType::parse("text/plain").unwrap();
    let stray = ObjectKey::new(TenantId::parse("acme").unwrap(), FileId::generate());
    world.store.start_multipart(&stray, &text).await.unwrap();
    let planned = uploads::pending(
        "acme",
        FileId::generate(),
        "big.txt",
        "text/plain",
        3,
        // Its upload window still open when the sweep runs.
        chrono::Utc::now() + chrono::Duration::days(3),
    );
    let upload_id = world
        .store
        .start_multipart(&planned.key(), &text)
        .await
        .unwrap();
    let planned =
        planned.with_multipart(MultipartUpload::plan(upload_id.clone(), 3, 8 << 20).unwrap());
    world.catalog.create(&planned).await.unwrap();
    world.move_clock_past_now_by(chrono::Duration::hours(25));

    let report = world
        .run(SweepSettings {
            ingest_grace: chrono::Duration::days(3650),
            ..SweepSettings::default()
        })
        .await;

    assert_eq!(report.orphan_uploads_aborted, 1);
    let left = world
        .store
        .list_multipart_uploads(None, 10)
        .await
        .unwrap()
        .items;
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].key.as_str(), left[0].upload_id.as_str()),
        (planned.key().to_string().as_str(), upload_id.as_str())
    );
}

#[tokio::test]
async fn a_clean_file_whose_bytes_are_gone_is_reported_by_name_and_left_clean() {
    let world = world();
    let clean = world.clean().await;
    let kept = world.clean().await;
    std::fs::remove_file(
        world
            .dir
            .path()
            .join("objects")
            .join(clean.key().to_string()),
    )
    .unwrap();
    let logs = LogBuffer::new();
    let _guard = logs.capture("airlock-sweep");

    let report = world.run(SweepSettings::default()).await;

    assert_eq!(report.clean_missing, 1);
    assert_eq!(world.status_of(&clean).await, FileStatus::Clean);
    assert_eq!(world.status_of(&kept).await, FileStatus::Clean);
    let lines = logs.lines();
    let reported: Vec<_> = lines
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.contains("bytes are gone"))
        })
        .collect();
    assert_eq!(reported.len(), 1, "{lines:?}");
    assert_eq!(reported[0]["file_id"], clean.id.to_string());
    assert!(
        lines.iter().any(|l| l["CleanObjectsMissing"] == 1.0
            || l["CleanObjectsMissing"] == serde_json::json!([1.0])),
        "no CleanObjectsMissing metric: {lines:?}"
    );
}
