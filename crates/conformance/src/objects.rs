//! The object store: streaming, tags, removal and presigned requests.

use std::future::Future;

use airlock_domain::{
    ContentType, FileId, FileName, FileStatus, ObjectKey,
    ports::{
        ChunkStream, ObjectPresigner, ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger,
        StoreError, UploadToSign,
    },
};

use crate::{fresh_tenant, now};

/// What a backend's test provides beyond the ports: putting bytes (clients do it
/// through presigned URLs) and reading the status tag back. Cases take the store and
/// its fixture as a pair.
pub trait ObjectFixture {
    /// Stores `bytes` under `key`.
    fn put(&self, key: &ObjectKey, bytes: Vec<u8>) -> impl Future<Output = ()>;
    /// Stores `bytes` under `key` with these headers, as a client's PUT may carry
    /// them whether they were signed or not.
    fn put_with_headers(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
        content_encoding: &str,
    ) -> impl Future<Output = ()>;
    /// The object's status tag.
    fn tag(&self, key: &ObjectKey) -> impl Future<Output = Option<FileStatus>>;
    /// The status tag of the object's quarantined copy.
    fn quarantined_tag(&self, key: &ObjectKey) -> impl Future<Output = Option<FileStatus>>;
}

pub(crate) fn fresh_key() -> ObjectKey {
    ObjectKey::new(fresh_tenant(), FileId::generate())
}

/// The largest chunk a stream may hand over at once; more would defeat streaming.
const MAX_CHUNK: usize = 1024 * 1024;

/// A store that quarantines, reads back and removes what it holds.
pub trait Quarantining: ObjectReader + ObjectTagger + ObjectQuarantine + ObjectRemover {}
impl<T: ObjectReader + ObjectTagger + ObjectQuarantine + ObjectRemover> Quarantining for T {}

/// A fresh key holding `bytes`, tagged `status`.
async fn stored_and_tagged<S: ObjectTagger, F: ObjectFixture>(
    store: &S,
    fixture: &F,
    bytes: Vec<u8>,
    status: FileStatus,
) -> ObjectKey {
    let key = fresh_key();
    fixture.put(&key, bytes).await;
    store.tag_status(&key, None, status).await.expect("tag");
    key
}

/// A fresh key holding `bytes`, tagged INFECTED, as ingest leaves a file it
/// quarantines.
async fn infected<S: ObjectTagger, F: ObjectFixture>(
    store: &S,
    fixture: &F,
    bytes: &[u8],
) -> ObjectKey {
    stored_and_tagged(store, fixture, bytes.to_vec(), FileStatus::Infected).await
}

/// A multi-megabyte object streams back byte for byte, in bounded chunks.
pub async fn a_large_object_streams_back_in_bounded_chunks<S: ObjectReader, F: ObjectFixture>(
    (store, fixture): &(S, F),
) {
    let key = fresh_key();
    let data: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    fixture.put(&key, data.clone()).await;
    let mut stream = store.open(&key, None).await.expect("open");
    let mut back = Vec::with_capacity(data.len());
    while let Some(chunk) = stream.next_chunk().await.expect("chunk") {
        assert!(chunk.len() <= MAX_CHUNK, "a chunk of {} bytes", chunk.len());
        back.extend_from_slice(&chunk);
    }
    assert!(back == data, "streamed bytes differ");
}

/// An object opened at an offset streams from exactly that byte to its end, and an
/// offset past its end is refused, not read as an empty tail.
pub async fn an_object_opened_at_an_offset_streams_from_that_byte<
    S: ObjectReader,
    F: ObjectFixture,
>(
    (store, fixture): &(S, F),
) {
    let key = fresh_key();
    let data: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    fixture.put(&key, data.clone()).await;
    let offset = 1024 * 1024 + 7;
    let mut stream = store.open_at(&key, None, offset).await.expect("open");
    let mut back = Vec::new();
    while let Some(chunk) = stream.next_chunk().await.expect("chunk") {
        back.extend_from_slice(&chunk);
    }
    assert!(back == data[offset as usize..], "{} bytes back", back.len());
    let past = store.open_at(&key, None, data.len() as u64 + 1).await;
    assert!(
        matches!(past, Err(StoreError::Refused(_))),
        "{:?}",
        past.err()
    );
}

/// Opening a missing object is not found.
pub async fn opening_a_missing_object_is_not_found<S: ObjectReader, F>((store, _): &(S, F)) {
    let result = store.open(&fresh_key(), None).await;
    assert!(matches!(result, Err(StoreError::NotFound(_))));
}

/// A status tag is set, replaced, and setting it again changes nothing.
pub async fn tagging_sets_the_status_and_is_repeatable<S: ObjectTagger, F: ObjectFixture>(
    (store, fixture): &(S, F),
) {
    let key = stored_and_tagged(store, fixture, b"abc".to_vec(), FileStatus::Clean).await;
    store
        .tag_status(&key, None, FileStatus::Clean)
        .await
        .expect("tag again");
    assert_eq!(fixture.tag(&key).await, Some(FileStatus::Clean));
}

/// Tagging a missing object is not found.
pub async fn tagging_a_missing_object_is_not_found<S: ObjectTagger, F>((store, _): &(S, F)) {
    let result = store
        .tag_status(&fresh_key(), None, FileStatus::Clean)
        .await;
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
        store.open(&key, None).await,
        Err(StoreError::NotFound(_))
    ));
}

/// The headers a URL's signature covers, from its `X-Amz-SignedHeaders` (S3) or
/// `X-Airlock-SignedHeaders` (the local store) parameter: what the signer committed
/// to, not a map the adapter fills in for the client.
pub(crate) fn signed_headers(url: &str) -> Vec<String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    let value = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.ends_with("-SignedHeaders"))
        .map(|(_, value)| value)
        .unwrap_or_else(|| panic!("no SignedHeaders parameter in {url}"));
    let decoded = percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .expect("utf-8");
    decoded.split(';').map(str::to_owned).collect()
}

/// The value of query parameter `name` in `url`, decoded.
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?').map(|(_, q)| q)?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .and_then(|(_, value)| {
            percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .ok()
                .map(|v| v.into_owned())
        })
}

/// A presigned upload's signature covers its type, length and `if-none-match`, so
/// none can be changed or dropped by whoever holds the URL.
pub async fn a_presigned_upload_signs_type_length_and_if_none_match<S: ObjectPresigner, F>(
    (store, _): &(S, F),
) {
    let key = fresh_key();
    let expires_at = now() + chrono::Duration::minutes(5);
    let ct = ContentType::parse("image/png").expect("type");
    let signed = store
        .presign_upload(
            UploadToSign {
                key: &key,
                content_type: &ct,
                size: 1234,
            },
            expires_at,
        )
        .await
        .expect("presign");
    assert_eq!(signed.method, "PUT");
    assert!(
        signed.url.contains(&key.file_id().to_string()),
        "{}",
        signed.url
    );
    let covered = signed_headers(&signed.url);
    for header in ["content-length", "content-type", "if-none-match"] {
        assert!(
            covered.iter().any(|h| h == header),
            "{header} is not signed: {covered:?}"
        );
    }
    assert_eq!(
        signed.headers.get("content-type").map(String::as_str),
        Some("image/png")
    );
    assert_eq!(signed.expires_at, expires_at);
}

/// A presigned download answers with the verified type, no encoding and an
/// attachment, whatever headers the object was stored with: the URL carries the
/// `response-*` overrides.
pub async fn a_presigned_download_overrides_type_encoding_and_disposition<S: ObjectPresigner, F>(
    (store, _): &(S, F),
) {
    let key = fresh_key();
    let expires_at = now() + chrono::Duration::minutes(5);
    let name = FileName::parse("report.pdf").expect("name");
    let ct = ContentType::parse("application/pdf").expect("type");
    let download = store
        .presign_download(&key, None, &name, &ct, expires_at)
        .await
        .expect("presign");
    assert_eq!(download.method, "GET");
    let url = &download.url;
    assert_eq!(
        query_param(url, "response-content-encoding").as_deref(),
        Some("identity"),
        "{url}"
    );
    assert_eq!(
        query_param(url, "response-content-type").as_deref(),
        Some("application/pdf"),
        "{url}"
    );
    let disposition = query_param(url, "response-content-disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains("filename*=UTF-8''report.pdf"),
        "{disposition}"
    );
}

/// Opening an object tells the headers it was stored with, from the same answer
/// as its bytes, so ingest can refuse headers nobody signed.
pub async fn an_object_opens_with_the_headers_it_was_stored_with<
    S: ObjectReader,
    F: ObjectFixture,
>(
    (store, fixture): &(S, F),
) {
    let key = fresh_key();
    fixture
        .put_with_headers(&key, b"compressed?".to_vec(), "image/png", "br")
        .await;
    let stream = store.open(&key, None).await.expect("open");
    let stored = stream.stored();
    assert_eq!(stored.content_encoding.as_deref(), Some("br"));
    assert_eq!(stored.content_type.as_deref(), Some("image/png"));
}

/// Quarantine moves an object out of the upload prefix (reads of the upload key find
/// nothing), moving it again succeeds (a retry after a crash), and removing the file
/// removes the quarantined copy too (after which there is nothing left to move).
pub async fn a_quarantined_object_leaves_the_upload_prefix_and_removal_takes_it<S, F>(
    (store, fixture): &(S, F),
) where
    S: Quarantining,
    F: ObjectFixture,
{
    let key = infected(store, fixture, b"X5O-like bytes").await;

    store.quarantine(&key).await.expect("quarantine");

    assert!(matches!(
        store.open(&key, None).await,
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
    let key = stored_and_tagged(
        store,
        fixture,
        b"bytes a newer rule matches".to_vec(),
        FileStatus::Clean,
    )
    .await;

    store.quarantine(&key).await.expect("quarantine");

    assert_eq!(
        fixture.quarantined_tag(&key).await,
        Some(FileStatus::Infected)
    );
}

/// Removing the upload alone leaves the quarantined copy where it is, so bytes a
/// replayed PUT stored can go without touching the kept sample.
pub async fn removing_the_upload_alone_keeps_the_quarantined_copy<S, F>((store, fixture): &(S, F))
where
    S: Quarantining,
    F: ObjectFixture,
{
    let key = infected(store, fixture, b"kept sample").await;
    store.quarantine(&key).await.expect("quarantine");
    fixture.put(&key, b"a replay".to_vec()).await;

    store
        .remove_upload(&key, None)
        .await
        .expect("remove the upload");

    assert!(matches!(
        store.open(&key, None).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .quarantine(&key)
        .await
        .expect("the quarantined copy is still there");
}

/// Expands every object-store case into a test for one backend.
#[macro_export]
macro_rules! object_tests {
    ($store:expr) => {
        $crate::cases!(objects, $store;
            a_large_object_streams_back_in_bounded_chunks,
            an_object_opened_at_an_offset_streams_from_that_byte,
            opening_a_missing_object_is_not_found,
            tagging_sets_the_status_and_is_repeatable,
            tagging_a_missing_object_is_not_found,
            removal_is_idempotent,
            a_presigned_upload_signs_type_length_and_if_none_match,
            a_presigned_download_overrides_type_encoding_and_disposition,
            an_object_opens_with_the_headers_it_was_stored_with,
            a_quarantined_object_leaves_the_upload_prefix_and_removal_takes_it,
            a_quarantined_copy_is_tagged_infected_whatever_the_upload_was_tagged,
            removing_the_upload_alone_keeps_the_quarantined_copy,
        );
    };
}
