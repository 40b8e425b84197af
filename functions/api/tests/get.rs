//! `GET /v1/files/{id}`: a file's record and finding, for its own tenant only.
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use airlock_domain::Reason;
use serde_json::json;
use support::*;

#[tokio::test]
async fn getting_a_decided_file_shows_its_finding() {
    // Arrange
    let app = spawn_app();
    let record = decided_record(
        "acme",
        fixture_id(),
        "report.pdf",
        vec![Reason::SizeMismatch {
            declared: 48_213,
            actual: 10,
        }],
    );
    app.catalog.insert(record);
    let request = event(include_str!("fixtures/example-apigw-v2-get-file.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json_with_status(&response, 200);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(body["id"], FIXTURE_FILE_ID);
    assert_eq!(body["status"], "REJECTED");
    assert_eq!(
        body["sha256"],
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
    assert_eq!(body["detected_type"], "application/pdf");
    assert_eq!(
        body["verdict"],
        json!({
            "outcome": "REJECTED",
            "reasons": [{"code": "size_mismatch", "declared": 48213, "actual": 10}]
        })
    );
    let mut keys: Vec<_> = body
        .as_object()
        .expect("an object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "content_type",
            "created_at",
            "detected_type",
            "id",
            "name",
            "sha256",
            "size",
            "status",
            "updated_at",
            "upload_deadline",
            "verdict"
        ]
    );
}

#[tokio::test]
async fn another_tenants_file_returns_404() {
    // Arrange
    let app = spawn_app();
    let theirs = clean_record("globex", fixture_id(), "theirs.pdf");
    app.catalog.insert(theirs.clone());
    let requests = [
        event(include_str!("fixtures/example-apigw-v2-get-file.json")),
        event(include_str!("fixtures/example-apigw-v2-download-file.json")),
        event(include_str!("fixtures/example-apigw-v2-delete-file.json")),
    ];

    for request in requests {
        // Act
        let response = app.send(request).await;

        // Assert
        let body = assert_problem(&response, 404, "file-not-found");
        assert_eq!(body["detail"], "file not found");
    }
    assert_eq!(app.catalog.record(fixture_id()), Some(theirs));
    assert!(app.store.downloads().is_empty());
    assert!(app.store.removed().is_empty());
}

#[tokio::test]
async fn a_malformed_or_unknown_file_id_returns_404() {
    // Arrange
    let app = spawn_app();

    for path in [
        "/v1/files/not-a-ulid".to_owned(),
        "/v1/files/%2E%2E".to_owned(),
        format!("/v1/files/{FIXTURE_FILE_ID}"),
    ] {
        // Act
        let response = app.send(get_event(&path)).await;

        // Assert
        let body = assert_problem(&response, 404, "file-not-found");
        assert_eq!(body["detail"], "file not found", "{path}");
    }
}

#[tokio::test]
async fn a_file_id_in_another_spelling_than_its_own_returns_404() {
    // Arrange: the file exists, under its canonical id.
    let app = spawn_app_with_report();

    // Lower case, and O for 0 (Crockford's base32 reads them as the same id).
    for spelling in [
        FIXTURE_FILE_ID.to_lowercase(),
        FIXTURE_FILE_ID.replacen('0', "O", 1),
    ] {
        // Act
        let response = app.send(get_event(&format!("/v1/files/{spelling}"))).await;

        // Assert
        let body = assert_problem(&response, 404, "file-not-found");
        assert_eq!(body["detail"], "file not found", "{spelling}");
    }
}
