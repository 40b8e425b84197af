//! The api Lambda binary: reads its configuration and builds the DynamoDB and S3
//! adapters once per cold start, then answers each HTTP API (v2) request. The
//! handler never fails: every error is already a problem+json response.
// The handler's nested futures, wrapped in the invocation span, are deeper than
// rustc's default layout query limit (128).
#![recursion_limit = "256"]

use airlock_api::{Api, ApiSettings};
use airlock_aws::{
    DynamoCatalog, S3Store,
    config::{ApiConfig, Env},
};
use airlock_domain::ports::SystemClock;
use airlock_telemetry::{Invocations, function_name, init_step, init_step_async, init_tracing};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let invocations = Invocations::start(function_name("airlock-api"));
    init_tracing(invocations.function());
    let config = init_step("config", || ApiConfig::from_env(&Env::process()))?;
    let sdk = init_step_async("sdk_config", airlock_aws::load_sdk_config(config.tls_roots)).await;
    let settings = ApiSettings {
        policy: config.policy,
        tenant_claim: config.tenant_claim,
        upload_window: chrono::Duration::from_std(config.upload_window)?,
        presign_ttl: chrono::Duration::from_std(config.presign_ttl)?,
        max_pending_uploads: config.max_pending_uploads,
        max_pending_rescans: config.max_pending_rescans,
        multipart_threshold: config.multipart_threshold,
        part_size: config.part_size,
        multipart_window: chrono::Duration::from_std(config.multipart_window)?,
        ..ApiSettings::default()
    };
    let api = init_step("clients", || {
        let catalog = DynamoCatalog::from_sdk(&sdk, config.table);
        Api::new(
            catalog.clone(),
            S3Store::from_sdk(&sdk, config.bucket),
            catalog,
            SystemClock,
            settings,
        )
    });
    let api = &api;
    invocations.ready();
    let invocations = &invocations;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            let span = invocations.span(&event.context.request_id);
            Ok::<_, std::convert::Infallible>(api.handle(event.payload).instrument(span).await)
        },
    ))
    .await
}
