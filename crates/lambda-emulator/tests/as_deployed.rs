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
use airlock_testkit::{http, samples::elf};
use serde_json::json;
use support::{PNG, SCHEDULED, binary, body, deploy, emulator_endpoint, get_request, upload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_binaries_run_the_pipeline_against_the_aws_emulator() {
    let deployment = deploy().await;
    let mut api = deployment.function("api", &[]).await;
    let mut ingest = deployment.function("ingest", &[]).await;
    let mut publish = deployment.function("publish", &[]).await;
    let mut sweep = deployment.function("sweep", &[]).await;

    // A clean file and a disguised executable, uploaded through presigned PUTs.
    let clean = upload(&mut api, "pixel.png", "image/png", PNG).await;
    let rejected = upload(&mut api, "cat.png", "image/png", &elf(256)).await;

    // The emulator's S3 notifications, handed to ingest.
    for notification in deployment.object_created_events(2).await {
        let report = ingest.invoke(notification).await;
        assert!(
            report.is_ok(),
            "ingest: {report:?}\n{}",
            deployment.log("ingest")
        );
    }
    let file = api
        .invoke(get_request(&format!("/v1/files/{clean}")))
        .await
        .unwrap();
    assert_eq!(body(&file)["status"], "CLEAN", "{file}");
    let file = api
        .invoke(get_request(&format!("/v1/files/{rejected}")))
        .await
        .unwrap();
    assert_eq!(body(&file)["status"], "REJECTED", "{file}");
    assert_eq!(
        body(&file)["verdict"]["reasons"][0]["code"],
        "type_mismatch"
    );

    // The emulator's stream records, handed to publish.
    let answer = publish.invoke(deployment.stream_event().await).await;
    let answer = answer.unwrap_or_else(|e| panic!("publish: {e}\n{}", deployment.log("publish")));
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");

    // What a consumer of the bus received.
    let delivered = deployment.receive(&deployment.events_queue, 2).await;
    let kind_of = |id: &str| {
        delivered
            .iter()
            .find(|e| e["detail"]["file_id"] == id)
            .map(|e| e["detail-type"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        kind_of(&clean).as_deref(),
        Some("File Accepted"),
        "{delivered:?}"
    );
    assert_eq!(
        kind_of(&rejected).as_deref(),
        Some("File Rejected"),
        "{delivered:?}"
    );

    // Usage counted both, and a download is offered for the clean file only.
    let usage = body(&api.invoke(get_request("/v1/usage")).await.unwrap());
    assert_eq!(usage["by_status"]["CLEAN"]["files"], 1, "{usage}");
    assert_eq!(usage["by_status"]["REJECTED"]["files"], 1, "{usage}");
    let download = api
        .invoke(get_request(&format!("/v1/files/{clean}/download")))
        .await
        .unwrap();
    assert_eq!(download["statusCode"], 200, "{download}");
    let url = body(&download)["url"].as_str().unwrap().to_owned();
    let bytes = http::get_bytes(&reqwest::Client::new(), &url).await;
    assert_eq!(bytes, PNG);

    // A scheduled sweep runs clean.
    let swept = sweep.invoke(serde_json::from_str(SCHEDULED).unwrap()).await;
    assert!(
        swept.is_ok(),
        "sweep: {swept:?}\n{}",
        deployment.log("sweep")
    );
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
