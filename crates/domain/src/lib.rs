//! Airlock's domain: the pure part of file intake.
//!
//! Ids and names as validated newtypes, the [`FileRecord`] and its status state
//! machine, the upload [`Policy`] and the [`Verdict`] it gives, the domain events,
//! usage counters, and the ports (traits) the use cases need. No AWS crates, no async
//! runtime and no I/O live here: adapters in `airlock-aws` and `airlock-local`
//! implement the ports, and the function crates drive them.

mod checkpoint;
mod content_type;
mod error;
mod event;
pub mod form;
mod ids;
mod inspect;
mod item;
mod key;
pub mod multipart;
mod policy;
pub mod ports;
mod record;
mod scan;
mod status;
mod stored;
mod usage;
mod verdict;

pub use checkpoint::{Continuation, HashState, IngestCheckpoint, PassProgress, WindowProgress};
pub use content_type::ContentType;
pub use error::{DomainError, error_chain};
pub use event::{DomainEvent, EVENT_SOURCE, EventKind};
pub use ids::{FileId, FileName, TenantId};
pub use inspect::{BadHashState, Inspection, Inspector, InspectorState, SNIFF_LEN, sniff};
pub use item::{FILE_ITEM_KIND, FileItem, ItemError};
pub use key::ObjectKey;
pub use multipart::{MultipartUpload, PartsProblem, Sha256Hex, StoredPart};
pub use policy::{Policy, UploadRequest};
pub use record::{FileRecord, Finding};
pub use scan::{
    ArchiveLimits, DEFAULT_MAX_ARCHIVE_DEPTH, DEFAULT_MAX_ARCHIVE_MEMBERS,
    DEFAULT_MAX_EXPANDED_BYTES, DEFAULT_MAX_RATIO, DEFAULT_MAX_SCAN_BYTES, DEFAULT_RATIO_FLOOR,
    Members, RuleHit, ScanLimits, ScanMode, ScanReport, SkipReason, Unscannable, Windows,
};
pub use status::FileStatus;
pub use stored::StoredObject;
pub use usage::{StatusCount, Usage, UsageDelta};
pub use verdict::{Outcome, Reason, Verdict};

/// The instant type used throughout: UTC wall-clock time.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
