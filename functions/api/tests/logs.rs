#![allow(clippy::unwrap_used)]

//! What the api writes to its log while it hands out a presigned upload: the lines
//! name the request, function, tenant and file, and the URL (a credential for
//! whoever holds it) appears nowhere, not even its signature.

use airlock_api::{Api, ApiSettings};
use airlock_local::{FsObjectStore, SqliteCatalog};
use airlock_telemetry::Invocations;
use airlock_testkit::{FixedClock, LogBuffer};
use tracing::Instrument;

mod support;

use support::{create_file_event, json_with_status, now};

#[tokio::test]
async fn creating_an_upload_logs_the_file_but_never_its_presigned_url() {
    // Arrange: the embedded adapters sign real URLs; every level is captured.
    let root = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::in_memory().unwrap();
    let store = FsObjectStore::new(root.path(), "http://127.0.0.1:8787", b"key".to_vec());
    let api = Api::new(
        catalog.clone(),
        store,
        catalog,
        FixedClock::at(now()),
        ApiSettings::default(),
    );
    let logs = LogBuffer::new();
    let _guard = logs.capture("airlock-api");
    let invocations = Invocations::start("airlock-api");
    let request = create_file_event(r#"{"name":"cat.png","content_type":"image/png","size":64}"#);

    // Act
    let response = api
        .handle(request)
        .instrument(invocations.span("req-create"))
        .await;

    // Assert
    let body = json_with_status(&response, 201);
    let url = body["upload"]["url"].as_str().unwrap();
    let signature = url.rsplit("X-Airlock-Signature=").next().unwrap();
    assert!(signature.len() >= 32, "{url}");
    let text = logs.text();
    assert!(!text.contains(url), "the URL is in the log:\n{text}");
    assert!(
        !text.contains(signature),
        "the signature is in the log:\n{text}"
    );

    let file_id = body["file"]["id"].as_str().unwrap();
    let created = logs
        .lines()
        .into_iter()
        .find(|line| line["message"] == "upload created")
        .unwrap_or_else(|| panic!("no 'upload created' line in:\n{text}"));
    assert_eq!(created["file_id"], file_id);
    assert_eq!(created["tenant"], "acme");
    assert_eq!(created["request_id"], "req-create");
    assert_eq!(created["function"], "airlock-api");
    assert_eq!(created["cold_start"], true);
}
