//! Ingest's continuation queue on SQS: a file that one invocation could not finish
//! is handed to the next through a message (its checkpoint is in the catalog, the
//! message only names the file), which the queue's event source mapping delivers to
//! ingest again.

use airlock_domain::{
    Continuation,
    ports::{ContinuationQueue, QueueError},
};

/// One queue. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqsContinuations {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsContinuations {
    /// The queue at `queue_url` through `client`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// The queue at `queue_url` with a client built from the shared SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self::new(aws_sdk_sqs::Client::new(sdk), queue_url)
    }
}

impl ContinuationQueue for SqsContinuations {
    async fn continue_later(&self, continuation: &Continuation) -> Result<(), QueueError> {
        let body = serde_json::to_string(continuation).map_err(|e| QueueError(Box::new(e)))?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| QueueError(Box::new(aws_sdk_sqs::Error::from(e))))?;
        Ok(())
    }
}
