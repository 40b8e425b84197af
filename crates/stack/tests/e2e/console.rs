//! The console's two routes: the page itself, and the local-only event log it reads.

use airlock_testkit::samples::PNG;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestStack, spawn_stack};

async fn local_events(app: &TestStack, token: Option<&str>, after: usize) -> (StatusCode, Value) {
    let mut request = app
        .client
        .get(app.url(&format!("/local/events?after={after}")));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_console_page_is_served_at_the_root() {
    let app = spawn_stack().await;

    let response = app.client.get(app.url("/")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("Airlock console"), "{page}");
    assert!(
        page.contains("/v1/files"),
        "the page talks to the public API"
    );
}

#[tokio::test]
async fn the_event_log_shows_a_tenant_only_its_own_events_and_resumes_where_it_left() {
    let app = spawn_stack().await;
    let mine = app.upload("acme", "pixel.png", "image/png", PNG).await;
    let theirs = app.upload("globex", "pixel.png", "image/png", PNG).await;
    app.wait_for_event("File Accepted", &mine).await;
    app.wait_for_event("File Accepted", &theirs).await;

    let (status, log) = local_events(&app, Some(&app.token("acme")), 0).await;

    assert_eq!(status, StatusCode::OK);
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{log}");
    assert_eq!(events[0]["detail"]["file_id"], mine.as_str());
    assert_eq!(events[0]["detail-type"], "File Accepted");
    let next = log["next"].as_u64().unwrap() as usize;
    assert_eq!(next, 2);
    let (_, later) = local_events(&app, Some(&app.token("acme")), next).await;
    assert_eq!(later["events"], serde_json::json!([]));
}

#[tokio::test]
async fn the_event_log_needs_a_dev_token() {
    let app = spawn_stack().await;

    let (status, problem) = local_events(&app, None, 0).await;

    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem["status"], 401);
}
