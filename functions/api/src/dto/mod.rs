//! The JSON bodies the API reads and writes. They are kept apart from the domain types
//! so the wire format is decided here, on purpose, and documented in `openapi.json`.

use std::collections::BTreeMap;

use airlock_domain::{
    ContentType, FileId, FileName, FileRecord, FileStatus, ScanReport, Sha256Hex, SkipReason,
    StatusCount, TenantId, Timestamp, UploadRequest, Usage, Verdict, ports::PresignedRequest,
};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

mod parts;

pub(crate) use parts::{MultipartView, PartList, PartsToSign, SignedParts};

/// `POST /v1/files`. Unknown fields are refused, so a typo is not silently dropped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateFileBody {
    name: String,
    content_type: String,
    #[serde(deserialize_with = "whole_number")]
    size: u64,
    /// The whole file's SHA-256, hex, if the client knows it: ingest rejects bytes
    /// that hash otherwise.
    #[serde(default, deserialize_with = "present_string")]
    sha256: Option<String>,
}

/// An optional field that, when given, must be a string: `null` is refused as the
/// document says (a field left out is `None` through `#[serde(default)]`).
fn present_string<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    String::deserialize(deserializer).map(Some)
}

/// JSON Schema's `integer` (what openapi.json says `size` is) includes numbers written
/// with a zero fraction or an exponent, such as `2048.0` or `2e3`; they are the same
/// whole number. Anything with a real fraction, negative, or past 2^53 is refused.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    whole(
        deserializer,
        "size must be a whole, non-negative number of bytes",
    )
}

/// A JSON Schema `integer` as a whole number, or `refusal` as the error.
pub(crate) fn whole<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    refusal: &'static str,
) -> Result<u64, D::Error> {
    const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0;
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_u64() {
        return Ok(whole);
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=EXACT_IN_F64).contains(&f) => Ok(f as u64),
        _ => Err(serde::de::Error::custom(refusal)),
    }
}

impl CreateFileBody {
    /// The SHA-256 declared, validated.
    pub(crate) fn declared_sha256(&self) -> Result<Option<Sha256Hex>, ApiError> {
        self.sha256
            .as_deref()
            .map(Sha256Hex::parse)
            .transpose()
            .map_err(ApiError::InvalidSha256)
    }

    /// The validated request.
    pub(crate) fn upload_request(&self) -> Result<UploadRequest, ApiError> {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    declared_sha256: Option<&'a Sha256Hex>,
    /// For a file sent in parts: the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    multipart: Option<MultipartView<'a>>,
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
            declared_sha256: record.declared_sha256.as_ref(),
            multipart: record.multipart.as_ref().map(MultipartView::from),
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

/// The answer to `GET /v1/files/{id}/download`: the presigned GET, and for a file
/// accepted without a scan (`accept-unscanned`) why it was not scanned, so a
/// downloader can tell it from one the rules looked at.
#[derive(Debug, Serialize)]
pub(crate) struct DownloadView<'a> {
    #[serde(flatten)]
    pub(crate) request: PresignedView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) unscanned: Option<UnscannedView<'a>>,
}

/// Why a file was accepted unscanned.
#[derive(Debug, Serialize)]
pub(crate) struct UnscannedView<'a> {
    pub(crate) why: &'a SkipReason,
}

impl<'a> DownloadView<'a> {
    pub(crate) fn new(request: &'a PresignedRequest, record: &'a FileRecord) -> Self {
        let unscanned = record
            .finding
            .as_ref()
            .and_then(|f| f.scan.as_ref())
            .and_then(|scan| match scan {
                ScanReport::Skipped { why, .. } => Some(UnscannedView { why }),
                ScanReport::Scanned { .. } => None,
            });
        Self {
            request: PresignedView::from(request),
            unscanned,
        }
    }
}

/// The answer to `POST /v1/files`: the new file and how to send its bytes.
#[derive(Debug, Serialize)]
pub(crate) struct CreatedFile<'a> {
    pub(crate) file: FileView<'a>,
    /// One PUT, for a file up to the multipart threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) upload: Option<PresignedView<'a>>,
    /// The plan of parts, for a larger one (its URLs come from `/parts`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) multipart: Option<MultipartView<'a>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn size_of(json: &str) -> Option<u64> {
        let body = format!(r#"{{"name": "a", "content_type": "a/b", "size": {json}}}"#);
        serde_json::from_str::<CreateFileBody>(&body)
            .ok()
            .map(|b| b.size)
    }

    #[test]
    fn a_size_with_a_zero_fraction_or_an_exponent_is_the_same_whole_number() {
        assert_eq!(size_of("2048"), Some(2048));
        assert_eq!(size_of("26865.0"), Some(26865));
        assert_eq!(size_of("2e3"), Some(2000));
    }

    #[test]
    fn a_size_with_a_fraction_negative_or_not_a_number_is_refused() {
        for bad in ["1.5", "-1", "-0.5", "1e300", "\"12\"", "null"] {
            assert_eq!(size_of(bad), None, "{bad}");
        }
    }
}
