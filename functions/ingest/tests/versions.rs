//! Ingest on a versioned bucket, as the template makes it, against the AWS emulator
//! `scripts/with-moto.sh` starts (`make test` does): the version an S3 event names is
//! the one scanned, tagged and recorded, and bytes of any other version under the key
//! are removed for good, never given the verdict.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_aws::{DynamoCatalog, S3Store, provision};
use airlock_domain::{
    FileId, FileRecord, FileStatus, Policy, ScanLimits, Timestamp, ports::CatalogWriter,
};
use airlock_ingest::{Ingest, RecordOutcome};
use airlock_local::DirRuleSource;
use airlock_testkit::{
    FixedClock,
    samples::{PNG, eicar},
    scanning::scanning_from,
    uploads,
};
use serde_json::Value;

const PUT: &str = include_str!("fixtures/example-s3-event-put.json");

fn now() -> Timestamp {
    chrono::Utc::now()
}

async fn emulator() -> aws_config::SdkConfig {
    assert!(
        std::env::var("AIRLOCK_TEST_EMULATOR").is_ok(),
        "these tests need the AWS emulator: run `make test`, or `scripts/with-moto.sh cargo nextest run --workspace`"
    );
    airlock_aws::load_sdk_config(airlock_aws::tls::TrustRoots::default()).await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

struct World {
    _rules: tempfile::TempDir,
    catalog: DynamoCatalog,
    store: S3Store,
    ingest: Ingest<DynamoCatalog, S3Store, FixedClock, DirRuleSource>,
}

async fn world() -> World {
    let sdk = emulator().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique("airlock");
    provision::create_table(&dynamodb, &table).await.unwrap();
    let s3 = airlock_aws::s3_client(&sdk);
    let bucket = unique("airlock");
    provision::create_versioned_bucket(&s3, &bucket)
        .await
        .unwrap();
    let catalog = DynamoCatalog::new(dynamodb, table);
    let store = S3Store::new(s3, bucket);
    let rules = tempfile::tempdir().unwrap();
    let scanning = scanning_from(rules.path().join("rules"), ScanLimits::default()).await;
    let ingest = Ingest::new(
        catalog.clone(),
        store.clone(),
        FixedClock::at(now()),
        Policy::default(),
        scanning,
    );
    World {
        _rules: rules,
        catalog,
        store,
        ingest,
    }
}

impl World {
    async fn pending_png(&self) -> FileRecord {
        let (id, size) = (FileId::generate(), PNG.len() as u64);
        let record = uploads::pending("acme", id, "pixel.png", "image/png", size, now());
        self.catalog.create(&record).await.unwrap();
        record
    }

    /// Stores a version of the record's object as its upload was signed (type
    /// image/png), and answers its version id.
    async fn put(&self, record: &FileRecord, bytes: Vec<u8>) -> String {
        self.store
            .put_version(&record.key(), bytes, Some("image/png"))
            .await
            .unwrap()
            .unwrap()
    }

    async fn stored(&self, record: &FileRecord) -> FileRecord {
        uploads::reread(&self.catalog, record).await
    }

    async fn tag_of(&self, record: &FileRecord, version: &str) -> Option<String> {
        self.store
            .status_tag_of_version(&record.key(), version)
            .await
            .unwrap()
    }
}

/// S3's notification for `version` of the record's object.
fn created(record: &FileRecord, version: &str) -> Value {
    let mut event: Value = serde_json::from_str(PUT).unwrap();
    let object = &mut event["Records"][0]["s3"]["object"];
    object["key"] = Value::String(record.key().to_string());
    object["versionId"] = Value::String(version.to_owned());
    event
}

#[tokio::test]
async fn the_version_an_event_names_is_scanned_tagged_and_recorded_whatever_is_current() {
    let world = world().await;
    let record = world.pending_png().await;
    let uploaded = world.put(&record, PNG.to_vec()).await;
    // A later version under the key before ingest runs (a writer past the upload path).
    let later = world.put(&record, eicar()).await;

    let report = world
        .ingest
        .handle_payload(created(&record, &uploaded))
        .await
        .unwrap();

    assert!(matches!(
        &report.records[0],
        RecordOutcome::Decided {
            status: FileStatus::Clean,
            ..
        }
    ));
    let finding = world.stored(&record).await.finding.unwrap();
    assert_eq!(finding.version_id.as_deref(), Some(uploaded.as_str()));
    assert!(finding.etag.is_some(), "the ETag scanned is kept too");
    assert_eq!(
        world.tag_of(&record, &uploaded).await.as_deref(),
        Some("CLEAN")
    );
    assert_eq!(
        world.tag_of(&record, &later).await,
        None,
        "the later version was not verified and must not carry the verdict"
    );
}

#[tokio::test]
async fn bytes_of_another_version_than_the_verified_one_are_removed_for_good_not_tagged() {
    let world = world().await;
    let record = world.pending_png().await;
    let uploaded = world.put(&record, PNG.to_vec()).await;
    world
        .ingest
        .handle_payload(created(&record, &uploaded))
        .await
        .unwrap();
    let replayed = world.put(&record, eicar()).await;

    let report = world
        .ingest
        .handle_payload(created(&record, &replayed))
        .await
        .unwrap();

    assert!(
        matches!(&report.records[0], RecordOutcome::Skipped { why, .. } if why.contains("removed")),
        "{report:?}"
    );
    assert_eq!(
        world.store.versions(&record.key()).await.unwrap(),
        vec![uploaded.clone()],
        "the replayed version is deleted, not hidden behind a delete marker"
    );
    assert_eq!(
        world.tag_of(&record, &uploaded).await.as_deref(),
        Some("CLEAN")
    );
    assert_eq!(world.stored(&record).await.status, FileStatus::Clean);

    // A redelivery of the verified version's event only re-tags it.
    let again = world
        .ingest
        .handle_payload(created(&record, &uploaded))
        .await
        .unwrap();
    assert!(matches!(
        &again.records[0],
        RecordOutcome::AlreadyDecided {
            status: FileStatus::Clean,
            ..
        }
    ));
}
