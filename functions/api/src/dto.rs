//! What the API makes of the wire bodies (`airlock-wire`, shared with its clients):
//! their validation into domain values, with the API's errors.

use airlock_domain::{MultipartUpload, Sha256Hex, UploadRequest};
use airlock_wire::{CreateFileBody, MAX_PARTS_PER_REQUEST, PartsToSign};
use std::collections::BTreeSet;

use crate::error::ApiError;

/// The upload asked for and the SHA-256 declared with it, validated.
pub(crate) fn upload_request(
    body: &CreateFileBody,
) -> Result<(UploadRequest, Option<Sha256Hex>), ApiError> {
    let request = body.upload_request().map_err(ApiError::InvalidField)?;
    let sha256 = body.declared_sha256().map_err(ApiError::InvalidSha256)?;
    Ok((request, sha256))
}

/// `(number, length, sha256)` of each part asked for, once each, in number order.
pub(crate) fn wanted_parts(
    body: PartsToSign,
    plan: &MultipartUpload,
    size: u64,
) -> Result<Vec<(u32, u64, Sha256Hex)>, ApiError> {
    if body.parts.is_empty() || body.parts.len() > MAX_PARTS_PER_REQUEST {
        return Err(ApiError::PartsPerRequest {
            max: MAX_PARTS_PER_REQUEST,
        });
    }
    let mut seen = BTreeSet::new();
    let mut wanted = Vec::with_capacity(body.parts.len());
    for part in body.parts {
        let length = plan
            .part_length(part.number, size)
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
