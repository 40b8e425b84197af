//! S3, DynamoDB Streams and EventBridge deliver at least once, and Lambda retries: each
//! handler is given the same event five times, one after the other and all at once.
//! Exactly one state change, one domain event and one move of the counters must come
//! of it, which the books check against the change log, the bus and the ledger.

use std::sync::Arc;

use airlock_domain::FileStatus;
use airlock_stack::schedule::scheduled_event;
use serde_json::Value;

use crate::{
    accounting::balance,
    world::{World, world},
};

const TIMES: usize = 5;

/// Runs `f` `TIMES` times at once on the multi-threaded runtime and returns the
/// results in completion order.
async fn at_once<T, F, Fut>(world: &Arc<World>, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<World>) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TIMES {
        tasks.spawn(f(Arc::clone(world)));
    }
    tasks.join_all().await
}

async fn assert_one_change_to(world: &World, status: FileStatus, tenant: &str) {
    world.deliver_stream().await;
    let books = balance(&world.catalog, &world.events_path(), &[tenant])
        .await
        .unwrap();
    assert_eq!(books.status_changes, 1, "{books:?}");
    assert_eq!(books.events, 1, "{books:?}");
    assert_eq!(books.files.get(&status), Some(&1), "{books:?}");
    assert_eq!(books.total_files(), 1, "{books:?}");
}

#[tokio::test]
async fn ingest_given_the_same_s3_event_five_times_in_a_row_decides_the_file_once() {
    let world = world();
    let (_, event) = world.png_upload().await;

    for _ in 0..TIMES {
        world.ingest.handle_payload(event.clone()).await.unwrap();
    }

    assert_one_change_to(&world, FileStatus::Clean, "acme").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ingest_given_the_same_s3_event_five_times_at_once_decides_the_file_once() {
    let world = Arc::new(world());
    let (record, event) = world.png_upload().await;

    let results = at_once(&world, |w| {
        let event = event.clone();
        async move { w.ingest.handle_payload(event).await.map(|_| ()) }
    })
    .await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(world.tag_of(&record).await, Some(FileStatus::Clean));
    assert_one_change_to(&world, FileStatus::Clean, "acme").await;
}

/// A decided upload and the stream batch that carries its creation and verdict.
async fn decided_batch(world: &World) -> Value {
    world.ingested_png().await;
    world.stream_batch().await
}

#[tokio::test]
async fn publish_given_the_same_stream_batch_five_times_in_a_row_announces_and_counts_once() {
    let world = world();
    let batch = decided_batch(&world).await;

    for _ in 0..TIMES {
        let response = world.publish.handle_payload(batch.clone()).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
    }

    assert_one_change_to(&world, FileStatus::Clean, "acme").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn publish_given_the_same_stream_batch_five_times_at_once_announces_and_counts_once() {
    let world = Arc::new(world());
    let batch = decided_batch(&world).await;

    let responses = at_once(&world, |w| {
        let batch = batch.clone();
        async move { w.publish.handle_payload(batch).await.unwrap() }
    })
    .await;

    assert!(
        responses.iter().all(|r| r.batch_item_failures.is_empty()),
        "{responses:?}"
    );
    assert_one_change_to(&world, FileStatus::Clean, "acme").await;
}

/// An upload whose bytes never came, past its deadline.
async fn abandoned_upload(world: &World) {
    let body = r#"{"name": "never.png", "content_type": "image/png", "size": 10}"#;
    let (status, _) = world.call("acme", "POST", "/v1/files", Some(body)).await;
    assert_eq!(status, 201);
    world.clock.advance(chrono::Duration::hours(2));
}

#[tokio::test]
async fn sweep_given_the_same_schedule_event_five_times_in_a_row_expires_the_upload_once() {
    let world = world();
    abandoned_upload(&world).await;
    let event = scheduled_event();

    let expired: usize = {
        let mut expired = 0;
        for _ in 0..TIMES {
            expired += world
                .sweep
                .handle_payload(event.clone())
                .await
                .unwrap()
                .expired;
        }
        expired
    };

    assert_eq!(expired, 1);
    assert_one_change_to(&world, FileStatus::Expired, "acme").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sweep_given_the_same_schedule_event_five_times_at_once_expires_the_upload_once() {
    let world = Arc::new(world());
    abandoned_upload(&world).await;
    let event = scheduled_event();

    let reports = at_once(&world, |w| {
        let event = event.clone();
        async move { w.sweep.handle_payload(event).await.unwrap() }
    })
    .await;

    let expired: usize = reports.iter().map(|r| r.expired).sum();
    assert_eq!(expired, 1, "{reports:?}");
    assert_one_change_to(&world, FileStatus::Expired, "acme").await;
}

/// A CLEAN file's id, its creation and verdict already published.
async fn clean_file(world: &World) -> String {
    let record = world.ingested_png().await;
    world.deliver_stream().await;
    record.id.to_string()
}

async fn assert_deleted_once(world: &World, id: &str) {
    world.deliver_stream().await;
    let books = balance(&world.catalog, &world.events_path(), &["acme"])
        .await
        .unwrap();
    assert_eq!(books.status_changes, 2, "CLEAN then DELETED: {books:?}");
    assert_eq!(books.events, 2, "{books:?}");
    assert_eq!(books.files.get(&FileStatus::Deleted), Some(&1), "{books:?}");
    let record = world.record("acme", id).await;
    assert!(!world.store.exists(&record.key()).await);
    assert_eq!(world.tag_of(&record).await, None);
}

#[tokio::test]
async fn the_api_given_the_same_delete_five_times_in_a_row_deletes_once_and_answers_204_each_time()
{
    let world = world();
    let id = clean_file(&world).await;

    for _ in 0..TIMES {
        let (status, body) = world
            .call("acme", "DELETE", &format!("/v1/files/{id}"), None)
            .await;
        assert_eq!(status, 204, "{body}");
    }

    assert_deleted_once(&world, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_given_the_same_delete_five_times_at_once_deletes_once_and_answers_204_each_time() {
    let world = Arc::new(world());
    let id = clean_file(&world).await;

    let answers = at_once(&world, |w| {
        let path = format!("/v1/files/{id}");
        async move { w.call("acme", "DELETE", &path, None).await }
    })
    .await;

    assert!(
        answers.iter().all(|(status, _)| *status == 204),
        "{answers:?}"
    );
    assert_deleted_once(&world, &id).await;
}
