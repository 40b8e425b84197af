//! What sweep's reconciliation asks of S3: the upload prefix listed a page at a time
//! in key order (`ListObjectsV2` after a key, `ListMultipartUploads` after a key
//! marker), whether a version of an object is there, and every version under a key
//! deleted for good.
//!
//! Existence is asked of a listing, not a HEAD: with `s3:ListBucket` granted only for
//! the upload prefix, S3 answers a HEAD of a missing key 403, not 404, and a listing
//! needs no read of the bytes either.

use airlock_domain::{
    ObjectKey, Timestamp,
    ports::{Listed, ListedObject, ListedUpload, StoreError, UploadInventory},
};

use crate::s3::{S3Store, backend};

/// S3 answers at most this many keys, uploads or versions a page.
const S3_PAGE: usize = 1000;

fn page_size(limit: usize) -> i32 {
    i32::try_from(limit.clamp(1, S3_PAGE)).unwrap_or(1000)
}

fn timestamp(at: Option<&aws_sdk_s3::primitives::DateTime>) -> Timestamp {
    at.and_then(|at| at.to_millis().ok())
        .and_then(chrono::DateTime::from_timestamp_millis)
        // A listing without a date is taken as stored just now: within every grace.
        .unwrap_or_else(chrono::Utc::now)
}

impl S3Store {
    /// Every version and delete marker kept under exactly `key`.
    async fn versions_under(&self, key: &str) -> Result<Vec<Kept>, StoreError> {
        let mut found = Vec::new();
        let (mut key_marker, mut version_marker) = (None, None);
        loop {
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(key)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .map_err(backend)?;
            let exactly = |k: Option<&str>| k == Some(key);
            found.extend(
                page.versions()
                    .iter()
                    .filter(|v| exactly(v.key()))
                    .filter_map(|v| Kept::new(v.version_id(), false, v.is_latest())),
            );
            found.extend(
                page.delete_markers()
                    .iter()
                    .filter(|m| exactly(m.key()))
                    .filter_map(|m| Kept::new(m.version_id(), true, m.is_latest())),
            );
            if page.is_truncated() != Some(true) {
                return Ok(found);
            }
            key_marker = page.next_key_marker().map(str::to_owned);
            version_marker = page.next_version_id_marker().map(str::to_owned);
        }
    }
}

/// One version kept under a key.
struct Kept {
    id: String,
    delete_marker: bool,
    latest: bool,
}

impl Kept {
    fn new(id: Option<&str>, delete_marker: bool, latest: Option<bool>) -> Option<Self> {
        Some(Self {
            id: id?.to_owned(),
            delete_marker,
            latest: latest == Some(true),
        })
    }

    /// Bytes, not a delete marker.
    fn holds_bytes(&self) -> bool {
        !self.delete_marker
    }
}

impl UploadInventory for S3Store {
    async fn list_uploads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Listed<ListedObject>, StoreError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(ObjectKey::prefix())
            .set_start_after(after.map(str::to_owned))
            .max_keys(page_size(limit))
            .send()
            .await
            .map_err(backend)?;
        let items = page
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ListedObject {
                    key: o.key()?.to_owned(),
                    last_modified: timestamp(o.last_modified()),
                })
            })
            .collect();
        Ok(Listed {
            items,
            more: page.is_truncated() == Some(true),
        })
    }

    async fn list_multipart_uploads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Listed<ListedUpload>, StoreError> {
        let page = self
            .client
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .prefix(ObjectKey::prefix())
            .set_key_marker(after.map(str::to_owned))
            .max_uploads(page_size(limit))
            .send()
            .await
            .map_err(backend)?;
        let items = page
            .uploads()
            .iter()
            .filter_map(|u| {
                Some(ListedUpload {
                    key: u.key()?.to_owned(),
                    upload_id: u.upload_id()?.to_owned(),
                    initiated: timestamp(u.initiated()),
                })
            })
            .collect();
        Ok(Listed {
            items,
            more: page.is_truncated() == Some(true),
        })
    }

    async fn object_exists(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<bool, StoreError> {
        let key = key.to_string();
        let versions = self.versions_under(&key).await?;
        Ok(versions.iter().any(|kept| {
            kept.holds_bytes()
                && match version {
                    Some(wanted) => kept.id == wanted,
                    // The current version; a delete marker there means none.
                    None => kept.latest,
                }
        }))
    }

    async fn purge_upload(&self, key: &str) -> Result<(), StoreError> {
        if !key.starts_with(ObjectKey::prefix()) {
            return Err(StoreError::Refused(format!(
                "{key} is not a key under the upload prefix"
            )));
        }
        for kept in self.versions_under(key).await? {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .version_id(kept.id)
                .send()
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}
