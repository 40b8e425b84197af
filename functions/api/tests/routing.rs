//! Authentication (the tenant claim, and only the claim) and routing (405, 404, stages).
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use airlock_api::ApiSettings;
use support::*;

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
    app.catalog.insert_all([
        clean_record("globex", file_id(1), "secret.pdf"),
        clean_record("acme", file_id(2), "mine.pdf"),
    ]);
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
    let body = json_with_status(&response, 200);
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
    let body = json_with_status(&response, 200);
    assert_eq!(body["tenant"], "acme");
}
