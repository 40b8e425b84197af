//! Reading, tagging, quarantining and removing stored objects: the ports ingest,
//! publish and sweep use, and the lookups the local server and tests make.

use std::{
    path::{Path, PathBuf},
    sync::atomic::Ordering,
};

use airlock_domain::{
    FileStatus, ObjectKey, StoredObject,
    ports::{
        ChunkStream, ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger, StoreError,
        UNSCANNED,
    },
};
use tokio::io::AsyncReadExt;

use super::{CHUNK_SIZE, FsObjectStore, StoredHeaders, writer::write_atomically};
use crate::LocalError;

impl FsObjectStore {
    /// The headers an object was stored with; none for an object stored without.
    async fn stored_headers(&self, key: &str) -> Result<StoredObject, StoreError> {
        match tokio::fs::read(self.headers_path(key)).await {
            Ok(bytes) => serde_json::from_slice::<StoredHeaders>(&bytes)
                .map(StoredObject::from)
                .map_err(|e| StoreError::Backend(Box::new(e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoredObject::default()),
            Err(e) => Err(StoreError::Backend(Box::new(e))),
        }
    }

    /// Whether an object exists under `key`.
    pub async fn exists(&self, key: &ObjectKey) -> bool {
        tokio::fs::try_exists(self.object_path(&key.to_string()))
            .await
            .unwrap_or(false)
    }

    /// The status tag of an object, if it has one.
    pub async fn status_tag(&self, key: &str) -> Result<Option<FileStatus>, LocalError> {
        match tokio::fs::read_to_string(self.tag_path(key)).await {
            Ok(text) => Ok(FileStatus::parse(text.trim())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Opens an object by its raw key (as the local server receives it).
    pub async fn open_raw(&self, key: &str) -> Result<FileChunks, StoreError> {
        match tokio::fs::File::open(self.object_path(key)).await {
            Ok(file) => {
                // One open, its descriptor duplicated for the pass that maps it (a
                // plain dup, not another trip through the blocking pool).
                let in_place = file.into_std().await;
                let file = in_place
                    .try_clone()
                    .map_err(|e| StoreError::Backend(Box::new(e)))?;
                Ok(FileChunks {
                    file: tokio::fs::File::from_std(file),
                    in_place,
                    stored: self.stored_headers(key).await?,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(key.to_owned()))
            }
            Err(e) => Err(StoreError::Backend(Box::new(e))),
        }
    }
}

/// An open object file, read in [`CHUNK_SIZE`] chunks, or in place.
pub struct FileChunks {
    file: tokio::fs::File,
    /// The same open file, for a pass that maps it: the store writes every object to a
    /// new file renamed over the old one and never writes one in place, so the bytes
    /// of an open file do not change.
    in_place: std::fs::File,
    stored: StoredObject,
}

impl ChunkStream for FileChunks {
    fn stored(&self) -> &StoredObject {
        &self.stored
    }

    fn local_file(&self) -> Option<&std::fs::File> {
        Some(&self.in_place)
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        let mut buf = vec![0; CHUNK_SIZE];
        let n = self
            .file
            .read(&mut buf)
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some(buf))
    }
}

impl ObjectReader for FsObjectStore {
    type Stream = FileChunks;

    // One version per key, as a bucket without versioning: the store never hands out
    // a version id, so the only one ever asked for is the current (`None`).
    async fn open(
        &self,
        key: &ObjectKey,
        _version: Option<&str>,
    ) -> Result<FileChunks, StoreError> {
        self.open_raw(&key.to_string()).await
    }

    async fn open_at(
        &self,
        key: &ObjectKey,
        _version: Option<&str>,
        offset: u64,
    ) -> Result<FileChunks, StoreError> {
        use tokio::io::AsyncSeekExt;
        let mut chunks = self.open_raw(&key.to_string()).await?;
        let size = chunks
            .file
            .metadata()
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?
            .len();
        if offset > size {
            return Err(StoreError::Refused(format!(
                "{key} has no byte {offset}: it is shorter than when it was read before"
            )));
        }
        chunks
            .file
            .seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        Ok(chunks)
    }
}

impl ObjectTagger for FsObjectStore {
    async fn tag_status(
        &self,
        key: &ObjectKey,
        _version: Option<&str>,
        status: FileStatus,
    ) -> Result<(), StoreError> {
        // Like S3's PutObjectTagging, a new tag set replaces the old one whole.
        remove_if_present(&self.scan_tag_path(&key.to_string()))
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        self.write_status_tag(key, status).await
    }

    async fn tag_clean_unscanned(
        &self,
        key: &ObjectKey,
        _version: Option<&str>,
    ) -> Result<(), StoreError> {
        let n = self.inner.next_temp.fetch_add(1, Ordering::Relaxed);
        write_atomically(
            &self.scan_tag_path(&key.to_string()),
            n,
            UNSCANNED.as_bytes(),
        )
        .await
        .map_err(|e| StoreError::Backend(Box::new(e)))?;
        self.write_status_tag(key, FileStatus::Clean).await
    }
}

impl FsObjectStore {
    /// The object's `airlock-scan` tag (`unscanned` for a file accepted without a scan).
    pub async fn scan_tag(&self, key: &str) -> Result<Option<String>, LocalError> {
        match tokio::fs::read_to_string(self.scan_tag_path(key)).await {
            Ok(text) => Ok(Some(text.trim().to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn write_status_tag(
        &self,
        key: &ObjectKey,
        status: FileStatus,
    ) -> Result<(), StoreError> {
        let key = key.to_string();
        if !tokio::fs::try_exists(self.object_path(&key))
            .await
            .unwrap_or(false)
        {
            return Err(StoreError::NotFound(key));
        }
        let n = self.inner.next_temp.fetch_add(1, Ordering::Relaxed);
        let tag = self.tag_path(&key);
        let backend = |e| StoreError::Backend(Box::new(e));
        write_atomically(&tag, n, status.as_str().as_bytes())
            .await
            .map_err(backend)?;
        // A removal may have run between the check above and the write: it deletes the
        // object, then the tag. Had it deleted the tag before this write, the object is
        // gone now, and the tag must go too: a CLEAN tag left on a removed key would
        // cover any bytes a replayed presigned PUT stores there later.
        if !tokio::fs::try_exists(self.object_path(&key))
            .await
            .unwrap_or(false)
        {
            remove_if_present(&tag).await.map_err(backend)?;
            return Err(StoreError::NotFound(key));
        }
        Ok(())
    }
}

impl ObjectQuarantine for FsObjectStore {
    async fn quarantine(&self, key: &ObjectKey) -> Result<(), StoreError> {
        let backend = |e| StoreError::Backend(Box::new(e));
        let (from, to) = (key.to_string(), key.quarantined());
        let exists =
            |path: PathBuf| async move { tokio::fs::try_exists(path).await.unwrap_or(false) };
        if !exists(self.object_path(&from)).await {
            return if exists(self.object_path(&to)).await {
                Ok(())
            } else {
                Err(StoreError::NotFound(from))
            };
        }
        // Quarantined already: what is under the upload key now is a replayed PUT;
        // it goes, and the kept sample is never replaced.
        if exists(self.object_path(&to)).await {
            for path in [
                self.object_path(&from),
                self.tag_path(&from),
                self.headers_path(&from),
                self.scan_tag_path(&from),
            ] {
                remove_if_present(&path).await.map_err(backend)?;
            }
            return Ok(());
        }
        // The moved object is tagged INFECTED first, whatever tag the upload has
        // now (as S3's copy with the REPLACE tagging directive), so it is never
        // untagged nor CLEAN (unreadable either way: the object server serves CLEAN
        // objects only).
        let n = self.inner.next_temp.fetch_add(1, Ordering::Relaxed);
        write_atomically(
            &self.tag_path(&to),
            n,
            FileStatus::Infected.as_str().as_bytes(),
        )
        .await
        .map_err(backend)?;
        if let Ok(headers) = tokio::fs::read(self.headers_path(&from)).await {
            let n = self.inner.next_temp.fetch_add(1, Ordering::Relaxed);
            write_atomically(&self.headers_path(&to), n, &headers)
                .await
                .map_err(backend)?;
        }
        let target = self.object_path(&to);
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(backend)?;
        }
        tokio::fs::rename(self.object_path(&from), &target)
            .await
            .map_err(backend)?;
        airlock_faults::fault!("objects.quarantine_between_move_and_cleanup", |injected| {
            Err(StoreError::Backend(injected.into()))
        });
        remove_if_present(&self.tag_path(&from))
            .await
            .map_err(backend)?;
        remove_if_present(&self.headers_path(&from))
            .await
            .map_err(backend)
    }
}

impl ObjectRemover for FsObjectStore {
    async fn remove_upload(
        &self,
        key: &ObjectKey,
        _version: Option<&str>,
    ) -> Result<(), StoreError> {
        let key = key.to_string();
        for path in [
            self.object_path(&key),
            self.tag_path(&key),
            self.headers_path(&key),
            self.scan_tag_path(&key),
        ] {
            remove_if_present(&path)
                .await
                .map_err(|e| StoreError::Backend(Box::new(e)))?;
        }
        Ok(())
    }

    async fn remove(&self, key: &ObjectKey) -> Result<(), StoreError> {
        let (key, quarantined) = (key.to_string(), key.quarantined());
        for path in [
            self.object_path(&key),
            self.tag_path(&key),
            self.headers_path(&key),
            self.scan_tag_path(&key),
            self.object_path(&quarantined),
            self.tag_path(&quarantined),
            self.headers_path(&quarantined),
        ] {
            remove_if_present(&path)
                .await
                .map_err(|e| StoreError::Backend(Box::new(e)))?;
        }
        Ok(())
    }
}

pub(super) async fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
