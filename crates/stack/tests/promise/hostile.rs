//! Named hostile inputs that no other test covers. Those covered elsewhere:
//!
//! | case | test |
//! |---|---|
//! | path separators, `..`, control characters in file names | api `an_unsafe_file_name_or_content_type_returns_400_invalid_field`, domain `file_names_with_separators_controls_or_dots_are_rejected` |
//! | presigned PUT after expiry | e2e `a_presigned_put_after_its_expiry_is_refused` |
//! | presigned PUT with a changed length or type | e2e `a_presigned_put_with_another_type_or_length_is_refused` |
//! | presigned PUT with a changed key | e2e `a_presigned_put_for_one_key_cannot_write_another` |
//! | presigned PUT replayed over verified bytes | e2e `a_replayed_presigned_put_cannot_replace_verified_bytes` |
//! | presigned PUT replayed after the file was deleted | e2e `a_presigned_put_replayed_after_deletion_leaves_no_bytes_behind` |
//! | presigned PUT replayed after an INFECTED file was quarantined | e2e `an_infected_upload_replayed_after_quarantine_never_replaces_the_kept_sample` |
//! | PUT with an unsigned `Content-Encoding` | e2e `an_upload_stored_with_an_unsigned_content_encoding_is_rejected_naming_it` |
//! | bidi or invisible characters in file names | domain `file_names_with_bidi_or_invisible_characters_are_refused_naming_the_code_point` |
//! | tenant A's token on tenant B's file id | e2e `a_tenant_can_neither_see_nor_download_nor_delete_another_tenants_file`, api `another_tenants_file_returns_404` |
//! | tenant A's cursor used by tenant B | api `a_cursor_from_another_tenant_is_rejected_with_400` |
//! | S3 event for an object deleted before ingest ran | ingest `an_object_deleted_before_ingest_ran_is_skipped_and_stays_pending` |
//! | a 0-byte upload requested | api `an_empty_file_is_refused_before_any_bytes_are_sent` |
//! | fewer bytes than declared | ingest `bytes_that_differ_from_the_declared_size_are_rejected` |
//! | stream record with a status of another type | publish `a_poison_record_fails_with_the_records_after_it_and_those_before_are_acknowledged` |

use std::time::Duration;

use airlock_domain::{FileStatus, TenantId, ports::UsageReader};
use airlock_ingest::RecordOutcome;
use airlock_local::read_bus_file;
use airlock_stack::StackConfig;
use airlock_testkit::{http, samples::PNG};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::world::{World, s3_event, world};

/// An S3 event for `raw_key` exactly as given (S3 would have percent-encoded it).
fn s3_event_with_raw_key(world_key_template: &Value, raw_key: &str) -> Value {
    let mut event = world_key_template.clone();
    event["Records"][0]["s3"]["object"]["key"] = raw_key.into();
    event
}

#[tokio::test]
async fn s3_keys_with_traversal_or_control_characters_are_skipped_and_touch_nothing() {
    let world = world();
    let (record, template) = world.png_upload().await;
    let id = record.id.to_string();
    let keys = [
        format!("uploads/acme/../acme/{id}"),
        format!("uploads/acme/{id}/.."),
        format!("uploads/acme/%2e%2e%2f{id}"),
        format!("uploads/acme/..%2F..%2F{id}"),
        format!("uploads/../uploads/acme/{id}"),
        format!("uploads/ac%0Ame/{id}"),
        format!("uploads/acme/{id}%00"),
        format!("uploads/acme/{id}%0D%0A"),
        format!("uploads/acme%2F{id}/x"),
        "uploads/%FF%FE/x".to_owned(),
        "/etc/passwd".to_owned(),
        "uploads/acme/\u{202e}gnp.exe".to_owned(),
    ];

    for key in &keys {
        let report = world
            .ingest
            .handle_payload(s3_event_with_raw_key(&template, key))
            .await
            .unwrap();
        assert!(
            matches!(report.records[..], [RecordOutcome::Skipped { .. }]),
            "{key}: {report:?}"
        );
    }

    assert_eq!(world.status(&record).await, FileStatus::Pending);
    assert_eq!(world.changes().await, 1);
}

/// Stores `bytes` for an upload that declared `declared` bytes, and runs ingest.
async fn ingest_mismatched(world: &World, declared: usize, bytes: &[u8]) -> Value {
    let record = world
        .upload("acme", "application/octet-stream", declared, bytes)
        .await;
    world
        .ingest
        .handle_payload(s3_event(&record.key(), bytes.len()))
        .await
        .unwrap();
    let (status, file) = world
        .call("acme", "GET", &format!("/v1/files/{}", record.id), None)
        .await;
    assert_eq!(status, 200);
    file
}

#[tokio::test]
async fn a_zero_byte_object_where_bytes_were_declared_is_rejected_and_never_downloadable() {
    let world = world();
    let file = ingest_mismatched(&world, 100, b"").await;
    assert_eq!(file["status"], "REJECTED", "{file}");
    let codes: Vec<&str> = file["verdict"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"size_mismatch"), "{file}");
    let (status, _) = world
        .call(
            "acme",
            "GET",
            &format!("/v1/files/{}/download", file["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn an_object_larger_than_declared_is_rejected_with_the_real_size() {
    let world = world();
    let bytes = vec![7u8; 4096];
    let file = ingest_mismatched(&world, 100, &bytes).await;
    assert_eq!(file["status"], "REJECTED", "{file}");
    assert_eq!(
        file["verdict"]["reasons"][0],
        json!({"code": "size_mismatch", "declared": 100, "actual": 4096})
    );
}

/// Stream records whose images are laid out in ways this version does not write.
fn unknown_layouts() -> Vec<Value> {
    let base: Value = serde_json::from_str(include_str!(
        "../../../../functions/publish/tests/fixtures/example-dynamodb-event-modify-clean.json"
    ))
    .unwrap();
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut event = base.clone();
        f(&mut event["Records"][0]["dynamodb"]["NewImage"]);
        event
    };
    vec![
        mutate(&|image| image["status"] = json!({"S": "QUARANTINED"})),
        mutate(&|image| {
            image.as_object_mut().unwrap().remove("status");
        }),
        mutate(&|image| image["declared_size"] = json!({"S": "many"})),
        mutate(&|image| image["declared_size"] = json!({"N": "-1"})),
        mutate(&|image| image["tenant"] = json!({"S": "../other"})),
        mutate(&|image| image["id"] = json!({"S": "not-a-ulid"})),
        mutate(&|image| image["finding"] = json!({"L": []})),
        mutate(&|image| image["created_at"] = json!({"N": "1772366405"})),
        mutate(&|image| *image = json!({"kind": {"S": "file"}})),
    ]
}

#[tokio::test]
async fn stream_records_with_an_unknown_attribute_layout_are_failed_for_retry_never_dropped() {
    for (n, event) in unknown_layouts().into_iter().enumerate() {
        let world = world();

        let response = world.publish.handle_payload(event).await;

        let response = response.unwrap();
        assert_eq!(
            response.batch_item_failures.len(),
            1,
            "layout {n} was acknowledged: {response:?}"
        );
        assert!(read_bus_file(&world.events_path()).unwrap().is_empty());
        let usage = world
            .catalog
            .usage(&TenantId::parse("acme").unwrap())
            .await
            .unwrap();
        assert!(
            usage.by_status.values().all(|c| c.files == 0),
            "layout {n} moved counters: {usage:?}"
        );
    }
}

/// A stack in this process whose presigned URLs live for one second.
/// How long the short-lived stack's URLs live. Expiry is kept in whole seconds, so a
/// URL may die up to a second early; at 1 s a loaded machine saw one die before its
/// first use. 4 s leaves three for the uploads and reads before the expiry check.
const SHORT_URL_TTL_SECS: i64 = 4;

async fn short_lived_urls_stack(dir: &std::path::Path) -> airlock_stack::RunningStack {
    let mut config = StackConfig::new(dir.join("data"));
    config.port = 0;
    config.presign_ttl = chrono::Duration::seconds(SHORT_URL_TTL_SECS);
    airlock_stack::start(config).await.unwrap()
}

async fn clean_upload(client: &reqwest::Client, stack: &airlock_stack::RunningStack) -> String {
    let base = stack.base_url();
    let token = stack.token_for("acme");
    let created = http::upload(client, &base, &token, "p.png", "image/png", PNG).await;
    let id = created["file"]["id"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        let file = http::get_json(client, &base, &token, &format!("/v1/files/{id}")).await;
        if file["status"] == "CLEAN" {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} never became CLEAN");
}

async fn download_url(
    client: &reqwest::Client,
    stack: &airlock_stack::RunningStack,
    id: &str,
) -> String {
    let (base, token) = (stack.base_url(), stack.token_for("acme"));
    let answer = http::get_json(client, &base, &token, &format!("/v1/files/{id}/download")).await;
    answer["url"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_presigned_download_is_refused_with_a_changed_key_after_deletion_and_after_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let stack = short_lived_urls_stack(dir.path()).await;
    let client = reqwest::Client::new();
    let mine = clean_upload(&client, &stack).await;
    let other = clean_upload(&client, &stack).await;
    let issued = std::time::Instant::now();
    let url = download_url(&client, &stack, &mine).await;
    let to_delete_url = download_url(&client, &stack, &other).await;
    let get = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status() }
    };
    assert_eq!(get(url.clone()).await, StatusCode::OK);

    let changed_key = url.replace(&mine, &other);
    let target = url.split_once("/objects/").unwrap().1;
    let traversal = format!("/objects/{}", target.replace("acme/", "acme/../acme/"));
    let deleted = client
        .delete(format!("{}/v1/files/{other}", stack.base_url()))
        .bearer_auth(stack.token_for("acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    assert_eq!(get(changed_key).await, StatusCode::FORBIDDEN);
    assert_ne!(raw_status(&stack, "GET", &traversal).await, 200);
    assert_eq!(get(to_delete_url).await, StatusCode::FORBIDDEN);
    let issued_for = Duration::from_secs(SHORT_URL_TTL_SECS as u64);
    tokio::time::sleep(issued_for.saturating_sub(issued.elapsed()) + Duration::from_millis(1100))
        .await;
    assert_eq!(
        get(url).await,
        StatusCode::FORBIDDEN,
        "replayed after expiry"
    );
    stack.shutdown().await;
}

#[tokio::test]
async fn object_paths_that_climb_out_of_the_bucket_write_and_read_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stack = short_lived_urls_stack(dir.path()).await;
    let query = "X-Airlock-Expires=9999999999&X-Airlock-Length=3&X-Airlock-Type=text%2Fplain&X-Airlock-Signature=00";
    for path in [
        "/objects/uploads/acme/..%2F..%2F..%2Fescaped",
        "/objects/uploads/../../escaped",
        "/objects/%2e%2e/%2e%2e/escaped",
        "/objects/uploads/acme/%00",
        "/objects/uploads/acme/a%0Ab",
    ] {
        let target = format!("{path}?{query}");
        let put = raw_status(&stack, "PUT", &target).await;
        assert!((400..500).contains(&put), "PUT {path}: {put}");
        let got = raw_status(&stack, "GET", &target).await;
        assert!((400..500).contains(&got), "GET {path}: {got}");
    }
    let escaped = walk(dir.path())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains("escaped"))
        })
        .collect::<Vec<_>>();
    assert!(escaped.is_empty(), "{escaped:?}");
    stack.shutdown().await;
}

/// Sends `target` exactly as written (an HTTP client would normalise `..` away) with a
/// three-byte text body; the response's status code.
async fn raw_status(stack: &airlock_stack::RunningStack, method: &str, target: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(stack.addr).await.unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nhost: {}\r\ncontent-type: text/plain\r\n\
         if-none-match: *\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc",
        stack.addr
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        }
        found.push(path);
    }
    found
}
