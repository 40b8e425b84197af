//! Domain events on an EventBridge bus.
//!
//! PutEvents takes at most 10 entries and 256 KB a call, so events go in chunks
//! within both limits. Entries EventBridge reports as failed are sent again with
//! backoff; those that still fail are returned, and the publish handler fails their
//! stream records, so nothing is dropped silently.

use std::time::Duration;

use airlock_domain::{
    DomainEvent, EVENT_SOURCE,
    ports::{EventPublisher, PublishError},
};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use crate::AdapterError;

/// PutEvents' limit on entries per call.
const MAX_ENTRIES: usize = 10;
/// PutEvents' limit on a call's total entry size.
const MAX_BYTES: usize = 256 * 1024;
/// Sends of one entry before it is reported as failed.
const ATTEMPTS: u32 = 3;

/// One bus. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventBridgePublisher {
    client: aws_sdk_eventbridge::Client,
    bus: String,
    backoff: Duration,
}

impl EventBridgePublisher {
    /// The bus `bus` through `client`.
    pub fn new(client: aws_sdk_eventbridge::Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
            backoff: Duration::from_millis(100),
        }
    }

    /// The bus `bus` with a client built from the shared SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bus: impl Into<String>) -> Self {
        Self::new(aws_sdk_eventbridge::Client::new(sdk), bus)
    }

    fn entry(&self, event: &DomainEvent) -> Result<(PutEventsRequestEntry, usize), AdapterError> {
        let detail = serde_json::to_string(event)?;
        // EventBridge counts source, detail-type, detail and resources towards the size.
        let size = EVENT_SOURCE.len() + event.kind.name().len() + detail.len() + 14;
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(event.kind.name())
            .detail(detail)
            .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(
                event.occurred_at.timestamp_millis(),
            ))
            .build();
        Ok((entry, size))
    }

    /// Sends one chunk; returns the indexes (into `chunk`) that failed every attempt.
    async fn send_chunk(
        &self,
        chunk: &[PutEventsRequestEntry],
    ) -> Result<Vec<usize>, PublishError> {
        let mut pending: Vec<usize> = (0..chunk.len()).collect();
        for attempt in 1..=ATTEMPTS {
            let entries: Vec<_> = pending.iter().map(|&i| chunk[i].clone()).collect();
            let output = self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| PublishError::Backend(Box::new(e)))?;
            if output.failed_entry_count == 0 {
                return Ok(Vec::new());
            }
            // Result entries come in request order; a failed one has an error code.
            pending = output
                .entries()
                .iter()
                .zip(&pending)
                .filter(|(result, _)| result.error_code().is_some())
                .map(|(_, &i)| i)
                .collect();
            tracing::warn!(
                attempt,
                failed = pending.len(),
                "EventBridge refused entries; retrying them"
            );
            if attempt < ATTEMPTS {
                tokio::time::sleep(self.backoff * 2u32.pow(attempt - 1)).await;
            }
        }
        Ok(pending)
    }
}

impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, events: &[DomainEvent]) -> Result<Vec<String>, PublishError> {
        let mut refused = Vec::new();
        let mut chunk: Vec<(PutEventsRequestEntry, &DomainEvent)> = Vec::new();
        let mut chunk_bytes = 0;
        for event in events {
            let (entry, size) = self
                .entry(event)
                .map_err(|e| PublishError::Backend(Box::new(e)))?;
            if chunk.len() == MAX_ENTRIES || (chunk_bytes + size > MAX_BYTES && !chunk.is_empty()) {
                refused.extend(self.flush(&mut chunk).await?);
                chunk_bytes = 0;
            }
            chunk_bytes += size;
            chunk.push((entry, event));
        }
        refused.extend(self.flush(&mut chunk).await?);
        Ok(refused)
    }
}

impl EventBridgePublisher {
    async fn flush(
        &self,
        chunk: &mut Vec<(PutEventsRequestEntry, &DomainEvent)>,
    ) -> Result<Vec<String>, PublishError> {
        if chunk.is_empty() {
            return Ok(Vec::new());
        }
        let entries: Vec<_> = chunk.iter().map(|(entry, _)| entry.clone()).collect();
        let failed = self.send_chunk(&entries).await?;
        let ids = failed.into_iter().map(|i| chunk[i].1.id.clone()).collect();
        chunk.clear();
        Ok(ids)
    }
}
