//! Failures inside the AWS adapters that are not the SDK's own errors.

/// An item or response could not be mapped.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// An item does not convert to or from attribute values.
    #[error("item mapping")]
    Item(#[from] serde_dynamo::Error),
    /// An event detail could not be serialised.
    #[error("event detail")]
    Detail(#[from] serde_json::Error),
    /// A presigning configuration was refused (expiry out of range).
    #[error("presigning: {0}")]
    Presign(String),
    /// A stored usage counter holds no number.
    #[error("usage item {0} is malformed")]
    Usage(String),
}
