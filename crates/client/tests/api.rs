//! The client against a stack started in this process: every answer parses into the
//! api's own types, and refusals come back as typed problems.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

use std::time::Duration;

use airlock_client::{Client, ClientError, ListFilter, wire::CreateFileBody};
use airlock_domain::FileStatus;
use airlock_stack::{RunningStack, StackConfig};
use airlock_testkit::samples::PNG;

async fn stack() -> (RunningStack, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StackConfig::new(dir.path().join("data"));
    config.port = 0;
    (airlock_stack::start(config).await.unwrap(), dir)
}

fn png() -> CreateFileBody {
    CreateFileBody {
        name: "pixel.png".into(),
        content_type: "image/png".into(),
        size: PNG.len() as u64,
        sha256: None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_created_sent_and_verified_reads_back_through_every_route() {
    let (stack, _dir) = stack().await;
    let client = Client::new(&stack.base_url(), &stack.token_for("acme")).unwrap();

    let created = client.create(&png()).await.unwrap();
    let upload = created.upload.expect("a small file goes in one PUT");
    client.put(&upload, PNG, PNG.len() as u64).await.unwrap();
    let id = created.file.id.to_string();
    let mut file = client.get(&id).await.unwrap();
    for _ in 0..100 {
        if file.status != FileStatus::Pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        file = client.get(&id).await.unwrap();
    }

    assert_eq!(file.status, FileStatus::Clean, "{file:?}");
    let listed = client.list(&ListFilter::default()).await.unwrap();
    assert_eq!(listed.files.len(), 1);
    let download = client.download(&id).await.unwrap();
    let bytes = client.fetch(&download.request).await.unwrap().bytes().await;
    assert_eq!(bytes.unwrap().as_ref(), PNG);
    let usage = client.usage().await.unwrap();
    assert_eq!(usage.tenant.as_str(), "acme");
    client.delete(&id).await.unwrap();
    assert_eq!(client.get(&id).await.unwrap().status, FileStatus::Deleted);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_is_a_problem_with_its_status_title_and_detail() {
    let (stack, _dir) = stack().await;
    let client = Client::new(&stack.base_url(), &stack.token_for("acme")).unwrap();

    let missing = client.get("01ARZ3NDEKTSV4RRFFQ69G5FAV").await.unwrap_err();
    let wrong_token = Client::new(&stack.base_url(), "not-a-token").unwrap();
    let unauthenticated = wrong_token.usage().await.unwrap_err();

    let ClientError::Problem { problem } = &missing else {
        panic!("{missing:?}");
    };
    assert_eq!(
        (problem.status, problem.title.as_str()),
        (404, "File not found")
    );
    assert!(!problem.detail.is_empty());
    assert!(missing.is_refusal());
    assert_eq!(unauthenticated.status(), Some(401), "{unauthenticated:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_listening_is_unreachable_and_not_a_refusal() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(&format!("http://127.0.0.1:{port}"), "t").unwrap();

    let error = client.usage().await.unwrap_err();

    assert!(
        matches!(error, ClientError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(!error.is_refusal());
}

#[test]
fn a_url_that_is_not_http_is_refused_up_front() {
    assert!(matches!(
        Client::new("127.0.0.1:8080", "t"),
        Err(ClientError::InvalidUrl { .. })
    ));
}
