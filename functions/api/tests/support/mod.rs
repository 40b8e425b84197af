//! Test helpers: in-memory fakes of the ports the api needs, the API Gateway event
//! fixtures, and small readers for responses.
//!
//! The fakes keep just enough behaviour (tenant scoping, conditional writes,
//! newest-first paging) to hold the handler to the ports' contracts, plus switches to
//! make a port fail, which the real adapters cannot be told to do; `tests/local.rs`
//! runs the handler over `airlock-local`'s embedded adapters instead.

#![allow(dead_code)]

pub mod multipart;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
};

use airlock_api::{Api, ApiSettings};
use airlock_domain::{
    ContentType, FileId, FileName, FileRecord, FileStatus, Finding, ObjectKey, Reason, TenantId,
    Timestamp, UploadRequest, Usage, UsageDelta, Verdict,
    ports::{
        CatalogError, CatalogReader, CatalogWriter, LedgerError, ListQuery, ObjectPresigner,
        ObjectRemover, Page, PresignedRequest, StoreError, UploadToSign, UsageReader,
    },
};
use airlock_testkit::FixedClock;
use aws_lambda_events::{
    apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse},
    encodings::Body,
};

/// The instant every test runs at.
pub fn now() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
        .expect("a valid instant")
        .to_utc()
}

/// The id the get, download and delete fixtures name.
pub const FIXTURE_FILE_ID: &str = "01JGZ3N4P5Q6R7S8T9V0W1X2Y3";

/// [`FIXTURE_FILE_ID`], parsed.
pub fn fixture_id() -> FileId {
    FileId::parse(FIXTURE_FILE_ID).expect("the fixtures name a valid id")
}

/// A tenant id that is known to be valid.
pub fn tenant(raw: &str) -> TenantId {
    TenantId::parse(raw).expect("a valid tenant")
}

// ---------------------------------------------------------------------------------
// Fakes

#[derive(Debug, Default)]
struct CatalogState {
    records: BTreeMap<(TenantId, FileId), FileRecord>,
    /// Fail every call with a backend error.
    broken: bool,
    /// Answer this many `replace` calls with `StatusChanged`, writing nothing.
    lose_replaces: usize,
    replace_calls: usize,
}

/// The catalog and usage counters in memory. Clones share state, so a test keeps one
/// to arrange and inspect while the `Api` owns another.
#[derive(Debug, Clone, Default)]
pub struct MemoryCatalog(Arc<Mutex<CatalogState>>);

impl MemoryCatalog {
    fn state(&self) -> MutexGuard<'_, CatalogState> {
        self.0.lock().expect("catalog lock poisoned")
    }

    /// Stores a record as it is.
    pub fn insert(&self, record: FileRecord) {
        self.state()
            .records
            .insert((record.tenant.clone(), record.id), record);
    }

    /// Every one of `records`, as [`MemoryCatalog::insert`] stores one.
    pub fn insert_all(&self, records: impl IntoIterator<Item = FileRecord>) {
        for record in records {
            self.insert(record);
        }
    }

    /// The stored record, whoever owns it.
    pub fn record(&self, id: FileId) -> Option<FileRecord> {
        self.state().records.values().find(|r| r.id == id).cloned()
    }

    /// Every stored record.
    pub fn records(&self) -> Vec<FileRecord> {
        self.state().records.values().cloned().collect()
    }

    /// From now on every call fails as if the backend were down.
    pub fn break_down(&self) {
        self.state().broken = true;
    }

    /// The next `count` replaces lose their conditional write.
    pub fn lose_next_replaces(&self, count: usize) {
        self.state().lose_replaces = count;
    }

    /// How many times `replace` was called.
    pub fn replace_calls(&self) -> usize {
        self.state().replace_calls
    }

    fn check(&self) -> Result<(), CatalogError> {
        if self.state().broken {
            return Err(CatalogError::Backend(
                "connection reset by table-xyz".into(),
            ));
        }
        Ok(())
    }
}

impl CatalogReader for MemoryCatalog {
    async fn get(&self, tenant: &TenantId, id: FileId) -> Result<Option<FileRecord>, CatalogError> {
        self.check()?;
        Ok(self.state().records.get(&(tenant.clone(), id)).cloned())
    }

    async fn list(&self, tenant: &TenantId, query: &ListQuery) -> Result<Page, CatalogError> {
        self.check()?;
        let state = self.state();
        let mut matching: Vec<FileRecord> = state
            .records
            .values()
            .filter(|r| r.tenant == *tenant)
            .filter(|r| query.status.is_none_or(|s| r.status == s))
            .filter(|r| query.after.is_none_or(|after| r.id < after))
            .cloned()
            .collect();
        matching.sort_by_key(|r| std::cmp::Reverse(r.id));
        let more = matching.len() > query.limit;
        matching.truncate(query.limit);
        let next = if more {
            matching.last().map(|r| r.id)
        } else {
            None
        };
        Ok(Page {
            records: matching,
            next,
        })
    }

    async fn rescans_requested(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> Result<usize, CatalogError> {
        self.check()?;
        let state = self.state();
        let asked = state
            .records
            .values()
            .filter(|r| r.tenant == *tenant && r.status == FileStatus::Clean)
            .filter(|r| r.rescan_requested_at.is_some())
            .count();
        Ok(asked.min(limit))
    }
}

impl CatalogWriter for MemoryCatalog {
    async fn create(&self, record: &FileRecord) -> Result<(), CatalogError> {
        self.check()?;
        let mut state = self.state();
        let key = (record.tenant.clone(), record.id);
        if state.records.contains_key(&key) {
            return Err(CatalogError::AlreadyExists);
        }
        state.records.insert(key, record.clone());
        Ok(())
    }

    async fn replace(&self, expected: FileStatus, next: &FileRecord) -> Result<(), CatalogError> {
        self.check()?;
        let mut state = self.state();
        state.replace_calls += 1;
        if state.lose_replaces > 0 {
            state.lose_replaces -= 1;
            return Err(CatalogError::StatusChanged { expected });
        }
        let Some(current) = state.records.get_mut(&(next.tenant.clone(), next.id)) else {
            return Err(CatalogError::NotFound);
        };
        if current.status != expected {
            return Err(CatalogError::StatusChanged { expected });
        }
        *current = next.clone();
        Ok(())
    }
}

impl UsageReader for MemoryCatalog {
    async fn usage(&self, tenant: &TenantId) -> Result<Usage, LedgerError> {
        if self.state().broken {
            return Err(LedgerError::Backend("ledger down".into()));
        }
        // Only the statuses in use, as a sparse adapter would answer; the api is
        // expected to fill in the rest.
        let mut usage = Usage {
            by_status: BTreeMap::new(),
        };
        for record in self.records().iter().filter(|r| r.tenant == *tenant) {
            if let Some(delta) = UsageDelta::from_change(None, record) {
                usage.apply(&delta);
            }
        }
        Ok(usage)
    }
}

/// One presigned upload the store handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUpload {
    /// The object key.
    pub key: String,
    /// The content type the PUT must declare.
    pub content_type: String,
    /// The exact length the PUT must have.
    pub size: u64,
    /// When the signature expires.
    pub expires_at: Timestamp,
}

#[derive(Debug, Default)]
struct StoreState {
    uploads: Vec<SignedUpload>,
    downloads: Vec<(String, String, Timestamp)>,
    download_versions: Vec<Option<String>>,
    removed: Vec<String>,
    failing_removals: usize,
    multipart: multipart::MultipartState,
}

/// An object store that signs fake URLs and remembers what it was asked.
#[derive(Debug, Clone, Default)]
pub struct RecordingStore(Arc<Mutex<StoreState>>);

/// The host fake URLs point at.
pub const STORE_URL: &str = "https://airlock-uploads.s3.eu-west-1.amazonaws.com";

impl RecordingStore {
    fn state(&self) -> MutexGuard<'_, StoreState> {
        self.0.lock().expect("store lock poisoned")
    }

    /// Every upload signed so far.
    pub fn uploads(&self) -> Vec<SignedUpload> {
        self.state().uploads.clone()
    }

    /// Every download signed so far: key, file name, expiry.
    pub fn downloads(&self) -> Vec<(String, String, Timestamp)> {
        self.state().downloads.clone()
    }

    /// The object version each download was signed for, in order (`None`: current).
    pub fn download_versions(&self) -> Vec<Option<String>> {
        self.state().download_versions.clone()
    }

    /// Every key removed so far, in order (repeats included).
    pub fn removed(&self) -> Vec<String> {
        self.state().removed.clone()
    }

    /// The next `count` removals fail.
    pub fn fail_next_removals(&self, count: usize) {
        self.state().failing_removals = count;
    }
}

fn signed(method: &'static str, key: &ObjectKey, expires_at: Timestamp) -> PresignedRequest {
    PresignedRequest {
        url: format!(
            "{STORE_URL}/{key}?X-Amz-Expires=900&X-Amz-Signature=deadbeef{}",
            expires_at.timestamp()
        ),
        method,
        headers: BTreeMap::new(),
        expires_at,
    }
}

impl ObjectPresigner for RecordingStore {
    async fn presign_upload(
        &self,
        upload: UploadToSign<'_>,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let (key, content_type, size) = (upload.key, upload.content_type, upload.size);
        self.state().uploads.push(SignedUpload {
            key: key.to_string(),
            content_type: content_type.to_string(),
            size,
            expires_at,
        });
        let mut request = signed("PUT", key, expires_at);
        request
            .headers
            .insert("content-type".to_owned(), content_type.to_string());
        request
            .headers
            .insert("content-length".to_owned(), size.to_string());
        Ok(request)
    }

    async fn presign_download(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        file_name: &FileName,
        _content_type: &ContentType,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let mut state = self.state();
        state
            .downloads
            .push((key.to_string(), file_name.to_string(), expires_at));
        state.download_versions.push(version.map(str::to_owned));
        Ok(signed("GET", key, expires_at))
    }
}

impl ObjectRemover for RecordingStore {
    async fn remove(&self, key: &ObjectKey) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.failing_removals > 0 {
            state.failing_removals -= 1;
            return Err(StoreError::Backend("slow down".into()));
        }
        state.removed.push(key.to_string());
        Ok(())
    }

    async fn remove_upload(
        &self,
        _key: &ObjectKey,
        _version: Option<&str>,
    ) -> Result<(), StoreError> {
        unreachable!("the api never removes an upload alone")
    }
}

// ---------------------------------------------------------------------------------
// The app under test

/// The handler wired to fakes, and handles on the fakes to arrange and inspect.
pub struct TestApp {
    /// The handler under test.
    pub api: Api<MemoryCatalog, RecordingStore, MemoryCatalog, FixedClock>,
    /// The catalog (and usage reader) the handler uses.
    pub catalog: MemoryCatalog,
    /// The object store the handler uses.
    pub store: RecordingStore,
}

/// An api with default settings.
pub fn spawn_app() -> TestApp {
    spawn_app_with(ApiSettings::default())
}

/// An api with the given settings.
pub fn spawn_app_with(settings: ApiSettings) -> TestApp {
    let catalog = MemoryCatalog::default();
    let store = RecordingStore::default();
    let api = Api::new(
        catalog.clone(),
        store.clone(),
        catalog.clone(),
        FixedClock::at(now()),
        settings,
    );
    TestApp {
        api,
        catalog,
        store,
    }
}

/// An api with default settings over a catalog holding acme's CLEAN `report.pdf`
/// under [`FIXTURE_FILE_ID`], the file the get, download and delete fixtures name.
pub fn spawn_app_with_report() -> TestApp {
    let app = spawn_app();
    app.catalog
        .insert(clean_record("acme", fixture_id(), "report.pdf"));
    app
}

impl TestApp {
    /// The status of the fixtures' file in the catalog, if it is there.
    pub fn fixture_status(&self) -> Option<FileStatus> {
        self.catalog.record(fixture_id()).map(|r| r.status)
    }

    /// Runs one request through the handler.
    pub async fn send(&self, request: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        self.api.handle(request).await
    }
}

// ---------------------------------------------------------------------------------
// Records

/// The `n`th of a series of file ids; higher `n` sort later, as later uploads do.
pub fn file_id(n: u16) -> FileId {
    FileId::parse(&format!("01JGZ3N4P5Q6R7S8T9V0W1X{n:03}")).expect("a valid ULID")
}

/// A PENDING record of `tenant`'s, granted five minutes before [`now`].
pub fn pending_record(tenant_id: &str, id: FileId, name: &str) -> FileRecord {
    let created = now() - chrono::Duration::minutes(5);
    FileRecord::pending(
        tenant(tenant_id),
        id,
        UploadRequest {
            name: FileName::parse(name).expect("a valid name"),
            content_type: ContentType::parse("application/pdf").expect("a valid type"),
            size: 48_213,
        },
        created,
        created + chrono::Duration::hours(1),
    )
}

/// A record ingest has decided on, with the given reasons (none: CLEAN).
pub fn decided_record(tenant_id: &str, id: FileId, name: &str, reasons: Vec<Reason>) -> FileRecord {
    let pending = pending_record(tenant_id, id, name);
    let finding = Finding {
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_owned(),
        size: 48_213,
        detected_type: ContentType::parse("application/pdf").expect("a valid type"),
        verdict: Verdict::from_reasons(reasons),
        inspected_at: now() - chrono::Duration::minutes(4),
        scan: None,
        version_id: None,
        etag: None,
    };
    pending
        .with_finding(finding, now() - chrono::Duration::minutes(4))
        .expect("PENDING accepts a verdict")
}

/// A CLEAN record.
pub fn clean_record(tenant_id: &str, id: FileId, name: &str) -> FileRecord {
    decided_record(tenant_id, id, name, Vec::new())
}

// ---------------------------------------------------------------------------------
// Events

/// Parses a checked-in API Gateway HTTP API (v2) event.
pub fn event(json: &str) -> ApiGatewayV2httpRequest {
    serde_json::from_str(json).expect("the fixture is a valid API Gateway v2 event")
}

/// `POST /v1/files` with a JSON body, as tenant acme.
pub fn create_file_event(body: &str) -> ApiGatewayV2httpRequest {
    let mut request = event(include_str!(
        "../fixtures/example-apigw-v2-create-file.json"
    ));
    request.body = Some(body.to_owned());
    request
}

/// `GET` of some path, as tenant acme.
pub fn get_event(path: &str) -> ApiGatewayV2httpRequest {
    let mut request = event(include_str!("../fixtures/example-apigw-v2-get-file.json"));
    set_path(&mut request, path);
    request
}

/// `DELETE` of some path, as tenant acme.
pub fn delete_event(path: &str) -> ApiGatewayV2httpRequest {
    let mut request = event(include_str!(
        "../fixtures/example-apigw-v2-delete-file.json"
    ));
    set_path(&mut request, path);
    request
}

/// `GET /v1/files` with a raw query string, as tenant acme.
pub fn list_event(query: &str) -> ApiGatewayV2httpRequest {
    let mut request = event(include_str!("../fixtures/example-apigw-v2-list-files.json"));
    request.raw_query_string = Some(query.to_owned());
    // Only the raw string is set by the test, so the parsed map must not disagree.
    request.query_string_parameters = Default::default();
    request
}

/// Points an event at another path, as API Gateway would have sent it.
pub fn set_path(request: &mut ApiGatewayV2httpRequest, path: &str) {
    request.raw_path = Some(path.to_owned());
    request.request_context.http.path = Some(path.to_owned());
}

/// Sets the method, as API Gateway would have sent it.
pub fn set_method(request: &mut ApiGatewayV2httpRequest, method: &str) {
    request.request_context.http.method = method.parse().expect("a valid method");
}

/// Makes the request come from another tenant (or, with `None`, from no tenant).
pub fn set_tenant(request: &mut ApiGatewayV2httpRequest, tenant_id: Option<&str>) {
    let claims = &mut request
        .request_context
        .authorizer
        .as_mut()
        .and_then(|a| a.jwt.as_mut())
        .expect("the fixture has a JWT authorizer")
        .claims;
    match tenant_id {
        Some(t) => claims.insert("tenant_id".to_owned(), t.to_owned()),
        None => claims.remove("tenant_id"),
    };
}

// ---------------------------------------------------------------------------------
// Responses

/// The response body parsed as JSON.
pub fn json(response: &ApiGatewayV2httpResponse) -> serde_json::Value {
    assert!(!response.is_base64_encoded, "bodies are sent as text");
    match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).expect("the body is JSON"),
        other => panic!("expected a text body, got {other:?}"),
    }
}

/// The JSON body of a response that must have `status` (the body is in the failure
/// message when it has not).
pub fn json_with_status(response: &ApiGatewayV2httpResponse, status: i64) -> serde_json::Value {
    let body = json(response);
    assert_eq!(response.status_code, status, "{body}");
    body
}

/// A response header as text.
pub fn header<'a>(response: &'a ApiGatewayV2httpResponse, name: &str) -> Option<&'a str> {
    response.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Asserts a problem response: status, content type, `type` slug and body status.
pub fn assert_problem(
    response: &ApiGatewayV2httpResponse,
    status: i64,
    slug: &str,
) -> serde_json::Value {
    let body = json(response);
    assert_eq!(
        response.status_code, status,
        "unexpected status; body: {body}"
    );
    assert_eq!(
        header(response, "content-type"),
        Some("application/problem+json")
    );
    assert_eq!(
        body["type"],
        format!("https://airlock.dev/problems/{slug}"),
        "{body}"
    );
    assert_eq!(body["status"], status, "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}
