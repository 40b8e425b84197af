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

use std::{path::PathBuf, time::Duration};

use airlock_aws::provision;
use airlock_lambda_emulator::{Function, InvokeError};
use serde_json::{Value, json};

const CREATE_FILE: &str =
    include_str!("../../../functions/api/tests/fixtures/example-apigw-v2-create-file.json");
const SCHEDULED: &str = include_str!(
    "../../../functions/sweep/tests/fixtures/example-eventbridge-scheduled-event.json"
);
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\x04\0\x09\xfb\x03\xfd\xe3U\xf2\x9c\0\0\0\0IEND\xaeB`\x82";

/// `target/<profile>`, where cargo put the function binaries.
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build with `cargo test --workspace`",
        path.display()
    );
    path
}

fn emulator_endpoint() -> String {
    assert!(
        std::env::var("AIRLOCK_TEST_EMULATOR").is_ok(),
        "this test needs the AWS emulator: run `make test`"
    );
    std::env::var("AWS_ENDPOINT_URL").unwrap()
}

/// The resources of one deployment on the emulator.
struct Deployment {
    sdk: aws_config::SdkConfig,
    table: String,
    bucket: String,
    bus: String,
    uploads_queue: String,
    events_queue: String,
    logs: tempfile::TempDir,
}

async fn deploy() -> Deployment {
    emulator_endpoint();
    let sdk = airlock_aws::load_sdk_config().await;
    let name = format!("airlock-{}", ulid::Ulid::new().to_string().to_lowercase());
    let s3 = airlock_aws::s3_client(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &name)
        .await
        .unwrap();
    provision::create_bucket(&s3, &name).await.unwrap();
    provision::create_bus(&events, &name).await.unwrap();

    // Bucket → queue: the S3 notifications ingest would receive.
    let uploads_queue = queue(&sqs, &format!("{name}-uploads")).await;
    let notification = aws_sdk_s3::types::QueueConfiguration::builder()
        .queue_arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-uploads"))
        .events(aws_sdk_s3::types::Event::S3ObjectCreated)
        .build()
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket(&name)
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .queue_configurations(notification)
                .build(),
        )
        .send()
        .await
        .unwrap();

    // Bus → queue: what a consumer of Airlock's events would receive.
    let events_queue = queue(&sqs, &format!("{name}-events")).await;
    let events_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-events");
    provision::route_bus_to_queue(&events, &name, &name, &events_arn)
        .await
        .unwrap();
    Deployment {
        sdk,
        table: name.clone(),
        bucket: name.clone(),
        bus: name,
        uploads_queue,
        events_queue,
        logs: tempfile::tempdir().unwrap(),
    }
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
    sqs.create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

impl Deployment {
    /// Starts a function binary with the environment the template gives it.
    async fn function(&self, name: &str, extra: &[(&str, String)]) -> Function {
        let mut env: Vec<(&str, String)> = vec![
            ("AIRLOCK_TABLE", self.table.clone()),
            ("AIRLOCK_BUCKET", self.bucket.clone()),
            ("AIRLOCK_BUS", self.bus.clone()),
            ("RUST_LOG", "info".to_owned()),
        ];
        env.extend(extra.iter().cloned());
        let log = self.logs.path().join(format!("{name}.log"));
        Function::spawn(&binary(&format!("airlock-{name}")), name, &env, &log)
            .await
            .unwrap()
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Messages from a queue until `want` arrived (or ten seconds passed).
    async fn receive(&self, queue_url: &str, want: usize) -> Vec<Value> {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let mut bodies = Vec::new();
        for _ in 0..50 {
            let output = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            for message in output.messages.unwrap_or_default() {
                bodies.push(serde_json::from_str(message.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
            if bodies.len() >= want {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bodies
    }

    /// The S3 notifications for created objects (skipping S3's test event).
    async fn object_created_events(&self, want: usize) -> Vec<Value> {
        let mut events = Vec::new();
        for _ in 0..5 {
            events.extend(
                self.receive(&self.uploads_queue, want - events.len())
                    .await
                    .into_iter()
                    .filter(|body| body.get("Records").is_some())
                    .map(fill_moto_notification_gaps),
            );
            if events.len() >= want {
                break;
            }
        }
        events
    }

    /// Every stream record so far, read through the DynamoDB Streams API as Lambda's
    /// event source mapping reads it, shaped as the event Lambda would deliver.
    async fn stream_event(&self) -> Value {
        let stream_arn = aws_sdk_dynamodb::Client::new(&self.sdk)
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .unwrap()
            .table
            .unwrap()
            .latest_stream_arn
            .unwrap();
        let shards = streams_call("DescribeStream", json!({"StreamArn": stream_arn})).await;
        let mut records = Vec::new();
        for shard in shards["StreamDescription"]["Shards"].as_array().unwrap() {
            let iterator = streams_call(
                "GetShardIterator",
                json!({"StreamArn": stream_arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
            )
            .await;
            let page = streams_call(
                "GetRecords",
                json!({"ShardIterator": iterator["ShardIterator"]}),
            )
            .await;
            for mut record in page["Records"].as_array().cloned().unwrap_or_default() {
                record["eventSourceARN"] = json!(stream_arn);
                records.push(record);
            }
        }
        json!({ "Records": records })
    }
}

/// moto's S3 notifications leave out `userIdentity` and `requestParameters`, which S3
/// always sends and the event model requires; this adds them, empty, and changes
/// nothing else (moto's other difference, `/` encoded as `%2F` in keys, is left for
/// ingest to decode). Listed in the README's emulator notes.
fn fill_moto_notification_gaps(mut event: Value) -> Value {
    for record in event["Records"].as_array_mut().into_iter().flatten() {
        let record = record.as_object_mut().unwrap();
        record
            .entry("userIdentity")
            .or_insert_with(|| json!({"principalId": "moto"}));
        record
            .entry("requestParameters")
            .or_insert_with(|| json!({"sourceIPAddress": "127.0.0.1"}));
    }
    event
}

/// One DynamoDB Streams API call, as raw JSON (the records come back in the same
/// shape Lambda puts in its event).
async fn streams_call(action: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(emulator_endpoint())
        .header("x-amz-target", format!("DynamoDBStreams_20120810.{action}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{action}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// An HTTP API request for `POST /v1/files` by tenant `acme`.
fn create_request(name: &str, content_type: &str, size: usize) -> Value {
    let mut request: Value = serde_json::from_str(CREATE_FILE).unwrap();
    request["body"] =
        json!(json!({"name": name, "content_type": content_type, "size": size}).to_string());
    request
}

fn get_request(path: &str) -> Value {
    let mut request: Value = serde_json::from_str(CREATE_FILE).unwrap();
    request["rawPath"] = json!(path);
    request["requestContext"]["http"]["path"] = json!(path);
    request["requestContext"]["http"]["method"] = json!("GET");
    request["body"] = Value::Null;
    request
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

/// Uploads through the api binary's presigned URL; returns the file id.
async fn upload(api: &mut Function, name: &str, content_type: &str, bytes: &[u8]) -> String {
    let created = api
        .invoke(create_request(name, content_type, bytes.len()))
        .await
        .unwrap();
    assert_eq!(created["statusCode"], 201, "{created}");
    let created = body(&created);
    let mut put = reqwest::Client::new().put(created["upload"]["url"].as_str().unwrap());
    for (header, value) in created["upload"]["headers"].as_object().unwrap() {
        if header != "content-length" && header != "host" {
            put = put.header(header, value.as_str().unwrap());
        }
    }
    let response = put.body(bytes.to_vec()).send().await.unwrap();
    assert!(response.status().is_success(), "PUT: {}", response.status());
    created["file"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_binaries_run_the_pipeline_against_the_aws_emulator() {
    let deployment = deploy().await;
    let mut api = deployment.function("api", &[]).await;
    let mut ingest = deployment.function("ingest", &[]).await;
    let mut publish = deployment.function("publish", &[]).await;
    let mut sweep = deployment.function("sweep", &[]).await;

    // A clean file and a disguised executable, uploaded through presigned PUTs.
    let clean = upload(&mut api, "pixel.png", "image/png", PNG).await;
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.resize(256, 0);
    let rejected = upload(&mut api, "cat.png", "image/png", &elf).await;

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
    let bytes = reqwest::get(body(&download)["url"].as_str().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), PNG);

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
