//! What one accepted file costs in AWS calls, observed rather than stated: one file
//! through the four binaries against the AWS emulator — api's create, the upload (the
//! user's own, not recorded), ingest, publish over the stream's records, then a status
//! read and a download URL from api — each phase under the emulator's recorder. The
//! counts, in the units AWS bills, must equal `bench/calls-per-file.json`, which
//! `make bench` prices in its bill.
//!
//! DynamoDB units: the file item's own writes (api's create, ingest's verdict) are
//! priced from the images the stream carries, as DynamoDB bills them, with the writes
//! each of the template's indexes takes (`write_units`); the other writes (publish's
//! ledger) are upper bounds from the recorded requests: an item's size is the length of
//! its JSON in the request, a write costs one unit per started KB and twice that inside
//! a transaction; a strongly consistent read one unit per started 4 KB. Calls that are
//! made per instance, not per file (the rules' listing and the precompiled rules a cold
//! start keeps) are left out.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod sam;
mod support;
mod write_units;

use serde_json::{Value, json};
use support::{
    PNG, actions_of, body, body_text, create_request, deploy, get_request, put_presigned,
};

/// Calls that a function makes per instance rather than per file.
const PER_INSTANCE: &[&str] = &["s3:ListBucket"];
/// Keys only a cold start reads or writes: the precompiled rules it keeps.
const PER_INSTANCE_KEYS: &[&str] = &["rules/.compiled/"];

/// The bill's per-file figures, as observed.
#[derive(Debug, Default)]
struct PerFile {
    api_invocations: u64,
    publish_invocations: u64,
    ingest_invocations: u64,
    dynamodb_write_units: u64,
    dynamodb_read_units: u64,
    s3_put_class: u64,
    s3_get_class: u64,
    eventbridge_events: u64,
    /// The file item's writes seen in requests: priced from the stream, not here.
    file_item_writes: u64,
}

impl PerFile {
    fn as_json(&self) -> Value {
        json!({
            "api_invocations": self.api_invocations,
            "publish_invocations": self.publish_invocations,
            "ingest_invocations": self.ingest_invocations,
            "dynamodb_write_units": self.dynamodb_write_units,
            "dynamodb_read_units": self.dynamodb_read_units,
            "s3_put_class": self.s3_put_class,
            "s3_get_class": self.s3_get_class,
            "eventbridge_events": self.eventbridge_events,
        })
    }

    fn count(&mut self, calls: &[Value]) {
        for call in calls {
            for action in actions_of(call) {
                self.count_action(&action, call);
            }
        }
    }

    fn count_action(&mut self, action: &str, call: &Value) {
        let url = call["url"].as_str().unwrap_or_default();
        if PER_INSTANCE.contains(&action) || PER_INSTANCE_KEYS.iter().any(|k| url.contains(k)) {
            return;
        }
        let request = || serde_json::from_str::<Value>(&body_text(call)).unwrap();
        match action {
            // A call naming a version is priced as the same call without one.
            "s3:PutObjectTagging" | "s3:PutObjectVersionTagging" | "s3:PutObject" => {
                self.s3_put_class += 1;
            }
            "s3:GetObject" | "s3:GetObjectVersion" | "s3:GetObjectTagging" => {
                self.s3_get_class += 1;
            }
            "events:PutEvents" => {
                self.eventbridge_events += request()["Entries"].as_array().unwrap().len() as u64;
            }
            "dynamodb:PutItem" | "dynamodb:UpdateItem" | "dynamodb:DeleteItem"
                if is_file_item(&request()) =>
            {
                self.file_item_writes += 1;
            }
            "dynamodb:PutItem" | "dynamodb:UpdateItem" | "dynamodb:DeleteItem" => {
                self.dynamodb_write_units += write_units(&request()["Item"]);
            }
            "dynamodb:GetItem" | "dynamodb:Query" => {
                self.dynamodb_read_units += read_units(&request());
            }
            other => panic!("no price for {other}: add it to the bill"),
        }
    }
}

/// Whether a write is to a file item (its sort key `FILE#…`), whose units the stream's
/// images price.
fn is_file_item(request: &Value) -> bool {
    let key = if request["Item"].is_object() {
        &request["Item"]
    } else {
        &request["Key"]
    };
    key["sk"]["S"]
        .as_str()
        .is_some_and(|sk| sk.starts_with("FILE#"))
}

/// Write units of one item, an upper bound: one per started KB of its JSON.
fn write_units(item: &Value) -> u64 {
    (item.to_string().len() as u64).div_ceil(1024).max(1)
}

/// Read units of one read, an upper bound: a read of an item under 4 KB costs one
/// unit strongly consistent and half of one eventually consistent.
fn read_units(_request: &Value) -> u64 {
    1
}

/// Write units of a transaction: twice those of each of its items.
fn transaction_units(request: &Value) -> u64 {
    request["TransactItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let (_, op) = item.as_object().unwrap().iter().next().unwrap();
            2 * if op.get("Item").is_some() {
                write_units(&op["Item"])
            } else {
                write_units(&op["ExpressionAttributeValues"])
            }
        })
        .sum()
}

fn is_transaction(call: &Value) -> bool {
    call["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .any(|(k, v)| {
            k.eq_ignore_ascii_case("x-amz-target")
                && v.as_str()
                    .is_some_and(|t| t.ends_with(".TransactWriteItems"))
        })
}

/// Counts a phase's calls, transactions by their request and the rest by action.
fn tally(per_file: &mut PerFile, calls: &[Value]) {
    let (transactions, single): (Vec<Value>, Vec<Value>) =
        calls.iter().cloned().partition(is_transaction);
    for call in &transactions {
        let request: Value = serde_json::from_str(&body_text(call)).unwrap();
        assert!(
            !request["TransactItems"].to_string().contains("FILE#"),
            "a transaction writes a file item: price it from the stream, twice: {request}"
        );
        per_file.dynamodb_write_units += transaction_units(&request);
    }
    per_file.count(&single);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_accepted_file_makes_exactly_the_calls_the_bench_bill_prices() {
    let deployment = deploy().await;
    let mut api = deployment.function("api", &[]).await;
    let mut publish = deployment.function("publish", &[]).await;
    let recorder = deployment.recorder();
    let mut per_file = PerFile::default();

    recorder.start().await;
    let created = api
        .invoke(create_request("p.png", "image/png", PNG.len()))
        .await
        .unwrap();
    assert_eq!(created["statusCode"], 201, "{created}");
    per_file.api_invocations += 1;
    tally(&mut per_file, &recorder.take_calls(&deployment).await);
    let created = body(&created);
    put_presigned(&created["upload"], PNG).await;
    let id = created["file"]["id"].as_str().unwrap().to_owned();

    // Started, and its rules listed, before the recording: that is per instance.
    let mut ingest = deployment.function("ingest", &[]).await;
    let notifications = deployment.object_created_events(1).await;
    assert_eq!(notifications.len(), 1);
    recorder.start().await;
    for notification in notifications {
        let answer = ingest.invoke(notification).await.unwrap();
        assert!(answer.to_string().contains("CLEAN"), "{answer}");
        per_file.ingest_invocations += 1;
    }
    tally(&mut per_file, &recorder.take_calls(&deployment).await);

    // One invocation here delivers both records; at low traffic Lambda delivers each
    // on its own, so the bill counts one invocation per record.
    let stream = deployment.stream_event().await;
    let records = stream["Records"].as_array().unwrap().len() as u64;
    assert_eq!(records, 2, "create and verdict: {stream}");
    assert_eq!(
        per_file.file_item_writes, records,
        "each write of the file item is one stream record"
    );
    let indexes = write_units::indexes_of(&sam::template());
    for record in stream["Records"].as_array().unwrap() {
        per_file.dynamodb_write_units += write_units::change_units(record, &indexes);
    }
    recorder.start().await;
    publish.invoke(stream).await.unwrap();
    per_file.publish_invocations += records;
    tally(&mut per_file, &recorder.take_calls(&deployment).await);

    recorder.start().await;
    for path in [
        format!("/v1/files/{id}"),
        format!("/v1/files/{id}/download"),
    ] {
        let answer = api.invoke(get_request(&path)).await.unwrap();
        assert_eq!(answer["statusCode"], 200, "{path}: {answer}");
        per_file.api_invocations += 1;
    }
    tally(&mut per_file, &recorder.take_calls(&deployment).await);

    let stated: Value =
        serde_json::from_str(include_str!("../../../bench/calls-per-file.json")).unwrap();
    let observed = per_file.as_json();
    for (key, value) in observed.as_object().unwrap() {
        assert_eq!(
            &stated[key], value,
            "bench/calls-per-file.json says {key} = {}, observed {value}; observed in all: {observed}",
            stated[key]
        );
    }
}
