//! `GET /v1/files/{id}/download`: presigned GETs for clean files only, pinned to the verified version.
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use airlock_domain::Reason;
use serde_json::json;
use support::*;

/// acme's `GET /v1/files/{id}/download` of the fixtures' file, as checked in.
fn download_event() -> aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    event(include_str!("fixtures/example-apigw-v2-download-file.json"))
}

#[tokio::test]
async fn downloading_a_pending_file_returns_409() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(pending_record("acme", fixture_id(), "report.pdf"));
    let request = download_event();

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 409, "not-downloadable");
    assert_eq!(
        body["detail"],
        "the file is PENDING; only CLEAN files can be downloaded"
    );
    assert!(header(&response, "cache-control").is_none());
    assert!(app.store.downloads().is_empty());
}

#[tokio::test]
async fn downloading_an_infected_file_returns_409() {
    // Arrange
    let app = spawn_app();
    app.catalog.insert(decided_record(
        "acme",
        fixture_id(),
        "invoice.pdf",
        vec![Reason::RuleMatched {
            rule: "eicar".to_owned(),
            path: None,
        }],
    ));
    let request = download_event();

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 409, "not-downloadable");
    assert_eq!(
        body["detail"],
        "the file is INFECTED; only CLEAN files can be downloaded"
    );
    assert!(app.store.downloads().is_empty());
}

#[tokio::test]
async fn downloading_a_clean_file_returns_a_presigned_get() {
    // Arrange
    let app = spawn_app_with_report();
    let request = download_event();

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json_with_status(&response, 200);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(body["method"], "GET");
    assert_eq!(body["headers"], json!({}));
    let url = body["url"].as_str().expect("a url");
    assert!(
        url.starts_with(&format!("{STORE_URL}/uploads/acme/{FIXTURE_FILE_ID}?")),
        "{url}"
    );
    let expires_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["expires_at"].clone()).expect("a timestamp");
    let ttl = now() + chrono::Duration::minutes(15);
    assert_eq!(expires_at, ttl);
    assert_eq!(
        app.store.downloads(),
        vec![(
            format!("uploads/acme/{FIXTURE_FILE_ID}"),
            "report.pdf".to_owned(),
            ttl
        )]
    );
}

#[tokio::test]
async fn a_download_is_signed_for_the_object_version_that_was_verified() {
    // Arrange: verified at version v1 of a versioned bucket.
    let app = spawn_app();
    let mut record = clean_record("acme", fixture_id(), "report.pdf");
    if let Some(finding) = record.finding.as_mut() {
        finding.version_id = Some("v1".to_owned());
    }
    app.catalog.insert(record);
    let request = download_event();

    // Act
    let response = app.send(request).await;

    // Assert
    assert_eq!(response.status_code, 200, "{}", json(&response));
    assert_eq!(app.store.download_versions(), vec![Some("v1".to_owned())]);
}

#[tokio::test]
async fn downloading_a_file_accepted_unscanned_says_so_and_why() {
    // Arrange: CLEAN under accept-unscanned, because it was past the scan limit.
    let app = spawn_app();
    let mut record = clean_record("acme", fixture_id(), "huge.bin");
    if let Some(finding) = record.finding.as_mut() {
        finding.scan = Some(airlock_domain::ScanReport::Skipped {
            ruleset: "r1".into(),
            rule_files: vec![],
            why: airlock_domain::SkipReason::TooLargeToScan { size: 10, limit: 5 },
        });
    }
    app.catalog.insert(record);
    let request = download_event();

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json_with_status(&response, 200);
    assert_eq!(
        body["unscanned"],
        json!({"why": {"code": "too_large_to_scan", "size": 10, "limit": 5}})
    );
    assert!(body["url"].is_string());
}

#[tokio::test]
async fn downloading_a_scanned_clean_file_carries_no_unscanned_field() {
    let app = spawn_app_with_report();
    let request = download_event();

    let response = app.send(request).await;

    let body = json_with_status(&response, 200);
    assert!(body.get("unscanned").is_none(), "{body}");
}
