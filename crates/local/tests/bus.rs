//! The JSON-lines bus: EventBridge-shaped entries, one per event id, across restarts.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_domain::{DomainEvent, FileId, ports::EventPublisher};
use airlock_local::{JsonlEventBus, read_bus_file};
use airlock_testkit::uploads;

fn expired_event() -> DomainEvent {
    let now = chrono::Utc::now();
    let record = uploads::pending(
        "acme",
        FileId::generate(),
        "a.bin",
        "application/octet-stream",
        1,
        now,
    );
    DomainEvent::from_change(Some(&record), &record.expired(now).unwrap()).unwrap()
}

#[tokio::test]
async fn a_redelivered_event_is_written_once_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    let event = expired_event();
    let bus = JsonlEventBus::open(&path).unwrap();
    assert!(
        bus.publish(&[event.clone(), event.clone()])
            .await
            .unwrap()
            .is_empty()
    );
    drop(bus);
    let reopened = JsonlEventBus::open(&path).unwrap();
    reopened
        .publish(std::slice::from_ref(&event))
        .await
        .unwrap();
    let entries = read_bus_file(&path).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["detail-type"], "Upload Expired");
    assert_eq!(entries[0]["source"], "airlock");
    assert_eq!(entries[0]["detail"]["file_id"], event.file_id.to_string());
}

#[tokio::test]
async fn a_line_torn_by_a_crash_is_dropped_and_the_next_entry_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.jsonl");
    std::fs::write(&path, "{\"id\":\"half").unwrap();
    let bus = JsonlEventBus::open(&path).unwrap();
    bus.publish(&[expired_event()]).await.unwrap();
    let entries = read_bus_file(&path).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
}
