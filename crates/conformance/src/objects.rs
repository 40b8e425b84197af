//! The object store: streaming, tags, removal and presigned requests.

use std::future::Future;

use airlock_domain::{
    ContentType, FileId, FileName, FileStatus, ObjectKey,
    ports::{
        ChunkStream, ObjectPresigner, ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger,
        StoreError,
    },
};

use crate::{fresh_tenant, now};

/// What a backend's test provides beyond the ports: putting bytes (clients do it
/// through presigned URLs) and reading the status tag back. Cases take the store and
/// its fixture as a pair.
pub trait ObjectFixture {
    /// Stores `bytes` under `key`.
    fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> impl Future<Output = ()>;
    /// The object's status tag.
    fn tag(&self, key: &ObjectKey) -> impl Future<Output = Option<FileStatus>>;
    /// The status tag of the object's quarantined copy.
    fn quarantined_tag(&self, key: &ObjectKey) -> impl Future<Output = Option<FileStatus>>;
}

fn fresh_key() -> ObjectKey {
    ObjectKey::new(fresh_tenant(), FileId::generate())
}

/// The largest chunk a stream may hand over at once; more would defeat streaming.
const MAX_CHUNK: usize = 1024 * 1024;

/// A multi-megabyte object streams back byte for byte, in bounded chunks.
pub async fn a_large_object_streams_back_in_bounded_chunks<S: ObjectReader, F: ObjectFixture>(
    (store, fixture): &(S, F),
) {
    let key = fresh_key();
    let data: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    fixture.put(&key, data.clone()).await;
    let mut stream = store.open(&key).await.expect("open");
    let mut back = Vec::with_capacity(data.len());
    while let Some(chunk) = stream.next_chunk().await.expect("chunk") {
        assert!(chunk.len() <= MAX_CHUNK, "a chunk of {} bytes", chunk.len());
        back.extend_from_slice(&chunk);
    }
    assert!(back == data, "streamed bytes differ");
}

/// Opening a missing object is not found.
pub async fn opening_a_missing_object_is_not_found<S: ObjectReader, F>((store, _): &(S, F)) {
    let result = store.open(&fresh_key()).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))));
}

/// A status tag is set, replaced, and setting it again changes nothing.
pub async fn tagging_sets_the_status_and_is_repeatable<S: ObjectTagger, F: ObjectFixture>(
    (store, fixture): &(S, F),
) {
    let key = fresh_key();
    fixture.put(&key, b"abc".to_vec()).await;
    store
        .tag_status(&key, FileStatus::Clean)
        .await
        .expect("tag");
    store
        .tag_status(&key, FileStatus::Clean)
        .await
        .expect("tag again");
    assert_eq!(fixture.tag(&key).await, Some(FileStatus::Clean));
}

/// Tagging a missing object is not found.
pub async fn tagging_a_missing_object_is_not_found<S: ObjectTagger, F>((store, _): &(S, F)) {
    let result = store.tag_status(&fresh_key(), FileStatus::Clean).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
}

/// Removal removes, and removing again is fine.
pub async fn removal_is_idempotent<S: ObjectReader + ObjectRemover, F: ObjectFixture>(
    (store, fixture): &(S, F),
) {
    let key = fresh_key();
    fixture.put(&key, b"abc".to_vec()).await;
    store.remove(&key).await.expect("remove");
    store.remove(&key).await.expect("remove again");
    assert!(matches!(
        store.open(&key).await,
        Err(StoreError::NotFound(_))
    ));
}

/// A presigned upload is a PUT that names the headers it was signed with.
pub async fn a_presigned_upload_names_its_signed_headers<S: ObjectPresigner, F>(
    (store, _): &(S, F),
) {
    let key = fresh_key();
    let expires_at = now() + chrono::Duration::minutes(5);
    let ct = ContentType::parse("image/png").expect("type");
    let signed = store
        .presign_upload(&key, &ct, 1234, expires_at)
        .await
        .expect("presign");
    assert_eq!(signed.method, "PUT");
    assert!(
        signed.url.contains(&key.file_id().to_string()),
        "{}",
        signed.url
    );
    assert_eq!(
        signed.headers.get("content-type").map(String::as_str),
        Some("image/png")
    );
    assert_eq!(
        signed.headers.get("content-length").map(String::as_str),
        Some("1234")
    );
    assert_eq!(
        signed.headers.get("if-none-match").map(String::as_str),
        Some("*")
    );
    assert_eq!(signed.expires_at, expires_at);
    let name = FileName::parse("report.pdf").expect("name");
    let download = store
        .presign_download(&key, &name, expires_at)
        .await
        .expect("presign");
    assert_eq!(download.method, "GET");
    assert_ne!(download.url, signed.url);
}

/// Quarantine moves an object out of the upload prefix (reads of the upload key find
/// nothing), moving it again succeeds (a retry after a crash), and removing the file
/// removes the quarantined copy too (after which there is nothing left to move).
pub async fn a_quarantined_object_leaves_the_upload_prefix_and_removal_takes_it<S, F>(
    (store, fixture): &(S, F),
) where
    S: ObjectReader + ObjectTagger + ObjectQuarantine + ObjectRemover,
    F: ObjectFixture,
{
    let key = fresh_key();
    fixture.put(&key, b"X5O-like bytes".to_vec()).await;
    store
        .tag_status(&key, FileStatus::Infected)
        .await
        .expect("tag");

    store.quarantine(&key).await.expect("quarantine");

    assert!(matches!(
        store.open(&key).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .quarantine(&key)
        .await
        .expect("a second move finds it moved");
    store.remove(&key).await.expect("remove");
    assert!(matches!(
        store.quarantine(&key).await,
        Err(StoreError::NotFound(_))
    ));
}

/// The quarantined copy is tagged INFECTED whatever tag the upload has when it is
/// moved (the copy replaces the tags rather than copying them): an upload whose
/// INFECTED tag had not landed, or was overwritten, is never quarantined CLEAN.
pub async fn a_quarantined_copy_is_tagged_infected_whatever_the_upload_was_tagged<S, F>(
    (store, fixture): &(S, F),
) where
    S: ObjectTagger + ObjectQuarantine,
    F: ObjectFixture,
{
    let key = fresh_key();
    fixture
        .put(&key, b"bytes a newer rule matches".to_vec())
        .await;
    store
        .tag_status(&key, FileStatus::Clean)
        .await
        .expect("tag");

    store.quarantine(&key).await.expect("quarantine");

    assert_eq!(
        fixture.quarantined_tag(&key).await,
        Some(FileStatus::Infected)
    );
}

/// Expands every object-store case into a test for one backend.
#[macro_export]
macro_rules! object_tests {
    ($store:expr) => {
        $crate::cases!(objects, $store;
            a_large_object_streams_back_in_bounded_chunks,
            opening_a_missing_object_is_not_found,
            tagging_sets_the_status_and_is_repeatable,
            tagging_a_missing_object_is_not_found,
            removal_is_idempotent,
            a_presigned_upload_names_its_signed_headers,
            a_quarantined_object_leaves_the_upload_prefix_and_removal_takes_it,
            a_quarantined_copy_is_tagged_infected_whatever_the_upload_was_tagged,
        );
    };
}
