//! Multipart uploads: parts sent on their presigned URLs join into the object in
//! number order; completion is repeatable, abort discards, and the store refuses a
//! damaged part and a completion S3 would refuse.

use std::future::Future;

use airlock_domain::{
    ContentType, Sha256Hex, StoredPart,
    ports::{ChunkStream, ObjectMultipart, ObjectReader, PartToSign, PresignedRequest, StoreError},
};
use sha2::{Digest, Sha256};

use crate::{
    now,
    objects::{fresh_key, signed_headers},
};

/// A store that takes multipart uploads and reads back what they made.
pub trait MultipartStore: ObjectMultipart + ObjectReader {}
impl<T: ObjectMultipart + ObjectReader> MultipartStore for T {}

/// What a backend's test provides beyond the ports: sending a part on its presigned
/// URL, as a client does.
pub trait PartFixture {
    /// PUTs `bytes` with the request's headers; the HTTP status the store answered.
    fn put_part(&self, signed: &PresignedRequest, bytes: Vec<u8>) -> impl Future<Output = u16>;
}

const MIB: usize = 1024 * 1024;

fn digest(bytes: &[u8]) -> Sha256Hex {
    Sha256Hex::parse(&hex::encode(Sha256::digest(bytes))).expect("a digest is 64 hex digits")
}

/// A new upload of a CSV file under a fresh key.
async fn start<S: ObjectMultipart>(store: &S) -> (airlock_domain::ObjectKey, String) {
    let key = fresh_key();
    let ct = ContentType::parse("text/csv").expect("type");
    let upload_id = store.start_multipart(&key, &ct).await.expect("start");
    (key, upload_id)
}

/// A presigned PUT of part `number`, `length` bytes hashing to `sha256`.
async fn sign<S: ObjectMultipart>(
    store: &S,
    (key, upload_id): &(airlock_domain::ObjectKey, String),
    number: u32,
    length: u64,
    sha256: &Sha256Hex,
) -> PresignedRequest {
    let part = PartToSign {
        key,
        upload_id,
        number,
        length,
        sha256,
    };
    store
        .presign_part(part, now() + chrono::Duration::minutes(5))
        .await
        .expect("presign a part")
}

/// Presigns part `number` for `bytes` and sends it; the status.
async fn send_part<S: ObjectMultipart, F: PartFixture>(
    (store, fixture): &(S, F),
    upload: &(airlock_domain::ObjectKey, String),
    number: u32,
    bytes: &[u8],
) -> u16 {
    let signed = sign(store, upload, number, bytes.len() as u64, &digest(bytes)).await;
    fixture.put_part(&signed, bytes.to_vec()).await
}

fn patterned(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// Parts sent out of order join in number order; the list shows each part's size
/// and, where the store keeps it, its checked SHA-256.
pub async fn parts_join_into_the_object_in_number_order<S: MultipartStore, F: PartFixture>(
    subject: &(S, F),
) {
    let store = &subject.0;
    let upload = start(store).await;
    let (key, upload_id) = &upload;
    let parts = [
        patterned(5 * MIB, 1),
        patterned(5 * MIB, 2),
        patterned(1000, 3),
    ];
    for number in [3, 1, 2] {
        let bytes = &parts[number as usize - 1];
        assert_eq!(
            send_part(subject, &upload, number, bytes).await,
            200,
            "part {number}"
        );
    }

    let listed = store.list_parts(key, upload_id).await.expect("list");

    let numbers: Vec<_> = listed.iter().map(|p| (p.number, p.size)).collect();
    assert_eq!(
        numbers,
        [(1, 5 * MIB as u64), (2, 5 * MIB as u64), (3, 1000)]
    );
    for part in &listed {
        if let Some(sha256) = &part.sha256 {
            assert_eq!(*sha256, digest(&parts[part.number as usize - 1]));
        }
    }
    store
        .complete_multipart(key, upload_id, &listed)
        .await
        .expect("complete");
    let mut stream = store.open(key, None).await.expect("open");
    assert_eq!(stream.stored().content_type.as_deref(), Some("text/csv"));
    let mut back = Vec::new();
    while let Some(chunk) = stream.next_chunk().await.expect("chunk") {
        back.extend_from_slice(&chunk);
    }
    assert!(back == parts.concat(), "joined bytes differ");
}

/// A part URL is signed for the part's length and SHA-256 (`x-amz-checksum-sha256`).
pub async fn a_part_url_signs_its_length_and_checksum<S: ObjectMultipart, F>((store, _): &(S, F)) {
    let upload = start(store).await;
    let sha256 = digest(b"x");

    let signed = sign(store, &upload, 2, 1, &sha256).await;

    let covered = signed_headers(&signed.url);
    for header in ["content-length", "x-amz-checksum-sha256"] {
        assert!(
            covered.iter().any(|h| h == header),
            "{header} is not signed: {covered:?}"
        );
    }
    assert_eq!(
        signed.headers.get(PresignedRequest::CHECKSUM_HEADER),
        Some(&sha256.to_base64())
    );
    assert_eq!(
        signed.headers.get("content-length").map(String::as_str),
        Some("1")
    );
}

/// Completing again succeeds (a retry after a lost answer); an aborted upload is
/// gone, and aborting it again succeeds.
pub async fn completion_repeats_and_abort_discards<S: MultipartStore, F: PartFixture>(
    subject: &(S, F),
) {
    let store = &subject.0;
    let upload = start(store).await;
    let (key, upload_id) = &upload;
    assert_eq!(send_part(subject, &upload, 1, b"only part").await, 200);
    let listed = store.list_parts(key, upload_id).await.expect("list");
    store
        .complete_multipart(key, upload_id, &listed)
        .await
        .expect("complete");

    let again = store.complete_multipart(key, upload_id, &listed).await;

    assert!(again.is_ok(), "{again:?}");
    let abandoned = start(store).await;
    let (key, upload_id) = &abandoned;
    assert_eq!(send_part(subject, &abandoned, 1, b"partial").await, 200);
    store.abort_multipart(key, upload_id).await.expect("abort");
    let gone = |result: Result<(), StoreError>| matches!(result, Err(StoreError::NotFound(_)));
    assert!(matches!(
        store.list_parts(key, upload_id).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .abort_multipart(key, upload_id)
        .await
        .expect("abort again");
    assert!(gone(store.complete_multipart(key, upload_id, &[]).await));
    assert!(matches!(
        store.open(key, None).await,
        Err(StoreError::NotFound(_))
    ));
}

/// A part whose bytes do not hash to its signed SHA-256 is refused and not kept.
pub async fn a_damaged_part_is_refused<S: ObjectMultipart, F: PartFixture>(
    (store, fixture): &(S, F),
) {
    let upload = start(store).await;
    let signed = sign(store, &upload, 1, 16, &digest(b"the bytes signed")).await;

    let status = fixture
        .put_part(&signed, b"the bytes sent!!".to_vec())
        .await;

    assert_eq!(status, 400, "a damaged part was accepted");
    let (key, upload_id) = &upload;
    let listed = store.list_parts(key, upload_id).await.expect("list");
    assert_eq!(listed, Vec::<StoredPart>::new());
}

/// A completion S3 refuses (a part but the last under 5 MiB) is refused, and the
/// upload stays to be fixed.
pub async fn a_completion_with_a_small_middle_part_is_refused<S: MultipartStore, F: PartFixture>(
    subject: &(S, F),
) {
    let store = &subject.0;
    let upload = start(store).await;
    let (key, upload_id) = &upload;
    for number in [1, 2] {
        assert_eq!(send_part(subject, &upload, number, b"tiny").await, 200);
    }
    let listed = store.list_parts(key, upload_id).await.expect("list");

    let result = store.complete_multipart(key, upload_id, &listed).await;

    assert!(matches!(result, Err(StoreError::Refused(_))), "{result:?}");
    let still = store.list_parts(key, upload_id).await.expect("still there");
    assert_eq!(still.len(), 2);
}

/// Expands every multipart case into a test for one backend.
#[macro_export]
macro_rules! multipart_tests {
    ($store:expr) => {
        $crate::cases!(multipart, $store;
            parts_join_into_the_object_in_number_order,
            a_part_url_signs_its_length_and_checksum,
            completion_repeats_and_abort_discards,
            a_damaged_part_is_refused,
            a_completion_with_a_small_middle_part_is_refused,
        );
    };
}
