//! Reading an object over several ranged GETs at once, against the emulator
//! `scripts/with-moto.sh` starts: the bytes arrive whole and in order, an empty object
//! reads as empty, and an object replaced while it is read fails the read rather than
//! mixing two objects' bytes. Ranges of 1 MiB stand in for the deployed 8 MiB.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_aws::{S3Store, provision};
use airlock_domain::{
    FileId, ObjectKey, TenantId,
    ports::{ChunkStream, ObjectReader},
};

const MIB: usize = 1024 * 1024;

/// A fresh bucket on the emulator, read in ranges of 1 MiB.
async fn bucket(versioned: bool) -> S3Store {
    let needs = "these tests need the AWS emulator: run `make test`, or `scripts/with-moto.sh cargo nextest run --workspace`";
    assert!(std::env::var("AIRLOCK_TEST_EMULATOR").is_ok(), "{needs}");
    let sdk = airlock_aws::load_sdk_config(airlock_aws::tls::TrustRoots::default()).await;
    let client = airlock_aws::s3_client(&sdk);
    let name = format!("airlock-{}", ulid::Ulid::new().to_string().to_lowercase());
    if versioned {
        provision::create_versioned_bucket(&client, &name)
            .await
            .unwrap();
    } else {
        provision::create_bucket(&client, &name).await.unwrap();
    }
    S3Store::new(client, name).with_read_range(MIB as u64)
}

fn key() -> ObjectKey {
    ObjectKey::new(TenantId::parse("acme").unwrap(), FileId::generate())
}

async fn read_all(
    stream: &mut impl ChunkStream,
) -> Result<Vec<u8>, airlock_domain::ports::StoreError> {
    let mut back = Vec::new();
    while let Some(chunk) = stream.next_chunk().await? {
        assert!(chunk.len() <= MIB, "a chunk of {} bytes", chunk.len());
        back.extend_from_slice(&chunk);
    }
    Ok(back)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_read_over_many_ranges_arrives_whole_and_in_order() {
    let store = bucket(false).await;
    let key = key();
    let data: Vec<u8> = (0..9 * MIB + 3)
        .map(|i| (i % 251) as u8 ^ (i / MIB) as u8)
        .collect();
    store.put_bytes(&key, data.clone()).await.unwrap();

    let mut stream = store.open(&key, None).await.unwrap();
    let back = read_all(&mut stream).await.unwrap();

    assert_eq!(back.len(), data.len());
    assert!(back == data, "the bytes differ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_object_reads_as_empty() {
    let store = bucket(false).await;
    let key = key();
    store.put_bytes(&key, Vec::new()).await.unwrap();

    let mut stream = store.open(&key, None).await.unwrap();

    assert_eq!(read_all(&mut stream).await.unwrap(), Vec::<u8>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replaced_while_it_is_read_fails_the_read_on_a_bucket_without_versions() {
    let store = bucket(false).await;
    let key = key();
    store.put_bytes(&key, vec![b'a'; 12 * MIB]).await.unwrap();
    let mut stream = store.open(&key, None).await.unwrap();
    // The ranges ahead of the reader are fetched already; the later ones are not.
    store.put_bytes(&key, vec![b'b'; 12 * MIB]).await.unwrap();

    let read = read_all(&mut stream).await;

    assert!(
        read.is_err(),
        "read {} bytes of two objects",
        read.map_or(0, |b| b.len())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_versioned_read_keeps_to_the_version_it_opened() {
    let store = bucket(true).await;
    let key = key();
    store.put_bytes(&key, vec![b'a'; 12 * MIB]).await.unwrap();
    let mut stream = store.open(&key, None).await.unwrap();
    store.put_bytes(&key, vec![b'b'; 12 * MIB]).await.unwrap();

    let back = read_all(&mut stream).await.unwrap();

    assert!(
        back.iter().all(|b| *b == b'a'),
        "a later version's bytes were read"
    );
    assert_eq!(back.len(), 12 * MIB);
}
