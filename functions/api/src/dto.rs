//! The JSON bodies the API reads and writes. They are kept apart from the domain types
//! so the wire format is decided here, on purpose, and documented in `openapi.json`.

use std::collections::BTreeMap;

use airlock_domain::{
    ContentType, FileId, FileName, FileRecord, FileStatus, ScanReport, StatusCount, TenantId,
    Timestamp, UploadRequest, Usage, Verdict, ports::PresignedRequest,
};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// `POST /v1/files`. Unknown fields are refused, so a typo is not silently dropped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateFileBody {
    name: String,
    content_type: String,
    size: u64,
}

impl CreateFileBody {
    /// The validated request.
    pub(crate) fn into_upload_request(self) -> Result<UploadRequest, ApiError> {
        Ok(UploadRequest {
            name: FileName::parse(&self.name).map_err(ApiError::InvalidField)?,
            content_type: ContentType::parse(&self.content_type).map_err(ApiError::InvalidField)?,
            size: self.size,
        })
    }
}

/// One file as clients see it. Optional fields are left out until ingest sets them.
#[derive(Debug, Serialize)]
pub(crate) struct FileView<'a> {
    id: FileId,
    name: &'a FileName,
    content_type: &'a ContentType,
    size: u64,
    status: FileStatus,
    created_at: Timestamp,
    updated_at: Timestamp,
    upload_deadline: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detected_type: Option<&'a ContentType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verdict: Option<&'a Verdict>,
    /// What the scanner did: which ruleset, what matched, or why it did not scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    scan: Option<&'a ScanReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rescan_requested_at: Option<Timestamp>,
}

impl<'a> From<&'a FileRecord> for FileView<'a> {
    fn from(record: &'a FileRecord) -> Self {
        let finding = record.finding.as_ref();
        Self {
            id: record.id,
            name: &record.name,
            content_type: &record.declared_type,
            size: record.declared_size,
            status: record.status,
            created_at: record.created_at,
            updated_at: record.updated_at,
            upload_deadline: record.upload_deadline,
            sha256: finding.map(|f| f.sha256.as_str()),
            detected_type: finding.map(|f| &f.detected_type),
            verdict: finding.map(|f| &f.verdict),
            scan: finding.and_then(|f| f.scan.as_ref()),
            rescan_requested_at: record.rescan_requested_at,
        }
    }
}

/// A presigned request as clients see it.
#[derive(Debug, Serialize)]
pub(crate) struct PresignedView<'a> {
    url: &'a str,
    method: &'static str,
    headers: &'a BTreeMap<String, String>,
    expires_at: Timestamp,
}

impl<'a> From<&'a PresignedRequest> for PresignedView<'a> {
    fn from(request: &'a PresignedRequest) -> Self {
        Self {
            url: &request.url,
            method: request.method,
            headers: &request.headers,
            expires_at: request.expires_at,
        }
    }
}

/// The answer to `POST /v1/files`: the new file and how to send its bytes.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedFile<'a> {
    pub(crate) file: FileView<'a>,
    pub(crate) upload: PresignedView<'a>,
}

/// One page of `GET /v1/files`.
#[derive(Debug, Serialize)]
pub(crate) struct FileList<'a> {
    pub(crate) files: Vec<FileView<'a>>,
    pub(crate) next_cursor: Option<String>,
}

/// `GET /v1/usage`.
#[derive(Debug, Serialize)]
pub(crate) struct UsageView<'a> {
    tenant: &'a TenantId,
    by_status: BTreeMap<FileStatus, StatusCount>,
}

impl<'a> UsageView<'a> {
    /// Every status is listed, with zeros where the ledger has nothing, so clients
    /// always get the same shape whatever the adapter returns.
    pub(crate) fn new(tenant: &'a TenantId, usage: Usage) -> Self {
        let mut by_status = Usage::default().by_status;
        by_status.extend(usage.by_status);
        Self { tenant, by_status }
    }
}
