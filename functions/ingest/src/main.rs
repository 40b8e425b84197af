//! The ingest Lambda binary: reads its configuration, builds the S3 and DynamoDB
//! adapters and compiles the scanning rules once per cold start, then hands each S3
//! notification to the handler.

use airlock_aws::{
    DynamoCatalog, S3Store,
    config::{Env, IngestConfig},
    lambda::{diagnostic, init_tracing},
};
use airlock_domain::ports::SystemClock;
use airlock_ingest::Ingest;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = IngestConfig::from_env(&Env::process())?;
    let sdk = airlock_aws::load_sdk_config().await;
    let scanning = airlock_aws::scanning(&sdk, &config.bucket, config.scan).await?;
    let ingest = Ingest::new(
        DynamoCatalog::from_sdk(&sdk, config.table),
        S3Store::from_sdk(&sdk, config.bucket),
        SystemClock,
        config.policy,
        scanning,
    );
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
