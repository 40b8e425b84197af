//! Listing what the store holds under the upload prefix, in key order and a page at
//! a time as S3 lists it, for sweep's reconciliation; and removing a key's bytes for
//! good (the store keeps one version, so that is the object and what lies beside it).

use std::{path::Path, time::SystemTime};

use airlock_domain::{
    ObjectKey, Timestamp,
    ports::{Listed, ListedObject, ListedUpload, StoreError, UploadInventory},
};

use super::{FsObjectStore, store::remove_if_present};
use crate::LocalError;

fn backend(e: impl Into<LocalError>) -> StoreError {
    StoreError::Backend(Box::new(e.into()))
}

fn timestamp(at: SystemTime) -> Timestamp {
    Timestamp::from(at)
}

/// The first `limit` of `items` (sorted by key) after `after`, and whether more follow.
fn page<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> &str,
    after: Option<&str>,
    limit: usize,
) -> Listed<T> {
    items.sort_by(|a, b| key(a).cmp(key(b)));
    items.retain(|item| after.is_none_or(|after| key(item) > after));
    let more = items.len() > limit;
    items.truncate(limit);
    Listed { items, more }
}

impl FsObjectStore {
    /// Every object under the upload prefix with when it was stored.
    async fn uploads_stored(&self) -> Result<Vec<ListedObject>, LocalError> {
        let root = self.inner.root.join("objects");
        let mut found = Vec::new();
        let mut folders = vec![root.join(ObjectKey::prefix())];
        while let Some(folder) = folders.pop() {
            let mut entries = match tokio::fs::read_dir(&folder).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            while let Some(entry) = entries.next_entry().await? {
                let metadata = entry.metadata().await?;
                if metadata.is_dir() {
                    folders.push(entry.path());
                } else if let Some(key) = key_of(&root, &entry.path()) {
                    found.push(ListedObject {
                        key,
                        last_modified: timestamp(metadata.modified()?),
                    });
                }
            }
        }
        Ok(found)
    }

    fn raw_paths(&self, key: &str) -> [std::path::PathBuf; 4] {
        [
            self.object_path(key),
            self.tag_path(key),
            self.headers_path(key),
            self.scan_tag_path(key),
        ]
    }
}

/// The key of the object file at `path` under the objects folder `root`.
fn key_of(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = relative.iter().map(|p| p.to_str()).collect();
    Some(parts?.join("/"))
}

impl UploadInventory for FsObjectStore {
    async fn list_uploads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Listed<ListedObject>, StoreError> {
        let stored = self.uploads_stored().await.map_err(backend)?;
        Ok(page(stored, |o| &o.key, after, limit))
    }

    async fn list_multipart_uploads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Listed<ListedUpload>, StoreError> {
        let uploads = self
            .uploads_in_progress()
            .await
            .map_err(backend)?
            .into_iter()
            .filter(|(key, _, _)| key.starts_with(ObjectKey::prefix()))
            .map(|(key, upload_id, started)| ListedUpload {
                key,
                upload_id,
                initiated: timestamp(started),
            })
            .collect();
        Ok(page(uploads, |u| &u.key, after, limit))
    }

    async fn object_exists(
        &self,
        key: &ObjectKey,
        _version: Option<&str>,
    ) -> Result<bool, StoreError> {
        tokio::fs::try_exists(self.object_path(&key.to_string()))
            .await
            .map_err(backend)
    }

    async fn purge_upload(&self, key: &str) -> Result<(), StoreError> {
        if !key.starts_with(ObjectKey::prefix())
            || key.split('/').any(|s| s == ".." || s.is_empty())
        {
            return Err(StoreError::Refused(format!(
                "{key} is not a key under the upload prefix"
            )));
        }
        for path in self.raw_paths(key) {
            remove_if_present(&path).await.map_err(backend)?;
        }
        Ok(())
    }
}
