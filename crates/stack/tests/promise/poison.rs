//! A stream batch with a poison record in the middle, on the local stack: the records
//! before it are acknowledged once, the poison one is retried up to the limit and then
//! written to the dead-letter file (never dropped silently), and the records after it
//! go through.
//!
//! The handler's side (`batchItemFailures` from the poison record on, the records
//! before applied once) is `a_poison_record_fails_with_the_records_after_it_and_those_
//! before_are_acknowledged` in functions/publish/tests.

use std::time::Duration;

use airlock_domain::{
    FileId, FileRecord, FileStatus, TenantId,
    ports::{CatalogWriter, UsageReader},
};
use airlock_local::{SqliteCatalog, read_bus_file};
use airlock_stack::StackConfig;
use airlock_testkit::uploads;

/// A PENDING upload that expired: an INSERT and a MODIFY in the change log.
async fn expired_upload(catalog: &SqliteCatalog) -> FileRecord {
    let now = chrono::Utc::now();
    let record = uploads::pending("acme", FileId::generate(), "late.png", "image/png", 10, now);
    catalog.create(&record).await.unwrap();
    catalog
        .replace(FileStatus::Pending, &record.expired(now).unwrap())
        .await
        .unwrap();
    record
}

/// Appends a change whose new image has a status publish cannot read (a number where
/// this version writes a string), as a newer or broken writer might; its sequence number.
fn append_poison_change(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let (keys, image): (String, String) = conn
        .query_row(
            "SELECT keys, new_image FROM changes ORDER BY seq DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    let mut poison: serde_json::Value = serde_json::from_str(&image).unwrap();
    poison["status"] = serde_json::json!({"N": "3"});
    conn.execute(
        "INSERT INTO changes (event_name, keys, old_image, new_image, at_ms) VALUES ('MODIFY', ?1, ?2, ?3, ?4)",
        rusqlite::params![keys, image, poison.to_string(), chrono::Utc::now().timestamp_millis()],
    )
    .unwrap();
    conn.last_insert_rowid()
}

#[tokio::test]
async fn a_poison_record_is_dead_lettered_after_the_retry_limit_and_the_batch_around_it_goes_through()
 {
    // Arrange: with the stack stopped, a change log of [expiry A, poison, expiry B], so
    // the pump's first batch holds all three.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("catalog.db");
    let catalog = SqliteCatalog::open(&db).unwrap();
    let before = expired_upload(&catalog).await;
    let poison_seq = append_poison_change(&db);
    let after = expired_upload(&catalog).await;

    // Act
    let mut config = StackConfig::new(&data);
    config.port = 0;
    config.stream_max_attempts = 3;
    let stack = airlock_stack::start(config).await.unwrap();

    // Assert
    let dead_letters = data.join("dead-letters").join("publish.jsonl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let ids = |events: &[serde_json::Value]| -> Vec<String> {
        events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let expected = vec![
        format!("{}-EXPIRED", before.id),
        format!("{}-EXPIRED", after.id),
    ];
    while ids(&read_bus_file(&stack.events_path()).unwrap()) != expected {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events: {:?}",
            read_bus_file(&stack.events_path()).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let letters = read_bus_file(&dead_letters).unwrap();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["function"], "publish");
    assert_eq!(
        letters[0]["record"]["dynamodb"]["SequenceNumber"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap(),
        poison_seq
    );
    assert_eq!(
        letters[0]["record"]["dynamodb"]["NewImage"]["status"]["N"],
        "3"
    );
    // Publish puts a batch's events on the bus, then applies the batch to the usage
    // ledger: the counts may land a moment after the events.
    let tenant = TenantId::parse("acme").unwrap();
    let mut usage = catalog.usage(&tenant).await.unwrap();
    while usage.by_status[&FileStatus::Expired].files < 2 && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
        usage = catalog.usage(&tenant).await.unwrap();
    }
    assert_eq!(usage.by_status[&FileStatus::Expired].files, 2, "{usage:?}");
    assert_eq!(usage.by_status[&FileStatus::Pending].files, 0, "{usage:?}");
    let last = catalog.stream_records_after(0, 100).await.unwrap().len() as i64;
    while catalog.stream_position("publish").await.unwrap() != last {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pump stopped short"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stack.shutdown().await;
}
