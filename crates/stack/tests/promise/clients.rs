//! Clients of the running stack binary for the crash and load tests: an uploader that
//! keeps going through restarts (a request that fails for want of a server is sent
//! again), a tiny seeded random source, and the books read from the data folder.

use std::{path::Path, time::Duration};

use airlock_local::SqliteCatalog;
use airlock_testkit::samples::{PNG, elf};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::accounting::{Books, wait_until_balanced};

/// xorshift64*: enough randomness to pick kill times, and a seed that replays a run.
pub struct Rng(u64);

impl Rng {
    /// From `env` if set (to replay a failed run), else from the clock; prints it.
    pub fn seeded_from_env(env: &str) -> Self {
        let seed = std::env::var(env)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        println!("seed: {seed} (replay with {env}={seed})");
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// Where a client's upload ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The bytes were stored (200, or 412 for a retry after a lost 200): the stack
    /// owes a verdict.
    Stored { id: String, clean: bool },
    /// The URL expired before the bytes could be sent (a long outage): the upload
    /// expires, unless an earlier try that looked failed had stored the bytes.
    Refused { id: String, clean: bool },
}

/// A client that retries across restarts.
#[derive(Clone)]
pub struct Uploader {
    pub client: reqwest::Client,
    pub base_url: String,
    pub token: String,
    /// Give up on a request after this long without a server.
    pub patience: Duration,
}

impl Uploader {
    pub fn new(base_url: &str, token: &str) -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base_url: base_url.to_owned(),
            token: token.to_owned(),
            patience: Duration::from_secs(60),
        }
    }

    /// Retries `send` while the server is away (connection refused or cut, or a 5xx).
    async fn retrying<F, Fut>(&self, what: &str, send: F) -> reqwest::Response
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
    {
        let deadline = tokio::time::Instant::now() + self.patience;
        loop {
            match send().await {
                Ok(response) if !response.status().is_server_error() => return response,
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "{what}: {status} {body}"
                    );
                }
                Err(e) => assert!(tokio::time::Instant::now() < deadline, "{what}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates an upload and sends its bytes, through any number of restarts.
    pub async fn upload(&self, n: u64, clean: bool) -> Sent {
        let (bytes, name) = if clean {
            (PNG.to_vec(), format!("p{n}.png"))
        } else {
            (elf(512), format!("e{n}.png"))
        };
        let (id, stored) = self.upload_bytes(&name, "image/png", &bytes).await;
        if stored {
            Sent::Stored { id, clean }
        } else {
            Sent::Refused { id, clean }
        }
    }

    /// Creates an upload of `bytes` and sends them, through any number of restarts;
    /// the file's id, and whether the bytes were stored (false: the URL expired first).
    pub async fn upload_bytes(
        &self,
        name: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> (String, bool) {
        let body = json!({"name": name, "content_type": content_type, "size": bytes.len()});
        let created = self.create(&body).await;
        let id = created["file"]["id"].as_str().unwrap().to_owned();
        let url = created["upload"]["url"].as_str().unwrap();
        let put = self
            .retrying("put", || {
                self.client
                    .put(url)
                    .header("content-type", content_type)
                    .header("if-none-match", "*")
                    .body(bytes.to_vec())
                    .send()
            })
            .await;
        match put.status() {
            StatusCode::OK | StatusCode::PRECONDITION_FAILED => (id, true),
            StatusCode::FORBIDDEN => (id, false),
            other => panic!("PUT answered {other}: {}", put.text().await.unwrap()),
        }
    }

    /// `POST /v1/files` with `body`, through any number of restarts; the 201's body.
    pub async fn create(&self, body: &Value) -> Value {
        let created = self
            .send("create", Method::POST, "/v1/files", Some(body))
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        created.json().await.unwrap()
    }

    /// A request to a path of the API, sent again while the server is away.
    pub async fn send(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        self.retrying(what, || {
            let request = self
                .client
                .request(method.clone(), format!("{}{path}", self.base_url))
                .bearer_auth(&self.token);
            match body {
                Some(body) => request.json(body).send(),
                None => request.send(),
            }
        })
        .await
    }

    /// `GET` a path of the API; its status and body.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .retrying("get", || {
                self.client
                    .get(format!("{}{path}", self.base_url))
                    .bearer_auth(&self.token)
                    .send()
            })
            .await;
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Waits until every file the clients stored bytes for has its verdict, no upload is
/// left PENDING, and the books balance; returns the books.
pub async fn settle(data_dir: &Path, tenants: &[&str], sent: &[Sent], patience: Duration) -> Books {
    let catalog = SqliteCatalog::open(&data_dir.join("catalog.db")).unwrap();
    let events = data_dir.join("events.jsonl");
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let books = wait_until_balanced(&catalog, &events, tenants, patience).await;
        if books.unfinished() == 0 {
            assert_verdicts(&catalog, tenants, sent).await;
            return books;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "uploads never finished: {books:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Nothing lost: every upload whose bytes were stored got the verdict its bytes call
/// for; none was expired.
async fn assert_verdicts(catalog: &SqliteCatalog, tenants: &[&str], sent: &[Sent]) {
    use airlock_domain::{FileId, FileStatus, TenantId, ports::CatalogReader};
    let tenant = TenantId::parse(tenants[0]).unwrap();
    for upload in sent {
        let (id, clean, stored) = match upload {
            Sent::Stored { id, clean } => (id, *clean, true),
            Sent::Refused { id, clean } => (id, *clean, false),
        };
        let verdict = if clean {
            FileStatus::Clean
        } else {
            FileStatus::Rejected
        };
        let record = catalog
            .get(&tenant, FileId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{id} was lost from the catalog"));
        assert!(
            record.status == verdict || (!stored && record.status == FileStatus::Expired),
            "{id}: bytes {}, ended {}",
            if stored { "stored" } else { "refused" },
            record.status
        );
    }
}

/// The resident set size of a process, in KiB, from /proc.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
