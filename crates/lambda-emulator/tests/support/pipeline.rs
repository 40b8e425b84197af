//! One whole flow through the four function binaries, shared by the tests that run
//! them against a deployment: create two uploads (a PNG and a disguised executable),
//! send the bytes, hand ingest the S3 notifications, read both verdicts, hand
//! publish the stream records, check what the bus delivered and the usage counters,
//! download the clean file, and run a scheduled sweep.

use airlock_lambda_emulator::Function;
use airlock_testkit::{http, samples::elf};
use serde_json::{Value, json};

use super::{Deployment, PNG, SCHEDULED, body, create_request, get_request};

/// The four function binaries of one deployment.
pub struct Functions {
    pub api: Function,
    pub ingest: Function,
    pub publish: Function,
    pub sweep: Function,
}

/// How the test's client moves bytes to and from the bucket.
pub enum Transfer {
    /// Through the presigned URLs the api hands out, as a client does.
    Presigned,
    /// The requests of those URLs (same key, version and conditions), signed in the
    /// Authorization header with the credentials that signed the URLs: moto's
    /// authorizer reads only that header, so it cannot authorize a presigned request,
    /// and a presigned URL carries exactly its signer's rights.
    SignedBy(aws_sdk_s3::Client),
}

impl Transfer {
    async fn put(&self, upload: &Value, bytes: &[u8]) {
        match self {
            Transfer::Presigned => super::put_presigned(upload, bytes).await,
            Transfer::SignedBy(s3) => {
                let (bucket, key, _) = object_of(upload["url"].as_str().unwrap());
                let header = |name: &str| upload["headers"][name].as_str().map(str::to_owned);
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .set_if_none_match(header("if-none-match"))
                    .set_content_type(header("content-type"))
                    .body(bytes.to_vec().into())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    async fn get(&self, url: &str) -> Vec<u8> {
        match self {
            Transfer::Presigned => http::get_bytes(&reqwest::Client::new(), url).await,
            Transfer::SignedBy(s3) => {
                let (bucket, key, version) = object_of(url);
                let object = s3
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .set_version_id(version)
                    .send()
                    .await
                    .unwrap();
                object.body.collect().await.unwrap().to_vec()
            }
        }
    }
}

/// Bucket, key and version a path-style presigned URL names.
fn object_of(url: &str) -> (String, String, Option<String>) {
    let url = reqwest::Url::parse(url).unwrap();
    let path = url.path().trim_start_matches('/');
    let (bucket, key) = path.split_once('/').unwrap();
    let key = percent_decode(key);
    let version = url
        .query_pairs()
        .find(|(name, _)| name == "versionId")
        .map(|(_, value)| value.into_owned());
    (bucket.to_owned(), key, version)
}

fn percent_decode(text: &str) -> String {
    let url = reqwest::Url::parse(&format!("http://x/?k={text}")).unwrap();
    url.query_pairs().next().unwrap().1.into_owned()
}

/// Creates an upload through the api binary and sends its bytes; returns the file id.
pub async fn upload(
    api: &mut Function,
    transfer: &Transfer,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> String {
    let created = api
        .invoke(create_request(name, content_type, bytes.len()))
        .await
        .unwrap();
    assert_eq!(created["statusCode"], 201, "{created}");
    let created = body(&created);
    transfer.put(&created["upload"], bytes).await;
    created["file"]["id"].as_str().unwrap().to_owned()
}

/// The whole flow; panics, with the function's log, at the first step that fails.
pub async fn run_whole_flow(
    deployment: &Deployment,
    functions: &mut Functions,
    transfer: &Transfer,
) {
    let Functions {
        api,
        ingest,
        publish,
        sweep,
    } = functions;
    // A clean file and a disguised executable.
    let clean = upload(api, transfer, "pixel.png", "image/png", PNG).await;
    let rejected = upload(api, transfer, "cat.png", "image/png", &elf(256)).await;

    // The emulator's S3 notifications, handed to ingest.
    let notifications = deployment.object_created_events(2).await;
    assert_eq!(
        notifications.len(),
        2,
        "S3 notifications: {notifications:?}"
    );
    for notification in notifications {
        let report = ingest.invoke(notification).await;
        assert!(
            report.is_ok(),
            "ingest: {report:?}\n{}",
            deployment.log("ingest")
        );
    }
    let file = api
        .invoke(get_request(&format!("/v1/files/{clean}")))
        .await
        .unwrap();
    assert_eq!(
        body(&file)["status"],
        "CLEAN",
        "{file}\n{}",
        deployment.log("ingest")
    );
    let file = api
        .invoke(get_request(&format!("/v1/files/{rejected}")))
        .await
        .unwrap();
    assert_eq!(body(&file)["status"], "REJECTED", "{file}");
    assert_eq!(
        body(&file)["verdict"]["reasons"][0]["code"],
        "type_mismatch"
    );

    // The emulator's stream records, handed to publish.
    let answer = publish.invoke(deployment.stream_event().await).await;
    let answer = answer.unwrap_or_else(|e| panic!("publish: {e}\n{}", deployment.log("publish")));
    assert_eq!(
        answer["batchItemFailures"],
        json!([]),
        "{answer}\n{}",
        deployment.log("publish")
    );

    // What a consumer of the bus received.
    let delivered = deployment.receive(&deployment.events_queue, 2).await;
    let kind_of = |id: &str| {
        delivered
            .iter()
            .find(|e| e["detail"]["file_id"] == id)
            .map(|e| e["detail-type"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        kind_of(&clean).as_deref(),
        Some("File Accepted"),
        "{delivered:?}"
    );
    assert_eq!(
        kind_of(&rejected).as_deref(),
        Some("File Rejected"),
        "{delivered:?}"
    );

    // Usage counted both, and a download is offered for the clean file only.
    let usage = body(&api.invoke(get_request("/v1/usage")).await.unwrap());
    assert_eq!(usage["by_status"]["CLEAN"]["files"], 1, "{usage}");
    assert_eq!(usage["by_status"]["REJECTED"]["files"], 1, "{usage}");
    let download = api
        .invoke(get_request(&format!("/v1/files/{clean}/download")))
        .await
        .unwrap();
    assert_eq!(download["statusCode"], 200, "{download}");
    let refused = api
        .invoke(get_request(&format!("/v1/files/{rejected}/download")))
        .await
        .unwrap();
    assert_ne!(refused["statusCode"], 200, "{refused}");
    let url = body(&download)["url"].as_str().unwrap().to_owned();
    assert_eq!(transfer.get(&url).await, PNG);

    // A scheduled sweep runs clean.
    let swept = sweep.invoke(serde_json::from_str(SCHEDULED).unwrap()).await;
    assert!(
        swept.is_ok(),
        "sweep: {swept:?}\n{}",
        deployment.log("sweep")
    );
}
