//! Reading one object over several connections at once: the first ranged GET
//! streams as it arrives and tells the object's size; the ranges after it are
//! fetched ahead, [`IN_FLIGHT`] at a time, and handed over in order, so the reader
//! (ingest's one pass, hashing as it goes) sees the bytes in sequence at the speed of
//! several connections. Every range after the first names the version (or, on a
//! bucket without versions, the ETag with `If-Match`) the first one read, so an
//! object replaced mid-read fails the read instead of mixing two objects' bytes.

use std::collections::VecDeque;

use airlock_domain::{
    ObjectKey, StoredObject,
    ports::{ChunkStream, StoreError},
};
use aws_sdk_s3::primitives::ByteStream;

use crate::s3::{S3Store, backend};

/// Bytes per ranged GET.
pub const RANGE_BYTES: u64 = 8 * 1024 * 1024;
/// Ranges fetched ahead of the reader at most (memory: this many ranges).
pub const IN_FLIGHT: usize = 4;
/// The most bytes handed over at once, so the reader's queues stay small.
const CHUNK: usize = 1024 * 1024;

/// Where the next ranges come from.
#[derive(Clone)]
struct Source {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    version: Option<String>,
    etag: Option<String>,
}

type Fetch = tokio::task::JoinHandle<Result<Vec<u8>, StoreError>>;

/// An object's bytes, the first range streamed and the rest fetched ahead.
pub struct S3Chunks {
    first: Option<ByteStream>,
    ahead: VecDeque<Fetch>,
    /// A fetched range being handed over, and how far.
    held: Vec<u8>,
    handed: usize,
    next_start: u64,
    size: u64,
    range: u64,
    source: Source,
    stored: StoredObject,
}

impl S3Store {
    /// Opens `key` (at `version`) from byte `start` for a read over ranges of
    /// `range` bytes.
    pub(crate) async fn open_ranged(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        start: u64,
        range: u64,
    ) -> Result<S3Chunks, StoreError> {
        let first = self
            .get(key, version)
            .range(format!("bytes={start}-{}", start + range - 1))
            .send()
            .await;
        let output = match first {
            Ok(output) => output,
            // An empty object has no byte 0 to range over (416): read it whole.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                if start > 0 {
                    return Err(StoreError::Refused(format!(
                        "{key} has no byte {start}: it is shorter than when it was read before"
                    )));
                }
                return self.open_whole(key, version).await;
            }
            Err(e) => return Err(crate::s3::not_found_or_backend(e, key)),
        };
        // The total after the slash of `bytes 0-N/total`. An answer without a
        // Content-Range carried the whole object: nothing is left to fetch.
        let size = output
            .content_range()
            .and_then(|r| r.rsplit('/').next())
            .and_then(|total| total.parse().ok())
            .unwrap_or(0);
        let mut chunks = self.chunks(key, output, (size, range));
        chunks.next_start = (start + range).min(size);
        chunks.fetch_ahead();
        Ok(chunks)
    }

    /// The reader of a GET's answer; the ranges after it, up to `size`, are the
    /// ones to fetch ahead (none when `size` is 0: the answer was the whole object).
    fn chunks(
        &self,
        key: &ObjectKey,
        output: aws_sdk_s3::operation::get_object::GetObjectOutput,
        (size, range): (u64, u64),
    ) -> S3Chunks {
        let stored = StoredObject {
            content_type: output.content_type,
            content_encoding: output.content_encoding,
            version_id: output.version_id,
            etag: output.e_tag.map(|tag| tag.trim_matches('"').to_owned()),
        };
        let source = Source {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_string(),
            version: stored.version_id.clone(),
            etag: stored.etag.clone(),
        };
        S3Chunks {
            first: Some(output.body),
            ahead: VecDeque::new(),
            held: Vec::new(),
            handed: 0,
            next_start: range.min(size),
            size,
            range,
            source,
            stored,
        }
    }

    async fn open_whole(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> Result<S3Chunks, StoreError> {
        let output = self
            .get(key, version)
            .send()
            .await
            .map_err(|e| crate::s3::not_found_or_backend(e, key))?;
        Ok(self.chunks(key, output, (0, RANGE_BYTES)))
    }

    /// A GET of `key`, at `version` when one is given.
    fn get(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder {
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key.to_string())
            .set_version_id(version.map(str::to_owned))
    }
}

impl S3Chunks {
    /// Starts fetches until [`IN_FLIGHT`] ranges are ahead of the reader.
    fn fetch_ahead(&mut self) {
        while self.ahead.len() < IN_FLIGHT && self.next_start < self.size {
            let end = (self.next_start + self.range).min(self.size) - 1;
            let source = self.source.clone();
            let start = self.next_start;
            self.ahead
                .push_back(tokio::spawn(async move { source.fetch(start, end).await }));
            self.next_start = end + 1;
        }
    }
}

impl Source {
    async fn fetch(&self, start: u64, end: u64) -> Result<Vec<u8>, StoreError> {
        let mut request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .range(format!("bytes={start}-{end}"));
        request = match (&self.version, &self.etag) {
            (Some(version), _) => request.version_id(version),
            (None, Some(etag)) => request.if_match(format!("\"{etag}\"")),
            (None, None) => request,
        };
        let output = request.send().await.map_err(backend)?;
        let bytes = output.body.collect().await.map_err(backend)?.to_vec();
        if bytes.len() as u64 != end - start + 1 {
            return Err(StoreError::Refused(format!(
                "range {start}-{end} of {} answered {} bytes",
                self.key,
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}

impl ChunkStream for S3Chunks {
    fn stored(&self) -> &StoredObject {
        &self.stored
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(first) = &mut self.first {
            match first.next().await {
                Some(Ok(bytes)) => return Ok(Some(bytes.to_vec())),
                Some(Err(e)) => return Err(backend(e)),
                None => self.first = None,
            }
        }
        if self.handed == self.held.len() {
            let Some(fetch) = self.ahead.pop_front() else {
                return Ok(None);
            };
            self.held = fetch.await.map_err(backend)??;
            self.handed = 0;
            self.fetch_ahead();
        }
        let end = (self.handed + CHUNK).min(self.held.len());
        let chunk = self.held[self.handed..end].to_vec();
        self.handed = end;
        Ok(Some(chunk))
    }
}

impl Drop for S3Chunks {
    fn drop(&mut self) {
        // A reader that stops early (an error, a gone object) leaves nothing running.
        for fetch in &self.ahead {
            fetch.abort();
        }
    }
}
