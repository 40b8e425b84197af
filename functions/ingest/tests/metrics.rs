//! The metric lines ingest writes for each verdict, read back from the log the way
//! CloudWatch reads them: one EMF document per decided file.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_domain::ScanLimits;
use airlock_domain::{
    ContentType, FileId, FileName, FileRecord, Policy, TenantId, Timestamp, UploadRequest,
    ports::CatalogWriter,
};
use airlock_ingest::Ingest;
use airlock_local::{DirRuleSource, FixedClock, FsObjectStore, SqliteCatalog};
use airlock_scan::{ScanSettings, Scanning};
use airlock_telemetry::logging::LogBuffer;
use serde_json::Value;

const PUT: &str = include_str!("fixtures/example-s3-event-put.json");
/// The file id in the fixture's key.
const FIXTURE_FILE_ID: &str = "01JNKZ8Y3M6QW2V7R5T4X9B1CD";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
/// The start of an ELF executable (magic, 64-bit, little-endian), padded to the 64
/// bytes of a real header.
fn elf() -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
    bytes.resize(64, 0);
    bytes
}

fn now() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .unwrap()
        .to_utc()
}

/// Ingests one upload of `bytes` declared as PNG; returns the metric lines logged.
async fn ingest_png_upload(bytes: &[u8], deliveries: usize) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::in_memory().unwrap();
    let store = FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"k".to_vec());
    let record = FileRecord::pending(
        TenantId::parse("acme").unwrap(),
        FileId::parse(FIXTURE_FILE_ID).unwrap(),
        UploadRequest {
            name: FileName::parse("pixel.png").unwrap(),
            content_type: ContentType::parse("image/png").unwrap(),
            size: bytes.len() as u64,
        },
        now(),
        now() + chrono::Duration::hours(1),
    );
    catalog.create(&record).await.unwrap();
    store.put_bytes(&record.key(), bytes).await.unwrap();
    let scanning = Scanning::start(
        DirRuleSource::new(dir.path().join("rules")),
        std::time::Duration::ZERO,
        ScanSettings::default(),
        ScanLimits::default(),
    )
    .await
    .unwrap();
    let ingest = Ingest::new(
        catalog,
        store,
        FixedClock::at(now()),
        Policy::default(),
        scanning,
    );

    let logs = LogBuffer::new();
    let _guard = logs.capture("airlock-ingest");
    for _ in 0..deliveries {
        ingest
            .handle_payload(serde_json::from_str(PUT).unwrap())
            .await
            .unwrap();
    }
    logs.lines()
        .into_iter()
        .filter(|line| line.get("_aws").is_some())
        .collect()
}

fn metric_names(line: &Value) -> Vec<String> {
    line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_disguised_executable_is_counted_as_rejected_with_its_reason() {
    let elf = elf();
    let lines = ingest_png_upload(&elf, 1).await;

    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Airlock");
    assert_eq!(line["FunctionName"], "airlock-ingest");
    assert_eq!(line["FilesRejected"], 1.0);
    assert_eq!(line["BytesIngested"], 64.0);
    assert!(line["ScanDuration"].as_f64().unwrap() >= 0.0);
    assert!(line["IngestDuration"].as_f64().unwrap() >= line["ScanDuration"].as_f64().unwrap());
    assert_eq!(
        line["reasons"],
        serde_json::json!(["type_mismatch", "rule_flagged"])
    );
    assert_eq!(line["tenant"], "acme");
    assert_eq!(line["file_id"], FIXTURE_FILE_ID);
    let names = metric_names(line);
    assert!(!names.contains(&"FilesAccepted".to_owned()), "{names:?}");
    for name in names {
        assert!(line[&name].is_number(), "{name} has no value");
    }
}

#[tokio::test]
async fn a_clean_file_is_counted_as_accepted_once_however_often_it_is_delivered() {
    let lines = ingest_png_upload(PNG, 3).await;

    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["FilesAccepted"], 1.0);
    assert_eq!(lines[0]["status"], "CLEAN");
    assert_eq!(lines[0]["reasons"], serde_json::json!([]));
}
