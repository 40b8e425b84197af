//! A file as clients see it, the presigned requests they are handed, and the answers
//! of the routes that return files, pages of files and the tenant's counters.

use std::collections::BTreeMap;

use airlock_domain::{
    ContentType, FileId, FileName, FileRecord, FileStatus, ScanReport, SkipReason, StatusCount,
    TenantId, Timestamp, Usage, Verdict, ports::PresignedRequest,
};
use serde::{Deserialize, Serialize};

use crate::MultipartView;

/// One file as clients see it. Optional fields are left out until ingest sets them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileView {
    /// Its id.
    pub id: FileId,
    /// The name it was uploaded with.
    pub name: FileName,
    /// The declared type.
    pub content_type: ContentType,
    /// The declared size in bytes.
    pub size: u64,
    /// Where it is in the state machine.
    pub status: FileStatus,
    /// When the upload was asked for.
    pub created_at: Timestamp,
    /// The last change.
    pub updated_at: Timestamp,
    /// When an upload not sent by then is expired.
    pub upload_deadline: Timestamp,
    /// The SHA-256 of the bytes ingest read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The type the bytes' magic says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_type: Option<ContentType>,
    /// Ingest's decision and its reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// What the scanner did: which ruleset, what matched, or why it did not scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<ScanReport>,
    /// When a re-scan was asked for and not yet done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescan_requested_at: Option<Timestamp>,
    /// The SHA-256 the uploader declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared_sha256: Option<airlock_domain::Sha256Hex>,
    /// For a file sent in parts: the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartView>,
}

impl From<&FileRecord> for FileView {
    fn from(record: &FileRecord) -> Self {
        let finding = record.finding.as_ref();
        Self {
            id: record.id,
            name: record.name.clone(),
            content_type: record.declared_type.clone(),
            size: record.declared_size,
            status: record.status,
            created_at: record.created_at,
            updated_at: record.updated_at,
            upload_deadline: record.upload_deadline,
            sha256: finding.map(|f| f.sha256.clone()),
            detected_type: finding.map(|f| f.detected_type.clone()),
            verdict: finding.map(|f| f.verdict.clone()),
            scan: finding.and_then(|f| f.scan.clone()),
            rescan_requested_at: record.rescan_requested_at,
            declared_sha256: record.declared_sha256.clone(),
            multipart: record.multipart.as_ref().map(MultipartView::from),
        }
    }
}

/// A presigned request as clients see it: send exactly these headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresignedView {
    /// Where to send it.
    pub url: String,
    /// `PUT` or `GET`.
    pub method: String,
    /// The headers it was signed for.
    pub headers: BTreeMap<String, String>,
    /// When the signature expires.
    pub expires_at: Timestamp,
}

impl From<&PresignedRequest> for PresignedView {
    fn from(request: &PresignedRequest) -> Self {
        Self {
            url: request.url.clone(),
            method: request.method.to_owned(),
            headers: request.headers.clone(),
            expires_at: request.expires_at,
        }
    }
}

/// The answer to `GET /v1/files/{id}/download`: the presigned GET, and for a file
/// accepted without a scan (`accept-unscanned`) why it was not scanned, so a
/// downloader can tell it from one the rules looked at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadView {
    /// The GET to send.
    #[serde(flatten)]
    pub request: PresignedView,
    /// Set only for a file accepted unscanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unscanned: Option<UnscannedView>,
}

/// Why a file was accepted unscanned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnscannedView {
    /// The reason the scanner gave.
    pub why: SkipReason,
}

impl DownloadView {
    /// The download of `record` through `request`.
    pub fn new(request: &PresignedRequest, record: &FileRecord) -> Self {
        let unscanned = record
            .finding
            .as_ref()
            .and_then(|f| f.scan.as_ref())
            .and_then(|scan| match scan {
                ScanReport::Skipped { why, .. } => Some(UnscannedView { why: why.clone() }),
                ScanReport::Scanned { .. } => None,
            });
        Self {
            request: PresignedView::from(request),
            unscanned,
        }
    }
}

/// The answer to `POST /v1/files`: the new file and how to send its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedFile {
    /// The new, PENDING file.
    pub file: FileView,
    /// One PUT, for a file up to the multipart threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload: Option<PresignedView>,
    /// The plan of parts, for a larger one (its URLs come from `/parts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<MultipartView>,
}

/// One page of `GET /v1/files`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileList {
    /// Newest first.
    pub files: Vec<FileView>,
    /// Where the next page starts; `None` on the last one.
    pub next_cursor: Option<String>,
}

/// `GET /v1/usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageView {
    /// Whose counters these are.
    pub tenant: TenantId,
    /// Files and bytes by status, every status listed.
    pub by_status: BTreeMap<FileStatus, StatusCount>,
}

impl UsageView {
    /// Every status is listed, with zeros where the ledger has nothing, so clients
    /// always get the same shape whatever the adapter returns.
    pub fn new(tenant: &TenantId, usage: Usage) -> Self {
        let mut by_status = Usage::default().by_status;
        by_status.extend(usage.by_status);
        Self {
            tenant: tenant.clone(),
            by_status,
        }
    }
}
