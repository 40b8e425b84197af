//! The S3 adapter on a versioned bucket, as the template makes it, against the
//! emulator `scripts/with-moto.sh` starts: a version named to a tag or a download is
//! the version acted on, whatever version is current. (The embedded store keeps one
//! version per key, so these cases have no local twin.)

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_aws::{S3Store, provision};
use airlock_domain::{
    ContentType, FileId, FileName, FileStatus, ObjectKey, TenantId,
    ports::{ObjectPresigner, ObjectTagger},
};

async fn versioned_bucket() -> S3Store {
    assert!(
        std::env::var("AIRLOCK_TEST_EMULATOR").is_ok(),
        "these tests need the AWS emulator: run `make test`, or `scripts/with-moto.sh cargo nextest run --workspace`"
    );
    let sdk = airlock_aws::load_sdk_config(airlock_aws::tls::TrustRoots::default()).await;
    let client = airlock_aws::s3_client(&sdk);
    let name = format!("airlock-{}", ulid::Ulid::new().to_string().to_lowercase());
    provision::create_versioned_bucket(&client, &name)
        .await
        .unwrap();
    S3Store::new(client, name)
}

fn key() -> ObjectKey {
    ObjectKey::new(TenantId::parse("acme").unwrap(), FileId::generate())
}

/// Two versions under one key: the first as uploaded, then a later one.
async fn two_versions(store: &S3Store, key: &ObjectKey) -> (String, String) {
    let first = store
        .put_version(key, b"the verified bytes".to_vec(), Some("text/plain"))
        .await
        .unwrap()
        .unwrap();
    let later = store
        .put_version(key, b"bytes nobody verified".to_vec(), Some("text/plain"))
        .await
        .unwrap()
        .unwrap();
    (first, later)
}

#[tokio::test]
async fn a_download_presigned_for_a_version_serves_that_version_while_a_later_one_is_current() {
    let store = versioned_bucket().await;
    let key = key();
    let (first, _later) = two_versions(&store, &key).await;

    let download = store
        .presign_download(
            &key,
            Some(&first),
            &FileName::parse("notes.txt").unwrap(),
            &ContentType::parse("text/plain").unwrap(),
            chrono::Utc::now() + chrono::Duration::minutes(5),
        )
        .await
        .unwrap();
    let body = reqwest::get(&download.url)
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .bytes()
        .await
        .unwrap();

    assert_eq!(&body[..], b"the verified bytes", "{}", download.url);
}

#[tokio::test]
async fn a_status_tag_written_for_a_version_lands_on_that_version_alone() {
    let store = versioned_bucket().await;
    let key = key();
    let (first, later) = two_versions(&store, &key).await;

    store
        .tag_status(&key, Some(&first), FileStatus::Clean)
        .await
        .unwrap();

    assert_eq!(
        store.status_tag_of_version(&key, &first).await.unwrap(),
        Some("CLEAN".to_owned())
    );
    assert_eq!(
        store.status_tag_of_version(&key, &later).await.unwrap(),
        None
    );
}
