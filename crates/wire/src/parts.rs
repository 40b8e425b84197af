//! The bodies of the multipart routes: the plan a large file is created with, the
//! parts a client asks to have presigned, the URLs it gets, and the parts stored.

use std::collections::BTreeSet;

use airlock_domain::{MultipartUpload, Sha256Hex, StoredPart, ports::PresignedRequest};
use serde::{Deserialize, Serialize};

use crate::PresignedView;

/// The most parts one request may have presigned: a page of URLs, not 10,000.
pub const MAX_PARTS_PER_REQUEST: usize = 100;

/// How a file is to be sent in parts, as `POST /v1/files` and `GET /v1/files/{id}`
/// show it. Part *n* holds bytes (*n*−1)·`part_size` onwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartView {
    /// The store's id of the multipart upload.
    pub upload_id: String,
    /// Every part's size but the last one's.
    pub part_size: u64,
    /// How many parts.
    pub part_count: u32,
}

impl From<&MultipartUpload> for MultipartView {
    fn from(plan: &MultipartUpload) -> Self {
        Self {
            upload_id: plan.upload_id.clone(),
            part_size: plan.part_size,
            part_count: plan.part_count,
        }
    }
}

/// `POST /v1/files/{id}/parts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartsToSign {
    /// Up to [`MAX_PARTS_PER_REQUEST`] parts.
    pub parts: Vec<PartToSign>,
}

/// One part a client wants a URL for, with the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartToSign {
    /// From 1.
    #[serde(deserialize_with = "part_number")]
    pub number: u32,
    /// Hex.
    pub sha256: String,
}

/// A part number as JSON Schema's `integer` (`7.0` included, as for `size`).
fn part_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    const REFUSAL: &str = "a part number is a whole number from 1 to 10000";
    let whole = crate::whole(deserializer, REFUSAL)?;
    u32::try_from(whole).map_err(|_| serde::de::Error::custom(REFUSAL))
}

/// The answer to `POST /v1/files/{id}/parts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedParts {
    /// One presigned PUT per part asked for, in number order.
    pub parts: Vec<SignedPart>,
}

/// One part's presigned PUT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPart {
    /// The part number.
    pub number: u32,
    /// Its exact length.
    pub size: u64,
    /// The PUT, signed for that length and the part's `x-amz-checksum-sha256`.
    #[serde(flatten)]
    pub request: PresignedView,
}

impl SignedParts {
    /// The answer for `(number, length, request)` of each part signed.
    pub fn new(signed: &[(u32, u64, PresignedRequest)]) -> Self {
        Self {
            parts: signed
                .iter()
                .map(|(number, size, request)| SignedPart {
                    number: *number,
                    size: *size,
                    request: PresignedView::from(request),
                })
                .collect(),
        }
    }
}

/// The answer to `GET /v1/files/{id}/parts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartList {
    /// The plan.
    #[serde(flatten)]
    pub plan: MultipartView,
    /// What the store holds.
    pub parts: Vec<StoredPartView>,
    /// The numbers still to send (absent, or of the wrong size).
    pub missing: Vec<u32>,
}

/// One part the store holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPartView {
    /// The part number.
    pub number: u32,
    /// Its stored length.
    pub size: u64,
    /// Its checksum, when the store kept one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Hex>,
}

impl PartList {
    /// The list for `plan` of a file of `size` bytes, given what is `stored`.
    pub fn new(plan: &MultipartUpload, size: u64, stored: &[StoredPart]) -> Self {
        let whole: BTreeSet<u32> = stored
            .iter()
            .filter(|part| plan.part_length(part.number, size) == Some(part.size))
            .map(|part| part.number)
            .collect();
        Self {
            plan: MultipartView::from(plan),
            parts: stored
                .iter()
                .map(|part| StoredPartView {
                    number: part.number,
                    size: part.size,
                    sha256: part.sha256.clone(),
                })
                .collect(),
            missing: (1..=plan.part_count)
                .filter(|number| !whole.contains(number))
                .collect(),
        }
    }
}
