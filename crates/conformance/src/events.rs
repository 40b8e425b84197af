//! The event publisher: every event arrives, across chunk boundaries.

use std::future::Future;

use airlock_domain::{DomainEvent, ports::EventPublisher};

use crate::{accepted, fresh_tenant, now, pending};

/// What a backend's test provides: the ids of the events that reached the bus's
/// consumers so far.
pub trait EventsFixture {
    /// The `detail.id` of every event delivered so far, in any order.
    fn delivered(&self) -> impl Future<Output = Vec<String>>;
}

fn accepted_events(count: usize) -> Vec<DomainEvent> {
    let tenant = fresh_tenant();
    (0..count)
        .map(|_| {
            let record = pending(&tenant, now());
            DomainEvent::from_change(Some(&record), &accepted(&record))
                .unwrap_or_else(|| panic!("no event"))
        })
        .collect()
}

/// Waits (up to five seconds) until `fixture` has delivered at least `count` events.
async fn delivered_ids<F: EventsFixture>(fixture: &F, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..50 {
        ids.extend(fixture.delivered().await);
        if ids.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ids
}

/// 25 events (three chunks of at most ten) all arrive, none refused.
pub async fn events_beyond_one_chunk_all_arrive<P: EventPublisher, F: EventsFixture>(
    (publisher, fixture): &(P, F),
) {
    let events = accepted_events(25);
    let refused = publisher.publish(&events).await.expect("publish");
    assert!(refused.is_empty(), "refused {refused:?}");
    let mut delivered = delivered_ids(fixture, events.len()).await;
    let mut expected: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    delivered.sort();
    expected.sort();
    assert_eq!(delivered, expected);
}

/// Publishing no events is a no-op, not an error.
pub async fn publishing_no_events_is_a_no_op<P: EventPublisher, F: EventsFixture>(
    (publisher, fixture): &(P, F),
) {
    assert!(publisher.publish(&[]).await.expect("publish").is_empty());
    assert!(fixture.delivered().await.is_empty());
}

/// Expands every publisher case into a test for one backend.
#[macro_export]
macro_rules! event_tests {
    ($publisher:expr) => {
        $crate::cases!(events, $publisher;
            events_beyond_one_chunk_all_arrive,
            publishing_no_events_is_a_no_op,
        );
    };
}
