//! The template and the code agree: every environment variable a function reads is
//! set for it in `infra/template.yaml`, every AWS action its code performs is allowed
//! by its role, and its role allows nothing else but what Lambda itself does with it.
//!
//! The actions are observed, not declared: the four binaries run a scenario that takes
//! every path through their adapters against the AWS emulator, whose request recorder
//! captures each call; calls are attributed to a function by recording only while it
//! is invoked (presigned requests count for the api, which signs them) and by this
//! deployment's unique resource names (other tests share the emulator).

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod sam;
mod support;

use std::collections::{BTreeMap, BTreeSet};

use airlock_aws::config::{ApiConfig, IngestConfig, PublishConfig, SweepConfig};
use sam::template;
use serde_json::json;
use support::{PNG, actions_of, body, deploy, get_request, put_presigned, request};
use yaml_rust2::Yaml;

/// What a role may allow without the code calling it: Lambda writes the function's
/// logs and traces, sends failed events to its dead-letter queue, reads publish's
/// stream and ingest's continuation queue for the event source mappings, and
/// decrypts its environment.
const PLATFORM: &[&str] = &[
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "kms:Decrypt",
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
];

/// Calls on paths the scenario cannot take, each with the reason it exists.
const UNEXERCISED: &[(&str, &str)] = &[
    // Re-scans tag a file INFECTED when a newer rule matches, and then copy it to
    // quarantine/ (PutObject is exercised anyway: a cold start keeps its compiled
    // rules under rules/.compiled/); the scenario's files were scanned by the ruleset
    // in force. crates/stack's scanning tests and functions/sweep's tests drive
    // those paths.
    ("Sweep", "s3:PutObjectTagging"),
    // The same re-scans read and tag the version that was verified.
    ("Sweep", "s3:GetObjectVersion"),
    ("Sweep", "s3:PutObjectVersionTagging"),
    // Sweep keeps compiled rules only when its cold start compiled them; in the
    // scenario it reads back the blob ingest's cold start kept.
    ("Sweep", "s3:PutObject"),
    // Quarantine copies an INFECTED upload (tagged INFECTED anew) to quarantine/ and
    // deletes the original; the scenario's uploads are clean or rejected. The object
    // conformance case runs the same calls against the emulator.
    ("Ingest", "s3:DeleteObject"),
    // A download is presigned for the version verified (s3:GetObjectVersion); only a
    // record from before versions were kept, or a bucket without versioning, is
    // presigned without one. The scenario's bucket is versioned, as the template's.
    ("Api", "s3:GetObject"),
    // S3's notifications for a versioned bucket name the version, which ingest then
    // reads and (for bytes no verdict is about) deletes by version; the emulator's
    // notifications carry no versionId, so ingest reads the current version and pins
    // the one its GET answered. functions/ingest/tests/versions.rs drives both calls
    // against the emulator with the version in the event.
    ("Ingest", "s3:GetObjectVersion"),
    ("Ingest", "s3:DeleteObjectVersion"),
    // Tags name the version verified; only a record from before versions were kept
    // is tagged without one.
    ("Ingest", "s3:PutObjectTagging"),
];

fn strings(node: &Yaml) -> Vec<String> {
    match node {
        Yaml::String(s) => vec![s.clone()],
        Yaml::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// The actions `{Name}Role` allows.
fn role_actions(template: &Yaml, name: &str) -> BTreeSet<String> {
    let role = &template["Resources"][format!("{name}Role").as_str()];
    assert!(!role.is_badvalue(), "no {name}Role in the template");
    let mut actions = BTreeSet::new();
    for policy in role["Properties"]["Policies"].as_vec().unwrap() {
        for statement in policy["PolicyDocument"]["Statement"].as_vec().unwrap() {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            actions.extend(strings(&statement["Action"]));
        }
    }
    actions
}

/// The variables `{Name}Function` is given (its own and the template's Globals).
fn function_variables(template: &Yaml, name: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for scope in [
        &template["Globals"]["Function"],
        &template["Resources"][format!("{name}Function").as_str()]["Properties"],
    ] {
        if let Some(variables) = scope["Environment"]["Variables"].as_hash() {
            names.extend(
                variables
                    .keys()
                    .filter_map(|k| k.as_str().map(str::to_owned)),
            );
        }
    }
    names
}

#[test]
fn every_variable_a_function_reads_is_set_for_it_and_no_other() {
    let template = template();
    for (name, reads) in [
        ("Ingest", IngestConfig::VARIABLES),
        ("Publish", PublishConfig::VARIABLES),
        ("Api", ApiConfig::VARIABLES),
        ("Sweep", SweepConfig::VARIABLES),
    ] {
        let set = function_variables(&template, name);
        let mut expected: BTreeSet<String> = reads.iter().map(|v| (*v).to_owned()).collect();
        expected.insert("RUST_LOG".to_owned());
        assert_eq!(set, expected, "{name}Function's environment");
    }
}

/// Ingest's environment with `queue` as its continuation queue, and budgets forced
/// small: files past 1 MiB are scanned in windows of 2 MiB, and a pass stops after
/// 2 MiB at the next window end.
fn carrying_over(queue: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AIRLOCK_CONTINUATION_QUEUE_URL", queue.to_owned()),
        ("AIRLOCK_CARRY_OVER_AFTER_BYTES", (2u64 << 20).to_string()),
        ("AIRLOCK_MAX_SCAN_BYTES", (1u64 << 20).to_string()),
        ("AIRLOCK_SCAN_MEMORY_BYTES", (2u64 << 20).to_string()),
    ]
}

/// A file of two parts through every multipart route (presign, send, list, complete),
/// and one more started and aborted.
async fn send_in_parts(api: &mut airlock_lambda_emulator::Function) {
    use sha2::{Digest, Sha256};
    let bytes: Vec<u8> = (0..(5 << 20) + 10).map(|i: u32| (i % 251) as u8).collect();
    let create = |size: usize| {
        request(
            "POST",
            "/v1/files",
            Some(
                json!({"name": "big.bin", "content_type": "application/octet-stream", "size": size}),
            ),
        )
    };
    let created = body(&api.invoke(create(bytes.len())).await.unwrap());
    let id = created["file"]["id"].as_str().unwrap().to_owned();
    let (first, second) = bytes.split_at(5 << 20);
    let parts: Vec<_> = [first, second]
        .iter()
        .enumerate()
        .map(|(i, part)| json!({"number": i + 1, "sha256": hex::encode(Sha256::digest(part))}))
        .collect();
    let signed = body(
        &api.invoke(request(
            "POST",
            &format!("/v1/files/{id}/parts"),
            Some(json!({"parts": parts})),
        ))
        .await
        .unwrap(),
    );
    for (signed, part) in signed["parts"]
        .as_array()
        .unwrap()
        .iter()
        .zip([first, second])
    {
        put_presigned(signed, part).await;
    }
    let listed = api
        .invoke(get_request(&format!("/v1/files/{id}/parts")))
        .await
        .unwrap();
    assert_eq!(body(&listed)["missing"], json!([]), "{listed}");
    let completed = api
        .invoke(request("POST", &format!("/v1/files/{id}/complete"), None))
        .await
        .unwrap();
    assert_eq!(completed["statusCode"], 200, "{completed}");
    let abandoned = body(&api.invoke(create(6 << 20)).await.unwrap());
    let abandoned = abandoned["file"]["id"].as_str().unwrap();
    let aborted = api
        .invoke(request(
            "POST",
            &format!("/v1/files/{abandoned}/abort"),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(aborted["statusCode"], 200, "{aborted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_a_function_makes_is_allowed_by_its_role_and_its_role_allows_nothing_more() {
    let deployment = deploy().await;
    let mut observed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    // Files past 5 MiB go in parts, so the scenario takes the multipart routes.
    let mut api = deployment
        .function(
            "api",
            &[
                ("AIRLOCK_MULTIPART_THRESHOLD", (5u64 << 20).to_string()),
                ("AIRLOCK_PART_SIZE", (5u64 << 20).to_string()),
            ],
        )
        .await;
    let mut publish = deployment.function("publish", &[]).await;
    let recorder = deployment.recorder();

    // api: every route; the presigned PUT and GET run on the api's signature.
    recorder.start().await;
    let created = body(
        &api.invoke(request(
            "POST",
            "/v1/files",
            Some(json!({"name": "p.png", "content_type": "image/png", "size": PNG.len()})),
        ))
        .await
        .unwrap(),
    );
    put_presigned(&created["upload"], PNG).await;
    let id = created["file"]["id"].as_str().unwrap().to_owned();
    send_in_parts(&mut api).await;
    observed
        .entry("Api")
        .or_default()
        .extend(recorder.take(&deployment, actions_of).await);

    let notifications = deployment.object_created_events(2).await;
    let continuations = support::queue(
        &aws_sdk_sqs::Client::new(&deployment.sdk),
        &format!("{}-continuations", deployment.bucket),
    )
    .await;
    recorder.start().await;
    // Started inside its phase: its cold start lists the rules in the bucket. The
    // file sent in parts is scanned in windows and carried over (once or twice: a
    // spent budget is noticed where a chunk begins).
    let mut ingest = deployment
        .function("ingest", &carrying_over(&continuations))
        .await;
    let mut carried = 0;
    for notification in notifications {
        let mut report = ingest.invoke(notification).await.unwrap();
        while report["records"][0]["outcome"] == "carried_over" {
            carried += 1;
            let message = deployment.receive(&continuations, 1).await.remove(0);
            report = ingest
                .invoke(support::continuation_event(&message))
                .await
                .unwrap();
        }
    }
    assert!(carried >= 1, "{}", deployment.log("ingest"));
    observed
        .entry("Ingest")
        .or_default()
        .extend(recorder.take(&deployment, actions_of).await);

    let stream = deployment.stream_event().await;
    recorder.start().await;
    publish.invoke(stream).await.unwrap();
    observed
        .entry("Publish")
        .or_default()
        .extend(recorder.take(&deployment, actions_of).await);

    recorder.start().await;
    for path in [
        format!("/v1/files/{id}"),
        "/v1/files".to_owned(),
        "/v1/files?status=CLEAN".to_owned(),
        "/v1/usage".to_owned(),
    ] {
        let answer = api.invoke(get_request(&path)).await.unwrap();
        assert_eq!(answer["statusCode"], 200, "{path}: {answer}");
    }
    let download = body(
        &api.invoke(get_request(&format!("/v1/files/{id}/download")))
            .await
            .unwrap(),
    );
    let fetched = reqwest::get(download["url"].as_str().unwrap())
        .await
        .unwrap();
    assert!(fetched.status().is_success());
    let deleted = api
        .invoke(request("DELETE", &format!("/v1/files/{id}"), None))
        .await
        .unwrap();
    assert_eq!(deleted["statusCode"], 204, "{deleted}");
    observed
        .entry("Api")
        .or_default()
        .extend(recorder.take(&deployment, actions_of).await);

    // sweep: one abandoned upload to expire, one old decided file to delete, bytes
    // with no record to reconcile (no grace, so this run removes them).
    deployment.seed_sweep_work().await;
    recorder.start().await;
    let mut sweep = deployment
        .function(
            "sweep",
            &[
                ("AIRLOCK_RETENTION_DAYS", "1".to_owned()),
                ("AIRLOCK_ORPHAN_GRACE_SECS", "0".to_owned()),
            ],
        )
        .await;
    sweep
        .invoke(serde_json::from_str(support::SCHEDULED).unwrap())
        .await
        .unwrap();
    let swept = recorder.take(&deployment, actions_of).await;
    assert!(
        swept.contains("s3:DeleteObject"),
        "sweep retired nothing: {swept:?}"
    );
    assert!(
        swept.contains("s3:DeleteObjectVersion"),
        "sweep reconciled nothing: {swept:?}"
    );
    observed.entry("Sweep").or_default().extend(swept);

    let template = template();
    for (name, calls) in &observed {
        let allowed = role_actions(&template, name);
        let missing: Vec<_> = calls.difference(&allowed).collect();
        assert!(
            missing.is_empty(),
            "{name}Role does not allow {missing:?}, which its code calls"
        );
        let unused: Vec<_> = allowed
            .difference(calls)
            .filter(|action| !PLATFORM.contains(&action.as_str()))
            .filter(|action| !UNEXERCISED.contains(&(*name, action.as_str())))
            .collect();
        assert!(
            unused.is_empty(),
            "{name}Role allows {unused:?}, which its code never calls"
        );
    }
    assert_eq!(observed.len(), 4);
}
