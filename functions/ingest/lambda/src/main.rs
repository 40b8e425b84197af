//! The ingest Lambda binary: reads its configuration, builds the S3 and DynamoDB
//! adapters and starts compiling the scanning rules once per cold start (in the
//! background: the first scan waits for them), then hands each S3
//! notification, and each batch from the continuation queue, to the handler with
//! the invocation's deadline.
// The handler's nested futures, wrapped in the invocation span, are deeper than
// rustc's default layout query limit (128).
#![recursion_limit = "256"]

use std::time::{Duration, Instant, SystemTime};

use airlock_aws::{
    DynamoCatalog, S3Store, SqsContinuations,
    config::{CarryOverConfig, Env, IngestConfig},
    lambda::diagnostic,
};
use airlock_domain::ports::{ContinuationQueue, QueueError, SystemClock};
use airlock_ingest::{Carryover, Ingest};
use airlock_telemetry::{Invocations, function_name, init_step, init_step_async, init_tracing};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let invocations = Invocations::start(function_name("airlock-ingest"));
    init_tracing(invocations.function());
    let config = init_step("config", || IngestConfig::from_env(&Env::process()))?;
    let sdk = init_step_async("sdk_config", airlock_aws::load_sdk_config(config.tls_roots)).await;
    // One S3 client for the store and the rules: building a client parses the trust
    // store's certificates again.
    let s3 = init_step("s3_client", || airlock_aws::s3_client(&sdk));
    // The rules are loaded and compiled in the background: the cold start does not
    // wait for them, the first scan waits for what is left.
    let scanning = init_step("rules", || {
        airlock_aws::scanning(s3.clone(), &config.bucket, config.scan)
    });
    let ingest = init_step("clients", || {
        Ingest::new(
            DynamoCatalog::from_sdk(&sdk, config.table),
            S3Store::new(s3, config.bucket),
            SystemClock,
            config.policy,
            scanning,
        )
        .with_quarantine(config.quarantine)
        .with_carryover(carryover(
            config
                .carry_over
                .queue_url
                .as_deref()
                .map(|url| SqsContinuations::from_sdk(&sdk, url)),
            config.carry_over,
        ))
    });
    let ingest = &ingest;
    invocations.ready();
    let invocations = &invocations;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let span = invocations.span(&event.context.request_id);
            let deadline = instant_of(event.context.deadline);
            ingest
                .handle_payload_by(event.payload, Some(deadline))
                .instrument(span)
                .await
                .map_err(|e| diagnostic("IngestError", &e))
        },
    ))
    .await
}

/// The continuation queue the configuration names, or none.
enum Continuations {
    Sqs(SqsContinuations),
    Unset,
}

impl ContinuationQueue for Continuations {
    async fn continue_later(
        &self,
        continuation: &airlock_domain::Continuation,
    ) -> Result<(), QueueError> {
        match self {
            Self::Sqs(queue) => queue.continue_later(continuation).await,
            Self::Unset => {
                airlock_ingest::NoContinuation
                    .continue_later(continuation)
                    .await
            }
        }
    }
}

/// Carry-over through the configured queue; without one a pass never stops, and the
/// cold start says what that means.
fn carryover(queue: Option<SqsContinuations>, config: CarryOverConfig) -> Carryover<Continuations> {
    match queue {
        Some(queue) => {
            Carryover::through(Continuations::Sqs(queue), config.margin, config.after_bytes)
        }
        None => {
            tracing::warn!(
                "AIRLOCK_CONTINUATION_QUEUE_URL is not set: a file one invocation cannot finish times out and is retried"
            );
            Carryover::never(Continuations::Unset)
        }
    }
}

/// The runtime's deadline (Unix milliseconds) as an instant of this process's clock.
fn instant_of(deadline_ms: u64) -> Instant {
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Instant::now() + left
}
