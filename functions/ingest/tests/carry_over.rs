//! Files too large for one invocation: carried over window by window through the
//! continuation queue, driven by S3 and SQS event JSON, on the embedded adapters with
//! a budget forced small.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::sync::{Arc, Mutex};

use airlock_domain::{
    Continuation, FileId, FileRecord, FileStatus, Policy, ScanLimits, ScanReport,
    ports::{ContinuationQueue, QueueError},
};
use airlock_ingest::{Carryover, Ingest, IngestReport, RecordOutcome};
use airlock_local::{DirRuleSource, FsObjectStore, SqliteCatalog};
use airlock_scan::{ScanSettings, Scanning};
use airlock_testkit::{FixedClock, clock::fixture_time as now, uploads};
use sha2::{Digest, Sha256};

const PUT: &str = include_str!("fixtures/example-s3-event-put.json");
const CONTINUATION: &str = include_str!("fixtures/example-sqs-event-continuation.json");
const FIXTURE_FILE_ID: &str = "01JNKZ8Y3M6QW2V7R5T4X9B1CD";
const MIB: usize = 1 << 20;
/// Windows of 4 MiB (advancing 3 MiB), so a few tens of MiB take several.
const WINDOW: usize = 4 * MIB;
const SECRET_RULE: &str = r#"
rule secret_marker { strings: $a = "TOP-SECRET" condition: $a }
rule edge_marker { strings: $a = "ACROSS-THE-EDGE" condition: $a }
"#;

/// The continuation queue as a list the test takes messages from.
#[derive(Clone, Default)]
struct Queue(Arc<Mutex<Vec<Continuation>>>);

impl ContinuationQueue for Queue {
    async fn continue_later(&self, continuation: &Continuation) -> Result<(), QueueError> {
        self.0.lock().unwrap().push(continuation.clone());
        Ok(())
    }
}

impl Queue {
    fn take(&self) -> Vec<Continuation> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

type CarryingIngest = Ingest<SqliteCatalog, FsObjectStore, FixedClock, DirRuleSource, Queue>;

struct World {
    _dir: tempfile::TempDir,
    catalog: SqliteCatalog,
    store: FsObjectStore,
    queue: Queue,
    ingest: CarryingIngest,
}

/// Every file scanned in windows; each invocation reads `segment` bytes at most.
async fn world(segment: u64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("acme.yar"), SECRET_RULE).unwrap();
    let catalog = SqliteCatalog::in_memory().unwrap();
    let store = FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"k".to_vec());
    let scanning = Scanning::start(
        DirRuleSource::new(rules),
        std::time::Duration::ZERO,
        ScanSettings {
            memory_budget: WINDOW,
            ..ScanSettings::default()
        },
        ScanLimits {
            max_scan_bytes: 16,
            ..ScanLimits::default()
        },
    )
    .await
    .unwrap();
    let queue = Queue::default();
    let ingest = Ingest::new(
        catalog.clone(),
        store.clone(),
        FixedClock::at(now()),
        Policy::default(),
        scanning,
    )
    .with_carryover(Carryover::through(
        queue.clone(),
        std::time::Duration::from_secs(60),
        Some(segment),
    ));
    World {
        _dir: dir,
        catalog,
        store,
        queue,
        ingest,
    }
}

/// `size` bytes of text with the marker a rule matches `from_end` bytes before the end.
fn text_with_secret(size: usize, from_end: usize) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..size).map(|i| b'a' + (i % 23) as u8).collect();
    let at = size - from_end;
    bytes[at..at + 10].copy_from_slice(b"TOP-SECRET");
    bytes
}

/// The SQS batch the continuation queue delivers for `continuation`.
fn continuation_event(continuation: &Continuation) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(CONTINUATION).unwrap();
    event["Records"][0]["body"] = serde_json::to_string(continuation).unwrap().into();
    event
}

impl World {
    async fn upload(&self, bytes: &[u8]) -> FileRecord {
        let id = FileId::parse(FIXTURE_FILE_ID).unwrap();
        let record = uploads::pending(
            "acme",
            id,
            "big.txt",
            "text/plain",
            bytes.len() as u64,
            now(),
        );
        uploads::upload(&self.catalog, &self.store, &record, Some(bytes)).await;
        record
    }

    async fn notified(&self) -> RecordOutcome {
        let event = serde_json::from_str(PUT).unwrap();
        first(self.ingest.handle_payload(event).await.unwrap())
    }

    async fn continued(&self, continuation: &Continuation) -> RecordOutcome {
        let event = continuation_event(continuation);
        first(self.ingest.handle_payload(event).await.unwrap())
    }

    /// Takes queued continuations one by one until none is left; the outcomes.
    async fn drain(&self) -> Vec<RecordOutcome> {
        let mut outcomes = Vec::new();
        while let Some(next) = self.queue.take().pop() {
            outcomes.push(self.continued(&next).await);
        }
        outcomes
    }

    async fn stored(&self, record: &FileRecord) -> FileRecord {
        uploads::reread(&self.catalog, record).await
    }
}

fn first(report: IngestReport) -> RecordOutcome {
    report.records.into_iter().next().unwrap()
}

fn offset_of(outcome: &RecordOutcome) -> u64 {
    match outcome {
        RecordOutcome::CarriedOver { offset, .. } => *offset,
        other => panic!("not carried over: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_too_large_for_one_invocation_is_carried_over_and_ends_as_an_unbroken_pass_would() {
    let mut bytes = text_with_secret(40 * MIB, 100);
    // Across the first carry-over: the first window end past 8 MiB is at 10 MiB, so
    // only the overlap read again by the next invocation holds the whole marker.
    let edge = 10 * MIB - 7;
    bytes[edge..edge + 15].copy_from_slice(b"ACROSS-THE-EDGE");
    let carried = world(8 * MIB as u64).await;
    let record = carried.upload(&bytes).await;

    let first = carried.notified().await;
    let mut outcomes = vec![first];
    outcomes.extend(carried.drain().await);

    let (last, carried_over) = outcomes.split_last().unwrap();
    assert!(
        matches!(
            last,
            RecordOutcome::Decided {
                status: FileStatus::Infected,
                ..
            }
        ),
        "{last:?}"
    );
    // 40 MiB, 8 MiB an invocation to the next window end: four carry-overs.
    assert_eq!(carried_over.len(), 4, "{outcomes:?}");
    let offsets: Vec<u64> = carried_over.iter().map(offset_of).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    assert_eq!(offsets[0], 10 * MIB as u64);
    assert!(
        offsets
            .iter()
            .all(|o| (*o as usize - WINDOW).is_multiple_of(WINDOW - MIB)),
        "{offsets:?}"
    );

    let stored = carried.stored(&record).await;
    let finding = stored.finding.clone().unwrap();
    assert_eq!(finding.sha256, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(finding.size, bytes.len() as u64);
    assert_eq!(
        stored.checkpoint, None,
        "the checkpoint goes with the verdict"
    );

    let unbroken = world(u64::MAX).await;
    let same = unbroken.upload(&bytes).await;
    assert!(matches!(
        unbroken.notified().await,
        RecordOutcome::Decided { .. }
    ));
    let whole = unbroken.stored(&same).await.finding.unwrap();
    assert_eq!(finding.scan, whole.scan, "the same windows and matches");
    assert!(
        matches!(&finding.scan, Some(ScanReport::Scanned { matched, .. }) if matched == &["acme.edge_marker", "acme.secret_marker"]),
        "{:?}",
        finding.scan
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_notification_goes_on_from_the_checkpoint_not_from_the_first_byte() {
    let bytes = text_with_secret(24 * MIB, 5 * MIB);
    let world = world(6 * MIB as u64).await;
    let record = world.upload(&bytes).await;
    let first = offset_of(&world.notified().await);
    let queued = world.queue.take();

    // S3 delivers the notification again: it goes on from the checkpoint.
    let again = world.notified().await;
    assert!(offset_of(&again) > first, "{again:?} after {first}");
    // The continuation queued after the first checkpoint goes on from the newest.
    let stale = world.continued(&queued[0]).await;
    assert!(offset_of(&stale) > offset_of(&again), "{stale:?}");

    world.drain().await;
    let stored = world.stored(&record).await;
    assert_eq!(stored.status, FileStatus::Infected);
    assert_eq!(
        stored.finding.unwrap().sha256,
        hex::encode(Sha256::digest(&bytes))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_invocations_going_on_from_one_checkpoint_exactly_one_carries_it_over() {
    let bytes = text_with_secret(24 * MIB, 100);
    let world = world(6 * MIB as u64).await;
    let record = world.upload(&bytes).await;
    world.notified().await;
    let continuation = world.queue.take().pop().unwrap();

    let (a, b) = tokio::join!(
        world.continued(&continuation),
        world.continued(&continuation)
    );

    let carried = [&a, &b]
        .iter()
        .filter(|o| matches!(o, RecordOutcome::CarriedOver { .. }))
        .count();
    assert_eq!(carried, 1, "{a:?} / {b:?}");
    assert!(
        [&a, &b].iter().any(|o| matches!(o, RecordOutcome::Skipped { why, .. } if why.contains("carried this file over first"))),
        "{a:?} / {b:?}"
    );
    assert_eq!(
        world.queue.0.lock().unwrap().len(),
        1,
        "one continuation queued"
    );
    world.drain().await;
    assert_eq!(world.stored(&record).await.status, FileStatus::Infected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_for_a_file_with_its_verdict_changes_nothing() {
    let bytes = text_with_secret(16 * MIB, 100);
    let world = world(6 * MIB as u64).await;
    let record = world.upload(&bytes).await;
    world.notified().await;
    let stale = world.queue.take().pop().unwrap();
    world.continued(&stale).await;
    world.drain().await;
    let decided = world.stored(&record).await;
    assert_eq!(decided.status, FileStatus::Infected);

    let outcome = world.continued(&stale).await;

    assert!(
        matches!(outcome, RecordOutcome::Skipped { .. }),
        "{outcome:?}"
    );
    assert_eq!(world.stored(&record).await, decided);
}

#[tokio::test]
async fn a_continuation_message_whose_body_is_not_a_continuation_fails_the_batch() {
    let world = world(6 * MIB as u64).await;
    let mut event: serde_json::Value = serde_json::from_str(CONTINUATION).unwrap();
    event["Records"][0]["body"] = "hello".into();
    let error = world.ingest.handle_payload(event).await.unwrap_err();
    assert!(error.to_string().contains("2e1424d4"), "{error}");
}
