//! Presigned upload URLs are checked like S3 checks them.

use airlock_testkit::{http, samples::PNG};
use reqwest::StatusCode;

use crate::helpers::{spawn_stack, spawn_stack_with};

#[tokio::test]
async fn a_presigned_put_with_another_type_or_length_is_refused() {
    let app = spawn_stack().await;
    let created = app.create_png_upload("pixel.png").await;
    let url = created["upload"]["url"].as_str().unwrap();

    let wrong_type = app
        .client
        .put(url)
        .header("content-type", "text/plain")
        .header("if-none-match", "*")
        .body(PNG.to_vec())
        .send()
        .await
        .unwrap();
    let wrong_length = app
        .client
        .put(url)
        .header("content-type", "image/png")
        .header("if-none-match", "*")
        .body([PNG, b"extra"].concat())
        .send()
        .await
        .unwrap();

    assert_eq!(wrong_type.status(), StatusCode::FORBIDDEN);
    assert_eq!(wrong_length.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_presigned_put_for_one_key_cannot_write_another() {
    let app = spawn_stack().await;
    let mine = app.create_png_upload("a.png").await;
    let other = app.create_png_upload("b.png").await;
    let my_url = mine["upload"]["url"].as_str().unwrap();
    let other_id = other["file"]["id"].as_str().unwrap();
    let my_id = mine["file"]["id"].as_str().unwrap();
    let mut forged = other["upload"].clone();
    forged["url"] = my_url.replace(my_id, other_id).into();

    let response = app.put_bytes(&forged, PNG.to_vec()).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_replayed_presigned_put_cannot_replace_verified_bytes() {
    let app = spawn_stack().await;
    let created = app.create_png_upload("pixel.png").await;
    let id = created["file"]["id"].as_str().unwrap();
    let sent = app.put_bytes(&created["upload"], PNG.to_vec()).await;
    assert_eq!(sent.status(), StatusCode::OK);
    app.wait_for_status("acme", id, "CLEAN").await;

    let mut swapped = PNG.to_vec();
    swapped[PNG.len() - 1] ^= 0xff;
    let replay = app.put_bytes(&created["upload"], swapped).await;

    assert_eq!(replay.status(), StatusCode::PRECONDITION_FAILED);
    let (_, download) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    let bytes = http::get_bytes(&app.client, download["url"].as_str().unwrap()).await;
    assert_eq!(bytes, PNG);
}

#[tokio::test]
async fn a_presigned_put_after_its_expiry_is_refused() {
    let app = spawn_stack_with(|config| config.presign_ttl = chrono::Duration::seconds(1)).await;
    let created = app.create_png_upload("pixel.png").await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let response = app.put_bytes(&created["upload"], PNG.to_vec()).await;

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.text().await.unwrap().contains("expired"));
}
