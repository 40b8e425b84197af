//! `DELETE /v1/files/{id}`: idempotent deletion, retried removal, and races with other writers.
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use airlock_domain::{FileStatus, Reason};
use support::*;

/// acme's `DELETE /v1/files/{id}` of the fixtures' file, as checked in.
fn delete_fixture() -> aws_lambda_events::apigw::ApiGatewayV2httpRequest {
    event(include_str!("fixtures/example-apigw-v2-delete-file.json"))
}

#[tokio::test]
async fn deleting_a_clean_file_marks_it_deleted_and_removes_the_object() {
    // Arrange
    let app = spawn_app_with_report();
    let request = delete_fixture();

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
    let request = delete_fixture();

    // Act
    let first = app.send(request.clone()).await;
    let second = app.send(request).await;

    // Assert
    assert_eq!(first.status_code, 204);
    assert_eq!(second.status_code, 204);
    assert_eq!(app.fixture_status(), Some(FileStatus::Deleted));
    // The second delete writes nothing but removes again, finishing any failed removal.
    assert_eq!(app.catalog.replace_calls(), 1);
    assert_eq!(app.store.removed().len(), 2);
}

#[tokio::test]
async fn a_failed_removal_is_finished_by_a_retry() {
    // Arrange
    let app = spawn_app_with_report();
    app.store.fail_next_removals(1);
    let request = delete_fixture();

    // Act
    let failed = app.send(request.clone()).await;
    let retried = app.send(request).await;

    // Assert
    let body = assert_problem(&failed, 500, "internal");
    assert!(!body["detail"].to_string().contains("slow down"), "{body}");
    assert_eq!(retried.status_code, 204);
    assert_eq!(app.fixture_status(), Some(FileStatus::Deleted));
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
    let app = spawn_app_with_report();
    app.catalog.lose_next_replaces(1);
    let request = delete_fixture();

    // Act
    let response = app.send(request).await;

    // Assert
    assert_eq!(response.status_code, 204);
    assert_eq!(app.catalog.replace_calls(), 2);
    assert_eq!(app.fixture_status(), Some(FileStatus::Deleted));
    assert_eq!(app.store.removed().len(), 1);
}

#[tokio::test]
async fn a_delete_that_keeps_losing_races_returns_409() {
    // Arrange
    let app = spawn_app_with_report();
    app.catalog.lose_next_replaces(2);
    let request = delete_fixture();

    // Act
    let response = app.send(request).await;

    // Assert
    assert_problem(&response, 409, "concurrent-change");
    assert_eq!(app.fixture_status(), Some(FileStatus::Clean));
    assert!(app.store.removed().is_empty());
}
