//! The publish Lambda binary: reads its configuration and builds the EventBridge and
//! DynamoDB adapters once per cold start, then hands each stream batch to the
//! handler and returns its `batchItemFailures`.
// The handler's nested futures, wrapped in the invocation span, are deeper than
// rustc's default layout query limit (128).
#![recursion_limit = "256"]

use airlock_aws::{
    DynamoCatalog, EventBridgePublisher,
    config::{Env, PublishConfig},
    lambda::diagnostic,
};
use airlock_publish::Publish;
use airlock_telemetry::{Invocations, function_name, init_step, init_step_async, init_tracing};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let invocations = Invocations::start(function_name("airlock-publish"));
    init_tracing(invocations.function());
    let config = init_step("config", || PublishConfig::from_env(&Env::process()))?;
    let sdk = init_step_async("sdk_config", airlock_aws::load_sdk_config(config.tls_roots)).await;
    let publish = init_step("clients", || {
        Publish::new(
            EventBridgePublisher::from_sdk(&sdk, config.bus),
            DynamoCatalog::from_sdk(&sdk, config.table),
        )
    });
    let publish = &publish;
    invocations.ready();
    let invocations = &invocations;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let span = invocations.span(&event.context.request_id);
            publish
                .handle_payload(event.payload)
                .instrument(span)
                .await
                .map_err(|e| diagnostic("PublishError", &e))
        },
    ))
    .await
}
