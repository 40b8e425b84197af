//! S3 event notifications for the local stack: a completed upload becomes an S3
//! `ObjectCreated:Put` event for ingest (`ObjectCreated:CompleteMultipartUpload` for
//! one sent in parts), delivered like Lambda's asynchronous
//! invocations: retried with a pause, and after the last attempt written to a
//! dead-letter file instead of being dropped.
//!
//! The same queue stands in for ingest's continuation queue: a file carried over to
//! the next invocation comes back to ingest as the SQS message SQS would deliver. Like
//! the notifications it lives in memory only; after a crash the stack's start
//! notifies every PENDING file with bytes again, and ingest goes on from the
//! checkpoint in its record.

use std::{path::PathBuf, sync::Arc, time::Duration};
use tracing::Instrument;

use airlock_domain::{
    Continuation, error_chain,
    ports::{ContinuationQueue, QueueError},
};
use airlock_ingest::Ingest;
use airlock_local::{DirRuleSource, FsObjectStore, SqliteCatalog, SystemClock};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::{Semaphore, mpsc};

/// The ingest handler as the local stack wires it.
pub type LocalIngest =
    Ingest<SqliteCatalog, FsObjectStore, SystemClock, DirRuleSource, WeakNotifier>;

/// How many ingest invocations may run at once (Lambda would scale out; two cores here).
const CONCURRENCY: usize = 4;

/// S3 encodes keys in notifications like a form: unreserved characters and `/` stay,
/// a space becomes `+`, everything else is percent-encoded.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b' ');

/// One created object.
#[derive(Debug, Clone)]
struct Created {
    key: String,
    size: u64,
    event_name: &'static str,
}

/// What the delivery loop hands ingest.
#[derive(Debug, Clone)]
enum Delivery {
    /// An S3 notification.
    Created(Created),
    /// A message from the continuation queue.
    Continuation(Continuation),
}

/// Hands created objects to the delivery loop.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Delivery>,
    /// Whether single-PUT notifications are dropped (see [`Notifier::losing_puts`]).
    losing_puts: bool,
}

impl Notifier {
    /// The same notifier, dropping the notification of every single PUT when `lose`
    /// is true: as when S3's notification never reaches ingest, or ingest fails it
    /// every time and it is dead-lettered. What such a PUT stored is then left for
    /// sweep's reconciliation.
    pub fn losing_puts(self, lose: bool) -> Self {
        Self {
            losing_puts: lose,
            ..self
        }
    }

    /// Queues an `ObjectCreated` event for `key`.
    pub fn object_created(&self, key: &str, size: u64) {
        if self.losing_puts {
            tracing::warn!(
                key,
                "notification lost on purpose: ingest never sees this PUT"
            );
            return;
        }
        self.send("ObjectCreated:Put", key, size);
    }

    /// Queues an `ObjectCreated:CompleteMultipartUpload` event for `key`.
    pub fn multipart_completed(&self, key: &str, size: u64) {
        self.send("ObjectCreated:CompleteMultipartUpload", key, size);
    }

    fn send(&self, event_name: &'static str, key: &str, size: u64) {
        let created = Created {
            key: key.to_owned(),
            size,
            event_name,
        };
        if self.tx.send(Delivery::Created(created)).is_err() {
            tracing::warn!(
                key,
                "stack is shutting down; ingest will pick this object up at the next start"
            );
        }
    }
}

/// A [`Notifier`] that does not keep the queue open. The object store's completion
/// hook holds one: the store lives as long as ingest, which the delivery loop holds,
/// so a strong sender there would keep the loop waiting for ever at shutdown.
#[derive(Clone)]
pub struct WeakNotifier {
    tx: mpsc::WeakUnboundedSender<Delivery>,
}

impl Notifier {
    /// A sender that lets the queue close when every [`Notifier`] is gone.
    pub fn downgrade(&self) -> WeakNotifier {
        WeakNotifier {
            tx: self.tx.downgrade(),
        }
    }
}

impl WeakNotifier {
    /// As [`Notifier::multipart_completed`], while the stack runs.
    pub fn multipart_completed(&self, key: &str, size: u64) {
        match self.tx.upgrade() {
            Some(tx) => Notifier {
                tx,
                losing_puts: false,
            }
            .multipart_completed(key, size),
            None => tracing::warn!(
                key,
                "stack is shutting down; ingest will pick this object up at the next start"
            ),
        }
    }
}

/// Ingest's continuation queue: ingest holds it, so it must not keep the queue open.
impl ContinuationQueue for WeakNotifier {
    async fn continue_later(&self, continuation: &Continuation) -> Result<(), QueueError> {
        let sent = self
            .tx
            .upgrade()
            .map(|tx| tx.send(Delivery::Continuation(continuation.clone())));
        match sent {
            Some(Ok(())) => Ok(()),
            // The next start notifies the file again, and ingest goes on from its
            // checkpoint.
            _ => Err(QueueError(
                "the stack is shutting down; the file goes on from its checkpoint at the next start"
                    .into(),
            )),
        }
    }
}

/// The queue's receiving end, for [`deliver`].
pub struct Deliveries {
    rx: mpsc::UnboundedReceiver<Delivery>,
}

/// A new notification queue.
pub fn channel() -> (Notifier, Deliveries) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        Notifier {
            tx,
            losing_puts: false,
        },
        Deliveries { rx },
    )
}

/// The S3 notification S3 would send for a PUT of `key`.
pub fn s3_put_event(key: &str, size: u64, bucket: &str) -> serde_json::Value {
    s3_created_event("ObjectCreated:Put", key, size, bucket)
}

/// The S3 notification `event_name` of `key`.
fn s3_created_event(event_name: &str, key: &str, size: u64, bucket: &str) -> serde_json::Value {
    let encoded = utf8_percent_encode(key, KEY_ENCODE)
        .to_string()
        .replace(' ', "+");
    serde_json::json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "local",
            "eventTime": chrono::Utc::now(),
            "eventName": event_name,
            "userIdentity": {"principalId": "local"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": ulid::Ulid::new().to_string()},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "airlock-uploads",
                "bucket": {"name": bucket, "ownerIdentity": {"principalId": "local"}, "arn": format!("arn:aws:s3:::{bucket}")},
                "object": {"key": encoded, "size": size, "sequencer": format!("{:016X}", chrono::Utc::now().timestamp_micros())}
            }
        }]
    })
}

/// The SQS batch SQS would deliver to ingest for `continuation`.
fn sqs_continuation_event(continuation: &Continuation) -> serde_json::Value {
    let body = serde_json::to_string(continuation).unwrap_or_default();
    serde_json::json!({
        "Records": [{
            "messageId": ulid::Ulid::new().to_string(),
            "receiptHandle": ulid::Ulid::new().to_string(),
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": chrono::Utc::now().timestamp_millis().to_string(),
            },
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:local:000000000000:airlock-continuations",
            "awsRegion": "local"
        }]
    })
}

impl Delivery {
    /// The event ingest is invoked with, and what the log calls it.
    fn event(&self) -> (serde_json::Value, String) {
        match self {
            Self::Created(created) => (
                s3_created_event(
                    created.event_name,
                    &created.key,
                    created.size,
                    "airlock-local",
                ),
                created.key.clone(),
            ),
            Self::Continuation(continuation) => (
                sqs_continuation_event(continuation),
                format!(
                    "uploads/{}/{} (continuation {})",
                    continuation.tenant, continuation.file_id, continuation.seq
                ),
            ),
        }
    }
}

/// Delivers queued events to ingest until the queue closes.
pub async fn deliver(
    mut deliveries: Deliveries,
    ingest: Arc<LocalIngest>,
    max_attempts: u32,
    dead_letters: PathBuf,
) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = tokio::task::JoinSet::new();
    while let Some(delivery) = deliveries.rx.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let ingest = Arc::clone(&ingest);
        let dead_letters = dead_letters.clone();
        running.spawn(async move {
            invoke_with_retries(&ingest, delivery, max_attempts, &dead_letters).await;
            drop(permit);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

async fn invoke_with_retries(
    ingest: &LocalIngest,
    delivery: Delivery,
    max_attempts: u32,
    dead_letters: &std::path::Path,
) {
    let (event, key) = delivery.event();
    let mut last_error = String::new();
    for attempt in 1..=max_attempts.max(1) {
        let span = crate::invocations::INGEST.span(&crate::invocations::request_id());
        match invoke(ingest, event.clone()).instrument(span).await {
            Ok(report) => {
                tracing::debug!(key, ?report, "ingest done");
                return;
            }
            Err(error) => {
                last_error = error;
                tracing::warn!(key, attempt, error = %last_error, "ingest failed");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
    let entry = serde_json::json!({"function": "ingest", "error": last_error, "event": event});
    match crate::dead_letter::append(dead_letters, &entry) {
        Ok(()) => tracing::error!(key, "ingest gave up; event dead-lettered"),
        Err(e) => {
            tracing::error!(key, error = %e, "ingest gave up and the dead-letter write failed")
        }
    }
}

/// One invocation of ingest; a failed one, as its error chain, counts as an attempt.
async fn invoke(
    ingest: &LocalIngest,
    event: serde_json::Value,
) -> Result<airlock_ingest::IngestReport, String> {
    airlock_faults::fault!("notifications.before_ingest_delivery", |injected| Err(
        injected.to_string()
    ));
    ingest
        .handle_payload(event)
        .await
        .map_err(|error| error_chain(&error))
}
