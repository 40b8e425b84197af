//! S3 event notifications for the local stack: a completed upload becomes an S3
//! `ObjectCreated:Put` event for ingest (`ObjectCreated:CompleteMultipartUpload` for
//! one sent in parts), delivered like Lambda's asynchronous
//! invocations: retried with a pause, and after the last attempt written to a
//! dead-letter file instead of being dropped.

use std::{path::PathBuf, sync::Arc, time::Duration};
use tracing::Instrument;

use airlock_domain::error_chain;
use airlock_ingest::Ingest;
use airlock_local::{DirRuleSource, FsObjectStore, SqliteCatalog, SystemClock};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio::sync::{Semaphore, mpsc};

/// The ingest handler as the local stack wires it.
pub type LocalIngest = Ingest<SqliteCatalog, FsObjectStore, SystemClock, DirRuleSource>;

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

/// Hands created objects to the delivery loop.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Created>,
}

impl Notifier {
    /// Queues an `ObjectCreated` event for `key`.
    pub fn object_created(&self, key: &str, size: u64) {
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
        if self.tx.send(created).is_err() {
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
    tx: mpsc::WeakUnboundedSender<Created>,
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
            Some(tx) => Notifier { tx }.multipart_completed(key, size),
            None => tracing::warn!(
                key,
                "stack is shutting down; ingest will pick this object up at the next start"
            ),
        }
    }
}

/// The queue's receiving end, for [`deliver`].
pub struct Deliveries {
    rx: mpsc::UnboundedReceiver<Created>,
}

/// A new notification queue.
pub fn channel() -> (Notifier, Deliveries) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Notifier { tx }, Deliveries { rx })
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

/// Delivers queued events to ingest until the queue closes.
pub async fn deliver(
    mut deliveries: Deliveries,
    ingest: Arc<LocalIngest>,
    max_attempts: u32,
    dead_letters: PathBuf,
) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = tokio::task::JoinSet::new();
    while let Some(created) = deliveries.rx.recv().await {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let ingest = Arc::clone(&ingest);
        let dead_letters = dead_letters.clone();
        running.spawn(async move {
            invoke_with_retries(&ingest, created, max_attempts, &dead_letters).await;
            drop(permit);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

async fn invoke_with_retries(
    ingest: &LocalIngest,
    created: Created,
    max_attempts: u32,
    dead_letters: &std::path::Path,
) {
    let event = s3_created_event(
        created.event_name,
        &created.key,
        created.size,
        "airlock-local",
    );
    let mut last_error = String::new();
    for attempt in 1..=max_attempts.max(1) {
        let span = crate::invocations::INGEST.span(&crate::invocations::request_id());
        match ingest.handle_payload(event.clone()).instrument(span).await {
            Ok(report) => {
                tracing::debug!(key = created.key, ?report, "ingest done");
                return;
            }
            Err(error) => {
                last_error = error_chain(&error);
                tracing::warn!(key = created.key, attempt, error = %last_error, "ingest failed");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
        }
    }
    let entry = serde_json::json!({"function": "ingest", "error": last_error, "event": event});
    match crate::dead_letter::append(dead_letters, &entry) {
        Ok(()) => tracing::error!(key = created.key, "ingest gave up; event dead-lettered"),
        Err(e) => {
            tracing::error!(key = created.key, error = %e, "ingest gave up and the dead-letter write failed")
        }
    }
}
