//! The publish function: turns catalog changes, delivered as DynamoDB stream records,
//! into domain events on the bus and moves of the per-tenant usage counters.
//!
//! Streams deliver at least once and retry a batch from its first failed record, so:
//! records are handled in order and the first failure fails every record after it
//! (events of one file never overtake each other); each change is keyed by a stable
//! change id, and the ledger applies it once, after its event is on the bus. A change
//! whose event was published but whose ledger entry was not (a crash in between) is
//! published again with the same event id, which consumers and the local bus drop.

use airlock_domain::{
    DomainEvent, FileItem, FileRecord, ItemError, UsageDelta, error_chain,
    ports::{EventPublisher, LedgerError, PublishError, UsageLedger},
};
use airlock_faults::fault;
use airlock_telemetry::metrics::{Measurements, Metric};
use aws_lambda_events::{
    dynamodb::{Event, EventRecord},
    streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse},
};

/// Why a record could not be handled; it is reported in `batchItemFailures`.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The record's event name is none of INSERT, MODIFY, REMOVE.
    #[error("unknown stream event name {0:?}")]
    UnknownEventName(String),
    /// An image is not a file item in the layout this version writes.
    #[error("image is not a readable file item")]
    UnreadableImage(#[source] serde_dynamo::Error),
    /// The ledger failed.
    #[error("usage ledger")]
    Ledger(#[source] LedgerError),
    /// The bus failed as a whole.
    #[error("event bus")]
    Bus(#[source] PublishError),
    /// The bus refused this record's event.
    #[error("event bus refused event {0}")]
    EventRefused(String),
    /// An earlier record in the batch failed; this one waits for it.
    #[error("an earlier record in the batch failed")]
    BehindFailure,
}

/// Why an invocation failed as a whole (Lambda retries it, then bisects the batch).
#[derive(Debug, thiserror::Error)]
pub enum PublishHandlerError {
    /// The payload is not a DynamoDB stream event.
    #[error("payload is not a DynamoDB stream event")]
    InvalidEvent(#[source] serde_json::Error),
    /// A record has no sequence number, so a partial failure could not be reported.
    #[error("record {0} has no sequence number")]
    MissingSequenceNumber(String),
}

/// A status change a record carries: its event (none for a creation) and the counter
/// move.
type StatusChange = (Option<DomainEvent>, UsageDelta);

/// Events the bus took and did not take in one invocation, for the metrics.
#[derive(Debug, Default)]
struct Tally {
    published: usize,
    failed: usize,
}

/// The publish use case over its ports.
pub struct Publish<P, L> {
    publisher: P,
    ledger: L,
}

impl<P: EventPublisher, L: UsageLedger> Publish<P, L> {
    /// Wires the use case.
    pub fn new(publisher: P, ledger: L) -> Self {
        Self { publisher, ledger }
    }

    /// Decodes a raw payload, then handles it.
    pub async fn handle_payload(
        &self,
        payload: serde_json::Value,
    ) -> Result<DynamoDbEventResponse, PublishHandlerError> {
        let event: Event =
            serde_json::from_value(payload).map_err(PublishHandlerError::InvalidEvent)?;
        self.handle(event).await
    }

    /// Handles a batch; the response lists the sequence numbers to retry.
    pub async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, PublishHandlerError> {
        let sequence_numbers = event
            .records
            .iter()
            .map(|r| {
                r.change
                    .sequence_number
                    .clone()
                    .ok_or_else(|| PublishHandlerError::MissingSequenceNumber(r.event_id.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut tally = Tally::default();
        let failed_from = self.process(&event.records, &mut tally).await;
        let mut response = DynamoDbEventResponse::default();
        if let Some((index, error)) = failed_from {
            tracing::error!(
                sequence_number = %sequence_numbers[index],
                failed = sequence_numbers.len() - index,
                error = %error_chain(&error),
                "stream record failed; it and the records after it will be retried"
            );
            response.batch_item_failures = sequence_numbers[index..]
                .iter()
                .map(|seq| {
                    let mut failure = DynamoDbBatchItemFailure::default();
                    failure.item_identifier = Some(seq.clone());
                    failure
                })
                .collect();
        }
        Measurements::new()
            .count(Metric::EventsPublished, tally.published)
            .count(Metric::EventsFailed, tally.failed)
            .count(
                Metric::StreamRecordsFailed,
                response.batch_item_failures.len(),
            )
            .emit();
        Ok(response)
    }

    /// Handles records in order; returns the index of the first one that failed.
    async fn process(
        &self,
        records: &[EventRecord],
        tally: &mut Tally,
    ) -> Option<(usize, RecordError)> {
        let mut pending = Vec::new();
        for (index, record) in records.iter().enumerate() {
            match self.pending_change(record).await {
                Ok(Some((event, delta))) => pending.push((index, event, delta)),
                Ok(None) => {}
                Err(error) => return self.flush(pending, tally).await.or(Some((index, error))),
            }
        }
        self.flush(pending, tally).await
    }

    /// The change a record carries, unless it is nothing or was fully applied before.
    async fn pending_change(
        &self,
        record: &EventRecord,
    ) -> Result<Option<StatusChange>, RecordError> {
        let Some((event, delta)) = decode(record)? else {
            return Ok(None);
        };
        let done = self
            .ledger
            .is_applied(&delta.change_id)
            .await
            .map_err(RecordError::Ledger)?;
        Ok((!done).then_some((event, delta)))
    }

    /// Publishes the collected events in one call, then applies the ledger in order,
    /// stopping at the first record whose event the bus refused.
    async fn flush(
        &self,
        pending: Vec<(usize, Option<DomainEvent>, UsageDelta)>,
        tally: &mut Tally,
    ) -> Option<(usize, RecordError)> {
        let first_index = pending.first()?.0;
        let events: Vec<DomainEvent> = pending.iter().filter_map(|(_, e, _)| e.clone()).collect();
        let refused = match self.publisher.publish(&events).await {
            Ok(refused) => refused,
            Err(error) => {
                tally.failed += events.len();
                return Some((first_index, RecordError::Bus(error)));
            }
        };
        tally.failed += refused.len();
        tally.published += events.len().saturating_sub(refused.len());
        fault!("publish.between_bus_and_ledger", |injected| Some((
            first_index,
            RecordError::Ledger(LedgerError::Backend(injected.into()))
        )));
        for (index, event, delta) in pending {
            if index > first_index {
                fault!("publish.between_ledger_records", |injected| Some((
                    index,
                    RecordError::Ledger(LedgerError::Backend(injected.into()))
                )));
            }
            if let Some(id) = event.map(|e| e.id).filter(|id| refused.contains(id)) {
                return Some((index, RecordError::EventRefused(id)));
            }
            if let Err(error) = self.ledger.apply_once(&delta).await {
                return Some((index, RecordError::Ledger(error)));
            }
        }
        None
    }
}

/// Reads a record's images through the shared item mapping; `None` when the record
/// changes no file's status (a removal, an item that is not a file, another attribute).
fn decode(record: &EventRecord) -> Result<Option<StatusChange>, RecordError> {
    match record.event_name.as_str() {
        // A removal is a TTL clean-up of an item whose last change was already handled.
        "REMOVE" => Ok(None),
        "INSERT" | "MODIFY" => {
            let Some(new) = file_image(&record.change.new_image)? else {
                return Ok(None);
            };
            let old = file_image(&record.change.old_image)?;
            let event = DomainEvent::from_change(old.as_ref(), &new);
            Ok(UsageDelta::from_change(old.as_ref(), &new).map(|delta| (event, delta)))
        }
        other => Err(RecordError::UnknownEventName(other.to_owned())),
    }
}

/// The record in an image; `None` for an absent image or an item that is not a file.
fn file_image(image: &serde_dynamo::Item) -> Result<Option<FileRecord>, RecordError> {
    if image.is_empty() {
        return Ok(None);
    }
    if image_kind(image).is_some_and(|kind| kind != airlock_domain::FILE_ITEM_KIND) {
        return Ok(None);
    }
    let item: FileItem =
        serde_dynamo::from_item(image.clone()).map_err(RecordError::UnreadableImage)?;
    match item.into_record() {
        Ok(record) => Ok(Some(record)),
        Err(ItemError::NotAFile(_)) => Ok(None),
    }
}

fn image_kind(image: &serde_dynamo::Item) -> Option<String> {
    let kind = image.get("kind")?;
    serde_dynamo::from_attribute_value(kind.clone()).ok()
}
