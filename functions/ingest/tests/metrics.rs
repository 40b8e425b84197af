//! The metric lines ingest writes for each verdict, read back from the log the way
//! CloudWatch reads them: one EMF document per decided file.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_domain::{FileId, Policy, ScanLimits};
use airlock_ingest::Ingest;
use airlock_local::{FsObjectStore, SqliteCatalog};
use airlock_testkit::{
    FixedClock, LogBuffer,
    clock::fixture_time as now,
    samples::{PNG, elf},
    scanning::scanning_from,
    uploads,
};
use serde_json::Value;

const PUT: &str = include_str!("fixtures/example-s3-event-put.json");
/// The file id in the fixture's key.
const FIXTURE_FILE_ID: &str = "01JNKZ8Y3M6QW2V7R5T4X9B1CD";
/// Ingests one upload of `bytes` declared as PNG; returns the metric lines logged.
async fn ingest_png_upload(bytes: &[u8], deliveries: usize) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::in_memory().unwrap();
    let store = FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"k".to_vec());
    let id = FileId::parse(FIXTURE_FILE_ID).unwrap();
    let record = uploads::pending(
        "acme",
        id,
        "pixel.png",
        "image/png",
        bytes.len() as u64,
        now(),
    );
    uploads::upload(&catalog, &store, &record, Some(bytes)).await;
    let scanning = scanning_from(dir.path().join("rules"), ScanLimits::default()).await;
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
    let lines = ingest_png_upload(&elf(64), 1).await;

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
