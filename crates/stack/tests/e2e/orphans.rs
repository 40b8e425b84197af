//! Bytes nothing else removes are sweep's to reconcile: a presigned PUT replayed
//! after the file was deleted, whose notification never reached ingest, is gone
//! after one sweep, and the file stays DELETED.

use std::time::Duration;

use airlock_testkit::samples::PNG;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestStack, spawn_stack};

/// The schedule of the restarted stacks: only the run at start-up falls in a test.
const ONE_RUN: Duration = Duration::from_secs(3600);

impl TestStack {
    /// Every file the bucket keeps for `key`: bytes, tags, stored headers.
    fn kept_for(&self, key: &str) -> Vec<std::path::PathBuf> {
        ["objects", "tags", "headers", "scan-tags"]
            .iter()
            .map(|folder| self.stack.data_dir.join("bucket").join(folder).join(key))
            .filter(|path| path.exists())
            .collect()
    }

    /// `upload` (handed out by another stack) pointed at this one.
    fn moved_here(&self, upload: &Value, from: &str) -> Value {
        let mut upload = upload.clone();
        let url = upload["url"]
            .as_str()
            .unwrap()
            .replacen(from, &self.stack.base_url(), 1);
        upload["url"] = Value::String(url);
        upload
    }
}

#[tokio::test]
async fn a_put_replayed_after_delete_that_ingest_never_saw_is_gone_after_one_sweep() {
    // Arrange: a CLEAN file, deleted by its owner.
    let first = spawn_stack().await;
    let created = first.create_png_upload("pixel.png").await;
    let id = created["file"]["id"].as_str().unwrap().to_owned();
    let key = format!("uploads/acme/{id}");
    let sent = first.put_bytes(&created["upload"], PNG.to_vec()).await;
    assert_eq!(sent.status(), StatusCode::OK);
    first.wait_for_status("acme", &id, "CLEAN").await;
    let (deleted, _) = first
        .call(reqwest::Method::DELETE, "acme", &format!("/v1/files/{id}"))
        .await;
    assert_eq!(deleted, StatusCode::NO_CONTENT);
    let first_url = first.stack.base_url();

    // The URL replayed on a stack whose ingest never hears of single PUTs.
    let lossy = first
        .restart_with(|config| {
            config.lose_put_notifications = true;
            config.sweep_every = ONE_RUN;
        })
        .await;
    let replay = lossy
        .put_bytes(
            &lossy.moved_here(&created["upload"], &first_url),
            PNG.to_vec(),
        )
        .await;
    assert_eq!(replay.status(), StatusCode::OK, "the replay was refused");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !lossy.kept_for(&key).is_empty(),
        "the replayed bytes were removed before any sweep reconciled"
    );

    // Act: one sweep, the one a start runs at once, with no grace for retired files.
    let swept = lossy
        .restart_with(|config| {
            config.lose_put_notifications = true;
            config.sweep_every = ONE_RUN;
            config.retired_grace = chrono::Duration::zero();
        })
        .await;

    // Assert: nothing is left of the key, and the record is still DELETED.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !swept.kept_for(&key).is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still kept after the sweep: {:?}",
            swept.kept_for(&key)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, file) = swept.get("acme", &format!("/v1/files/{id}")).await;
    assert_eq!(file["status"], "DELETED");
}
