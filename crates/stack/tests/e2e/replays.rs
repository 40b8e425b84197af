//! A presigned PUT is valid for its whole lifetime (15 minutes), and `if-none-match: *`
//! only protects a key that holds an object. Replayed once the object is gone (the
//! file deleted, or an INFECTED one moved to quarantine), the PUT succeeds: ingest
//! must then remove those bytes, and never let them replace the kept sample.

use std::time::Duration;

use airlock_testkit::samples::{PNG, eicar};
use reqwest::StatusCode;

use crate::helpers::{TestStack, spawn_stack};

impl TestStack {
    fn object_path(&self, key: &str) -> std::path::PathBuf {
        self.stack.data_dir.join("bucket/objects").join(key)
    }

    /// Waits until nothing is stored under `key`.
    async fn wait_until_gone(&self, key: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while self.object_path(key).exists() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{key} is still stored"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_presigned_put_replayed_after_deletion_leaves_no_bytes_behind() {
    let app = spawn_stack().await;
    let created = app.create_png_upload("pixel.png").await;
    let id = created["file"]["id"].as_str().unwrap();
    let key = format!("uploads/acme/{id}");
    let sent = app.put_bytes(&created["upload"], PNG.to_vec()).await;
    assert_eq!(sent.status(), StatusCode::OK);
    app.wait_for_status("acme", id, "CLEAN").await;
    let (deleted, _) = app
        .call(reqwest::Method::DELETE, "acme", &format!("/v1/files/{id}"))
        .await;
    assert_eq!(deleted, StatusCode::NO_CONTENT);
    assert!(!app.object_path(&key).exists());

    let replay = app.put_bytes(&created["upload"], PNG.to_vec()).await;

    // The store takes it (nothing is under the key), and ingest removes it.
    assert_eq!(replay.status(), StatusCode::OK);
    app.wait_until_gone(&key).await;
    let (_, file) = app.get("acme", &format!("/v1/files/{id}")).await;
    assert_eq!(file["status"], "DELETED");
}

#[tokio::test]
async fn an_infected_upload_replayed_after_quarantine_never_replaces_the_kept_sample() {
    let app = spawn_stack().await;
    let sample = eicar();
    let created = app
        .create_upload("acme", "eicar.txt", "text/plain", sample.len())
        .await;
    let id = created["file"]["id"].as_str().unwrap();
    let (key, quarantined) = (
        format!("uploads/acme/{id}"),
        format!("quarantine/acme/{id}"),
    );
    let sent = app.put_bytes(&created["upload"], sample.clone()).await;
    assert_eq!(sent.status(), StatusCode::OK);
    app.wait_for_status("acme", id, "INFECTED").await;
    app.wait_until_gone(&key).await;
    assert_eq!(
        std::fs::read(app.object_path(&quarantined)).unwrap(),
        sample
    );

    let other = vec![b'a'; sample.len()];
    let replay = app.put_bytes(&created["upload"], other).await;

    assert_eq!(replay.status(), StatusCode::OK);
    app.wait_until_gone(&key).await;
    assert_eq!(
        std::fs::read(app.object_path(&quarantined)).unwrap(),
        sample,
        "the kept sample was replaced"
    );
}
