//! Starting a stack in the test process, and the client steps every test needs.

use std::time::Duration;

use airlock_stack::{RunningStack, StackConfig};
use airlock_testkit::{http, samples::PNG};
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// How long to wait for the pipeline to reach a state before failing the test.
const PATIENCE: Duration = Duration::from_secs(15);

pub struct TestStack {
    pub stack: RunningStack,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A stack with short intervals, on a free port, in its own data folder.
pub async fn spawn_stack() -> TestStack {
    spawn_stack_with(|_| {}).await
}

/// The same, with settings changed by `adjust`.
pub async fn spawn_stack_with(adjust: impl FnOnce(&mut StackConfig)) -> TestStack {
    start_in(tempfile::tempdir().unwrap(), adjust).await
}

/// A stack on the data in `dir`, with short intervals and settings changed by `adjust`.
async fn start_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut StackConfig)) -> TestStack {
    let mut config = StackConfig::new(dir.path().join("data"));
    config.port = 0;
    config.sweep_every = Duration::from_millis(200);
    adjust(&mut config);
    let stack = airlock_stack::start(config).await.unwrap();
    TestStack {
        stack,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestStack {
    /// Stops this stack and starts another on the same data, with settings changed
    /// by `adjust` (a new port: URLs the first handed out name the old one).
    pub async fn restart_with(self, adjust: impl FnOnce(&mut StackConfig)) -> TestStack {
        self.stack.shutdown().await;
        start_in(self._dir, adjust).await
    }
}

impl TestStack {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.stack.base_url())
    }

    pub fn token(&self, tenant: &str) -> String {
        self.stack.token_for(tenant)
    }

    /// `POST /v1/files`; asserts 201 and returns the body.
    pub async fn create_upload(
        &self,
        tenant: &str,
        name: &str,
        content_type: &str,
        size: usize,
    ) -> Value {
        let (base, token) = (self.stack.base_url(), self.token(tenant));
        http::create_upload(&self.client, &base, &token, name, content_type, size).await
    }

    /// acme's upload of `name`, a 1×1 PNG declared as such, not yet sent.
    pub async fn create_png_upload(&self, name: &str) -> Value {
        self.create_upload("acme", name, "image/png", PNG.len())
            .await
    }

    /// Sends bytes to a presigned upload exactly as the API said to.
    pub async fn put_bytes(&self, upload: &Value, bytes: Vec<u8>) -> Response {
        http::put_presigned(&self.client, upload, bytes).await
    }

    /// Creates an upload and sends its bytes; returns the file id.
    pub async fn upload(
        &self,
        tenant: &str,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> String {
        let (base, token) = (self.stack.base_url(), self.token(tenant));
        let created = http::upload(&self.client, &base, &token, name, content_type, bytes).await;
        created["file"]["id"].as_str().unwrap().to_owned()
    }

    /// acme's upload of a 1×1 PNG, once it is CLEAN; returns its id.
    pub async fn clean_png(&self) -> String {
        let id = self.upload("acme", "pixel.png", "image/png", PNG).await;
        self.wait_for_status("acme", &id, "CLEAN").await;
        id
    }

    /// A plain GET of a URL the api handed out (a presigned download).
    pub async fn fetch(&self, url: &Value) -> Response {
        let url = url.as_str().expect("the URL is text");
        self.client.get(url).send().await.unwrap()
    }

    pub async fn get(&self, tenant: &str, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, tenant, path).await
    }

    /// A body-less request with `tenant`'s token; the status and the JSON answer.
    pub async fn call(
        &self,
        method: reqwest::Method,
        tenant: &str,
        path: &str,
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .request(method, self.url(path))
            .bearer_auth(self.token(tenant))
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls the file until it reaches `status`.
    pub async fn wait_for_status(&self, tenant: &str, id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let (code, file) = self.get(tenant, &format!("/v1/files/{id}")).await;
            if code == StatusCode::OK && file["status"] == status {
                return file;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "file {id} never became {status}: {file}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the event log until an event of `detail_type` for `file_id` is there.
    pub async fn wait_for_event(&self, detail_type: &str, file_id: &str) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(event) = self
                .events()
                .into_iter()
                .find(|e| e["detail-type"] == detail_type && e["detail"]["file_id"] == file_id)
            {
                return event;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {detail_type} event for {file_id}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn events(&self) -> Vec<Value> {
        airlock_local::read_bus_file(&self.stack.events_path()).unwrap()
    }
}
