//! The workloads of the fault-point cases (`faults.rs`): what a case's clients do to
//! reach its point, through any number of restarts, and where its files must end.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use airlock_domain::FileStatus;
use airlock_local::SqliteCatalog;
use airlock_testkit::samples::{PNG, eicar};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::clients::Uploader;

const MIB: usize = 1024 * 1024;
/// How long a file may take to reach the status a workload waits for.
const STATUS_PATIENCE: Duration = Duration::from_secs(40);
/// Text a rule added mid-test matches, so sweep's re-scan finds a CLEAN file infected.
const RESCAN_MARKER: &str = "AIRLOCK-FAULTS-RESCAN-MARKER";

/// What a case's clients do: enough to reach the point, and no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Two PNGs uploaded at once (their changes reach publish in one batch).
    CleanUploads,
    /// The EICAR test file, which ingest finds INFECTED and quarantines.
    InfectedUpload,
    /// A PNG uploaded, then deleted once CLEAN.
    UploadThenDelete,
    /// An upload created and never sent, which sweep expires.
    AbandonedUpload,
    /// A small file sent in (one) part and completed.
    MultipartUpload,
    /// A file larger than a pass may read at once, carried over to a second one.
    CarriedOverUpload,
    /// A text file accepted, then a rule matching it added: sweep's re-scan finds it
    /// infected.
    RuleAddedAfterUpload,
    /// Bytes under the upload prefix with no record, which sweep removes.
    OrphanBytes,
}

impl Workload {
    /// The stack's flags for this workload: short windows, and what it needs beyond.
    pub fn flags(self) -> Vec<String> {
        let mut flags = vec![
            ("--upload-window", "5".to_owned()),
            ("--sweep-every", "1".to_owned()),
        ];
        match self {
            Self::MultipartUpload => flags.push(("--multipart-threshold", "1000".to_owned())),
            Self::CarriedOverUpload => flags.extend([
                ("--max-upload-bytes", (64 * MIB).to_string()),
                ("--max-scan-bytes", MIB.to_string()),
                ("--carry-over-after-bytes", (32 * MIB).to_string()),
            ]),
            Self::OrphanBytes => flags.push(("--orphan-grace", "0".to_owned())),
            _ => {}
        }
        flags
            .into_iter()
            .flat_map(|(flag, value)| [flag.to_owned(), value])
            .collect()
    }

    /// Drives the workload through the stack at `uploader` (data in `data`); returns
    /// where its files must end.
    pub async fn run(self, uploader: Uploader, data: PathBuf) -> Vec<Expect> {
        match self {
            Self::CleanUploads => {
                let (a, b) = tokio::join!(
                    png_upload(&uploader, "a.png"),
                    png_upload(&uploader, "b.png")
                );
                vec![a, b]
            }
            Self::InfectedUpload => {
                let (id, stored) = uploader.upload_bytes("e.txt", "text/plain", &eicar()).await;
                vec![Expect::file(id, stored, FileStatus::Infected)]
            }
            Self::UploadThenDelete => {
                let Expect::File { id, .. } = png_upload(&uploader, "d.png").await else {
                    unreachable!("an upload expects a file")
                };
                wait_for_status(&uploader, &id, FileStatus::Clean).await;
                let deleted = uploader
                    .send("delete", Method::DELETE, &format!("/v1/files/{id}"), None)
                    .await;
                assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
                vec![Expect::status(id, FileStatus::Deleted)]
            }
            Self::AbandonedUpload => {
                let body = json!({"name": "x.png", "content_type": "image/png", "size": 67});
                let created = uploader.create(&body).await;
                let id = created["file"]["id"].as_str().unwrap().to_owned();
                vec![Expect::status(id, FileStatus::Expired)]
            }
            Self::MultipartUpload => vec![multipart_upload(&uploader).await],
            Self::CarriedOverUpload => {
                let mut bytes = PNG.to_vec();
                bytes.resize(34 * MIB, 0);
                let (id, stored) = uploader.upload_bytes("big.png", "image/png", &bytes).await;
                vec![Expect::file(id, stored, FileStatus::Clean)]
            }
            Self::RuleAddedAfterUpload => {
                let text = format!("memo: {RESCAN_MARKER}");
                let (id, stored) = uploader
                    .upload_bytes("memo.txt", "text/plain", text.as_bytes())
                    .await;
                assert!(stored, "the memo's URL expired before its bytes were sent");
                wait_for_status(&uploader, &id, FileStatus::Clean).await;
                let rule = format!(
                    "rule fault_rescan {{ strings: $a = \"{RESCAN_MARKER}\" condition: $a }}"
                );
                std::fs::write(data.join("rules").join("fault.yar"), rule).unwrap();
                vec![Expect::status(id, FileStatus::Infected)]
            }
            Self::OrphanBytes => {
                let key = format!("uploads/demo/{}", ulid::Ulid::new());
                let path = data.join("bucket").join("objects").join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, PNG).unwrap();
                vec![Expect::Gone(path)]
            }
        }
    }
}

/// Where a workload's file must end.
#[derive(Debug, Clone)]
pub enum Expect {
    /// The file's record ends in one of these statuses.
    File { id: String, ends: Vec<FileStatus> },
    /// Nothing is left at this path.
    Gone(PathBuf),
}

impl Expect {
    fn status(id: String, status: FileStatus) -> Self {
        Self::File {
            id,
            ends: vec![status],
        }
    }

    /// An upload whose bytes were stored ends in `verdict`; one whose URL expired
    /// before it could send them (a long outage) expires, unless an earlier try that
    /// looked failed had stored them.
    fn file(id: String, stored: bool, verdict: FileStatus) -> Self {
        let ends = if stored {
            vec![verdict]
        } else {
            vec![verdict, FileStatus::Expired]
        };
        Self::File { id, ends }
    }

    /// Whether it holds now; why not otherwise.
    pub async fn check(&self, catalog: &SqliteCatalog) -> Result<(), String> {
        use airlock_domain::{FileId, TenantId, ports::CatalogReader};
        match self {
            Self::File { id, ends } => {
                let tenant = TenantId::parse("demo").unwrap();
                let record = catalog
                    .get(&tenant, FileId::parse(id).unwrap())
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("{id} was lost from the catalog"))?;
                if ends.contains(&record.status) {
                    Ok(())
                } else {
                    Err(format!(
                        "{id} is {}, expected one of {ends:?}",
                        record.status
                    ))
                }
            }
            Self::Gone(path) if path.exists() => Err(format!("{} is still there", path.display())),
            Self::Gone(_) => Ok(()),
        }
    }
}

async fn png_upload(uploader: &Uploader, name: &str) -> Expect {
    let (id, stored) = uploader.upload_bytes(name, "image/png", PNG).await;
    Expect::file(id, stored, FileStatus::Clean)
}

/// Polls the api until the file is in `status` (through restarts).
async fn wait_for_status(uploader: &Uploader, id: &str, status: FileStatus) {
    let deadline = Instant::now() + STATUS_PATIENCE;
    loop {
        let (_, file) = uploader.get(&format!("/v1/files/{id}")).await;
        if file["status"] == status.as_str() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{id} never became {status}: {file}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A 2000-byte PNG sent in one part (the threshold is 1000), then completed.
async fn multipart_upload(uploader: &Uploader) -> Expect {
    let mut bytes = PNG.to_vec();
    bytes.resize(2000, 0);
    let body = json!({"name": "m.png", "content_type": "image/png", "size": bytes.len()});
    let created = uploader.create(&body).await;
    let id = created["file"]["id"].as_str().unwrap().to_owned();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let parts = json!({"parts": [{"number": 1, "sha256": sha256}]});
    let signed = uploader
        .send(
            "sign",
            Method::POST,
            &format!("/v1/files/{id}/parts"),
            Some(&parts),
        )
        .await;
    assert_eq!(signed.status(), StatusCode::OK);
    let signed: Value = signed.json().await.unwrap();
    let part = &signed["parts"][0];
    let mut put = uploader.client.put(part["url"].as_str().unwrap());
    for (name, value) in part["headers"].as_object().unwrap() {
        if name != "content-length" {
            put = put.header(name, value.as_str().unwrap());
        }
    }
    let put = put.body(bytes.clone()).send().await.unwrap();
    assert_eq!(
        put.status(),
        StatusCode::OK,
        "{}",
        put.text().await.unwrap()
    );
    let completed = uploader
        .send(
            "complete",
            Method::POST,
            &format!("/v1/files/{id}/complete"),
            None,
        )
        .await;
    assert_eq!(completed.status(), StatusCode::OK);
    Expect::status(id, FileStatus::Clean)
}
