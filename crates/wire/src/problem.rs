//! The RFC 9457 `application/problem+json` body every error answer carries.

use airlock_domain::Reason;
use serde::{Deserialize, Serialize};

/// What went wrong, for the client: a stable `type` URI, a short title, the status
/// again, and a detail that says what to change (or, for a server error, only that
/// it failed and the request id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, the same for every problem of this kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// This occurrence, in words.
    #[serde(default)]
    pub detail: String,
    /// Every policy reason, for 422 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<Reason>>,
}
