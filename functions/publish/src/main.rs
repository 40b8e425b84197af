//! The publish Lambda binary: reads its configuration and builds the EventBridge and
//! DynamoDB adapters once per cold start, then hands each stream batch to the
//! handler and returns its `batchItemFailures`.

use airlock_aws::{
    DynamoCatalog, EventBridgePublisher,
    config::{Env, PublishConfig},
    lambda::{diagnostic, init_step, init_step_async, init_tracing},
};
use airlock_publish::Publish;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = init_step("config", || PublishConfig::from_env(&Env::process()))?;
    let sdk = init_step_async("sdk_config", airlock_aws::load_sdk_config()).await;
    let publish = init_step("clients", || {
        Publish::new(
            EventBridgePublisher::from_sdk(&sdk, config.bus),
            DynamoCatalog::from_sdk(&sdk, config.table),
        )
    });
    let publish = &publish;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            publish
                .handle_payload(event.payload)
                .await
                .map_err(|e| diagnostic("PublishError", &e))
        },
    ))
    .await
}
