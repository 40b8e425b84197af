//! What the tests that run the function binaries against the AWS emulator share:
//! provisioning a deployment, starting the binaries, reading what the emulator
//! delivered, and recording which calls the functions made.

#![allow(dead_code)] // Each test binary uses its own part of this module.

pub mod pipeline;
pub mod simulator;
pub mod stack;

use std::{path::PathBuf, time::Duration};

use airlock_aws::provision;
use airlock_lambda_emulator::Function;
use serde_json::{Value, json};

pub const CREATE_FILE: &str =
    include_str!("../../../../functions/api/tests/fixtures/example-apigw-v2-create-file.json");
pub const SCHEDULED: &str = include_str!(
    "../../../../functions/sweep/tests/fixtures/example-eventbridge-scheduled-event.json"
);
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";
pub use airlock_testkit::samples::PNG;

/// `target/<profile>`, where cargo put the function binaries.
pub fn binary(name: &str) -> PathBuf {
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

pub fn emulator_endpoint() -> String {
    assert!(
        std::env::var("AIRLOCK_TEST_EMULATOR").is_ok(),
        "this test needs the AWS emulator: run `make test`"
    );
    std::env::var("AWS_ENDPOINT_URL").unwrap()
}

/// The resources of one deployment on the emulator.
pub struct Deployment {
    pub sdk: aws_config::SdkConfig,
    /// Reaches the bucket and its notification queue: `sdk` but where they live on
    /// another emulator (the IAM-enforcing one) than the table and bus.
    pub bucket_sdk: aws_config::SdkConfig,
    pub table: String,
    pub bucket: String,
    pub bus: String,
    pub uploads_queue: String,
    pub events_queue: String,
    pub logs: tempfile::TempDir,
}

pub async fn deploy() -> Deployment {
    let mut deployment = deploy_without_notifications().await;
    deployment.uploads_queue = notify_uploads(&deployment).await;
    deployment
}

/// The table, the versioned bucket, the bus and the queue the bus delivers to, but
/// no bucket notifications (for tests that hand ingest its events themselves).
pub async fn deploy_without_notifications() -> Deployment {
    emulator_endpoint();
    let sdk = airlock_aws::load_sdk_config(airlock_aws::tls::TrustRoots::default()).await;
    let name = format!("airlock-{}", ulid::Ulid::new().to_string().to_lowercase());
    let s3 = airlock_aws::s3_client(&sdk);
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    provision::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &name)
        .await
        .unwrap();
    // Versioned, as the template's bucket is: calls then name versions, which S3
    // authorizes as the *Version actions.
    provision::create_versioned_bucket(&s3, &name)
        .await
        .unwrap();
    provision::create_bus(&events, &name).await.unwrap();
    let events_queue = provision_events_queue(&sdk, &name).await;
    Deployment {
        bucket_sdk: sdk.clone(),
        sdk,
        table: name.clone(),
        bucket: name.clone(),
        bus: name,
        uploads_queue: String::new(),
        events_queue,
        logs: tempfile::tempdir().unwrap(),
    }
}

/// Bucket → queue: the S3 notifications ingest would receive. Returns the queue's URL.
async fn notify_uploads(deployment: &Deployment) -> String {
    let name = &deployment.bucket;
    let sqs = aws_sdk_sqs::Client::new(&deployment.sdk);
    let uploads_queue = queue(&sqs, &format!("{name}-uploads")).await;
    let notification = aws_sdk_s3::types::QueueConfiguration::builder()
        .queue_arn(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-uploads"))
        .events(aws_sdk_s3::types::Event::S3ObjectCreated)
        .build()
        .unwrap();
    airlock_aws::s3_client(&deployment.sdk)
        .put_bucket_notification_configuration()
        .bucket(name)
        .notification_configuration(
            aws_sdk_s3::types::NotificationConfiguration::builder()
                .queue_configurations(notification)
                .build(),
        )
        .send()
        .await
        .unwrap();
    uploads_queue
}

/// Bus → queue: what a consumer of Airlock's events would receive. Returns the
/// queue's URL.
pub async fn provision_events_queue(sdk: &aws_config::SdkConfig, bus: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let events_queue = queue(&sqs, &format!("{bus}-events")).await;
    let events_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{bus}-events");
    provision::route_bus_to_queue(&events, bus, bus, &events_arn)
        .await
        .unwrap();
    events_queue
}

/// The SQS batch Lambda's event source mapping delivers for a message whose body is
/// `body` (ingest's continuation queue).
#[allow(dead_code)] // Not every test binary takes continuations.
pub fn continuation_event(body: &Value) -> Value {
    let mut event: Value = serde_json::from_str(include_str!(
        "../../../../functions/ingest/tests/fixtures/example-sqs-event-continuation.json"
    ))
    .unwrap();
    event["Records"][0]["body"] = body.to_string().into();
    event
}

pub async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> String {
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
    pub async fn function(&self, name: &str, extra: &[(&str, String)]) -> Function {
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

    pub fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    /// Messages from a queue until `want` arrived (or ten seconds passed).
    pub async fn receive(&self, queue_url: &str, want: usize) -> Vec<Value> {
        receive_from(&self.sdk, queue_url, want).await
    }
}

/// Messages from a queue on the emulator `sdk` reaches, until `want` arrived (or ten
/// seconds passed).
pub async fn receive_from(sdk: &aws_config::SdkConfig, queue_url: &str, want: usize) -> Vec<Value> {
    {
        let sqs = aws_sdk_sqs::Client::new(sdk);
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
}

impl Deployment {
    /// The S3 notifications for created objects (skipping S3's test event).
    pub async fn object_created_events(&self, want: usize) -> Vec<Value> {
        let mut events = Vec::new();
        for _ in 0..5 {
            events.extend(
                receive_from(&self.bucket_sdk, &self.uploads_queue, want - events.len())
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
    pub async fn stream_event(&self) -> Value {
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
pub fn fill_moto_notification_gaps(mut event: Value) -> Value {
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
pub async fn streams_call(action: &str, body: Value) -> Value {
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
pub fn create_request(name: &str, content_type: &str, size: usize) -> Value {
    request(
        "POST",
        "/v1/files",
        Some(json!({"name": name, "content_type": content_type, "size": size})),
    )
}

/// An HTTP API `GET` by tenant `acme`.
pub fn get_request(path: &str) -> Value {
    request("GET", path, None)
}

pub fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

/// Uploads through the api binary's presigned URL; returns the file id.
pub async fn upload(api: &mut Function, name: &str, content_type: &str, bytes: &[u8]) -> String {
    pipeline::upload(
        api,
        &pipeline::Transfer::Presigned,
        name,
        content_type,
        bytes,
    )
    .await
}

/// An HTTP API request by tenant `acme`, from the create-file fixture.
pub fn request(method: &str, path: &str, json_body: Option<Value>) -> Value {
    let mut request: Value = serde_json::from_str(CREATE_FILE).unwrap();
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    request["rawPath"] = json!(raw_path);
    request["rawQueryString"] = json!(query);
    request["queryStringParameters"] = if query.is_empty() {
        Value::Null
    } else {
        let pairs: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        Value::Object(pairs)
    };
    request["requestContext"]["http"]["path"] = json!(raw_path);
    request["requestContext"]["http"]["method"] = json!(method);
    request["body"] = json_body.map_or(Value::Null, |b| json!(b.to_string()));
    request
}

/// Sends bytes to a presigned upload with the headers it was signed with.
pub async fn put_presigned(upload: &Value, bytes: &[u8]) {
    let client = reqwest::Client::new();
    let response = airlock_testkit::http::put_presigned(&client, upload, bytes.to_vec()).await;
    assert!(response.status().is_success(), "PUT: {}", response.status());
}

/// The emulator's request recorder.
pub struct Recorder {
    endpoint: String,
    http: reqwest::Client,
}

impl Deployment {
    /// The emulator's recorder (one per emulator: record only around one function).
    pub fn recorder(&self) -> Recorder {
        Recorder {
            endpoint: emulator_endpoint(),
            http: reqwest::Client::new(),
        }
    }

    /// An abandoned upload past its deadline, a decided file older than a day, an
    /// upload abandoned in parts, and bytes under the upload prefix with no record.
    pub async fn seed_sweep_work(&self) {
        use airlock_domain::{FileStatus, ports::CatalogWriter};
        let catalog = airlock_aws::DynamoCatalog::from_sdk(&self.sdk, &self.table);
        let tenant = airlock_conformance::fresh_tenant();
        let now = chrono::Utc::now();
        let abandoned = airlock_conformance::pending(&tenant, now - chrono::Duration::hours(2));
        catalog.create(&abandoned).await.unwrap();
        let old = airlock_conformance::pending(&tenant, now - chrono::Duration::days(3));
        catalog.create(&old).await.unwrap();
        catalog
            .replace(FileStatus::Pending, &airlock_conformance::accepted(&old))
            .await
            .unwrap();
        // An upload abandoned in parts: sweep aborts it before expiring the file.
        use airlock_domain::ports::ObjectMultipart;
        let in_parts = airlock_conformance::pending(&tenant, now - chrono::Duration::hours(2));
        let store = airlock_aws::S3Store::from_sdk(&self.sdk, &self.bucket);
        let upload_id = store
            .start_multipart(&in_parts.key(), &in_parts.declared_type)
            .await
            .unwrap();
        let plan = airlock_domain::MultipartUpload::plan(upload_id, 6 << 20, 5 << 20).unwrap();
        catalog
            .create(&in_parts.with_multipart(plan))
            .await
            .unwrap();
        // Bytes no record accounts for (the scenario runs sweep without an orphan
        // grace): reconciliation removes every version of them.
        let orphan = airlock_domain::ObjectKey::new(tenant, airlock_domain::FileId::generate());
        store.put_bytes(&orphan, b"orphan".to_vec()).await.unwrap();
    }
}

impl Recorder {
    async fn post(&self, action: &str) {
        let url = format!("{}/moto-api/recorder/{action}", self.endpoint);
        assert!(
            self.http
                .post(url)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }

    /// Starts recording from nothing.
    pub async fn start(&self) {
        self.post("reset-recording").await;
        self.post("start-recording").await;
    }

    /// Stops, and maps every recorded call on this deployment's resources.
    pub async fn take(
        &self,
        deployment: &Deployment,
        map: impl Fn(&Value) -> Vec<String>,
    ) -> std::collections::BTreeSet<String> {
        self.take_calls(deployment)
            .await
            .iter()
            .flat_map(map)
            .collect()
    }

    /// Stops, and returns every recorded call on this deployment's resources, in order.
    pub async fn take_calls(&self, deployment: &Deployment) -> Vec<Value> {
        self.post("stop-recording").await;
        let url = format!("{}/moto-api/recorder/download-recording", self.endpoint);
        let text = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|call| {
                let name = deployment.table.as_str();
                call["url"].as_str().is_some_and(|url| url.contains(name))
                    || body_text(call).contains(name)
            })
            .collect()
    }
}

/// The IAM actions behind one recorded request.
pub fn actions_of(call: &Value) -> Vec<String> {
    let headers = &call["headers"];
    let header = |name: &str| {
        headers
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    };
    if let Some(target) = header("x-amz-target") {
        let (service, operation) = target.split_once('.').unwrap();
        if operation == "TransactWriteItems" {
            let body: Value = serde_json::from_str(&body_text(call)).unwrap();
            return body["TransactItems"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|item| item.as_object().unwrap().keys())
                .map(|kind| {
                    format!(
                        "dynamodb:{}",
                        if kind == "ConditionCheck" {
                            "ConditionCheckItem".to_owned()
                        } else {
                            format!("{kind}Item")
                        }
                    )
                })
                .collect();
        }
        let prefix = if service.starts_with("DynamoDB") {
            "dynamodb"
        } else if service == "AWSEvents" {
            "events"
        } else if service == "AmazonSQS" {
            "sqs"
        } else {
            service
        };
        return vec![format!("{prefix}:{operation}")];
    }
    let url = call["url"].as_str().unwrap();
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let tagging = query
        .split('&')
        .any(|p| p == "tagging" || p.starts_with("tagging="));
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    let multipart = has("uploads") || has("uploadId");
    let action = match (call["method"].as_str().unwrap(), tagging) {
        // ListMultipartUploads (`?uploads` on the bucket) and ListObjectVersions.
        ("GET", false) if has("uploads") && !has("uploadId") => "s3:ListBucketMultipartUploads",
        ("GET", false) if has("versions") => "s3:ListBucketVersions",
        // Starting, sending a part of and completing a multipart upload are all
        // authorized as s3:PutObject.
        ("POST" | "PUT", false) if multipart => "s3:PutObject",
        ("GET", false) if multipart => "s3:ListMultipartUploadParts",
        ("DELETE", false) if multipart => "s3:AbortMultipartUpload",
        ("PUT", true) => "s3:PutObjectTagging",
        ("GET", true) => "s3:GetObjectTagging",
        ("GET" | "HEAD", false) if query.contains("list-type=2") => "s3:ListBucket",
        ("GET" | "HEAD", false) => "s3:GetObject",
        ("PUT", false) => "s3:PutObject",
        ("DELETE", false) => "s3:DeleteObject",
        (method, _) => panic!("unmapped S3 call {method} {url}"),
    };
    // A call naming a version is authorized as the action's *Version form
    // (s3:GetObjectVersion, s3:PutObjectVersionTagging, s3:DeleteObjectVersion).
    let versioned = query.split('&').any(|p| p.starts_with("versionId="));
    if versioned && !action.starts_with("s3:ListBucket") && action != "s3:PutObject" {
        return vec![versioned_action(action)];
    }
    vec![action.to_owned()]
}

/// `s3:GetObject` → `s3:GetObjectVersion`, `s3:PutObjectTagging` →
/// `s3:PutObjectVersionTagging`, and so on.
fn versioned_action(action: &str) -> String {
    match action.strip_suffix("Tagging") {
        Some(base) => format!("{base}VersionTagging"),
        None => format!("{action}Version"),
    }
}

/// A recorded request's body as text (the recorder base64-encodes some bodies).
pub fn body_text(call: &Value) -> String {
    use base64::Engine;
    let raw = call["body"].as_str().unwrap_or_default();
    if call["body_encoded"].as_bool() == Some(true) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        raw.to_owned()
    }
}
