//! The shared port conformance suite on the AWS adapters, against the emulator that
//! `scripts/with-moto.sh` starts (`make test` does). Each test provisions its own
//! table, bucket or bus, so tests run in parallel without seeing each other.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_aws::{DynamoCatalog, S3Store, provision};
use airlock_conformance::objects::ObjectFixture;
use airlock_domain::{FileStatus, ObjectKey};

/// The SDK configuration for the emulator; fails the test with directions if there is none.
async fn emulator() -> aws_config::SdkConfig {
    assert!(
        std::env::var("AIRLOCK_TEST_EMULATOR").is_ok(),
        "these tests need the AWS emulator: run `make test`, or `scripts/with-moto.sh cargo test -p airlock-aws`"
    );
    airlock_aws::load_sdk_config(airlock_aws::tls::TrustRoots::default()).await
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

async fn table() -> DynamoCatalog {
    let client = aws_sdk_dynamodb::Client::new(&emulator().await);
    let name = unique("airlock");
    provision::create_table(&client, &name).await.unwrap();
    DynamoCatalog::new(client, name)
}

mod catalog {
    use super::*;
    airlock_conformance::catalog_tests!(table());
}

mod walks {
    use super::*;
    airlock_conformance::walk_tests!(table());
}

mod ledger {
    use super::*;
    // `racing_redeliveries_count_once` is left out here: moto applies concurrent
    // TransactWriteItems on the same items without isolation (it loses or doubles
    // the ADD, or leaves half an item), which DynamoDB's serializable transactions
    // never do. The case runs against the embedded ledger; see the README's
    // emulator notes.
    airlock_conformance::cases!(ledger, table();
        a_change_is_counted_exactly_once,
        an_unknown_tenant_has_all_counters_at_zero,
    );
}

/// Direct writes and tag reads for the object cases.
struct Bucket(S3Store);

impl ObjectFixture for Bucket {
    async fn put(&self, key: &ObjectKey, bytes: Vec<u8>) {
        self.0.put_bytes(key, bytes).await.unwrap();
    }

    async fn put_with_headers(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
        content_encoding: &str,
    ) {
        self.0
            .put_bytes_with_headers(key, bytes, content_type, content_encoding)
            .await
            .unwrap();
    }

    async fn tag(&self, key: &ObjectKey) -> Option<FileStatus> {
        self.0
            .status_tag(key)
            .await
            .unwrap()
            .as_deref()
            .and_then(FileStatus::parse)
    }

    async fn quarantined_tag(&self, key: &ObjectKey) -> Option<FileStatus> {
        self.0
            .status_tag_at(&key.quarantined())
            .await
            .unwrap()
            .as_deref()
            .and_then(FileStatus::parse)
    }
}

async fn bucket() -> (S3Store, Bucket) {
    let client = airlock_aws::s3_client(&emulator().await);
    let name = unique("airlock");
    provision::create_bucket(&client, &name).await.unwrap();
    let store = S3Store::new(client, name);
    (store.clone(), Bucket(store))
}

mod objects {
    use super::*;
    airlock_conformance::object_tests!(bucket());
}

/// The upload bucket as the template makes it (versioned), for the inventory cases:
/// a purge must leave no version behind.
async fn versioned_bucket() -> (S3Store, Bucket) {
    let client = airlock_aws::s3_client(&emulator().await);
    let name = unique("airlock");
    provision::create_versioned_bucket(&client, &name)
        .await
        .unwrap();
    let store = S3Store::new(client, name);
    (store.clone(), Bucket(store))
}

mod inventory {
    use super::*;
    // `multipart_uploads_are_listed_after_a_key` is left out here: moto answers
    // ListMultipartUploads with every upload whatever `max-uploads` says (seen: two
    // for a page of one), which S3 does not. The case runs against the embedded store.
    airlock_conformance::cases!(inventory, versioned_bucket();
        uploads_are_listed_in_key_order_a_page_at_a_time,
        purging_a_key_leaves_nothing_under_it,
        a_purge_outside_the_upload_prefix_is_refused,
    );

    #[tokio::test]
    async fn a_purge_removes_every_version_and_delete_marker_of_the_key() {
        use airlock_domain::ports::{ObjectRemover, UploadInventory};
        let client = airlock_aws::s3_client(&emulator().await);
        let name = unique("airlock");
        provision::create_versioned_bucket(&client, &name)
            .await
            .unwrap();
        let store = S3Store::new(client.clone(), &name);
        let key = ObjectKey::new(
            airlock_conformance::fresh_tenant(),
            airlock_domain::FileId::generate(),
        );
        store.put_bytes(&key, b"one".to_vec()).await.unwrap();
        store.remove(&key).await.unwrap();
        store.put_bytes(&key, b"replayed".to_vec()).await.unwrap();
        assert_eq!(store.versions(&key).await.unwrap().len(), 2);

        store.purge_upload(&key.to_string()).await.unwrap();

        let kept = client
            .list_object_versions()
            .bucket(&name)
            .prefix(key.to_string())
            .send()
            .await
            .unwrap();
        assert!(kept.versions().is_empty(), "a version was left");
        assert!(kept.delete_markers().is_empty(), "a delete marker was left");
    }
}

/// A part PUT as a client sends it: the presigned URL with its headers.
impl airlock_conformance::multipart::PartFixture for Bucket {
    async fn put_part(
        &self,
        signed: &airlock_domain::ports::PresignedRequest,
        bytes: Vec<u8>,
    ) -> u16 {
        let mut request = reqwest::Client::new().put(&signed.url);
        for (name, value) in &signed.headers {
            if name != "content-length" {
                request = request.header(name, value);
            }
        }
        request.body(bytes).send().await.unwrap().status().as_u16()
    }
}

mod multipart {
    use super::*;
    // `a_damaged_part_is_refused` is left out here: moto 5.2.5 stores a part whose
    // bytes do not hash to the `x-amz-checksum-sha256` it was sent with (S3 answers
    // 400 BadDigest for an upload created with the SHA-256 checksum algorithm). The
    // case runs against the embedded store, and the stack's end-to-end tests; see
    // the README's emulator notes. moto's ListParts also needs the fix in
    // scripts/moto-server.py.
    airlock_conformance::cases!(multipart, bucket();
        parts_join_into_the_object_in_number_order,
        a_part_url_signs_its_length_and_checksum,
        completion_repeats_and_abort_discards,
        a_completion_with_a_small_middle_part_is_refused,
    );
}

/// A queue subscribed to everything Airlock puts on a bus, as a consumer would be.
struct Subscriber {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl airlock_conformance::events::EventsFixture for Subscriber {
    async fn delivered(&self) -> Vec<String> {
        let mut ids = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                return ids;
            }
            for message in messages {
                let body: serde_json::Value =
                    serde_json::from_str(message.body().unwrap()).unwrap();
                ids.push(body["detail"]["id"].as_str().unwrap().to_owned());
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

async fn bus() -> (airlock_aws::EventBridgePublisher, Subscriber) {
    let sdk = emulator().await;
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let name = unique("airlock");
    provision::create_bus(&events, &name).await.unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    provision::route_bus_to_queue(&events, &name, &name, &queue_arn)
        .await
        .unwrap();
    (
        airlock_aws::EventBridgePublisher::new(events, name),
        Subscriber { sqs, queue_url },
    )
}

mod events {
    use super::*;
    airlock_conformance::event_tests!(bus());
}

#[tokio::test]
async fn listing_keys_follows_continuation_tokens_across_pages() {
    let (store, _) = bucket().await;
    let tenant = airlock_conformance::fresh_tenant();
    let mut expected = Vec::new();
    for _ in 0..5 {
        let key = ObjectKey::new(tenant.clone(), airlock_domain::FileId::generate());
        store.put_bytes(&key, b"x".to_vec()).await.unwrap();
        expected.push(key.to_string());
    }
    let mut keys = store
        .list_keys_paged(&format!("uploads/{tenant}/"), 2)
        .await
        .unwrap();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected);
}
