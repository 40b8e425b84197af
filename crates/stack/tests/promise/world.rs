//! The four handlers in this process, wired to one set of embedded adapters (catalog
//! with change log and ledger, objects on disk, event log), and driven only through
//! their public entry points with the JSON events AWS would send. The stream is
//! delivered by hand, so a test decides exactly when and how often publish runs.

use std::{path::PathBuf, sync::atomic::AtomicI64, sync::atomic::Ordering};

use airlock_domain::{FileId, FileRecord, FileStatus, ObjectKey, TenantId, ports::CatalogReader};
use airlock_fuzz_harness::{Handlers, LocalApi, LocalIngest, LocalPublish, LocalSweep};
use airlock_local::{FsObjectStore, JsonlEventBus, SqliteCatalog};
use airlock_testkit::{FixedClock, events::http_api_request, samples::PNG};
use aws_lambda_events::{apigw::ApiGatewayV2httpResponse, dynamodb::Event, encodings::Body};
use serde_json::{Value, json};

pub struct World {
    pub dir: tempfile::TempDir,
    pub catalog: SqliteCatalog,
    pub store: FsObjectStore,
    pub clock: FixedClock,
    pub ingest: LocalIngest,
    pub publish: LocalPublish,
    pub sweep: LocalSweep,
    pub api: LocalApi,
    /// How far the hand-driven stream has been delivered to publish.
    stream_position: AtomicI64,
}

pub fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let catalog = SqliteCatalog::open(&dir.path().join("catalog.db")).unwrap();
    let store = FsObjectStore::new(
        dir.path().join("bucket"),
        "http://127.0.0.1:1",
        b"k".to_vec(),
    );
    let clock = FixedClock::at(chrono::Utc::now());
    let bus = JsonlEventBus::open(&dir.path().join("events.jsonl")).unwrap();
    let Handlers {
        ingest,
        publish,
        sweep,
        api,
    } = Handlers::new(catalog.clone(), store.clone(), bus, clock.clone());
    World {
        ingest,
        publish,
        sweep,
        api,
        catalog,
        store,
        clock,
        dir,
        stream_position: AtomicI64::new(0),
    }
}

/// A response's status and JSON body (`Null` when there is none).
pub fn reply(response: &ApiGatewayV2httpResponse) -> (i64, Value) {
    let body = match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (response.status_code, body)
}

impl World {
    pub fn events_path(&self) -> PathBuf {
        self.dir.path().join("events.jsonl")
    }

    /// Sends one request to the api handler.
    pub async fn call(
        &self,
        tenant: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (i64, Value) {
        let request = http_api_request(tenant, method, path, body);
        reply(&self.api.handle(request).await)
    }

    /// Asks the api for an upload and stores `bytes` under its key (as the presigned
    /// PUT would), without notifying ingest.
    pub async fn upload(
        &self,
        tenant: &str,
        content_type: &str,
        declared: usize,
        bytes: &[u8],
    ) -> FileRecord {
        let body =
            json!({"name": "f.bin", "content_type": content_type, "size": declared}).to_string();
        let (status, created) = self.call(tenant, "POST", "/v1/files", Some(&body)).await;
        assert_eq!(status, 201, "{created}");
        let record = self
            .record(tenant, created["file"]["id"].as_str().unwrap())
            .await;
        self.store.put_bytes(&record.key(), bytes).await.unwrap();
        record
    }

    pub async fn record(&self, tenant: &str, id: &str) -> FileRecord {
        self.catalog
            .get(
                &TenantId::parse(tenant).unwrap(),
                FileId::parse(id).unwrap(),
            )
            .await
            .unwrap()
            .unwrap()
    }

    /// acme's upload of a 1×1 PNG, its bytes stored, and the S3 notification for it
    /// (not yet delivered).
    pub async fn png_upload(&self) -> (FileRecord, Value) {
        let record = self.upload("acme", "image/png", PNG.len(), PNG).await;
        let event = s3_event(&record.key(), PNG.len());
        (record, event)
    }

    /// [`World::png_upload`], with its notification delivered to ingest once.
    pub async fn ingested_png(&self) -> FileRecord {
        let (record, event) = self.png_upload().await;
        self.ingest.handle_payload(event).await.unwrap();
        record
    }

    /// The status tag on the record's object, if it has one.
    pub async fn tag_of(&self, record: &FileRecord) -> Option<FileStatus> {
        let key = record.key().to_string();
        self.store.status_tag(&key).await.unwrap()
    }

    /// How many records the catalog's change log holds.
    pub async fn changes(&self) -> usize {
        let records = self.catalog.stream_records_after(0, 100).await.unwrap();
        records.len()
    }

    pub async fn status(&self, record: &FileRecord) -> FileStatus {
        self.record(record.tenant.as_str(), &record.id.to_string())
            .await
            .status
    }

    /// Delivers every change-log record not yet delivered to publish, in one batch, as
    /// the event source mapping would; asserts publish acknowledged all of it.
    pub async fn deliver_stream(&self) -> Value {
        let batch = self.stream_batch().await;
        let response = self.publish.handle_payload(batch.clone()).await.unwrap();
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        if let Some(last) = batch["Records"].as_array().and_then(|r| r.last()) {
            let seq = last["dynamodb"]["SequenceNumber"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            self.stream_position.store(seq, Ordering::SeqCst);
        }
        batch
    }

    /// The stream event holding every change-log record not yet delivered.
    pub async fn stream_batch(&self) -> Value {
        let after = self.stream_position.load(Ordering::SeqCst);
        let mut event = Event::default();
        event.records = self
            .catalog
            .stream_records_after(after, 10_000)
            .await
            .unwrap();
        serde_json::to_value(&event).unwrap()
    }
}

/// The S3 notification for an object, exactly as the local stack sends it.
pub fn s3_event(key: &ObjectKey, size: usize) -> Value {
    airlock_stack::notifications::s3_put_event(&key.to_string(), size as u64, "airlock-local")
}
