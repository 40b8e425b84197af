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

/// Presigns part `number` for `bytes` and sends it; the status.
async fn send_part<S: ObjectMultipart, F: PartFixture>(
    (store, fixture): &(S, F),
    key: &airlock_domain::ObjectKey,
    upload_id: &str,
    number: u32,
    bytes: &[u8],
) -> u16 {
    let sha256 = digest(bytes);
    let part = PartToSign {
        upload_id,
        number,
        length: bytes.len() as u64,
        sha256: &sha256,
    };
    let signed = store
        .presign_part(key, part, now() + chrono::Duration::minutes(5))
        .await
        .expect("presign a part");
    fixture.put_part(&signed, bytes.to_vec()).await
}

fn patterned(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// Parts sent out of order join in number order; the list shows each part's size
/// and, where the store keeps it, its checked SHA-256.
pub async fn parts_join_into_the_object_in_number_order<S, F>(subject: &(S, F))
where
    S: ObjectMultipart + ObjectReader,
    F: PartFixture,
{
    let (store, _) = subject;
    let key = fresh_key();
    let ct = ContentType::parse("text/csv").expect("type");
    let upload_id = store.start_multipart(&key, &ct).await.expect("start");
    let parts = [
        patterned(5 * MIB, 1),
        patterned(5 * MIB, 2),
        patterned(1000, 3),
    ];
    for number in [3, 1, 2] {
        let status = send_part(
            subject,
            &key,
            &upload_id,
            number,
            &parts[number as usize - 1],
        )
        .await;
        assert_eq!(status, 200, "part {number}");
    }

    let listed = store.list_parts(&key, &upload_id).await.expect("list");

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
        .complete_multipart(&key, &upload_id, &listed)
        .await
        .expect("complete");
    let mut stream = store.open(&key, None).await.expect("open");
    assert_eq!(stream.stored().content_type.as_deref(), Some("text/csv"));
    let mut back = Vec::new();
    while let Some(chunk) = stream.next_chunk().await.expect("chunk") {
        back.extend_from_slice(&chunk);
    }
    assert!(back == parts.concat(), "joined bytes differ");
}

/// A part URL is signed for the part's length and SHA-256 (`x-amz-checksum-sha256`).
pub async fn a_part_url_signs_its_length_and_checksum<S: ObjectMultipart, F>((store, _): &(S, F)) {
    let key = fresh_key();
    let ct = ContentType::parse("text/csv").expect("type");
    let upload_id = store.start_multipart(&key, &ct).await.expect("start");
    let sha256 = digest(b"x");
    let part = PartToSign {
        upload_id: &upload_id,
        number: 2,
        length: 1,
        sha256: &sha256,
    };

    let signed = store
        .presign_part(&key, part, now() + chrono::Duration::minutes(5))
        .await
        .expect("presign");

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
pub async fn completion_repeats_and_abort_discards<S, F>(subject: &(S, F))
where
    S: ObjectMultipart + ObjectReader,
    F: PartFixture,
{
    let (store, _) = subject;
    let ct = ContentType::parse("text/csv").expect("type");
    let key = fresh_key();
    let upload_id = store.start_multipart(&key, &ct).await.expect("start");
    assert_eq!(
        send_part(subject, &key, &upload_id, 1, b"only part").await,
        200
    );
    let listed = store.list_parts(&key, &upload_id).await.expect("list");
    store
        .complete_multipart(&key, &upload_id, &listed)
        .await
        .expect("complete");

    let again = store.complete_multipart(&key, &upload_id, &listed).await;

    assert!(again.is_ok(), "{again:?}");
    let abandoned = fresh_key();
    let upload_id = store.start_multipart(&abandoned, &ct).await.expect("start");
    assert_eq!(
        send_part(subject, &abandoned, &upload_id, 1, b"partial").await,
        200
    );
    store
        .abort_multipart(&abandoned, &upload_id)
        .await
        .expect("abort");
    assert!(matches!(
        store.list_parts(&abandoned, &upload_id).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .abort_multipart(&abandoned, &upload_id)
        .await
        .expect("abort again");
    assert!(matches!(
        store.complete_multipart(&abandoned, &upload_id, &[]).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.open(&abandoned, None).await,
        Err(StoreError::NotFound(_))
    ));
}

/// A part whose bytes do not hash to its signed SHA-256 is refused and not kept.
pub async fn a_damaged_part_is_refused<S: ObjectMultipart, F: PartFixture>(
    (store, fixture): &(S, F),
) {
    let key = fresh_key();
    let ct = ContentType::parse("text/csv").expect("type");
    let upload_id = store.start_multipart(&key, &ct).await.expect("start");
    let sha256 = digest(b"the bytes signed");
    let part = PartToSign {
        upload_id: &upload_id,
        number: 1,
        length: 16,
        sha256: &sha256,
    };
    let signed = store
        .presign_part(&key, part, now() + chrono::Duration::minutes(5))
        .await
        .expect("presign");

    let status = fixture
        .put_part(&signed, b"the bytes sent!!".to_vec())
        .await;

    assert_eq!(status, 400, "a damaged part was accepted");
    assert_eq!(
        store.list_parts(&key, &upload_id).await.expect("list"),
        Vec::<StoredPart>::new()
    );
}

/// A completion S3 refuses (a part but the last under 5 MiB) is refused, and the
/// upload stays to be fixed.
pub async fn a_completion_with_a_small_middle_part_is_refused<S, F>(subject: &(S, F))
where
    S: ObjectMultipart + ObjectReader,
    F: PartFixture,
{
    let (store, _) = subject;
    let key = fresh_key();
    let ct = ContentType::parse("text/csv").expect("type");
    let upload_id = store.start_multipart(&key, &ct).await.expect("start");
    for number in [1, 2] {
        assert_eq!(
            send_part(subject, &key, &upload_id, number, b"tiny").await,
            200
        );
    }
    let listed = store.list_parts(&key, &upload_id).await.expect("list");

    let result = store.complete_multipart(&key, &upload_id, &listed).await;

    assert!(matches!(result, Err(StoreError::Refused(_))), "{result:?}");
    assert_eq!(
        store
            .list_parts(&key, &upload_id)
            .await
            .expect("still there")
            .len(),
        2
    );
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
