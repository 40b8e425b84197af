//! The multipart routes: a file past the threshold is created with a plan of parts,
//! its parts presigned in pages, listed for a resume, completed once they add up (and
//! again, harmlessly), or aborted.

mod support;

use airlock_api::ApiSettings;
use airlock_domain::{FileId, FileStatus};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::json;
use support::{multipart::sha, *};

const MIB: u64 = 1024 * 1024;

/// Files past 10 MiB go in parts of 5 MiB.
fn settings() -> ApiSettings {
    ApiSettings {
        multipart_threshold: 10 * MIB,
        part_size: 5 * MIB,
        ..ApiSettings::default()
    }
}

fn post(path: &str, body: serde_json::Value) -> ApiGatewayV2httpRequest {
    let mut request = create_file_event(&body.to_string());
    set_path(&mut request, path);
    request
}

/// `POST /v1/files/{id}/{action}` without a body (complete, abort).
fn on(id: &str, action: &str) -> ApiGatewayV2httpRequest {
    post(&format!("/v1/files/{id}/{action}"), json!({}))
}

/// Creates a file of `size` bytes; its id and upload id.
async fn create(app: &TestApp, size: u64) -> (String, String) {
    let body =
        json!({"name": "disk.img", "content_type": "application/octet-stream", "size": size});
    let response = app.send(post("/v1/files", body)).await;
    let body = json(&response);
    assert_eq!(response.status_code, 201, "{body}");
    let id = body["file"]["id"].as_str().expect("an id").to_owned();
    let upload = body["multipart"]["upload_id"]
        .as_str()
        .expect("a plan")
        .to_owned();
    (id, upload)
}

fn sign_request(id: &str, numbers: &[u32]) -> ApiGatewayV2httpRequest {
    let parts: Vec<_> = numbers
        .iter()
        .map(|n| json!({"number": n, "sha256": sha(*n as u8).to_string()}))
        .collect();
    post(&format!("/v1/files/{id}/parts"), json!({ "parts": parts }))
}

#[tokio::test]
async fn a_file_past_the_threshold_is_created_with_a_plan_of_parts_and_no_single_put() {
    let app = spawn_app_with(settings());

    let response = app
        .send(post(
            "/v1/files",
            json!({"name": "disk.img", "content_type": "application/octet-stream", "size": 12 * MIB + 1}),
        ))
        .await;

    let body = json(&response);
    assert_eq!(response.status_code, 201, "{body}");
    assert!(body.get("upload").is_none(), "{body}");
    assert_eq!(body["multipart"]["part_size"], 5 * MIB);
    assert_eq!(body["multipart"]["part_count"], 3);
    assert!(app.store.uploads().is_empty(), "no single PUT was signed");
    let id = FileId::parse(body["file"]["id"].as_str().expect("an id")).expect("a file id");
    let record = app.catalog.record(id).expect("recorded");
    let plan = record.multipart.expect("the plan is kept with the record");
    assert_eq!(plan.upload_id, body["multipart"]["upload_id"]);
    // Parts can be resumed, so the window is the multipart one, not one PUT's.
    assert_eq!(record.upload_deadline, now() + chrono::Duration::hours(24));
}

#[tokio::test]
async fn a_file_up_to_the_threshold_still_gets_one_put() {
    let app = spawn_app_with(settings());
    let body =
        json!({"name": "a.bin", "content_type": "application/octet-stream", "size": 10 * MIB});

    let response = app.send(post("/v1/files", body)).await;

    let body = json(&response);
    assert_eq!(response.status_code, 201, "{body}");
    assert!(body.get("multipart").is_none(), "{body}");
    assert_eq!(body["upload"]["method"], "PUT");
}

#[tokio::test]
async fn a_declared_sha256_is_kept_lower_case_and_a_malformed_one_is_refused() {
    let app = spawn_app_with(settings());
    let upper = "AB".repeat(32);
    let body = json!({"name": "a.bin", "content_type": "application/octet-stream", "size": 5, "sha256": upper});

    let response = app.send(post("/v1/files", body)).await;
    let body = json(&response);
    assert_eq!(response.status_code, 201, "{body}");
    assert_eq!(body["file"]["declared_sha256"], "ab".repeat(32));

    let null = json!({"name": "a.bin", "content_type": "application/octet-stream", "size": 5, "sha256": null});
    assert_problem(
        &app.send(post("/v1/files", null)).await,
        400,
        "malformed-body",
    );
    let bad = json!({"name": "a.bin", "content_type": "application/octet-stream", "size": 5, "sha256": "abc"});
    let problem = assert_problem(
        &app.send(post("/v1/files", bad)).await,
        400,
        "invalid-field",
    );
    assert!(
        problem["detail"]
            .as_str()
            .expect("a detail")
            .contains("SHA-256"),
        "{problem}"
    );
}

#[tokio::test]
async fn parts_are_presigned_for_their_exact_length_and_checksum() {
    let app = spawn_app_with(settings());
    let (id, upload) = create(&app, 12 * MIB + 1).await;

    let mut request = sign_request(&id, &[3, 1, 1]);
    // JSON Schema's integers include `3.0`, as for a file's size.
    request.body = request
        .body
        .map(|b| b.replace(r#""number":3"#, r#""number":3.0"#));
    let response = app.send(request).await;

    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let parts = body["parts"].as_array().expect("parts");
    let numbers: Vec<_> = parts.iter().map(|p| p["number"].as_u64()).collect();
    assert_eq!(numbers, [Some(1), Some(3)], "once each, in order: {body}");
    assert_eq!(parts[1]["size"], 2 * MIB + 1);
    assert_eq!(
        parts[1]["headers"]["content-length"],
        (2 * MIB + 1).to_string()
    );
    assert_eq!(
        parts[1]["headers"]["x-amz-checksum-sha256"],
        sha(3).to_base64()
    );
    assert_eq!(
        app.store.signed_parts(),
        [
            (upload.clone(), 1, 5 * MIB, sha(1).to_string()),
            (upload, 3, 2 * MIB + 1, sha(3).to_string())
        ]
    );
}

#[tokio::test]
async fn a_part_outside_the_plan_or_too_many_at_once_are_refused() {
    let app = spawn_app_with(settings());
    let (id, _) = create(&app, 12 * MIB + 1).await;

    let problem = assert_problem(
        &app.send(sign_request(&id, &[4])).await,
        422,
        "part-not-in-plan",
    );
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("parts 1 to 3"),
        "{problem}"
    );
    assert_problem(
        &app.send(sign_request(&id, &[0])).await,
        422,
        "part-not-in-plan",
    );
    assert_problem(
        &app.send(sign_request(&id, &[])).await,
        400,
        "invalid-field",
    );
    let bad_sha = post(
        &format!("/v1/files/{id}/parts"),
        json!({"parts": [{"number": 1, "sha256": "zz"}]}),
    );
    assert_problem(&app.send(bad_sha).await, 400, "invalid-field");
    assert!(app.store.signed_parts().is_empty());
}

#[tokio::test]
async fn a_file_sent_in_one_put_has_no_parts() {
    let app = spawn_app_with(settings());
    let body = json!({"name": "a.bin", "content_type": "application/octet-stream", "size": 5});
    let created = json(&app.send(post("/v1/files", body)).await);
    let id = created["file"]["id"].as_str().expect("an id");

    assert_problem(
        &app.send(sign_request(id, &[1])).await,
        409,
        "not-multipart",
    );
    assert_problem(
        &app.send(get_event(&format!("/v1/files/{id}/parts"))).await,
        409,
        "not-multipart",
    );
    assert_problem(&app.send(on(id, "complete")).await, 409, "not-multipart");
}

#[tokio::test]
async fn the_part_list_says_which_parts_are_still_missing() {
    let app = spawn_app_with(settings());
    let (id, upload) = create(&app, 12 * MIB + 1).await;
    app.store.store_part(&upload, 2, 5 * MIB);

    let response = app.send(get_event(&format!("/v1/files/{id}/parts"))).await;

    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    assert_eq!(body["part_count"], 3);
    assert_eq!(body["parts"][0]["number"], 2);
    assert_eq!(body["missing"], json!([1, 3]));
}

#[tokio::test]
async fn completion_is_refused_naming_every_part_that_does_not_add_up() {
    let app = spawn_app_with(settings());
    let (id, upload) = create(&app, 12 * MIB + 1).await;
    app.store.store_part(&upload, 2, 5 * MIB);

    let response = app.send(on(&id, "complete")).await;

    let problem = assert_problem(&response, 409, "parts-do-not-add-up");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("missing parts 1, 3"),
        "{problem}"
    );
    assert!(app.store.completed(&format!("uploads/acme/{id}")).is_none());
}

#[tokio::test]
async fn completion_joins_the_parts_and_asking_again_answers_the_same() {
    let app = spawn_app_with(settings());
    let (id, upload) = create(&app, 12 * MIB + 1).await;
    for (number, size) in [(1, 5 * MIB), (2, 5 * MIB), (3, 2 * MIB + 1)] {
        app.store.store_part(&upload, number, size);
    }
    let complete = || on(&id, "complete");

    let first = app.send(complete()).await;
    let again = app.send(complete()).await;

    assert_eq!(first.status_code, 200, "{}", json(&first));
    assert_eq!(again.status_code, 200, "{}", json(&again));
    assert_eq!(json(&first)["status"], "PENDING");
    let joined = app
        .store
        .completed(&format!("uploads/acme/{id}"))
        .expect("completed");
    let numbers: Vec<_> = joined.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 3]);
}

#[tokio::test]
async fn abort_discards_the_parts_and_expires_the_file_at_once() {
    let app = spawn_app_with(settings());
    let (id, upload) = create(&app, 12 * MIB + 1).await;
    app.store.store_part(&upload, 1, 5 * MIB);

    let response = app.send(on(&id, "abort")).await;

    let body = json(&response);
    assert_eq!(response.status_code, 200, "{body}");
    assert_eq!(body["status"], "EXPIRED");
    assert!(app.store.aborted(&upload));
    let record = app
        .catalog
        .record(FileId::parse(&id).expect("an id"))
        .expect("kept");
    assert_eq!(record.status, FileStatus::Expired);
    assert_eq!(app.store.removed(), [format!("uploads/acme/{id}")]);
    // Over: nothing more can be signed, listed or aborted.
    assert_problem(&app.send(sign_request(&id, &[1])).await, 409, "not-pending");
    assert_problem(&app.send(on(&id, "abort")).await, 409, "not-pending");
}

#[tokio::test]
async fn another_tenants_upload_is_not_found() {
    let app = spawn_app_with(settings());
    let (id, _) = create(&app, 12 * MIB + 1).await;
    let mut request = sign_request(&id, &[1]);
    set_tenant(&mut request, Some("globex"));

    assert_problem(&app.send(request).await, 404, "file-not-found");
}
