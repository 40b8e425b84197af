//! Verdicts: what verification decided about a file, and every reason why.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{FileStatus, SkipReason};

/// One machine-readable reason a file failed verification.
///
/// Serialised with a stable `code` tag so clients and event consumers can branch on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// The object has no bytes.
    Empty,
    /// The object is larger than the policy allows.
    TooLarge {
        /// Bytes received.
        size: u64,
        /// The policy's limit.
        max: u64,
    },
    /// The object's size differs from the size declared when the upload was created.
    SizeMismatch {
        /// Bytes declared by the uploader.
        declared: u64,
        /// Bytes received.
        actual: u64,
    },
    /// The bytes hash to another SHA-256 than the uploader declared: they were
    /// damaged or changed on the way.
    ChecksumMismatch {
        /// The SHA-256 declared, lower-case hex.
        declared: String,
        /// The SHA-256 of the bytes received.
        actual: String,
    },
    /// The declared content type is not on the policy's allow-list.
    TypeNotAllowed {
        /// The declared type.
        content_type: String,
    },
    /// The bytes are not what the uploader said they were.
    TypeMismatch {
        /// The declared type.
        declared: String,
        /// The type detected from the magic bytes.
        detected: String,
    },
    /// A malware or content rule matched.
    RuleMatched {
        /// The rule's name.
        rule: String,
        /// The member it matched, through its containers; absent when it matched the
        /// upload itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// A policy rule matched: the content is unwanted here, though not malware.
    RuleFlagged {
        /// The rule's name.
        rule: String,
        /// As for [`Reason::RuleMatched`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
    },
    /// The store kept a header with the object that the presigned upload did not
    /// sign (or other than the signed value), which downloads would be served with.
    StoredHeadersMismatch {
        /// The header, lower case.
        header: String,
        /// What was signed; `None` when the upload signed no such header.
        signed: Option<String>,
        /// What the store kept.
        stored: String,
    },
    /// A re-scan read other bytes than the ones verified: the object under a CLEAN
    /// file's name was replaced outside the upload path (a store without versions, or
    /// a writer past the bucket policy). What would be served was never verified, so
    /// the file is closed as dangerous, the one move a CLEAN file can make.
    ContentChanged {
        /// The SHA-256 recorded when the file was verified.
        recorded: String,
        /// The SHA-256 of the bytes the re-scan read.
        found: String,
    },
    /// The file could not be scanned and the deployment rejects such files.
    NotScanned {
        /// Why it was not scanned.
        why: SkipReason,
    },
}

impl Reason {
    /// Whether this reason means the file is dangerous, not merely unacceptable.
    pub fn is_malware(&self) -> bool {
        matches!(self, Self::RuleMatched { .. } | Self::ContentChanged { .. })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "the file is empty"),
            Self::TooLarge { size, max } => {
                write!(f, "the file has {size} bytes; at most {max} are allowed")
            }
            Self::SizeMismatch { declared, actual } => {
                write!(f, "{declared} bytes were declared but {actual} arrived")
            }
            Self::ChecksumMismatch { declared, actual } => {
                write!(
                    f,
                    "SHA-256 {declared} was declared but the bytes hash to {actual}"
                )
            }
            Self::TypeNotAllowed { content_type } => {
                write!(f, "content type {content_type} is not allowed")
            }
            Self::TypeMismatch { declared, detected } => {
                write!(f, "declared as {declared} but the bytes are {detected}")
            }
            Self::RuleMatched { rule, path: None } => write!(f, "matched malware rule {rule}"),
            Self::RuleMatched {
                rule,
                path: Some(path),
            } => write!(f, "matched malware rule {rule} in {path}"),
            Self::RuleFlagged { rule, path: None } => write!(f, "matched policy rule {rule}"),
            Self::RuleFlagged {
                rule,
                path: Some(path),
            } => write!(f, "matched policy rule {rule} in {path}"),
            Self::StoredHeadersMismatch {
                header,
                signed,
                stored,
            } => match signed {
                Some(signed) => write!(
                    f,
                    "the object was stored with {header}: {stored}, but {signed} was signed"
                ),
                None => write!(
                    f,
                    "the object was stored with {header}: {stored}, which the upload did not sign"
                ),
            },
            Self::ContentChanged { recorded, found } => write!(
                f,
                "the stored bytes (sha256 {found}) are not the ones verified (sha256 {recorded})"
            ),
            Self::NotScanned {
                why: SkipReason::TooLargeToScan { size, limit },
            } => write!(
                f,
                "the file has {size} bytes; only files up to {limit} bytes are scanned"
            ),
            Self::NotScanned {
                why: SkipReason::ScanTimedOut { after_secs },
            } => write!(f, "the scan did not finish within {after_secs} s"),
            Self::NotScanned { why } => write!(f, "{}", ArchiveSkip(why)),
        }
    }
}

/// How a reason that a container was not fully opened reads.
struct ArchiveSkip<'a>(&'a SkipReason);

impl fmt::Display for ArchiveSkip<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            SkipReason::TooLargeToScan { size, limit } => {
                write!(f, "{size} bytes; only {limit} are scanned")
            }
            SkipReason::ScanTimedOut { after_secs } => {
                write!(f, "a scan did not finish within {after_secs} s")
            }
            SkipReason::ArchiveTooDeep { path, limit } => {
                write!(f, "{path} is nested more than {limit} containers deep")
            }
            SkipReason::ArchiveTooManyMembers { path, limit } => {
                write!(
                    f,
                    "{path} and what follows were not scanned: more than {limit} members"
                )
            }
            SkipReason::ArchiveExpansionLimit { path, limit } => {
                write!(f, "{path} expands past the budget of {limit} bytes")
            }
            SkipReason::ArchiveRatioLimit { path, limit } => {
                write!(
                    f,
                    "{path} expands more than {limit} times its compressed size"
                )
            }
            SkipReason::ArchiveEncrypted { path } => write!(f, "{path} is encrypted"),
            SkipReason::ArchiveCorrupt { path, detail } => {
                write!(f, "{path} is damaged: {detail}")
            }
        }
    }
}

/// What verification decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Passed every check.
    Clean,
    /// Failed the policy.
    Rejected,
    /// Matched a malware rule.
    Infected,
}

impl Outcome {
    /// The status a file with this outcome moves to.
    pub fn status(self) -> FileStatus {
        match self {
            Self::Clean => FileStatus::Clean,
            Self::Rejected => FileStatus::Rejected,
            Self::Infected => FileStatus::Infected,
        }
    }
}

/// The outcome and all reasons behind it (empty for a clean file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Clean, rejected by the policy or infected; the reasons below say why when not clean.
    pub outcome: Outcome,
    /// Every reason the file failed, in the order the checks ran.
    pub reasons: Vec<Reason>,
}

impl Verdict {
    /// Derives the outcome from the reasons: any malware reason makes the file
    /// infected, any other reason rejected, none clean.
    pub fn from_reasons(reasons: Vec<Reason>) -> Self {
        let outcome = if reasons.iter().any(Reason::is_malware) {
            Outcome::Infected
        } else if reasons.is_empty() {
            Outcome::Clean
        } else {
            Outcome::Rejected
        };
        Self { outcome, reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_without_reasons_is_clean() {
        assert_eq!(Verdict::from_reasons(vec![]).outcome, Outcome::Clean);
    }

    #[test]
    fn a_malware_reason_outweighs_policy_reasons() {
        let verdict = Verdict::from_reasons(vec![
            Reason::Empty,
            Reason::RuleMatched {
                rule: "eicar".into(),
                path: None,
            },
        ]);
        assert_eq!(verdict.outcome, Outcome::Infected);
        assert_eq!(verdict.reasons.len(), 2);
    }

    #[test]
    fn reasons_serialise_with_a_stable_code() {
        let json = serde_json::to_value(Reason::TooLarge { size: 10, max: 5 }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "too_large", "size": 10, "max": 5})
        );
        let back: Reason = serde_json::from_value(json).unwrap();
        assert_eq!(back, Reason::TooLarge { size: 10, max: 5 });
    }
}
