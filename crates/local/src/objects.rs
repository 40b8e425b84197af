//! Objects as files under a folder, with S3-like presigned URLs.
//!
//! Layout under the root: `objects/{key}` holds the bytes, `headers/{key}` the
//! headers the upload was stored with (content type and encoding, as S3 keeps them
//! whether they were signed or not), `tags/{key}` the status tag, `incoming/` the
//! partial uploads until they are complete. A write lands under its key only by an
//! atomic link, so a reader never sees half an object. The store keeps no versions:
//! a replaced object has no version id and no ETag, so nothing here pins one.
//!
//! Presigned URLs carry `X-Airlock-*` query parameters and an HMAC-SHA256 signature
//! over the method, key, expiry and (for uploads) the exact length and content type,
//! so the local server can refuse what S3 would refuse: an expired URL, a changed key,
//! a different length or type. A download's signature also covers its `response-*`
//! overrides, which the server answers with in place of the stored headers, as S3 does.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use airlock_domain::{
    ContentType, FileName, FileStatus, ObjectKey, StoredObject, Timestamp,
    ports::{
        ChunkStream, ObjectPresigner, ObjectQuarantine, ObjectReader, ObjectRemover, ObjectTagger,
        PresignedRequest, StoreError, UNSCANNED,
    },
};
use hmac::{Hmac, Mac};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{GrantError, LocalError};

/// Bytes read per chunk when streaming an object. Each read is a trip to tokio's
/// blocking pool: with 64 KiB chunks, ingest of a 1 GiB object on the local stack
/// took 4.4 s, with 1 MiB chunks 3.75 s.
pub const CHUNK_SIZE: usize = 1024 * 1024;

const EXPIRES: &str = "X-Airlock-Expires";
const LENGTH: &str = "X-Airlock-Length";
const TYPE: &str = "X-Airlock-Type";
const FILENAME: &str = "X-Airlock-Filename";
const SIGNATURE: &str = "X-Airlock-Signature";
const SIGNED_HEADERS: &str = "X-Airlock-SignedHeaders";
/// The headers an upload's signature covers; the server refuses a PUT without them.
const UPLOAD_SIGNED_HEADERS: &str = "content-length;content-type;host;if-none-match";
/// The query parameters a download may override the stored headers with (S3's names).
pub const RESPONSE_OVERRIDES: [&str; 3] = [
    "response-content-type",
    "response-content-encoding",
    "response-content-disposition",
];

/// Objects on the local file system. Cheap to clone; clones share the same folder.
#[derive(Clone)]
pub struct FsObjectStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    base_url: String,
    signing_key: Vec<u8>,
    next_temp: AtomicU64,
}

/// What a verified presigned request allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// A PUT of exactly `length` bytes of `content_type`.
    Upload {
        /// The object key.
        key: String,
        /// Bytes the body must have.
        length: u64,
        /// The `content-type` header the request must carry.
        content_type: String,
    },
    /// A GET, saved under `file_name`.
    Download {
        /// The object key.
        key: String,
        /// The name for `content-disposition`.
        file_name: String,
        /// The signed `response-*` overrides (header name without the prefix, value).
        overrides: BTreeMap<String, String>,
    },
}

impl FsObjectStore {
    /// A store under `root`; presigned URLs start with `base_url` (the local server)
    /// and are signed with `signing_key`.
    pub fn new(
        root: impl Into<PathBuf>,
        base_url: impl Into<String>,
        signing_key: Vec<u8>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                root: root.into(),
                base_url: base_url.into().trim_end_matches('/').to_owned(),
                signing_key,
                next_temp: AtomicU64::new(0),
            }),
        }
    }

    fn object_path(&self, key: &str) -> PathBuf {
        self.inner.root.join("objects").join(key)
    }

    fn tag_path(&self, key: &str) -> PathBuf {
        self.inner.root.join("tags").join(key)
    }

    fn headers_path(&self, key: &str) -> PathBuf {
        self.inner.root.join("headers").join(key)
    }

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
            Ok(file) => Ok(FileChunks {
                file,
                stored: self.stored_headers(key).await?,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(key.to_owned()))
            }
            Err(e) => Err(StoreError::Backend(Box::new(e))),
        }
    }

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

    /// Signs a request; the signature covers every parameter that limits it.
    fn sign(&self, parts: &[&str]) -> String {
        let mut mac = self.mac();
        mac.update(parts.join("\n").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        Hmac::<Sha256>::new_from_slice(&self.inner.signing_key)
            .unwrap_or_else(|_| unreachable!("hmac takes keys of any length"))
    }

    /// Checks a presigned request as the local server receives it: method, key (still
    /// percent-encoded as in the path) and query string.
    pub fn verify(
        &self,
        method: &str,
        key: &str,
        query: &str,
        now: Timestamp,
    ) -> Result<Grant, GrantError> {
        let params = parse_query(query);
        let param = |name: &'static str| {
            params
                .get(name)
                .map(String::as_str)
                .ok_or(GrantError::Malformed(name))
        };
        let expires = param(EXPIRES)?;
        let expires_at: i64 = expires
            .parse()
            .map_err(|_| GrantError::Malformed(EXPIRES))?;
        let signature =
            hex::decode(param(SIGNATURE)?).map_err(|_| GrantError::Malformed(SIGNATURE))?;
        let overrides: BTreeMap<String, String> = RESPONSE_OVERRIDES
            .iter()
            .filter_map(|name| {
                let value = params.get(*name)?;
                Some((
                    name.trim_start_matches("response-").to_owned(),
                    value.clone(),
                ))
            })
            .collect();
        let (parts, grant) = match method {
            "PUT" => {
                let length = param(LENGTH)?;
                let content_type = param(TYPE)?;
                if param(SIGNED_HEADERS)? != UPLOAD_SIGNED_HEADERS {
                    return Err(GrantError::Malformed(SIGNED_HEADERS));
                }
                let grant = Grant::Upload {
                    key: key.to_owned(),
                    length: length.parse().map_err(|_| GrantError::Malformed(LENGTH))?,
                    content_type: content_type.to_owned(),
                };
                (
                    vec![
                        "PUT",
                        key,
                        expires,
                        length,
                        content_type,
                        UPLOAD_SIGNED_HEADERS,
                    ],
                    grant,
                )
            }
            "GET" | "HEAD" => {
                let file_name = param(FILENAME)?;
                let mut parts = vec!["GET", key, expires, file_name];
                parts.extend(overrides.values().map(String::as_str));
                let grant = Grant::Download {
                    key: key.to_owned(),
                    file_name: file_name.to_owned(),
                    overrides: overrides.clone(),
                };
                (parts, grant)
            }
            _ => return Err(GrantError::Malformed("method")),
        };
        let mut mac = self.mac();
        mac.update(parts.join("\n").as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| GrantError::BadSignature)?;
        if now.timestamp() >= expires_at {
            return Err(GrantError::Expired);
        }
        Ok(grant)
    }

    fn url(&self, key: &str, params: &[(&str, &str)]) -> String {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect();
        format!("{}/objects/{key}?{}", self.inner.base_url, query.join("&"))
    }
}

fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(k, v)| {
            let spaced = v.replace('+', " ");
            let value = percent_decode_str(&spaced).decode_utf8().ok()?.into_owned();
            Some((k.to_owned(), value))
        })
        .collect()
}

/// The headers kept beside an object, as JSON.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct StoredHeaders {
    content_type: Option<String>,
    content_encoding: Option<String>,
}

impl From<StoredHeaders> for StoredObject {
    fn from(headers: StoredHeaders) -> Self {
        Self {
            content_type: headers.content_type,
            content_encoding: headers.content_encoding,
            version_id: None,
            etag: None,
        }
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
        let after = self.written + chunk.len() as u64;
        if after > self.expected_len {
            return Err(LocalError::LengthMismatch {
                expected: self.expected_len,
                actual: after,
            });
        }
        self.file.write_all(chunk).await?;
        self.written = after;
        Ok(())
    }

    /// Makes the object durable and visible, if it has exactly the expected length and
    /// no object exists under its key yet (an `AlreadyExists` I/O error otherwise):
    /// objects are never overwritten, so verified bytes cannot be swapped.
    pub async fn commit(mut self) -> Result<u64, LocalError> {
        if self.written != self.expected_len {
            return Err(LocalError::LengthMismatch {
                expected: self.expected_len,
                actual: self.written,
            });
        }
        self.file.flush().await?;
        self.file.sync_all().await?;
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

/// An open object file, read in [`CHUNK_SIZE`] chunks.
pub struct FileChunks {
    file: tokio::fs::File,
    stored: StoredObject,
}

impl ChunkStream for FileChunks {
    fn stored(&self) -> &StoredObject {
        &self.stored
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

    fn scan_tag_path(&self, key: &str) -> PathBuf {
        self.inner.root.join("scan-tags").join(key)
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

impl ObjectPresigner for FsObjectStore {
    async fn presign_upload(
        &self,
        key: &ObjectKey,
        content_type: &ContentType,
        size: u64,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let key = key.to_string();
        let expires = expires_at.timestamp().to_string();
        let length = size.to_string();
        let signature = self.sign(&[
            "PUT",
            &key,
            &expires,
            &length,
            content_type.as_str(),
            UPLOAD_SIGNED_HEADERS,
        ]);
        let url = self.url(
            &key,
            &[
                (EXPIRES, &expires),
                (LENGTH, &length),
                (TYPE, content_type.as_str()),
                (SIGNED_HEADERS, UPLOAD_SIGNED_HEADERS),
                (SIGNATURE, &signature),
            ],
        );
        Ok(PresignedRequest {
            url,
            method: "PUT",
            headers: PresignedRequest::upload_headers(content_type, size),
            expires_at,
        })
    }

    async fn presign_download(
        &self,
        key: &ObjectKey,
        _version: Option<&str>,
        file_name: &FileName,
        content_type: &ContentType,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let key = key.to_string();
        let expires = expires_at.timestamp().to_string();
        let disposition = file_name.content_disposition();
        // In the order verify() reads them back (sorted by name).
        let overrides = [
            ("response-content-disposition", disposition.as_str()),
            ("response-content-encoding", "identity"),
            ("response-content-type", content_type.as_str()),
        ];
        let mut parts = vec!["GET", key.as_str(), &expires, file_name.as_str()];
        parts.extend(overrides.iter().map(|(_, value)| *value));
        let signature = self.sign(&parts);
        let mut params = vec![(EXPIRES, expires.as_str()), (FILENAME, file_name.as_str())];
        params.extend(overrides);
        params.push((SIGNATURE, &signature));
        let url = self.url(&key, &params);
        Ok(PresignedRequest {
            url,
            method: "GET",
            headers: BTreeMap::new(),
            expires_at,
        })
    }
}

/// Writes through a temp file unique to this write (`n`), so concurrent writers of the
/// same path never rename each other's temp file away.
async fn write_atomically(path: &Path, n: u64, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let temp = path.with_extension(format!("{}-{n}.tmp", std::process::id()));
    tokio::fs::write(&temp, bytes).await?;
    tokio::fs::rename(&temp, path).await
}

async fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_domain::{FileId, TenantId};

    fn store(dir: &Path) -> FsObjectStore {
        FsObjectStore::new(dir, "http://127.0.0.1:1", b"secret".to_vec())
    }

    fn key() -> ObjectKey {
        ObjectKey::new(TenantId::parse("acme").unwrap(), FileId::generate())
    }

    fn now() -> Timestamp {
        chrono::Utc::now()
    }

    fn split(url: &str) -> (String, String) {
        let rest = url.split_once("/objects/").unwrap().1;
        let (key, query) = rest.split_once('?').unwrap();
        (key.to_owned(), query.to_owned())
    }

    #[tokio::test]
    async fn a_presigned_upload_verifies_with_its_exact_length_and_type() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let ct = ContentType::parse("image/svg+xml").unwrap();
        let signed = store
            .presign_upload(&key(), &ct, 12, now() + chrono::Duration::minutes(5))
            .await
            .unwrap();
        let (key, query) = split(&signed.url);
        let grant = store.verify("PUT", &key, &query, now()).unwrap();
        assert_eq!(
            grant,
            Grant::Upload {
                key,
                length: 12,
                content_type: "image/svg+xml".into()
            }
        );
    }

    #[tokio::test]
    async fn a_presigned_url_is_refused_after_expiry_or_with_anything_changed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let ct = ContentType::parse("text/plain").unwrap();
        let signed = store
            .presign_upload(&key(), &ct, 12, now() + chrono::Duration::minutes(5))
            .await
            .unwrap();
        let (key, query) = split(&signed.url);
        let later = now() + chrono::Duration::minutes(6);
        assert_eq!(
            store.verify("PUT", &key, &query, later),
            Err(GrantError::Expired)
        );
        let other_key = key.replace("acme", "evil");
        assert_eq!(
            store.verify("PUT", &other_key, &query, now()),
            Err(GrantError::BadSignature)
        );
        let longer = query.replace("X-Airlock-Length=12", "X-Airlock-Length=13");
        assert_eq!(
            store.verify("PUT", &key, &longer, now()),
            Err(GrantError::BadSignature)
        );
        assert_eq!(
            store.verify("GET", &key, &query, now()),
            Err(GrantError::Malformed(FILENAME))
        );
        let unsigned = query.split("&X-Airlock-Signature").next().unwrap();
        assert_eq!(
            store.verify("PUT", &key, unsigned, now()),
            Err(GrantError::Malformed(SIGNATURE))
        );
    }

    #[tokio::test]
    async fn a_write_commits_only_with_exactly_the_expected_length_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let key = key();
        let mut short = store.begin_write(&key.to_string(), 5).await.unwrap();
        short.write(b"abc").await.unwrap();
        assert!(short.commit().await.is_err());
        let mut long = store.begin_write(&key.to_string(), 2).await.unwrap();
        assert!(long.write(b"abc").await.is_err());
        drop(long);
        assert!(!store.exists(&key).await);
        let mut exact = store.begin_write(&key.to_string(), 3).await.unwrap();
        exact.write(b"abc").await.unwrap();
        exact.commit().await.unwrap();
        let mut chunks = store.open(&key, None).await.unwrap();
        assert_eq!(chunks.next_chunk().await.unwrap().unwrap(), b"abc");
        assert_eq!(chunks.next_chunk().await.unwrap(), None);
        let mut again = store.begin_write(&key.to_string(), 3).await.unwrap();
        again.write(b"xyz").await.unwrap();
        assert!(matches!(
            again.commit().await,
            Err(LocalError::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists
        ));
        let mut chunks = store.open(&key, None).await.unwrap();
        assert_eq!(
            chunks.next_chunk().await.unwrap().unwrap(),
            b"abc",
            "never overwritten"
        );
        let leftovers = std::fs::read_dir(dir.path().join("incoming"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 0);
    }

    #[tokio::test]
    async fn tags_are_kept_and_removal_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let key = key();
        assert!(matches!(
            store.tag_status(&key, None, FileStatus::Clean).await,
            Err(StoreError::NotFound(_))
        ));
        let mut w = store.begin_write(&key.to_string(), 1).await.unwrap();
        w.write(b"x").await.unwrap();
        w.commit().await.unwrap();
        store
            .tag_status(&key, None, FileStatus::Clean)
            .await
            .unwrap();
        assert_eq!(
            store.status_tag(&key.to_string()).await.unwrap(),
            Some(FileStatus::Clean)
        );
        store.remove(&key).await.unwrap();
        store.remove(&key).await.unwrap();
        assert!(matches!(
            store.open(&key, None).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.status_tag(&key.to_string()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn quarantine_moves_object_and_tag_out_of_the_upload_prefix_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let key = key();
        store.put_bytes(&key, b"bad").await.unwrap();
        store
            .tag_status(&key, None, FileStatus::Infected)
            .await
            .unwrap();

        store.quarantine(&key).await.unwrap();

        assert!(!store.exists(&key).await);
        assert!(matches!(
            store.open(&key, None).await,
            Err(StoreError::NotFound(_))
        ));
        let moved = key.quarantined();
        assert_eq!(std::fs::read(store.object_path(&moved)).unwrap(), b"bad");
        assert_eq!(
            store.status_tag(&moved).await.unwrap(),
            Some(FileStatus::Infected)
        );
        assert_eq!(store.status_tag(&key.to_string()).await.unwrap(), None);
        store.quarantine(&key).await.unwrap();
        store.remove(&key).await.unwrap();
        assert!(!store.object_path(&moved).exists());
        assert!(matches!(
            store.quarantine(&key).await,
            Err(StoreError::NotFound(_))
        ));
    }
}
