//! The api on the embedded adapters of `airlock-local` (SQLite catalog, files on
//! disk, signed local URLs): the same ports the local stack wires, so these tests hold
//! the handler and the adapters to one contract. Ingest and publish are played by
//! hand, through the same ports they use.

mod support;

use airlock_api::{Api, ApiSettings};
use airlock_domain::{
    ContentType, FileId, FileRecord, FileStatus, Finding, UsageDelta, Verdict,
    ports::{CatalogReader, CatalogWriter, UsageLedger},
};
use airlock_local::{FsObjectStore, Grant, SqliteCatalog};
use airlock_testkit::FixedClock;
use serde_json::{Value, json};
use support::{
    create_file_event, delete_event, get_event, json, json_with_status, list_event, now, tenant,
};

const BASE_URL: &str = "http://127.0.0.1:8787";

struct LocalApp {
    api: Api<SqliteCatalog, FsObjectStore, SqliteCatalog, FixedClock>,
    catalog: SqliteCatalog,
    store: FsObjectStore,
    _root: tempfile::TempDir,
}

fn spawn_local_app() -> LocalApp {
    let root = tempfile::tempdir().expect("a temporary folder");
    let catalog = SqliteCatalog::in_memory().expect("an in-memory catalog");
    let store = FsObjectStore::new(root.path(), BASE_URL, b"test signing key".to_vec());
    let api = Api::new(
        catalog.clone(),
        store.clone(),
        catalog.clone(),
        FixedClock::at(now()),
        ApiSettings::default(),
    );
    LocalApp {
        api,
        catalog,
        store,
        _root: root,
    }
}

/// Splits a presigned local URL into the object key and the query, as the local
/// server receives them.
fn key_and_query(url: &str) -> (String, String) {
    let rest = url
        .strip_prefix(&format!("{BASE_URL}/objects/"))
        .unwrap_or_else(|| panic!("not a local object URL: {url}"));
    let (key, query) = rest.split_once('?').expect("a signed query");
    (key.to_owned(), query.to_owned())
}

/// What ingest would do: store the bytes and record a clean verdict.
async fn ingest_clean(app: &LocalApp, record: &FileRecord, bytes: &[u8]) {
    app.store
        .put_bytes(&record.key(), bytes)
        .await
        .expect("the object stored");
    let finding = Finding {
        sha256: "00".repeat(32),
        size: bytes.len() as u64,
        detected_type: ContentType::parse("application/pdf").expect("a valid type"),
        verdict: Verdict::from_reasons(Vec::new()),
        inspected_at: now(),
        scan: None,
        version_id: None,
        etag: None,
    };
    let clean = record
        .with_finding(finding, now())
        .expect("PENDING accepts a verdict");
    app.catalog
        .replace(FileStatus::Pending, &clean)
        .await
        .expect("the verdict recorded");
}

#[tokio::test]
async fn a_file_goes_from_upload_to_download_to_deletion_on_the_embedded_adapters() {
    // Arrange
    let app = spawn_local_app();
    let bytes = b"%PDF-1.7\n".repeat(8);
    let body = format!(
        r#"{{"name": "report.pdf", "content_type": "application/pdf", "size": {}}}"#,
        bytes.len()
    );

    // Act: request the upload.
    let created = app.api.handle(create_file_event(&body)).await;

    // Assert: the PUT is signed for exactly these bytes, and the file is PENDING.
    let created_body = json(&created);
    assert_eq!(created.status_code, 201, "{created_body}");
    let id = created_body["file"]["id"]
        .as_str()
        .expect("an id")
        .to_owned();
    let (key, query) = key_and_query(created_body["upload"]["url"].as_str().expect("a url"));
    assert_eq!(key, format!("uploads/acme/{id}"));
    assert_eq!(
        app.store.verify("PUT", &key, &query, now()),
        Ok(Grant::Upload {
            key: key.clone(),
            length: bytes.len() as u64,
            content_type: "application/pdf".to_owned(),
        })
    );
    let file_id = FileId::parse(&id).expect("a file id");
    let record = app
        .catalog
        .get(&tenant("acme"), file_id)
        .await
        .expect("the catalog answers")
        .expect("the record exists");
    assert_eq!(record.status, FileStatus::Pending);

    // Act + Assert: not downloadable until ingest has found it clean.
    let early = app
        .api
        .handle(get_event(&format!("/v1/files/{id}/download")))
        .await;
    assert_eq!(early.status_code, 409, "{}", json(&early));
    ingest_clean(&app, &record, &bytes).await;
    let download = app
        .api
        .handle(get_event(&format!("/v1/files/{id}/download")))
        .await;
    let download_body = json(&download);
    assert_eq!(download.status_code, 200, "{download_body}");
    let (key, query) = key_and_query(download_body["url"].as_str().expect("a url"));
    assert_eq!(
        app.store.verify("GET", &key, &query, now()),
        Ok(Grant::Download {
            key: key.clone(),
            file_name: "report.pdf".to_owned(),
            overrides: std::collections::BTreeMap::from([
                (
                    "content-disposition".to_owned(),
                    "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf".to_owned()
                ),
                ("content-encoding".to_owned(), "identity".to_owned()),
                ("content-type".to_owned(), "application/pdf".to_owned()),
            ]),
        })
    );

    // Act + Assert: deletion marks the record and removes the bytes, twice over.
    assert!(app.store.exists(&record.key()).await);
    for _ in 0..2 {
        let deleted = app
            .api
            .handle(delete_event(&format!("/v1/files/{id}")))
            .await;
        assert_eq!(deleted.status_code, 204);
    }
    assert!(!app.store.exists(&record.key()).await);
    let shown = json(&app.api.handle(get_event(&format!("/v1/files/{id}"))).await);
    assert_eq!(shown["status"], "DELETED");
}

#[tokio::test]
async fn listing_pages_through_the_sqlite_catalog_newest_first() {
    // Arrange
    let app = spawn_local_app();
    let mut created = Vec::new();
    for n in 0..5 {
        let body = format!(r#"{{"name": "f{n}.txt", "content_type": "text/plain", "size": 3}}"#);
        let response = app.api.handle(create_file_event(&body)).await;
        assert_eq!(response.status_code, 201, "{}", json(&response));
        created.push(json(&response)["file"]["id"].clone());
    }

    // Act
    let mut listed: Vec<Value> = Vec::new();
    let mut query = "limit=2".to_owned();
    let mut pages = 0;
    loop {
        let response = app.api.handle(list_event(&query)).await;
        let body = json_with_status(&response, 200);
        pages += 1;
        listed.extend(
            body["files"]
                .as_array()
                .expect("a list")
                .iter()
                .map(|f| f["id"].clone()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
        assert!(pages < 10, "the cursor never ends");
    }

    // Assert
    assert_eq!(pages, 3);
    let mut expected = created;
    expected.sort_by_key(|id| std::cmp::Reverse(id.as_str().unwrap_or_default().to_owned()));
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn usage_reports_what_the_ledger_counted() {
    // Arrange
    let app = spawn_local_app();
    let body = r#"{"name": "a.txt", "content_type": "text/plain", "size": 3}"#;
    let created = json(&app.api.handle(create_file_event(body)).await);
    let id = FileId::parse(created["file"]["id"].as_str().expect("an id")).expect("a file id");
    let record = app
        .catalog
        .get(&tenant("acme"), id)
        .await
        .expect("the catalog answers")
        .expect("the record exists");
    let delta = UsageDelta::from_change(None, &record).expect("a new file moves counters");
    app.catalog
        .apply_once(&delta)
        .await
        .expect("the delta applied");

    // Act
    let response = app.api.handle(get_event("/v1/usage")).await;

    // Assert
    let body = json_with_status(&response, 200);
    assert_eq!(body["tenant"], "acme");
    assert_eq!(
        body["by_status"]["PENDING"],
        json!({"files": 1, "bytes": 3})
    );
    assert_eq!(body["by_status"]["CLEAN"], json!({"files": 0, "bytes": 0}));
    assert_eq!(
        body["by_status"].as_object().map(|m| m.len()),
        Some(6),
        "{body}"
    );
}
