//! Errors of the embedded adapters, turned into port errors at each trait boundary.

/// Something the embedded storage failed at.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file system failed.
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    /// A stored JSON value could not be read or written.
    #[error("stored json: {0}")]
    Json(#[from] serde_json::Error),
    /// An item could not be converted to or from DynamoDB attribute values.
    #[error("attribute values: {0}")]
    Dynamo(#[from] serde_dynamo::Error),
    /// A blocking task was cancelled or panicked.
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A body was longer or shorter than its presigned length.
    #[error("expected {expected} bytes, got {actual}")]
    LengthMismatch {
        /// Bytes the signature allows.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// A part's bytes hash to another SHA-256 than its URL signed (S3's `BadDigest`).
    #[error("the part's SHA-256 is {received}, not the {signed} its x-amz-checksum-sha256 says")]
    ChecksumMismatch {
        /// The SHA-256 signed, hex.
        signed: String,
        /// The SHA-256 of the bytes received, hex.
        received: String,
    },
    /// No multipart upload with this id for this key (S3's `NoSuchUpload`): never
    /// started, completed, or aborted.
    #[error("no multipart upload {0} for this key")]
    NoSuchUpload(String),
}

/// A presigned request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// A signing parameter is missing or malformed.
    #[error("malformed presigned request: {0}")]
    Malformed(&'static str),
    /// The signature does not match the request.
    #[error("signature does not match")]
    BadSignature,
    /// The signature has expired.
    #[error("request has expired")]
    Expired,
}
