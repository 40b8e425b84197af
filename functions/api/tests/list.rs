//! `GET /v1/files`: listing, status filters, and cursors bound to the tenant and filter.
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use serde_json::json;
use support::*;

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
    app.catalog.insert_all([
        clean_record("acme", file_id(1), "clean.pdf"),
        pending_record("acme", file_id(2), "pending.pdf"),
        clean_record("acme", file_id(3), "clean2.pdf"),
    ]);
    let request = event(include_str!("fixtures/example-apigw-v2-list-files.json"));

    // Act
    let response = app.send(request).await;

    // Assert
    let body = json_with_status(&response, 200);
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
