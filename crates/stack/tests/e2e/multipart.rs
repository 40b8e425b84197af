//! Files sent in parts through the local stack: the plan, parts presigned for their
//! length and SHA-256, a resume that sends only what is missing, a damaged part
//! refused, a declared SHA-256 held to, completion replayed, and an abandoned upload
//! aborted by sweep. Files past 10 MiB go in parts of 5 MiB (S3's smallest).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestStack, spawn_stack_with};

const MIB: usize = 1024 * 1024;
const PART: usize = 5 * MIB;

async fn spawn() -> TestStack {
    spawn_stack_with(|config| {
        config.multipart_threshold = 10 * MIB as u64;
        config.part_size = PART as u64;
    })
    .await
}

/// 12 MiB and a byte of CSV text: three parts, the last one small.
fn csv_bytes() -> Vec<u8> {
    let line = b"id,name,amount\n1,widget,42\n";
    line.iter().copied().cycle().take(12 * MIB + 1).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The bytes of part `number` (from 1) of `file`.
fn part_of(file: &[u8], number: usize) -> &[u8] {
    let start = (number - 1) * PART;
    &file[start..(start + PART).min(file.len())]
}

/// A client of the multipart routes that counts the part PUTs it makes.
struct PartsClient<'a> {
    stack: &'a TestStack,
    tenant: &'a str,
    id: String,
    puts: usize,
}

impl<'a> PartsClient<'a> {
    /// Creates the file; asserts it is planned in parts.
    async fn create(
        stack: &'a TestStack,
        tenant: &'a str,
        size: usize,
        sha256: Option<String>,
    ) -> Self {
        let mut body = json!({"name": "ledger.csv", "content_type": "text/csv", "size": size});
        if let Some(sha256) = sha256 {
            body["sha256"] = json!(sha256);
        }
        let (status, created) = send(stack, tenant, Method::POST, "/v1/files", Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert!(created.get("upload").is_none(), "{created}");
        assert_eq!(created["multipart"]["part_size"], PART);
        Self::resume(stack, tenant, created["file"]["id"].as_str().unwrap())
    }

    /// A fresh client for an upload another one started (after a crash, say).
    fn resume(stack: &'a TestStack, tenant: &'a str, id: &str) -> Self {
        Self {
            stack,
            tenant,
            id: id.to_owned(),
            puts: 0,
        }
    }

    async fn call(&self, method: Method, route: &str, body: Option<Value>) -> (StatusCode, Value) {
        let path = format!("/v1/files/{}{route}", self.id);
        send(self.stack, self.tenant, method, &path, body).await
    }

    /// Presigned PUTs for these parts of `file`.
    async fn sign(&self, file: &[u8], numbers: &[usize]) -> Vec<Value> {
        let parts: Vec<_> = numbers
            .iter()
            .map(|n| json!({"number": n, "sha256": sha256_hex(part_of(file, *n))}))
            .collect();
        let (status, signed) = self
            .call(Method::POST, "/parts", Some(json!({ "parts": parts })))
            .await;
        assert_eq!(status, StatusCode::OK, "{signed}");
        signed["parts"].as_array().unwrap().clone()
    }

    /// PUTs `bytes` on a signed part, with the headers it was signed with.
    async fn put(&mut self, signed: &Value, bytes: &[u8]) -> reqwest::Response {
        self.puts += 1;
        let mut request = self.stack.client.put(signed["url"].as_str().unwrap());
        for (name, value) in signed["headers"].as_object().unwrap() {
            if name != "content-length" {
                request = request.header(name, value.as_str().unwrap());
            }
        }
        request.body(bytes.to_vec()).send().await.unwrap()
    }

    /// Signs and sends these parts of `file`, asserting each is stored.
    async fn send_parts(&mut self, file: &[u8], numbers: &[usize]) {
        for signed in self.sign(file, numbers).await {
            let number = signed["number"].as_u64().unwrap() as usize;
            let response = self.put(&signed, part_of(file, number)).await;
            assert_eq!(
                response.status(),
                StatusCode::OK,
                "part {number}: {}",
                response.text().await.unwrap()
            );
        }
    }

    /// The part numbers the store does not hold yet.
    async fn missing(&self) -> Vec<usize> {
        let (status, list) = self.call(Method::GET, "/parts", None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        serde_json::from_value(list["missing"].clone()).unwrap()
    }

    async fn complete(&self) -> (StatusCode, Value) {
        self.call(Method::POST, "/complete", None).await
    }
}

async fn send(
    stack: &TestStack,
    tenant: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = stack
        .client
        .request(method, stack.url(path))
        .bearer_auth(stack.token(tenant));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_file_sent_in_parts_is_joined_verified_and_downloads_byte_for_byte() {
    let stack = spawn().await;
    let file = csv_bytes();
    let mut client = PartsClient::create(&stack, "acme", file.len(), Some(sha256_hex(&file))).await;

    client.send_parts(&file, &[1, 2, 3]).await;
    let (status, completed) = client.complete().await;

    assert_eq!(status, StatusCode::OK, "{completed}");
    let clean = stack.wait_for_status("acme", &client.id, "CLEAN").await;
    assert_eq!(clean["sha256"], sha256_hex(&file));
    assert_eq!(clean["size"], file.len());
    let (_, download) = stack
        .get("acme", &format!("/v1/files/{}/download", client.id))
        .await;
    let fetched = stack
        .client
        .get(download["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert!(
        fetched.bytes().await.unwrap() == file,
        "downloaded bytes differ"
    );
    assert_eq!(client.puts, 3);
}

#[tokio::test]
async fn a_client_that_died_mid_upload_resumes_by_sending_only_the_missing_part() {
    let stack = spawn().await;
    let file = csv_bytes();
    let mut first = PartsClient::create(&stack, "acme", file.len(), None).await;
    first.send_parts(&file, &[1, 3]).await;
    let id = first.id.clone();
    drop(first); // The process is gone; only the file id was kept.

    let mut resumed = PartsClient::resume(&stack, "acme", &id);
    let missing = resumed.missing().await;
    assert_eq!(missing, [2]);
    resumed.send_parts(&file, &missing).await;
    let (status, body) = resumed.complete().await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(resumed.puts, 1, "only the missing part was sent again");
    let clean = stack.wait_for_status("acme", &id, "CLEAN").await;
    assert_eq!(clean["sha256"], sha256_hex(&file));
}

#[tokio::test]
async fn a_part_whose_bytes_differ_from_its_signed_sha256_is_refused_and_not_kept() {
    let stack = spawn().await;
    let file = csv_bytes();
    let mut client = PartsClient::create(&stack, "acme", file.len(), None).await;
    let signed = client.sign(&file, &[1]).await;
    let mut damaged = part_of(&file, 1).to_vec();
    damaged[4242] ^= 0x20;

    let refused = client.put(&signed[0], &damaged).await;

    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["title"], "Bad Digest", "{problem}");
    assert_eq!(client.missing().await, [1, 2, 3]);
    // A checksum header other than the signed one is refused before any byte is kept.
    let mut other = signed[0].clone();
    other["headers"]["x-amz-checksum-sha256"] =
        json!("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_eq!(
        client.put(&other, part_of(&file, 1)).await.status(),
        StatusCode::FORBIDDEN
    );
    // Completing without it names what is missing.
    let (status, problem) = client.complete().await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("missing parts 1-3"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_file_whose_bytes_hash_otherwise_than_declared_is_rejected_naming_both() {
    let stack = spawn().await;
    let file = csv_bytes();
    let declared = sha256_hex(b"some other file");
    let mut client = PartsClient::create(&stack, "acme", file.len(), Some(declared.clone())).await;

    client.send_parts(&file, &[1, 2, 3]).await;
    let (status, _) = client.complete().await;

    assert_eq!(status, StatusCode::OK);
    let rejected = stack.wait_for_status("acme", &client.id, "REJECTED").await;
    let reasons = rejected["verdict"]["reasons"].as_array().unwrap();
    assert!(
        reasons.contains(
            &json!({"code": "checksum_mismatch", "declared": declared, "actual": sha256_hex(&file)})
        ),
        "{rejected}"
    );
}

#[tokio::test]
async fn completing_again_after_a_lost_answer_or_the_verdict_answers_the_same_file() {
    let stack = spawn().await;
    let file = csv_bytes();
    let mut client = PartsClient::create(&stack, "acme", file.len(), None).await;
    client.send_parts(&file, &[1, 2, 3]).await;

    let (first, _) = client.complete().await;
    let (again, body) = client.complete().await;
    stack.wait_for_status("acme", &client.id, "CLEAN").await;
    let (after_verdict, decided) = client.complete().await;

    assert_eq!(
        (first, again, after_verdict),
        (StatusCode::OK, StatusCode::OK, StatusCode::OK),
        "{body}"
    );
    assert_eq!(decided["status"], "CLEAN");
    stack.wait_for_event("File Accepted", &client.id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events = std::fs::read_to_string(stack.stack.events_path()).unwrap();
    let accepted = events
        .lines()
        .filter(|line| line.contains(&client.id) && line.contains("File Accepted"))
        .count();
    assert_eq!(accepted, 1, "one completion, one verdict: {events}");
}

#[tokio::test]
async fn an_upload_abandoned_past_its_window_is_aborted_by_sweep_and_its_parts_removed() {
    let stack = spawn_stack_with(|config| {
        config.multipart_threshold = 10 * MIB as u64;
        config.part_size = PART as u64;
        // Long enough to send one part even on a loaded machine (its URL expires
        // with the window), short enough for the test.
        config.multipart_window = chrono::Duration::seconds(4);
    })
    .await;
    let file = csv_bytes();
    let mut client = PartsClient::create(&stack, "acme", file.len(), None).await;
    client.send_parts(&file, &[1]).await;
    let uploads = stack.stack.data_dir.join("bucket").join("multipart");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 1);

    tokio::time::sleep(Duration::from_secs(4)).await;
    stack.wait_for_status("acme", &client.id, "EXPIRED").await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while std::fs::read_dir(&uploads).unwrap().count() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the parts were never removed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = client.call(Method::GET, "/parts", None).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_client_abort_discards_the_parts_and_expires_the_file_at_once() {
    let stack = spawn().await;
    let file = csv_bytes();
    let mut client = PartsClient::create(&stack, "acme", file.len(), None).await;
    client.send_parts(&file, &[2]).await;
    let signed_before = client.sign(&file, &[1]).await;

    let (status, aborted) = client.call(Method::POST, "/abort", None).await;

    assert_eq!(status, StatusCode::OK, "{aborted}");
    assert_eq!(aborted["status"], "EXPIRED");
    let uploads = stack.stack.data_dir.join("bucket").join("multipart");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);
    // A part URL signed before the abort no longer stores anything.
    let late = client.put(&signed_before[0], part_of(&file, 1)).await;
    assert_eq!(late.status(), StatusCode::NOT_FOUND);
    let (status, _) = client
        .call(
            Method::POST,
            "/parts",
            Some(json!({"parts": [{"number": 1, "sha256": sha256_hex(b"x")}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}
