//! `POST /v1/files`: creating an upload, its presigned PUT, and every way a request is refused.
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use airlock_api::ApiSettings;
use airlock_domain::{ContentType, FileId, FileStatus, Policy};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;
use support::*;

#[tokio::test]
async fn creating_an_upload_returns_201_with_a_presigned_put() {
    // Arrange
    let app = spawn_app();
    let request = event(include_str!("fixtures/example-apigw-v2-create-file.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json_with_status(&response, 201);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let id = body["file"]["id"].as_str().expect("an id");
    assert_eq!(
        header(&response, "location"),
        Some(format!("/v1/files/{id}").as_str())
    );
    assert_eq!(body["file"]["name"], "quarterly report.pdf");
    assert_eq!(body["file"]["content_type"], "application/pdf");
    assert_eq!(body["file"]["size"], 48_213);
    assert_eq!(body["file"]["status"], "PENDING");
    assert!(body["file"].get("sha256").is_none(), "{body}");
    assert!(body["file"].get("verdict").is_none(), "{body}");
    assert_eq!(body["upload"]["method"], "PUT");
    assert_eq!(body["upload"]["headers"]["content-type"], "application/pdf");
    let url = body["upload"]["url"].as_str().expect("a url");
    assert!(
        url.starts_with(&format!("{STORE_URL}/uploads/acme/{id}?")),
        "{url}"
    );

    let ttl = now() + chrono::Duration::minutes(15);
    let expires_at: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["upload"]["expires_at"].clone()).expect("a timestamp");
    assert_eq!(expires_at, ttl);
    let deadline: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(body["file"]["upload_deadline"].clone()).expect("a timestamp");
    assert_eq!(deadline, now() + chrono::Duration::hours(1));

    let stored = app
        .catalog
        .record(FileId::parse(id).expect("a file id"))
        .expect("the record was created");
    assert_eq!(stored.status, FileStatus::Pending);
    assert_eq!(stored.tenant.as_str(), "acme");
    assert_eq!(stored.upload_deadline, now() + chrono::Duration::hours(1));
    let uploads = app.store.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].key, format!("uploads/acme/{id}"));
    assert_eq!(uploads[0].content_type, "application/pdf");
    assert_eq!(uploads[0].size, 48_213);
    assert_eq!(uploads[0].expires_at, ttl);
}

#[tokio::test]
async fn an_upload_url_never_outlives_the_upload_window() {
    // Arrange
    let app = spawn_app_with(ApiSettings {
        upload_window: chrono::Duration::minutes(5),
        ..ApiSettings::default()
    });

    // Act
    let response = app
        .send(event(include_str!(
            "fixtures/example-apigw-v2-create-file.json"
        )))
        .await;

    // Assert
    assert_eq!(response.status_code, 201, "{}", json(&response));
    let uploads = app.store.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].expires_at, now() + chrono::Duration::minutes(5));
}

#[tokio::test]
async fn a_tenant_at_its_pending_limit_gets_429_with_retry_after_and_others_are_unaffected() {
    // Arrange: acme holds two PENDING uploads, its limit; a CLEAN file does not count.
    let app = spawn_app_with(ApiSettings {
        max_pending_uploads: 2,
        ..ApiSettings::default()
    });
    app.catalog.insert_all([
        pending_record("acme", file_id(1), "a.pdf"),
        clean_record("acme", file_id(2), "b.pdf"),
    ]);
    let create = || event(include_str!("fixtures/example-apigw-v2-create-file.json"));
    assert_eq!(app.send(create()).await.status_code, 201);

    // Act
    let refused = app.send(create()).await;
    let mut theirs = create();
    set_tenant(&mut theirs, Some("globex"));
    let other_tenant = app.send(theirs).await;

    // Assert
    let body = assert_problem(&refused, 429, "too-many-pending");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("2 uploads"),
        "{body}"
    );
    assert_eq!(header(&refused, "retry-after"), Some("60"));
    assert_eq!(other_tenant.status_code, 201, "{}", json(&other_tenant));
    let acme_pending = app
        .catalog
        .records()
        .iter()
        .filter(|r| r.tenant.as_str() == "acme" && r.status == FileStatus::Pending)
        .count();
    assert_eq!(acme_pending, 2, "the refused request created nothing");
}

/// `POST /v1/files/{id}/rescan` as the gateway delivers it.
fn rescan_event(id: FileId) -> ApiGatewayV2httpRequest {
    let mut request = get_event(&format!("/v1/files/{id}/rescan"));
    set_method(&mut request, "POST");
    request
}

#[tokio::test]
async fn a_tenant_at_its_rescan_limit_gets_429_with_retry_after_and_others_are_unaffected() {
    // Arrange: acme has asked for two re-scans, its limit.
    let app = spawn_app_with(ApiSettings {
        max_pending_rescans: 2,
        ..ApiSettings::default()
    });
    for n in 1..=3 {
        app.catalog
            .insert(clean_record("acme", file_id(n), "a.pdf"));
    }
    app.catalog
        .insert(clean_record("globex", file_id(4), "b.pdf"));
    for n in 1..=2 {
        assert_eq!(app.send(rescan_event(file_id(n))).await.status_code, 202);
    }

    // Act
    let refused = app.send(rescan_event(file_id(3))).await;
    let asked_again = app.send(rescan_event(file_id(1))).await;
    let mut theirs = rescan_event(file_id(4));
    set_tenant(&mut theirs, Some("globex"));
    let other_tenant = app.send(theirs).await;

    // Assert
    let body = assert_problem(&refused, 429, "too-many-rescans");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("2 re-scans"),
        "{body}"
    );
    assert_eq!(header(&refused, "retry-after"), Some("60"));
    assert_eq!(
        app.catalog
            .record(file_id(3))
            .and_then(|r| r.rescan_requested_at),
        None,
        "the refused request asked for nothing"
    );
    assert_eq!(
        asked_again.status_code, 202,
        "asking again is not a new request"
    );
    assert_eq!(other_tenant.status_code, 202, "{}", json(&other_tenant));
}

#[tokio::test]
async fn a_base64_encoded_body_is_decoded_before_parsing() {
    // Arrange
    let app = spawn_app();
    let request = event(include_str!(
        "fixtures/example-apigw-v2-create-file-base64.json"
    ));
    assert!(request.is_base64_encoded);

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json_with_status(&response, 201);
    assert_eq!(body["file"]["name"], "quarterly report.pdf");
    assert_eq!(app.catalog.records().len(), 1);
}

/// Sends `body` as a create request; asserts it is refused as a malformed body (400,
/// problem+json) and nothing is stored; answers the problem's detail.
async fn refused_as_malformed(body: &str) -> String {
    let app = spawn_app();
    let response = app.send(create_file_event(body)).await;
    let problem = assert_problem(&response, 400, "malformed-body");
    assert!(app.catalog.records().is_empty());
    problem["detail"].as_str().expect("a detail").to_owned()
}

#[tokio::test]
async fn a_malformed_json_body_returns_400_problem_json() {
    let detail =
        refused_as_malformed(r#"{"name": "a.pdf", "content_type": "application/pdf""#).await;
    assert!(
        detail.starts_with("the request body is not valid"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_body_with_a_wrong_field_type_returns_400() {
    let detail = refused_as_malformed(
        r#"{"name": "a.pdf", "content_type": "application/pdf", "size": "12"}"#,
    )
    .await;
    assert!(detail.contains("invalid type"), "{detail}");
}

#[tokio::test]
async fn a_body_that_names_a_tenant_is_rejected_not_obeyed() {
    let detail = refused_as_malformed(
        r#"{"name": "a.pdf", "content_type": "application/pdf", "size": 12, "tenant": "globex"}"#,
    )
    .await;
    assert!(detail.contains("unknown field `tenant`"), "{detail}");
}

#[tokio::test]
async fn a_garbage_body_returns_400_and_creates_nothing() {
    // Arrange
    let app = spawn_app();
    let binary = {
        let mut request = create_file_event("");
        request.body = Some(STANDARD.encode([0xff, 0xfe, 0x00, 0x9c, 0x01, b'{', 0x80]));
        request.is_base64_encoded = true;
        request
    };
    let not_base64 = {
        let mut request = create_file_event("%%% not base64 %%%");
        request.is_base64_encoded = true;
        request
    };
    let cases = [
        ("binary", binary, "malformed-body"),
        ("not base64", not_base64, "malformed-body"),
        ("empty", create_file_event(""), "malformed-body"),
        ("an array", create_file_event("[1, 2, 3]"), "malformed-body"),
        (
            "plain text",
            create_file_event("name=a.pdf&size=3"),
            "malformed-body",
        ),
        (
            "a negative size",
            create_file_event(r#"{"name":"a","content_type":"text/plain","size":-1}"#),
            "malformed-body",
        ),
    ];

    for (case, request, slug) in cases {
        // Act
        let response = app.send(request).await;

        // Assert
        assert_eq!(response.status_code, 400, "{case}");
        assert_problem(&response, 400, slug);
    }
    assert!(app.catalog.records().is_empty());
    assert!(app.store.uploads().is_empty());
}

#[tokio::test]
async fn an_unsafe_file_name_or_content_type_returns_400_invalid_field() {
    // Arrange
    let app = spawn_app();
    let cases = [
        (
            r#"{"name": "../../etc/passwd", "content_type": "text/plain", "size": 3}"#,
            "invalid file name: contains a path separator",
        ),
        (
            r#"{"name": "a.txt", "content_type": "text", "size": 3}"#,
            "invalid content type: expected type/subtype",
        ),
        (
            r#"{"name": "Invoice\u202Efdp.exe", "content_type": "application/pdf", "size": 3}"#,
            "invalid file name: contains the invisible character U+202E (category Cf)",
        ),
        (
            r#"{"name": "a\u2028b.txt", "content_type": "text/plain", "size": 3}"#,
            "invalid file name: contains the invisible character U+2028 (category Zl)",
        ),
    ];

    for (raw, detail) in cases {
        // Act
        let response = app.send(create_file_event(raw)).await;

        // Assert
        let body = assert_problem(&response, 400, "invalid-field");
        assert_eq!(body["detail"], detail);
    }
    assert!(app.catalog.records().is_empty());
}

#[tokio::test]
async fn a_request_that_breaks_the_policy_returns_422_with_every_reason() {
    // Arrange
    let app = spawn_app_with(ApiSettings {
        policy: Policy {
            max_size: 1_000,
            allowed_types: vec![ContentType::parse("image/png").expect("a valid type")],
            require_type_match: true,
        },
        ..ApiSettings::default()
    });
    let request =
        create_file_event(r#"{"name": "big.csv", "content_type": "text/csv", "size": 5000}"#);

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 422, "policy-violation");
    assert_eq!(
        body["reasons"],
        json!([
            {"code": "too_large", "size": 5000, "max": 1000},
            {"code": "type_not_allowed", "content_type": "text/csv"}
        ])
    );
    let detail = body["detail"].as_str().expect("a detail");
    assert!(detail.contains("at most 1000 are allowed"), "{detail}");
    assert!(
        detail.contains("content type text/csv is not allowed"),
        "{detail}"
    );
    assert!(app.catalog.records().is_empty());
    assert!(app.store.uploads().is_empty());
}

#[tokio::test]
async fn an_empty_file_is_refused_before_any_bytes_are_sent() {
    // Arrange
    let app = spawn_app();
    let request =
        create_file_event(r#"{"name": "a.txt", "content_type": "text/plain", "size": 0}"#);

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 422, "policy-violation");
    assert_eq!(body["reasons"], json!([{"code": "empty"}]));
}

#[tokio::test]
async fn a_body_over_the_limit_returns_413() {
    // Arrange
    let app = spawn_app();
    let padding = "x".repeat(16 * 1024);
    let raw = format!(r#"{{"name": "{padding}", "content_type": "text/plain", "size": 3}}"#);
    let mut encoded = create_file_event(&STANDARD.encode(&raw));
    encoded.is_base64_encoded = true;

    for request in [create_file_event(&raw), encoded] {
        // Act
        let response = app.send(request).await;

        // Assert
        let body = assert_problem(&response, 413, "body-too-large");
        assert_eq!(
            body["detail"],
            format!(
                "the request body has {} bytes; at most 16384 are accepted",
                raw.len()
            )
        );
    }
    assert!(app.catalog.records().is_empty());
}
