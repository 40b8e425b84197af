//! The router on its own: built from a state, with no pump, schedule or socket.

use airlock_api::{Api, ApiSettings};
use airlock_local::{FsObjectStore, SqliteCatalog, SystemClock};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use tower::ServiceExt;

use super::{AppState, router};
use crate::{notifications, token::DevTokens};

fn state(dir: &std::path::Path) -> AppState {
    let store = FsObjectStore::new(
        dir.join("bucket"),
        "http://127.0.0.1:0",
        b"presign".to_vec(),
    );
    let catalog = SqliteCatalog::open(&dir.join("catalog.db")).expect("catalog");
    let api = Api::new(
        catalog.clone(),
        store.clone(),
        catalog,
        SystemClock,
        ApiSettings::default(),
    );
    let (notifier, _deliveries) = notifications::channel();
    AppState::new(
        api,
        store,
        DevTokens::new(b"token".to_vec()),
        notifier,
        dir.join("events.jsonl"),
    )
}

#[tokio::test]
async fn a_path_no_part_serves_is_the_apis_404_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = router(state(dir.path()));

    let response = app
        .oneshot(
            Request::get("/nowhere")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("an answer");

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .expect("body");
    let problem: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(problem["type"], "https://airlock.dev/problems/not-found");
    assert_eq!(problem["title"], airlock_api::NO_ROUTE_TITLE);
    assert_eq!(problem["detail"], airlock_api::NO_ROUTE_DETAIL);
    assert_eq!(problem["status"], 404);
}
