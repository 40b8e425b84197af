//! The stream pump: the local stand-in for a DynamoDB stream event source mapping.
//!
//! It reads the catalog's change log after its saved position, in order and in
//! batches, invokes publish with a DynamoDB stream event, and moves its position past
//! everything before the first failed record (`batchItemFailures`). A record that
//! fails `max_attempts` times is written to a dead-letter file and skipped, as
//! bisecting down to it and an on-failure destination would do. The position lives in
//! the database, so after a restart the pump neither loses nor repeats what it
//! acknowledged.

use std::{collections::HashMap, path::PathBuf, time::Duration};
use tracing::Instrument;

use airlock_domain::error_chain;
use airlock_faults::fault;
use airlock_local::{JsonlEventBus, LocalError, SqliteCatalog};
use airlock_publish::Publish;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use tokio::sync::watch;

/// The publish handler as the local stack wires it.
pub type LocalPublish = Publish<JsonlEventBus, SqliteCatalog>;

/// The consumer name the position is saved under.
const CONSUMER: &str = "publish";
/// How long to wait when there is nothing new.
const IDLE: Duration = Duration::from_millis(100);

/// Delivers the change log to publish.
pub struct Pump {
    catalog: SqliteCatalog,
    publish: LocalPublish,
    batch_size: usize,
    max_attempts: u32,
    dead_letters: PathBuf,
    attempts: HashMap<i64, u32>,
}

/// What one step did.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Idle,
    Advanced,
    Retrying,
}

impl Pump {
    /// A pump from `catalog`'s change log into `publish`.
    pub fn new(
        catalog: SqliteCatalog,
        publish: LocalPublish,
        batch_size: usize,
        max_attempts: u32,
        dead_letters: PathBuf,
    ) -> Self {
        Self {
            catalog,
            publish,
            batch_size,
            max_attempts,
            dead_letters,
            attempts: HashMap::new(),
        }
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let pause = match self.step().await {
                Ok(Step::Advanced) => continue,
                Ok(Step::Idle) => IDLE,
                Ok(Step::Retrying) => IDLE * 2,
                Err(e) => {
                    tracing::error!(error = %error_chain(&e), "stream pump failed; retrying");
                    IDLE * 10
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn step(&mut self) -> Result<Step, LocalError> {
        let position = self.catalog.stream_position(CONSUMER).await?;
        let records = self
            .catalog
            .stream_records_after(position, self.batch_size)
            .await?;
        let Some(last) = records.last().map(sequence) else {
            return Ok(Step::Idle);
        };
        fault!("pump.between_read_and_delivery", |injected| Err(
            LocalError::Io(injected.into())
        ));
        let first_failed = self.invoke(&records).await;
        let Some(failed) = first_failed else {
            fault!("pump.between_delivery_and_checkpoint", |injected| Err(
                LocalError::Io(injected.into())
            ));
            self.catalog.set_stream_position(CONSUMER, last).await?;
            self.attempts.clear();
            return Ok(Step::Advanced);
        };
        // Everything before the first failure is acknowledged.
        self.catalog
            .set_stream_position(CONSUMER, failed - 1)
            .await?;
        let attempts = self.attempts.entry(failed).or_insert(0);
        *attempts += 1;
        if *attempts < self.max_attempts {
            return Ok(Step::Retrying);
        }
        self.dead_letter(&records, failed)?;
        self.catalog.set_stream_position(CONSUMER, failed).await?;
        self.attempts.remove(&failed);
        Ok(Step::Advanced)
    }

    /// Invokes publish; returns the first failed sequence number, if any.
    async fn invoke(&self, records: &[EventRecord]) -> Option<i64> {
        let mut event = Event::default();
        event.records = records.to_vec();
        // Through JSON, as Lambda would deliver it.
        let payload = match serde_json::to_value(&event) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "could not encode a stream event");
                return records.first().map(sequence);
            }
        };
        let span = crate::invocations::PUBLISH.span(&crate::invocations::request_id());
        match self.publish.handle_payload(payload).instrument(span).await {
            Ok(response) => response
                .batch_item_failures
                .iter()
                .map(|f| {
                    f.item_identifier
                        .as_deref()
                        .and_then(|s| s.parse::<i64>().ok())
                })
                // An identifier that names no record fails the whole batch, as in Lambda.
                .map(|seq| seq.unwrap_or_else(|| records.first().map_or(0, sequence)))
                .min(),
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "publish invocation failed");
                records.first().map(sequence)
            }
        }
    }

    fn dead_letter(&self, records: &[EventRecord], failed: i64) -> Result<(), LocalError> {
        let record = records.iter().find(|r| sequence(r) == failed);
        let entry = serde_json::json!({
            "function": "publish",
            "reason": format!("failed {} attempts", self.max_attempts),
            "record": record,
        });
        crate::dead_letter::append(&self.dead_letters, &entry)?;
        tracing::error!(
            sequence_number = failed,
            "stream record dead-lettered after repeated failures"
        );
        Ok(())
    }
}

fn sequence(record: &EventRecord) -> i64 {
    record
        .change
        .sequence_number
        .as_deref()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
