//! The bodies of the multipart routes: the plan a large file is created with, the
//! parts a client asks to have presigned, the URLs it gets, and the parts stored.

use std::collections::BTreeSet;

use airlock_domain::{MultipartUpload, Sha256Hex, StoredPart, ports::PresignedRequest};
use serde::{Deserialize, Serialize};

use super::PresignedView;
use crate::{error::ApiError, multipart::MAX_PARTS_PER_REQUEST};

/// How a file is to be sent in parts, as `POST /v1/files` and `GET /v1/files/{id}`
/// show it.
#[derive(Debug, Serialize)]
pub(crate) struct MultipartView<'a> {
    upload_id: &'a str,
    part_size: u64,
    part_count: u32,
}

impl<'a> From<&'a MultipartUpload> for MultipartView<'a> {
    fn from(plan: &'a MultipartUpload) -> Self {
        Self {
            upload_id: &plan.upload_id,
            part_size: plan.part_size,
            part_count: plan.part_count,
        }
    }
}

/// `POST /v1/files/{id}/parts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PartsToSign {
    parts: Vec<PartToSignBody>,
}

/// One part a client wants a URL for, with the SHA-256 of its bytes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartToSignBody {
    #[serde(deserialize_with = "part_number")]
    number: u32,
    sha256: String,
}

/// A part number as JSON Schema's `integer` (`7.0` included, as for `size`).
fn part_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    const REFUSAL: &str = "a part number is a whole number from 1 to 10000";
    let whole = super::whole(deserializer, REFUSAL)?;
    u32::try_from(whole).map_err(|_| serde::de::Error::custom(REFUSAL))
}

impl PartsToSign {
    /// `(number, length, sha256)` of each part asked for, once each, in number order.
    pub(crate) fn validated(
        self,
        plan: &MultipartUpload,
        size: u64,
    ) -> Result<Vec<(u32, u64, Sha256Hex)>, ApiError> {
        if self.parts.is_empty() || self.parts.len() > MAX_PARTS_PER_REQUEST {
            return Err(ApiError::PartsPerRequest {
                max: MAX_PARTS_PER_REQUEST,
            });
        }
        let mut seen = BTreeSet::new();
        let mut wanted = Vec::with_capacity(self.parts.len());
        for part in self.parts {
            let length =
                plan.part_length(part.number, size)
                    .ok_or(ApiError::PartNumberOutOfPlan {
                        number: part.number,
                        count: plan.part_count,
                    })?;
            let sha256 = Sha256Hex::parse(&part.sha256).map_err(ApiError::InvalidSha256)?;
            if seen.insert(part.number) {
                wanted.push((part.number, length, sha256));
            }
        }
        wanted.sort_by_key(|(number, ..)| *number);
        Ok(wanted)
    }
}

/// The answer to `POST /v1/files/{id}/parts`.
#[derive(Debug, Serialize)]
pub(crate) struct SignedParts<'a> {
    parts: Vec<SignedPart<'a>>,
}

#[derive(Debug, Serialize)]
struct SignedPart<'a> {
    number: u32,
    size: u64,
    #[serde(flatten)]
    request: PresignedView<'a>,
}

impl<'a> SignedParts<'a> {
    pub(crate) fn new(signed: &'a [(u32, u64, PresignedRequest)]) -> Self {
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
#[derive(Debug, Serialize)]
pub(crate) struct PartList<'a> {
    #[serde(flatten)]
    plan: MultipartView<'a>,
    parts: Vec<StoredPartView<'a>>,
    missing: Vec<u32>,
}

#[derive(Debug, Serialize)]
struct StoredPartView<'a> {
    number: u32,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<&'a Sha256Hex>,
}

impl<'a> PartList<'a> {
    pub(crate) fn new(plan: &'a MultipartUpload, size: u64, stored: &'a [StoredPart]) -> Self {
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
                    sha256: part.sha256.as_ref(),
                })
                .collect(),
            missing: (1..=plan.part_count)
                .filter(|number| !whole.contains(number))
                .collect(),
        }
    }
}
