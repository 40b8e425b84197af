//! What every fuzz target (`fuzz/fuzz_targets/`) and the corpus replay
//! (`crates/stack/tests/promise/corpus.rs`, part of `make test`) run: arbitrary bytes
//! into a handler's public entry point, on the embedded adapters ([`Handlers`], which
//! the promise tests drive by hand too), with the invariants that must hold whatever
//! the bytes are.
//!
//! - ingest, publish, sweep: decoding never panics; an error is an error value.
//! - api: never a 5xx, never a panic; every error is `application/problem+json` whose
//!   `status` is the HTTP status; a success never shows another tenant's file.
//! - cursor: a listing with any cursor answers 200 or 400.
//!
//! Bytes that are JSON are passed as they are; other bytes are given to the api as a
//! request line (`METHOD /path?query`, then the body) and to the event handlers as a
//! JSON string, so each target also learns from inputs that are not JSON.

use std::sync::{Arc, Mutex};

use airlock_api::{Api, ApiSettings};
use airlock_domain::{FileId, Policy};
use airlock_ingest::Ingest;
use airlock_local::{DirRuleSource, FsObjectStore, JsonlEventBus, SqliteCatalog};
use airlock_publish::Publish;
use airlock_sweep::{Sweep, SweepSettings};
use airlock_testkit::{
    FixedClock,
    clock::fixture_time,
    events::{http_api_event, query_parameters},
    samples::PNG,
    scanning::default_scanning,
    uploads,
};
use aws_lambda_events::{apigw::ApiGatewayV2httpRequest, encodings::Body};
use serde_json::Value;

/// The tenant whose token the api requests carry unless the input says otherwise.
pub const TENANT: &str = "acme";
/// A tenant whose file no other tenant's request may ever see.
pub const OTHER_TENANT: &str = "globex";
/// The PENDING upload the fixtures' S3 events name (its bytes are stored).
pub const PENDING_ID: &str = "01JNKZ8Y3M6QW2V7R5T4X9B1CD";
/// The other tenant's file.
pub const OTHER_ID: &str = "01JNKZ9Q0J5XH4E2M8D7C6B5A4";

/// Ingest on the embedded adapters.
pub type LocalIngest = Ingest<SqliteCatalog, FsObjectStore, FixedClock, DirRuleSource>;
/// Publish on the embedded adapters.
pub type LocalPublish = Publish<JsonlEventBus, SqliteCatalog>;
/// Sweep on the embedded adapters.
pub type LocalSweep = Sweep<SqliteCatalog, FsObjectStore, FixedClock, DirRuleSource>;
/// The api on the embedded adapters.
pub type LocalApi = Api<SqliteCatalog, FsObjectStore, SqliteCatalog, FixedClock>;

/// The four handlers over one set of embedded adapters, with the default policy,
/// settings and rules: what the fuzz targets drive, and what the promise tests
/// (`crates/stack/tests/promise`) drive by hand.
pub struct Handlers {
    /// Verifies an upload named by an S3 notification.
    pub ingest: LocalIngest,
    /// Announces the catalog's changes.
    pub publish: LocalPublish,
    /// Expires, deletes and re-scans on a schedule.
    pub sweep: LocalSweep,
    /// The HTTP API.
    pub api: LocalApi,
}

impl Handlers {
    /// The handlers over `catalog`, `store` and `bus`, all reading `clock`.
    pub fn new(
        catalog: SqliteCatalog,
        store: FsObjectStore,
        bus: JsonlEventBus,
        clock: FixedClock,
    ) -> Self {
        Self {
            ingest: Ingest::new(
                catalog.clone(),
                store.clone(),
                clock.clone(),
                Policy::default(),
                default_scanning(),
            ),
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
                store,
                catalog,
                clock,
                ApiSettings::default(),
            ),
        }
    }
}

/// The four handlers over one set of embedded adapters, on a runtime of their own.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    handlers: Handlers,
    /// Serialises calls: the fuzzer is single-threaded, the replay test may not be.
    lock: Arc<Mutex<()>>,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A catalog holding one PENDING upload of `acme` with its bytes stored, and one
    /// file of `globex`.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("a temp dir");
        let catalog = SqliteCatalog::in_memory().expect("an in-memory catalog");
        let store = FsObjectStore::new(dir.path(), "http://127.0.0.1:1", b"fuzz".to_vec());
        let bus = JsonlEventBus::open(&dir.path().join("events.jsonl")).expect("a bus");
        let now = fixture_time();
        let clock = FixedClock::at(now);
        runtime.block_on(async {
            for (tenant, id) in [(TENANT, PENDING_ID), (OTHER_TENANT, OTHER_ID)] {
                let id = FileId::parse(id).expect("a valid id");
                let size = PNG.len() as u64;
                let record = uploads::pending(tenant, id, "a.png", "image/png", size, now);
                uploads::upload(&catalog, &store, &record, Some(PNG)).await;
            }
        });
        Self {
            handlers: Handlers::new(catalog, store, bus, clock),
            runtime,
            _dir: dir,
            lock: Arc::new(Mutex::new(())),
        }
    }

    fn run<T>(&self, future: impl std::future::Future<Output = T>) -> T {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.runtime.block_on(future)
    }

    /// Bytes as an S3 notification to ingest.
    pub fn ingest(&self, data: &[u8]) {
        let _ = self.run(self.handlers.ingest.handle_payload(payload(data)));
    }

    /// Bytes as a DynamoDB stream batch to publish.
    pub fn publish(&self, data: &[u8]) {
        let _ = self.run(self.handlers.publish.handle_payload(payload(data)));
    }

    /// Bytes as an EventBridge event to sweep.
    pub fn sweep(&self, data: &[u8]) {
        let _ = self.run(self.handlers.sweep.handle_payload(payload(data)));
    }

    /// Bytes as an HTTP API request to the api.
    pub fn api(&self, data: &[u8]) {
        let event = match serde_json::from_slice::<Value>(data) {
            Ok(event) => event,
            Err(_) => request_line_event(data),
        };
        let tenant = event["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"]
            .as_str()
            .map(str::to_owned);
        let Ok(request) = serde_json::from_value::<ApiGatewayV2httpRequest>(event) else {
            return; // Not an event API Gateway could send.
        };
        let response = self.run(self.handlers.api.handle(request));
        let status = response.status_code;
        let body = match &response.body {
            Some(Body::Text(text)) => text.clone(),
            Some(Body::Binary(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        assert!((200..500).contains(&status), "status {status}: {body}");
        if status >= 400 {
            let content_type = response
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok());
            assert_eq!(content_type, Some("application/problem+json"), "{body}");
            let problem: Value = serde_json::from_str(&body).expect("a JSON problem body");
            assert_eq!(problem["status"], status, "{body}");
        } else if tenant.as_deref() != Some(OTHER_TENANT) {
            assert!(
                !body.contains(OTHER_ID),
                "another tenant's file leaked: {body}"
            );
        }
    }

    /// Bytes as the cursor of a listing.
    pub fn cursor(&self, data: &[u8]) {
        let cursor = String::from_utf8_lossy(data).into_owned();
        let event = list_event(&cursor);
        let request: ApiGatewayV2httpRequest =
            serde_json::from_value(event).expect("a valid listing event");
        let response = self.run(self.handlers.api.handle(request));
        assert!(
            matches!(response.status_code, 200 | 400),
            "cursor {cursor:?} answered {}",
            response.status_code
        );
    }
}

/// JSON bytes as they are; anything else as a JSON string.
pub fn payload(data: &[u8]) -> Value {
    serde_json::from_slice(data)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(data).into_owned()))
}

/// `METHOD /path?query\nbody` as the event API Gateway would send for `acme`.
fn request_line_event(data: &[u8]) -> Value {
    let text = String::from_utf8_lossy(data);
    let (line, body) = text.split_once('\n').unwrap_or((&text, ""));
    let (method, target) = line.split_once(' ').unwrap_or(("GET", line));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    http_api_event(
        TENANT,
        method,
        path,
        query,
        query_parameters(query),
        (!body.is_empty()).then_some(body),
    )
}

fn list_event(cursor: &str) -> Value {
    let mut parameters = serde_json::Map::new();
    parameters.insert("cursor".into(), cursor.into());
    http_api_event(TENANT, "GET", "/v1/files", "cursor=", parameters, None)
}

/// The fuzz targets, by name, as `make fuzz` and the corpus replay know them.
pub const TARGETS: [&str; 5] = [
    "ingest_event",
    "publish_event",
    "sweep_event",
    "api_request",
    "api_cursor",
];

/// Runs `data` through the target called `name`.
pub fn run_target(harness: &Harness, name: &str, data: &[u8]) {
    match name {
        "ingest_event" => harness.ingest(data),
        "publish_event" => harness.publish(data),
        "sweep_event" => harness.sweep(data),
        "api_request" => harness.api(data),
        "api_cursor" => harness.cursor(data),
        other => panic!("no fuzz target {other}"),
    }
}
