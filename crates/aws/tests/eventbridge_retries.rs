//! EventBridge's partial failures, which no emulator produces: PutEvents answers are
//! replayed at the HTTP level, so the adapter's retry of failed entries is exercised
//! against the real SDK.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use airlock_aws::EventBridgePublisher;
use airlock_conformance::{accepted, fresh_tenant, now, pending};
use airlock_domain::{DomainEvent, ports::EventPublisher};
use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;

fn answer(body: &str) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder()
            .uri("https://events.us-east-1.amazonaws.com/")
            .body(SdkBody::empty())
            .unwrap(),
        http::Response::builder()
            .status(200)
            .body(SdkBody::from(body.to_owned()))
            .unwrap(),
    )
}

fn publisher(replay: &StaticReplayClient) -> EventBridgePublisher {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("akid", "secret", None, None, "test"))
        .http_client(replay.clone())
        .build();
    EventBridgePublisher::new(aws_sdk_eventbridge::Client::from_conf(config), "bus")
}

fn events(count: usize) -> Vec<DomainEvent> {
    let tenant = fresh_tenant();
    (0..count)
        .map(|_| {
            let record = pending(&tenant, now());
            DomainEvent::from_change(Some(&record), &accepted(&record)).unwrap()
        })
        .collect()
}

/// The ids in one recorded PutEvents request.
fn sent_ids(request: &aws_smithy_runtime_api::http::Request) -> Vec<String> {
    let body: serde_json::Value = serde_json::from_slice(request.body().bytes().unwrap()).unwrap();
    body["Entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let detail: serde_json::Value =
                serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
            detail["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

const SECOND_FAILED: &str = r#"{"FailedEntryCount":1,"Entries":[{"EventId":"a"},{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}"#;
const ONE_FAILED: &str = r#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"try again"}]}"#;
const ONE_OK: &str = r#"{"FailedEntryCount":0,"Entries":[{"EventId":"b"}]}"#;

#[tokio::test]
async fn an_entry_eventbridge_failed_is_sent_again_alone_and_then_succeeds() {
    let replay = StaticReplayClient::new(vec![answer(SECOND_FAILED), answer(ONE_OK)]);
    let events = events(2);

    let refused = publisher(&replay).publish(&events).await.unwrap();

    assert!(refused.is_empty());
    let requests: Vec<_> = replay.actual_requests().collect();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        sent_ids(requests[0]),
        vec![events[0].id.clone(), events[1].id.clone()]
    );
    assert_eq!(sent_ids(requests[1]), vec![events[1].id.clone()]);
}

#[tokio::test]
async fn an_entry_that_keeps_failing_is_reported_not_dropped() {
    let replay = StaticReplayClient::new(vec![
        answer(SECOND_FAILED),
        answer(ONE_FAILED),
        answer(ONE_FAILED),
    ]);
    let events = events(2);

    let refused = publisher(&replay).publish(&events).await.unwrap();

    assert_eq!(refused, vec![events[1].id.clone()]);
    assert_eq!(replay.actual_requests().count(), 3);
}

#[tokio::test]
async fn more_than_ten_events_go_in_chunks_of_at_most_ten() {
    let ok = |n: usize| {
        let entries: Vec<String> = (0..n).map(|i| format!(r#"{{"EventId":"e{i}"}}"#)).collect();
        answer(&format!(
            r#"{{"FailedEntryCount":0,"Entries":[{}]}}"#,
            entries.join(",")
        ))
    };
    let replay = StaticReplayClient::new(vec![ok(10), ok(10), ok(5)]);
    let events = events(25);

    assert!(
        publisher(&replay)
            .publish(&events)
            .await
            .unwrap()
            .is_empty()
    );

    let sizes: Vec<usize> = replay
        .actual_requests()
        .map(|r| sent_ids(r).len())
        .collect();
    assert_eq!(sizes, vec![10, 10, 5]);
}
