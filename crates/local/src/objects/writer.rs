//! The atomic writer: an upload lands under its key whole, with its headers, or not
//! at all, and never over an object already there.

use std::{
    path::{Path, PathBuf},
    sync::atomic::Ordering,
};

use airlock_domain::ObjectKey;
use tokio::io::AsyncWriteExt;

use super::{FsObjectStore, StoredHeaders};
use crate::LocalError;

impl FsObjectStore {
    /// Starts writing an object that must end up exactly `expected_len` bytes long.
    pub async fn begin_write(
        &self,
        key: &str,
        expected_len: u64,
    ) -> Result<ObjectWriter, LocalError> {
        let incoming = self.inner.root.join("incoming");
        tokio::fs::create_dir_all(&incoming).await?;
        let n = self.inner.next_temp.fetch_add(1, Ordering::Relaxed);
        let temp = incoming.join(format!("{}-{n}", std::process::id()));
        let file = tokio::fs::File::create(&temp).await?;
        Ok(ObjectWriter {
            file,
            temp,
            target: self.object_path(key),
            headers_target: self.headers_path(key),
            headers: StoredHeaders::default(),
            serial: n,
            expected_len,
            written: 0,
        })
    }

    /// Stores `bytes` under `key` in one go, with the same guarantees as a presigned
    /// upload (atomic, never overwriting). For tools and tests; clients use presigned URLs.
    pub async fn put_bytes(&self, key: &ObjectKey, bytes: &[u8]) -> Result<(), LocalError> {
        let mut writer = self
            .begin_write(&key.to_string(), bytes.len() as u64)
            .await?;
        writer.write(bytes).await?;
        writer.commit().await.map(drop)
    }
}

/// A partial object; it becomes visible under its key only when [`commit`](Self::commit)
/// finds exactly the expected number of bytes. Dropped without commit, it is removed.
pub struct ObjectWriter {
    file: tokio::fs::File,
    temp: PathBuf,
    target: PathBuf,
    headers_target: PathBuf,
    headers: StoredHeaders,
    /// Unique to this write, for the headers' temp file.
    serial: u64,
    expected_len: u64,
    written: u64,
}

impl ObjectWriter {
    /// Keeps these headers with the object, as S3 keeps what a PUT carried.
    pub fn with_headers(
        mut self,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
    ) -> Self {
        self.headers = StoredHeaders {
            content_type: content_type.map(str::to_owned),
            content_encoding: content_encoding.map(str::to_owned),
        };
        self
    }

    /// Appends a chunk; refuses to grow past the expected length.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), LocalError> {
        let after = within_length(self.written, chunk, self.expected_len)?;
        self.file.write_all(chunk).await?;
        self.written = after;
        Ok(())
    }

    /// Makes the object durable and visible, if it has exactly the expected length and
    /// no object exists under its key yet (an `AlreadyExists` I/O error otherwise):
    /// objects are never overwritten, so verified bytes cannot be swapped.
    pub async fn commit(mut self) -> Result<u64, LocalError> {
        whole(self.written, self.expected_len)?;
        self.file.flush().await?;
        self.file.sync_all().await?;
        airlock_faults::fault!("objects.between_bytes_and_headers", |injected| Err(
            LocalError::Io(injected.into())
        ));
        if let Some(parent) = self.target.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // The headers land before the bytes, so an object is never seen without them.
        // They are replaced, not linked exclusively: a crash between the two writes
        // leaves headers without an object, which the next attempt must overwrite.
        // Two writers racing for one key can leave the loser's headers on the
        // winner's bytes in that short window; downloads override the encoding and
        // type anyway, so a stored header is never served unsigned.
        if tokio::fs::try_exists(&self.target).await? {
            return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists).into());
        }
        let headers = serde_json::to_vec(&self.headers).map_err(std::io::Error::other)?;
        write_atomically(&self.headers_target, self.serial, &headers).await?;
        airlock_faults::fault!("objects.between_headers_and_link", |injected| Err(
            LocalError::Io(injected.into())
        ));
        // Unlike a rename, a hard link fails when the target exists.
        tokio::fs::hard_link(&self.temp, &self.target).await?;
        tokio::fs::remove_file(&self.temp).await?;
        Ok(self.written)
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        // After a successful commit the temp file is gone and this is a no-op.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// The bytes written once `chunk` is added to `written`; refused past `expected`.
pub(super) fn within_length(written: u64, chunk: &[u8], expected: u64) -> Result<u64, LocalError> {
    let after = written + chunk.len() as u64;
    if after > expected {
        return Err(LocalError::LengthMismatch {
            expected,
            actual: after,
        });
    }
    Ok(after)
}

/// Refuses a body that ended short of `expected`.
pub(super) fn whole(written: u64, expected: u64) -> Result<(), LocalError> {
    if written != expected {
        return Err(LocalError::LengthMismatch {
            expected,
            actual: written,
        });
    }
    Ok(())
}

/// Writes through a temp file unique to this write (`n`), so concurrent writers of the
/// same path never rename each other's temp file away.
pub(super) async fn write_atomically(path: &Path, n: u64, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let temp = path.with_extension(format!("{}-{n}.tmp", std::process::id()));
    tokio::fs::write(&temp, bytes).await?;
    tokio::fs::rename(&temp, path).await
}
