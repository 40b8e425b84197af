//! The sweep handler driven by an EventBridge scheduled event, on the embedded adapters.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use airlock_domain::{
    ContentType, FileId, FileRecord, FileStatus, Finding, HashState, IngestCheckpoint, Inspection,
    ObjectKey, PassProgress, Policy, ScanLimits, ScanReport, WindowProgress,
    ports::{
        CatalogWriter, CheckpointWriter, Listed, ListedObject, ListedUpload, ObjectQuarantine,
        ObjectReader, ObjectRemover, ObjectTagger, RuleFile, RuleSource, StoreError,
        UploadInventory,
    },
};
use airlock_local::{DirRuleSource, FsObjectStore, SqliteCatalog};
use airlock_scan::{ScanSettings, Scanning};
use airlock_sweep::{Sweep, SweepError, SweepReport, SweepSettings};
use airlock_testkit::{FixedClock, clock::fixture_time as start, scanning::scanning_from, uploads};
use serde_json::Value;

const SCHEDULED: &str = include_str!("fixtures/example-eventbridge-scheduled-event.json");
const NOT_SCHEDULED: &str = include_str!("fixtures/example-eventbridge-file-accepted.json");
const GARBAGE: &str = include_str!("fixtures/example-eventbridge-garbage.json");

struct World {
    _dir: tempfile::TempDir,
    catalog: SqliteCatalog,
    store: FsObjectStore,
    clock: FixedClock,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    World {
        catalog: SqliteCatalog::in_memory().unwrap(),
        store: FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"k".to_vec()),
        clock: FixedClock::at(start()),
        _dir: dir,
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

impl World {
    /// The default rules plus any in `dir/rules`, checked before every scan.
    async fn scanning(&self) -> Scanning<DirRuleSource> {
        scanning_from(self.rules_dir(), ScanLimits::default()).await
    }

    /// A sweep with the default rules plus any in `dir/rules`.
    async fn sweep(
        &self,
        settings: SweepSettings,
    ) -> Sweep<SqliteCatalog, FsObjectStore, FixedClock, DirRuleSource> {
        let scanning = self.scanning().await;
        Sweep::new(
            self.catalog.clone(),
            self.store.clone(),
            self.clock.clone(),
            settings,
            scanning,
        )
    }

    fn rules_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("rules")
    }

    /// A PENDING upload whose bytes (if any) are in the store.
    async fn upload(&self, bytes: Option<&[u8]>) -> FileRecord {
        let record = uploads::pending(
            "acme",
            FileId::generate(),
            "a.txt",
            "text/plain",
            3,
            start(),
        );
        uploads::upload(&self.catalog, &self.store, &record, bytes).await;
        record
    }

    /// The record CLEAN (or what the policy says) as ingest leaves it: the hash is
    /// of the bytes stored, which a re-scan checks again.
    async fn decide(&self, record: &FileRecord) -> FileRecord {
        let found = Inspection {
            sha256: self.stored_sha256(record).await,
            size: 3,
            detected_type: ContentType::parse("text/plain").unwrap(),
        };
        let verdict = Policy::default().evaluate(&record.declared_type, 3, &found);
        // Scanned by the default rules alone: the ruleset a sweep without rules of
        // its own has in force, so only tests that change the rules see re-scans.
        let scan = ScanReport::scanned(
            format!("{}+none", airlock_scan::rules::builtin_version()),
            vec![],
            vec![],
        );
        let finding = Finding::new(found, verdict, start()).with_scan(scan);
        let next = record.with_finding(finding, start()).unwrap();
        self.catalog
            .replace(FileStatus::Pending, &next)
            .await
            .unwrap();
        next
    }

    /// The SHA-256 of the record's stored bytes (of nothing, when none are stored).
    async fn stored_sha256(&self, record: &FileRecord) -> String {
        let mut inspector = airlock_domain::Inspector::new();
        if let Ok(mut chunks) = self.store.open(&record.key(), None).await {
            use airlock_domain::ports::ChunkStream;
            while let Some(chunk) = chunks.next_chunk().await.unwrap() {
                inspector.update(&chunk);
            }
        }
        inspector.finish().sha256
    }

    async fn status_of(&self, record: &FileRecord) -> FileStatus {
        self.record(record).await.status
    }

    async fn record(&self, record: &FileRecord) -> FileRecord {
        uploads::reread(&self.catalog, record).await
    }

    /// An upload of `bytes` the way ingest leaves it (see [`World::decide`]).
    async fn decided(&self, bytes: &[u8]) -> FileRecord {
        let record = self.upload(Some(bytes)).await;
        self.decide(&record).await
    }

    /// One scheduled run of a sweep with `settings`.
    async fn run(&self, settings: SweepSettings) -> SweepReport {
        let sweep = self.sweep(settings).await;
        sweep.handle_payload(fixture(SCHEDULED)).await.unwrap()
    }

    /// The status tag on the object at `key` (an upload's key, or where quarantine
    /// moved it).
    async fn tag_at(&self, key: impl ToString) -> Option<FileStatus> {
        self.store.status_tag(&key.to_string()).await.unwrap()
    }

    /// How many changes the catalog's change log holds.
    async fn changes(&self) -> usize {
        let records = self.catalog.stream_records_after(0, 100).await.unwrap();
        records.len()
    }
}

/// A rule of the tenant's that the bytes `TOP` match, for files accepted before it.
const TOP_RULE: &str = r#"rule top_marker { strings: $a = "TOP" condition: $a }"#;

#[tokio::test]
async fn an_abandoned_upload_is_expired_after_its_deadline_and_its_bytes_removed_after_the_grace() {
    let world = world();
    let abandoned = world.upload(Some(b"abc")).await;
    let never_sent = world.upload(None).await;
    world
        .clock
        .advance(chrono::Duration::minutes(61) + SweepSettings::default().ingest_grace);

    let report = world.run(SweepSettings::default()).await;

    assert_eq!(
        report,
        SweepReport {
            expired: 2,
            ..SweepReport::default()
        }
    );
    assert_eq!(world.status_of(&abandoned).await, FileStatus::Expired);
    assert_eq!(world.status_of(&never_sent).await, FileStatus::Expired);
    assert!(!world.store.exists(&abandoned.key()).await);
}

#[tokio::test]
async fn stored_bytes_past_their_deadline_are_left_for_ingest_during_the_grace() {
    let world = world();
    let stored = world.upload(Some(b"abc")).await;
    let never_sent = world.upload(None).await;
    world.clock.advance(chrono::Duration::minutes(61));

    let report = world.run(SweepSettings::default()).await;

    assert_eq!(
        report,
        SweepReport {
            expired: 1,
            awaiting_ingest: 1,
            ..SweepReport::default()
        }
    );
    assert_eq!(world.status_of(&stored).await, FileStatus::Pending);
    assert!(world.store.exists(&stored.key()).await);
    assert_eq!(world.status_of(&never_sent).await, FileStatus::Expired);
}

#[tokio::test]
async fn a_file_carried_over_by_ingest_is_left_past_its_deadline_while_its_checkpoint_moves() {
    let world = world();
    let record = world.upload(Some(b"abc")).await;
    let late = chrono::Duration::minutes(61) + SweepSettings::default().ingest_grace;
    world.clock.advance(late);
    let progress = PassProgress {
        offset: 32 << 20,
        hash: HashState("00".into()),
        detected_type: ContentType::octet_stream(),
        windows: WindowProgress::default(),
    };
    let checkpoint = IngestCheckpoint::first(progress, "r".into(), None, start() + late);
    let carried = record.with_checkpoint(checkpoint, start() + late).unwrap();
    world.catalog.carry_over(0, &carried).await.unwrap();

    let moving = world.run(SweepSettings::default()).await;
    world.clock.advance(SweepSettings::default().ingest_grace);
    let stalled = world.run(SweepSettings::default()).await;

    assert_eq!(
        (moving.awaiting_ingest, moving.expired),
        (1, 0),
        "{moving:?}"
    );
    assert_eq!(stalled.expired, 1, "{stalled:?}");
    assert_eq!(world.status_of(&record).await, FileStatus::Expired);
}

#[tokio::test]
async fn uploads_within_their_deadline_and_decided_files_are_left_alone() {
    let world = world();
    let fresh = world.upload(Some(b"abc")).await;
    let decided = world.upload(Some(b"abc")).await;
    world.decide(&decided).await;
    world.clock.advance(chrono::Duration::minutes(59));

    let report = world.run(SweepSettings::default()).await;

    assert_eq!(report, SweepReport::default());
    assert_eq!(world.status_of(&fresh).await, FileStatus::Pending);
    assert!(world.store.exists(&decided.key()).await);
}

#[tokio::test]
async fn work_per_run_is_bounded_and_the_rest_is_done_by_the_next_run() {
    let world = world();
    for _ in 0..3 {
        world.upload(None).await;
    }
    world.clock.advance(chrono::Duration::hours(2));
    let sweep = world
        .sweep(SweepSettings {
            batch_limit: 2,
            ..SweepSettings::default()
        })
        .await;

    let first = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();
    let second = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();

    assert_eq!((first.expired, first.more_due), (2, true));
    assert_eq!((second.expired, second.more_due), (1, false));
}

#[tokio::test]
async fn retention_deletes_decided_files_older_than_the_period_and_only_when_enabled() {
    let world = world();
    let old = world.decided(b"abc").await;
    world.clock.advance(chrono::Duration::days(31));

    let off = world.run(SweepSettings::default()).await;
    assert_eq!(off.deleted, 0);

    let settings = SweepSettings {
        retention: Some(chrono::Duration::days(30)),
        ..SweepSettings::default()
    };
    let on = world.run(settings).await;
    assert_eq!(on.deleted, 1);
    assert_eq!(world.status_of(&old).await, FileStatus::Deleted);
    assert!(!world.store.exists(&old.key()).await);
}

#[tokio::test]
async fn a_second_run_over_the_same_state_changes_nothing() {
    let world = world();
    world.upload(Some(b"abc")).await;
    world.clock.advance(chrono::Duration::hours(2));
    let sweep = world.sweep(SweepSettings::default()).await;
    sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();
    let changes = world.changes().await;

    let again = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();

    assert_eq!(again, SweepReport::default());
    assert_eq!(world.changes().await, changes);
}

#[tokio::test]
async fn events_that_are_not_schedules_and_garbage_are_errors() {
    let world = world();
    let sweep = world.sweep(SweepSettings::default()).await;
    assert!(matches!(
        sweep.handle_payload(fixture(NOT_SCHEDULED)).await,
        Err(SweepError::NotScheduled(kind)) if kind == "File Accepted"
    ));
    assert!(matches!(
        sweep.handle_payload(fixture(GARBAGE)).await,
        Err(SweepError::InvalidEvent(_))
    ));
    assert!(matches!(
        sweep.handle_payload(serde_json::json!([1, 2])).await,
        Err(SweepError::InvalidEvent(_))
    ));
}

impl World {
    fn add_rule(&self, file: &str, source: &str) {
        std::fs::create_dir_all(self.rules_dir()).unwrap();
        std::fs::write(self.rules_dir().join(file), source).unwrap();
    }

    /// Someone asks for the CLEAN file to be scanned again, as the api records it.
    async fn ask_rescan(&self, clean: &FileRecord) {
        let asked = clean.with_rescan_requested(start()).unwrap();
        self.catalog
            .replace(FileStatus::Clean, &asked)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_new_rule_makes_sweep_rescan_clean_files_and_catch_an_old_one() {
    let world = world();
    let caught = world.decided(b"TOP").await;
    let harmless = world.decided(b"abc").await;
    let settings = SweepSettings::default();
    let before = world.sweep(settings.clone()).await;
    assert_eq!(
        before
            .handle_payload(fixture(SCHEDULED))
            .await
            .unwrap()
            .rescanned,
        0
    );

    world.add_rule("acme.yar", TOP_RULE);
    let sweep = world.sweep(settings).await;
    let report = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();

    assert_eq!((report.rescanned, report.newly_infected), (2, 1));
    let caught = world.record(&caught).await;
    assert_eq!(caught.status, FileStatus::Infected);
    assert_eq!(world.tag_at(caught.key()).await, Some(FileStatus::Infected));
    let harmless = world.record(&harmless).await;
    assert_eq!(harmless.status, FileStatus::Clean);
    let ruleset = harmless.finding.as_ref().and_then(|f| f.ruleset()).unwrap();
    assert!(!ruleset.ends_with("+none"), "{ruleset}");
    let again = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();
    assert_eq!(again.rescanned, 0, "re-scanned files carry the new version");
}

#[tokio::test]
async fn rescans_are_bounded_per_run_and_resume_in_the_next() {
    let world = world();
    for bytes in [b"aaa", b"bbb", b"ccc"] {
        let record = world.upload(Some(bytes)).await;
        world.decide(&record).await;
    }
    world.add_rule(
        "acme.yar",
        r#"rule never { strings: $a = "NEVER-THERE" condition: $a }"#,
    );
    let sweep = world
        .sweep(SweepSettings {
            rescan_limit: 2,
            ..SweepSettings::default()
        })
        .await;

    let first = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();
    assert_eq!((first.rescanned, first.more_due), (2, true));
    let second = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();
    assert_eq!(second.rescanned, 1);
    let third = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();
    assert_eq!((third.rescanned, third.more_due), (0, false));
}

#[tokio::test]
async fn a_requested_rescan_runs_even_when_the_rules_did_not_change() {
    let world = world();
    let record = world.upload(Some(b"abc")).await;
    let clean = world.decide(&record).await;
    world.ask_rescan(&clean).await;

    let sweep = world.sweep(SweepSettings::default()).await;
    let report = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();

    assert_eq!(report.rescanned, 1);
    assert_eq!(world.record(&record).await.rescan_requested_at, None);
}

#[tokio::test]
async fn a_rescan_that_reads_other_bytes_than_were_verified_closes_the_file_as_infected() {
    let world = world();
    let record = world.upload(Some(b"abc")).await;
    let clean = world.decide(&record).await;
    // Replaced outside the upload path (no presigned PUT can overwrite an object).
    world
        .store
        .remove_upload(&record.key(), None)
        .await
        .unwrap();
    world.store.put_bytes(&record.key(), b"xyz").await.unwrap();
    world.ask_rescan(&clean).await;

    let sweep = world.sweep(SweepSettings::default()).await;
    let report = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();

    assert_eq!((report.rescanned, report.newly_infected), (1, 1));
    let after = world.record(&record).await;
    assert_eq!(after.status, FileStatus::Infected);
    let finding = after.finding.unwrap();
    assert_eq!(
        finding.verdict.reasons,
        vec![airlock_domain::Reason::ContentChanged {
            recorded: clean.finding.unwrap().sha256,
            found: world.stored_sha256(&record).await,
        }]
    );
    assert_eq!(world.tag_at(record.key()).await, Some(FileStatus::Infected));
}

/// A switch a test flips to make a port's calls fail, as a throttled or denied AWS
/// call fails; clones share it, so the test keeps one and the port another.
#[derive(Clone)]
struct Failing(Arc<AtomicBool>);

impl Failing {
    fn new(on: bool) -> Self {
        Self(Arc::new(AtomicBool::new(on)))
    }

    fn stop(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// `code` as the backend's error while the switch is on.
    fn check(&self, code: &str) -> Result<(), StoreError> {
        if self.0.load(Ordering::SeqCst) {
            return Err(StoreError::Backend(code.into()));
        }
        Ok(())
    }
}

/// The world's store, whose tag writes fail while `failing_tags` is on (a throttled
/// or denied `PutObjectTagging`).
#[derive(Clone)]
struct FlakyTags {
    inner: FsObjectStore,
    failing_tags: Failing,
}

impl ObjectReader for FlakyTags {
    type Stream = <FsObjectStore as ObjectReader>::Stream;
    async fn open(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<Self::Stream, StoreError> {
        self.inner.open(key, version).await
    }
    async fn open_at(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        offset: u64,
    ) -> Result<Self::Stream, StoreError> {
        self.inner.open_at(key, version, offset).await
    }
}

impl ObjectTagger for FlakyTags {
    async fn tag_status(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        status: FileStatus,
    ) -> Result<(), StoreError> {
        self.failing_tags.check("throttled")?;
        self.inner.tag_status(key, version, status).await
    }

    async fn tag_clean_unscanned(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<(), StoreError> {
        self.inner.tag_clean_unscanned(key, version).await
    }
}

impl ObjectRemover for FlakyTags {
    async fn remove(&self, key: &ObjectKey) -> Result<(), StoreError> {
        self.inner.remove(key).await
    }

    async fn remove_upload(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<(), StoreError> {
        self.inner.remove_upload(key, version).await
    }
}

impl airlock_domain::ports::MultipartAbort for FlakyTags {
    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StoreError> {
        self.inner.abort_multipart(key, upload_id).await
    }
}

impl UploadInventory for FlakyTags {
    async fn list_uploads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Listed<ListedObject>, StoreError> {
        self.inner.list_uploads(after, limit).await
    }

    async fn list_multipart_uploads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Listed<ListedUpload>, StoreError> {
        self.inner.list_multipart_uploads(after, limit).await
    }

    async fn object_exists(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.inner.object_exists(key, version).await
    }

    async fn purge_upload(&self, key: &str) -> Result<(), StoreError> {
        self.inner.purge_upload(key).await
    }
}

impl ObjectQuarantine for FlakyTags {
    async fn quarantine(&self, key: &ObjectKey) -> Result<(), StoreError> {
        self.inner.quarantine(key).await
    }
}

impl World {
    /// A quarantining sweep over [`FlakyTags`], with the rules in `dir/rules`.
    async fn quarantining_sweep(
        &self,
        store: FlakyTags,
    ) -> Sweep<SqliteCatalog, FlakyTags, FixedClock, DirRuleSource> {
        let scanning = self.scanning().await;
        Sweep::new(
            self.catalog.clone(),
            store,
            self.clock.clone(),
            SweepSettings::default(),
            scanning,
        )
        .with_quarantine(true)
    }

    fn flaky_store(&self, failing: bool) -> FlakyTags {
        FlakyTags {
            inner: self.store.clone(),
            failing_tags: Failing::new(failing),
        }
    }
}

#[tokio::test]
async fn a_rescan_that_finds_a_file_infected_tags_it_records_it_and_quarantines_it() {
    let world = world();
    let caught = world.decided(b"TOP").await;
    world.add_rule("acme.yar", TOP_RULE);

    let sweep = world.quarantining_sweep(world.flaky_store(false)).await;
    let report = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();

    assert_eq!(report.newly_infected, 1);
    assert_eq!(world.status_of(&caught).await, FileStatus::Infected);
    let key = caught.key();
    assert!(
        world.store.open(&key, None).await.is_err(),
        "the upload key holds nothing once quarantined"
    );
    assert_eq!(
        world.tag_at(key.quarantined()).await,
        Some(FileStatus::Infected)
    );
}

#[tokio::test]
async fn a_rescan_whose_tag_fails_records_nothing_and_the_next_sweep_retries_the_tag() {
    let world = world();
    let caught = world.decided(b"TOP").await;
    world.add_rule("acme.yar", TOP_RULE);
    let store = world.flaky_store(true);
    let sweep = world.quarantining_sweep(store.clone()).await;

    let failed = sweep.handle_payload(fixture(SCHEDULED)).await;

    assert!(
        matches!(failed, Err(SweepError::Files { failed: 1, .. })),
        "{failed:?}"
    );
    assert_eq!(
        world.status_of(&caught).await,
        FileStatus::Clean,
        "not recorded INFECTED before its tag is written"
    );
    assert!(
        world.store.open(&caught.key(), None).await.is_ok(),
        "not moved either"
    );

    store.failing_tags.stop();
    let report = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();

    assert_eq!(report.newly_infected, 1);
    assert_eq!(world.status_of(&caught).await, FileStatus::Infected);
    assert_eq!(
        world.tag_at(caught.key().quarantined()).await,
        Some(FileStatus::Infected)
    );
}

/// The world's rules folder, unreadable while `failing` is on (a throttled listing).
#[derive(Clone)]
struct ThrottledRules {
    inner: DirRuleSource,
    failing: Failing,
}

impl RuleSource for ThrottledRules {
    async fn version(&self) -> Result<String, StoreError> {
        self.failing.check("SlowDown")?;
        self.inner.version().await
    }
    async fn load(&self) -> Result<(String, Vec<RuleFile>), StoreError> {
        self.failing.check("SlowDown")?;
        self.inner.load().await
    }
}

#[tokio::test]
async fn a_cold_start_that_cannot_list_the_rules_fails_the_run_and_the_next_run_succeeds() {
    let world = world();
    let caught = world.decided(b"TOP").await;
    world.add_rule("acme.yar", TOP_RULE);
    let failing = Failing::new(true);
    let rules = ThrottledRules {
        inner: DirRuleSource::new(world.rules_dir()),
        failing: failing.clone(),
    };
    let sweep = Sweep::new(
        world.catalog.clone(),
        world.store.clone(),
        world.clock.clone(),
        SweepSettings::default(),
        Scanning::start_in_background(
            rules,
            std::time::Duration::from_secs(3600),
            ScanSettings::default(),
            ScanLimits::default(),
        ),
    );

    let failed = sweep.handle_payload(fixture(SCHEDULED)).await;

    assert!(
        matches!(
            failed,
            Err(SweepError::Rules(airlock_scan::RulesError::Source(_)))
        ),
        "{failed:?}"
    );
    assert_eq!(world.status_of(&caught).await, FileStatus::Clean);

    failing.stop();
    let report = sweep.handle_payload(fixture(SCHEDULED)).await.unwrap();

    assert_eq!(
        report.newly_infected, 1,
        "the deployment's rule is in force"
    );
    assert_eq!(world.status_of(&caught).await, FileStatus::Infected);
}
