//! Objects on S3: streaming reads (over ranged GETs, in `ranged`), status tags,
//! idempotent removal, listing, and presigned uploads and downloads.

use std::{collections::BTreeMap, time::Duration};

use airlock_domain::{
    ContentType, FileName, FileStatus, ObjectKey, Timestamp,
    ports::{
        ObjectPresigner, ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger,
        PresignedRequest, SCAN_TAG, StoreError, UNSCANNED, UploadToSign,
    },
};
use aws_sdk_s3::{
    presigning::PresigningConfig,
    primitives::ByteStream,
    types::{Tag, Tagging},
};

use crate::{AdapterError, S3Chunks};

/// The object tag that carries a file's status; the bucket policy refuses reads of
/// objects whose tag is not CLEAN.
pub const STATUS_TAG: &str = "airlock-status";

/// One bucket. Cheap to clone (the SDK client is a handle).
#[derive(Clone, Debug)]
pub struct S3Store {
    pub(crate) client: aws_sdk_s3::Client,
    pub(crate) bucket: String,
    /// Bytes per ranged GET when an object is read.
    read_range: u64,
}

impl S3Store {
    /// The bucket `bucket` through `client`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            read_range: crate::ranged::RANGE_BYTES,
        }
    }

    /// The same store, reading objects in ranges of `bytes` (at least 1), for
    /// tests that need several ranges without large objects.
    pub fn with_read_range(self, bytes: u64) -> Self {
        Self {
            read_range: bytes.max(1),
            ..self
        }
    }

    /// The bucket `bucket` with a client built from the shared SDK configuration.
    pub fn from_sdk(sdk: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        Self::new(crate::s3_client(sdk), bucket)
    }

    /// Every key under `prefix`, following continuation tokens page by page.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list_keys_paged(prefix, 1000).await
    }

    /// The same, asking for `page_size` keys a page (S3's most is 1000).
    pub async fn list_keys_paged(
        &self,
        prefix: &str,
        page_size: i32,
    ) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(page_size)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(backend)?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// The status tag of an object, if it has one.
    pub async fn status_tag(&self, key: &ObjectKey) -> Result<Option<String>, StoreError> {
        self.status_tag_at(&key.to_string()).await
    }

    /// The status tag of the object under a raw key (a quarantined copy's), if any.
    pub async fn status_tag_at(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(status_of(self.tags_at(key, None).await?))
    }

    /// Every tag of an object, as `(key, value)` pairs.
    pub async fn tags(&self, key: &ObjectKey) -> Result<Vec<(String, String)>, StoreError> {
        self.tags_at(&key.to_string(), None).await
    }

    /// Every tag of the object under a raw key (of `version` of it, when given).
    async fn tags_at(
        &self,
        key: &str,
        version: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let output = self
            .client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await
            .map_err(|e| not_found_at_or_backend(e, key))?;
        Ok(output
            .tag_set()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    /// Stores bytes directly (tests and tools; clients use presigned uploads).
    pub async fn put_bytes(&self, key: &ObjectKey, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.put_version(key, bytes, None).await.map(drop)
    }

    /// Stores bytes directly (with a content type, when given, as a signed upload
    /// has one) and answers the version S3 gave them (none without versioning).
    pub async fn put_version(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .set_content_type(content_type.map(str::to_owned))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(backend)?;
        Ok(output.version_id)
    }

    /// The status tag of one version of an object, if it has one.
    pub async fn status_tag_of_version(
        &self,
        key: &ObjectKey,
        version: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(status_of(
            self.tags_at(&key.to_string(), Some(version)).await?,
        ))
    }

    /// The ids of every version kept of an object, newest first.
    pub async fn versions(&self, key: &ObjectKey) -> Result<Vec<String>, StoreError> {
        let output = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key.to_string())
            .send()
            .await
            .map_err(backend)?;
        Ok(output
            .versions()
            .iter()
            .filter(|v| v.key() == Some(key.to_string().as_str()))
            .filter_map(|v| v.version_id().map(str::to_owned))
            .collect())
    }
}

impl S3Store {
    /// Stores bytes with a content type and encoding, as a client's PUT may carry
    /// them unsigned (tests of what ingest makes of such an object).
    pub async fn put_bytes_with_headers(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
        content_encoding: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .content_type(content_type)
            .content_encoding(content_encoding)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(Box::new(e))
}

/// S3 answers a missing key with `NoSuchKey` (GetObject) or a bare 404 (others).
pub(crate) fn not_found_or_backend<E>(
    e: aws_sdk_s3::error::SdkError<E>,
    key: &ObjectKey,
) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    not_found_at_or_backend(e, &key.to_string())
}

fn not_found_at_or_backend<E>(e: aws_sdk_s3::error::SdkError<E>, key: &str) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let is_404 = e.raw_response().is_some_and(|r| r.status().as_u16() == 404);
    if is_404 {
        StoreError::NotFound(key.to_owned())
    } else {
        StoreError::Backend(Box::new(e))
    }
}

/// The value of the status tag among `tags`, if there is one.
fn status_of(tags: Vec<(String, String)>) -> Option<String> {
    tags.into_iter()
        .find_map(|(name, value)| (name == STATUS_TAG).then_some(value))
}

impl ObjectReader for S3Store {
    type Stream = S3Chunks;

    // The GET's own headers describe exactly the bytes it streams: no HEAD. The
    // bytes come over several ranged GETs at once (see `ranged`).
    async fn open(&self, key: &ObjectKey, version: Option<&str>) -> Result<S3Chunks, StoreError> {
        self.open_ranged(key, version, 0, self.read_range).await
    }

    async fn open_at(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        offset: u64,
    ) -> Result<S3Chunks, StoreError> {
        self.open_ranged(key, version, offset, self.read_range)
            .await
    }
}

impl ObjectTagger for S3Store {
    async fn tag_status(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        status: FileStatus,
    ) -> Result<(), StoreError> {
        self.put_tags(key, version, &[(STATUS_TAG, status.as_str())])
            .await
    }

    async fn tag_clean_unscanned(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<(), StoreError> {
        self.put_tags(
            key,
            version,
            &[
                (STATUS_TAG, FileStatus::Clean.as_str()),
                (SCAN_TAG, UNSCANNED),
            ],
        )
        .await
    }
}

impl S3Store {
    /// Replaces the tag set of the object (of `version` of it, when given) with `tags`.
    async fn put_tags(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        tags: &[(&str, &str)],
    ) -> Result<(), StoreError> {
        let tag_set = tags
            .iter()
            .map(|(name, value)| Tag::builder().key(*name).value(*value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(backend)?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(tag_set))
            .build()
            .map_err(backend)?;
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(key.to_string())
            .set_version_id(version.map(str::to_owned))
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| not_found_or_backend(e, key))?;
        Ok(())
    }
}

impl ObjectRemover for S3Store {
    async fn remove_upload(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<(), StoreError> {
        self.delete_version(&key.to_string(), version).await
    }

    async fn remove(&self, key: &ObjectKey) -> Result<(), StoreError> {
        // S3 answers 204 for a key that does not exist, so this is idempotent.
        for target in [key.to_string(), key.quarantined()] {
            self.delete(&target).await?;
        }
        Ok(())
    }
}

impl ObjectQuarantine for S3Store {
    async fn quarantine(&self, key: &ObjectKey) -> Result<(), StoreError> {
        // Quarantined already: what is under the upload key now is a replayed PUT
        // (or the half of a move a crash interrupted); either way it goes, and the
        // kept sample is never replaced.
        if self.exists(&key.quarantined()).await? {
            return self.delete(&key.to_string()).await;
        }
        // The copy gets its own INFECTED tag (TaggingDirective REPLACE) rather than
        // whatever tag the source has at that moment (COPY, the default): a source
        // whose INFECTED tag has not landed yet, or was overwritten, must not give
        // the quarantined object a CLEAN one.
        let copied = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .copy_source(format!("{}/{key}", self.bucket))
            .key(key.quarantined())
            .tagging_directive(aws_sdk_s3::types::TaggingDirective::Replace)
            .tagging(format!("{STATUS_TAG}={}", FileStatus::Infected.as_str()))
            .send()
            .await;
        match copied {
            Ok(_) => self.delete(&key.to_string()).await,
            Err(e) => match not_found_or_backend(e, key) {
                // Moved already by an earlier attempt that got this far?
                StoreError::NotFound(_) if self.exists(&key.quarantined()).await? => Ok(()),
                other => Err(other),
            },
        }
    }
}

impl S3Store {
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.delete_version(key, None).await
    }

    /// Deletes `version` of `key` for good, or without one the current version.
    async fn delete_version(&self, key: &str, version: Option<&str>) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Whether an object exists under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }
}

pub(crate) fn presigning(expires_at: Timestamp) -> Result<PresigningConfig, StoreError> {
    let seconds = (expires_at - chrono::Utc::now()).num_seconds().max(1);
    PresigningConfig::expires_in(Duration::from_secs(seconds.unsigned_abs()))
        .map_err(|e| backend(AdapterError::Presign(e.to_string())))
}

fn presigned(
    request: aws_sdk_s3::presigning::PresignedRequest,
    method: &'static str,
    expires_at: Timestamp,
) -> PresignedRequest {
    let headers: BTreeMap<String, String> = request
        .headers()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    PresignedRequest {
        url: request.uri().to_owned(),
        method,
        headers,
        expires_at,
    }
}

/// A presigned PUT with every header it was signed with: the SDK lists only some
/// of them, and the client needs them all.
pub(crate) fn presigned_put(
    request: aws_sdk_s3::presigning::PresignedRequest,
    signed_headers: BTreeMap<String, String>,
    expires_at: Timestamp,
) -> PresignedRequest {
    let mut signed = presigned(request, "PUT", expires_at);
    signed.headers.extend(signed_headers);
    signed
}

impl ObjectPresigner for S3Store {
    async fn presign_upload(
        &self,
        upload: UploadToSign<'_>,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let length = i64::try_from(upload.size).map_err(backend)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(upload.key.to_string())
            .content_type(upload.content_type.as_str())
            .content_length(length)
            .if_none_match("*")
            .presigned(presigning(expires_at)?)
            .await
            .map_err(backend)?;
        let headers = PresignedRequest::upload_headers(upload.content_type, upload.size);
        Ok(presigned_put(request, headers, expires_at))
    }

    async fn presign_download(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        file_name: &FileName,
        content_type: &ContentType,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        // Whatever headers the object was stored with (an unsigned Content-Encoding
        // above all, which a browser would decode), the answer says what was verified.
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .set_version_id(version.map(str::to_owned))
            .response_content_disposition(file_name.content_disposition())
            .response_content_encoding("identity")
            .response_content_type(content_type.as_str())
            .presigned(presigning(expires_at)?)
            .await
            .map_err(backend)?;
        Ok(presigned(request, "GET", expires_at))
    }
}
