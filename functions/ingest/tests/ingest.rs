//! The ingest handler driven by S3 event notification JSON, on the embedded adapters.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_domain::{
    FileId, FileRecord, FileStatus, ObjectKey, Policy, Reason, ScanLimits, ScanReport, SkipReason,
    Unscannable,
    ports::{CatalogWriter, ObjectRemover},
};
use airlock_ingest::{Ingest, IngestError, IngestReport, RecordOutcome};
use airlock_local::{DirRuleSource, FsObjectStore, SqliteCatalog};
use airlock_testkit::{
    FixedClock,
    clock::fixture_time as now,
    samples::{EICAR_RULE, PNG, eicar, elf, zip_of, zip_with},
    scanning::scanning_from,
    uploads,
};
use serde_json::Value;

const PUT: &str = include_str!("fixtures/example-s3-event-put.json");
const PUT_ENCODED_KEY: &str = include_str!("fixtures/example-s3-event-put-encoded-key.json");
const DELETE: &str = include_str!("fixtures/example-s3-event-delete.json");
const WITHOUT_KEY: &str = include_str!("fixtures/example-s3-event-put-without-key.json");
const GARBAGE: [&str; 3] = [
    include_str!("fixtures/example-s3-event-garbage-records.json"),
    include_str!("fixtures/example-s3-event-garbage-empty.json"),
    include_str!("fixtures/example-s3-event-garbage-sqs.json"),
];
/// A rule of the tenant's that marked text matches.
const SECRET_RULE: &str = r#"rule secret_marker { strings: $a = "TOP-SECRET" condition: $a }"#;
/// The file id in the fixtures' keys.
const FIXTURE_FILE_ID: &str = "01JNKZ8Y3M6QW2V7R5T4X9B1CD";

struct World {
    dir: tempfile::TempDir,
    catalog: SqliteCatalog,
    store: FsObjectStore,
    ingest: Ingest<SqliteCatalog, FsObjectStore, FixedClock, DirRuleSource>,
}

async fn world() -> World {
    world_with(ScanLimits::default()).await
}

/// A world whose ingest scans with the default rules plus any in `dir/rules`,
/// checked before every file.
async fn world_with(limits: ScanLimits) -> World {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::in_memory().unwrap();
    let store = FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"k".to_vec());
    let scanning = scanning_from(dir.path().join("rules"), limits).await;
    let ingest = Ingest::new(
        catalog.clone(),
        store.clone(),
        FixedClock::at(now()),
        Policy::default(),
        scanning,
    );
    World {
        dir,
        catalog,
        store,
        ingest,
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// Why ingest skipped the report's first record; `None` when it did not skip it.
fn skipped_why(report: &IngestReport) -> Option<&str> {
    match report.records.first() {
        Some(RecordOutcome::Skipped { why, .. }) => Some(why),
        _ => None,
    }
}

/// What ingest reports for a record it gave `status`.
fn decided(record: &FileRecord, status: FileStatus) -> RecordOutcome {
    RecordOutcome::Decided {
        key: record.key().to_string(),
        status,
    }
}

/// The PENDING record of acme's upload with the fixtures' id.
fn fixture_upload(name: &str, declared_type: &str, declared_size: u64) -> FileRecord {
    let id = FileId::parse(FIXTURE_FILE_ID).unwrap();
    uploads::pending("acme", id, name, declared_type, declared_size, now())
}

impl World {
    /// A PENDING upload with the fixtures' id, and its bytes in the store.
    async fn upload(&self, declared_type: &str, declared_size: u64, bytes: &[u8]) -> FileRecord {
        let record = fixture_upload("pixel.png", declared_type, declared_size);
        uploads::upload(&self.catalog, &self.store, &record, Some(bytes)).await;
        record
    }

    /// Writes a rule file into the rules folder ingest checks before every file.
    fn add_rule(&self, file: &str, source: &str) {
        let rules = self.dir.path().join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        std::fs::write(rules.join(file), source).unwrap();
    }

    /// A PENDING 1×1 PNG declared as what it is, its bytes stored.
    async fn upload_png(&self) -> FileRecord {
        self.upload("image/png", PNG.len() as u64, PNG).await
    }

    /// The S3 notification `event` (a fixture's text) delivered to ingest.
    async fn deliver(&self, event: &str) -> Result<IngestReport, IngestError> {
        self.ingest.handle_payload(fixture(event)).await
    }

    /// The record as the catalog holds it now.
    async fn stored(&self, record: &FileRecord) -> FileRecord {
        uploads::reread(&self.catalog, record).await
    }

    /// The record's status and its verdict's reasons, as the catalog holds them now.
    async fn outcome(&self, record: &FileRecord) -> (FileStatus, Vec<Reason>) {
        let stored = self.stored(record).await;
        (stored.status, stored.verdict().unwrap().reasons.clone())
    }

    /// The status tag on the record's object.
    async fn tag_of(&self, record: &FileRecord) -> Option<FileStatus> {
        self.store
            .status_tag(&record.key().to_string())
            .await
            .unwrap()
    }

    async fn status_of(&self, record: &FileRecord) -> FileStatus {
        self.stored(record).await.status
    }

    async fn changes(&self) -> usize {
        self.catalog
            .stream_records_after(0, 1000)
            .await
            .unwrap()
            .len()
    }
}

#[tokio::test]
async fn a_clean_upload_becomes_clean_and_its_object_is_tagged_clean() {
    let world = world().await;
    let record = world.upload_png().await;

    let report = world.deliver(PUT).await.unwrap();

    assert_eq!(report.records, [decided(&record, FileStatus::Clean)]);
    let stored = world.stored(&record).await;
    let finding = stored.finding.unwrap();
    assert_eq!(finding.size, PNG.len() as u64);
    assert_eq!(finding.detected_type.as_str(), "image/png");
    assert_eq!(finding.sha256.len(), 64);
    assert_eq!(world.tag_of(&record).await, Some(FileStatus::Clean));
}

#[tokio::test]
async fn an_executable_declared_as_png_is_rejected_by_the_policy_and_the_disguise_rule() {
    let world = world().await;
    let record = world.upload("image/png", 256, &elf(256)).await;

    world.deliver(PUT).await.unwrap();

    assert_eq!(
        world.outcome(&record).await,
        (
            FileStatus::Rejected,
            vec![
                Reason::TypeMismatch {
                    declared: "image/png".into(),
                    detected: "application/x-executable".into()
                },
                Reason::RuleFlagged {
                    rule: "airlock.Executable_Disguised".into(),
                    path: None,
                }
            ]
        )
    );
    assert_eq!(world.tag_of(&record).await, Some(FileStatus::Rejected));
}

#[tokio::test]
async fn bytes_that_differ_from_the_declared_size_are_rejected() {
    let world = world().await;
    let record = world.upload("image/png", 10_000, PNG).await;
    world.deliver(PUT).await.unwrap();
    let stored = world.stored(&record).await;
    assert_eq!(
        stored.verdict().unwrap().reasons,
        vec![Reason::SizeMismatch {
            declared: 10_000,
            actual: PNG.len() as u64
        }]
    );
}

#[tokio::test]
async fn an_object_stored_with_an_unsigned_content_encoding_is_rejected_naming_it() {
    // Brotli of anything has no magic bytes: declared as octet-stream it would pass
    // every check, and a browser told `Content-Encoding: br` would save the decoded bytes.
    let world = world().await;
    let compressed = b"\x1b\x03\x00\xf8\xa5\x40\x40\x01opaque".to_vec();
    let record = fixture_upload(
        "data.bin",
        "application/octet-stream",
        compressed.len() as u64,
    );
    world.catalog.create(&record).await.unwrap();
    let mut writer = world
        .store
        .begin_write(&record.key().to_string(), compressed.len() as u64)
        .await
        .unwrap()
        .with_headers(Some("application/octet-stream"), Some("br"));
    writer.write(&compressed).await.unwrap();
    writer.commit().await.unwrap();

    world.deliver(PUT).await.unwrap();

    assert_eq!(
        world.outcome(&record).await,
        (
            FileStatus::Rejected,
            vec![Reason::StoredHeadersMismatch {
                header: "content-encoding".into(),
                signed: None,
                stored: "br".into(),
            }]
        )
    );
    assert_eq!(world.tag_of(&record).await, Some(FileStatus::Rejected));
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing() {
    let world = world().await;
    let record = world.upload_png().await;
    world.deliver(PUT).await.unwrap();
    let changes_after_first = world.changes().await;

    let again = world.deliver(PUT).await.unwrap();

    assert_eq!(
        again.records,
        [RecordOutcome::AlreadyDecided {
            key: record.key().to_string(),
            status: FileStatus::Clean
        }]
    );
    assert_eq!(world.changes().await, changes_after_first);
    assert_eq!(changes_after_first, 2, "one INSERT and one MODIFY");
}

#[tokio::test]
async fn two_racing_invocations_write_exactly_one_verdict() {
    let world = world().await;
    let record = world.upload_png().await;

    let (a, b) = tokio::join!(world.deliver(PUT), world.deliver(PUT));

    let outcomes = [a.unwrap().records, b.unwrap().records].concat();
    let decided = outcomes
        .iter()
        .filter(|o| matches!(o, RecordOutcome::Decided { .. }))
        .count();
    assert_eq!(decided, 1, "{outcomes:?}");
    assert_eq!(world.changes().await, 2);
    assert_eq!(world.status_of(&record).await, FileStatus::Clean);
}

#[tokio::test]
async fn a_key_outside_the_upload_layout_is_skipped_not_failed() {
    let world = world().await;
    let report = world.deliver(PUT_ENCODED_KEY).await.unwrap();
    assert_eq!(
        report.records,
        vec![RecordOutcome::Skipped {
            key: "uploads/acme/quarterly+report+%282026%29.pdf".into(),
            why: "key is outside the upload layout"
        }]
    );
}

#[tokio::test]
async fn an_object_deleted_before_ingest_ran_is_skipped_and_stays_pending() {
    let world = world().await;
    let record = world.upload_png().await;
    world.store.remove(&record.key()).await.unwrap();

    let report = world.deliver(PUT).await.unwrap();

    assert_eq!(skipped_why(&report), Some("object no longer exists"));
    assert_eq!(world.status_of(&record).await, FileStatus::Pending);
}

#[tokio::test]
async fn an_object_without_a_catalog_record_is_skipped() {
    let world = world().await;
    let key = ObjectKey::parse(&format!("uploads/acme/{FIXTURE_FILE_ID}")).unwrap();
    world.store.put_bytes(&key, b"abc").await.unwrap();
    let report = world.deliver(PUT).await.unwrap();
    assert_eq!(
        skipped_why(&report),
        Some("no catalog record for this object")
    );
    assert_eq!(world.changes().await, 0);
}

#[tokio::test]
async fn an_expired_file_is_not_verified_when_its_bytes_arrive_late() {
    let world = world().await;
    let record = world.upload_png().await;
    world
        .catalog
        .replace(FileStatus::Pending, &record.expired(now()).unwrap())
        .await
        .unwrap();

    let report = world.deliver(PUT).await.unwrap();

    assert_eq!(
        skipped_why(&report),
        Some("bytes no verdict is about (a replayed upload) were removed")
    );
    assert_eq!(world.status_of(&record).await, FileStatus::Expired);
    assert!(
        !world.store.exists(&record.key()).await,
        "late bytes are removed"
    );
}

#[tokio::test]
async fn events_other_than_object_created_are_skipped() {
    let world = world().await;
    let record = world.upload_png().await;
    let report = world.deliver(DELETE).await.unwrap();
    assert_eq!(skipped_why(&report), Some("not an ObjectCreated event"));
    assert_eq!(world.status_of(&record).await, FileStatus::Pending);
}

#[tokio::test]
async fn a_record_without_a_key_fails_the_invocation_so_it_is_retried() {
    let world = world().await;
    let error = world.deliver(WITHOUT_KEY).await.unwrap_err();
    assert!(
        matches!(
            error,
            IngestError::Records {
                failed: 1,
                total: 1,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn garbage_payloads_are_errors_never_panics() {
    let world = world().await;
    for garbage in GARBAGE {
        let result = world.deliver(garbage).await;
        assert!(
            matches!(
                result,
                Err(IngestError::InvalidEvent(_)
                    | IngestError::NoRecords
                    | IngestError::InvalidContinuation { .. })
            ),
            "{garbage} gave {result:?}"
        );
    }
    let empty = serde_json::json!({"Records": []});
    assert!(matches!(
        world.ingest.handle_payload(empty).await,
        Err(IngestError::NoRecords)
    ));
}

#[tokio::test]
async fn a_multi_megabyte_object_is_hashed_like_sha256sum() {
    let world = world().await;
    let data: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    let record = world
        .upload("application/octet-stream", data.len() as u64, &data)
        .await;
    world.deliver(PUT).await.unwrap();
    let stored = world.stored(&record).await;
    use sha2::Digest;
    assert_eq!(
        stored.finding.unwrap().sha256,
        hex::encode(sha2::Sha256::digest(&data))
    );
    assert_eq!(stored.status, FileStatus::Clean);
}

#[tokio::test]
async fn the_eicar_test_file_is_infected_and_tagged_so() {
    let world = world().await;
    let bytes = eicar();
    let record = world.upload("text/plain", bytes.len() as u64, &bytes).await;

    world.deliver(PUT).await.unwrap();

    let stored = world.stored(&record).await;
    assert_eq!(stored.status, FileStatus::Infected);
    let finding = stored.finding.unwrap();
    assert_eq!(
        finding.verdict.reasons,
        vec![Reason::RuleMatched {
            rule: EICAR_RULE.into(),
            path: None,
        }]
    );
    let ruleset = finding.ruleset().unwrap();
    assert!(ruleset.ends_with("+none"), "{ruleset}");
    assert_eq!(world.tag_of(&record).await, Some(FileStatus::Infected));
}

#[tokio::test]
async fn eicar_inside_a_zip_is_infected_with_the_members_path_in_the_verdict() {
    let world = world().await;
    let bytes = zip_of(&[("docs/readme.txt", b"hello"), ("docs/eicar.txt", &eicar())]);
    let record = world
        .upload("application/zip", bytes.len() as u64, &bytes)
        .await;

    world.deliver(PUT).await.unwrap();

    let stored = world.stored(&record).await;
    assert_eq!(stored.status, FileStatus::Infected);
    let finding = stored.finding.unwrap();
    // The upload is named pixel.png: containers are told by their bytes.
    assert_eq!(
        finding.verdict.reasons,
        vec![Reason::RuleMatched {
            rule: EICAR_RULE.into(),
            path: Some("pixel.png!/docs/eicar.txt".into()),
        }]
    );
    let Some(ScanReport::Scanned {
        members: Some(members),
        ..
    }) = finding.scan
    else {
        panic!("no member tally: {:?}", finding.scan);
    };
    assert_eq!((members.scanned, members.unscanned.len()), (2, 0));
    assert_eq!(world.tag_of(&record).await, Some(FileStatus::Infected));
}

#[tokio::test]
async fn an_encrypted_member_rejects_the_upload_by_default_with_its_path() {
    let world = world().await;
    let options =
        zip::write::SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, "pw");
    let bytes = zip_with(&[("secret.txt", b"hidden")], options);
    let record = world
        .upload("application/zip", bytes.len() as u64, &bytes)
        .await;

    world.deliver(PUT).await.unwrap();

    assert_eq!(
        world.outcome(&record).await,
        (
            FileStatus::Rejected,
            vec![Reason::NotScanned {
                why: SkipReason::ArchiveEncrypted {
                    path: "pixel.png!/secret.txt".into()
                }
            }]
        )
    );
}

#[tokio::test]
async fn a_rule_added_to_the_rules_folder_applies_to_the_next_file_without_a_restart() {
    let world = world().await;
    world.add_rule("acme.yar", SECRET_RULE);
    let bytes = b"quarterly numbers, TOP-SECRET, do not share";
    let record = world.upload("text/plain", bytes.len() as u64, bytes).await;

    world.deliver(PUT).await.unwrap();

    assert_eq!(
        world.outcome(&record).await,
        (
            FileStatus::Infected,
            vec![Reason::RuleMatched {
                rule: "acme.secret_marker".into(),
                path: None,
            }]
        )
    );
}

#[tokio::test]
async fn the_verdict_names_the_rule_files_in_force_and_not_one_left_out() {
    let world = world().await;
    world.add_rule("acme.yar", SECRET_RULE);
    world.add_rule("broken.yar", "rule broken { condition: nope }");
    let record = world.upload("text/plain", 5, b"hello").await;

    world.deliver(PUT).await.unwrap();

    let stored = world.stored(&record).await;
    assert_eq!(stored.status, FileStatus::Clean);
    let scan = stored.finding.unwrap().scan.unwrap();
    assert_eq!(scan.rule_files(), ["airlock.yar", "acme.yar"]);
}

#[tokio::test]
async fn a_file_past_every_scan_limit_is_rejected_by_default_never_passed_silently() {
    let world = world_with(ScanLimits {
        max_scan_bytes: 16,
        max_windowed_bytes: 16,
        unscannable: Unscannable::Reject,
        ..ScanLimits::default()
    })
    .await;
    let bytes = vec![b'a'; 64];
    let record = world.upload("text/plain", 64, &bytes).await;

    world.deliver(PUT).await.unwrap();

    let stored = world.stored(&record).await;
    assert_eq!(stored.status, FileStatus::Rejected);
    let why = SkipReason::TooLargeToScan {
        size: 64,
        limit: 16,
    };
    assert_eq!(
        stored.verdict().unwrap().reasons,
        vec![Reason::NotScanned { why: why.clone() }]
    );
    assert!(matches!(
        stored.finding.unwrap().scan,
        Some(ScanReport::Skipped { why: w, .. }) if w == why
    ));
}

#[tokio::test]
async fn a_file_past_every_scan_limit_can_be_accepted_visibly_unscanned() {
    let world = world_with(ScanLimits {
        max_scan_bytes: 16,
        max_windowed_bytes: 16,
        unscannable: Unscannable::AcceptUnscanned,
        ..ScanLimits::default()
    })
    .await;
    let record = world.upload("text/plain", 64, &[b'a'; 64]).await;

    world.deliver(PUT).await.unwrap();

    let stored = world.stored(&record).await;
    assert_eq!(stored.status, FileStatus::Clean);
    assert!(matches!(
        stored.finding.unwrap().scan,
        Some(ScanReport::Skipped { .. })
    ));
    assert_eq!(world.tag_of(&record).await, Some(FileStatus::Clean));
    let key = record.key().to_string();
    assert_eq!(
        world.store.scan_tag(&key).await.unwrap().as_deref(),
        Some("unscanned")
    );

    // A redelivery re-tags, and keeps the mark.
    world.deliver(PUT).await.unwrap();
    assert_eq!(
        world.store.scan_tag(&key).await.unwrap().as_deref(),
        Some("unscanned")
    );
}

#[tokio::test]
async fn a_file_past_the_scan_limit_is_scanned_in_windows_and_the_report_says_so() {
    let world = world_with(ScanLimits {
        max_scan_bytes: 16,
        ..ScanLimits::default()
    })
    .await;
    world.add_rule("acme.yar", SECRET_RULE);
    // Past the first window (the 32 MiB memory budget), near the end.
    let mut bytes = vec![b' '; 40 << 20];
    let at = bytes.len() - 100;
    bytes[at..at + 10].copy_from_slice(b"TOP-SECRET");
    let record = world.upload("text/plain", bytes.len() as u64, &bytes).await;

    world.deliver(PUT).await.unwrap();

    let stored = world.stored(&record).await;
    assert_eq!(stored.status, FileStatus::Infected);
    let scan = serde_json::to_value(stored.finding.unwrap().scan.unwrap()).unwrap();
    assert_eq!(scan["mode"], "windowed", "{scan}");
    assert_eq!(
        scan["matched"],
        serde_json::json!(["acme.secret_marker"]),
        "{scan}"
    );
    assert_eq!(scan["window"]["overlap"], 1 << 20, "{scan}");
    assert_eq!(scan["window"]["count"], 2, "{scan}");
}

#[tokio::test]
async fn a_scanned_clean_file_carries_no_unscanned_mark() {
    let world = world().await;
    let record = world.upload_png().await;

    world.deliver(PUT).await.unwrap();

    assert_eq!(world.tag_of(&record).await, Some(FileStatus::Clean));
    let key = record.key().to_string();
    assert_eq!(world.store.scan_tag(&key).await.unwrap(), None);
}
