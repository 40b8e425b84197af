//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use airlock_api::ApiSettings;
use airlock_domain::{ContentType, FileId, FileStatus, Policy, Reason};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::json;
use support::*;

const FIXTURES: &[(&str, &str)] = &[
    (
        "create-file",
        include_str!("fixtures/example-apigw-v2-create-file.json"),
    ),
    (
        "create-file-base64",
        include_str!("fixtures/example-apigw-v2-create-file-base64.json"),
    ),
    (
        "list-files",
        include_str!("fixtures/example-apigw-v2-list-files.json"),
    ),
    (
        "get-file",
        include_str!("fixtures/example-apigw-v2-get-file.json"),
    ),
    (
        "download-file",
        include_str!("fixtures/example-apigw-v2-download-file.json"),
    ),
    (
        "delete-file",
        include_str!("fixtures/example-apigw-v2-delete-file.json"),
    ),
    (
        "no-authorizer",
        include_str!("fixtures/example-apigw-v2-no-authorizer.json"),
    ),
];

/// The id the get, download and delete fixtures name.
const FIXTURE_FILE_ID: &str = "01JGZ3N4P5Q6R7S8T9V0W1X2Y3";

fn fixture_id() -> FileId {
    FileId::parse(FIXTURE_FILE_ID).expect("the fixtures name a valid id")
}

// ---------------------------------------------------------------------------------
// Fixtures and the handler's shape

#[test]
fn every_fixture_round_trips_through_the_event_type() {
    for (name, raw) in FIXTURES {
        let parsed: ApiGatewayV2httpRequest = serde_json::from_str(raw)
            .unwrap_or_else(|e| panic!("{name} does not parse as an HTTP API event: {e}"));
        let again: ApiGatewayV2httpRequest =
            serde_json::from_value(serde_json::to_value(&parsed).expect("serialises"))
                .expect("parses back");
        assert_eq!(parsed, again, "{name} changed in a round trip");
        assert_eq!(parsed.version.as_deref(), Some("2.0"), "{name}");
    }
}

#[test]
fn the_handler_future_can_run_on_a_multi_threaded_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    let app = spawn_app();
    let future = app.api.handle(get_event("/v1/usage"));
    assert_send(&future);
}

// ---------------------------------------------------------------------------------
// POST /v1/files

#[tokio::test]
async fn creating_an_upload_returns_201_with_a_presigned_put() {
    // Arrange
    let app = spawn_app();
    let request = event(include_str!("fixtures/example-apigw-v2-create-file.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json(&response);
    assert_eq!(response.status_code, 201, "{body}");
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
    app.catalog
        .insert(pending_record("acme", file_id(1), "a.pdf"));
    app.catalog
        .insert(clean_record("acme", file_id(2), "b.pdf"));
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
    let body = json(&response);
    assert_eq!(response.status_code, 201, "{body}");
    assert_eq!(body["file"]["name"], "quarterly report.pdf");
    assert_eq!(app.catalog.records().len(), 1);
}

#[tokio::test]
async fn a_malformed_json_body_returns_400_problem_json() {
    // Arrange
    let app = spawn_app();
    let request = create_file_event(r#"{"name": "a.pdf", "content_type": "application/pdf""#);

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 400, "malformed-body");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("the request body is not valid")),
        "{body}"
    );
    assert!(app.catalog.records().is_empty());
}

#[tokio::test]
async fn a_body_with_a_wrong_field_type_returns_400() {
    // Arrange
    let app = spawn_app();
    let request =
        create_file_event(r#"{"name": "a.pdf", "content_type": "application/pdf", "size": "12"}"#);

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 400, "malformed-body");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("invalid type")),
        "{body}"
    );
    assert!(app.catalog.records().is_empty());
}

#[tokio::test]
async fn a_body_that_names_a_tenant_is_rejected_not_obeyed() {
    // Arrange
    let app = spawn_app();
    let request = create_file_event(
        r#"{"name": "a.pdf", "content_type": "application/pdf", "size": 12, "tenant": "globex"}"#,
    );

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 400, "malformed-body");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("unknown field `tenant`")),
        "{body}"
    );
    assert!(app.catalog.records().is_empty());
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

// ---------------------------------------------------------------------------------
// Authentication and routing

#[tokio::test]
async fn a_request_without_tenant_claim_returns_401() {
    // Arrange
    let app = spawn_app();
    let no_authorizer = event(include_str!("fixtures/example-apigw-v2-no-authorizer.json"));
    assert!(no_authorizer.request_context.authorizer.is_none());
    let mut no_claim =
        create_file_event(r#"{"name":"a.txt","content_type":"text/plain","size":3}"#);
    set_tenant(&mut no_claim, None);

    for request in [no_authorizer, no_claim] {
        // Act
        let response = app.send(request).await;

        // Assert
        let body = assert_problem(&response, 401, "unauthenticated");
        assert_eq!(
            body["detail"],
            "the request carries no verified `tenant_id` claim"
        );
    }
    assert!(app.catalog.records().is_empty());
}

#[tokio::test]
async fn an_invalid_tenant_claim_returns_401() {
    // Arrange
    let app = spawn_app();
    let mut request = get_event("/v1/usage");
    set_tenant(&mut request, Some("acme/../globex"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 401, "unauthenticated");
    assert_eq!(
        body["detail"],
        "the `tenant_id` claim is not a valid tenant id"
    );
}

#[tokio::test]
async fn a_tenant_in_a_header_or_query_is_ignored() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(clean_record("globex", file_id(1), "secret.pdf"));
    app.catalog
        .insert(clean_record("acme", file_id(2), "mine.pdf"));
    let mut request = list_event("");
    request.headers.insert(
        "x-tenant-id",
        "globex".parse().expect("a valid header value"),
    );
    request.raw_query_string = Some("tenant_id=globex".to_owned());

    // Act
    let refused = app.send(request.clone()).await;
    request.raw_query_string = None;
    let listed = app.send(request).await;

    // Assert
    let body = assert_problem(&refused, 400, "invalid-query");
    assert_eq!(body["detail"], "unknown query parameter `tenant_id`");
    let body = json(&listed);
    assert_eq!(listed.status_code, 200, "{body}");
    assert_eq!(body["files"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(body["files"][0]["name"], "mine.pdf");
}

#[tokio::test]
async fn the_tenant_claim_name_is_configurable() {
    // Arrange
    let app = spawn_app_with(ApiSettings {
        tenant_claim: "custom:tenant".to_owned(),
        ..ApiSettings::default()
    });
    app.catalog
        .insert(clean_record("globex", file_id(1), "theirs.pdf"));
    let mut request = list_event("");
    if let Some(jwt) = request
        .request_context
        .authorizer
        .as_mut()
        .and_then(|a| a.jwt.as_mut())
    {
        jwt.claims
            .insert("custom:tenant".to_owned(), "globex".to_owned());
    }

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    assert_eq!(body["files"][0]["name"], "theirs.pdf");
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_returns_405_with_allow() {
    // Arrange
    let app = spawn_app();
    let cases = [
        ("PUT", format!("/v1/files/{FIXTURE_FILE_ID}"), "DELETE, GET"),
        ("PATCH", "/v1/files".to_owned(), "GET, POST"),
        (
            "POST",
            format!("/v1/files/{FIXTURE_FILE_ID}/download"),
            "GET",
        ),
        ("DELETE", "/v1/usage".to_owned(), "GET"),
    ];

    for (method, path, allow) in cases {
        let mut request = get_event(&path);
        set_method(&mut request, method);

        // Act
        let response = app.send(request).await;

        // Assert
        let body = assert_problem(&response, 405, "method-not-allowed");
        assert_eq!(header(&response, "allow"), Some(allow), "{method} {path}");
        assert_eq!(
            body["detail"],
            format!("{method} is not allowed on this path; allowed: {allow}")
        );
    }
}

#[tokio::test]
async fn an_unknown_route_returns_404() {
    // Arrange
    let app = spawn_app();

    for path in [
        "/",
        "/v2/files",
        "/v1/files/",
        "/v1/files/x/y",
        "/v1/usage/acme",
    ] {
        // Act
        let response = app.send(get_event(path)).await;

        // Assert
        let body = assert_problem(&response, 404, "not-found");
        assert_eq!(body["detail"], "there is no such route", "{path}");
        assert!(header(&response, "allow").is_none());
    }
}

#[tokio::test]
async fn a_path_under_a_named_stage_is_served() {
    // Arrange
    let app = spawn_app();
    let mut request = get_event("/prod/v1/usage");
    request.request_context.stage = Some("prod".to_owned());

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    assert_eq!(body["tenant"], "acme");
}

// ---------------------------------------------------------------------------------
// GET /v1/files/{id}

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
    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
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
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", fixture_id(), "report.pdf"));

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

// ---------------------------------------------------------------------------------
// GET /v1/files/{id}/download

#[tokio::test]
async fn downloading_a_pending_file_returns_409() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(pending_record("acme", fixture_id(), "report.pdf"));
    let request = event(include_str!("fixtures/example-apigw-v2-download-file.json"));

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
    let request = event(include_str!("fixtures/example-apigw-v2-download-file.json"));

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
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", fixture_id(), "report.pdf"));
    let request = event(include_str!("fixtures/example-apigw-v2-download-file.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
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
    let request = event(include_str!("fixtures/example-apigw-v2-download-file.json"));

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
    let request = event(include_str!("fixtures/example-apigw-v2-download-file.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    assert_eq!(
        body["unscanned"],
        json!({"why": {"code": "too_large_to_scan", "size": 10, "limit": 5}})
    );
    assert!(body["url"].is_string());
}

#[tokio::test]
async fn downloading_a_scanned_clean_file_carries_no_unscanned_field() {
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", fixture_id(), "report.pdf"));
    let request = event(include_str!("fixtures/example-apigw-v2-download-file.json"));

    let response = app.send(request).await;

    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    assert!(body.get("unscanned").is_none(), "{body}");
}

// ---------------------------------------------------------------------------------
// GET /v1/files

#[tokio::test]
async fn listing_paginates_with_an_opaque_cursor_bound_to_the_tenant() {
    // Arrange
    let app = spawn_app();
    for n in 1..=3 {
        app.catalog
            .insert(clean_record("acme", file_id(n), &format!("f{n}.pdf")));
    }
    app.catalog
        .insert(clean_record("globex", file_id(4), "theirs.pdf"));

    // Act
    let first = app.send(list_event("limit=2")).await;
    let first_body = json(&first);
    let cursor = first_body["next_cursor"]
        .as_str()
        .expect("a cursor to the second page")
        .to_owned();
    let second = app
        .send(list_event(&format!("limit=2&cursor={cursor}")))
        .await;

    // Assert
    assert_eq!(first.status_code, 200, "{first_body}");
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["files"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|f| f["name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(names(&first_body), ["f3.pdf", "f2.pdf"]);
    assert!(!cursor.contains("acme"), "the cursor is opaque: {cursor}");
    assert!(!cursor.contains(['=', '+', '/']), "url-safe: {cursor}");
    let second_body = json(&second);
    assert_eq!(second.status_code, 200, "{second_body}");
    assert_eq!(names(&second_body), ["f1.pdf"]);
    assert_eq!(second_body["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_cursor_from_another_tenant_is_rejected_with_400() {
    // Arrange
    let app = spawn_app();
    for n in 1..=2 {
        app.catalog
            .insert(clean_record("acme", file_id(n), &format!("f{n}.pdf")));
        app.catalog.insert(clean_record(
            "globex",
            file_id(10 + n),
            &format!("g{n}.pdf"),
        ));
    }
    let first = json(&app.send(list_event("limit=1")).await);
    let acme_cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    let mut request = list_event(&format!("limit=1&cursor={acme_cursor}"));
    set_tenant(&mut request, Some("globex"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = assert_problem(&response, 400, "invalid-cursor");
    assert_eq!(body["detail"], "invalid cursor");
}

#[tokio::test]
async fn a_cursor_used_with_another_status_filter_or_tampered_is_rejected_with_400() {
    // Arrange
    let app = spawn_app();
    for n in 1..=2 {
        app.catalog
            .insert(clean_record("acme", file_id(n), &format!("f{n}.pdf")));
    }
    let first = json(&app.send(list_event("limit=1")).await);
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();

    for query in [
        format!("limit=1&status=CLEAN&cursor={cursor}"),
        format!("limit=1&cursor={cursor}x"),
        "cursor=eyJ2IjoxfQ".to_owned(),
        "cursor=not%20base64".to_owned(),
    ] {
        // Act
        let response = app.send(list_event(&query)).await;

        // Assert
        let body = assert_problem(&response, 400, "invalid-cursor");
        assert_eq!(body["detail"], "invalid cursor", "{query}");
    }
}

#[tokio::test]
async fn listing_filters_by_status() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", file_id(1), "clean.pdf"));
    app.catalog
        .insert(pending_record("acme", file_id(2), "pending.pdf"));
    app.catalog
        .insert(clean_record("acme", file_id(3), "clean2.pdf"));
    let request = event(include_str!("fixtures/example-apigw-v2-list-files.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    let statuses: Vec<_> = body["files"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| f["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("CLEAN"), json!("CLEAN")]);
    assert_eq!(body["next_cursor"], serde_json::Value::Null);
}

#[tokio::test]
async fn listing_with_bad_query_parameters_returns_400() {
    // Arrange
    let app = spawn_app();
    let cases = [
        ("limit=0", "`limit` must be a whole number from 1 to 100"),
        ("limit=101", "`limit` must be a whole number from 1 to 100"),
        ("limit=many", "`limit` must be a whole number from 1 to 100"),
        (
            "status=clean",
            "`status` must be one of PENDING, CLEAN, REJECTED, INFECTED, EXPIRED, DELETED",
        ),
        (
            "limit=1&limit=2",
            "query parameter `limit` is given more than once",
        ),
        ("sort=name", "unknown query parameter `sort`"),
    ];

    for (query, detail) in cases {
        // Act
        let response = app.send(list_event(query)).await;

        // Assert
        let body = assert_problem(&response, 400, "invalid-query");
        assert_eq!(body["detail"], detail, "{query}");
    }
}

// ---------------------------------------------------------------------------------
// DELETE /v1/files/{id}

#[tokio::test]
async fn deleting_a_clean_file_marks_it_deleted_and_removes_the_object() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", fixture_id(), "report.pdf"));
    let request = event(include_str!("fixtures/example-apigw-v2-delete-file.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    assert_eq!(response.status_code, 204);
    assert!(response.body.is_none());
    let stored = app
        .catalog
        .record(fixture_id())
        .expect("the record is kept");
    assert_eq!(stored.status, FileStatus::Deleted);
    assert_eq!(stored.updated_at, now());
    assert_eq!(
        app.store.removed(),
        [format!("uploads/acme/{FIXTURE_FILE_ID}")]
    );
}

#[tokio::test]
async fn deleting_twice_is_idempotent() {
    // Arrange
    let app = spawn_app();
    app.catalog.insert(decided_record(
        "acme",
        fixture_id(),
        "report.pdf",
        vec![Reason::Empty],
    ));
    let request = event(include_str!("fixtures/example-apigw-v2-delete-file.json"));

    // Act
    let first = app.send(request.clone()).await;
    let second = app.send(request).await;

    // Assert
    assert_eq!(first.status_code, 204);
    assert_eq!(second.status_code, 204);
    assert_eq!(
        app.catalog.record(fixture_id()).map(|r| r.status),
        Some(FileStatus::Deleted)
    );
    // The second delete writes nothing but removes again, finishing any failed removal.
    assert_eq!(app.catalog.replace_calls(), 1);
    assert_eq!(app.store.removed().len(), 2);
}

#[tokio::test]
async fn a_failed_removal_is_finished_by_a_retry() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", fixture_id(), "report.pdf"));
    app.store.fail_next_removals(1);
    let request = event(include_str!("fixtures/example-apigw-v2-delete-file.json"));

    // Act
    let failed = app.send(request.clone()).await;
    let retried = app.send(request).await;

    // Assert
    let body = assert_problem(&failed, 500, "internal");
    assert!(!body["detail"].to_string().contains("slow down"), "{body}");
    assert_eq!(retried.status_code, 204);
    assert_eq!(
        app.catalog.record(fixture_id()).map(|r| r.status),
        Some(FileStatus::Deleted)
    );
    assert_eq!(
        app.store.removed(),
        [format!("uploads/acme/{FIXTURE_FILE_ID}")]
    );
}

#[tokio::test]
async fn deleting_a_pending_or_expired_file_returns_409() {
    // Arrange
    let app = spawn_app();
    let pending = pending_record("acme", file_id(1), "a.pdf");
    let expired = pending_record("acme", file_id(2), "b.pdf")
        .expired(now())
        .expect("PENDING can expire");
    app.catalog.insert(pending);
    app.catalog.insert(expired);

    for (n, status) in [(1, "PENDING"), (2, "EXPIRED")] {
        // Act
        let response = app
            .send(delete_event(&format!("/v1/files/{}", file_id(n))))
            .await;

        // Assert
        let body = assert_problem(&response, 409, "not-deletable");
        assert_eq!(
            body["detail"],
            format!("the file is {status}; only CLEAN, REJECTED or INFECTED files can be deleted")
        );
    }
    assert_eq!(app.catalog.replace_calls(), 0);
    assert!(app.store.removed().is_empty());
}

#[tokio::test]
async fn a_delete_that_loses_one_race_decides_again_and_succeeds() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", fixture_id(), "report.pdf"));
    app.catalog.lose_next_replaces(1);
    let request = event(include_str!("fixtures/example-apigw-v2-delete-file.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    assert_eq!(response.status_code, 204);
    assert_eq!(app.catalog.replace_calls(), 2);
    assert_eq!(
        app.catalog.record(fixture_id()).map(|r| r.status),
        Some(FileStatus::Deleted)
    );
    assert_eq!(app.store.removed().len(), 1);
}

#[tokio::test]
async fn a_delete_that_keeps_losing_races_returns_409() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", fixture_id(), "report.pdf"));
    app.catalog.lose_next_replaces(2);
    let request = event(include_str!("fixtures/example-apigw-v2-delete-file.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    assert_problem(&response, 409, "concurrent-change");
    assert_eq!(
        app.catalog.record(fixture_id()).map(|r| r.status),
        Some(FileStatus::Clean)
    );
    assert!(app.store.removed().is_empty());
}

// ---------------------------------------------------------------------------------
// GET /v1/usage

#[tokio::test]
async fn usage_lists_every_status_for_the_callers_tenant_only() {
    // Arrange
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", file_id(1), "a.pdf"));
    app.catalog
        .insert(clean_record("acme", file_id(2), "b.pdf"));
    app.catalog
        .insert(pending_record("acme", file_id(3), "c.pdf"));
    app.catalog
        .insert(clean_record("globex", file_id(4), "theirs.pdf"));

    // Act
    let response = app.send(get_event("/v1/usage")).await;

    // Assert
    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "tenant": "acme",
            "by_status": {
                "PENDING": {"files": 1, "bytes": 48213},
                "CLEAN": {"files": 2, "bytes": 96426},
                "REJECTED": {"files": 0, "bytes": 0},
                "INFECTED": {"files": 0, "bytes": 0},
                "EXPIRED": {"files": 0, "bytes": 0},
                "DELETED": {"files": 0, "bytes": 0}
            }
        })
    );
}

// ---------------------------------------------------------------------------------
// Server errors

#[tokio::test]
async fn a_backend_failure_returns_500_without_internals() {
    // Arrange
    let app = spawn_app();
    app.catalog.break_down();
    let requests = [
        get_event(&format!("/v1/files/{FIXTURE_FILE_ID}")),
        list_event(""),
        get_event("/v1/usage"),
        create_file_event(r#"{"name":"a.txt","content_type":"text/plain","size":3}"#),
    ];

    for request in requests {
        // Act
        let response = app.send(request).await;

        // Assert
        let body = assert_problem(&response, 500, "internal");
        let detail = body["detail"].as_str().expect("a detail");
        assert!(
            detail.contains("JKJaXmPLvHcESHA="),
            "names the request: {detail}"
        );
        assert!(!detail.contains("table-xyz"), "{detail}");
        assert!(!detail.contains("ledger"), "{detail}");
    }
    assert!(app.store.uploads().is_empty());
}
