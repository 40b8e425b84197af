//! The four function binaries, run as Lambda runs them (under the Runtime API
//! emulator) with the AWS adapters pointed at the AWS emulator (moto, started by
//! `scripts/with-moto.sh`). Every event a function receives here is one the emulator
//! produced: the S3 notification from the bucket's queue, the stream records from
//! DynamoDB Streams; the published events are read from a queue the bus delivers to.
//!
//! The binaries are the ones `cargo test --workspace` builds beside this test, in
//! `target/<profile>/airlock-*` (the test profile: the same code without LTO;
//! `make build` makes the optimised ones).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod support;

use std::time::Duration;

use airlock_lambda_emulator::{Function, InvokeError};
use serde_json::json;
use support::{
    binary, deploy, emulator_endpoint,
    pipeline::{Functions, Transfer, run_whole_flow},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_binaries_run_the_pipeline_against_the_aws_emulator() {
    let deployment = deploy().await;
    let mut functions = Functions {
        api: deployment.function("api", &[]).await,
        ingest: deployment.function("ingest", &[]).await,
        publish: deployment.function("publish", &[]).await,
        sweep: deployment.function("sweep", &[]).await,
    };
    run_whole_flow(&deployment, &mut functions, &Transfer::Presigned).await;
}

#[tokio::test]
async fn a_cold_start_without_its_table_stops_with_a_message_naming_the_variable() {
    emulator_endpoint();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("api.log");
    let mut api = Function::spawn(
        &binary("airlock-api"),
        "api",
        &[("AIRLOCK_BUCKET", "b".to_owned())],
        &log,
    )
    .await
    .unwrap();
    let status = api.exit_status(Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "the api started without AIRLOCK_TABLE"
    );
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("AIRLOCK_TABLE")
    );
    assert!(matches!(
        api.invoke(json!({})).await,
        Err(InvokeError::Stopped(_))
    ));
}
