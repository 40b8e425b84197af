//! The pipeline as a user meets it: upload, verdict, events, download, delete, expiry.

use airlock_testkit::samples::{PNG, elf};
use reqwest::StatusCode;

use crate::helpers::{spawn_stack, spawn_stack_with};

#[tokio::test]
async fn a_clean_upload_is_accepted_announced_and_downloads_as_the_same_bytes() {
    let app = spawn_stack().await;

    let id = app.upload("acme", "pixel.png", "image/png", PNG).await;

    let file = app.wait_for_status("acme", &id, "CLEAN").await;
    assert_eq!(file["detected_type"], "image/png");
    assert_eq!(file["sha256"].as_str().unwrap().len(), 64);
    let event = app.wait_for_event("File Accepted", &id).await;
    assert_eq!(event["source"], "airlock");
    assert_eq!(event["detail"]["tenant"], "acme");
    assert_eq!(event["detail"]["sha256"], file["sha256"]);
    let (status, download) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    assert_eq!(status, StatusCode::OK);
    let response = app.fetch(&download["url"]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("pixel.png")
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
}

#[tokio::test]
async fn an_executable_declared_as_png_is_rejected_with_a_reason_and_never_downloadable() {
    let app = spawn_stack().await;

    let id = app.upload("acme", "cat.png", "image/png", &elf(512)).await;

    let file = app.wait_for_status("acme", &id, "REJECTED").await;
    assert_eq!(file["verdict"]["reasons"][0]["code"], "type_mismatch");
    assert_eq!(
        file["verdict"]["reasons"][0]["detected"],
        "application/x-executable"
    );
    let event = app.wait_for_event("File Rejected", &id).await;
    assert_eq!(event["detail"]["reasons"][0]["code"], "type_mismatch");
    let (status, problem) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(problem["status"], 409);
}

#[tokio::test]
async fn a_tenant_can_neither_see_nor_download_nor_delete_another_tenants_file() {
    let app = spawn_stack().await;
    let id = app.clean_png().await;

    for path in [
        format!("/v1/files/{id}"),
        format!("/v1/files/{id}/download"),
    ] {
        let (status, _) = app.get("intruder", &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let delete = app
        .client
        .delete(app.url(&format!("/v1/files/{id}")))
        .bearer_auth(app.token("intruder"))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);
    let (_, list) = app.get("intruder", "/v1/files").await;
    assert_eq!(list["files"].as_array().unwrap().len(), 0);
    let (_, usage) = app.get("intruder", "/v1/usage").await;
    assert_eq!(usage["by_status"]["CLEAN"]["files"], 0);
    app.wait_for_status("acme", &id, "CLEAN").await;
}

#[tokio::test]
async fn usage_counts_files_and_bytes_by_status() {
    let app = spawn_stack().await;
    let clean = app.upload("acme", "pixel.png", "image/png", PNG).await;
    let rejected = app.upload("acme", "cat.png", "image/png", &elf(512)).await;
    app.wait_for_event("File Accepted", &clean).await;
    app.wait_for_event("File Rejected", &rejected).await;

    // The counters move after the events are on the bus; give the ledger a moment.
    let mut usage = serde_json::Value::Null;
    for _ in 0..100 {
        usage = app.get("acme", "/v1/usage").await.1;
        if usage["by_status"]["REJECTED"]["files"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(usage["by_status"]["CLEAN"]["files"], 1);
    assert_eq!(usage["by_status"]["CLEAN"]["bytes"], PNG.len());
    assert_eq!(usage["by_status"]["REJECTED"]["files"], 1);
    assert_eq!(usage["by_status"]["PENDING"]["files"], 0);
}

#[tokio::test]
async fn deleting_a_clean_file_announces_it_and_its_download_stops_working() {
    let app = spawn_stack().await;
    let id = app.clean_png().await;
    let (_, download) = app.get("acme", &format!("/v1/files/{id}/download")).await;

    let response = app
        .client
        .delete(app.url(&format!("/v1/files/{id}")))
        .bearer_auth(app.token("acme"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    app.wait_for_event("File Deleted", &id).await;
    let (status, _) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let old_url = app.fetch(&download["url"]).await;
    assert_ne!(
        old_url.status(),
        StatusCode::OK,
        "bytes of a deleted file were served"
    );
}

#[tokio::test]
async fn an_abandoned_upload_is_expired_by_sweep_and_announced() {
    let app = spawn_stack_with(|config| config.upload_window = chrono::Duration::seconds(1)).await;
    let created = app
        .create_upload("acme", "never-sent.csv", "text/csv", 10)
        .await;
    let id = created["file"]["id"].as_str().unwrap();

    app.wait_for_status("acme", id, "EXPIRED").await;
    app.wait_for_event("Upload Expired", id).await;

    let late = app
        .put_bytes(&created["upload"], b"a,b\n1,2\n34".to_vec())
        .await;
    assert_eq!(
        late.status(),
        StatusCode::FORBIDDEN,
        "an expired upload URL was accepted"
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_get_401_problem_json() {
    let app = spawn_stack().await;
    for token in [None, Some("not-a-token"), Some("a.b.c")] {
        let mut request = app.client.get(app.url("/v1/files"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
}

#[tokio::test]
async fn malformed_json_and_oversized_bodies_get_problem_responses() {
    let app = spawn_stack().await;
    let malformed = app
        .client
        .post(app.url("/v1/files"))
        .bearer_auth(app.token("acme"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        malformed.headers()["content-type"],
        "application/problem+json"
    );
    let huge = app
        .client
        .post(app.url("/v1/files"))
        .bearer_auth(app.token("acme"))
        .body(vec![b' '; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
