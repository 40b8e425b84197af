//! Multipart uploads on the file system, checked as S3 checks them: a part lands only
//! with exactly its signed length and SHA-256; completion names every part by number
//! (ascending) and ETag, and every part but the last has at least 5 MiB; the joined
//! object lands under its key atomically and never over one already there.
//!
//! Layout: `multipart/{upload id}/upload.json` (the key and content type), and per
//! part `multipart/{upload id}/{n}` (the bytes) and `{n}.json` (size, ETag, SHA-256).
//! A part sent again replaces the one before, as on S3.

use std::{path::PathBuf, sync::atomic::Ordering};

use airlock_domain::{
    ContentType, ObjectKey, Sha256Hex, StoredPart,
    multipart::MIN_PART_SIZE,
    ports::{MultipartAbort, ObjectMultipart, PartToSign, PresignedRequest, StoreError},
};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{
    CHUNK_SIZE, FsObjectStore,
    writer::{whole, within_length, write_atomically},
};
use crate::{LocalError, PartGrant};

/// What the store keeps about an upload in progress.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct UploadMeta {
    key: String,
    content_type: String,
}

impl FsObjectStore {
    /// Every upload in progress: its key, id and when it was started.
    pub(super) async fn uploads_in_progress(
        &self,
    ) -> Result<Vec<(String, String, std::time::SystemTime)>, LocalError> {
        let mut uploads = Vec::new();
        let mut entries = match tokio::fs::read_dir(self.inner.root.join("multipart")).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(uploads),
            Err(e) => return Err(e.into()),
        };
        while let Some(entry) = entries.next_entry().await? {
            let Some(upload_id) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let meta_path = entry.path().join("upload.json");
            // An upload aborted meanwhile, or one whose start is not yet written.
            let Ok(bytes) = tokio::fs::read(&meta_path).await else {
                continue;
            };
            let meta: UploadMeta = serde_json::from_slice(&bytes)?;
            let started = tokio::fs::metadata(&meta_path).await?.modified()?;
            uploads.push((meta.key, upload_id, started));
        }
        Ok(uploads)
    }

    /// Calls `hook` with the key and size of every object a multipart completion
    /// creates, as S3 sends `ObjectCreated:CompleteMultipartUpload`. The first hook
    /// set is kept.
    pub fn on_multipart_complete(&self, hook: impl Fn(&str, u64) + Send + Sync + 'static) {
        let _ = self.inner.on_complete.set(Box::new(hook));
    }

    /// The folder of an upload; `None` for an id this store could not have made, so
    /// an id from a URL never names a path outside the store.
    fn upload_dir(&self, upload_id: &str) -> Option<PathBuf> {
        ulid::Ulid::from_string(upload_id).ok()?;
        Some(self.inner.root.join("multipart").join(upload_id))
    }

    /// The upload's folder and what it was started with, if the upload exists and
    /// is for `key`.
    async fn open_upload(
        &self,
        key: &str,
        upload_id: &str,
    ) -> Result<(PathBuf, UploadMeta), LocalError> {
        let no_such_upload = || LocalError::NoSuchUpload(upload_id.to_owned());
        let dir = self.upload_dir(upload_id).ok_or_else(no_such_upload)?;
        let meta = match tokio::fs::read(dir.join("upload.json")).await {
            Ok(bytes) => serde_json::from_slice::<UploadMeta>(&bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(no_such_upload()),
            Err(e) => return Err(e.into()),
        };
        if meta.key != key {
            return Err(no_such_upload());
        }
        Ok((dir, meta))
    }

    /// Starts receiving the part a presigned URL granted: exactly its length of
    /// bytes, hashing to its SHA-256.
    pub async fn begin_part(&self, part: PartGrant) -> Result<PartWriter, LocalError> {
        let PartGrant {
            key,
            upload_id,
            number,
            length,
            sha256,
        } = part;
        let (dir, _) = self.open_upload(&key, &upload_id).await?;
        let n = self.inner.next_temp.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!("{number}.{}-{n}.tmp", std::process::id()));
        let file = tokio::fs::File::create(&temp).await?;
        Ok(PartWriter {
            file,
            temp,
            dir,
            serial: n,
            number,
            expected_len: length,
            expected_sha256: sha256,
            written: 0,
            hasher: Sha256::new(),
        })
    }

    async fn stored_parts(&self, dir: &std::path::Path) -> Result<Vec<StoredPart>, LocalError> {
        let mut parts = Vec::new();
        let mut entries = tokio::fs::read_dir(dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let name = entry.file_name();
            let Some(number) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let part: StoredPart = serde_json::from_slice(&tokio::fs::read(entry.path()).await?)?;
            if part.number == number {
                parts.push(part);
            }
        }
        parts.sort_by_key(|p| p.number);
        Ok(parts)
    }

    /// Joins the named parts into the object, after S3's checks.
    async fn join_parts(
        &self,
        key: &str,
        (dir, meta): (&std::path::Path, &UploadMeta),
        named: &[StoredPart],
    ) -> Result<u64, StoreError> {
        let stored = self.stored_parts(dir).await.map_err(backend)?;
        check_completion(named, &stored)?;
        let total = named.iter().map(|p| p.size).sum();
        let mut writer = self
            .begin_write(key, total)
            .await
            .map_err(backend)?
            .with_headers(Some(&meta.content_type), None);
        let mut buf = vec![0; CHUNK_SIZE];
        for part in named {
            let mut file = tokio::fs::File::open(dir.join(part.number.to_string()))
                .await
                .map_err(backend)?;
            loop {
                let n = file.read(&mut buf).await.map_err(backend)?;
                if n == 0 {
                    break;
                }
                writer.write(&buf[..n]).await.map_err(backend)?;
            }
        }
        match writer.commit().await {
            Ok(size) => Ok(size),
            // Only a completion lands an object under a multipart upload's key (the
            // api never signs a single PUT for it): this is one that crashed after
            // landing it and before clearing the parts. Finish that one.
            Err(LocalError::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(total),
            Err(e) => Err(backend(e)),
        }
    }
}

/// S3's checks on a completion request against the parts stored: ascending numbers
/// (`InvalidPartOrder`), each stored with that ETag (`InvalidPart`), each but the last
/// at least [`MIN_PART_SIZE`] (`EntityTooSmall`).
fn check_completion(named: &[StoredPart], stored: &[StoredPart]) -> Result<(), StoreError> {
    if named.is_empty() {
        return Err(StoreError::Refused(
            "a completion names no parts".to_owned(),
        ));
    }
    if named.windows(2).any(|w| w[0].number >= w[1].number) {
        return Err(StoreError::Refused(
            "parts must be listed in ascending order of number".to_owned(),
        ));
    }
    for (i, part) in named.iter().enumerate() {
        let Some(held) = stored.iter().find(|s| s.number == part.number) else {
            return Err(StoreError::Refused(format!(
                "part {} was never stored",
                part.number
            )));
        };
        if held.etag != part.etag {
            return Err(StoreError::Refused(format!(
                "part {}'s ETag is not the one stored",
                part.number
            )));
        }
        if i + 1 < named.len() && held.size < MIN_PART_SIZE {
            return Err(StoreError::Refused(format!(
                "part {} has {} bytes; every part but the last needs at least {MIN_PART_SIZE}",
                part.number, held.size
            )));
        }
    }
    Ok(())
}

fn backend(e: impl Into<LocalError>) -> StoreError {
    StoreError::Backend(Box::new(e.into()))
}

/// A part being received; it replaces any earlier copy of the part only when
/// [`commit`](Self::commit) finds its length and SHA-256 as signed.
pub struct PartWriter {
    file: tokio::fs::File,
    temp: PathBuf,
    dir: PathBuf,
    serial: u64,
    number: u32,
    expected_len: u64,
    expected_sha256: Sha256Hex,
    written: u64,
    hasher: Sha256,
}

impl PartWriter {
    /// Appends a chunk; refuses to grow past the signed length.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), LocalError> {
        let after = within_length(self.written, chunk, self.expected_len)?;
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        self.written = after;
        Ok(())
    }

    /// Keeps the part, if it is whole and hashes as signed.
    pub async fn commit(mut self) -> Result<StoredPart, LocalError> {
        whole(self.written, self.expected_len)?;
        let digest = hex::encode(std::mem::take(&mut self.hasher).finalize());
        if digest != self.expected_sha256.as_str() {
            return Err(LocalError::ChecksumMismatch {
                signed: self.expected_sha256.to_string(),
                received: digest,
            });
        }
        self.file.flush().await?;
        self.file.sync_all().await?;
        let part = StoredPart {
            number: self.number,
            size: self.written,
            // S3's part ETag is the MD5 of the part; any digest of it serves here.
            etag: format!("\"{}\"", &digest[..32]),
            sha256: Some(self.expected_sha256.clone()),
        };
        tokio::fs::rename(&self.temp, self.dir.join(self.number.to_string())).await?;
        let json = serde_json::to_vec(&part)?;
        write_atomically(
            &self.dir.join(format!("{}.json", self.number)),
            self.serial,
            &json,
        )
        .await?;
        Ok(part)
    }
}

impl Drop for PartWriter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

impl ObjectMultipart for FsObjectStore {
    async fn start_multipart(
        &self,
        key: &ObjectKey,
        content_type: &ContentType,
    ) -> Result<String, StoreError> {
        let upload_id = ulid::Ulid::new().to_string();
        let dir = self
            .upload_dir(&upload_id)
            .ok_or_else(|| StoreError::Refused("upload id".to_owned()))?;
        tokio::fs::create_dir_all(&dir).await.map_err(backend)?;
        let meta = UploadMeta {
            key: key.to_string(),
            content_type: content_type.to_string(),
        };
        let json = serde_json::to_vec(&meta).map_err(backend)?;
        let n = self.inner.next_temp.fetch_add(1, Ordering::Relaxed);
        write_atomically(&dir.join("upload.json"), n, &json)
            .await
            .map_err(backend)?;
        Ok(upload_id)
    }

    async fn presign_part(
        &self,
        part: PartToSign<'_>,
        expires_at: airlock_domain::Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        Ok(self.sign_part(part, expires_at))
    }

    async fn list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> Result<Vec<StoredPart>, StoreError> {
        let key = key.to_string();
        let (dir, _) = self
            .open_upload(&key, upload_id)
            .await
            .map_err(not_found_or_backend(&key))?;
        self.stored_parts(&dir).await.map_err(backend)
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> Result<(), StoreError> {
        let (dir, meta) = match self.open_upload(&key.to_string(), upload_id).await {
            Ok(upload) => upload,
            // Completed before (its folder is gone once the object landed): the
            // retry of a completion whose answer was lost succeeds.
            Err(LocalError::NoSuchUpload(_)) if self.exists(key).await => return Ok(()),
            Err(e) => return Err(not_found_or_backend(&key.to_string())(e)),
        };
        let key = key.to_string();
        let size = self.join_parts(&key, (&dir, &meta), parts).await?;
        remove_dir_if_present(&dir).await.map_err(backend)?;
        if let Some(hook) = self.inner.on_complete.get() {
            hook(&key, size);
        }
        Ok(())
    }
}

impl MultipartAbort for FsObjectStore {
    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), StoreError> {
        match self.open_upload(&key.to_string(), upload_id).await {
            Ok((dir, _)) => remove_dir_if_present(&dir).await.map_err(backend),
            Err(LocalError::NoSuchUpload(_)) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}

/// Removes a folder and what is in it; one already gone is not an error (a
/// concurrent abort or completion removed it first).
async fn remove_dir_if_present(dir: &std::path::Path) -> std::io::Result<()> {
    match tokio::fs::remove_dir_all(dir).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn not_found_or_backend(key: &str) -> impl Fn(LocalError) -> StoreError + '_ {
    move |e| match e {
        LocalError::NoSuchUpload(_) => StoreError::NotFound(key.to_owned()),
        e => backend(e),
    }
}
