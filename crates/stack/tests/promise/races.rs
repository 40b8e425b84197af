//! Writers racing for the same file: the conditional writes must let exactly one win,
//! and nothing may move backwards (no DELETED or EXPIRED file becomes CLEAN again), with
//! one event per change. Each race is run many times on a multi-threaded runtime so
//! that different interleavings actually happen.
//!
//! Two ingest invocations racing on one object: `ingest_given_the_same_s3_event_five_
//! times_at_once_decides_the_file_once` here, and `two_racing_invocations_write_exactly_
//! one_verdict` in functions/ingest/tests.

use std::sync::Arc;

use airlock_domain::{FileStatus, error_chain};
use airlock_stack::schedule::scheduled_event;

use crate::{
    accounting::balance,
    world::{World, world},
};

const ROUNDS: usize = 40;

/// Deletes until the API accepts (it answers 409 while the file is still PENDING).
async fn delete_as_soon_as_possible(world: Arc<World>, id: String) {
    for _ in 0..10_000 {
        let (status, body) = world
            .call("acme", "DELETE", &format!("/v1/files/{id}"), None)
            .await;
        match status {
            204 => return,
            409 => tokio::task::yield_now().await,
            other => panic!("DELETE answered {other}: {body}"),
        }
    }
    panic!("the file never became deletable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_racing_ingest_never_lets_a_deleted_file_become_clean_again() {
    let world = Arc::new(world());
    let mut files = Vec::new();
    for _ in 0..ROUNDS {
        let (record, event) = world.png_upload().await;
        let ingest = tokio::spawn({
            let world = Arc::clone(&world);
            let event = event.clone();
            async move { world.ingest.handle_payload(event).await.map(|_| ()) }
        });
        let delete = tokio::spawn(delete_as_soon_as_possible(
            Arc::clone(&world),
            record.id.to_string(),
        ));
        let (ingested, deleted) = tokio::join!(ingest, delete);
        ingested.unwrap().unwrap();
        deleted.unwrap();
        // S3 redelivers the notification after the delete.
        world.ingest.handle_payload(event).await.unwrap();
        files.push(record);
    }

    world.deliver_stream().await;
    for record in &files {
        assert_eq!(world.status(record).await, FileStatus::Deleted);
        assert!(!world.store.exists(&record.key()).await);
        assert_eq!(
            world.tag_of(record).await,
            None,
            "a status tag outlived the deleted object {}",
            record.key()
        );
    }
    let books = balance(&world.catalog, &world.events_path(), &["acme"])
        .await
        .unwrap();
    assert_eq!(books.status_changes, 2 * ROUNDS, "{books:?}");
    assert_eq!(
        books.files.get(&FileStatus::Deleted),
        Some(&(ROUNDS as i64))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sweep_expiring_an_upload_while_ingest_verifies_it_leaves_one_winner() {
    let world = Arc::new(world());
    let mut files = Vec::new();
    for _ in 0..ROUNDS {
        let (record, event) = world.png_upload().await;
        files.push((record, event));
    }
    // Every upload is now past its deadline while its bytes are there to verify.
    world.clock.advance(chrono::Duration::hours(2));

    let mut tasks = tokio::task::JoinSet::new();
    for (_, event) in &files {
        let event = event.clone();
        let w = Arc::clone(&world);
        tasks.spawn(async move {
            let result = w.ingest.handle_payload(event).await;
            result.map(drop).map_err(|e| error_chain(&e))
        });
        let w = Arc::clone(&world);
        tasks.spawn(async move {
            let result = w.sweep.handle_payload(scheduled_event()).await;
            result.map(drop).map_err(|e| error_chain(&e))
        });
    }
    for done in tasks.join_all().await {
        done.unwrap();
    }

    world.deliver_stream().await;
    let (mut clean, mut expired) = (0, 0);
    for (record, _) in &files {
        let tag = world.tag_of(record).await;
        match world.status(record).await {
            FileStatus::Clean => {
                clean += 1;
                assert_eq!(tag, Some(FileStatus::Clean));
            }
            FileStatus::Expired => {
                expired += 1;
                assert!(!world.store.exists(&record.key()).await);
                assert_eq!(tag, None, "a status tag outlived the expired object");
            }
            other => panic!("{} ended {other}", record.id),
        }
    }
    let books = balance(&world.catalog, &world.events_path(), &["acme"])
        .await
        .unwrap();
    assert_eq!(books.status_changes, ROUNDS, "one winner each: {books:?}");
    assert_eq!(clean + expired, ROUNDS);
}
