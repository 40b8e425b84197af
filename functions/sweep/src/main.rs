//! The sweep Lambda binary: reads its configuration and builds the DynamoDB and S3
//! adapters once per cold start, then runs one sweep per scheduled event.

use airlock_aws::{
    DynamoCatalog, S3Store,
    config::{Env, SweepConfig},
    lambda::{diagnostic, init_step, init_step_async, init_tracing},
};
use airlock_domain::ports::SystemClock;
use airlock_sweep::{Sweep, SweepSettings};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let config = init_step("config", || SweepConfig::from_env(&Env::process()))?;
    let sdk = init_step_async("sdk_config", airlock_aws::load_sdk_config()).await;
    let retention = (config.retention_days > 0)
        .then(|| chrono::Duration::days(i64::from(config.retention_days)));
    let sweep = init_step("clients", || {
        Sweep::new(
            DynamoCatalog::from_sdk(&sdk, config.table),
            S3Store::from_sdk(&sdk, config.bucket),
            SystemClock,
            SweepSettings {
                retention,
                ..SweepSettings::default()
            },
        )
    });
    let sweep = &sweep;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            sweep
                .handle_payload(event.payload)
                .await
                .map_err(|e| diagnostic("SweepError", &e))
        },
    ))
    .await
}
