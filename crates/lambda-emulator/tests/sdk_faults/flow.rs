//! The flow every case runs, and each function redelivered as its trigger would
//! redeliver it: the api's client retries a 5xx or 429 answer; S3's notification is
//! invoked again after a failed invocation (Lambda's asynchronous retries); the
//! stream's records are delivered again from the first one a batch reported failed,
//! or whole after the invocation failed; the schedule invokes sweep again.
//!
//! The flow: five uploads asked for (a PNG that is kept, the EICAR test file, a PNG
//! that is deleted later, one never sent, and one in parts never sent); the bytes of
//! the first three sent and ingested; their changes published; the kept file's
//! status, download, the usage, the list, a re-scan request and the delete through
//! the api; a scheduled sweep two hours on (which expires the two never sent,
//! aborting the multipart upload, re-scans the kept file and purges the deleted
//! file's bytes); the changes published again.

use airlock_domain::{FileId, ObjectKey, TenantId};
use airlock_testkit::{
    events::http_api_request,
    samples::{PNG, eicar},
};
use serde_json::{Value, json};

use crate::{support, world::World};

/// The tenant every case's files belong to (each case has a deployment of its own).
pub const TENANT: &str = "acme";
/// Tries of one api request, as a client's own retries make them.
const CLIENT_TRIES: usize = 3;
/// Invocations of one S3 notification or schedule: the first and Lambda's two
/// asynchronous retries.
const ASYNC_TRIES: usize = 3;
/// Deliveries of the stream before the test gives up on publish catching up.
const STREAM_DELIVERIES: usize = 8;
/// The size declared for the upload in parts (over the 5 MiB threshold).
const IN_PARTS_BYTES: usize = 6 * 1024 * 1024;

const PUT_EVENT: &str =
    include_str!("../../../../functions/ingest/tests/fixtures/example-s3-event-put.json");

/// The files a run made, by the part each plays.
#[derive(Debug, Clone)]
pub struct Files {
    pub kept: String,
    pub infected: String,
    pub deleted: String,
    pub never_sent: String,
    pub in_parts: String,
}

/// Invocations whose failure reached a trigger (and were redelivered), as lines
/// naming the function and the error.
#[derive(Debug, Default)]
pub struct Deliveries {
    pub failed: Vec<String>,
}

/// What a run did.
pub struct Run {
    pub files: Files,
    pub deliveries: Deliveries,
}

/// Runs the flow; an error names the step that never succeeded.
pub async fn run(world: &World) -> Result<Run, String> {
    let mut deliveries = Deliveries::default();
    let mut flow = Flow {
        world,
        deliveries: &mut deliveries,
        stream_position: 0,
    };
    let files = flow.steps().await?;
    Ok(Run { files, deliveries })
}

struct Flow<'a> {
    world: &'a World,
    deliveries: &'a mut Deliveries,
    /// Stream records acknowledged so far, as the event source mapping keeps it.
    stream_position: usize,
}

impl Flow<'_> {
    async fn steps(&mut self) -> Result<Files, String> {
        let png = PNG.len();
        let eicar = eicar();
        let kept = self.create("pixel.png", "image/png", png).await?;
        let infected = self.create("eicar.txt", "text/plain", eicar.len()).await?;
        let deleted = self.create("doomed.png", "image/png", png).await?;
        let never_sent = self.create("never.png", "image/png", png).await?;
        let in_parts = self
            .create("big.bin", "application/octet-stream", IN_PARTS_BYTES)
            .await?;
        for (created, bytes) in [(&kept, PNG), (&infected, &eicar[..]), (&deleted, PNG)] {
            let version = send_bytes(created, bytes).await?;
            self.ingest(&object_created(&id_of(created), &version, bytes.len()))
                .await?;
        }
        self.publish().await?;

        let kept = id_of(&kept);
        let deleted = id_of(&deleted);
        let file = self
            .expect(200, "GET", &format!("/v1/files/{kept}"))
            .await?;
        if file["status"] != "CLEAN" {
            return Err(format!("the kept file is not CLEAN after ingest: {file}"));
        }
        self.expect(200, "GET", &format!("/v1/files/{kept}/download"))
            .await?;
        self.expect(200, "GET", "/v1/usage").await?;
        self.expect(200, "GET", "/v1/files").await?;
        self.expect(202, "POST", &format!("/v1/files/{kept}/rescan"))
            .await?;
        self.expect(204, "DELETE", &format!("/v1/files/{deleted}"))
            .await?;
        self.publish().await?;

        self.sweep().await?;
        self.publish().await?;
        Ok(Files {
            kept,
            infected: id_of(&infected),
            deleted,
            never_sent: id_of(&never_sent),
            in_parts: id_of(&in_parts),
        })
    }

    /// One api request, retried on a 5xx or 429 as a client does; the final answer's
    /// status and JSON body (null when empty).
    async fn request(
        &mut self,
        method: &str,
        target: &str,
        body: Option<Value>,
    ) -> Result<(u64, Value), String> {
        let body = body.map(|b| b.to_string());
        for _ in 0..CLIENT_TRIES {
            let request = http_api_request(TENANT, method, target, body.as_deref());
            let response = self.world.api.handle(request).await;
            self.world.faults.invocation_ended();
            let response = serde_json::to_value(&response).map_err(|e| e.to_string())?;
            let status = response["statusCode"].as_u64().unwrap_or_default();
            let body = response["body"]
                .as_str()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or(Value::Null);
            if status < 500 && status != 429 {
                return Ok((status, body));
            }
            self.deliveries
                .failed
                .push(format!("api {method} {target}: {status} {body}"));
        }
        Err(format!("api {method} {target} failed {CLIENT_TRIES} times"))
    }

    /// A body-less api request that must end with `status`.
    async fn expect(&mut self, status: u64, method: &str, target: &str) -> Result<Value, String> {
        let (answered, body) = self.request(method, target, None).await?;
        if answered != status {
            return Err(format!("api {method} {target}: {answered} {body}"));
        }
        Ok(body)
    }

    /// Asks the api for an upload; its answer (`file`, `upload`).
    async fn create(
        &mut self,
        name: &str,
        content_type: &str,
        size: usize,
    ) -> Result<Value, String> {
        let body = json!({"name": name, "content_type": content_type, "size": size});
        match self.request("POST", "/v1/files", Some(body)).await? {
            (201, created) => Ok(created),
            (status, body) => Err(format!("create {name}: {status} {body}")),
        }
    }

    /// Hands ingest one S3 notification until an invocation succeeds.
    async fn ingest(&mut self, event: &Value) -> Result<(), String> {
        let world = self.world;
        self.invoke_async("ingest", || world.ingest.handle_payload(event.clone()))
            .await
    }

    /// Runs a scheduled sweep until an invocation succeeds.
    async fn sweep(&mut self) -> Result<(), String> {
        let scheduled: Value =
            serde_json::from_str(support::SCHEDULED).map_err(|e| e.to_string())?;
        let world = self.world;
        self.invoke_async("sweep", || world.sweep.handle_payload(scheduled.clone()))
            .await
    }

    /// Invokes `function` as an asynchronous trigger does (S3's notification, the
    /// schedule): again after a failed invocation, up to Lambda's two retries.
    async fn invoke_async<T, E, F>(
        &mut self,
        function: &str,
        invoke: impl Fn() -> F,
    ) -> Result<(), String>
    where
        E: std::error::Error + 'static,
        F: Future<Output = Result<T, E>>,
    {
        for _ in 0..ASYNC_TRIES {
            let outcome = invoke().await;
            self.world.faults.invocation_ended();
            match outcome {
                Ok(_) => return Ok(()),
                Err(e) => self.failed(function, &e),
            }
        }
        Err(format!("{function} failed {ASYNC_TRIES} times"))
    }

    /// Delivers the stream's records from the last acknowledged one until publish has
    /// taken them all (publish writes no file items, so the records it was given are
    /// all there are until the next step).
    async fn publish(&mut self) -> Result<(), String> {
        for _ in 0..STREAM_DELIVERIES {
            let records = stream_records(self.world).await;
            if records.len() <= self.stream_position {
                return Ok(());
            }
            let batch = &records[self.stream_position..];
            let outcome = self
                .world
                .publish
                .handle_payload(json!({ "Records": batch }))
                .await;
            self.world.faults.invocation_ended();
            match outcome {
                Ok(answer) => match answer.batch_item_failures.first() {
                    None => {
                        self.stream_position = records.len();
                        return Ok(());
                    }
                    Some(first) => {
                        let failed = first.item_identifier.as_deref().unwrap_or_default();
                        let index = batch
                            .iter()
                            .position(|r| r["dynamodb"]["SequenceNumber"] == failed)
                            .ok_or_else(|| format!("publish failed an unknown record {failed}"))?;
                        self.stream_position += index;
                        self.deliveries.failed.push(format!(
                            "publish: {} of {} records failed",
                            answer.batch_item_failures.len(),
                            batch.len()
                        ));
                    }
                },
                Err(e) => self.failed("publish", &e),
            }
        }
        Err(format!(
            "publish did not catch up in {STREAM_DELIVERIES} deliveries"
        ))
    }

    fn failed(&mut self, function: &str, error: &(dyn std::error::Error + 'static)) {
        self.deliveries.failed.push(format!(
            "{function}: {}",
            airlock_domain::error_chain(error)
        ));
    }
}

/// The records on the table's stream publish is given, oldest first: those of file
/// items. The emulator's images of an item a TransactWriteItems created (the
/// ledger's usage counters) hold only its keys, where DynamoDB's hold the item;
/// publish would read such an image as a file's and fail it for ever, so the
/// records of items that are not files, which publish skips on AWS, are left out.
async fn stream_records(world: &World) -> Vec<Value> {
    let event = world.deployment.stream_event().await;
    let records = event["Records"].as_array().cloned().unwrap_or_default();
    records.into_iter().filter(is_file_record).collect()
}

/// Whether a stream record is a file item's (its sort key is a file's).
pub fn is_file_record(record: &Value) -> bool {
    record["dynamodb"]["Keys"]["sk"]["S"]
        .as_str()
        .is_some_and(|sk| sk.starts_with("FILE#"))
}

/// The file id in a create answer.
fn id_of(created: &Value) -> String {
    created["file"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The object key of file `id`.
pub fn key_of(id: &str) -> Result<ObjectKey, String> {
    let tenant = TenantId::parse(TENANT).map_err(|e| e.to_string())?;
    let id = FileId::parse(id).map_err(|e| e.to_string())?;
    Ok(ObjectKey::new(tenant, id))
}

/// Sends `bytes` to the created upload's presigned URL (the client's own request,
/// never faulted); the version S3 stored them as.
async fn send_bytes(created: &Value, bytes: &[u8]) -> Result<String, String> {
    let client = reqwest::Client::new();
    let response =
        airlock_testkit::http::put_presigned(&client, &created["upload"], bytes.to_vec()).await;
    if !response.status().is_success() {
        return Err(format!("PUT {}: {}", id_of(created), response.status()));
    }
    response
        .headers()
        .get("x-amz-version-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| "the versioned bucket named no version".to_owned())
}

/// S3's notification that `version` of file `id`'s object was created.
fn object_created(id: &str, version: &str, size: usize) -> Value {
    let mut event: Value = serde_json::from_str(PUT_EVENT).unwrap_or_default();
    let object = &mut event["Records"][0]["s3"]["object"];
    object["key"] = json!(key_of(id).map(|k| k.to_string()).unwrap_or_default());
    object["versionId"] = json!(version);
    object["size"] = json!(size);
    event
}
