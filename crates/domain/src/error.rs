//! The domain's error type: every way a value or a state change can be invalid.

use crate::FileStatus;

/// A value failed validation, or a state change is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A tenant id is empty, too long, or has characters outside `[A-Za-z0-9_-]`.
    #[error("invalid tenant id: {0}")]
    InvalidTenantId(&'static str),
    /// A file id is not a ULID.
    #[error("invalid file id: {0}")]
    InvalidFileId(String),
    /// A file name breaks one of the naming rules.
    #[error("invalid file name: {0}")]
    InvalidFileName(&'static str),
    /// A file name holds a character that changes how the name shows without being
    /// seen (bidi controls, zero-width characters, line or paragraph separators), so
    /// `Invoice\u{202E}fdp.exe` cannot pose as `Invoiceexe.pdf`.
    #[error(
        "invalid file name: contains the invisible character U+{code_point:04X} (category {category})"
    )]
    InvisibleCharInFileName {
        /// The character's code point.
        code_point: u32,
        /// Its Unicode general category (`Cf`, `Zl` or `Zp`).
        category: &'static str,
    },
    /// A content type is not of the form `type/subtype`.
    #[error("invalid content type: {0}")]
    InvalidContentType(&'static str),
    /// An object key is not of the form `uploads/{tenant}/{file id}`.
    #[error("object key outside the upload layout: {0}")]
    KeyOutsideLayout(String),
    /// The state machine does not allow this move.
    #[error("illegal status transition {from} -> {to}")]
    IllegalTransition {
        /// The status the file is in.
        from: FileStatus,
        /// The status that was asked for.
        to: FileStatus,
    },
}

/// An error and all its sources on one line, for logs: `outer: cause: root cause`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
