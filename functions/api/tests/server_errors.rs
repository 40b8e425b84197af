//! Server errors: a failing backend gives a 500 that shows nothing of the internals.
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use support::*;

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
