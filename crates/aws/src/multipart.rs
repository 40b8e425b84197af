//! Multipart uploads on S3. Uploads are created with SHA-256 as their checksum
//! algorithm, so S3 refuses a part whose bytes do not hash to the
//! `x-amz-checksum-sha256` its presigned URL signed, and completion names each part's
//! checksum beside its ETag. Completion carries `If-None-Match: *`, so it never lands
//! over an object already under the key.

use airlock_domain::{
    ContentType, ObjectKey, Sha256Hex, StoredPart, Timestamp,
    ports::{MultipartAbort, ObjectMultipart, PartToSign, PresignedRequest, StoreError},
};
use aws_sdk_s3::{
    error::{ProvideErrorMetadata, SdkError},
    types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart},
};

use crate::s3::{S3Store, backend, presigned_put, presigning};

/// S3 lists at most this many parts a page.
const PARTS_PAGE: i32 = 1000;

impl ObjectMultipart for S3Store {
    async fn start_multipart(
        &self,
        key: &ObjectKey,
        content_type: &ContentType,
    ) -> Result<String, StoreError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.to_string())
            .content_type(content_type.as_str())
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(backend)?;
        created
            .upload_id
            .ok_or_else(|| StoreError::Refused("S3 answered without an upload id".to_owned()))
    }

    async fn presign_part(
        &self,
        part: PartToSign<'_>,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let key = part.key;
        let number = i32::try_from(part.number).map_err(backend)?;
        let length = i64::try_from(part.length).map_err(backend)?;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key.to_string())
            .upload_id(part.upload_id)
            .part_number(number)
            .content_length(length)
            .checksum_sha256(part.sha256.to_base64())
            .presigned(presigning(expires_at)?)
            .await
            .map_err(backend)?;
        let headers = PresignedRequest::part_headers(part.length, part.sha256);
        Ok(presigned_put(request, headers, expires_at))
    }

    async fn list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StoreError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key.to_string())
                .upload_id(upload_id)
                .max_parts(PARTS_PAGE)
                .set_part_number_marker(marker.take())
                .send()
                .await
                .map_err(|e| no_such_upload_or_backend(e, key))?;
            parts.extend(page.parts().iter().filter_map(stored_part));
            match page.next_part_number_marker() {
                Some(next) if page.is_truncated() == Some(true) => marker = Some(next.to_owned()),
                _ => break,
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> Result<(), StoreError> {
        // No parts named: the caller found the upload gone. S3 refuses an empty
        // completion as malformed before it looks the upload up, so the question
        // left, whether an earlier completion landed the object, is asked directly.
        if parts.is_empty() {
            return self.landed_already(key).await;
        }
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(parts.iter().map(completed_part).collect()))
            .build();
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.to_string())
            .upload_id(upload_id)
            .multipart_upload(completed)
            .if_none_match("*")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match no_such_upload_or_backend(e, key) {
                // Completed by an earlier call whose answer was lost: the object is
                // there, which is what this call was for.
                StoreError::NotFound(_) => self.landed_already(key).await,
                other => Err(other),
            },
        }
    }
}

impl MultipartAbort for S3Store {
    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key.to_string())
            .upload_id(upload_id)
            .send()
            .await;
        match result.map_err(|e| no_such_upload_or_backend(e, key)) {
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl S3Store {
    /// Success when the object a completion would make is there already.
    async fn landed_already(&self, key: &ObjectKey) -> Result<(), StoreError> {
        if self.exists(&key.to_string()).await? {
            Ok(())
        } else {
            Err(StoreError::NotFound(key.to_string()))
        }
    }
}

fn stored_part(part: &aws_sdk_s3::types::Part) -> Option<StoredPart> {
    Some(StoredPart {
        number: u32::try_from(part.part_number?).ok()?,
        size: u64::try_from(part.size?).ok()?,
        etag: part.e_tag.clone()?,
        sha256: part
            .checksum_sha256
            .as_deref()
            .and_then(|b64| Sha256Hex::from_base64(b64).ok()),
    })
}

fn completed_part(part: &StoredPart) -> CompletedPart {
    CompletedPart::builder()
        .part_number(i32::try_from(part.number).unwrap_or(i32::MAX))
        .e_tag(&part.etag)
        .set_checksum_sha256(part.sha256.as_ref().map(Sha256Hex::to_base64))
        .build()
}

/// `NoSuchUpload` (404) is [`StoreError::NotFound`]; a request S3 refuses as invalid
/// (400: `InvalidPart`, `InvalidPartOrder`, `EntityTooSmall`; 412 when an object is
/// in the way) is [`StoreError::Refused`] with S3's words; the rest is the backend.
fn no_such_upload_or_backend<E>(e: SdkError<E>, key: &ObjectKey) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.as_service_error().and_then(ProvideErrorMetadata::code);
    match (status, code) {
        (_, Some("NoSuchUpload")) | (Some(404), _) => StoreError::NotFound(key.to_string()),
        (Some(400 | 412), code) => {
            let message = e
                .as_service_error()
                .and_then(ProvideErrorMetadata::message)
                .unwrap_or_default();
            StoreError::Refused(format!("{}: {message}", code.unwrap_or("refused")))
        }
        _ => backend(e),
    }
}
