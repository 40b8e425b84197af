//! The local stack's release binary, started on a free 127.0.0.1 port with a fresh
//! data folder, and an HTTP client that uploads through it as a client would.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::BenchError;

/// A running `airlock-stack`; killed when dropped.
pub struct Stack {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// A dev token for tenant `demo`.
    pub token: String,
    /// The data folder.
    pub data_dir: PathBuf,
    client: reqwest::Client,
    _child: tokio::process::Child,
}

fn failed(what: impl Into<String>) -> impl FnOnce(reqwest::Error) -> BenchError {
    let what = what.into();
    move |e| BenchError::Invoke(what, e.to_string())
}

/// A PUT on a presigned request the API answered (`url`, `headers`), with every
/// signed header but `content-length`, which the client sets from the body.
pub fn presigned_put(client: &reqwest::Client, signed: &Value) -> reqwest::RequestBuilder {
    let mut request = client.put(signed["url"].as_str().unwrap_or_default());
    for (name, value) in signed["headers"].as_object().into_iter().flatten() {
        if name != "content-length" {
            request = request.header(name, value.as_str().unwrap_or_default());
        }
    }
    request
}

impl Stack {
    /// Starts `binary` with its data under `data_dir` and waits for its token.
    pub async fn start(binary: &Path, data_dir: PathBuf) -> Result<Self, BenchError> {
        Self::start_with(binary, data_dir, &[]).await
    }

    /// The same, with `flags` added to its command line.
    pub async fn start_with(
        binary: &Path,
        data_dir: PathBuf,
        flags: &[&str],
    ) -> Result<Self, BenchError> {
        Self::start_logging(binary, data_dir, flags, "warn").await
    }

    /// As [`start_with`](Self::start_with), logging what `filter` (a `RUST_LOG`
    /// value) lets through to `data_dir` with the extension `log`.
    pub async fn start_logging(
        binary: &Path,
        data_dir: PathBuf,
        flags: &[&str],
        filter: &str,
    ) -> Result<Self, BenchError> {
        let _ = std::fs::remove_dir_all(&data_dir);
        let log = std::fs::File::create(data_dir.with_extension("log"))
            .map_err(|e| BenchError::Io(data_dir.clone(), e))?;
        let mut child = tokio::process::Command::new(binary)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--port", "0"])
            .args(flags)
            .env("RUST_LOG", filter)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BenchError::Invoke("airlock-stack".into(), e.to_string()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BenchError::Invoke("airlock-stack".into(), "no stdout".into()))?;
        let mut lines = BufReader::new(stdout).lines();
        let mut base_url = None;
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("Airlock local stack listening on ") {
                base_url = Some(url.to_owned());
            }
            if line.starts_with("eyJ") {
                let base_url = base_url
                    .ok_or_else(|| BenchError::Invoke("airlock-stack".into(), "no URL".into()))?;
                return Ok(Self {
                    base_url,
                    token: line,
                    data_dir,
                    client: reqwest::Client::new(),
                    _child: child,
                });
            }
        }
        Err(BenchError::Invoke(
            "airlock-stack".into(),
            "exited before printing its token".into(),
        ))
    }

    /// The stack's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self._child.id()
    }

    /// The event log.
    pub fn events_path(&self) -> PathBuf {
        self.data_dir.join("events.jsonl")
    }

    /// Creates an upload and sends `bytes` as `image/png`; returns the file id.
    pub async fn upload(&self, name: &str, bytes: &'static [u8]) -> Result<String, BenchError> {
        let created: Value = self
            .client
            .post(format!("{}/v1/files", self.base_url))
            .bearer_auth(&self.token)
            .json(&json!({ "name": name, "content_type": "image/png", "size": bytes.len() }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed("POST /v1/files"))?
            .json()
            .await
            .map_err(failed("POST /v1/files"))?;
        presigned_put(&self.client, &created["upload"])
            .body(bytes)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed("PUT upload"))?;
        created["file"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                BenchError::Invoke("POST /v1/files".into(), format!("no file id in {created}"))
            })
    }

    /// GET `path` (with the token) as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, BenchError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// `method` on `path` with the token and, if given, a JSON body; the answer as
    /// JSON, or an error naming the request, its status and the problem it answered.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, BenchError> {
        let what = format!("{method} {path}");
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(failed(what.clone()))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(BenchError::Invoke(what, format!("{status}: {body}")));
        }
        Ok(body)
    }

    /// The HTTP client the stack's requests go through.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Every file id with `status`, through the paginated list.
    pub async fn ids_with_status(&self, status: &str) -> Result<Vec<String>, BenchError> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/v1/files?status={status}&limit=100");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = self.get(&path).await?;
            ids.extend(
                page["files"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f["id"].as_str().map(str::to_owned)),
            );
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return Ok(ids),
            }
        }
    }
}

/// A 1×1 PNG: what every small upload sends.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\x04\0\x09\xfb\x03\xfd\xe3U\xf2\x9c\0\0\0\0IEND\xaeB`\x82";
