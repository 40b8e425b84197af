//! The api Lambda binary: reads its configuration and builds the DynamoDB and S3
//! adapters once per cold start, then answers each HTTP API (v2) request. The
//! handler never fails: every error is already a problem+json response.

use airlock_api::{Api, ApiSettings};
use airlock_aws::{
    DynamoCatalog, S3Store,
    config::{ApiConfig, Env},
    lambda::{init_step, init_step_async, init_tracing},
};
use airlock_domain::ports::SystemClock;
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = init_step("config", || ApiConfig::from_env(&Env::process()))?;
    let sdk = init_step_async("sdk_config", airlock_aws::load_sdk_config()).await;
    let settings = ApiSettings {
        policy: config.policy,
        tenant_claim: config.tenant_claim,
        upload_window: chrono::Duration::from_std(config.upload_window)?,
        presign_ttl: chrono::Duration::from_std(config.presign_ttl)?,
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
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayV2httpRequest>| async move {
            Ok::<_, std::convert::Infallible>(api.handle(event.payload).await)
        },
    ))
    .await
}
