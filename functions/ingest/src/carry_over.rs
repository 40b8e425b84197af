//! Carrying a verification over to the next invocation: an object that one
//! invocation cannot finish (Lambda stops at 15 minutes) is read up to a window end,
//! its checkpoint written into the record by a conditional write, and a
//! [`Continuation`] queued; the invocation that takes the message goes on from the
//! checkpoint the record holds. A redelivered S3 notification, or the local stack's
//! restart, goes on from it too: nothing is ever read twice from the first byte, and a
//! file is never passed without every byte hashed and scanned.
//!
//! Why a queue: SQS keeps the message until an invocation has handled it (a killed
//! one's message comes back after the visibility timeout, then goes to a dead-letter
//! queue), it is a plain Lambda event source, and ingest needs only `SendMessage` on
//! one queue. A Step Functions loop would do the same with a state machine to deploy
//! and pay for per transition.

use std::time::{Duration, Instant};

use airlock_domain::{
    Continuation, FileRecord, FileStatus, IngestCheckpoint, ObjectKey,
    ports::{
        CatalogError, CatalogReader, CatalogWriter, CheckpointWriter, Clock, ContinuationQueue,
        ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger, QueueError, RuleSource,
    },
};
use airlock_scan::{Budget, Paused};
use aws_lambda_events::sqs::SqsEvent;

use crate::{Ingest, IngestError, IngestReport, RecordError, RecordOutcome};

/// The margin left before an invocation's deadline by default: time to read to the
/// next window end (at most a window, 32 MiB), scan it, and write the checkpoint.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(60);

/// When and through which queue passes are carried over.
pub struct Carryover<Q> {
    queue: Q,
    /// Bytes one invocation reads at most (a budget forced small in tests).
    segment_bytes: Option<u64>,
    /// How long before the invocation's deadline a pass stops.
    margin: Duration,
    enabled: bool,
}

/// No continuation queue: every pass finishes where it began.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContinuation;

impl ContinuationQueue for NoContinuation {
    async fn continue_later(&self, _: &Continuation) -> Result<(), QueueError> {
        Err(QueueError("no continuation queue is configured".into()))
    }
}

impl Carryover<NoContinuation> {
    /// Never carry over.
    pub fn none() -> Self {
        Self::never(NoContinuation)
    }
}

impl<Q: ContinuationQueue> Carryover<Q> {
    /// Never carry over, whatever `queue` is (a deployment without a queue).
    pub fn never(queue: Q) -> Self {
        Self {
            queue,
            segment_bytes: None,
            margin: DEFAULT_MARGIN,
            enabled: false,
        }
    }

    /// Carry over through `queue`, `margin` before each invocation's deadline, and
    /// after `segment_bytes` read when that is given.
    pub fn through(queue: Q, margin: Duration, segment_bytes: Option<u64>) -> Self {
        Self {
            queue,
            segment_bytes,
            margin,
            enabled: true,
        }
    }

    /// How much a pass in an invocation ending at `deadline` may do.
    pub(crate) fn budget(&self, deadline: Option<Instant>) -> Budget {
        if !self.enabled {
            return Budget::UNLIMITED;
        }
        Budget {
            bytes: self.segment_bytes,
            until: deadline.map(|d| d.checked_sub(self.margin).unwrap_or(d)),
        }
    }
}

/// Whether `payload` is a batch of SQS messages (the continuation queue's), not an S3
/// notification: SQS marks every record with its `eventSource`.
pub(crate) fn is_queue_batch(payload: &serde_json::Value) -> bool {
    payload["Records"][0]["eventSource"] == "aws:sqs"
}

impl<C, S, K, R, Q> Ingest<C, S, K, R, Q>
where
    C: CatalogReader + CatalogWriter + CheckpointWriter,
    S: ObjectReader + ObjectTagger + ObjectQuarantine + ObjectRemover,
    K: Clock,
    R: RuleSource,
    Q: ContinuationQueue,
{
    /// Handles a batch from the continuation queue; fails if any message failed, so
    /// the queue delivers the batch again.
    pub(crate) async fn handle_continuations(
        &self,
        payload: serde_json::Value,
        deadline: Option<Instant>,
    ) -> Result<IngestReport, IngestError> {
        let batch: SqsEvent = serde_json::from_value(payload).map_err(IngestError::InvalidEvent)?;
        let total = batch.records.len();
        let mut outcomes = Vec::with_capacity(total);
        for message in batch.records {
            let message_id = message.message_id.unwrap_or_default();
            let continuation: Continuation = serde_json::from_str(
                message.body.as_deref().unwrap_or_default(),
            )
            .map_err(|error| IngestError::InvalidContinuation {
                message_id: message_id.clone(),
                error,
            })?;
            let outcome = self
                .continue_verifying(&continuation, deadline)
                .await
                .map_err(|first| IngestError::Records {
                    failed: 1,
                    total,
                    key: format!("{}/{}", continuation.tenant, continuation.file_id),
                    first,
                })?;
            outcomes.push(outcome);
        }
        Ok(IngestReport { records: outcomes })
    }

    /// Goes on verifying the file a continuation names, from whatever checkpoint its
    /// record holds by now.
    async fn continue_verifying(
        &self,
        continuation: &Continuation,
        deadline: Option<Instant>,
    ) -> Result<RecordOutcome, RecordError> {
        let key = ObjectKey::new(continuation.tenant.clone(), continuation.file_id);
        let skipped = |why| {
            tracing::info!(key = %key, seq = continuation.seq, why, "continuation skipped");
            Ok(RecordOutcome::Skipped {
                key: key.to_string(),
                why,
            })
        };
        let file = self
            .catalog
            .get(&continuation.tenant, continuation.file_id)
            .await
            .map_err(RecordError::Catalog)?;
        match file {
            None => skipped("no catalog record for this object"),
            Some(file) if file.status != FileStatus::Pending => {
                skipped("the file has its verdict already")
            }
            Some(file) => {
                self.verify(file, &key, continuation.version.as_deref(), deadline)
                    .await
            }
        }
    }

    /// Writes where `paused` stands into the record, then queues the next invocation.
    /// In that order: a continuation always finds the checkpoint it was queued after,
    /// and an invocation killed between the two fails, so whatever woke it comes back
    /// and goes on from the checkpoint written.
    pub(crate) async fn carry_over(
        &self,
        file: &FileRecord,
        key: &ObjectKey,
        version: Option<&str>,
        paused: Paused,
    ) -> Result<RecordOutcome, RecordError> {
        let now = self.clock.now();
        let expected = file.checkpoint_seq();
        let etag = paused.stored.etag.clone();
        let checkpoint = match &file.checkpoint {
            Some(before) if before.is_about(etag.as_deref()) => {
                before.advanced(paused.progress, now)
            }
            _ => IngestCheckpoint {
                seq: expected + 1,
                ..IngestCheckpoint::first(paused.progress, paused.ruleset, etag, now)
            },
        };
        let (offset, seq) = (checkpoint.progress.offset, checkpoint.seq);
        let next = file
            .with_checkpoint(checkpoint, now)
            .map_err(RecordError::Domain)?;
        match self.catalog.carry_over(expected, &next).await {
            Ok(()) => {}
            Err(CatalogError::CheckpointMoved { .. }) => {
                tracing::info!(key = %key, seq, "another invocation carried this file over first");
                return Ok(RecordOutcome::Skipped {
                    key: key.to_string(),
                    why: "another invocation carried this file over first",
                });
            }
            Err(CatalogError::StatusChanged { .. }) => return self.after_lost_race(key).await,
            Err(e) => return Err(RecordError::Catalog(e)),
        }
        airlock_faults::fault!("ingest.between_checkpoint_and_enqueue", |injected| Err(
            RecordError::Queue(QueueError(injected.into()))
        ));
        let continuation = Continuation {
            tenant: file.tenant.clone(),
            file_id: file.id,
            version: version.map(str::to_owned),
            seq,
        };
        self.carryover
            .queue
            .continue_later(&continuation)
            .await
            .map_err(RecordError::Queue)?;
        tracing::info!(
            tenant = %file.tenant, file_id = %file.id, offset, seq,
            "verification carried over to the next invocation"
        );
        Ok(RecordOutcome::CarriedOver {
            key: key.to_string(),
            offset,
            seq,
        })
    }
}
