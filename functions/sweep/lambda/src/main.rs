//! The sweep Lambda binary: reads its configuration, builds the DynamoDB and S3
//! adapters and starts compiling the scanning rules once per cold start (in the
//! background: the first re-scan waits for them), then runs one sweep
//! per scheduled event.
// The handler's nested futures, wrapped in the invocation span, are deeper than
// rustc's default layout query limit (128).
#![recursion_limit = "256"]

use airlock_aws::{
    DynamoCatalog, S3Store,
    config::{Env, SweepConfig},
    lambda::diagnostic,
};
use airlock_domain::ports::SystemClock;
use airlock_sweep::{Sweep, SweepSettings};
use airlock_telemetry::{Invocations, function_name, init_step, init_step_async, init_tracing};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tracing::Instrument;

/// A configured grace as the use case counts time; one past chrono's range (no
/// deployment sets that) is as long as it can be.
fn grace(configured: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(configured).unwrap_or(chrono::Duration::MAX)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let invocations = Invocations::start(function_name("airlock-sweep"));
    init_tracing(invocations.function());
    let config = init_step("config", || SweepConfig::from_env(&Env::process()))?;
    let sdk = init_step_async("sdk_config", airlock_aws::load_sdk_config(config.tls_roots)).await;
    let retention = (config.retention_days > 0)
        .then(|| chrono::Duration::days(i64::from(config.retention_days)));
    // One S3 client for the store and the rules: building a client parses the trust
    // store's certificates again.
    let s3 = init_step("s3_client", || airlock_aws::s3_client(&sdk));
    // The rules are loaded and compiled in the background: the cold start does not
    // wait for them, the first scan waits for what is left.
    let scanning = init_step("rules", || {
        airlock_aws::scanning(s3.clone(), &config.bucket, config.scan)
    });
    let sweep = init_step("clients", || {
        Sweep::new(
            DynamoCatalog::from_sdk(&sdk, config.table),
            S3Store::new(s3, config.bucket),
            SystemClock,
            SweepSettings {
                retention,
                rescan_limit: config.rescan_limit,
                reconcile_limit: config.reconcile_limit,
                orphan_grace: grace(config.orphan_grace),
                retired_grace: grace(config.retired_grace),
                ..SweepSettings::default()
            },
            scanning,
        )
        .with_quarantine(config.quarantine)
    });
    let sweep = &sweep;
    invocations.ready();
    let invocations = &invocations;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let span = invocations.span(&event.context.request_id);
            sweep
                .handle_payload(event.payload)
                .instrument(span)
                .await
                .map_err(|e| diagnostic("SweepError", &e))
        },
    ))
    .await
}
