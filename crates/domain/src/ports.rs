//! The ports: one trait per capability a use case needs, so each function depends on
//! exactly what it uses (and its IAM role can say the same). Adapters implement them
//! on AWS (`airlock-aws`) and on embedded storage (`airlock-local`).
//!
//! Futures are `Send` so handlers run on multi-threaded runtimes unchanged.

use std::{collections::BTreeMap, future::Future};

use crate::{
    ContentType, DomainEvent, FileId, FileName, FileRecord, FileStatus, ObjectKey, StoredObject,
    StoredPart, TenantId, Timestamp, Usage, UsageDelta,
};

/// A backend's own error, kept as the source of a port error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The time. A port so tests can stand still or jump ahead.
pub trait Clock: Send + Sync {
    /// The current instant, in the UTC the records and expiries are written in.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }
}

/// The object store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No object under that key.
    #[error("object {0} not found")]
    NotFound(String),
    /// The store refused the request as invalid (parts that do not fit together, a
    /// part too small); retrying the same request fails the same way.
    #[error("object store refused the request: {0}")]
    Refused(String),
    /// The backend failed; worth retrying.
    #[error("object store failed")]
    Backend(#[source] BoxError),
}

/// A request a client can make without credentials until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    /// The signed URL.
    pub url: String,
    /// The HTTP method it is valid for.
    pub method: &'static str,
    /// Headers the client must send exactly as given (they are part of the signature).
    pub headers: BTreeMap<String, String>,
    /// When the signature stops being accepted.
    pub expires_at: Timestamp,
}

impl PresignedRequest {
    /// The headers every presigned upload is signed with, and the client must send:
    /// the exact type and length, and `if-none-match: *` so an object is never
    /// overwritten (a replayed URL cannot swap the bytes of a verified file).
    pub fn upload_headers(content_type: &ContentType, size: u64) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("content-length".to_owned(), size.to_string()),
            ("content-type".to_owned(), content_type.to_string()),
            ("if-none-match".to_owned(), "*".to_owned()),
        ])
    }
}

impl PresignedRequest {
    /// The header S3 checks a part's SHA-256 against (base64 of the digest), so a
    /// part damaged on the way is refused rather than stored.
    pub const CHECKSUM_HEADER: &'static str = "x-amz-checksum-sha256";

    /// The headers every presigned part is signed with, and the client must send:
    /// the exact length and the part's SHA-256.
    pub fn part_headers(length: u64, sha256: &crate::Sha256Hex) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("content-length".to_owned(), length.to_string()),
            (Self::CHECKSUM_HEADER.to_owned(), sha256.to_base64()),
        ])
    }
}

/// An object's bytes, read a chunk at a time so memory stays bounded.
pub trait ChunkStream: Send {
    /// The headers and version the object was stored with, from the same response
    /// that delivers the bytes (no second request, so they describe these bytes).
    fn stored(&self) -> &StoredObject;
    /// The next chunk, or `None` at the end.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// The object's bytes as a local file, for a store that keeps objects as files
    /// (the local stack's): a pass then reads them where they lie instead of copying
    /// them through chunks and a spool. The store must never write to or truncate
    /// the file while it is open (it replaces an object by renaming a new file over
    /// it), as a pass maps it. `None`, the default, for a store across a network.
    fn local_file(&self) -> Option<&std::fs::File> {
        None
    }
}

/// Reads objects (ingest).
pub trait ObjectReader: Send + Sync {
    /// How the object's bytes arrive, in chunks, so none needs it whole in memory.
    type Stream: ChunkStream;
    /// Opens an object, at `version` when one is given (a store that keeps no
    /// versions has only the current one); [`StoreError::NotFound`] when there is none.
    fn open(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> impl Future<Output = Result<Self::Stream, StoreError>> + Send;
    /// As [`open`](Self::open), from byte `offset` on: where a verification carried
    /// over from another invocation goes on reading.
    fn open_at(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        offset: u64,
    ) -> impl Future<Output = Result<Self::Stream, StoreError>> + Send;
}

/// Tags objects with their status (ingest), so bucket policy can refuse reads of
/// anything not CLEAN even to someone holding a key. `version`, when given, is the
/// version inspected: a tag on the key alone would land on whatever version is
/// current, which need not be the bytes the status is about.
pub trait ObjectTagger: Send + Sync {
    /// Sets the object's status tag; tagging again with the same status changes nothing.
    fn tag_status(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        status: FileStatus,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Tags the object CLEAN and, beside the status, [`SCAN_TAG`]` = unscanned`: a
    /// file accepted without a scan (`accept-unscanned`) carries that on the object
    /// too, for anyone who reads it outside the API.
    fn tag_clean_unscanned(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The object tag that marks a file accepted without a scan; its value is
/// [`UNSCANNED`].
pub const SCAN_TAG: &str = "airlock-scan";
/// The value of [`SCAN_TAG`] on a file accepted without a scan.
pub const UNSCANNED: &str = "unscanned";

/// One file of scanning rules, as source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    /// Its name in the source (a file name or an object key).
    pub name: String,
    /// The rules as YARA source text, not yet compiled.
    pub source: String,
}

/// The version of a set of rule files from `(name, content tag)` pairs (an ETag, or
/// a digest of the content): the same set gives the same version whatever the order.
pub fn rules_version<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    use sha2::{Digest, Sha256};
    let mut entries: Vec<_> = entries.into_iter().collect();
    if entries.is_empty() {
        return "none".to_owned();
    }
    entries.sort_unstable();
    let mut hasher = Sha256::new();
    for (name, tag) in entries {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(tag.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..6])
}

/// A deployment's own scanning rules, kept beside the data (a bucket prefix, a
/// folder) so they change without a redeploy (ingest, sweep).
pub trait RuleSource: Send + Sync {
    /// The version of the rules as they are now, from a listing rather than a
    /// download, so checking for a change stays cheap; the same for no rules at all.
    fn version(&self) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Every rule file, with the version they make up together.
    fn load(&self) -> impl Future<Output = Result<(String, Vec<RuleFile>), StoreError>> + Send;
    /// The precompiled ruleset kept under `name` in [`COMPILED_RULES_DIR`] beside the
    /// rules, if there is one. A source that keeps none has none.
    fn load_compiled(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send {
        let _ = name;
        async { Ok(None) }
    }
    /// Keeps a precompiled ruleset under `name` in [`COMPILED_RULES_DIR`], replacing
    /// any there. A source that keeps none drops it.
    fn save_compiled(
        &self,
        name: &str,
        blob: Vec<u8>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = (name, blob);
        async { Ok(()) }
    }
}

/// The folder (or key prefix) beside the rule files where precompiled rulesets are
/// kept; a rule source's listing never counts what is in it as rules.
pub const COMPILED_RULES_DIR: &str = ".compiled";

/// Moves INFECTED objects out of the upload prefix (ingest), when a deployment asks
/// for it.
pub trait ObjectQuarantine: Send + Sync {
    /// Moves the object under `key` to [`ObjectKey::quarantined`], keeping its status
    /// tag. Moving an object already moved succeeds, so a retry finishes a move a
    /// crash interrupted; [`StoreError::NotFound`] only when it is in neither place.
    fn quarantine(&self, key: &ObjectKey) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Removes objects (api, sweep).
pub trait ObjectRemover: Send + Sync {
    /// Removes an object, and its quarantined copy if it has one; a missing object is
    /// not an error, so removal is idempotent.
    fn remove(&self, key: &ObjectKey) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes the object under the upload key only, never a quarantined copy
    /// (ingest, for bytes a replayed PUT stored: it may not touch the kept sample).
    /// With a `version`, that version is deleted for good; without, the current one
    /// (on a versioned store that leaves it behind a delete marker until lifecycle
    /// expires it).
    fn remove_upload(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Signs time-limited upload and download requests (api).
pub trait ObjectPresigner: Send + Sync {
    /// A PUT that accepts exactly the upload's size of its content type, under its key.
    fn presign_upload(
        &self,
        upload: UploadToSign<'_>,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<PresignedRequest, StoreError>> + Send;
    /// A GET of `key` whose answer is `content_type`, unencoded (`identity`), saved
    /// as `file_name` as an attachment, whatever headers the object was stored with;
    /// of exactly `version` when given, the version that was verified.
    fn presign_download(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
        file_name: &FileName,
        content_type: &ContentType,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<PresignedRequest, StoreError>> + Send;
}

/// Multipart uploads (api, sweep): a file too large for one PUT arrives in parts,
/// each sent on its own presigned URL, checked on arrival, and joined into the object
/// only when the api has seen that they add up to the file.
pub trait ObjectMultipart: MultipartAbort {
    /// Starts a multipart upload of `content_type` under `key`; its upload id.
    fn start_multipart(
        &self,
        key: &ObjectKey,
        content_type: &ContentType,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// A PUT of one part of an upload that accepts exactly its length, and only
    /// bytes that hash to its SHA-256: the store refuses a damaged part.
    fn presign_part(
        &self,
        part: PartToSign<'_>,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<PresignedRequest, StoreError>> + Send;
    /// The parts the store holds for the upload, by number;
    /// [`StoreError::NotFound`] when there is no such upload (completed or aborted).
    fn list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> impl Future<Output = Result<Vec<StoredPart>, StoreError>> + Send;
    /// Joins `parts`, in number order, into the object under `key` (never over an
    /// object already there). Completing an upload already completed succeeds, so a
    /// retry after a lost answer is safe; [`StoreError::NotFound`] when the upload
    /// is gone and no object stands in its place.
    fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[StoredPart],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Discards multipart uploads (api, sweep): a client's abort, or one abandoned past
/// its deadline.
pub trait MultipartAbort: Send + Sync {
    /// Discards the upload and every part of it; an upload already gone is not an
    /// error, so an abort can be retried.
    fn abort_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// One upload to presign in a single PUT, with what its signature pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadToSign<'a> {
    /// Where the bytes go.
    pub key: &'a ObjectKey,
    /// The `content-type` the PUT must carry.
    pub content_type: &'a ContentType,
    /// The exact bytes it must have.
    pub size: u64,
}

/// One part to presign, with what its signature pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartToSign<'a> {
    /// The key the upload lands under.
    pub key: &'a ObjectKey,
    /// The upload it belongs to.
    pub upload_id: &'a str,
    /// Its number, from 1.
    pub number: u32,
    /// The exact bytes it must have.
    pub length: u64,
    /// The SHA-256 it must hash to.
    pub sha256: &'a crate::Sha256Hex,
}

/// The catalog failed or refused a write.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// No such record.
    #[error("file not found")]
    NotFound,
    /// A record with that id exists already.
    #[error("file already exists")]
    AlreadyExists,
    /// The conditional write lost: the record is no longer in the expected status.
    #[error("file is no longer {expected}")]
    StatusChanged {
        /// The status the write was conditioned on.
        expected: FileStatus,
    },
    /// The conditional carry-over lost: another invocation moved the checkpoint on.
    #[error("the file's checkpoint is no longer number {expected}")]
    CheckpointMoved {
        /// The checkpoint the write was conditioned on.
        expected: u32,
    },
    /// A stored item could not be read back as a record.
    #[error("stored file item is corrupt")]
    Corrupt(#[source] BoxError),
    /// The backend failed; worth retrying.
    #[error("catalog failed")]
    Backend(#[source] BoxError),
}

/// Which of a tenant's files to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only files in this status.
    pub status: Option<FileStatus>,
    /// Continue after this file (files are listed newest first).
    pub after: Option<FileId>,
    /// At most this many.
    pub limit: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The records, newest first.
    pub records: Vec<FileRecord>,
    /// Where the next page starts, if there is one.
    pub next: Option<FileId>,
}

/// Reads the catalog (api, ingest).
pub trait CatalogReader: Send + Sync {
    /// One record of a tenant's.
    fn get(
        &self,
        tenant: &TenantId,
        id: FileId,
    ) -> impl Future<Output = Result<Option<FileRecord>, CatalogError>> + Send;
    /// A page of a tenant's records.
    fn list(
        &self,
        tenant: &TenantId,
        query: &ListQuery,
    ) -> impl Future<Output = Result<Page, CatalogError>> + Send;
    /// How many of a tenant's CLEAN files have a re-scan asked for and not yet done,
    /// counted up to `limit` (the api needs only to know whether a limit is reached,
    /// so a count never reads more than that).
    fn rescans_requested(
        &self,
        tenant: &TenantId,
        limit: usize,
    ) -> impl Future<Output = Result<usize, CatalogError>> + Send;
}

/// Writes the catalog (api, ingest, sweep). Every write is conditional.
pub trait CatalogWriter: Send + Sync {
    /// Stores a new record; [`CatalogError::AlreadyExists`] if the id is taken.
    fn create(&self, record: &FileRecord) -> impl Future<Output = Result<(), CatalogError>> + Send;
    /// Replaces a record only if it is still in `expected` status, so of two racing
    /// writers exactly one wins; the other gets [`CatalogError::StatusChanged`].
    fn replace(
        &self,
        expected: FileStatus,
        next: &FileRecord,
    ) -> impl Future<Output = Result<(), CatalogError>> + Send;
}

/// Carries ingest's progress through an object over to the next invocation.
pub trait CheckpointWriter: Send + Sync {
    /// Writes `next` (PENDING, with its new checkpoint) only if the stored record is
    /// still PENDING and its checkpoint is the one numbered `expected` (0: none yet),
    /// so of two invocations that went through the same bytes exactly one carries
    /// them over; the other gets [`CatalogError::CheckpointMoved`], or
    /// [`CatalogError::StatusChanged`] once the file has its verdict.
    fn carry_over(
        &self,
        expected: u32,
        next: &FileRecord,
    ) -> impl Future<Output = Result<(), CatalogError>> + Send;
}

/// Asks for a verification to go on in another invocation (ingest's continuation
/// queue: SQS on AWS, a retried in-process queue on the local stack).
pub trait ContinuationQueue: Send + Sync {
    /// Queues `continuation`; once this returns, some invocation will take it up.
    fn continue_later(
        &self,
        continuation: &crate::Continuation,
    ) -> impl Future<Output = Result<(), QueueError>> + Send;
}

/// The continuation queue refused or could not be reached; worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("continuation queue failed")]
pub struct QueueError(#[source] pub BoxError);

/// Finds work for the scheduled sweep.
pub trait CatalogSweep: Send + Sync {
    /// PENDING records whose upload deadline is before `now`, oldest deadline first.
    fn pending_past_deadline(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<FileRecord>, CatalogError>> + Send;
    /// CLEAN, REJECTED or INFECTED records created before `cutoff`, oldest first.
    fn decided_before(
        &self,
        cutoff: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<FileRecord>, CatalogError>> + Send;
    /// CLEAN records that need a re-scan under `ruleset` (see
    /// [`FileRecord::needs_rescan`]), oldest first. Progress is kept in the records
    /// themselves: a re-scanned file carries the new version and drops out.
    fn clean_needing_rescan(
        &self,
        ruleset: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<FileRecord>, CatalogError>> + Send;
}

/// Publishing events failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The bus could not be reached or refused the request; worth retrying.
    #[error("event bus failed")]
    Backend(#[source] BoxError),
}

/// Puts domain events on the bus (publish).
pub trait EventPublisher: Send + Sync {
    /// Publishes events in order. Returns the ids of the events the bus did not take
    /// (after the adapter's own retries); the caller must treat those as not published.
    fn publish(
        &self,
        events: &[DomainEvent],
    ) -> impl Future<Output = Result<Vec<String>, PublishError>> + Send;
}

/// The usage ledger failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The backend failed; worth retrying.
    #[error("usage ledger failed")]
    Backend(#[source] BoxError),
}

/// Applies usage deltas exactly once (publish).
pub trait UsageLedger: Send + Sync {
    /// Whether the change has been applied already.
    fn is_applied(&self, change_id: &str)
    -> impl Future<Output = Result<bool, LedgerError>> + Send;
    /// Applies a delta atomically with a record of its `change_id`; returns `false`
    /// (and changes nothing) when that change was applied before.
    fn apply_once(
        &self,
        delta: &UsageDelta,
    ) -> impl Future<Output = Result<bool, LedgerError>> + Send;
}

/// Reads usage counters (api).
pub trait UsageReader: Send + Sync {
    /// A tenant's counters.
    fn usage(&self, tenant: &TenantId) -> impl Future<Output = Result<Usage, LedgerError>> + Send;
}

/// One object under the upload prefix, as a listing names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Its key as stored: `uploads/…`, which need not follow the upload layout.
    pub key: String,
    /// When its current version was stored.
    pub last_modified: Timestamp,
}

/// One multipart upload in progress under the upload prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedUpload {
    /// The key it lands under.
    pub key: String,
    /// The store's id for it.
    pub upload_id: String,
    /// When it was started.
    pub initiated: Timestamp,
}

/// One page of a listing in key order, and whether the listing goes on after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    /// What the page holds, in key order.
    pub items: Vec<T>,
    /// Whether more follow the last of them.
    pub more: bool,
}

/// What sweep needs to find bytes no record accounts for (sweep): listings of the
/// upload prefix a page at a time, in key order, resumed after a key; a check that
/// a record's bytes are there; and removal of every version under a key.
pub trait UploadInventory: Send + Sync {
    /// At most `limit` objects under the upload prefix whose keys sort after `after`.
    fn list_uploads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Listed<ListedObject>, StoreError>> + Send;
    /// At most `limit` multipart uploads in progress under the upload prefix whose
    /// keys sort after `after`.
    fn list_multipart_uploads(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Listed<ListedUpload>, StoreError>> + Send;
    /// Whether the object under `key` (that `version` of it, when given) is stored.
    fn object_exists(
        &self,
        key: &ObjectKey,
        version: Option<&str>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Removes every version kept under `key` (a key under the upload prefix), so
    /// nothing is left behind a delete marker; nothing there is not an error.
    fn purge_upload(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Where sweep's walks stopped, kept between runs (sweep), each under its own name.
pub trait SweepCursors: Send + Sync {
    /// The position kept under `name`, if any.
    fn cursor(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, CatalogError>> + Send;
    /// Keeps `position` under `name`; `None` starts the next walk from the beginning.
    fn set_cursor(
        &self,
        name: &str,
        position: Option<&str>,
    ) -> impl Future<Output = Result<(), CatalogError>> + Send;
}

/// One page of CLEAN records, and where the next starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanPage {
    /// The CLEAN records among those the page looked at.
    pub records: Vec<FileRecord>,
    /// Where the next page starts; `None` when the walk reached the end.
    pub next: Option<String>,
}

/// Walks the CLEAN records (sweep), so files whose bytes are gone are found.
pub trait CatalogCleanWalk: Send + Sync {
    /// The CLEAN records among the next `limit` decided records after `after` (an
    /// opaque position from an earlier page; `None` starts from the beginning).
    /// At most `limit` records are looked at, so a page's work is bounded even when
    /// few of them are CLEAN.
    fn clean_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<CleanPage, CatalogError>> + Send;
}
