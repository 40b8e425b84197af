//! The publish handler driven by DynamoDB stream event JSON, on the embedded adapters.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_domain::{
    DomainEvent, FileStatus, StatusCount, TenantId,
    ports::{EventPublisher, PublishError, UsageLedger, UsageReader},
};
use airlock_local::{JsonlEventBus, SqliteCatalog, read_bus_file};
use airlock_publish::{Publish, PublishHandlerError};
use aws_lambda_events::streams::DynamoDbEventResponse;
use serde_json::Value;

const INSERT: &str = include_str!("fixtures/example-dynamodb-event-insert.json");
const MODIFY_CLEAN: &str = include_str!("fixtures/example-dynamodb-event-modify-clean.json");
const MODIFY_REJECTED: &str = include_str!("fixtures/example-dynamodb-event-modify-rejected.json");
const REMOVE: &str = include_str!("fixtures/example-dynamodb-event-remove.json");
const WITH_POISON: &str = include_str!("fixtures/example-dynamodb-event-batch-with-poison.json");
const USAGE_ITEM: &str = include_str!("fixtures/example-dynamodb-event-usage-item.json");
const WITHOUT_SEQUENCE: &str =
    include_str!("fixtures/example-dynamodb-event-without-sequence-number.json");
const GARBAGE: [&str; 2] = [
    include_str!("fixtures/example-dynamodb-event-garbage-records.json"),
    include_str!("fixtures/example-dynamodb-event-garbage-not-an-event.json"),
];

/// The usage one file of the fixtures' (2048 bytes) counts for.
const THE_FIXTURE_FILE: StatusCount = StatusCount {
    files: 1,
    bytes: 2048,
};

struct World {
    dir: tempfile::TempDir,
    ledger: SqliteCatalog,
    publish: Publish<JsonlEventBus, SqliteCatalog>,
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqliteCatalog::in_memory().unwrap();
    let bus = JsonlEventBus::open(&dir.path().join("events.jsonl")).unwrap();
    let publish = Publish::new(bus, ledger.clone());
    World {
        dir,
        ledger,
        publish,
    }
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// Whether the ledger has applied the change with this id.
async fn applied(ledger: &SqliteCatalog, change: &str) -> bool {
    ledger.is_applied(change).await.unwrap()
}

fn failed(response: &DynamoDbEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect()
}

impl World {
    /// The stream batch `batch` (a fixture's text) delivered to publish, which answers.
    async fn deliver(&self, batch: &str) -> DynamoDbEventResponse {
        self.publish.handle_payload(fixture(batch)).await.unwrap()
    }

    fn events(&self) -> Vec<Value> {
        read_bus_file(&self.dir.path().join("events.jsonl")).unwrap()
    }

    async fn count(&self, status: FileStatus) -> StatusCount {
        let usage = self
            .ledger
            .usage(&TenantId::parse("acme").unwrap())
            .await
            .unwrap();
        usage.by_status[&status]
    }
}

#[tokio::test]
async fn an_insert_counts_a_pending_file_and_publishes_nothing() {
    let world = world();
    let response = world.deliver(INSERT).await;
    assert!(failed(&response).is_empty());
    assert!(world.events().is_empty());
    assert_eq!(world.count(FileStatus::Pending).await, THE_FIXTURE_FILE);
}

#[tokio::test]
async fn a_clean_verdict_publishes_file_accepted_and_moves_the_counters() {
    let world = world();
    world.deliver(INSERT).await;
    let response = world.deliver(MODIFY_CLEAN).await;
    assert!(failed(&response).is_empty());
    let events = world.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail-type"], "File Accepted");
    assert_eq!(events[0]["source"], "airlock");
    assert_eq!(events[0]["id"], "01JNKZ8Y3M6QW2V7R5T4X9B1CD-CLEAN");
    assert_eq!(events[0]["detail"]["tenant"], "acme");
    assert_eq!(events[0]["detail"]["size"], 2048);
    assert_eq!(
        events[0]["detail"]["sha256"],
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
    assert_eq!(
        world.count(FileStatus::Pending).await,
        StatusCount::default()
    );
    assert_eq!(world.count(FileStatus::Clean).await, THE_FIXTURE_FILE);
}

#[tokio::test]
async fn a_rejection_publishes_file_rejected_with_its_reasons() {
    let world = world();
    world.deliver(MODIFY_REJECTED).await;
    let events = world.events();
    assert_eq!(events[0]["detail-type"], "File Rejected");
    assert_eq!(events[0]["detail"]["reasons"][0]["code"], "type_mismatch");
    assert_eq!(
        events[0]["detail"]["reasons"][0]["detected"],
        "application/x-executable"
    );
}

#[tokio::test]
async fn a_redelivered_batch_publishes_and_counts_nothing_twice() {
    let world = world();
    for _ in 0..3 {
        world.deliver(INSERT).await;
        world.deliver(MODIFY_CLEAN).await;
    }
    assert_eq!(world.events().len(), 1);
    assert_eq!(world.count(FileStatus::Clean).await, THE_FIXTURE_FILE);
    assert_eq!(
        world.count(FileStatus::Pending).await,
        StatusCount::default()
    );
}

#[tokio::test]
async fn a_poison_record_fails_with_the_records_after_it_and_those_before_are_acknowledged() {
    let world = world();
    let response = world.deliver(WITH_POISON).await;
    assert_eq!(
        failed(&response),
        vec!["100000000000000000012", "100000000000000000013"]
    );
    // The record before the poison one was applied and is not redone on retry.
    assert_eq!(world.count(FileStatus::Pending).await, THE_FIXTURE_FILE);
    assert!(
        world.events().is_empty(),
        "nothing after the poison record was published"
    );

    // Lambda retries from the first failure; once the poison record is gone (bisected
    // out to the failure destination), the rest goes through.
    let mut retry = fixture(WITH_POISON);
    retry["Records"].as_array_mut().unwrap().drain(..2);
    let response = world.publish.handle_payload(retry).await.unwrap();
    assert!(failed(&response).is_empty());
    assert_eq!(world.events().len(), 1);
    assert_eq!(world.count(FileStatus::Clean).await, THE_FIXTURE_FILE);
}

#[tokio::test]
async fn removals_and_items_that_are_not_files_are_acknowledged_without_effect() {
    let world = world();
    for payload in [REMOVE, USAGE_ITEM] {
        let response = world.deliver(payload).await;
        assert!(failed(&response).is_empty());
    }
    assert!(world.events().is_empty());
    assert_eq!(world.count(FileStatus::Clean).await, StatusCount::default());
}

/// A bus that is down, or that refuses some events.
struct BrokenBus {
    refuse: Option<&'static str>,
}

impl EventPublisher for BrokenBus {
    async fn publish(&self, events: &[DomainEvent]) -> Result<Vec<String>, PublishError> {
        match self.refuse {
            None => Err(PublishError::Backend("connection refused".into())),
            Some(id) => Ok(events
                .iter()
                .filter(|e| e.id == id)
                .map(|e| e.id.clone())
                .collect()),
        }
    }
}

#[tokio::test]
async fn a_bus_outage_fails_every_pending_record_and_counts_nothing() {
    let ledger = SqliteCatalog::in_memory().unwrap();
    let publish = Publish::new(BrokenBus { refuse: None }, ledger.clone());
    let response = publish.handle_payload(fixture(MODIFY_CLEAN)).await.unwrap();
    assert_eq!(failed(&response), vec!["100000000000000000002"]);
    assert!(!applied(&ledger, "01JNKZ8Y3M6QW2V7R5T4X9B1CD-CLEAN").await);
}

#[tokio::test]
async fn an_event_the_bus_refuses_fails_its_record_and_the_records_after_it() {
    let ledger = SqliteCatalog::in_memory().unwrap();
    let publish = Publish::new(
        BrokenBus {
            refuse: Some("01JNKZ8Y3M6QW2V7R5T4X9B1CD-CLEAN"),
        },
        ledger.clone(),
    );
    let mut batch = fixture(INSERT);
    let later = fixture(MODIFY_CLEAN)["Records"][0].clone();
    batch["Records"].as_array_mut().unwrap().push(later);
    let response = publish.handle_payload(batch).await.unwrap();
    assert_eq!(failed(&response), vec!["100000000000000000002"]);
    assert!(applied(&ledger, "01JNKZ8Y3M6QW2V7R5T4X9B1CD-PENDING").await);
    assert!(!applied(&ledger, "01JNKZ8Y3M6QW2V7R5T4X9B1CD-CLEAN").await);
}

#[tokio::test]
async fn a_record_without_a_sequence_number_fails_the_whole_invocation() {
    let world = world();
    let result = world
        .publish
        .handle_payload(fixture(WITHOUT_SEQUENCE))
        .await;
    assert!(matches!(
        result,
        Err(PublishHandlerError::MissingSequenceNumber(_))
    ));
}

#[tokio::test]
async fn garbage_payloads_are_errors_never_panics() {
    let world = world();
    for garbage in GARBAGE {
        let result = world.publish.handle_payload(fixture(garbage)).await;
        assert!(
            matches!(result, Err(PublishHandlerError::InvalidEvent(_))),
            "{garbage}"
        );
    }
    assert!(world.events().is_empty());
}
