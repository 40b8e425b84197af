//! The object store's own tests: presigned URLs, atomic writes, tags and removal.

use std::path::Path;

use airlock_domain::{
    ContentType, FileStatus, ObjectKey, Timestamp,
    ports::{
        ChunkStream, ObjectPresigner, ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger,
        StoreError, UploadToSign,
    },
};

use super::{FsObjectStore, presign::*};
use crate::{GrantError, LocalError};
use airlock_domain::{FileId, TenantId};

fn store(dir: &Path) -> FsObjectStore {
    FsObjectStore::new(dir, "http://127.0.0.1:1", b"secret".to_vec())
}

fn key() -> ObjectKey {
    ObjectKey::new(TenantId::parse("acme").unwrap(), FileId::generate())
}

fn now() -> Timestamp {
    chrono::Utc::now()
}

fn split(url: &str) -> (String, String) {
    let rest = url.split_once("/objects/").unwrap().1;
    let (key, query) = rest.split_once('?').unwrap();
    (key.to_owned(), query.to_owned())
}

/// A presigned PUT of 12 bytes of `content_type`, valid for five minutes.
async fn upload_of_12_bytes(
    store: &FsObjectStore,
    content_type: &str,
) -> airlock_domain::ports::PresignedRequest {
    let ct = ContentType::parse(content_type).unwrap();
    let upload = UploadToSign {
        key: &key(),
        content_type: &ct,
        size: 12,
    };
    store
        .presign_upload(upload, now() + chrono::Duration::minutes(5))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_presigned_upload_verifies_with_its_exact_length_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let signed = upload_of_12_bytes(&store, "image/svg+xml").await;
    let (key, query) = split(&signed.url);
    let grant = store.verify("PUT", &key, &query, now()).unwrap();
    assert_eq!(
        grant,
        Grant::Upload {
            key,
            length: 12,
            content_type: "image/svg+xml".into()
        }
    );
}

#[tokio::test]
async fn a_presigned_url_is_refused_after_expiry_or_with_anything_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let signed = upload_of_12_bytes(&store, "text/plain").await;
    let (key, query) = split(&signed.url);
    let later = now() + chrono::Duration::minutes(6);
    assert_eq!(
        store.verify("PUT", &key, &query, later),
        Err(GrantError::Expired)
    );
    let other_key = key.replace("acme", "evil");
    assert_eq!(
        store.verify("PUT", &other_key, &query, now()),
        Err(GrantError::BadSignature)
    );
    let longer = query.replace("X-Airlock-Length=12", "X-Airlock-Length=13");
    assert_eq!(
        store.verify("PUT", &key, &longer, now()),
        Err(GrantError::BadSignature)
    );
    assert_eq!(
        store.verify("GET", &key, &query, now()),
        Err(GrantError::Malformed(FILENAME))
    );
    let unsigned = query.split("&X-Airlock-Signature").next().unwrap();
    assert_eq!(
        store.verify("PUT", &key, unsigned, now()),
        Err(GrantError::Malformed(SIGNATURE))
    );
}

#[tokio::test]
async fn a_write_commits_only_with_exactly_the_expected_length_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let key = key();
    let mut short = store.begin_write(&key.to_string(), 5).await.unwrap();
    short.write(b"abc").await.unwrap();
    assert!(short.commit().await.is_err());
    let mut long = store.begin_write(&key.to_string(), 2).await.unwrap();
    assert!(long.write(b"abc").await.is_err());
    drop(long);
    assert!(!store.exists(&key).await);
    let mut exact = store.begin_write(&key.to_string(), 3).await.unwrap();
    exact.write(b"abc").await.unwrap();
    exact.commit().await.unwrap();
    let mut chunks = store.open(&key, None).await.unwrap();
    assert_eq!(chunks.next_chunk().await.unwrap().unwrap(), b"abc");
    assert_eq!(chunks.next_chunk().await.unwrap(), None);
    let mut again = store.begin_write(&key.to_string(), 3).await.unwrap();
    again.write(b"xyz").await.unwrap();
    assert!(matches!(
        again.commit().await,
        Err(LocalError::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists
    ));
    let mut chunks = store.open(&key, None).await.unwrap();
    assert_eq!(
        chunks.next_chunk().await.unwrap().unwrap(),
        b"abc",
        "never overwritten"
    );
    let leftovers = std::fs::read_dir(dir.path().join("incoming"))
        .unwrap()
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn tags_are_kept_and_removal_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let key = key();
    assert!(matches!(
        store.tag_status(&key, None, FileStatus::Clean).await,
        Err(StoreError::NotFound(_))
    ));
    let mut w = store.begin_write(&key.to_string(), 1).await.unwrap();
    w.write(b"x").await.unwrap();
    w.commit().await.unwrap();
    store
        .tag_status(&key, None, FileStatus::Clean)
        .await
        .unwrap();
    assert_eq!(
        store.status_tag(&key.to_string()).await.unwrap(),
        Some(FileStatus::Clean)
    );
    store.remove(&key).await.unwrap();
    store.remove(&key).await.unwrap();
    assert!(matches!(
        store.open(&key, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.status_tag(&key.to_string()).await.unwrap(), None);
}

#[tokio::test]
async fn quarantine_moves_object_and_tag_out_of_the_upload_prefix_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let key = key();
    store.put_bytes(&key, b"bad").await.unwrap();
    store
        .tag_status(&key, None, FileStatus::Infected)
        .await
        .unwrap();

    store.quarantine(&key).await.unwrap();

    assert!(!store.exists(&key).await);
    assert!(matches!(
        store.open(&key, None).await,
        Err(StoreError::NotFound(_))
    ));
    let moved = key.quarantined();
    assert_eq!(std::fs::read(store.object_path(&moved)).unwrap(), b"bad");
    assert_eq!(
        store.status_tag(&moved).await.unwrap(),
        Some(FileStatus::Infected)
    );
    assert_eq!(store.status_tag(&key.to_string()).await.unwrap(), None);
    store.quarantine(&key).await.unwrap();
    store.remove(&key).await.unwrap();
    assert!(!store.object_path(&moved).exists());
    assert!(matches!(
        store.quarantine(&key).await,
        Err(StoreError::NotFound(_))
    ));
}
