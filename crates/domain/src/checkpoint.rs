//! Where the verification of an object stands when one invocation could not finish
//! it (Lambda stops at 15 minutes; a 100 GiB object read at 200 MiB/s needs more).
//! The checkpoint is kept in the file's record, so the next invocation — woken by a
//! continuation message, a redelivered notification or a restart — goes on from it,
//! never from the first byte, and a conditional write on [`IngestCheckpoint::seq`]
//! lets exactly one of two racing invocations move it forward.

use serde::{Deserialize, Serialize};

use crate::{ContentType, Timestamp};

/// One verification's progress through an object scanned in windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestCheckpoint {
    /// How many times the verification has been carried over; each carry-over
    /// expects the one before, so a stale invocation cannot overwrite a newer one.
    pub seq: u32,
    /// The hash, the windows so far and the type sniffed from the first bytes.
    pub progress: PassProgress,
    /// The ruleset the first windows were scanned with: the report names the oldest
    /// ruleset in force, so a ruleset change mid-way still triggers sweep's re-scan.
    pub ruleset: String,
    /// The ETag of the bytes this is about: other bytes under the key start over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// When the verification began.
    pub started_at: Timestamp,
    /// When the checkpoint was last moved forward (sweep leaves a file whose
    /// checkpoint moves alone, past its upload deadline too).
    pub updated_at: Timestamp,
}

/// What a pass carries from one invocation to the next: everything it learnt from
/// the bytes before `offset`, and nothing that grows with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassProgress {
    /// Bytes hashed and scanned so far; always the end of a window, so the next
    /// invocation reads again from one overlap before it.
    pub offset: u64,
    /// The SHA-256 state after those bytes (see [`crate::Inspector::snapshot`]).
    pub hash: HashState,
    /// The type the first bytes say the object is.
    pub detected_type: ContentType,
    /// The windows scanned and the rules they matched.
    pub windows: WindowProgress,
}

/// A SHA-256 state in the hex of digest's own serialization of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HashState(pub String);

/// The windows of a windowed scan so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowProgress {
    /// Windows scanned.
    pub count: u64,
    /// Malware rules matched in them, once each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
    /// Policy rules matched in them, once each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flagged: Vec<String>,
    /// Whether a window ran out of scan time (the file is then not scanned).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
}

impl IngestCheckpoint {
    /// The first checkpoint of a verification begun at `now`.
    pub fn first(
        progress: PassProgress,
        ruleset: String,
        etag: Option<String>,
        now: Timestamp,
    ) -> Self {
        Self {
            seq: 1,
            progress,
            ruleset,
            etag,
            started_at: now,
            updated_at: now,
        }
    }

    /// This verification moved on to `progress`.
    pub fn advanced(&self, progress: PassProgress, now: Timestamp) -> Self {
        Self {
            seq: self.seq + 1,
            progress,
            updated_at: now,
            ..self.clone()
        }
    }

    /// Whether the checkpoint is about the bytes an open stream serves.
    pub fn is_about(&self, etag: Option<&str>) -> bool {
        self.etag.as_deref() == etag
    }
}

/// The message that wakes the next invocation of a verification: which file, and
/// which checkpoint it was queued after (for the log; the invocation goes on from
/// whatever checkpoint the record holds by then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// The file's tenant.
    pub tenant: crate::TenantId,
    /// The file.
    pub file_id: crate::FileId,
    /// The object version being verified, on a versioned bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The checkpoint written just before this was queued.
    pub seq: u32,
}
