//! The ingest Lambda binary: reads its configuration and builds the S3 and DynamoDB
//! adapters once per cold start, then hands each S3 notification to the handler.

use airlock_aws::{
    DynamoCatalog, S3Store,
    config::{Env, IngestConfig},
    lambda::{diagnostic, init_step, init_step_async, init_tracing},
};
use airlock_domain::ports::SystemClock;
use airlock_ingest::Ingest;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = init_step("config", || IngestConfig::from_env(&Env::process()))?;
    let sdk = init_step_async("sdk_config", airlock_aws::load_sdk_config()).await;
    let ingest = init_step("clients", || {
        Ingest::new(
            DynamoCatalog::from_sdk(&sdk, config.table),
            S3Store::from_sdk(&sdk, config.bucket),
            SystemClock,
            config.policy,
        )
    });
    let ingest = &ingest;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            ingest
                .handle_payload(event.payload)
                .await
                .map_err(|e| diagnostic("IngestError", &e))
        },
    ))
    .await
}
