//! `GET /v1/usage`: the caller's tenant's counters by status.
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn usage_lists_every_status_for_the_callers_tenant_only() {
    // Arrange
    let app = spawn_app();
    app.catalog.insert_all([
        clean_record("acme", file_id(1), "a.pdf"),
        clean_record("acme", file_id(2), "b.pdf"),
        pending_record("acme", file_id(3), "c.pdf"),
        clean_record("globex", file_id(4), "theirs.pdf"),
    ]);

    // Act
    let response = app.send(get_event("/v1/usage")).await;

    // Assert
    let body = json_with_status(&response, 200);
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
