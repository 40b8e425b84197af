//! The four handlers in this process, wired to one set of embedded adapters (catalog
//! with change log and ledger, objects on disk, event log), and driven only through
//! their public entry points with the JSON events AWS would send. The stream is
//! delivered by hand, so a test decides exactly when and how often publish runs.

use std::{path::PathBuf, sync::atomic::AtomicI64, sync::atomic::Ordering};

use airlock_api::{Api, ApiSettings};
use airlock_domain::{
    FileId, FileRecord, FileStatus, ObjectKey, Policy, TenantId, ports::CatalogReader,
};
use airlock_ingest::Ingest;
use airlock_local::{DirRuleSource, FsObjectStore, JsonlEventBus, SqliteCatalog};
use airlock_publish::Publish;
use airlock_sweep::{Sweep, SweepSettings};
use airlock_testkit::{FixedClock, events::http_api_request, scanning::default_scanning};
use aws_lambda_events::{apigw::ApiGatewayV2httpResponse, dynamodb::Event, encodings::Body};
use serde_json::{Value, json};

pub type WorldIngest = Ingest<SqliteCatalog, FsObjectStore, FixedClock, DirRuleSource>;
pub type WorldApi = Api<SqliteCatalog, FsObjectStore, SqliteCatalog, FixedClock>;
pub type WorldPublish = Publish<JsonlEventBus, SqliteCatalog>;
pub type WorldSweep = Sweep<SqliteCatalog, FsObjectStore, FixedClock, DirRuleSource>;

pub struct World {
    pub dir: tempfile::TempDir,
    pub catalog: SqliteCatalog,
    pub store: FsObjectStore,
    pub clock: FixedClock,
    pub ingest: WorldIngest,
    pub publish: WorldPublish,
    pub sweep: WorldSweep,
    pub api: WorldApi,
    /// How far the hand-driven stream has been delivered to publish.
    stream_position: AtomicI64,
}

/// The one place ingest is built, so a change to its constructor is one line here.
pub fn build_ingest(
    catalog: SqliteCatalog,
    store: FsObjectStore,
    clock: FixedClock,
) -> WorldIngest {
    Ingest::new(catalog, store, clock, Policy::default(), default_scanning())
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
    World {
        ingest: build_ingest(catalog.clone(), store.clone(), clock.clone()),
        publish: Publish::new(bus, catalog.clone()),
        sweep: Sweep::new(
            catalog.clone(),
            store.clone(),
            clock.clone(),
            SweepSettings::default(),
            default_scanning(),
        ),
        api: Api::new(
            catalog.clone(),
            store.clone(),
            catalog.clone(),
            clock.clone(),
            ApiSettings::default(),
        ),
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
